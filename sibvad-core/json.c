/* json.c: the strict JSON reader (json.h) and the JSON writing helpers.
 *
 * The reader makes two passes over the input. The first checks the syntax and
 * counts what the tree needs (values, string bytes, items of each container in
 * the order they open); the second allocates one block (all values, then all
 * decoded strings) and fills it. Items of a container are contiguous, so
 * indexing is O(1); the root value is the first in the block, so freeing the
 * root frees the tree. Numbers are converted under the "C" locale. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "json.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sibvad_json {
    sibvad_json_type type;
    unsigned char boolean;
    unsigned char is_int;   /* NUMBER: written as an integer that fits int64 */
    size_t offset;          /* in the input */
    const char *key;        /* member of an OBJECT: its key */
    size_t key_len;
    union {
        size_t len;         /* STRING: bytes; ARRAY, OBJECT: items */
        int64_t ival;       /* NUMBER, when is_int */
    };
    union {
        double num;         /* NUMBER */
        const char *str;    /* STRING */
        sibvad_json *items; /* ARRAY, OBJECT */
    };
};

typedef struct {
    const unsigned char *s;
    size_t n, pos;
    sibvad_error *err;
    int build;              /* 0: first pass (check and count), 1: second pass */
    /* counted by the first pass */
    size_t nvalues, strbytes, maxmembers, maxnumlen, nstrtod;
    size_t *counts;         /* items of each container, in the order they open */
    size_t ncounts, counts_cap;
    /* used by the second pass */
    size_t next_count;
    sibvad_json *values;
    size_t next_value;
    char *strs;
    size_t next_str;
    const sibvad_json **scratch;
    char *numbuf;
} parser;

static int fail_at(parser *p, size_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail_at(parser *p, size_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sibvad_fail(p->err, "JSON: %s at byte %zu", msg, off);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0;               /* overlong */
        if (c == 0xED && s[1] > 0x9F)
            return 0;               /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;               /* overlong */
        if (c == 0xF4 && s[1] > 0x8F)
            return 0;               /* above U+10FFFF */
        return 4;
    }
    return 0;
}

