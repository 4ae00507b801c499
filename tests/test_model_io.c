/* test_model_io.c: model files. Save and load the tiny model (every tensor
 * bit for bit, the config equal, the file written again byte for byte), and
 * the errors: a config of another size (shape error naming the tensor), a
 * missing tensor, a truncated file, no sibvad_config, another format, an
 * integer dtype, a missing path. Also loads BF16 weights (checked to bf16
 * precision), files without the fixed tensors and with extra tensors.
 * Exits 0 when every check passes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "json.h"
#include "safetensors.h"
#include "sibvad.h"
#include "test-util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((u >> 16) | 0x40);    /* NaN stays NaN */
    u += 0x7FFFu + ((u >> 16) & 1);             /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* One tensor of a hand-built file. */
typedef struct {
    const char *name;
    const char *dtype;      /* "F32", "BF16" or "I32" */
    int ndim;
    int64_t shape[4];
    const float *src;       /* numel values (NULL: zeros) */
} entry;

static size_t numel_of(const entry *e)
{
    size_t n = 1;
    for (int d = 0; d < e->ndim; d++)
        n *= (size_t)e->shape[d];
    return n;
}

/* Write a safetensors file by hand; format and cfg_json may be NULL (left out). */
static int write_file(const char *path, const char *format, const char *cfg_json, const entry *e, int n)
{
    sibvad_strbuf h = {0};
    size_t off = 0;
    int first = 1;

    sibvad_strbuf_puts(&h, "{");
    if (format || cfg_json) {
        sibvad_strbuf_puts(&h, "\"__metadata__\":{");
        if (format) {
            sibvad_strbuf_puts(&h, "\"format\":");
            sibvad_json_append_string(&h, format, strlen(format));
        }
        if (cfg_json) {
            sibvad_strbuf_puts(&h, format ? ",\"sibvad_config\":" : "\"sibvad_config\":");
            sibvad_json_append_string(&h, cfg_json, strlen(cfg_json));
        }
        sibvad_strbuf_puts(&h, "}");
        first = 0;
    }
    for (int i = 0; i < n; i++) {
        size_t es = strcmp(e[i].dtype, "BF16") == 0 ? 2 : 4;
        size_t nb = numel_of(&e[i]) * es;
        sibvad_strbuf_printf(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", first ? "" : ",", e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].ndim; d++)
            sibvad_strbuf_printf(&h, "%s%lld", d ? "," : "", (long long)e[i].shape[d]);
        sibvad_strbuf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + nb);
        off += nb;
        first = 0;
    }
    sibvad_strbuf_puts(&h, "}");
    if (h.failed)
        return -1;

    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(h.data, 1, h.len, fp);
    for (int i = 0; i < n; i++) {
        size_t k = numel_of(&e[i]);
        for (size_t j = 0; j < k; j++) {
            float v = e[i].src ? e[i].src[j] : 0.0f;
            unsigned char b[4];
            if (strcmp(e[i].dtype, "BF16") == 0) {
                uint16_t x = f32_to_bf16(v);
                b[0] = (unsigned char)x;
                b[1] = (unsigned char)(x >> 8);
                fwrite(b, 1, 2, fp);
                continue;
            }
            uint32_t u;
            if (strcmp(e[i].dtype, "I32") == 0) {
                int32_t iv = (int32_t)v;
                memcpy(&u, &iv, 4);
            } else {
                memcpy(&u, &v, 4);
            }
            for (int q = 0; q < 4; q++)
                b[q] = (unsigned char)(u >> (8 * q));
            fwrite(b, 1, 4, fp);
        }
    }
    fclose(fp);
    free(h.data);
    return 0;
}

/* The entries of every tensor of m (F32, with their data). */
static entry *model_entries(sibvad_model *m, int *n)
{
    *n = sibvad_model_num_tensors(m);
    entry *e = calloc((size_t)*n + 1, sizeof *e);
    for (int i = 0; i < *n; i++) {
        const sibvad_tensor *t = sibvad_model_tensor(m, i);
        e[i].name = t->name;
        e[i].dtype = "F32";
        e[i].ndim = t->ndim;
        memcpy(e[i].shape, t->shape, sizeof e[i].shape);
        e[i].src = t->data;
    }
    return e;
}

