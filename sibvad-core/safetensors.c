/* safetensors.c: the safetensors reader (mmap, every field checked) and the
 * atomic writer (temporary file in the same folder, fsync, rename, fsync of
 * the folder; temporaries of killed writers are removed). Data are
 * little-endian; reads of the mapped data go through memcpy or byte loads,
 * since offsets need not be aligned. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "safetensors.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#define ST_MAX_HEADER 100000000ull  /* the limit of the reference implementation */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ST_HOST_LE 1
#else
#define ST_HOST_LE 0
#endif

struct sibvad_st_file {
    char *path;
    void *map;
    size_t size;
    sibvad_json *doc;           /* tensor names and metadata point into it */
    int ntensors;
    sibvad_st_tensor *tensors;  /* in header order */
    int *by_name;               /* indices sorted by name */
    int nmeta;
    const char **meta_keys, **meta_values;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [SIBVAD_DT_F32] = {"F32", 4},
    [SIBVAD_DT_F16] = {"F16", 2},
    [SIBVAD_DT_BF16] = {"BF16", 2},
    [SIBVAD_DT_F64] = {"F64", 8},
    [SIBVAD_DT_I64] = {"I64", 8},
    [SIBVAD_DT_I32] = {"I32", 4},
    [SIBVAD_DT_U8] = {"U8", 1},
    [SIBVAD_DT_BOOL] = {"BOOL", 1},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *sibvad_st_dtype_name(sibvad_dtype dt)
{
    if ((int)dt < 0 || (int)dt >= NDTYPES)
        return "?";
    return dtypes[dt].name;
}

size_t sibvad_st_dtype_size(sibvad_dtype dt)
{
    if ((int)dt < 0 || (int)dt >= NDTYPES)
        return 0;
    return dtypes[dt].size;
}

/* "[2, 3, 4]" into buf. */
static const char *shape_str(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* ---- reading ---- */

void sibvad_st_close(sibvad_st_file *f)
{
    if (!f)
        return;
    if (f->map && f->size)
        munmap(f->map, f->size);
    sibvad_json_free(f->doc);
    free(f->tensors);
    free(f->by_name);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->path);
    free(f);
}

/* Sort an index of the tensors. qsort has no context argument in C11, and a
 * global would not be thread-safe, so this is a small bottom-up merge sort
 * (stable, O(n log n)). */
static void sort_index(int *idx, int *tmp, int n, const sibvad_st_tensor *t,
                       int (*cmp)(const sibvad_st_tensor *, const sibvad_st_tensor *))
{
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n;
            int hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(&t[idx[j]], &t[idx[i]]) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static int by_begin(const sibvad_st_tensor *x, const sibvad_st_tensor *y)
{
    const char *d = (const char *)x->data, *e = (const char *)y->data;
    if (d != e)
        return d < e ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : (x->nbytes > y->nbytes);
}

static int by_name(const sibvad_st_tensor *x, const sibvad_st_tensor *y)
{
    return strcmp(x->name, y->name);
}

/* A non-negative JSON integer. */
static int get_uint(const sibvad_json *v, uint64_t *out)
{
    int64_t x;
    if (sibvad_json_int64(v, &x) < 0 || x < 0)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

static int parse_tensor(sibvad_st_file *f, const char *name, const sibvad_json *e,
                        const unsigned char *data, size_t dsize, sibvad_st_tensor *t,
                        sibvad_error *err)
{
    const char *path = f->path;
    const sibvad_json *jdt = NULL, *jshape = NULL, *joff = NULL;
    char sb[256];

    if (sibvad_json_typeof(e) != SIBVAD_JSON_OBJECT)
        return sibvad_fail(err, "%s: tensor '%s': entry is %s, not an object", path, name,
                           sibvad_json_type_name(sibvad_json_typeof(e)));
    for (size_t i = 0; i < sibvad_json_size(e); i++) {
        const char *k = sibvad_json_key_at(e, i);
        if (strcmp(k, "dtype") == 0)
            jdt = sibvad_json_at(e, i);
        else if (strcmp(k, "shape") == 0)
            jshape = sibvad_json_at(e, i);
        else if (strcmp(k, "data_offsets") == 0)
            joff = sibvad_json_at(e, i);
        else
            return sibvad_fail(err, "%s: tensor '%s': unknown field \"%.100s\"", path, name, k);
    }
    if (!jdt || !jshape || !joff)
        return sibvad_fail(err, "%s: tensor '%s': missing field \"%s\"", path, name,
                           !jdt ? "dtype" : !jshape ? "shape" : "data_offsets");

    /* dtype */
    const char *dts = sibvad_json_string(jdt, NULL);
    if (!dts)
        return sibvad_fail(err, "%s: tensor '%s': dtype is %s, not a string", path, name,
                           sibvad_json_type_name(sibvad_json_typeof(jdt)));
    int dt = -1;
    for (int i = 0; i < NDTYPES; i++)
        if (strcmp(dts, dtypes[i].name) == 0)
            dt = i;
    if (dt < 0)
        return sibvad_fail(err, "%s: tensor '%s': unknown dtype \"%.40s\" (known: F32, F16, BF16, F64, "
                           "I64, I32, U8, BOOL)", path, name, dts);
    t->dtype = (sibvad_dtype)dt;

    /* shape */
    if (sibvad_json_typeof(jshape) != SIBVAD_JSON_ARRAY)
        return sibvad_fail(err, "%s: tensor '%s': shape is %s, not an array", path, name,
                           sibvad_json_type_name(sibvad_json_typeof(jshape)));
    if (sibvad_json_size(jshape) > SIBVAD_ST_MAX_DIMS)
        return sibvad_fail(err, "%s: tensor '%s': shape has %zu dimensions, more than %d", path, name,
                           sibvad_json_size(jshape), SIBVAD_ST_MAX_DIMS);
    t->ndim = (int)sibvad_json_size(jshape);
    size_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        const sibvad_json *d = sibvad_json_at(jshape, (size_t)i);
        int64_t x;
        if (sibvad_json_int64(d, &x) < 0)
            return sibvad_fail(err, "%s: tensor '%s': shape[%d] is not an integer", path, name, i);
        if (x < 0)
            return sibvad_fail(err, "%s: tensor '%s': shape[%d] = %lld is negative", path, name, i,
                               (long long)x);
        t->shape[i] = x;
        if ((uint64_t)x > SIZE_MAX)
            overflow = 1;
        else if (x && numel > SIZE_MAX / (size_t)x)
            overflow = 1;
        else
            numel *= (size_t)x;
    }
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 0) {     /* an empty tensor, whatever the other sizes */
            overflow = 0;
            numel = 0;
        }
    }
    size_t esz = dtypes[dt].size;
    if (overflow || numel > SIZE_MAX / esz)
        return sibvad_fail(err, "%s: tensor '%s': shape %s has too many elements", path, name,
                           shape_str(sb, sizeof sb, t->shape, t->ndim));
    t->numel = numel;
    t->nbytes = numel * esz;

