/* npy.h: NumPy .npy arrays (format versions 1.0, 2.0 and 3.0) read into
 * memory, with element access as double, and a float32 writer; also the
 * GError domain shared by the dataset files (npy, matv5, labels,
 * video-reader, dataset). */
#ifndef SIBVAD_NPY_H
#define SIBVAD_NPY_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SIBVAD_DATA_ERROR (sibvad_data_error_quark())
GQuark sibvad_data_error_quark(void);

typedef enum {
    SIBVAD_DATA_ERROR_IO,        /* a file or folder cannot be read or written */
    SIBVAD_DATA_ERROR_NOT_FOUND, /* something looked for is not there */
    SIBVAD_DATA_ERROR_FORMAT,    /* a file is malformed or of an unsupported kind */
    SIBVAD_DATA_ERROR_MISMATCH,  /* counts or sizes disagree (labels vs frames, ...) */
    SIBVAD_DATA_ERROR_DECODE,    /* GStreamer could not decode a video or frame */
    SIBVAD_DATA_ERROR_INVALID,   /* invalid arguments */
} SibvadDataError;

#define SIBVAD_NPY_MAX_DIMS 16

typedef struct {
    char kind;                  /* 'b' bool, 'i' signed int, 'u' unsigned int, 'f' float */
    int itemsize;               /* bytes per element: 1, 2, 4 or 8 */
    gboolean swap;              /* stored in the other byte order than this machine's */
    gboolean fortran_order;     /* only accepted when at most one dimension exceeds 1 */
    int ndim;                   /* 0 for a scalar */
    int64_t shape[SIBVAD_NPY_MAX_DIMS];
    int64_t count;              /* product of shape (1 for a scalar) */
    int version;                /* format major version: 1, 2 or 3 */
    const uint8_t *data;        /* count * itemsize bytes, in file byte order; points into buf */
    uint8_t *buf;               /* owned: the whole file */
} SibvadNpy;

/* Read and check a .npy file; the message of a failure names the file. */
/* A whole file in memory (g_free it), with an IO error in SIBVAD_DATA_ERROR. */
gchar *sibvad_data_read_file(const char *path, gsize *n, GError **error);

SibvadNpy *sibvad_npy_load(const char *path, GError **error);
/* The same from bytes in memory (copied); name is used in messages. */
SibvadNpy *sibvad_npy_parse(const void *bytes, size_t n, const char *name, GError **error);
void sibvad_npy_free(SibvadNpy *a);

/* Element i (0 <= i < count, C order) as a double. */
double sibvad_npy_get(const SibvadNpy *a, int64_t i);

/* Write a little-endian float32 array (format 1.0, C order) atomically
 * (temporary file + rename). */
gboolean sibvad_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                              GError **error);

G_END_DECLS

#endif
