/* fuzz_matv5.c: feeds arbitrary bytes as a MATLAB level-5 MAT-file to the
 * reader of tools/common/matv5.c (sibvad_mat_parse: the 128-byte header and
 * byte order, data element tags and small elements, miMATRIX with flags,
 * dimensions, name and values, nested cells, miCOMPRESSED zlib streams).
 * Every variable of a parsed file is walked (cells recursively), described
 * and its values read; "gt" is looked up as the label reader does. */
#include "fuzz-util.h"
#include "matv5.h"

static void walk(const SibvadMatVar *v, int depth)
{
    if (!v || !v->name || v->ndims < 2 || !v->dims)
        fuzz_die("a variable without name or dimensions", NULL);
    int64_t numel = 1;
    for (int d = 0; d < v->ndims; d++) {
        if (v->dims[d] < 0)
            fuzz_die("a negative dimension", NULL);
        numel *= v->dims[d];
    }
    if (numel != v->numel)
        fuzz_die("numel is not the product of the dimensions", NULL);
    char *s = sibvad_mat_describe(v);
    g_free(s);
    (void)sibvad_mat_class_name(v->mclass);
    if (v->re) {
        volatile double sum = 0;
        for (int64_t i = 0; i < v->numel; i++)
            sum += v->re[i];
        (void)sum;
    }
    if (v->mclass == SIBVAD_MAT_CELL && v->numel > 0) {
        if (!v->cells)
            fuzz_die("a cell array without cells", NULL);
        for (int64_t i = 0; i < v->numel; i++)
            walk(v->cells[i], depth + 1);
    }
    (void)sibvad_mat_is_numeric(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;
    SibvadMatFile *f = sibvad_mat_parse(data, size, "fuzz.mat", &err);
    if (!f) {
        if (!err || !err->message[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", err->message);
        g_error_free(err);
        return 0;
    }
    for (int i = 0; i < f->nvars; i++)
        walk(f->vars[i], 0);
    (void)sibvad_mat_find(f, "gt");
    fuzz_note("accepted", NULL);
    sibvad_mat_free(f);
    return 0;
}
