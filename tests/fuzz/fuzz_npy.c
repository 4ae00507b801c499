/* fuzz_npy.c: feeds arbitrary bytes as a NumPy .npy file to the reader of
 * tools/common/npy.c (sibvad_npy_parse: magic, versions 1.0/2.0/3.0, the
 * header dict with descr, fortran_order and shape, the data size). Every
 * element of a parsed array is read with sibvad_npy_get. */
#include "fuzz-util.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *err = NULL;
    SibvadNpy *a = sibvad_npy_parse(data, size, "fuzz.npy", &err);
    if (!a) {
        if (!err || !err->message[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", err->message);
        g_error_free(err);
        return 0;
    }
    fuzz_note("accepted", NULL);
    if (err)
        fuzz_die("an error set on success", err->message);
    int64_t count = 1;
    for (int d = 0; d < a->ndim; d++)
        count *= a->shape[d];
    if (count != a->count || a->count < 0 || (size_t)a->count * (size_t)a->itemsize > size)
        fuzz_die("the element count does not fit the shape or the file", NULL);
    volatile double s = 0;
    for (int64_t i = 0; i < a->count; i++)
        s += sibvad_npy_get(a, i);
    (void)s;
    sibvad_npy_free(a);
    return 0;
}