    /* data_offsets */
    uint64_t begin, end;
    if (sibvad_json_typeof(joff) != SIBVAD_JSON_ARRAY || sibvad_json_size(joff) != 2 ||
        get_uint(sibvad_json_at(joff, 0), &begin) < 0 || get_uint(sibvad_json_at(joff, 1), &end) < 0)
        return sibvad_fail(err, "%s: tensor '%s': data_offsets must be [begin, end], two non-negative integers",
                           path, name);
    if (begin > end)
        return sibvad_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu] has begin after end", path, name,
                           (unsigned long long)begin, (unsigned long long)end);
    if (end > dsize)
        return sibvad_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data "
                           "(%zu bytes after the header)", path, name, (unsigned long long)begin,
                           (unsigned long long)end, dsize);
    if (end - begin != t->nbytes)
        return sibvad_fail(err, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but dtype %s "
                           "with shape %s needs %zu", path, name, (unsigned long long)begin,
                           (unsigned long long)end, (unsigned long long)(end - begin), dtypes[dt].name,
                           shape_str(sb, sizeof sb, t->shape, t->ndim), t->nbytes);
    t->data = data + begin;
    return 0;
}

static int parse_header(sibvad_st_file *f, const unsigned char *hdr, size_t hlen,
                        const unsigned char *data, size_t dsize, sibvad_error *err)
{
    sibvad_error jerr;
    const char *path = f->path;

    f->doc = sibvad_json_parse((const char *)hdr, hlen, &jerr);
    if (!f->doc)
        return sibvad_fail(err, "%s: the header is not valid JSON: %s", path, jerr.msg);
    if (sibvad_json_typeof(f->doc) != SIBVAD_JSON_OBJECT)
        return sibvad_fail(err, "%s: the header is a JSON %s, not an object", path,
                           sibvad_json_type_name(sibvad_json_typeof(f->doc)));

    size_t nmembers = sibvad_json_size(f->doc);
    const sibvad_json *meta = sibvad_json_get(f->doc, "__metadata__");
    size_t nt = nmembers - (meta ? 1 : 0);
    if (nt > INT_MAX)
        return sibvad_fail(err, "%s: too many tensors (%zu)", path, nt);

    if (meta) {
        if (sibvad_json_typeof(meta) != SIBVAD_JSON_OBJECT)
            return sibvad_fail(err, "%s: __metadata__ is %s, not an object of strings", path,
                               sibvad_json_type_name(sibvad_json_typeof(meta)));
        size_t nm = sibvad_json_size(meta);
        if (nm > INT_MAX)
            return sibvad_fail(err, "%s: too many __metadata__ entries", path);
        f->meta_keys = malloc((nm ? nm : 1) * sizeof *f->meta_keys);
        f->meta_values = malloc((nm ? nm : 1) * sizeof *f->meta_values);
        if (!f->meta_keys || !f->meta_values)
            return sibvad_fail(err, "%s: out of memory", path);
        for (size_t i = 0; i < nm; i++) {
            const char *k = sibvad_json_key_at(meta, i);
            const sibvad_json *v = sibvad_json_at(meta, i);
            if (sibvad_json_typeof(v) != SIBVAD_JSON_STRING)
                return sibvad_fail(err, "%s: __metadata__ value of \"%.100s\" is %s, not a string", path, k,
                                   sibvad_json_type_name(sibvad_json_typeof(v)));
            f->meta_keys[i] = k;
            f->meta_values[i] = sibvad_json_string(v, NULL);
        }
        f->nmeta = (int)nm;
    }

    f->tensors = calloc(nt ? nt : 1, sizeof *f->tensors);
    f->by_name = malloc((nt ? nt : 1) * sizeof *f->by_name);
    int *tmp = malloc((nt ? nt : 1) * sizeof *tmp);
    int *order = malloc((nt ? nt : 1) * sizeof *order);
    if (!f->tensors || !f->by_name || !tmp || !order) {
        free(tmp);
        free(order);
        return sibvad_fail(err, "%s: out of memory (%zu tensors)", path, nt);
    }
    int k = 0;
    for (size_t i = 0; i < nmembers; i++) {
        const char *name = sibvad_json_key_at(f->doc, i);
        const sibvad_json *e = sibvad_json_at(f->doc, i);
        if (e == meta)
            continue;
        if (sibvad_json_key_len(f->doc, i) != strlen(name)) {
            sibvad_fail(err, "%s: tensor '%s': the name holds a NUL character (\\u0000)", path, name);
            free(tmp);
            free(order);
            return -1;
        }
        f->tensors[k].name = name;
        if (parse_tensor(f, name, e, data, dsize, &f->tensors[k], err) < 0) {
            free(tmp);
            free(order);
            return -1;
        }
        order[k] = k;
        f->by_name[k] = k;
        k++;
    }
    f->ntensors = k;

    /* No two tensors may share bytes (empty ones take none). */
    sort_index(order, tmp, k, f->tensors, by_begin);
    const sibvad_st_tensor *prev = NULL;
    for (int i = 0; i < k; i++) {
        const sibvad_st_tensor *t = &f->tensors[order[i]];
        if (t->nbytes == 0)
            continue;
        if (prev && (const char *)prev->data + prev->nbytes > (const char *)t->data) {
            const char *base = (const char *)data;
            size_t pb = (size_t)((const char *)prev->data - base), tb = (size_t)((const char *)t->data - base);
            sibvad_fail(err, "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap", path, prev->name,
                        pb, pb + prev->nbytes, t->name, tb, tb + t->nbytes);
            free(tmp);
            free(order);
            return -1;
        }
        prev = t;
    }
    sort_index(f->by_name, tmp, k, f->tensors, by_name);
    free(tmp);
    free(order);
    return 0;
}