static size_t utf8_encode(unsigned long cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(parser *p, size_t at, unsigned long *out)
{
    unsigned long v = 0;
    if (p->n - at < 4)
        return fail_at(p, at, "truncated \\u escape");
    for (size_t i = 0; i < 4; i++) {
        unsigned char c = p->s[at + i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail_at(p, at + i, "invalid hex digit in \\u escape");
        v = v * 16 + (unsigned long)d;
    }
    *out = v;
    return 0;
}

/* At an opening quote. First pass: check and count the decoded bytes;
 * second pass: decode into the string area. */
static int parse_string(parser *p, const char **out, size_t *out_len)
{
    size_t start = p->pos;
    size_t len = 0;
    unsigned char *dst = p->build ? (unsigned char *)p->strs + p->next_str : NULL;

    p->pos++;
    for (;;) {
        if (p->pos >= p->n)
            return fail_at(p, start, "unterminated string");
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            unsigned char tmp[4];
            size_t k = 1;
            if (p->pos + 1 >= p->n)
                return fail_at(p, start, "unterminated string");
            unsigned char e = p->s[p->pos + 1];
            switch (e) {
            case '"': tmp[0] = '"'; break;
            case '\\': tmp[0] = '\\'; break;
            case '/': tmp[0] = '/'; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                unsigned long cp, lo;
                if (hex4(p, p->pos + 2, &cp) < 0)
                    return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_at(p, p->pos, "unpaired low surrogate \\u%04lX", cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    size_t at = p->pos + 6;
                    if (at + 1 >= p->n || p->s[at] != '\\' || p->s[at + 1] != 'u')
                        return fail_at(p, p->pos, "high surrogate \\u%04lX not followed by a low surrogate", cp);
                    if (hex4(p, at + 2, &lo) < 0)
                        return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail_at(p, at, "high surrogate \\u%04lX followed by \\u%04lX, not a low surrogate",
                                       cp, lo);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p->pos += 6;
                }
                k = utf8_encode(cp, tmp);
                p->pos += 4;
                break;
            }
            default:
                if (e >= 0x20 && e < 0x7F)
                    return fail_at(p, p->pos, "invalid escape '\\%c' in string", e);
                return fail_at(p, p->pos, "invalid escape (byte 0x%02X) in string", e);
            }
            p->pos += 2;
            if (dst)
                memcpy(dst + len, tmp, k);
            len += k;
            continue;
        }
        if (c < 0x20)
            return fail_at(p, p->pos, "control character 0x%02X in string (must be escaped)", c);
        size_t k = utf8_seq(p->s + p->pos, p->n - p->pos);
        if (k == 0)
            return fail_at(p, p->pos, "invalid UTF-8 in string");
        if (dst)
            memcpy(dst + len, p->s + p->pos, k);
        len += k;
        p->pos += k;
    }
    if (p->build) {
        dst[len] = '\0';
        *out = (const char *)dst;
        *out_len = len;
        p->next_str += len + 1;
    } else {
        p->strbytes += len + 1;
    }
    return 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *p, sibvad_json *v)
{
    size_t start = p->pos;
    int neg = 0, is_int = 1, fits = 1;
    uint64_t mag = 0;
    const uint64_t lim_pos = (uint64_t)INT64_MAX, lim_neg = (uint64_t)INT64_MAX + 1;

    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->pos >= p->n || !is_digit(p->s[p->pos]))
        return fail_at(p, start, "invalid number");
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->n && is_digit(p->s[p->pos]))
            return fail_at(p, start, "invalid number (leading zero)");
    } else {
        while (p->pos < p->n && is_digit(p->s[p->pos])) {
            unsigned d = p->s[p->pos] - '0';
            if (fits) {
                if (mag > (lim_neg - d) / 10)
                    fits = 0;
                else
                    mag = mag * 10 + d;
            }
            p->pos++;
        }
    }
    if (p->pos < p->n && p->s[p->pos] == '.') {
        is_int = 0;
        p->pos++;
        if (p->pos >= p->n || !is_digit(p->s[p->pos]))
            return fail_at(p, start, "invalid number (no digit after '.')");
        while (p->pos < p->n && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        is_int = 0;
        p->pos++;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->n || !is_digit(p->s[p->pos]))
            return fail_at(p, start, "invalid number (no digit in the exponent)");
        while (p->pos < p->n && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E' || is_digit(c) ||
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return fail_at(p, start, "invalid number");
    }
    if (is_int && fits && !neg && mag > lim_pos)
        fits = 0;
    is_int = is_int && fits;
    size_t len = p->pos - start;

    if (!p->build) {
        if (len > p->maxnumlen)
            p->maxnumlen = len;
        if (!is_int || mag > (1ull << 53))
            p->nstrtod++;
        return 0;
    }
    v->type = SIBVAD_JSON_NUMBER;
    v->is_int = (unsigned char)is_int;
    if (is_int)
        v->ival = !neg ? (int64_t)mag : mag == lim_neg ? INT64_MIN : -(int64_t)mag;
    if (is_int && mag <= (1ull << 53)) {
        v->num = neg ? -(double)mag : (double)mag;
    } else {
        memcpy(p->numbuf, p->s + start, len);
        p->numbuf[len] = '\0';
        v->num = strtod(p->numbuf, NULL);   /* under the "C" locale (see parse) */
        if (isinf(v->num))
            return fail_at(p, start, "number %.40s%s out of the range of a double", p->numbuf,
                           len > 40 ? "..." : "");
    }
    return 0;
}

static int parse_value(parser *p, sibvad_json *v, int depth);

/* First pass: reserve the slot for a container's item count. Second pass:
 * allocate its items. */
