/* matv5.c: the MAT-file level-5 reader. Layout: a 128-byte header (text,
 * subsystem offset, version 0x0100, endian indicator "IM"/"MI"), then data
 * elements, each a tag (type, byte count; or the 4-byte "small element" form)
 * and its data padded to 8 bytes. A variable is a miMATRIX element holding
 * sub-elements: array flags (class), dimensions, name, then the real (and
 * imaginary) part, or one miMATRIX per cell; a miCOMPRESSED element is a zlib
 * stream holding one such element. */
#include "matv5.h"
#include "npy.h"

#include <string.h>
#include <zlib.h>

enum {
    MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6,
    MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14,
    MI_COMPRESSED = 15, MI_UTF8 = 16, MI_UTF16 = 17, MI_UTF32 = 18,
};

#define MAX_DEPTH 64
#define MAX_INFLATED ((size_t)1 << 30)

typedef struct {
    const char *name;   /* file name for messages */
    gboolean swap;      /* file byte order differs from this machine's */
    int var_index;      /* 1-based index of the top-level element being read */
} ctx;

typedef struct {
    uint32_t type, nbytes;
    const uint8_t *data;
    size_t next;        /* offset of the following element */
} elem;

static uint32_t rd32(const ctx *c, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return c->swap ? GUINT32_SWAP_LE_BE(v) : v;
}

static void set_fmt(const ctx *c, GError **error, const char *what)
{
    if (c->var_index > 0)
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: malformed MAT-file: %s (in data element %d)", c->name, what, c->var_index);
    else
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: malformed MAT-file: %s", c->name, what);
}

static gboolean read_elem(const ctx *c, const uint8_t *buf, size_t len, size_t off, elem *e,
                          GError **error)
{
    if (off > len || len - off < 8) {
        set_fmt(c, error, "truncated data element tag");
        return FALSE;
    }
    uint32_t first = rd32(c, buf + off);
    if (first >> 16) { /* small data element: 2-byte count, 2-byte type, 4 bytes of data */
        e->type = first & 0xffff;
        e->nbytes = first >> 16;
        if (e->nbytes > 4) {
            set_fmt(c, error, "small data element of more than 4 bytes");
            return FALSE;
        }
        e->data = buf + off + 4;
        e->next = off + 8;
        return TRUE;
    }
    e->type = first;
    e->nbytes = rd32(c, buf + off + 4);
    if (e->nbytes > len - off - 8) {
        set_fmt(c, error, "truncated data element (its tag announces more bytes than the file holds)");
        return FALSE;
    }
    e->data = buf + off + 8;
    size_t padded = e->type == MI_COMPRESSED ? e->nbytes : ((size_t)e->nbytes + 7) / 8 * 8;
    e->next = off + 8 + padded;
    if (e->next > len) /* the last element may lack its padding */
        e->next = len;
    return TRUE;
}

