/* json.h: a small strict JSON reader (a DOM in one allocation) and the few
 * helpers the core needs to write JSON (escaped strings, numbers that do not
 * depend on the locale).
 *
 * The reader takes an explicit length (the input need not be NUL-terminated),
 * accepts exactly RFC 8259 JSON (UTF-8 checked, no comments, no trailing
 * commas, no duplicate object keys, no NaN/Infinity, numbers that overflow a
 * double rejected), nests at most SIBVAD_JSON_MAX_DEPTH containers and reports
 * every error with the byte offset where it was found. Strings are decoded
 * (all escapes, \uXXXX with surrogate pairs) to NUL-terminated UTF-8. */
#ifndef SIBVAD_JSON_H
#define SIBVAD_JSON_H

#include "sibvad.h"

#include <stddef.h>
#include <stdint.h>

#define SIBVAD_JSON_MAX_DEPTH 64

typedef enum {
    SIBVAD_JSON_NULL = 0,
    SIBVAD_JSON_BOOL,
    SIBVAD_JSON_NUMBER,
    SIBVAD_JSON_STRING,
    SIBVAD_JSON_ARRAY,
    SIBVAD_JSON_OBJECT
} sibvad_json_type;

/* A value; the root returned by sibvad_json_parse owns the whole tree. */
typedef struct sibvad_json sibvad_json;

/* Parse n bytes of s. Returns the root value or NULL with a message
 * ("JSON: <problem> at byte <offset>") in err. */
sibvad_json *sibvad_json_parse(const char *s, size_t n, sibvad_error *err);
/* Free a tree; only the root returned by sibvad_json_parse may be passed. NULL is fine. */
void sibvad_json_free(sibvad_json *root);

sibvad_json_type sibvad_json_typeof(const sibvad_json *v);
/* "null", "boolean", "number", "string", "array", "object". */
const char *sibvad_json_type_name(sibvad_json_type t);
/* Byte offset of the value in the parsed input. */
size_t sibvad_json_offset(const sibvad_json *v);

/* Arrays and objects: number of items, item i (NULL when out of range or not
 * a container), and for objects the key of item i (NUL-terminated UTF-8). */
size_t sibvad_json_size(const sibvad_json *v);
const sibvad_json *sibvad_json_at(const sibvad_json *v, size_t i);
const char *sibvad_json_key_at(const sibvad_json *v, size_t i);
/* Length in bytes of that key (differs from strlen when it holds \u0000). */
size_t sibvad_json_key_len(const sibvad_json *v, size_t i);
/* Object member by key, or NULL (also when v is not an object). */
const sibvad_json *sibvad_json_get(const sibvad_json *v, const char *key);

/* Scalars: each returns 0 and fills *out when v has the type, else -1. */
int sibvad_json_bool(const sibvad_json *v, int *out);
int sibvad_json_number(const sibvad_json *v, double *out);
/* Exact: only for numbers written as integers (no fraction, no exponent)
 * that fit in int64_t. */
int sibvad_json_int64(const sibvad_json *v, int64_t *out);
/* The decoded string (NUL-terminated; *len, when len is not NULL, counts the
 * bytes, which may include NULs written as \u0000), or NULL if not a string. */
const char *sibvad_json_string(const sibvad_json *v, size_t *len);

/* Writing. A growable string; after an allocation failure `failed` is set
 * and further appends do nothing. Free data with free(). */
typedef struct sibvad_strbuf {
    char *data;     /* NUL-terminated when not NULL */
    size_t len, cap;
    int failed;
} sibvad_strbuf;

void sibvad_strbuf_append(sibvad_strbuf *b, const char *s, size_t n);
void sibvad_strbuf_puts(sibvad_strbuf *b, const char *s);
void sibvad_strbuf_printf(sibvad_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append s (n bytes) as a quoted JSON string. Invalid UTF-8 becomes U+FFFD. */
void sibvad_json_append_string(sibvad_strbuf *b, const char *s, size_t n);
/* Append a double with `digits` significant digits (%.*g) and a '.' decimal
 * point whatever the locale; non-finite values are written as null. */
void sibvad_json_append_double(sibvad_strbuf *b, double v, int digits);
/* The quoted, escaped form of a NUL-terminated string, malloc'd, or NULL. */
char *sibvad_json_escape(const char *s);

#endif
