/* config-json.c: the model config as JSON, one key per sibvad_config field
 * (key = field name). Writing gives every field; reading starts from the
 * preset named by "preset" when it is a known one and overrides every key
 * present; without a known preset every key but "preset" must be present (as
 * load_config() of tools/reference/sibvad_ref.py). Unknown keys, missing keys
 * and wrong types are errors, and the result is validated. The exceptions:
 * keys that came later (table `later` below). A JSON that holds every other
 * key (a model file written before them) reads each one missing as the value
 * that the model was made with: "pred_residual" 0 (the spec's pixel head),
 * "pseudo_skip" 0 (no pseudo-anomalies), "pseudo_skip_min"/"_max" 2 and 4. */
#include "sibvad.h"
#include "json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { F_STR, F_INT, F_FLOAT } field_type;

typedef struct {
    const char *name;
    size_t off;
    field_type type;
} field;

#define FS(f) { #f, offsetof(sibvad_config, f), F_STR }
#define FI(f) { #f, offsetof(sibvad_config, f), F_INT }
#define FF(f) { #f, offsetof(sibvad_config, f), F_FLOAT }

static const field fields[] = {
    FS(preset),
    FI(img_h), FI(img_w), FI(channels), FI(patch), FI(frames_in),
    FI(bb_width), FI(bb_depth), FI(bb_heads), FI(bb_mlp), FI(bb_layerscale), FI(bb_frozen),
    FF(bb_ln_eps),
    FI(mo_width), FI(mo_depth), FI(mo_heads), FI(mo_mlp_ratio),
    FI(d_model),
    FI(fu_depth), FI(fu_heads), FI(fu_ffn_ratio),
    FI(de_depth), FI(de_heads), FI(de_mlp_ratio), FI(rgb_hidden),
    FI(sffm_nr), FI(sffm_k), FI(sffm_ns), FI(sffm_b), FF(sffm_scale), FF(sffm_alpha),
    FI(sem_dim), FI(sem_hidden),
    FF(w_pred), FF(w_sem), FF(w_motion), FI(pred_residual),
    FF(lr), FF(beta1), FF(beta2), FF(adam_eps), FF(weight_decay),
    FF(pseudo_skip), FI(pseudo_skip_min), FI(pseudo_skip_max),
};

/* keys added after model files were written without them, and the value such
 * a file means (see the top of the file) */
static const struct {
    const char *name;
    double legacy;
} later[] = {
    {"pred_residual", 0}, {"pseudo_skip", 0}, {"pseudo_skip_min", 2}, {"pseudo_skip_max", 4},
};

/* store a number into an int or float field of c (already range-checked) */
static void set_number(sibvad_config *c, const field *f, double x)
{
    char *dst = (char *)c + f->off;
    if (f->type == F_INT) {
        int iv = (int)x;
        memcpy(dst, &iv, sizeof iv);
    } else {
        float fv = (float)x;
        memcpy(dst, &fv, sizeof fv);
    }
}

static int is_later(const char *name)
{
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (strcmp(later[i].name, name) == 0)
            return 1;
    return 0;
}

#define NFIELDS (sizeof fields / sizeof fields[0])

/* A field added to sibvad_config must be added to the table above. */
_Static_assert(sizeof(sibvad_config) ==
               sizeof(((sibvad_config *)0)->preset) + 4 * (NFIELDS - 1),
               "config-json.c: the field table does not cover sibvad_config");
_Static_assert(sizeof(int) == 4 && sizeof(float) == 4, "config-json.c: int and float must be 4 bytes");