int sibvad_st_open(sibvad_st_file **out, const char *path, sibvad_error *err)
{
    sibvad_st_file *f;
    struct stat st;
    int fd;

    if (!out)
        return sibvad_fail(err, "safetensors open: NULL argument");
    *out = NULL;
    if (!path)
        return sibvad_fail(err, "safetensors open: NULL path");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sibvad_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return sibvad_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sibvad_fail(err, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return sibvad_fail(err, "%s: empty file (a safetensors file starts with an 8-byte header length)",
                           path);
    }
    if (st.st_size < 8) {
        close(fd);
        return sibvad_fail(err, "%s: file of %lld bytes is shorter than the 8-byte header length", path,
                           (long long)st.st_size);
    }
    if ((unsigned long long)st.st_size > SIZE_MAX) {
        close(fd);
        return sibvad_fail(err, "%s: file too large to map", path);
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        close(fd);
        return sibvad_fail(err, "%s: out of memory", path);
    }
    f->size = (size_t)st.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        int e = errno;
        f->map = NULL;
        close(fd);
        sibvad_st_close(f);
        return sibvad_fail(err, "%s: cannot map: %s", path, strerror(e));
    }
    close(fd);

    const unsigned char *b = f->map;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | b[i];
    if (n > ST_MAX_HEADER) {
        sibvad_fail(err, "%s: header length %llu is larger than the limit of %llu bytes (not a safetensors "
                    "file?)", path, (unsigned long long)n, ST_MAX_HEADER);
        sibvad_st_close(f);
        return -1;
    }
    if (n > f->size - 8) {
        sibvad_fail(err, "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)",
                    path, (unsigned long long)n, f->size);
        sibvad_st_close(f);
        return -1;
    }
    if (parse_header(f, b + 8, (size_t)n, b + 8 + n, f->size - 8 - (size_t)n, err) < 0) {
        sibvad_st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int sibvad_st_count(const sibvad_st_file *f)
{
    return f ? f->ntensors : 0;
}

const sibvad_st_tensor *sibvad_st_get(const sibvad_st_file *f, int i)
{
    if (!f || i < 0 || i >= f->ntensors)
        return NULL;
    return &f->tensors[i];
}

const sibvad_st_tensor *sibvad_st_find(const sibvad_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    int lo = 0, hi = f->ntensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const sibvad_st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *sibvad_st_metadata(const sibvad_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

int sibvad_st_metadata_count(const sibvad_st_file *f)
{
    return f ? f->nmeta : 0;
}

const char *sibvad_st_metadata_key(const sibvad_st_file *f, int i)
{
    if (!f || i < 0 || i >= f->nmeta)
        return NULL;
    return f->meta_keys[i];
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* subnormal: mant * 2^-24; normalise */
            uint32_t e = 127 - 15 + 1;
            while (!(mant & 0x400)) {
                mant <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((mant & 0x3FF) << 13);
        }
    } else if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13);   /* inf, nan (payload kept) */
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int sibvad_st_to_f32(const sibvad_st_tensor *t, float *dst, size_t n, sibvad_error *err)
{
    if (!t)
        return sibvad_fail(err, "safetensors: NULL tensor");
    if (n != t->numel)
        return sibvad_fail(err, "tensor '%s': %zu elements, but the destination holds %zu", t->name,
                           t->numel, n);
    if (n && !dst)
        return sibvad_fail(err, "tensor '%s': NULL destination", t->name);
    const unsigned char *s = t->data;
    switch (t->dtype) {
    case SIBVAD_DT_F32:
        if (ST_HOST_LE) {
            if (n)
                memcpy(dst, s, n * 4);
        } else {
            for (size_t i = 0; i < n; i++) {
                uint32_t b = (uint32_t)s[4 * i] | (uint32_t)s[4 * i + 1] << 8 |
                             (uint32_t)s[4 * i + 2] << 16 | (uint32_t)s[4 * i + 3] << 24;
                memcpy(&dst[i], &b, 4);
            }
        }
        return 0;
    case SIBVAD_DT_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = f16_to_f32((uint16_t)(s[2 * i] | s[2 * i + 1] << 8));
        return 0;
    case SIBVAD_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t b = ((uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &b, 4);
        }
        return 0;
    case SIBVAD_DT_F64:
        for (size_t i = 0; i < n; i++) {
            uint64_t b = 0;
            double d;
            for (int k = 7; k >= 0; k--)
                b = (b << 8) | s[8 * i + (size_t)k];
            memcpy(&d, &b, 8);
            /* out of range: an infinity (a plain cast would be undefined) */
            if (d > FLT_MAX)
                dst[i] = INFINITY;
            else if (d < -FLT_MAX)
                dst[i] = -INFINITY;
            else
                dst[i] = (float)d;
        }
        return 0;
    default:
        return sibvad_fail(err, "tensor '%s': dtype %s is not a floating type (F32, F16, BF16, F64)",
                           t->name, sibvad_st_dtype_name(t->dtype));
    }
}

/* ---- writing ---- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_f32(int fd, const float *data, size_t n)
{
    if (ST_HOST_LE)
        return write_all(fd, data, n * 4);
    unsigned char buf[16384];
    while (n) {
        size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t b;
            memcpy(&b, &data[i], 4);
            for (int j = 0; j < 4; j++)
                buf[4 * i + (size_t)j] = (unsigned char)(b >> (8 * j));
        }
        if (write_all(fd, buf, k * 4) < 0)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
}

/* float -> IEEE half, round to nearest even; overflow gives inf, NaN stays NaN. */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)                       /* inf or NaN */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u)                       /* rounds above 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {                      /* subnormal half (or zero) */
        if (ax < 0x33000000u)
            return (uint16_t)sign;
        const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        const int shift = 113 - (int)(ax >> 23) + 13;
        uint32_t h = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13);
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);    /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* Write n floats as 16-bit values (little-endian). */
static int write_half(int fd, const float *data, size_t n, sibvad_dtype dt)
{
    unsigned char buf[16384];
    while (n) {
        size_t k = n < sizeof buf / 2 ? n : sizeof buf / 2;
        for (size_t i = 0; i < k; i++) {
            uint16_t h = dt == SIBVAD_DT_F16 ? f32_to_f16(data[i]) : f32_to_bf16(data[i]);
            buf[2 * i] = (unsigned char)(h & 0xff);
            buf[2 * i + 1] = (unsigned char)(h >> 8);
        }
        if (write_all(fd, buf, k * 2) < 0)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns the first name that appears twice, or NULL. */
static const char *find_duplicate(const char **names, int n)
{
    qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

/* Check the arguments and build the header (padded so that 8 + its length is
 * a multiple of 8). Returns the header or NULL. */
static char *build_header(const char *path, const sibvad_st_write_tensor *tensors, int n,
                          const char *const *meta_keys, const char *const *meta_values, int nmeta,
                          size_t *hlen, sibvad_error *err)
{
    sibvad_strbuf b = {0};
    const char **names;
    const char *dup;
    int cnt = n > nmeta ? n : nmeta;
    char sb[256];

    if (n < 0 || nmeta < 0 || (n && !tensors) || (nmeta && (!meta_keys || !meta_values))) {
        sibvad_fail(err, "%s: safetensors write: invalid arguments", path);
        return NULL;
    }
    names = malloc((size_t)(cnt ? cnt : 1) * sizeof *names);
    if (!names) {
        sibvad_fail(err, "%s: out of memory", path);
        return NULL;
    }
    for (int i = 0; i < nmeta; i++) {
        if (!meta_keys[i] || !meta_values[i]) {
            sibvad_fail(err, "%s: metadata entry %d has a NULL key or value", path, i);
            goto fail;
        }
        names[i] = meta_keys[i];
    }
    if ((dup = find_duplicate(names, nmeta))) {
        sibvad_fail(err, "%s: metadata key \"%.100s\" given twice", path, dup);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const sibvad_st_write_tensor *t = &tensors[i];
        if (!t->name || !t->name[0]) {
            sibvad_fail(err, "%s: tensor %d has no name", path, i);
            goto fail;
        }
        if (strcmp(t->name, "__metadata__") == 0) {
            sibvad_fail(err, "%s: a tensor may not be called __metadata__", path);
            goto fail;
        }
        names[i] = t->name;
    }
    if ((dup = find_duplicate(names, n))) {
        sibvad_fail(err, "%s: tensor name '%.100s' given twice", path, dup);
        goto fail;
    }

    sibvad_strbuf_puts(&b, "{");
    if (nmeta) {
        sibvad_strbuf_puts(&b, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i)
                sibvad_strbuf_puts(&b, ",");
            sibvad_json_append_string(&b, meta_keys[i], strlen(meta_keys[i]));
            sibvad_strbuf_puts(&b, ":");
            sibvad_json_append_string(&b, meta_values[i], strlen(meta_values[i]));
        }
        sibvad_strbuf_puts(&b, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const sibvad_st_write_tensor *t = &tensors[i];
        size_t numel = 1;
        if (t->ndim < 0 || t->ndim > SIBVAD_ST_MAX_DIMS) {
            sibvad_fail(err, "%s: tensor '%s': %d dimensions (0 to %d allowed)", path, t->name, t->ndim,
                        SIBVAD_ST_MAX_DIMS);
            goto fail;
        }
        int empty = 0, overflow = 0;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0) {
                sibvad_fail(err, "%s: tensor '%s': shape %s has a negative size", path, t->name,
                            shape_str(sb, sizeof sb, t->shape, t->ndim));
                goto fail;
            }
            if (t->shape[d] == 0)
                empty = 1;
            else if ((uint64_t)t->shape[d] > SIZE_MAX || numel > SIZE_MAX / (size_t)t->shape[d])
                overflow = 1;
            else
                numel *= (size_t)t->shape[d];
        }
        if (t->dtype != SIBVAD_DT_F32 && t->dtype != SIBVAD_DT_F16 && t->dtype != SIBVAD_DT_BF16) {
            sibvad_fail(err, "%s: tensor '%s': can only be written as F32, F16 or BF16", path, t->name);
            goto fail;
        }
        const unsigned esz = t->dtype == SIBVAD_DT_F32 ? 4u : 2u;
        if (empty)
            numel = 0;
        else if (overflow || numel > SIZE_MAX / 4 || (uint64_t)numel * 4 > UINT64_MAX - off) {
            sibvad_fail(err, "%s: tensor '%s': shape %s is too large", path, t->name,
                        shape_str(sb, sizeof sb, t->shape, t->ndim));
            goto fail;
        }
        if (numel && !t->data) {
            sibvad_fail(err, "%s: tensor '%s': NULL data", path, t->name);
            goto fail;
        }
        if (i || nmeta)
            sibvad_strbuf_puts(&b, ",");
        sibvad_json_append_string(&b, t->name, strlen(t->name));
        sibvad_strbuf_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[",
                             t->dtype == SIBVAD_DT_F32 ? "F32" : t->dtype == SIBVAD_DT_F16 ? "F16" : "BF16");
        for (int d = 0; d < t->ndim; d++)
            sibvad_strbuf_printf(&b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        sibvad_strbuf_printf(&b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                             (unsigned long long)(off + (uint64_t)numel * esz));
        off += (uint64_t)numel * esz;
    }
    sibvad_strbuf_puts(&b, "}");
    while (!b.failed && (8 + b.len) % 8)
        sibvad_strbuf_puts(&b, " ");
    if (b.failed) {
        sibvad_fail(err, "%s: out of memory building the header", path);
        goto fail;
    }
    if (b.len > ST_MAX_HEADER) {
        sibvad_fail(err, "%s: header of %zu bytes is larger than the limit of %llu", path, b.len, ST_MAX_HEADER);
        goto fail;
    }
    free(names);
    *hlen = b.len;
    return b.data;

fail:
    free(names);
    free(b.data);
    return NULL;
}

/* The folder holding path, for its fsync: "." when path has no '/'. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    char *d = malloc((size_t)(slash - path) + 1);
    if (d) {
        memcpy(d, path, (size_t)(slash - path));
        d[slash - path] = '\0';
    }
    return d;
}

/* Remove PATH.tmp.<pid> files left by writers that were killed mid-write
 * (their process is gone), so that interrupted saves do not pile up. */
static void remove_stale_temps(const char *path)
{
    char *dir = dir_of(path);
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const size_t blen = strlen(base);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (strncmp(nm, base, blen) != 0 || strncmp(nm + blen, ".tmp.", 5) != 0)
            continue;
        char *end;
        const long pid = strtol(nm + blen + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || pid > INT_MAX)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to ask): maybe writing */
        const size_t len = strlen(dir) + strlen(nm) + 2;
        char *full = malloc(len);
        if (full) {
            snprintf(full, len, "%s/%s", dir, nm);
            unlink(full);
            free(full);
        }
    }
    closedir(d);
    free(dir);
}