static int mi_size(uint32_t type)
{
    switch (type) {
    case MI_INT8: case MI_UINT8: case MI_UTF8: return 1;
    case MI_INT16: case MI_UINT16: case MI_UTF16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: case MI_UTF32: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

static double mi_value(const ctx *c, uint32_t type, const uint8_t *p)
{
    uint8_t b[8];
    int sz = mi_size(type);
    memcpy(b, p, (size_t)sz);
    if (c->swap)
        for (int k = 0; k < sz / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[sz - 1 - k];
            b[sz - 1 - k] = t;
        }
    switch (type) {
    case MI_INT8: return (int8_t)b[0];
    case MI_UINT8: case MI_UTF8: return b[0];
    case MI_INT16: { int16_t v; memcpy(&v, b, 2); return v; }
    case MI_UINT16: case MI_UTF16: { uint16_t v; memcpy(&v, b, 2); return v; }
    case MI_INT32: { int32_t v; memcpy(&v, b, 4); return v; }
    case MI_UINT32: case MI_UTF32: { uint32_t v; memcpy(&v, b, 4); return v; }
    case MI_SINGLE: { float v; memcpy(&v, b, 4); return v; }
    case MI_DOUBLE: { double v; memcpy(&v, b, 8); return v; }
    case MI_INT64: { int64_t v; memcpy(&v, b, 8); return (double)v; }
    default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
    }
}

static void var_free(SibvadMatVar *v)
{
    if (!v)
        return;
    if (v->cells)
        for (int64_t i = 0; i < v->numel; i++)
            var_free(v->cells[i]);
    g_free(v->cells);
    g_free(v->re);
    g_free(v->dims);
    g_free(v->name);
    g_free(v);
}

static SibvadMatVar *empty_var(void)
{
    SibvadMatVar *v = g_new0(SibvadMatVar, 1);
    v->name = g_strdup("");
    v->mclass = SIBVAD_MAT_DOUBLE;
    v->ndims = 2;
    v->dims = g_new0(int64_t, 2);
    return v;
}

/* The contents of a miMATRIX element (data, n bytes). */
static SibvadMatVar *parse_matrix(const ctx *c, const uint8_t *data, size_t n, int depth, GError **error)
{
    if (depth > MAX_DEPTH) {
        set_fmt(c, error, "cells nested too deeply");
        return NULL;
    }
    if (n == 0) /* an empty element stands for [] */
        return empty_var();
    SibvadMatVar *v = g_new0(SibvadMatVar, 1);
    elem e;
    /* array flags */
    if (!read_elem(c, data, n, 0, &e, error))
        goto fail;
    if (e.type != MI_UINT32 || e.nbytes != 8) {
        set_fmt(c, error, "array flags missing");
        goto fail;
    }
    uint32_t flags = rd32(c, e.data);
    v->mclass = (SibvadMatClass)(flags & 0xff);
    v->complex = (flags & 0x800) != 0;
    v->logical = (flags & 0x200) != 0;
    if (v->mclass < SIBVAD_MAT_CELL || v->mclass > SIBVAD_MAT_UINT64) {
        set_fmt(c, error, "unknown array class");
        goto fail;
    }
    /* dimensions */
    size_t off = e.next;
    if (!read_elem(c, data, n, off, &e, error))
        goto fail;
    if (e.type != MI_INT32 || e.nbytes % 4 || e.nbytes < 4) {
        set_fmt(c, error, "dimensions missing");
        goto fail;
    }
    v->ndims = (int)(e.nbytes / 4) < 2 ? 2 : (int)(e.nbytes / 4);
    v->dims = g_new(int64_t, v->ndims);
    v->dims[1] = 1;
    v->numel = 1;
    for (uint32_t d = 0; d < e.nbytes / 4; d++) {
        int32_t dim = (int32_t)rd32(c, e.data + 4 * d);
        if (dim < 0) {
            set_fmt(c, error, "negative dimension");
            goto fail;
        }
        v->dims[d] = dim;
    }
    for (int d = 0; d < v->ndims; d++) {
        if (v->dims[d] && v->numel > ((int64_t)1 << 40) / v->dims[d]) {
            set_fmt(c, error, "array too large");
            goto fail;
        }
        v->numel *= v->dims[d];
    }
    /* name */
    off = e.next;
    if (!read_elem(c, data, n, off, &e, error))
        goto fail;
    if (e.type != MI_INT8 && e.type != MI_UINT8 && e.type != MI_UTF8) {
        set_fmt(c, error, "array name missing");
        goto fail;
    }
    v->name = g_strndup((const char *)e.data, e.nbytes);
    off = e.next;

    if (v->mclass == SIBVAD_MAT_CELL) {
        if ((size_t)v->numel > (n - off) / 8) {
            set_fmt(c, error, "cell array larger than its element");
            goto fail;
        }
        v->cells = g_new0(SibvadMatVar *, v->numel);
        for (int64_t i = 0; i < v->numel; i++) {
            if (!read_elem(c, data, n, off, &e, error))
                goto fail;
            if (e.type != MI_MATRIX) {
                set_fmt(c, error, "a cell entry is not a matrix element");
                goto fail;
            }
            v->cells[i] = parse_matrix(c, e.data, e.nbytes, depth + 1, error);
            if (!v->cells[i])
                goto fail;
            off = e.next;
        }
    } else if (v->mclass == SIBVAD_MAT_CHAR || (v->mclass >= SIBVAD_MAT_DOUBLE && v->mclass <= SIBVAD_MAT_UINT64)) {
        if (v->numel == 0) {
            v->re = g_new0(double, 1);
            return v;
        }
        if (!read_elem(c, data, n, off, &e, error))
            goto fail;
        int sz = mi_size(e.type);
        if (sz == 0) {
            set_fmt(c, error, "unsupported data type of an array's values");
            goto fail;
        }
        int64_t count = e.nbytes / sz;
        /* UTF-8 text may take more bytes than characters, never fewer: the
         * values are allocated from the dimensions, so those must fit the bytes */
        if (count != v->numel && !(v->mclass == SIBVAD_MAT_CHAR && e.type == MI_UTF8 && v->numel <= count)) {
            set_fmt(c, error, "an array's value count does not match its dimensions");
            goto fail;
        }
        v->re = g_new0(double, v->numel);
        for (int64_t i = 0; i < v->numel && i < count; i++)
            v->re[i] = mi_value(c, e.type, e.data + (size_t)i * (size_t)sz);
        /* an imaginary part, when present, is not kept */
    }
    /* struct, object, sparse: contents not read */
    return v;
fail:
    var_free(v);
    return NULL;
}

static uint8_t *inflate_all(const ctx *c, const uint8_t *src, size_t n, size_t *out_n, GError **error)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "%s: zlib initialisation failed", c->name);
        return NULL;
    }
    size_t cap = n * 4 + 1024, len = 0;
    uint8_t *out = g_malloc(cap);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    int rc;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_INFLATED) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                            "%s: compressed data element %d inflates to more than 1 GiB", c->name, c->var_index);
                goto fail;
            }
            cap *= 2;
            out = g_realloc(out, cap);
        }
        zs.next_out = out + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: compressed data element %d is truncated (the zlib stream ends early)",
                        c->name, c->var_index);
            goto fail;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: compressed data element %d is corrupt (zlib: %s)", c->name, c->var_index,
                        zs.msg ? zs.msg : "error");
            goto fail;
        }
    }
    inflateEnd(&zs);
    *out_n = len;
    return out;
