/* model-io.c: model files. A model file is a safetensors file holding every
 * named tensor of the model as F32 under its spec name, with the config JSON
 * in __metadata__ ("sibvad_config") and "format": "sibvad-1". Loading reads
 * the config, creates the model and fills every trainable and frozen tensor
 * (any float dtype, shapes checked exactly); fixed tensors are recomputed, and
 * extra tensors in the file are ignored. Optional metadata: the calibration
 * ("sibvad_calibration"); checkpoints add Adam's moments ("adam.m.<name>",
 * "adam.v.<name>"), "adam_step" and the caller's "train_state". See
 * docs/model-format.md. */
#include "json.h"
#include "model-internal.h"
#include "safetensors.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIBVAD_FORMAT "sibvad-1"
/* More than the model's fixed tensors (the two sin-cos position embeddings). */
#define MAX_FIXED_TENSORS 16

static const char *shape_str(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

static int calibration_finite(const sibvad_calibration *c)
{
    int ok = isfinite(c->vis_log_mean) && isfinite(c->vis_log_std) && isfinite(c->sem_log_mean) &&
             isfinite(c->sem_log_std);
    for (int i = 0; i < SIBVAD_CALIB_QUANTILES; i++)
        ok = ok && isfinite(c->vis_quantiles[i]) && isfinite(c->sem_quantiles[i]);
    return ok;
}

/* Calibration as JSON metadata ("sibvad_calibration"). */
static char *calibration_json(const sibvad_calibration *c)
{
    sibvad_strbuf b = {0};
    sibvad_strbuf_printf(&b, "{\"count\": %d, \"vis_log_mean\": %.9g, \"vis_log_std\": %.9g, "
                         "\"sem_log_mean\": %.9g, \"sem_log_std\": %.9g", c->count, c->vis_log_mean,
                         c->vis_log_std, c->sem_log_mean, c->sem_log_std);
    const float *q[2] = {c->vis_quantiles, c->sem_quantiles};
    static const char *names[2] = {"vis_quantiles", "sem_quantiles"};
    for (int k = 0; k < 2; k++) {
        sibvad_strbuf_printf(&b, ", \"%s\": [", names[k]);
        for (int i = 0; i < SIBVAD_CALIB_QUANTILES; i++)
            sibvad_strbuf_printf(&b, "%s%.9g", i ? ", " : "", q[k][i]);
        sibvad_strbuf_puts(&b, "]");
    }
    sibvad_strbuf_puts(&b, "}");
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static int parse_calibration(sibvad_calibration *c, const char *js, const char *path, sibvad_error *err)
{
    sibvad_error e;
    sibvad_json *root = sibvad_json_parse(js, strlen(js), &e);
    if (!root)
        return sibvad_fail(err, "%s: the sibvad_calibration metadata is not JSON: %s", path, e.msg);
    memset(c, 0, sizeof *c);
    struct { const char *k; float *v; } f[] = {{"vis_log_mean", &c->vis_log_mean}, {"vis_log_std", &c->vis_log_std},
                                              {"sem_log_mean", &c->sem_log_mean}, {"sem_log_std", &c->sem_log_std}};
    int64_t count = 0;
    int ok = sibvad_json_int64(sibvad_json_get(root, "count"), &count) == 0 && count >= 0 && count < INT32_MAX;
    /* every value must fit a float (converting a larger double is undefined) */
    for (size_t i = 0; ok && i < sizeof f / sizeof f[0]; i++) {
        double d;
        ok = sibvad_json_number(sibvad_json_get(root, f[i].k), &d) == 0 && fabs(d) <= FLT_MAX;
        if (ok)
            *f[i].v = (float)d;
    }
    const char *qn[2] = {"vis_quantiles", "sem_quantiles"};
    float *qv[2] = {c->vis_quantiles, c->sem_quantiles};
    for (int k = 0; ok && k < 2; k++) {
        const sibvad_json *a = sibvad_json_get(root, qn[k]);
        ok = a && sibvad_json_size(a) == SIBVAD_CALIB_QUANTILES;
        for (int i = 0; ok && i < SIBVAD_CALIB_QUANTILES; i++) {
            double d;
            ok = sibvad_json_number(sibvad_json_at(a, (size_t)i), &d) == 0 && fabs(d) <= FLT_MAX;
            if (ok)
                qv[k][i] = (float)d;
        }
    }
    sibvad_json_free(root);
    c->count = (int)count;
    if (!ok || (c->count > 0 && !(c->vis_log_std > 0)))
        return sibvad_fail(err, "%s: the sibvad_calibration metadata is malformed", path);
    return 0;
}

/* Write the model's tensors (and, for a checkpoint, Adam's moments). */
static int save_impl(const sibvad_model *m, const char *path, int checkpoint, const char *train_state,
                     sibvad_dtype dtype, sibvad_error *err)
{
    sibvad_model *mm = (sibvad_model *)m;   /* the tensor accessor is not const */
    sibvad_st_write_tensor *w = NULL;
    char *cfg_json = NULL, *cal_json = NULL, **names = NULL;
    int rc = -1, nw = 0;

    if (!m || !path)
        return sibvad_fail(err, "model save: NULL argument");
    int n = sibvad_model_num_tensors(m);
    w = calloc((size_t)(3 * n + 1), sizeof *w);
    names = calloc((size_t)(2 * n + 1), sizeof *names);
    if (!calibration_finite(sibvad_model_calibration(m))) {
        /* JSON has no NaN: the file would not load again */
        sibvad_fail(err, "%s: not saved: the model's calibration holds a value that is not finite "
                    "(fit it again on normal clips, or clear it)", path);
        goto out;
    }
    cfg_json = sibvad_config_to_json(sibvad_model_config(m));
    cal_json = calibration_json(sibvad_model_calibration(m));
    if (!w || !names || !cfg_json || !cal_json) {
        sibvad_fail(err, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const sibvad_tensor *t = sibvad_model_tensor(mm, i);
        if (!t || !t->name || t->ndim < 0 || t->ndim > 4) {
            sibvad_fail(err, "%s: model tensor %d is invalid", path, i);
            goto out;
        }
        w[nw].name = t->name;
        w[nw].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++)
            w[nw].shape[d] = t->shape[d];
        w[nw].dtype = dtype;
        w[nw++].data = t->data;
        for (int k = 0; checkpoint && k < 2 && sibvad_model_moment(mm, i, k); k++) {
            char **nm = &names[2 * i + k];
            size_t len = strlen(t->name) + 16;
            if (!(*nm = malloc(len))) {
                sibvad_fail(err, "%s: out of memory", path);
                goto out;
            }
            snprintf(*nm, len, "adam.%s.%s", k ? "v" : "m", t->name);
            w[nw] = w[nw - 1 - k];
            w[nw].name = *nm;
            w[nw].dtype = SIBVAD_DT_F32;
            w[nw++].data = sibvad_model_moment(mm, i, k);
        }
    }
    char step[32];
    snprintf(step, sizeof step, "%d", sibvad_model_adam_step(m));
    const char *keys[] = {"format", "sibvad_config", "sibvad_calibration", "adam_step", "train_state"};
    const char *values[] = {SIBVAD_FORMAT, cfg_json, cal_json, step, train_state ? train_state : "{}"};
    rc = sibvad_st_write(path, w, nw, keys, values, checkpoint ? 5 : 3, err);
out:
    for (int i = 0; names && i < 2 * n; i++)
        free(names[i]);
    free(names);
    free(w);
    free(cfg_json);
    free(cal_json);
    return rc;
}

int sibvad_model_save(const sibvad_model *m, const char *path, sibvad_error *err)
{
    return save_impl(m, path, 0, NULL, SIBVAD_DT_F32, err);
}

int sibvad_model_save_as(const sibvad_model *m, const char *path, const char *dtype, sibvad_error *err)
{
    sibvad_dtype dt;
    if (dtype && strcmp(dtype, "f32") == 0)
        dt = SIBVAD_DT_F32;
    else if (dtype && strcmp(dtype, "f16") == 0)
        dt = SIBVAD_DT_F16;
    else if (dtype && strcmp(dtype, "bf16") == 0)
        dt = SIBVAD_DT_BF16;
    else
        return sibvad_fail(err, "%s: unknown storage type \"%s\" (f32, f16 or bf16)", path ? path : "model save",
                           dtype ? dtype : "(null)");
    return save_impl(m, path, 0, NULL, dt, err);
}

int sibvad_model_save_checkpoint(const sibvad_model *m, const char *path, const char *train_state,
                                 sibvad_error *err)
{
    return save_impl(m, path, 1, train_state, SIBVAD_DT_F32, err);
}

static int same_shape(const sibvad_tensor *t, const sibvad_st_tensor *ft)
{
    if (t->ndim != ft->ndim)
        return 0;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != ft->shape[d])
            return 0;
    return 1;
}

static sibvad_model *load_impl(const char *path, int checkpoint, char **train_state, sibvad_error *err)
{
    sibvad_st_file *f = NULL;
    sibvad_model *m = NULL;
    sibvad_config cfg;
    sibvad_error e;

    if (!path) {
        sibvad_fail(err, "model load: NULL path");
        return NULL;
    }
    if (sibvad_st_open(&f, path, err) < 0)
        return NULL;    /* the message names the file */

    const char *fmt = sibvad_st_metadata(f, "format");
    if (fmt && strcmp(fmt, SIBVAD_FORMAT) != 0) {
        sibvad_fail(err, "%s: model format \"%.60s\" is not supported (this build reads \"%s\")", path, fmt,
                    SIBVAD_FORMAT);
        goto fail;
    }
    const char *cj = sibvad_st_metadata(f, "sibvad_config");
    if (!cj) {
        sibvad_fail(err, "%s: this file has no sibvad config (no \"sibvad_config\" in __metadata__): not a "
                    "sibvad model file; a converted checkpoint needs its config JSON added "
                    "(docs/model-format.md)", path);
        goto fail;
    }
    if (sibvad_config_from_json(&cfg, cj, strlen(cj), &e) < 0) {
        sibvad_fail(err, "%s: the sibvad_config metadata is invalid: %s", path, e.msg);
        goto fail;
    }
    /* The tensor table first: every tensor the model loads must be in the file
     * with its shape before the parameters are allocated, so that a config
     * asking for a huge model is refused by what the file holds, not by an
     * allocation. The table cannot need more tensors than the file holds plus
     * the few fixed ones (computed, not loaded), which bounds building it. */
    m = sibvad_model_new_table(&cfg, sibvad_st_count(f) + MAX_FIXED_TENSORS, &e);
    if (!m) {
        sibvad_fail(err, "%s: cannot create the model of this config: %s (the file holds %d tensors)", path,
                    e.msg, sibvad_st_count(f));
        goto fail;
    }
    int n = sibvad_model_num_tensors(m);
    for (int i = 0; i < n; i++) {
        const sibvad_tensor *t = sibvad_model_tensor(m, i);
        const sibvad_st_tensor *ft = sibvad_st_find(f, t->name);
        char a[128], b[128];
        if (!ft) {
            if (t->kind == SIBVAD_TENSOR_FIXED)
                continue;   /* computed from the config */
            sibvad_fail(err, "%s: tensor '%s' %s is missing from the file", path, t->name,
                        shape_str(a, sizeof a, t->shape, t->ndim));
            goto fail;
        }
        if (!same_shape(t, ft)) {
            sibvad_fail(err, "%s: tensor '%s' has shape %s in the file, but the model needs %s", path,
                        t->name, shape_str(a, sizeof a, ft->shape, ft->ndim),
                        shape_str(b, sizeof b, t->shape, t->ndim));
            goto fail;
        }
    }
    if (sibvad_model_alloc_params(m, 0, &e) < 0) {
        sibvad_fail(err, "%s: cannot create the model of this config: %s", path, e.msg);
        goto fail;
    }

    for (int i = 0; i < n; i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
        const sibvad_st_tensor *ft = sibvad_st_find(f, t->name);
        if (!ft || t->kind == SIBVAD_TENSOR_FIXED)
            continue;
        if (sibvad_st_to_f32(ft, t->data, t->numel, &e) < 0) {
            sibvad_fail(err, "%s: %s", path, e.msg);
            goto fail;
        }
    }
    const char *cal = sibvad_st_metadata(f, "sibvad_calibration");
    if (cal) {
        sibvad_calibration c;
        if (parse_calibration(&c, cal, path, err) < 0)
            goto fail;
        sibvad_model_set_calibration(m, &c);
    }
    if (checkpoint) {
        const char *step = sibvad_st_metadata(f, "adam_step");
        const char *state = sibvad_st_metadata(f, "train_state");
        char *end = NULL;
        long t = step ? strtol(step, &end, 10) : -1;
        if (!step || !state || end == step || *end || t < 0 || t > INT_MAX) {
            sibvad_fail(err, "%s: not a training checkpoint (no valid adam_step / train_state metadata)", path);
            goto fail;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 2; k++) {
                float *mom = sibvad_model_moment(m, i, k);
                if (!mom)
                    continue;
                sibvad_tensor *t = sibvad_model_tensor(m, i);
                char name[400];
                snprintf(name, sizeof name, "adam.%s.%s", k ? "v" : "m", t->name);
                const sibvad_st_tensor *ft = sibvad_st_find(f, name);
                if (!ft || !same_shape(t, ft) || sibvad_st_to_f32(ft, mom, t->numel, &e) < 0) {
                    sibvad_fail(err, "%s: checkpoint tensor '%s' is missing or has the wrong shape or type", path,
                                name);
                    goto fail;
                }
            }
        sibvad_model_set_adam_step(m, (int)t);
        if (train_state && !(*train_state = strdup(state))) {
            sibvad_fail(err, "%s: out of memory", path);
            goto fail;
        }
    }
    sibvad_st_close(f);
    return m;

fail:
    if (m)
        sibvad_model_free(m);
    sibvad_st_close(f);
    return NULL;
}

sibvad_model *sibvad_model_load(const char *path, sibvad_error *err)
{
    return load_impl(path, 0, NULL, err);
}

sibvad_model *sibvad_model_load_checkpoint(const char *path, char **train_state, sibvad_error *err)
{
    if (train_state)
        *train_state = NULL;
    return load_impl(path, 1, train_state, err);
}