int sibvad_st_write(const char *path, const sibvad_st_write_tensor *tensors, int n,
                    const char *const *meta_keys, const char *const *meta_values, int nmeta,
                    sibvad_error *err)
{
    char *hdr = NULL, *tmp = NULL, *dir = NULL;
    size_t hlen = 0;
    int fd = -1, rc = -1;

    if (!path || !path[0])
        return sibvad_fail(err, "safetensors write: no path");
    hdr = build_header(path, tensors, n, meta_keys, meta_values, nmeta, &hlen, err);
    if (!hdr)
        return -1;
    remove_stale_temps(path);
    size_t tlen = strlen(path) + 32;
    tmp = malloc(tlen);
    if (!tmp) {
        sibvad_fail(err, "%s: out of memory", path);
        goto out;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        sibvad_fail(err, "%s: cannot create the temporary file %s: %s", path, tmp, strerror(errno));
        free(tmp);
        tmp = NULL;     /* nothing to remove */
        goto out;
    }

    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (write_all(fd, len8, 8) < 0 || write_all(fd, hdr, hlen) < 0) {
        sibvad_fail(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const sibvad_st_write_tensor *t = &tensors[i];
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= (size_t)t->shape[d];
        if (numel && (t->dtype == SIBVAD_DT_F32 ? write_f32(fd, t->data, numel)
                                                : write_half(fd, t->data, numel, t->dtype)) < 0) {
            sibvad_fail(err, "%s: writing tensor '%s' to %s: %s", path, t->name, tmp, strerror(errno));
            goto out;
        }
    }
    if (fsync(fd) < 0) {
        sibvad_fail(err, "%s: fsync of %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0) {
        sibvad_fail(err, "%s: closing %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0) {
        sibvad_fail(err, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    rc = 0;

    /* Make the rename durable. Best effort: the file is complete and in place
     * whatever happens here, and some file systems refuse to sync a folder. */
    dir = dir_of(path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }

out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(dir);
    free(hdr);
    return rc;
}
