/* safetensors.h: reading (mmap) and writing (atomic) of safetensors files.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string value"}}, then the data block; offsets are
 * relative to the start of the data block. The reader validates everything
 * (header length, JSON, dtypes, shapes vs byte sizes, offsets inside the file,
 * no overlaps) and returns an error message for anything wrong. */
#ifndef SIBVAD_SAFETENSORS_H
#define SIBVAD_SAFETENSORS_H

#include "sibvad.h"

typedef enum {
    SIBVAD_DT_F32 = 0,
    SIBVAD_DT_F16,
    SIBVAD_DT_BF16,
    SIBVAD_DT_F64,
    SIBVAD_DT_I64,
    SIBVAD_DT_I32,
    SIBVAD_DT_U8,
    SIBVAD_DT_BOOL,
} sibvad_dtype;

#define SIBVAD_ST_MAX_DIMS 8

typedef struct sibvad_st_tensor {
    const char *name;
    sibvad_dtype dtype;
    int ndim;
    int64_t shape[SIBVAD_ST_MAX_DIMS];
    size_t numel;
    const void *data;   /* inside the mapping */
    size_t nbytes;
} sibvad_st_tensor;

typedef struct sibvad_st_file sibvad_st_file;

int sibvad_st_open(sibvad_st_file **out, const char *path, sibvad_error *err);
void sibvad_st_close(sibvad_st_file *f);
int sibvad_st_count(const sibvad_st_file *f);
const sibvad_st_tensor *sibvad_st_get(const sibvad_st_file *f, int i);
const sibvad_st_tensor *sibvad_st_find(const sibvad_st_file *f, const char *name);
/* Value of a __metadata__ key, or NULL. */
const char *sibvad_st_metadata(const sibvad_st_file *f, const char *key);
/* The __metadata__ entries in file order: count, and key i (value: sibvad_st_metadata). */
int sibvad_st_metadata_count(const sibvad_st_file *f);
const char *sibvad_st_metadata_key(const sibvad_st_file *f, int i);
/* "F32", "F16", ... and the size of one element in bytes ("?" and 0 if unknown). */
const char *sibvad_st_dtype_name(sibvad_dtype dt);
size_t sibvad_st_dtype_size(sibvad_dtype dt);
/* Convert a floating tensor (F32, F16, BF16, F64) to float; n must equal numel. */
int sibvad_st_to_f32(const sibvad_st_tensor *t, float *dst, size_t n, sibvad_error *err);

typedef struct sibvad_st_write_tensor {
    const char *name;
    int ndim;
    int64_t shape[SIBVAD_ST_MAX_DIMS];
    const float *data;
    sibvad_dtype dtype; /* stored as F32 (the default, 0), F16 or BF16 (rounded to nearest even) */
} sibvad_st_write_tensor;

/* Write atomically: a temporary file in the same folder, fsync, rename. */
int sibvad_st_write(const char *path, const sibvad_st_write_tensor *tensors, int n,
                    const char *const *meta_keys, const char *const *meta_values, int nmeta,
                    sibvad_error *err);

#endif
