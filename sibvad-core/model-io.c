/* model-io.c: model files. A model file is a safetensors file holding every
 * named tensor of the model as F32 under its spec name, with the config JSON
 * in __metadata__ ("sibvad_config") and "format": "sibvad-1". Loading reads
 * the config, creates the model and fills every trainable and frozen tensor
 * (any float dtype, shapes checked exactly); fixed tensors are recomputed, and
 * extra tensors in the file are ignored. See docs/model-format.md. */
#include "sibvad.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIBVAD_FORMAT "sibvad-1"

static const char *shape_str(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int sibvad_model_save(const sibvad_model *m, const char *path, sibvad_error *err)
{
    sibvad_model *mm = (sibvad_model *)m;   /* the tensor accessor is not const */
    sibvad_st_write_tensor *w = NULL;
    char *cfg_json = NULL;
    int rc = -1;

    if (!m || !path)
        return sibvad_fail(err, "model save: NULL argument");
    int n = sibvad_model_num_tensors(m);
    if (n < 0)
        return sibvad_fail(err, "%s: the model reports %d tensors", path, n);
    w = calloc((size_t)(n ? n : 1), sizeof *w);
    cfg_json = sibvad_config_to_json(sibvad_model_config(m));
    if (!w || !cfg_json) {
        sibvad_fail(err, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const sibvad_tensor *t = sibvad_model_tensor(mm, i);
        if (!t || !t->name || t->ndim < 0 || t->ndim > 4) {
            sibvad_fail(err, "%s: model tensor %d is invalid", path, i);
            goto out;
        }
        w[i].name = t->name;
        w[i].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++)
            w[i].shape[d] = t->shape[d];
        w[i].data = t->data;
    }
    const char *keys[] = {"format", "sibvad_config"};
    const char *values[] = {SIBVAD_FORMAT, cfg_json};
    rc = sibvad_st_write(path, w, n, keys, values, 2, err);
out:
    free(w);
    free(cfg_json);
    return rc;
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

sibvad_model *sibvad_model_load(const char *path, sibvad_error *err)
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
    m = sibvad_model_create(&cfg, 0, &e);
    if (!m) {
        sibvad_fail(err, "%s: cannot create the model of this config: %s", path, e.msg);
        goto fail;
    }

    int n = sibvad_model_num_tensors(m);
    for (int i = 0; i < n; i++) {
        sibvad_tensor *t = sibvad_model_tensor(m, i);
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
        if (t->kind == SIBVAD_TENSOR_FIXED)
            continue;
        if (sibvad_st_to_f32(ft, t->data, t->numel, &e) < 0) {
            sibvad_fail(err, "%s: %s", path, e.msg);
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
