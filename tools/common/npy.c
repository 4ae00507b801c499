/* npy.c: the NumPy .npy reader and float32 writer. The header is a Python
 * dict literal ({'descr': '<f4', 'fortran_order': False, 'shape': (1, 2010), })
 * after the magic "\x93NUMPY", a version byte pair and a 2-byte (1.0) or
 * 4-byte (2.0, 3.0) little-endian header length. */
#include "npy.h"

#include <errno.h>
#include <string.h>

G_DEFINE_QUARK(sibvad-data-error-quark, sibvad_data_error)

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* A quoted Python string (no escapes are needed by any header numpy writes). */
static char *parse_str(cursor *c)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return NULL;
    char q = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != q)
        c->p++;
    if (c->p >= c->end)
        return NULL;
    char *r = g_strndup(s, (gsize)(c->p - s));
    c->p++;
    return r;
}

static gboolean parse_word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    skip_ws(c);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return TRUE;
    }
    return FALSE;
}

/* (d0, d1, ...) with an optional trailing comma; () is a scalar. */
static gboolean parse_shape(cursor *c, SibvadNpy *a, const char *name, GError **error)
{
    skip_ws(c);
    char close;
    if (c->p < c->end && *c->p == '(')
        close = ')';
    else if (c->p < c->end && *c->p == '[')
        close = ']';
    else
        goto bad;
    c->p++;
    a->ndim = 0;
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return TRUE;
        }
        if (c->p >= c->end || !g_ascii_isdigit(*c->p))
            goto bad;
        if (a->ndim == SIBVAD_NPY_MAX_DIMS) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: more than %d dimensions", name, SIBVAD_NPY_MAX_DIMS);
            return FALSE;
        }
        int64_t v = 0;
        while (c->p < c->end && g_ascii_isdigit(*c->p)) {
            if (v > (G_MAXINT64 - 9) / 10)
                goto bad;
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') /* written by Python 2 */
            c->p++;
        a->shape[a->ndim++] = v;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (!(c->p < c->end && *c->p == close))
            goto bad;
    }
bad:
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: malformed 'shape' in the .npy header", name);
    return FALSE;
}

static gboolean parse_descr(const char *d, SibvadNpy *a, const char *name, GError **error)
{
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        goto bad;
    char kind = d[1];
    if (kind == 0) /* "<" alone: nothing after the byte order */
        goto bad;
    char *endp = NULL;
    long size = strtol(d + 2, &endp, 10);
    if (endp == d + 2 || *endp != 0)
        goto bad;
    gboolean int_size = size == 1 || size == 2 || size == 4 || size == 8;
    gboolean ok = (kind == 'b' && size == 1) || ((kind == 'i' || kind == 'u') && int_size)
                  || (kind == 'f' && (size == 2 || size == 4 || size == 8));
    if (!ok)
        goto bad;
    a->kind = kind;
    a->itemsize = (int)size;
    gboolean big = order == '>' || (order == '=' && G_BYTE_ORDER == G_BIG_ENDIAN);
    a->swap = size > 1 && big != (G_BYTE_ORDER == G_BIG_ENDIAN);
    return TRUE;
bad:
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: unsupported dtype '%s' (supported: bool, int8..int64, uint8..uint64, "
                "float16/32/64)", name, d);
    return FALSE;
}

static gboolean parse_header(const char *h, size_t n, SibvadNpy *a, const char *name, GError **error)
{
    cursor c = { h, h + n };
    gboolean have_descr = FALSE, have_order = FALSE, have_shape = FALSE;
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        goto bad;
    c.p++;
    for (;;) {
        skip_ws(&c);
        if (c.p < c.end && *c.p == '}')
            break;
        char *key = parse_str(&c);
        if (!key)
            goto bad;
        skip_ws(&c);
        if (c.p >= c.end || *c.p != ':') {
            g_free(key);
            goto bad;
        }
        c.p++;
        if (strcmp(key, "descr") == 0) {
            g_free(key);
            char *d = parse_str(&c);
            if (!d) {
                g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                            "%s: structured dtypes are not supported (descr is not a string)", name);
                return FALSE;
            }
            gboolean ok = parse_descr(d, a, name, error);
            g_free(d);
            if (!ok)
                return FALSE;
            have_descr = TRUE;
        } else if (strcmp(key, "fortran_order") == 0) {
            g_free(key);
            if (parse_word(&c, "True"))
                a->fortran_order = TRUE;
            else if (parse_word(&c, "False"))
                a->fortran_order = FALSE;
            else
                goto bad;
            have_order = TRUE;
        } else if (strcmp(key, "shape") == 0) {
            g_free(key);
            if (!parse_shape(&c, a, name, error))
                return FALSE;
            have_shape = TRUE;
        } else {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: unexpected key '%s' in the .npy header", name, key);
            g_free(key);
            return FALSE;
        }
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',')
            c.p++;
        else if (!(c.p < c.end && *c.p == '}'))
            goto bad;
    }
    if (!have_descr || !have_order || !have_shape) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: the .npy header lacks '%s'", name,
                    !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
        return FALSE;
    }
    return TRUE;
bad:
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: malformed .npy header", name);
    return FALSE;
}