char *sibvad_config_to_json(const sibvad_config *cfg)
{
    sibvad_strbuf b = {0};
    if (!cfg)
        return NULL;
    sibvad_strbuf_puts(&b, "{");
    for (size_t i = 0; i < NFIELDS; i++) {
        const field *f = &fields[i];
        const char *base = (const char *)cfg + f->off;
        sibvad_strbuf_printf(&b, "%s\"%s\": ", i ? ", " : "", f->name);
        if (f->type == F_STR) {
            size_t cap = sizeof cfg->preset;
            const char *end = memchr(base, '\0', cap);
            sibvad_json_append_string(&b, base, end ? (size_t)(end - base) : cap);
        } else if (f->type == F_INT) {
            int v;
            memcpy(&v, base, sizeof v);
            sibvad_strbuf_printf(&b, "%d", v);
        } else {
            float v;
            memcpy(&v, base, sizeof v);
            sibvad_json_append_double(&b, v, 9);
        }
    }
    sibvad_strbuf_puts(&b, "}");
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static const field *find_field(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

/* The text of a value for a message: its type, or the number. */
static void describe(const sibvad_json *v, char *buf, size_t n)
{
    double d;
    if (sibvad_json_number(v, &d) == 0)
        snprintf(buf, n, "%g", d);
    else
        snprintf(buf, n, "%s", sibvad_json_type_name(sibvad_json_typeof(v)));
}

static int set_preset_name(sibvad_config *c, const sibvad_json *v, sibvad_error *err)
{
    size_t len;
    const char *s = sibvad_json_string(v, &len);
    if (!s)
        return sibvad_fail(err, "config JSON: \"preset\" must be a string, not %s",
                           sibvad_json_type_name(sibvad_json_typeof(v)));
    if (len >= sizeof c->preset || strlen(s) != len)
        return sibvad_fail(err, "config JSON: \"preset\" must be at most %zu bytes without NUL",
                           sizeof c->preset - 1);
    memset(c->preset, 0, sizeof c->preset);
    memcpy(c->preset, s, len);
    return 0;
}

int sibvad_config_from_json(sibvad_config *cfg, const char *json, size_t len, sibvad_error *err)
{
    sibvad_config c;
    sibvad_json *root;
    int rc = -1;

    if (!cfg || (!json && len))
        return sibvad_fail(err, "config JSON: NULL argument");
    root = sibvad_json_parse(json, len, err);
    if (!root)
        return -1;      /* the parser's message says where */
    if (sibvad_json_typeof(root) != SIBVAD_JSON_OBJECT) {
        sibvad_fail(err, "config JSON: expected an object, not %s",
                    sibvad_json_type_name(sibvad_json_typeof(root)));
        goto out;
    }

    /* The base: the named preset when it is a known one; else every key is
     * needed (the base only fills the struct). */
    const sibvad_json *pv = sibvad_json_get(root, "preset");
    const char *pname = sibvad_json_string(pv, NULL);
    int known = pname && sibvad_config_preset(&c, pname, NULL) == 0;
    if (!known) {
        sibvad_config_preset(&c, "tiny", NULL);
        memset(c.preset, 0, sizeof c.preset);
    }

    for (size_t i = 0; i < sibvad_json_size(root); i++) {
        const char *key = sibvad_json_key_at(root, i);
        const sibvad_json *v = sibvad_json_at(root, i);
        const field *f = find_field(key);
        char got[64];
        if (!f) {
            sibvad_fail(err, "config JSON: unknown key \"%.200s\"", key);
            goto out;
        }
        if (f->type == F_STR) {
            if (set_preset_name(&c, v, err) < 0)
                goto out;
        } else if (f->type == F_INT) {
            int64_t x;
            if (sibvad_json_int64(v, &x) < 0) {
                describe(v, got, sizeof got);
                sibvad_fail(err, "config JSON: \"%s\" must be an integer, not %s", key, got);
                goto out;
            }
            if (x < INT_MIN || x > INT_MAX) {
                sibvad_fail(err, "config JSON: \"%s\" = %lld is out of range", key, (long long)x);
                goto out;
            }
            set_number(&c, f, (double)x);
        } else {
            double d;
            if (sibvad_json_number(v, &d) < 0) {
                describe(v, got, sizeof got);
                sibvad_fail(err, "config JSON: \"%s\" must be a number, not %s", key, got);
                goto out;
            }
            if (!(fabs(d) <= FLT_MAX)) {
                sibvad_fail(err, "config JSON: \"%s\" = %g is out of the range of a float", key, d);
                goto out;
            }
            set_number(&c, f, d);
        }
    }
    /* the first key missing, the later ones aside (see the top of the file) */
    const char *missing = NULL;
    for (size_t i = 0; i < NFIELDS && !missing; i++)
        if (fields[i].type != F_STR && !is_later(fields[i].name) && !sibvad_json_get(root, fields[i].name))
            missing = fields[i].name;
    if (!known && missing) {
        sibvad_fail(err, "config JSON: \"%s\" is missing (without a known \"preset\" "
                    "(paper, lite, tiny) every key is needed)", missing);
        goto out;
    }
    for (size_t i = 0; i < sizeof later / sizeof later[0] && !missing; i++)
        if (!sibvad_json_get(root, later[i].name))
            set_number(&c, find_field(later[i].name), later[i].legacy);
    if (sibvad_config_validate(&c, err) < 0)
        goto out;
    *cfg = c;
    rc = 0;
out:
    sibvad_json_free(root);
    return rc;
}