static int open_container(parser *p, sibvad_json *v, size_t *slot)
{
    if (!p->build) {
        if (p->ncounts == p->counts_cap) {
            size_t cap = p->counts_cap ? p->counts_cap * 2 : 64;
            size_t *c = realloc(p->counts, cap * sizeof *c);
            if (!c)
                return fail_at(p, p->pos, "out of memory");
            p->counts = c;
            p->counts_cap = cap;
        }
        *slot = p->ncounts;
        p->counts[p->ncounts++] = 0;
        return 0;
    }
    size_t k = p->counts[p->next_count++];
    v->len = k;
    v->items = k ? p->values + p->next_value : NULL;
    p->next_value += k;
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    const sibvad_json *x = *(const sibvad_json *const *)a;
    const sibvad_json *y = *(const sibvad_json *const *)b;
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, m);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    /* equal keys: keep input order so that the error names the later one */
    return x < y ? -1 : (x > y);
}

static int check_duplicates(parser *p, const sibvad_json *obj)
{
    if (obj->len < 2)
        return 0;
    for (size_t i = 0; i < obj->len; i++)
        p->scratch[i] = &obj->items[i];
    qsort(p->scratch, obj->len, sizeof *p->scratch, cmp_keys);
    for (size_t i = 1; i < obj->len; i++) {
        const sibvad_json *a = p->scratch[i - 1], *b = p->scratch[i];
        if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0)
            return fail_at(p, b->offset, "duplicate object key \"%.100s\"", b->key);
    }
    return 0;
}

static int parse_array(parser *p, sibvad_json *v, int depth)
{
    size_t slot = 0, count = 0;
    if (depth > SIBVAD_JSON_MAX_DEPTH)
        return fail_at(p, p->pos, "nesting deeper than %d", SIBVAD_JSON_MAX_DEPTH);
    if (p->build)
        v->type = SIBVAD_JSON_ARRAY;
    if (open_container(p, v, &slot) < 0)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (parse_value(p, p->build ? &v->items[count] : NULL, depth) < 0)
            return -1;
        count++;
        skip_ws(p);
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unexpected end of input in an array");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        return fail_at(p, p->pos, "expected ',' or ']' in an array");
    }
    if (!p->build)
        p->counts[slot] = count;
    return 0;
}

static int parse_object(parser *p, sibvad_json *v, int depth)
{
    size_t slot = 0, count = 0;
    if (depth > SIBVAD_JSON_MAX_DEPTH)
        return fail_at(p, p->pos, "nesting deeper than %d", SIBVAD_JSON_MAX_DEPTH);
    if (p->build)
        v->type = SIBVAD_JSON_OBJECT;
    if (open_container(p, v, &slot) < 0)
        return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        skip_ws(p);
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unexpected end of input in an object");
        if (p->s[p->pos] != '"')
            return fail_at(p, p->pos, "expected a string key in an object");
        if (parse_string(p, &key, &key_len) < 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unexpected end of input in an object");
        if (p->s[p->pos] != ':')
            return fail_at(p, p->pos, "expected ':' after an object key");
        p->pos++;
        sibvad_json *item = p->build ? &v->items[count] : NULL;
        if (parse_value(p, item, depth) < 0)
            return -1;
        if (item) {
            item->key = key;
            item->key_len = key_len;
        }
        count++;
        skip_ws(p);
        if (p->pos >= p->n)
            return fail_at(p, p->pos, "unexpected end of input in an object");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        return fail_at(p, p->pos, "expected ',' or '}' in an object");
    }
    if (!p->build) {
        p->counts[slot] = count;
        if (count > p->maxmembers)
            p->maxmembers = count;
        return 0;
    }
    return check_duplicates(p, v);
}

static int literal(parser *p, const char *word)
{
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0)
        return fail_at(p, p->pos, "invalid literal (expected %s)", word);
    p->pos += k;
    return 0;
}