static SibvadNpy *parse_owned(uint8_t *buf, size_t n, const char *name, GError **error)
{
    SibvadNpy *a = g_new0(SibvadNpy, 1);
    a->buf = buf;
    if (n < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: not a NumPy .npy file (bad magic)", name);
        goto fail;
    }
    a->version = buf[6];
    size_t hlen, hstart;
    if (a->version == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (a->version == 2 || a->version == 3) {
        if (n < 12)
            goto truncated;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: unsupported .npy format version %d.%d", name, buf[6], buf[7]);
        goto fail;
    }
    if (hlen > n - hstart)
        goto truncated;
    if (!parse_header((const char *)buf + hstart, hlen, a, name, error))
        goto fail;
    a->count = 1;
    int big_dims = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] > 1)
            big_dims++;
        if (a->shape[d] != 0 && a->count > G_MAXINT64 / 8 / a->shape[d]) {
            g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                        "%s: the shape in the .npy header is too large", name);
            goto fail;
        }
        a->count *= a->shape[d];
    }
    if (a->fortran_order && big_dims > 1) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: fortran_order (column-major) arrays of more than one dimension are not "
                    "supported; save it with numpy.ascontiguousarray", name);
        goto fail;
    }
    size_t need = (size_t)a->count * (size_t)a->itemsize;
    size_t have = n - hstart - hlen;
    if (have < need) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                    "%s: truncated .npy file: the header announces %" G_GINT64_FORMAT " elements "
                    "(%zu bytes) but only %zu bytes of data follow", name, a->count, need, have);
        goto fail;
    }
    a->data = buf + hstart + hlen;
    return a;
truncated:
    g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_FORMAT,
                "%s: truncated .npy file (the header is cut short)", name);
fail:
    sibvad_npy_free(a);
    return NULL;
}

SibvadNpy *sibvad_npy_parse(const void *bytes, size_t n, const char *name, GError **error)
{
    uint8_t *buf = g_malloc(n ? n : 1);
    if (n)
        memcpy(buf, bytes, n);
    return parse_owned(buf, n, name, error);
}

gchar *sibvad_data_read_file(const char *path, gsize *n, GError **error)
{
    gchar *buf = NULL;
    GError *e = NULL;
    if (!g_file_get_contents(path, &buf, n, &e)) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "%s", e->message);
        g_error_free(e);
        return NULL;
    }
    return buf;
}

SibvadNpy *sibvad_npy_load(const char *path, GError **error)
{
    gsize n = 0;
    gchar *buf = sibvad_data_read_file(path, &n, error);
    if (!buf)
        return NULL;
    return parse_owned((uint8_t *)buf, n, path, error);
}

void sibvad_npy_free(SibvadNpy *a)
{
    if (!a)
        return;
    g_free(a->buf);
    g_free(a);
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            bits = sign | exp << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double sibvad_npy_get(const SibvadNpy *a, int64_t i)
{
    uint8_t b[8];
    memcpy(b, a->data + (size_t)i * (size_t)a->itemsize, (size_t)a->itemsize);
    if (a->swap)
        for (int k = 0; k < a->itemsize / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[a->itemsize - 1 - k];
            b[a->itemsize - 1 - k] = t;
        }
    switch (a->kind) {
    case 'b':
        return b[0] ? 1.0 : 0.0;
    case 'u':
        switch (a->itemsize) {
        case 1: return b[0];
        case 2: { uint16_t v; memcpy(&v, b, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, b, 4); return v; }
        default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    case 'i':
        switch (a->itemsize) {
        case 1: return (int8_t)b[0];
        case 2: { int16_t v; memcpy(&v, b, 2); return v; }
        case 4: { int32_t v; memcpy(&v, b, 4); return v; }
        default: { int64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    default:
        switch (a->itemsize) {
        case 2: { uint16_t v; memcpy(&v, b, 2); return half_to_float(v); }
        case 4: { float v; memcpy(&v, b, 4); return v; }
        default: { double v; memcpy(&v, b, 8); return v; }
        }
    }
}

gboolean sibvad_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                              GError **error)
{
    if (ndim < 0 || ndim > SIBVAD_NPY_MAX_DIMS) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_INVALID,
                    "%s: cannot write an array of %d dimensions", path, ndim);
        return FALSE;
    }
    GString *h = g_string_new("{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        g_string_append_printf(h, "%" G_GINT64_FORMAT "%s", shape[d], ndim == 1 || d + 1 < ndim ? ", " : "");
        count *= shape[d];
    }
    if (ndim == 1)
        g_string_truncate(h, h->len - 1);
    g_string_append(h, "), }");
    /* pad with spaces so that the data starts on a multiple of 64, end with \n */
    while ((10 + h->len + 1) % 64)
        g_string_append_c(h, ' ');
    g_string_append_c(h, '\n');
    size_t hlen = h->len, nbytes = 10 + hlen + (size_t)count * 4;
    uint8_t *out = g_malloc(nbytes);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)(hlen & 0xff);
    out[9] = (uint8_t)(hlen >> 8);
    memcpy(out + 10, h->str, hlen);
    g_string_free(h, TRUE);
    for (int64_t i = 0; i < count; i++) {
        uint32_t v;
        memcpy(&v, &data[i], 4);
        v = GUINT32_TO_LE(v);
        memcpy(out + 10 + hlen + (size_t)i * 4, &v, 4);
    }
    GError *e = NULL;
    gboolean ok = g_file_set_contents(path, (const gchar *)out, (gssize)nbytes, &e);
    g_free(out);
    if (!ok) {
        g_set_error(error, SIBVAD_DATA_ERROR, SIBVAD_DATA_ERROR_IO, "%s", e->message);
        g_error_free(e);
    }
    return ok;
}