static void model_free(sibvad_model *m)
{
    if (m)
        sibvad_model_free(m);
}

static int models_equal(sibvad_model *a, sibvad_model *b, char *why, size_t n)
{
    if (sibvad_model_num_tensors(a) != sibvad_model_num_tensors(b)) {
        snprintf(why, n, "tensor counts differ");
        return 0;
    }
    for (int i = 0; i < sibvad_model_num_tensors(a); i++) {
        const sibvad_tensor *x = sibvad_model_tensor(a, i), *y = sibvad_model_tensor(b, i);
        if (strcmp(x->name, y->name) != 0 || x->ndim != y->ndim || x->numel != y->numel || x->kind != y->kind ||
            memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->ndim) != 0) {
            snprintf(why, n, "tensor %d ('%s') differs in name, kind or shape", i, x->name);
            return 0;
        }
        if (x->numel && memcmp(x->data, y->data, x->numel * sizeof(float)) != 0) {
            snprintf(why, n, "tensor '%s' differs in value", x->name);
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    const char *tdir = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-mio-XXXXXX", tdir && tdir[0] ? tdir : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }

    sibvad_error err = {{0}};
    sibvad_config cfg;
    if (sibvad_config_preset(&cfg, "tiny", &err) < 0) {
        printf("FAIL - tiny preset: %s\n", err.msg);
        return 1;
    }
    sibvad_model *m = sibvad_model_create(&cfg, 1, &err);
    if (!m) {
        printf("FAIL - create the tiny model: %s\n", err.msg);
        return 1;
    }
    int nt = sibvad_model_num_tensors(m);
    int nfixed = 0;
    for (int i = 0; i < nt; i++)
        nfixed += sibvad_model_tensor(m, i)->kind == SIBVAD_TENSOR_FIXED;
    printf("# tiny model: %d tensors (%d fixed), %zu parameters\n", nt, nfixed, sibvad_model_num_params(m, 0));
    char *cfg_json = sibvad_config_to_json(&cfg);
    char why[256];

    /* 0. Half-size storage: f16 and bf16 files load back within their precision,
     * and the calibration travels with the model. */
    {
        sibvad_calibration cal = {100, -3.0f, 0.5f, 0.0f, 0.0f, {0.05f, 0.1f, 0.12f, 0.2f, 0.3f}, {0}};
        sibvad_model_set_calibration(m, &cal);
        static const char *types[2] = {"f16", "bf16"};
        static const double tol[2] = {1.0 / 2048, 1.0 / 256}; /* half an ulp, relative */
        for (int k = 0; k < 2; k++) {
            const char *ph = tpath(k ? "tiny-bf16.safetensors" : "tiny-f16.safetensors");
            int hrc = sibvad_model_save_as(m, ph, types[k], &err);
            sibvad_model *h = hrc == 0 ? sibvad_model_load(ph, &err) : NULL;
            CHECK(h != NULL, "save as %s and load back (%s)", types[k], h ? "" : err.msg);
            if (!h)
                continue;
            double worst = 0.0;
            for (int i = 0; i < sibvad_model_num_tensors(m); i++) {
                const sibvad_tensor *a = sibvad_model_tensor(m, i), *b = sibvad_model_tensor(h, i);
                for (size_t j = 0; j < a->numel; j++) {
                    double d = fabs((double)a->data[j] - b->data[j]);
                    double r = fabs(a->data[j]) > 1e-4 ? d / fabs(a->data[j]) : d / 1e-4;
                    worst = r > worst ? r : worst;
                }
            }
            CHECK(worst <= tol[k], "%s values within half an ulp (worst relative error %.2e)", types[k], worst);
            CHECK(sibvad_model_calibration(h)->count == 100 &&
                      sibvad_model_calibration(h)->vis_quantiles[3] == cal.vis_quantiles[3],
                  "%s file keeps the calibration", types[k]);
            sibvad_model_free(h);
        }
        CHECK(sibvad_model_save_as(m, tpath("x.safetensors"), "f8", &err) < 0 && strstr(err.msg, "f8"),
              "an unknown storage type is refused (%s)", err.msg);
        /* a calibration that is not finite (JSON cannot hold it: the file
         * would not load) is refused, and the file already there is kept */
        const char *pk = tpath("tiny-f16.safetensors");
        sibvad_calibration bad = cal;
        bad.vis_log_std = NAN;
        sibvad_model_set_calibration(m, &bad);
        CHECK(sibvad_model_save(m, pk, &err) < 0 && strstr(err.msg, "not finite"),
              "a calibration holding NaN is not saved (%s)", err.msg);
        sibvad_model *kept = sibvad_model_load(pk, &err);
        CHECK(kept && sibvad_model_calibration(kept)->count == 100, "the file that was there still loads");
        if (kept)
            sibvad_model_free(kept);
        /* nor can a fit on normal errors that are not finite produce one */
        const float errs[4] = {0.1f, 0.2f, INFINITY, 0.3f}, fine[3] = {0.1f, 0.2f, 0.3f},
                    errs_nan[3] = {0.1f, 0.2f, NAN};
        sibvad_calibration fitted;
        CHECK(sibvad_calibration_fit(&fitted, errs, NULL, 4, &err) < 0 && strstr(err.msg, "clip 2"),
              "an infinite normal error is refused by the fit (%s)", err.msg);
        CHECK(sibvad_calibration_fit(&fitted, fine, errs_nan, 3, &err) < 0 && strstr(err.msg, "nan"),
              "a NaN normal error is refused by the fit (%s)", err.msg);
        sibvad_model_set_calibration(m, NULL);
    }

    /* 1. Save, load, compare. */
    const char *p1 = tpath("tiny.safetensors");
    int rc = sibvad_model_save(m, p1, &err);
    CHECK(rc == 0, "save the tiny model (%s)", rc ? err.msg : "");
    sibvad_model *l = sibvad_model_load(p1, &err);
    CHECK(l != NULL, "load it back (%s)", l ? "" : err.msg);
    if (l) {
        why[0] = 0;
        CHECK(models_equal(m, l, why, sizeof why), "every tensor equal bit for bit %s", why);
        CHECK(memcmp(sibvad_model_config(l), &cfg, sizeof cfg) == 0, "config equal");
        CHECK(sibvad_model_num_params(l, 0) == sibvad_model_num_params(m, 0), "parameter counts equal");
        const char *p2 = tpath("tiny2.safetensors");
        size_t n1 = 0, n2 = 0;
        rc = sibvad_model_save(l, p2, &err);
        unsigned char *b1 = read_bytes(p1, &n1), *b2 = read_bytes(p2, &n2);
        CHECK(rc == 0 && b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "saving the loaded model gives the same bytes");
        free(b1);
        free(b2);
        model_free(l);
    }

    /* The file itself: F32, metadata. */
    sibvad_st_file *f = NULL;
    rc = sibvad_st_open(&f, p1, &err);
    if (rc == 0) {
        int all = sibvad_st_count(f) == nt;
        for (int i = 0; all && i < sibvad_st_count(f); i++)
            all = sibvad_st_get(f, i)->dtype == SIBVAD_DT_F32 &&
                  strcmp(sibvad_st_get(f, i)->name, sibvad_model_tensor(m, i)->name) == 0;
        CHECK(all, "the file holds every tensor as F32, in model order");
        CHECK(sibvad_st_metadata(f, "format") && strcmp(sibvad_st_metadata(f, "format"), "sibvad-1") == 0 &&
              sibvad_st_metadata(f, "sibvad_config") && strcmp(sibvad_st_metadata(f, "sibvad_config"), cfg_json) == 0,
              "metadata: format sibvad-1 and the config JSON");
        sibvad_st_close(f);
    } else {
        CHECK(0, "open the saved model as safetensors (%s)", err.msg);
    }

    int n;
    entry *e = model_entries(m, &n);

    /* 2. A config of another size: shape error naming the tensor. */
    sibvad_config big = cfg;
    big.d_model = 64;
    char *big_json = sibvad_config_to_json(&big);
    const char *p = tpath("othersize.safetensors");
    write_file(p, "sibvad-1", big_json, e, n);
    l = sibvad_model_load(p, &err);
    int named = 0;
    for (int i = 0; i < nt && !l; i++) {
        char q[300];
        snprintf(q, sizeof q, "tensor '%s' has shape", sibvad_model_tensor(m, i)->name);
        named |= strstr(err.msg, q) != NULL;
    }
    CHECK(!l && named && strstr(err.msg, "the model needs") && strstr(err.msg, p),
          "config of another size: shape error naming the tensor (%s)", l ? "loaded" : err.msg);
    model_free(l);
    free(big_json);

    /* 3. A missing tensor. */
    int miss = -1;
    for (int i = nt / 2; i < nt && miss < 0; i++)
        if (sibvad_model_tensor(m, i)->kind != SIBVAD_TENSOR_FIXED)
            miss = i;
    for (int i = 0; i < nt && miss < 0; i++)
        if (sibvad_model_tensor(m, i)->kind != SIBVAD_TENSOR_FIXED)
            miss = i;
    if (miss >= 0) {
        entry *e2 = model_entries(m, &n);
        memmove(&e2[miss], &e2[miss + 1], (size_t)(n - miss - 1) * sizeof *e2);
        p = tpath("missing.safetensors");
        write_file(p, "sibvad-1", cfg_json, e2, n - 1);
        l = sibvad_model_load(p, &err);
        CHECK(!l && strstr(err.msg, sibvad_model_tensor(m, miss)->name) && strstr(err.msg, "missing"),
              "missing tensor '%s' named (%s)", sibvad_model_tensor(m, miss)->name, l ? "loaded" : err.msg);
        model_free(l);

        /* An integer dtype for a weight. */
        free(e2);
        e2 = model_entries(m, &n);
        e2[miss].dtype = "I32";
        p = tpath("int.safetensors");
        write_file(p, "sibvad-1", cfg_json, e2, n);
        l = sibvad_model_load(p, &err);
        CHECK(!l && strstr(err.msg, sibvad_model_tensor(m, miss)->name) && strstr(err.msg, "not a floating type"),
              "integer dtype refused (%s)", l ? "loaded" : err.msg);
        model_free(l);
        free(e2);
    }

    /* 4. Truncated files. */
    size_t full = 0;
    unsigned char *bytes = read_bytes(p1, &full);
    size_t cuts[] = {0, 4, 8, 100, full / 2, full - 1};
    for (size_t c = 0; bytes && c < sizeof cuts / sizeof cuts[0]; c++) {
        p = tpath("trunc.safetensors");
        FILE *fp = fopen(p, "wb");
        fwrite(bytes, 1, cuts[c], fp);
        fclose(fp);
        l = sibvad_model_load(p, &err);
        CHECK(!l && strstr(err.msg, p), "truncated to %zu of %zu bytes: error (%s)", cuts[c], full,
              l ? "loaded" : err.msg);
        model_free(l);
    }
    free(bytes);

    /* 5. No sibvad_config; another format; a config that is not valid. */
    p = tpath("nocfg.safetensors");
    write_file(p, "sibvad-1", NULL, e, n);
    l = sibvad_model_load(p, &err);
    CHECK(!l && strstr(err.msg, "no sibvad config") && strstr(err.msg, p), "file without sibvad_config (%s)",
          l ? "loaded" : err.msg);
    model_free(l);
    p = tpath("nometa.safetensors");
    write_file(p, NULL, NULL, e, n);
    l = sibvad_model_load(p, &err);
    CHECK(!l && strstr(err.msg, "no sibvad config"), "file without metadata (%s)", l ? "loaded" : err.msg);
    model_free(l);
    p = tpath("format.safetensors");
    write_file(p, "sibvad-9", cfg_json, e, n);
    l = sibvad_model_load(p, &err);
    CHECK(!l && strstr(err.msg, "\"sibvad-9\" is not supported"), "unknown format refused (%s)",
          l ? "loaded" : err.msg);
    model_free(l);
    p = tpath("badcfg.safetensors");
    write_file(p, "sibvad-1", "{\"d_model\": \"wide\"}", e, n);
    l = sibvad_model_load(p, &err);
    CHECK(!l && strstr(err.msg, "sibvad_config metadata is invalid") && strstr(err.msg, "d_model"),
          "invalid config refused (%s)", l ? "loaded" : err.msg);
    model_free(l);

    /* 6. A path that does not exist. */
    p = tpath("no/such/model.safetensors");
    l = sibvad_model_load(p, &err);
    CHECK(!l && strstr(err.msg, p), "missing path named (%s)", l ? "loaded" : err.msg);
    model_free(l);

    /* 7. BF16 weights, no fixed tensors, an extra tensor; also without the
     * format key (a converted checkpoint). */
    {
        entry *eb = calloc((size_t)n + 1, sizeof *eb);
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (sibvad_model_tensor(m, i)->kind == SIBVAD_TENSOR_FIXED)
                continue;
            eb[k] = e[i];
            eb[k].dtype = "BF16";
            k++;
        }
        float extra[6] = {1, 2, 3, 4, 5, 6};
        eb[k++] = (entry){"optimizer.extra_state", "F32", 2, {2, 3}, extra};
        p = tpath("bf16.safetensors");
        write_file(p, NULL, cfg_json, eb, k);
        l = sibvad_model_load(p, &err);
        CHECK(l != NULL, "BF16 weights without fixed tensors, with an extra tensor, load (%s)", l ? "" : err.msg);
        if (l) {
            int exact = 1, close = 1;
            double worst = 0;
            for (int i = 0; i < nt; i++) {
                const sibvad_tensor *a = sibvad_model_tensor(m, i), *b = sibvad_model_tensor(l, i);
                for (size_t j = 0; j < a->numel; j++) {
                    float want = a->kind == SIBVAD_TENSOR_FIXED ? a->data[j] : bf16_to_f32(f32_to_bf16(a->data[j]));
                    if (memcmp(&want, &b->data[j], 4) != 0)
                        exact = 0;
                    double rel = fabs((double)b->data[j] - a->data[j]) / (fabs(a->data[j]) + 1e-30);
                    if (rel > worst)
                        worst = rel;
                    if (rel > 1.0 / 256)
                        close = 0;
                }
            }
            CHECK(exact, "every loaded value is the bf16 rounding of the original (fixed tensors recomputed)");
            CHECK(close, "relative error at most 2^-8 (worst %.3g)", worst);
            model_free(l);
        }
        free(eb);
    }

    /* 8. Fixed tensors: a wrong shape is an error; their stored values are
     * not used (recomputed from the config). */
    int fx = -1;
    for (int i = 0; i < nt && fx < 0; i++)
        if (sibvad_model_tensor(m, i)->kind == SIBVAD_TENSOR_FIXED)
            fx = i;
    if (fx >= 0) {
        entry *e3 = model_entries(m, &n);
        e3[fx].src = NULL;      /* zeros */
        p = tpath("fixedzero.safetensors");
        write_file(p, "sibvad-1", cfg_json, e3, n);
        l = sibvad_model_load(p, &err);
        CHECK(l && models_equal(m, l, why, sizeof why), "fixed tensor '%s' stored as zeros: recomputed (%s)",
              e3[fx].name, l ? why : err.msg);
        model_free(l);
        e3[fx].ndim = 1;
        e3[fx].shape[0] = 3;
        p = tpath("fixedshape.safetensors");
        write_file(p, "sibvad-1", cfg_json, e3, n);
        l = sibvad_model_load(p, &err);
        CHECK(!l && strstr(err.msg, e3[fx].name) && strstr(err.msg, "has shape [3]"),
              "fixed tensor of the wrong shape refused (%s)", l ? "loaded" : err.msg);
        model_free(l);
        free(e3);
    } else {
        printf("skip - the tiny model has no fixed tensor\n");
    }

    /* 9. Save errors: a folder that does not exist. */
    p = tpath("no/such/dir/m.safetensors");
    rc = sibvad_model_save(m, p, &err);
    CHECK(rc < 0 && strstr(err.msg, p), "save into a missing folder fails (%s)", err.msg);

    free(e);
    free(cfg_json);
    sibvad_model_free(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
