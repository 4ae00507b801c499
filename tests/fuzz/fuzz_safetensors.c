/* fuzz_safetensors.c: feeds whole safetensors files (8-byte header length,
 * JSON header, data) to the reader of sibvad-core/safetensors.c
 * (sibvad_st_open maps a file, so the input is written to a temporary file).
 * An opened file is read back through every accessor (tensors by index and by
 * name, metadata, conversion of every floating tensor to float); when it holds
 * only floating tensors it is written again with sibvad_st_write and reopened,
 * which must give the same tensors (names, shapes, values) and metadata. */
#include "fuzz-util.h"
#include "safetensors.h"

#include <math.h>

static void roundtrip(const sibvad_st_file *f, float **vals)
{
    int n = sibvad_st_count(f), nm = sibvad_st_metadata_count(f);
    sibvad_st_write_tensor *w = calloc((size_t)n + 1, sizeof *w);
    const char **mk = calloc((size_t)nm + 1, sizeof *mk), **mv = calloc((size_t)nm + 1, sizeof *mv);
    if (!w || !mk || !mv)
        fuzz_die("out of memory", NULL);
    for (int i = 0; i < n; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        w[i].name = t->name;
        w[i].ndim = t->ndim;
        memcpy(w[i].shape, t->shape, sizeof t->shape);
        w[i].data = vals[i];
        w[i].dtype = SIBVAD_DT_F32;
    }
    for (int i = 0; i < nm; i++) {
        mk[i] = sibvad_st_metadata_key(f, i);
        mv[i] = sibvad_st_metadata(f, mk[i]);
    }
    char path[4400];
    sibvad_error e;
    fuzz_path(path, sizeof path, "copy.safetensors");
    if (sibvad_st_write(path, w, n, mk, mv, nm, &e) == 0) {
        sibvad_st_file *g = NULL;
        if (sibvad_st_open(&g, path, &e) < 0)
            fuzz_die("a file written by sibvad_st_write does not open", e.msg);
        if (sibvad_st_count(g) != n || sibvad_st_metadata_count(g) != nm)
            fuzz_die("round trip: tensor or metadata count differs", NULL);
        for (int i = 0; i < n; i++) {
            const sibvad_st_tensor *t = sibvad_st_find(g, w[i].name);
            if (!t || t->ndim != w[i].ndim || memcmp(t->shape, w[i].shape, sizeof(int64_t) * (size_t)t->ndim))
                fuzz_die("round trip: a tensor is missing or has another shape", w[i].name);
            float *v = malloc((t->numel ? t->numel : 1) * sizeof *v);
            if (!v || sibvad_st_to_f32(t, v, t->numel, &e) < 0)
                fuzz_die("round trip: cannot read a tensor back", w[i].name);
            if (t->numel && memcmp(v, vals[i], t->numel * sizeof *v) != 0)
                fuzz_die("round trip: values differ", w[i].name);
            free(v);
        }
        for (int i = 0; i < nm; i++) {
            const char *v = sibvad_st_metadata(g, mk[i]);
            if (!v || strcmp(v, mv[i]) != 0)
                fuzz_die("round trip: metadata differ", mk[i]);
        }
        sibvad_st_close(g);
    }
    unlink(path);
    free(w);
    free(mk);
    free(mv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400];
    sibvad_st_file *f = NULL;
    sibvad_error e;

    fuzz_write(path, sizeof path, "in.safetensors", data, size);
    if (sibvad_st_open(&f, path, &e) < 0) {
        if (!e.msg[0])
            fuzz_die("sibvad_st_open failed without a message", NULL);
        fuzz_note("rejected", e.msg);
        unlink(path);
        return 0;
    }
    fuzz_note("accepted", NULL);
    int n = sibvad_st_count(f), all_float = 1;
    float **vals = calloc((size_t)n + 1, sizeof *vals);
    if (!vals)
        fuzz_die("out of memory", NULL);
    for (int i = 0; i < n; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        if (!t || sibvad_st_find(f, t->name) != t)
            fuzz_die("sibvad_st_find does not find a tensor by its name", t ? t->name : "?");
        if (t->nbytes != t->numel * sibvad_st_dtype_size(t->dtype))
            fuzz_die("nbytes != numel * dtype size", t->name);
        (void)sibvad_st_dtype_name(t->dtype);
        vals[i] = malloc((t->numel ? t->numel : 1) * sizeof(float));
        if (!vals[i])
            fuzz_die("out of memory", NULL);
        if (sibvad_st_to_f32(t, vals[i], t->numel, &e) < 0)
            all_float = 0;
        /* volatile sum: the values are really read */
        volatile float s = 0;
        for (size_t k = 0; all_float && k < t->numel; k++)
            s += vals[i][k];
        (void)s;
    }
    for (int i = 0; i < sibvad_st_metadata_count(f); i++) {
        const char *k = sibvad_st_metadata_key(f, i);
        if (!k || !sibvad_st_metadata(f, k))
            fuzz_die("a metadata key has no value", k);
    }
    if (sibvad_st_find(f, "no such tensor \x01") || sibvad_st_get(f, n) || sibvad_st_get(f, -1))
        fuzz_die("accessor out of range returned something", NULL);
    if (all_float && n <= 64)
        roundtrip(f, vals);
    for (int i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    sibvad_st_close(f);
    unlink(path);
    return 0;
}