/* v is NULL in the first pass. depth counts the enclosing containers. */
static int parse_value(parser *p, sibvad_json *v, int depth)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return fail_at(p, p->pos, "unexpected end of input (expected a value)");
    if (v) {
        memset(v, 0, sizeof *v);
        v->offset = p->pos;
    } else {
        p->nvalues++;
    }
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{':
        return parse_object(p, v, depth + 1);
    case '[':
        return parse_array(p, v, depth + 1);
    case '"': {
        const char *s = NULL;
        size_t len = 0;
        if (parse_string(p, &s, &len) < 0)
            return -1;
        if (v) {
            v->type = SIBVAD_JSON_STRING;
            v->str = s;
            v->len = len;
        }
        return 0;
    }
    case 't':
    case 'f':
        if (literal(p, c == 't' ? "true" : "false") < 0)
            return -1;
        if (v) {
            v->type = SIBVAD_JSON_BOOL;
            v->boolean = c == 't';
        }
        return 0;
    case 'n':
        if (literal(p, "null") < 0)
            return -1;
        if (v)
            v->type = SIBVAD_JSON_NULL;
        return 0;
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, v);
        if (c >= 0x20 && c < 0x7F)
            return fail_at(p, p->pos, "unexpected character '%c'", c);
        return fail_at(p, p->pos, "unexpected byte 0x%02X", c);
    }
}

static int parse_root(parser *p, sibvad_json *root)
{
    p->pos = 0;
    if (parse_value(p, root, 0) < 0)
        return -1;
    skip_ws(p);
    if (p->pos != p->n)
        return fail_at(p, p->pos, "unexpected content after the JSON value");
    return 0;
}

sibvad_json *sibvad_json_parse(const char *s, size_t n, sibvad_error *err)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)s;
    p.n = n;
    p.err = err;
    if (!s && n) {
        sibvad_fail(err, "JSON: NULL input");
        return NULL;
    }
    if (parse_root(&p, NULL) < 0) {
        free(p.counts);
        return NULL;
    }

    /* One block: the values, then the strings. */
    size_t vbytes = p.nvalues * sizeof(sibvad_json);
    if (p.nvalues && vbytes / p.nvalues != sizeof(sibvad_json)) {
        free(p.counts);
        sibvad_fail(err, "JSON: input too large");
        return NULL;
    }
    sibvad_json *block = malloc(vbytes + p.strbytes);
    p.scratch = malloc((p.maxmembers ? p.maxmembers : 1) * sizeof *p.scratch);
    p.numbuf = malloc(p.maxnumlen + 1);
    locale_t cloc = (locale_t)0, old = (locale_t)0;
    if (p.nstrtod) {
        cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (cloc)
            old = uselocale(cloc);
    }
    if (!block || !p.scratch || !p.numbuf || (p.nstrtod && !cloc)) {
        sibvad_fail(err, "JSON: out of memory (%zu values, %zu bytes of strings)", p.nvalues, p.strbytes);
        goto fail;
    }
    p.build = 1;
    p.values = block;
    p.next_value = 1;       /* block[0] is the root */
    p.strs = (char *)block + vbytes;
    if (parse_root(&p, block) < 0)
        goto fail;
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    free(p.counts);
    free(p.scratch);
    free(p.numbuf);
    return block;

fail:
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    free(block);
    free(p.counts);
    free(p.scratch);
    free(p.numbuf);
    return NULL;
}

void sibvad_json_free(sibvad_json *root)
{
    free(root);
}

sibvad_json_type sibvad_json_typeof(const sibvad_json *v)
{
    return v ? v->type : SIBVAD_JSON_NULL;
}

const char *sibvad_json_type_name(sibvad_json_type t)
{
    switch (t) {
    case SIBVAD_JSON_NULL: return "null";
    case SIBVAD_JSON_BOOL: return "boolean";
    case SIBVAD_JSON_NUMBER: return "number";
    case SIBVAD_JSON_STRING: return "string";
    case SIBVAD_JSON_ARRAY: return "array";
    case SIBVAD_JSON_OBJECT: return "object";
    }
    return "?";
}

size_t sibvad_json_offset(const sibvad_json *v)
{
    return v ? v->offset : 0;
}

size_t sibvad_json_size(const sibvad_json *v)
{
    if (!v || (v->type != SIBVAD_JSON_ARRAY && v->type != SIBVAD_JSON_OBJECT))
        return 0;
    return v->len;
}

const sibvad_json *sibvad_json_at(const sibvad_json *v, size_t i)
{
    if (i >= sibvad_json_size(v))
        return NULL;
    return &v->items[i];
}