fail:
    inflateEnd(&zs);
    g_free(out);
    return NULL;
}

SibvadMatFile *sibvad_mat_parse(const void *bytes, size_t n, const char *name, GError **error)
{
    const uint8_t *buf = bytes;
    ctx c = { name, FALSE, 0 };
    if (n >= 10 && memcmp(buf, "MATLAB 7.3", 10) == 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: a MATLAB v7.3 (HDF5) MAT-file, which is not supported; save it with "
                    "save(..., '-v7') or scipy.io.savemat", name);
        return NULL;
    }
    if (n < 128) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: not a MATLAB v5 MAT-file (shorter than its 128-byte header)", name);
        return NULL;
    }
    if (buf[126] == 'I' && buf[127] == 'M')
        c.swap = G_BYTE_ORDER == G_BIG_ENDIAN;
    else if (buf[126] == 'M' && buf[127] == 'I')
        c.swap = G_BYTE_ORDER == G_LITTLE_ENDIAN;
    else {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: not a MATLAB v5 MAT-file (no endian indicator in its header)", name);
        return NULL;
    }
    SibvadMatFile *f = g_new0(SibvadMatFile, 1);
    f->path = g_strdup(name);
    GPtrArray *vars = g_ptr_array_new();
    size_t off = 128;
    while (off < n) {
        elem e;
        c.var_index++;
        if (n - off < 8) {
            /* trailing padding shorter than a tag */
            gboolean zero = TRUE;
            for (size_t i = off; i < n; i++)
                zero &= buf[i] == 0;
            if (zero)
                break;
        }
        if (!read_elem(&c, buf, n, off, &e, error))
            goto fail;
        SibvadMatVar *v = NULL;
        if (e.type == MI_COMPRESSED) {
            size_t ilen = 0;
            uint8_t *inner = inflate_all(&c, e.data, e.nbytes, &ilen, error);
            if (!inner)
                goto fail;
            elem ie;
            if (!read_elem(&c, inner, ilen, 0, &ie, error)) {
                g_free(inner);
                goto fail;
            }
            if (ie.type == MI_MATRIX)
                v = parse_matrix(&c, ie.data, ie.nbytes, 0, error);
            g_free(inner);
            if (ie.type == MI_MATRIX && !v)
                goto fail;
        } else if (e.type == MI_MATRIX) {
            v = parse_matrix(&c, e.data, e.nbytes, 0, error);
            if (!v)
                goto fail;
        } /* other top-level elements are skipped */
        if (v)
            g_ptr_array_add(vars, v);
        off = e.next;
    }
    f->nvars = (int)vars->len;
    f->vars = (SibvadMatVar **)g_ptr_array_free(vars, FALSE);
    return f;
fail:
    for (guint i = 0; i < vars->len; i++)
        var_free(g_ptr_array_index(vars, i));
    g_ptr_array_free(vars, TRUE);
    g_free(f->path);
    g_free(f);
    return NULL;
}

SibvadMatFile *sibvad_mat_load(const char *path, GError **error)
{
    gsize n = 0;
    gchar *buf = sibvad_data_read_file(path, &n, error);
    if (!buf)
        return NULL;
    SibvadMatFile *f = sibvad_mat_parse(buf, n, path, error);
    g_free(buf);
    return f;
}

void sibvad_mat_free(SibvadMatFile *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nvars; i++)
        var_free(f->vars[i]);
    g_free(f->vars);
    g_free(f->path);
    g_free(f);
}

const SibvadMatVar *sibvad_mat_find(const SibvadMatFile *f, const char *name)
{
    for (int i = 0; i < f->nvars; i++)
        if (strcmp(f->vars[i]->name, name) == 0)
            return f->vars[i];
    return NULL;
}

const char *sibvad_mat_class_name(SibvadMatClass c)
{
    static const char *names[] = { "?", "cell", "struct", "object", "char", "sparse", "double", "single",
                                   "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64" };
    return c >= 1 && c <= 15 ? names[c] : "?";
}

gboolean sibvad_mat_is_numeric(const SibvadMatVar *v)
{
    return v->mclass >= SIBVAD_MAT_DOUBLE && v->mclass <= SIBVAD_MAT_UINT64 && v->re;
}

char *sibvad_mat_describe(const SibvadMatVar *v)
{
    GString *s = g_string_new(NULL);
    for (int d = 0; d < v->ndims; d++)
        g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? "x" : "", v->dims[d]);
    g_string_append_printf(s, " %s%s", v->logical ? "logical" : sibvad_mat_class_name(v->mclass),
                           v->complex ? " (complex)" : "");
    return g_string_free(s, FALSE);
}
