/* hf-checkpoint.c: the backbone from a Hugging Face InternVL / InternViT
 * checkpoint directory (see hf-checkpoint.h). config.json gives the sizes
 * (InternVisionConfig's keys and, where a key is absent, its defaults);
 * model.safetensors.index.json ("weight_map": name -> shard file) or
 * model.safetensors gives the tensors, whose layouts are the model's own
 * (model.c names the backbone after InternViT), so loading is a rename
 * ("vision_model." stays or is added) and a conversion to float. Shards are
 * mapped (safetensors.c) and opened only when a vision tensor lives in them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hf-checkpoint.h"
#include "json.h"
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BB_PREFIX "vision_model."
#define MAX_SHARDS 256

/* The whole file, NUL-terminated, or NULL with a message. */
static char *read_file(const char *path, size_t *len, sibvad_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sibvad_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t nc = cap ? cap * 2 : 65536;
            char *b = realloc(buf, nc + 1);
            if (!b) {
                free(buf);
                fclose(fp);
                sibvad_fail(err, "%s: out of memory", path);
                return NULL;
            }
            buf = b;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        sibvad_fail(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void join(char *out, size_t n, const char *dir, const char *name)
{
    size_t k = strlen(dir);
    snprintf(out, n, "%s%s%s", dir, k && dir[k - 1] == '/' ? "" : "/", name);
}

/* ---- config.json ---- */

static int get_int(const sibvad_json *o, const char *key, int required, int def, int *out, const char *path,
                   const char *where, sibvad_error *err)
{
    const sibvad_json *v = sibvad_json_get(o, key);
    int64_t x;
    if (!v) {
        if (required)
            return sibvad_fail(err, "%s: %s has no \"%s\" (an InternVL config.json holds the InternViT "
                               "config under \"vision_config\", a standalone InternViT one at the top level)",
                               path, where, key);
        *out = def;
        return 0;
    }
    if (sibvad_json_int64(v, &x) < 0 || x < 0 || x > 1000000)
        return sibvad_fail(err, "%s: %s: \"%s\" must be an integer in 0..1000000", path, where, key);
    *out = (int)x;
    return 0;
}

static int get_bool(const sibvad_json *o, const char *key, int def, int *out, const char *path,
                    const char *where, sibvad_error *err)
{
    const sibvad_json *v = sibvad_json_get(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (sibvad_json_bool(v, out) < 0)
        return sibvad_fail(err, "%s: %s: \"%s\" must be true or false", path, where, key);
    return 0;
}

static const char *get_str(const sibvad_json *o, const char *key, const char *def)
{
    const sibvad_json *v = sibvad_json_get(o, key);
    if (!v)
        return def;
    return sibvad_json_string(v, NULL);  /* NULL: not a string */
}

int sibvad_hf_read_vision_config(const char *dir, sibvad_hf_vision *out, sibvad_error *err)
{
    char path[4096];
    size_t len;
    sibvad_error e;
    int rc = -1;

    if (!dir || !out)
        return sibvad_fail(err, "hf config: NULL argument");
    memset(out, 0, sizeof *out);
    join(path, sizeof path, dir, "config.json");
    char *text = read_file(path, &len, err);
    if (!text)
        return -1;
    sibvad_json *root = sibvad_json_parse(text, len, &e);
    if (!root) {
        sibvad_fail(err, "%s: not valid JSON: %s", path, e.msg);
        goto out;
    }
    if (sibvad_json_typeof(root) != SIBVAD_JSON_OBJECT) {
        sibvad_fail(err, "%s: not a JSON object", path);
        goto out;
    }
    const sibvad_json *vc = sibvad_json_get(root, "vision_config");
    const char *where = "vision_config";
    if (vc) {
        if (sibvad_json_typeof(vc) != SIBVAD_JSON_OBJECT) {
            sibvad_fail(err, "%s: \"vision_config\" is not an object", path);
            goto out;
        }
        out->internvl = 1;
    } else {
        vc = root;
        where = "the top level";
    }
    /* Required: the sizes. Optional, with InternVisionConfig's defaults: num_channels 3,
     * qkv_bias false, qk_normalization true, norm_type "rms_norm", hidden_act "gelu". */
    int qk_norm = 1;
    if (get_int(vc, "hidden_size", 1, 0, &out->hidden_size, path, where, err) ||
        get_int(vc, "num_hidden_layers", 1, 0, &out->num_hidden_layers, path, where, err) ||
        get_int(vc, "num_attention_heads", 1, 0, &out->num_attention_heads, path, where, err) ||
        get_int(vc, "intermediate_size", 1, 0, &out->intermediate_size, path, where, err) ||
        get_int(vc, "patch_size", 1, 0, &out->patch_size, path, where, err) ||
        get_int(vc, "image_size", 1, 0, &out->image_size, path, where, err) ||
        get_int(vc, "num_channels", 0, 3, &out->num_channels, path, where, err) ||
        get_bool(vc, "qkv_bias", 0, &out->qkv_bias, path, where, err) ||
        get_bool(vc, "qk_normalization", 1, &qk_norm, path, where, err))
        goto out;
    const sibvad_json *eps = sibvad_json_get(vc, "layer_norm_eps");
    double d;
    if (!eps) {
        sibvad_fail(err, "%s: %s has no \"layer_norm_eps\"", path, where);
        goto out;
    }
    if (sibvad_json_number(eps, &d) < 0 || !(d > 0 && d < 1)) {
        sibvad_fail(err, "%s: %s: \"layer_norm_eps\" must be a number in (0, 1)", path, where);
        goto out;
    }
    out->layer_norm_eps = (float)d;
    const char *norm = get_str(vc, "norm_type", "rms_norm");
    const char *act = get_str(vc, "hidden_act", "gelu");
    if (!norm || strcmp(norm, "layer_norm") != 0) {
        sibvad_fail(err, "%s: %s: norm_type is %s%s%s, but this backbone computes \"layer_norm\" only "
                    "(InternViT-300M; the 6B model's RMSNorm is not supported)", path, where,
                    norm ? "\"" : "not a string", norm ? norm : "", norm ? "\"" : "");
        goto out;
    }
    if (!act || strcmp(act, "gelu") != 0) {
        sibvad_fail(err, "%s: %s: hidden_act is %s%s%s, but this backbone computes \"gelu\" (exact) only",
                    path, where, act ? "\"" : "not a string", act ? act : "", act ? "\"" : "");
        goto out;
    }
    if (qk_norm) {
        sibvad_fail(err, "%s: %s: qk_normalization is true (or absent: InternVisionConfig's default), but "
                    "this backbone has no query/key normalisation (InternViT-300M sets it false)", path, where);
        goto out;
    }
    if (out->num_channels != 3) {
        sibvad_fail(err, "%s: %s: num_channels is %d, not 3", path, where, out->num_channels);
        goto out;
    }
    if (out->hidden_size < 1 || out->num_attention_heads < 1 || out->intermediate_size < 1 ||
        out->patch_size < 1 || out->image_size < 1 || out->hidden_size % out->num_attention_heads) {
        sibvad_fail(err, "%s: %s: sizes out of range (hidden_size %d, num_attention_heads %d, "
                    "intermediate_size %d, patch_size %d, image_size %d)", path, where, out->hidden_size,
                    out->num_attention_heads, out->intermediate_size, out->patch_size, out->image_size);
        goto out;
    }
    if (out->image_size % out->patch_size) {
        sibvad_fail(err, "%s: %s: image_size %d is not a multiple of patch_size %d", path, where,
                    out->image_size, out->patch_size);
        goto out;
    }
    if (out->internvl) {
        /* InternVLChatModel uses force_image_size when set; the published files repeat image_size. */
        int force = 0;
        if (get_int(root, "force_image_size", 0, 0, &force, path, "the top level", err))
            goto out;
        if (force && force != out->image_size) {
            sibvad_fail(err, "%s: force_image_size %d differs from vision_config.image_size %d (a resized "
                        "position embedding is not supported)", path, force, out->image_size);
            goto out;
        }
    }
    rc = 0;
out:
    sibvad_json_free(root);
    free(text);
    return rc;
}

int sibvad_hf_vision_config(const char *dir, sibvad_config *cfg, sibvad_error *err)
{
    sibvad_hf_vision v;
    sibvad_error e;
    if (!cfg)
        return sibvad_fail(err, "hf config: NULL config");
    if (sibvad_hf_read_vision_config(dir, &v, err) < 0)
        return -1;
    sibvad_config c = *cfg;
    c.bb_width = v.hidden_size;
    c.bb_depth = v.num_hidden_layers;
    c.bb_heads = v.num_attention_heads;
    c.bb_mlp = v.intermediate_size;
    c.patch = v.patch_size;
    c.img_h = c.img_w = v.image_size;
    c.bb_ln_eps = v.layer_norm_eps;
    c.bb_layerscale = 1;
    c.bb_frozen = 1;
    if (sibvad_config_validate(&c, &e) < 0)
        return sibvad_fail(err, "%s: the config with this checkpoint's backbone is invalid: %s", dir, e.msg);
    *cfg = c;
    return 0;
}

/* ---- tensors ---- */

typedef struct {
    char dir[4096];
    sibvad_json *index;             /* model.safetensors.index.json, or NULL: one model.safetensors */
    char *index_text;
    const sibvad_json *weight_map;
    char index_path[4200];
    int nshards;
    char *shard_name[MAX_SHARDS];   /* file name as in the weight map ("" for the single file) */
    sibvad_st_file *shard[MAX_SHARDS];
    char *shard_path[MAX_SHARDS];
    sibvad_hf_load_info *info;
} source;

static void source_close(source *s)
{
    for (int i = 0; i < s->nshards; i++) {
        sibvad_st_close(s->shard[i]);
        free(s->shard_name[i]);
        free(s->shard_path[i]);
    }
    sibvad_json_free(s->index);
    free(s->index_text);
}

static int source_open(source *s, const char *dir, sibvad_error *err)
{
    char single[4200];
    sibvad_error e;
    size_t len;

    snprintf(s->dir, sizeof s->dir, "%s", dir);
    join(s->index_path, sizeof s->index_path, dir, "model.safetensors.index.json");
    join(single, sizeof single, dir, "model.safetensors");
    if (!file_exists(s->index_path)) {
        if (!file_exists(single))
            return sibvad_fail(err, "%s: no model.safetensors.index.json and no model.safetensors", dir);
        s->info->sharded = 0;
        return 0;
    }
    s->info->sharded = 1;
    s->index_text = read_file(s->index_path, &len, err);
    if (!s->index_text)
        return -1;
    s->index = sibvad_json_parse(s->index_text, len, &e);
    if (!s->index)
        return sibvad_fail(err, "%s: not valid JSON: %s", s->index_path, e.msg);
    s->weight_map = sibvad_json_get(s->index, "weight_map");
    if (!s->weight_map || sibvad_json_typeof(s->weight_map) != SIBVAD_JSON_OBJECT)
        return sibvad_fail(err, "%s: no \"weight_map\" object (tensor name -> shard file)", s->index_path);
    return 0;
}

/* The shard file name that holds `name` ("" for the single file), NULL if none. */
static const char *source_where(const source *s, const char *name, sibvad_error *err, int *bad)
{
    *bad = 0;
    if (!s->index)
        return "";
    const sibvad_json *v = sibvad_json_get(s->weight_map, name);
    if (!v)
        return NULL;
    const char *f = sibvad_json_string(v, NULL);
    if (!f || !f[0] || strchr(f, '/') || strcmp(f, "..") == 0 || strcmp(f, ".") == 0) {
        *bad = 1;
        sibvad_fail(err, "%s: the weight_map entry of '%s' is not a file name in the directory", s->index_path,
                    name);
        return NULL;
    }
    return f;
}

/* The opened file for a shard name (opened at first use). */
static sibvad_st_file *source_shard(source *s, const char *fname, const char **path, sibvad_error *err)
{
    for (int i = 0; i < s->nshards; i++)
        if (strcmp(s->shard_name[i], fname) == 0) {
            *path = s->shard_path[i];
            return s->shard[i];
        }
    if (s->nshards == MAX_SHARDS) {
        sibvad_fail(err, "%s: more than %d shards hold vision tensors", s->index_path, MAX_SHARDS);
        return NULL;
    }
    char p[4400];
    join(p, sizeof p, s->dir, fname[0] ? fname : "model.safetensors");
    int i = s->nshards;
    s->shard_name[i] = strdup(fname);
    s->shard_path[i] = strdup(p);
    if (!s->shard_name[i] || !s->shard_path[i]) {
        free(s->shard_name[i]);
        free(s->shard_path[i]);
        sibvad_fail(err, "out of memory");
        return NULL;
    }
    if (sibvad_st_open(&s->shard[i], p, err) < 0) {
        if (s->index && !file_exists(p))
            sibvad_fail(err, "%s: shard '%s' (listed in %s) is missing", s->dir, fname, s->index_path);
        free(s->shard_name[i]);
        free(s->shard_path[i]);
        return NULL;    /* sibvad_st_open's message names the file */
    }
    s->nshards++;
    s->info->files_opened++;
    *path = s->shard_path[i];
    return s->shard[i];
}

/* Find a checkpoint tensor: NULL with *missing = 1 when the checkpoint does not have it. */
static const sibvad_st_tensor *source_find(source *s, const char *name, const char **path, int *missing,
                                           sibvad_error *err)
{
    int bad;
    *missing = 0;
    *path = s->index ? s->index_path : NULL;
    const char *fname = source_where(s, name, err, &bad);
    if (!fname) {
        *missing = !bad;
        return NULL;
    }
    sibvad_st_file *f = source_shard(s, fname, path, err);
    if (!f)
        return NULL;
    const sibvad_st_tensor *t = sibvad_st_find(f, name);
    if (!t) {
        if (s->index) {
            sibvad_fail(err, "%s: tensor '%s' is missing, though %s lists it in this shard", *path, name,
                        s->index_path);
            return NULL;
        }
        *missing = 1;
    }
    return t;
}

static const char *shape_str(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The model's backbone against the checkpoint's config. */
static int check_config(const sibvad_config *c, const sibvad_hf_vision *v, const char *dir, sibvad_error *err)
{
    struct { const char *key, *field; int hf, model; } k[] = {
        {"hidden_size", "bb_width", v->hidden_size, c->bb_width},
        {"num_hidden_layers", "bb_depth", v->num_hidden_layers, c->bb_depth},
        {"num_attention_heads", "bb_heads", v->num_attention_heads, c->bb_heads},
        {"intermediate_size", "bb_mlp", v->intermediate_size, c->bb_mlp},
        {"patch_size", "patch", v->patch_size, c->patch},
        {"num_channels", "channels", v->num_channels, c->channels},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (k[i].hf != k[i].model)
            return sibvad_fail(err, "%s/config.json: %s is %d but the model's %s is %d (build the config with "
                               "sibvad_hf_vision_config)", dir, k[i].key, k[i].hf, k[i].field, k[i].model);
    if (c->img_h != v->image_size || c->img_w != v->image_size)
        return sibvad_fail(err, "%s/config.json: image_size %d (a %dx%d patch grid) differs from the model's "
                           "input %dx%d (WxH): the position embedding would need interpolation, which is not "
                           "done; set img_h = img_w = %d", dir, v->image_size, v->image_size / v->patch_size,
                           v->image_size / v->patch_size, c->img_w, c->img_h, v->image_size);
    if (!c->bb_layerscale)
        return sibvad_fail(err, "%s: InternViT has layer scale (ls1, ls2); the model has bb_layerscale 0", dir);
    if (fabsf(c->bb_ln_eps - v->layer_norm_eps) > 1e-6f * v->layer_norm_eps)
        return sibvad_fail(err, "%s/config.json: layer_norm_eps %g differs from the model's bb_ln_eps %g", dir,
                           (double)v->layer_norm_eps, (double)c->bb_ln_eps);
    return 0;
}

int sibvad_hf_load_backbone_info(sibvad_model *m, const char *dir, sibvad_hf_load_info *info,
                                 sibvad_error *err)
{
    sibvad_hf_load_info dummy;
    sibvad_hf_vision v;
    source *s = NULL;
    int rc = -1;

    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (!m || !dir)
        return sibvad_fail(err, "hf load: NULL argument");
    if (strcmp(sibvad_model_backend_name(m), "cpu") != 0)
        return sibvad_fail(err, "%s: load the backbone while the model is on the CPU (before "
                           "sibvad_model_use_backend); it is on \"%s\"", dir, sibvad_model_backend_name(m));
    if (sibvad_hf_read_vision_config(dir, &v, err) < 0)
        return -1;
    if (check_config(sibvad_model_config(m), &v, dir, err) < 0)
        return -1;
    s = calloc(1, sizeof *s);
    if (!s)
        return sibvad_fail(err, "out of memory");
    s->info = info;
    if (source_open(s, dir, err) < 0)
        goto out;

    /* The naming: "vision_model.<x>" (InternVL) or "<x>" (InternViT), found by the patch embedding. */
    const char *probe = BB_PREFIX "embeddings.patch_embedding.weight";
    const char *path;
    int missing;
    sibvad_error e;
    const sibvad_st_tensor *t = source_find(s, probe, &path, &missing, &e);
    size_t skip = 0;
    if (!t && missing) {
        skip = strlen(BB_PREFIX);
        t = source_find(s, probe + skip, &path, &missing, &e);
    }
    if (!t) {
        if (missing)
            sibvad_fail(err, "%s: no vision tensors: neither '%s' nor '%s' is in %s", dir, probe, probe + skip,
                        s->index ? s->index_path : "model.safetensors");
        else
            sibvad_fail(err, "%s", e.msg);
        goto out;
    }
    info->internvl = skip == 0;

    int n = sibvad_model_num_tensors(m);
    for (int i = 0; i < n; i++) {
        sibvad_tensor *mt = sibvad_model_tensor(m, i);
        if (strncmp(mt->name, BB_PREFIX, strlen(BB_PREFIX)) != 0)
            continue;
        const char *name = mt->name + skip;
        char a[128], b[128];
        if (!v.qkv_bias && ends_with(name, ".attn.qkv.bias")) {
            /* a Linear without bias: InternViT ignores such a tensor in the checkpoint too */
            memset(mt->data, 0, mt->numel * sizeof(float));
            info->tensors_zeroed++;
            continue;
        }
        t = source_find(s, name, &path, &missing, err);
        if (!t && !missing)
            goto out;
        if (!t) {
            sibvad_fail(err, "%s: tensor '%s' %s is missing (not in %s)", dir, name,
                        shape_str(a, sizeof a, mt->shape, mt->ndim),
                        s->index ? s->index_path : path ? path : "model.safetensors");
            goto out;
        }
        int same = t->ndim == mt->ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == mt->shape[d];
        if (!same) {
            if (ends_with(name, "position_embedding"))
                sibvad_fail(err, "%s: tensor '%s' has shape %s, but the model's %dx%d input needs %s (the "
                            "position embedding is not interpolated)", path, name,
                            shape_str(a, sizeof a, t->shape, t->ndim), sibvad_model_config(m)->img_w, sibvad_model_config(m)->img_h,
                            shape_str(b, sizeof b, mt->shape, mt->ndim));
            else
                sibvad_fail(err, "%s: tensor '%s' has shape %s, but the model needs %s", path, name,
                            shape_str(a, sizeof a, t->shape, t->ndim), shape_str(b, sizeof b, mt->shape, mt->ndim));
            goto out;
        }
        if (t->dtype != SIBVAD_DT_BF16 && t->dtype != SIBVAD_DT_F16 && t->dtype != SIBVAD_DT_F32 &&
            t->dtype != SIBVAD_DT_F64) {
            sibvad_fail(err, "%s: tensor '%s' has dtype %s; a weight must be BF16, F16, F32 or F64", path, name,
                        sibvad_st_dtype_name(t->dtype));
            goto out;
        }
        if (sibvad_st_to_f32(t, mt->data, mt->numel, &e) < 0) {
            sibvad_fail(err, "%s: %s", path, e.msg);
            goto out;
        }
        info->tensors_read++;
        info->bytes_read += t->nbytes;
    }
    rc = 0;
out:
    source_close(s);
    free(s);
    return rc;
}

int sibvad_hf_load_backbone(sibvad_model *m, const char *dir, sibvad_error *err)
{
    return sibvad_hf_load_backbone_info(m, dir, NULL, err);
}
