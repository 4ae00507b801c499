/* matv5.h: a reader for MATLAB level-5 MAT-files (save -v6 / -v7): numeric,
 * logical and char arrays and cells (nested), from uncompressed elements and
 * from zlib-compressed ones (miCOMPRESSED), either byte order. Structs,
 * objects and sparse arrays are listed by name and class but their contents
 * are not read. v7.3 files (HDF5) and v4 files are refused with a message. */
#ifndef SIBVAD_MATV5_H
#define SIBVAD_MATV5_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Array classes (mxClassID values of the format). */
typedef enum {
    SIBVAD_MAT_CELL = 1,
    SIBVAD_MAT_STRUCT = 2,
    SIBVAD_MAT_OBJECT = 3,
    SIBVAD_MAT_CHAR = 4,
    SIBVAD_MAT_SPARSE = 5,
    SIBVAD_MAT_DOUBLE = 6,
    SIBVAD_MAT_SINGLE = 7,
    SIBVAD_MAT_INT8 = 8,
    SIBVAD_MAT_UINT8 = 9,
    SIBVAD_MAT_INT16 = 10,
    SIBVAD_MAT_UINT16 = 11,
    SIBVAD_MAT_INT32 = 12,
    SIBVAD_MAT_UINT32 = 13,
    SIBVAD_MAT_INT64 = 14,
    SIBVAD_MAT_UINT64 = 15,
} SibvadMatClass;

typedef struct SibvadMatVar SibvadMatVar;
struct SibvadMatVar {
    char *name;                 /* "" inside a cell */
    SibvadMatClass mclass;
    gboolean logical, complex;
    int ndims;
    int64_t *dims;              /* (ndims), at least 2 */
    int64_t numel;              /* product of dims */
    double *re;                 /* numeric, logical and char arrays: (numel) values, column-major */
    SibvadMatVar **cells;       /* cells: (numel) entries, column-major */
};

typedef struct {
    char *path;
    int nvars;
    SibvadMatVar **vars;        /* top-level variables in file order */
} SibvadMatFile;

SibvadMatFile *sibvad_mat_load(const char *path, GError **error);
/* The same from bytes in memory; name is used in messages. */
SibvadMatFile *sibvad_mat_parse(const void *bytes, size_t n, const char *name, GError **error);
void sibvad_mat_free(SibvadMatFile *f);

const SibvadMatVar *sibvad_mat_find(const SibvadMatFile *f, const char *name);
/* "double", "cell", ... */
const char *sibvad_mat_class_name(SibvadMatClass c);
/* True for the numeric classes (double, single, integers), whose values are in re. */
gboolean sibvad_mat_is_numeric(const SibvadMatVar *v);
/* "2x1 double", "1x12 cell", ... (newly allocated) */
char *sibvad_mat_describe(const SibvadMatVar *v);

G_END_DECLS

#endif