const char *sibvad_json_key_at(const sibvad_json *v, size_t i)
{
    if (!v || v->type != SIBVAD_JSON_OBJECT || i >= v->len)
        return NULL;
    return v->items[i].key;
}

size_t sibvad_json_key_len(const sibvad_json *v, size_t i)
{
    if (!v || v->type != SIBVAD_JSON_OBJECT || i >= v->len)
        return 0;
    return v->items[i].key_len;
}

const sibvad_json *sibvad_json_get(const sibvad_json *v, const char *key)
{
    if (!v || v->type != SIBVAD_JSON_OBJECT || !key)
        return NULL;
    size_t k = strlen(key);
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i].key_len == k && memcmp(v->items[i].key, key, k) == 0)
            return &v->items[i];
    return NULL;
}

int sibvad_json_bool(const sibvad_json *v, int *out)
{
    if (!v || v->type != SIBVAD_JSON_BOOL)
        return -1;
    if (out)
        *out = v->boolean;
    return 0;
}

int sibvad_json_number(const sibvad_json *v, double *out)
{
    if (!v || v->type != SIBVAD_JSON_NUMBER)
        return -1;
    if (out)
        *out = v->num;
    return 0;
}

int sibvad_json_int64(const sibvad_json *v, int64_t *out)
{
    if (!v || v->type != SIBVAD_JSON_NUMBER || !v->is_int)
        return -1;
    if (out)
        *out = v->ival;
    return 0;
}

const char *sibvad_json_string(const sibvad_json *v, size_t *len)
{
    if (!v || v->type != SIBVAD_JSON_STRING)
        return NULL;
    if (len)
        *len = v->len;
    return v->str;
}

/* ---- writing ---- */

static int strbuf_reserve(sibvad_strbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > (size_t)-1 - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void sibvad_strbuf_append(sibvad_strbuf *b, const char *s, size_t n)
{
    if (strbuf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sibvad_strbuf_puts(sibvad_strbuf *b, const char *s)
{
    sibvad_strbuf_append(b, s, strlen(s));
}

void sibvad_strbuf_printf(sibvad_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)k < sizeof small) {
        sibvad_strbuf_append(b, small, (size_t)k);
        return;
    }
    if (strbuf_reserve(b, (size_t)k) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)k;
}

void sibvad_json_append_string(sibvad_strbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;

    sibvad_strbuf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char hex[8];
        size_t k = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(hex, sizeof hex, "\\u%04X", c);
            esc = hex;
        } else if (c >= 0x80) {
            k = utf8_seq(u + i, n - i);
            if (k == 0) {
                esc = "\\uFFFD";
                k = 1;
            }
        }
        if (esc) {
            sibvad_strbuf_append(b, s + i - run, run);
            run = 0;
            sibvad_strbuf_puts(b, esc);
        } else {
            run += k;
        }
        i += k;
    }
    sibvad_strbuf_append(b, s + n - run, run);
    sibvad_strbuf_append(b, "\"", 1);
}

void sibvad_json_append_double(sibvad_strbuf *b, double v, int digits)
{
    char tmp[64], out[64];
    size_t j = 0;
    if (!isfinite(v)) {
        sibvad_strbuf_puts(b, "null");
        return;
    }
    if (digits < 1)
        digits = 1;
    if (digits > 17)
        digits = 17;
    snprintf(tmp, sizeof tmp, "%.*g", digits, v);
    /* %g writes sign, digits, the locale's decimal point, 'e', sign, digits:
     * whatever else there is, is the decimal point; write it as '.'. */
    for (size_t i = 0; tmp[i] && j + 1 < sizeof out; i++) {
        char c = tmp[i];
        if (is_digit((unsigned char)c) || c == '-' || c == '+' || c == 'e' || c == 'E') {
            out[j++] = c;
        } else if (j == 0 || out[j - 1] != '.') {
            out[j++] = '.';
        }
    }
    out[j] = '\0';
    sibvad_strbuf_append(b, out, j);
}

char *sibvad_json_escape(const char *s)
{
    sibvad_strbuf b = {0};
    if (!s)
        return NULL;
    sibvad_json_append_string(&b, s, strlen(s));
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
