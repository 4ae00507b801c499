/* test_safetensors.c: the JSON reader, the config JSON and the safetensors
 * reader and writer: round trips, exact F16/BF16/F64 conversion, one test per
 * kind of corrupt file (an error naming the problem, never a crash), every
 * truncation and a few hundred random header corruptions of a valid file, and
 * the atomic write (nothing left behind on failure, old file untouched).
 * Exits 0 when every check passes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "json.h"
#include "safetensors.h"
#include "sibvad.h"
#include "test-util.h"

#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file: 8-byte length, header, data. */
static void make_file(const char *path, const char *header, const void *data, size_t dlen)
{
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + dlen + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (dlen)
        memcpy(b + 8 + hl, data, dlen);
    write_bytes(path, b, 8 + hl + dlen);
    free(b);
}

static int bits_equal(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Open must fail with a message holding the path and `what`. */
static void expect_fail(const char *path, const char *what, const char *label)
{
    sibvad_st_file *f = NULL;
    sibvad_error err = {{0}};
    int rc = sibvad_st_open(&f, path, &err);
    CHECK(rc < 0 && f == NULL && strstr(err.msg, what) && strstr(err.msg, path),
          "%s: error mentions \"%s\" (got: %s)", label, what, rc < 0 ? err.msg : "opened");
    sibvad_st_close(f);
}

/* ---- JSON ---- */

static void test_json(void)
{
    sibvad_error err = {{0}};
    sibvad_json *j;

    const char *doc = " {\"a\": [1, -2, 3.5, 1e2, true, false, null, \"x\"], \"b\": {\"c\": \"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"},"
                      " \"big\": 9223372036854775807, \"neg\": -9223372036854775808, \"over\": 9223372036854775808,"
                      " \"z\": \"a\\u0000b\", \"e\": [], \"o\": {}} ";
    j = sibvad_json_parse(doc, strlen(doc), &err);
    CHECK(j != NULL, "json: parse a document with every kind of value (%s)", j ? "" : err.msg);
    if (j) {
        const sibvad_json *a = sibvad_json_get(j, "a");
        int64_t iv = 0;
        double d = 0;
        int bv = -1;
        size_t len = 0;
        CHECK(sibvad_json_typeof(j) == SIBVAD_JSON_OBJECT && sibvad_json_size(j) == 8, "json: root object with 8 keys");
        CHECK(sibvad_json_size(a) == 8 && sibvad_json_typeof(a) == SIBVAD_JSON_ARRAY, "json: array of 8");
        CHECK(sibvad_json_int64(sibvad_json_at(a, 0), &iv) == 0 && iv == 1, "json: int 1");
        CHECK(sibvad_json_int64(sibvad_json_at(a, 1), &iv) == 0 && iv == -2, "json: int -2");
        CHECK(sibvad_json_int64(sibvad_json_at(a, 2), &iv) < 0 && sibvad_json_number(sibvad_json_at(a, 2), &d) == 0 &&
              d == 3.5, "json: 3.5 is a number, not an integer");
        CHECK(sibvad_json_int64(sibvad_json_at(a, 3), &iv) < 0 && sibvad_json_number(sibvad_json_at(a, 3), &d) == 0 &&
              d == 100.0, "json: 1e2 = 100, not an integer literal");
        CHECK(sibvad_json_bool(sibvad_json_at(a, 4), &bv) == 0 && bv == 1, "json: true");
        CHECK(sibvad_json_bool(sibvad_json_at(a, 5), &bv) == 0 && bv == 0, "json: false");
        CHECK(sibvad_json_typeof(sibvad_json_at(a, 6)) == SIBVAD_JSON_NULL, "json: null");
        CHECK(sibvad_json_at(a, 8) == NULL, "json: index out of range gives NULL");
        const char *s = sibvad_json_string(sibvad_json_get(sibvad_json_get(j, "b"), "c"), &len);
        CHECK(s && len == 11 && memcmp(s, "\xc3\xa9\xf0\x9f\x98\x80\n\t\"\\/", 11) == 0 && s[11] == 0,
              "json: escapes and surrogate pair decoded to UTF-8");
        CHECK(sibvad_json_int64(sibvad_json_get(j, "big"), &iv) == 0 && iv == INT64_MAX, "json: INT64_MAX exact");
        CHECK(sibvad_json_int64(sibvad_json_get(j, "neg"), &iv) == 0 && iv == INT64_MIN, "json: INT64_MIN exact");
        CHECK(sibvad_json_int64(sibvad_json_get(j, "over"), &iv) < 0 &&
              sibvad_json_number(sibvad_json_get(j, "over"), &d) == 0 && d == 9223372036854775808.0,
              "json: 2^63 is a number but not an int64");
        s = sibvad_json_string(sibvad_json_get(j, "z"), &len);
        CHECK(s && len == 3 && s[1] == 0 && s[2] == 'b', "json: \\u0000 kept, length 3");
        CHECK(sibvad_json_size(sibvad_json_get(j, "e")) == 0 && sibvad_json_typeof(sibvad_json_get(j, "o")) == SIBVAD_JSON_OBJECT,
              "json: empty array and object");
        CHECK(sibvad_json_get(j, "missing") == NULL && sibvad_json_get(a, "x") == NULL, "json: missing key gives NULL");
        CHECK(strcmp(sibvad_json_key_at(j, 1), "b") == 0, "json: keys in input order");
        sibvad_json_free(j);
    }

    /* Not NUL-terminated: the parser must stop at n. */
    j = sibvad_json_parse("123456", 3, &err);
    int64_t iv = 0;
    CHECK(j && sibvad_json_int64(j, &iv) == 0 && iv == 123, "json: explicit length respected (123 of 123456)");
    sibvad_json_free(j);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "unexpected end"},
        {"   ", "unexpected end"},
        {"{", "end of input"},
        {"{\"a\":1,}", "expected a string key"},
        {"[1,2,]", "unexpected character ']'"},
        {"[1 2]", "expected ',' or ']'"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
        {"{\"a\":1,\"a\":2}", "duplicate object key \"a\""},
        {"01", "leading zero"},
        {"1.", "no digit after '.'"},
        {"1e", "no digit in the exponent"},
        {"-", "invalid number"},
        {"+1", "unexpected character '+'"},
        {"NaN", "unexpected character 'N'"},
        {"1e999", "out of the range"},
        {"tru", "invalid literal"},
        {"nul", "invalid literal"},
        {"\"abc", "unterminated string"},
        {"\"a\\x\"", "invalid escape '\\x'"},
        {"\"\\u12G4\"", "invalid hex digit"},
        {"\"\\ud800\"", "not followed by a low surrogate"},
        {"\"\\ud800\\u0041\"", "not a low surrogate"},
        {"\"\\udc00\"", "unpaired low surrogate"},
        {"\"a\nb\"", "control character"},
        {"\"\xff\"", "invalid UTF-8"},
        {"\"\xc0\xaf\"", "invalid UTF-8"},
        {"\"\xed\xa0\x80\"", "invalid UTF-8"},
        {"\"\xf4\x90\x80\x80\"", "invalid UTF-8"},
        {"[1] x", "unexpected content after"},
        {"// c\n1", "unexpected character '/'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        j = sibvad_json_parse(bad[i].text, strlen(bad[i].text), &err);
        CHECK(!j && strstr(err.msg, bad[i].msg) && strstr(err.msg, "at byte"),
              "json: rejects %s (%s)", bad[i].msg, err.msg);
        sibvad_json_free(j);
    }
    j = sibvad_json_parse("[1, x]", 6, &err);
    CHECK(!j && strstr(err.msg, "at byte 4"), "json: error offset is the byte of the problem (%s)", err.msg);

    /* Depth: 64 nested arrays are fine, 65 are not. */
    char deep[200];
    for (int d = 64; d <= 65; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        j = sibvad_json_parse(deep, (size_t)(2 * d), &err);
        if (d == 64)
            CHECK(j != NULL, "json: 64 nested arrays accepted");
        else
            CHECK(!j && strstr(err.msg, "nesting deeper than 64"), "json: 65 nested arrays rejected (%s)", err.msg);
        sibvad_json_free(j);
    }
    /* A very deep input must not overflow the stack. */
    size_t nd = 1000000;
    char *huge = malloc(nd);
    memset(huge, '[', nd);
    j = sibvad_json_parse(huge, nd, &err);
    CHECK(!j && strstr(err.msg, "nesting"), "json: a million '[' rejected without recursion trouble");
    free(huge);

    /* Writing. */
    char *e = sibvad_json_escape("a\"b\\c\n\x01\xc3\xa9\xff");
    CHECK(e && strcmp(e, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\uFFFD\"") == 0, "json: escape (%s)", e ? e : "NULL");
    if (e) {
        j = sibvad_json_parse(e, strlen(e), &err);
        CHECK(j && sibvad_json_typeof(j) == SIBVAD_JSON_STRING, "json: escaped string parses back");
        sibvad_json_free(j);
    }
    free(e);
    sibvad_strbuf b = {0};
    sibvad_json_append_double(&b, 0.1f, 9);
    sibvad_strbuf_puts(&b, " ");
    sibvad_json_append_double(&b, NAN, 9);
    sibvad_strbuf_puts(&b, " ");
    sibvad_json_append_double(&b, -1e-8, 9);
    CHECK(b.data && strcmp(b.data, "0.100000001 null -1e-08") == 0, "json: doubles written (%s)", b.data);
    free(b.data);

    /* Numbers do not depend on the locale (skipped where no comma locale exists). */
    const char *locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", NULL};
    const char *used = NULL;
    for (int i = 0; locs[i] && !used; i++)
        if (setlocale(LC_NUMERIC, locs[i]))
            used = locs[i];
    if (used) {
        sibvad_strbuf lb = {0};
        double d = 0;
        sibvad_json_append_double(&lb, 2.5, 9);
        j = sibvad_json_parse("1.25e0", 6, &err);
        CHECK(lb.data && strcmp(lb.data, "2.5") == 0 && j && sibvad_json_number(j, &d) == 0 && d == 1.25,
              "json: numbers read and written with '.' under %s", used);
        sibvad_json_free(j);
        free(lb.data);
        setlocale(LC_NUMERIC, "C");
    } else {
        printf("skip - no locale with a decimal comma installed\n");
    }
}

/* ---- config JSON ---- */

static void test_config_json(void)
{
    sibvad_error err = {{0}};
    const char *presets[] = {"tiny", "lite", "paper"};
    for (int i = 0; i < 3; i++) {
        sibvad_config c, d;
        memset(&d, 0x55, sizeof d);
        sibvad_config_preset(&c, presets[i], &err);
        c.lr = 1.2345678e-4f;   /* a value that needs 9 digits */
        char *js = sibvad_config_to_json(&c);
        int rc = js ? sibvad_config_from_json(&d, js, strlen(js), &err) : -1;
        CHECK(rc == 0 && memcmp(&c, &d, sizeof c) == 0, "config json: %s round trip exact (%s)", presets[i],
              rc ? err.msg : "");
        free(js);
    }
    sibvad_config c, base;
    sibvad_config_preset(&base, "lite", &err);
    const char *partial = "{\"preset\": \"lite\", \"img_h\": 320}";
    int rc = sibvad_config_from_json(&c, partial, strlen(partial), &err);
    base.img_h = 320;
    CHECK(rc == 0 && memcmp(&c, &base, sizeof c) == 0, "config json: partial config starts from its preset");

    /* Without a known preset every key is needed. */
    const char *custom = "{\"preset\": \"mine\", \"d_model\": 64}";
    rc = sibvad_config_from_json(&c, custom, strlen(custom), &err);
    CHECK(rc < 0 && strstr(err.msg, "\"img_h\" is missing") && strstr(err.msg, "known \"preset\""),
          "config json: unknown preset and missing keys rejected (%s)", err.msg);
    sibvad_config_preset(&base, "lite", &err);
    base.d_model = 64;
    snprintf(base.preset, sizeof base.preset, "mine");
    char *full = sibvad_config_to_json(&base);
    rc = sibvad_config_from_json(&c, full, strlen(full), &err);
    CHECK(rc == 0 && memcmp(&c, &base, sizeof c) == 0, "config json: a complete config with its own preset name");
    /* No "preset" key at all: also complete; the name is empty. */
    char *nop = full ? strstr(full, "\"img_h\"") : NULL;
    if (nop) {
        nop[-1] = '{';
        rc = sibvad_config_from_json(&c, nop - 1, strlen(nop - 1), &err);
        CHECK(rc == 0 && c.preset[0] == 0 && c.d_model == 64, "config json: a complete config without \"preset\" (%s)",
              rc ? err.msg : "");
    }
    free(full);

    /* A model file written before "pseudo_skip" (the last keys) existed holds
     * every other key: it was trained without pseudo-anomalies, whatever lite's
     * default is now. */
    sibvad_config_preset(&base, "lite", &err);
    char *old = sibvad_config_to_json(&base);
    char *key = old ? strstr(old, ", \"pseudo_skip\"") : NULL;
    if (key)
        strcpy(key, "}");
    rc = key ? sibvad_config_from_json(&c, old, strlen(old), &err) : -1;
    base.pseudo_skip = 0.0f;
    CHECK(key && rc == 0 && memcmp(&c, &base, sizeof c) == 0,
          "config json: a complete lite config without the pseudo_skip keys (an older model file) reads "
          "pseudo_skip as 0 (%s)", rc ? err.msg : "");
    /* One written before "pred_residual" too: it keeps the spec's pixel head
     * even though lite now defaults to 1. */
    key = old ? strstr(old, ", \"pred_residual\": 1") : NULL;
    if (key)
        memmove(key, key + strlen(", \"pred_residual\": 1"), strlen(key + strlen(", \"pred_residual\": 1")) + 1);
    rc = key ? sibvad_config_from_json(&c, old, strlen(old), &err) : -1;
    base.pred_residual = 0;
    CHECK(key && rc == 0 && memcmp(&c, &base, sizeof c) == 0,
          "config json: a complete lite config without pred_residual (an older model file) reads as 0 (%s)",
          rc ? err.msg : "");
    free(old);
    sibvad_config_preset(&base, "lite", &err);
    CHECK(base.pred_residual == 1, "config json: lite predicts the change from the last frame");
    CHECK(base.pseudo_skip == 0.25f && base.pseudo_skip_min == 2 && base.pseudo_skip_max == 4,
          "config json: lite trains on skip-frame pseudo-anomalies (a quarter of the clips, strides 2 to 4)");
    sibvad_config_preset(&base, "paper", &err);
    CHECK(base.pseudo_skip == 0.0f, "config json: paper trains as the spec, without pseudo-anomalies");

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"img_hh\": 3}", "unknown key \"img_hh\""},
        {"{\"preset\": \"tiny\", \"pred_residual\": 2}", "pred_residual must be 0 or 1"},
        {"{\"preset\": \"tiny\", \"pseudo_skip\": 1.5}", "pseudo_skip 1.5 must be in 0..1"},
        {"{\"preset\": \"tiny\", \"pseudo_skip_min\": 1}", "2 <= min <= max <= 64"},
        {"{\"preset\": \"tiny\", \"pseudo_skip_min\": 5}", "pseudo_skip_min 5 and pseudo_skip_max 4"},
        {"{\"img_h\": \"24\"}", "\"img_h\" must be an integer, not string"},
        {"{\"img_h\": 24.5}", "\"img_h\" must be an integer, not 24.5"},
        {"{\"img_h\": 1e10}", "\"img_h\" must be an integer"},
        {"{\"img_h\": 99999999999}", "out of range"},
        {"{\"lr\": true}", "\"lr\" must be a number, not boolean"},
        {"{\"lr\": 1e300}", "out of the range of a float"},
        {"{\"preset\": 3}", "\"preset\" must be a string"},
        {"{\"preset\": \"0123456789012345678901234567890123\"}", "at most 31 bytes"},
        {"[1]", "expected an object"},
        {"{\"preset\": \"tiny\", \"img_h\": 25}", "not a multiple of the patch"},
        {"{\"img_h\": 24,}", "JSON:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sibvad_config_preset(&c, "tiny", &err);
        sibvad_config keep = c;
        err.msg[0] = 0;
        rc = sibvad_config_from_json(&c, bad[i].text, strlen(bad[i].text), &err);
        CHECK(rc < 0 && strstr(err.msg, bad[i].msg) && memcmp(&c, &keep, sizeof c) == 0,
              "config json: %s rejected, config untouched (%s)", bad[i].text, err.msg);
    }
}

/* ---- safetensors ---- */

static void test_roundtrip(void)
{
    sibvad_error err = {{0}};
    float a[6] = {1.0f, -2.5f, 3.14159274f, 0.0f, -0.0f, 1e-40f};
    float s[1] = {42.0f};
    float d[5] = {INFINITY, -INFINITY, 1e38f, -1e-38f, 7.0f};
    sibvad_st_write_tensor w[4] = {
        {"layer.a", 2, {2, 3}, a, SIBVAD_DT_F32},
        {"scalar", 0, {0}, s, SIBVAD_DT_F32},
        {"empty", 2, {0, 4}, NULL, SIBVAD_DT_F32},
        {"z.d", 1, {5}, d, SIBVAD_DT_F32},
    };
    const char *keys[] = {"format", "note"};
    const char *vals[] = {"sibvad-1", "quote \" backslash \\ newline \n unicode \xc3\xa9"};
    const char *path = tpath("rt.safetensors");
    int rc = sibvad_st_write(path, w, 4, keys, vals, 2, &err);
    CHECK(rc == 0, "write: 4 tensors, 2 metadata (%s)", rc ? err.msg : "");

    size_t n = 0;
    unsigned char *raw = read_bytes(path, &n);
    uint64_t hl = 0;
    for (int i = 7; raw && i >= 0; i--)
        hl = (hl << 8) | raw[i];
    CHECK(raw && (8 + hl) % 8 == 0 && n == 8 + hl + (6 + 1 + 5) * 4, "write: data block 8-byte aligned, size exact");
    free(raw);

    sibvad_st_file *f = NULL;
    rc = sibvad_st_open(&f, path, &err);
    CHECK(rc == 0 && f, "open the written file (%s)", rc ? err.msg : "");
    if (!f)
        return;
    CHECK(sibvad_st_count(f) == 4, "count 4");
    for (int i = 0; i < 4; i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        int same = t && strcmp(t->name, w[i].name) == 0 && t->dtype == SIBVAD_DT_F32 && t->ndim == w[i].ndim;
        for (int k = 0; same && k < t->ndim; k++)
            same = t->shape[k] == w[i].shape[k];
        CHECK(same, "tensor %d: name '%s', dtype, shape in order", i, w[i].name);
        CHECK(sibvad_st_find(f, w[i].name) == t, "find '%s'", w[i].name);
        float out[8];
        memset(out, 0xAB, sizeof out);
        rc = sibvad_st_to_f32(t, out, t->numel, &err);
        CHECK(rc == 0 && (t->numel == 0 || memcmp(out, w[i].data, t->numel * 4) == 0),
              "tensor '%s': %zu values bit-exact", w[i].name, t->numel);
    }
    CHECK(sibvad_st_find(f, "nope") == NULL && sibvad_st_get(f, 4) == NULL && sibvad_st_get(f, -1) == NULL,
          "missing name and bad index give NULL");
    CHECK(sibvad_st_metadata(f, "format") && strcmp(sibvad_st_metadata(f, "format"), "sibvad-1") == 0 &&
          sibvad_st_metadata(f, "note") && strcmp(sibvad_st_metadata(f, "note"), vals[1]) == 0 &&
          sibvad_st_metadata(f, "other") == NULL, "metadata values round trip, escapes included");
    CHECK(sibvad_st_metadata_count(f) == 2 && strcmp(sibvad_st_metadata_key(f, 1), "note") == 0, "metadata keys listed");
    float out[8];
    rc = sibvad_st_to_f32(sibvad_st_find(f, "layer.a"), out, 5, &err);
    CHECK(rc < 0 && strstr(err.msg, "layer.a") && strstr(err.msg, "6 elements"), "to_f32 with the wrong n (%s)", err.msg);
    sibvad_st_close(f);

    /* Writer argument checks. */
    sibvad_st_write_tensor dup[2] = {{"x", 1, {1}, s, SIBVAD_DT_F32}, {"x", 1, {1}, s, SIBVAD_DT_F32}};
    rc = sibvad_st_write(tpath("dup.safetensors"), dup, 2, NULL, NULL, 0, &err);
    CHECK(rc < 0 && strstr(err.msg, "'x' given twice"), "write: duplicate names rejected (%s)", err.msg);
    sibvad_st_write_tensor neg[1] = {{"x", 2, {2, -1}, s, SIBVAD_DT_F32}};
    rc = sibvad_st_write(tpath("neg.safetensors"), neg, 1, NULL, NULL, 0, &err);
    CHECK(rc < 0 && strstr(err.msg, "negative"), "write: negative size rejected (%s)", err.msg);
    sibvad_st_write_tensor nul[1] = {{"x", 1, {3}, NULL, SIBVAD_DT_F32}};
    rc = sibvad_st_write(tpath("nul.safetensors"), nul, 1, NULL, NULL, 0, &err);
    CHECK(rc < 0 && strstr(err.msg, "NULL data"), "write: NULL data rejected (%s)", err.msg);
    struct stat st;
    CHECK(stat(tpath("dup.safetensors"), &st) < 0 && stat(tpath("neg.safetensors"), &st) < 0,
          "write: rejected writes create no file");

    /* No metadata at all. */
    rc = sibvad_st_write(tpath("nometa.safetensors"), w, 1, NULL, NULL, 0, &err);
    rc = rc == 0 ? sibvad_st_open(&f, tpath("nometa.safetensors"), &err) : rc;
    CHECK(rc == 0 && sibvad_st_metadata_count(f) == 0 && sibvad_st_count(f) == 1, "file without __metadata__");
    sibvad_st_close(f);
}

static void test_half_types(void)
{
    sibvad_error err = {{0}};
    /* F16 */
    static const struct {
        uint16_t h;
        uint32_t f;     /* expected float bits */
    } f16[] = {
        {0x3C00, 0x3F800000}, /* 1 */
        {0xC000, 0xC0000000}, /* -2 */
        {0x3555, 0x3EAAA000}, /* 0.333251953125 */
        {0x0001, 0x33800000}, /* smallest subnormal 2^-24 */
        {0x8001, 0xB3800000}, /* -2^-24 */
        {0x03FF, 0x387FC000}, /* largest subnormal 1023 * 2^-24 */
        {0x0200, 0x38000000}, /* subnormal 2^-15 */
        {0x0400, 0x38800000}, /* smallest normal 2^-14 */
        {0x7BFF, 0x477FE000}, /* 65504 */
        {0x7C00, 0x7F800000}, /* inf */
        {0xFC00, 0xFF800000}, /* -inf */
        {0x8000, 0x80000000}, /* -0 */
        {0x0000, 0x00000000}, /* 0 */
    };
    size_t nf = sizeof f16 / sizeof f16[0];
    unsigned char data[64];
    for (size_t i = 0; i < nf; i++) {
        data[2 * i] = (unsigned char)(f16[i].h & 0xFF);
        data[2 * i + 1] = (unsigned char)(f16[i].h >> 8);
    }
    data[2 * nf] = 0x00;        /* NaN 0x7E00 */
    data[2 * nf + 1] = 0x7E;
    /* Put the tensor at an odd offset after a 1-byte U8 tensor: reads must
     * not assume alignment. */
    char hdr[256];
    unsigned char buf[80];
    buf[0] = 7;
    memcpy(buf + 1, data, 2 * (nf + 1));
    snprintf(hdr, sizeof hdr, "{\"pad\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
             "\"h\":{\"dtype\":\"F16\",\"shape\":[%zu],\"data_offsets\":[1,%zu]}}", nf + 1, 1 + 2 * (nf + 1));
    make_file(tpath("f16.safetensors"), hdr, buf, 1 + 2 * (nf + 1));
    sibvad_st_file *f = NULL;
    int rc = sibvad_st_open(&f, tpath("f16.safetensors"), &err);
    CHECK(rc == 0, "F16 file opens (%s)", rc ? err.msg : "");
    if (f) {
        float out[32];
        const sibvad_st_tensor *t = sibvad_st_find(f, "h");
        rc = sibvad_st_to_f32(t, out, nf + 1, &err);
        CHECK(rc == 0 && t->dtype == SIBVAD_DT_F16, "F16 converts");
        for (size_t i = 0; rc == 0 && i < nf; i++)
            CHECK(bits_equal(out[i], from_bits(f16[i].f)), "F16 0x%04X -> %.9g (expected %.9g)", f16[i].h,
                  out[i], from_bits(f16[i].f));
        CHECK(rc == 0 && isnan(out[nf]), "F16 0x7E00 -> NaN");
        CHECK(out[3] == ldexpf(1.0f, -24), "F16 subnormal 0x0001 is 2^-24");
        float u[1];
        rc = sibvad_st_to_f32(sibvad_st_find(f, "pad"), u, 1, &err);
        CHECK(rc < 0 && strstr(err.msg, "U8") && strstr(err.msg, "'pad'"), "U8 does not convert (%s)", err.msg);
        sibvad_st_close(f);
    }

    /* BF16 */
    static const struct {
        uint16_t h;
        uint32_t f;
    } bf[] = {
        {0x3F80, 0x3F800000}, {0xC0A0, 0xC0A00000}, {0x3EAB, 0x3EAB0000}, {0x7F80, 0x7F800000},
        {0xFF80, 0xFF800000}, {0x0001, 0x00010000}, {0x8000, 0x80000000}, {0x7F7F, 0x7F7F0000},
    };
    size_t nb = sizeof bf / sizeof bf[0];
    for (size_t i = 0; i < nb; i++) {
        data[2 * i] = (unsigned char)(bf[i].h & 0xFF);
        data[2 * i + 1] = (unsigned char)(bf[i].h >> 8);
    }
    snprintf(hdr, sizeof hdr, "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,%zu],\"data_offsets\":[0,%zu]}}", nb / 2,
             2 * nb);
    make_file(tpath("bf16.safetensors"), hdr, data, 2 * nb);
    rc = sibvad_st_open(&f, tpath("bf16.safetensors"), &err);
    CHECK(rc == 0, "BF16 file opens (%s)", rc ? err.msg : "");
    if (f) {
        float out[32];
        rc = sibvad_st_to_f32(sibvad_st_get(f, 0), out, nb, &err);
        int ok = rc == 0;
        for (size_t i = 0; ok && i < nb; i++)
            ok = bits_equal(out[i], from_bits(bf[i].f));
        CHECK(ok, "BF16 values exact (1, -5, 0.333984375, +-inf, subnormal, -0, max)");
        sibvad_st_close(f);
    }

    /* F64, with values out of the float range */
    double dv[4] = {0.1, -3.5, 1e300, -1e300};
    unsigned char d8[32];
    for (int i = 0; i < 4; i++) {
        uint64_t u;
        memcpy(&u, &dv[i], 8);
        for (int k = 0; k < 8; k++)
            d8[8 * i + k] = (unsigned char)(u >> (8 * k));
    }
    make_file(tpath("f64.safetensors"), "{\"d\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}}", d8, 32);
    rc = sibvad_st_open(&f, tpath("f64.safetensors"), &err);
    if (rc == 0) {
        float out[4];
        rc = sibvad_st_to_f32(sibvad_st_get(f, 0), out, 4, &err);
        CHECK(rc == 0 && out[0] == 0.1f && out[1] == -3.5f && out[2] == INFINITY && out[3] == -INFINITY,
              "F64 converts (beyond the float range: infinities)");
        sibvad_st_close(f);
    } else {
        CHECK(0, "F64 file opens (%s)", err.msg);
    }

    /* I64 opens but does not convert. */
    make_file(tpath("i64.safetensors"), "{\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", d8, 16);
    rc = sibvad_st_open(&f, tpath("i64.safetensors"), &err);
    CHECK(rc == 0 && sibvad_st_get(f, 0)->dtype == SIBVAD_DT_I64 && sibvad_st_get(f, 0)->nbytes == 16,
          "I64 tensor opens");
    if (f) {
        float out[2];
        rc = sibvad_st_to_f32(sibvad_st_get(f, 0), out, 2, &err);
        CHECK(rc < 0 && strstr(err.msg, "not a floating type"), "I64 to float refused (%s)", err.msg);
        sibvad_st_close(f);
    }
}

static void test_corrupt(void)
{
    unsigned char zeros[64] = {0};
    const char *p;

    p = tpath("empty.st");
    write_bytes(p, "", 0);
    expect_fail(p, "empty file", "empty file");

    p = tpath("short.st");
    write_bytes(p, "\x10\x00\x00\x00\x00", 5);
    expect_fail(p, "shorter than the 8-byte header length", "5-byte file");

    p = tpath("hlen.st");
    unsigned char hb[40] = {0xE8, 0x03};   /* 1000 */
    memcpy(hb + 8, "{}", 2);
    write_bytes(p, hb, sizeof hb);
    expect_fail(p, "header length 1000 runs past the end", "header length beyond the file");

    p = tpath("huge.st");
    unsigned char hh[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};   /* 2^63 */
    write_bytes(p, hh, sizeof hh);
    expect_fail(p, "larger than the limit", "header length 2^63");

    p = tpath("limit.st");
    unsigned char hl[16] = {0x01, 0xE1, 0xF5, 0x05};    /* 100000001 */
    write_bytes(p, hl, sizeof hl);
    expect_fail(p, "100000001 is larger than the limit", "header length just above 100 MB");

    static const struct {
        const char *name, *header, *msg;
        size_t dlen;
    } cases[] = {
        {"not JSON", "hello, world", "not valid JSON", 0},
        {"truncated JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],", "not valid JSON: JSON: unexpected end", 0},
        {"header is an array", "[1,2]", "not an object", 0},
        {"header is empty", "", "not valid JSON", 0},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "tensor 'a': unknown dtype \"F8\"", 8},
        {"dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a': dtype is number", 8},
        {"negative shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}", "tensor 'w': shape[1] = -3 is negative", 8},
        {"fractional shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "shape[0] is not an integer", 8},
        {"shape not an array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", "shape is number, not an array", 8},
        {"nine dimensions", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", "9 dimensions", 8},
        {"offsets beyond the file", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "tensor 'w': data_offsets [0, 16] run past the end", 8},
        {"size mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "hold 8 bytes but dtype F32 with shape [3] needs 12", 16},
        {"begin after end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", "begin after end", 16},
        {"offsets not two", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "data_offsets must be [begin, end]", 16},
        {"negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", "data_offsets must be [begin, end]", 16},
        {"overlapping tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", "tensors 'a' [0, 8] and 'b' [4, 12] overlap", 16},
        {"overlap, reverse order", "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", "overlap", 16},
        {"metadata value not a string", "{\"__metadata__\":{\"k\":1}}", "__metadata__ value of \"k\" is number, not a string", 0},
        {"metadata not an object", "{\"__metadata__\":[\"k\"]}", "__metadata__ is array", 0},
        {"tensor entry not an object", "{\"w\":[1]}", "tensor 'w': entry is array", 0},
        {"missing field", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "tensor 'w': missing field \"data_offsets\"", 8},
        {"unknown field", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", "unknown field \"x\"", 8},
        {"duplicate tensor", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "duplicate object key \"w\"", 8},
        {"NUL in a name", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "NUL", 8},
        {"element count overflow", "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", "too many elements", 8},
        {"numel*size overflow", "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952,4],\"data_offsets\":[0,8]}}", "too many elements", 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "corrupt%zu.st", i);
        p = tpath(name);
        make_file(p, cases[i].header, zeros, cases[i].dlen);
        expect_fail(p, cases[i].msg, cases[i].name);
    }

    /* Accepted oddities: an empty header object, gaps, zero-size tensors
     * sharing an offset, an empty shape (a scalar). */
    make_file(tpath("ok1.st"), "{}", NULL, 0);
    make_file(tpath("ok2.st"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]},"
              "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},"
              "\"f\":{\"dtype\":\"BOOL\",\"shape\":[0],\"data_offsets\":[4,4]}}   ", zeros, 12);
    for (int k = 1; k <= 2; k++) {
        sibvad_st_file *f = NULL;
        sibvad_error err = {{0}};
        char name[16];
        snprintf(name, sizeof name, "ok%d.st", k);
        int rc = sibvad_st_open(&f, tpath(name), &err);
        CHECK(rc == 0 && sibvad_st_count(f) == (k == 1 ? 0 : 3), "valid unusual file %d opens (%s)", k,
              rc ? err.msg : "");
        sibvad_st_close(f);
    }

    /* Not a file at all. */
    expect_fail(tmpdir, "not a regular file", "a folder");
    expect_fail(tpath("does-not-exist.st"), "cannot open", "a missing file");
}

/* Open, then read every float tensor (so that bad offsets would show up
 * under a sanitizer); returns 1 when the outcome is sound. */
static int open_sound(const char *path, int *opened)
{
    sibvad_st_file *f = NULL;
    sibvad_error err;
    err.msg[0] = 0;
    *opened = 0;
    if (sibvad_st_open(&f, path, &err) < 0)
        return f == NULL && err.msg[0] != 0;
    *opened = 1;
    for (int i = 0; i < sibvad_st_count(f); i++) {
        const sibvad_st_tensor *t = sibvad_st_get(f, i);
        float *buf = malloc(t->numel * sizeof(float) + 1);
        (void)sibvad_st_to_f32(t, buf, t->numel, &err);
        free(buf);
    }
    sibvad_st_close(f);
    return 1;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_fuzz(void)
{
    sibvad_error err = {{0}};
    float a[12], b[3];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i * 0.5f;
    for (int i = 0; i < 3; i++)
        b[i] = (float)-i;
    sibvad_st_write_tensor w[3] = {{"enc.w", 2, {3, 4}, a, SIBVAD_DT_F32}, {"enc.b", 1, {3}, b, SIBVAD_DT_F32}, {"s", 0, {0}, b, SIBVAD_DT_F32}};
    const char *k[] = {"sibvad_config"}, *v[] = {"{\"a\": 1}"};
    const char *src = tpath("fuzz-src.st");
    if (sibvad_st_write(src, w, 3, k, v, 1, &err) < 0) {
        CHECK(0, "fuzz: write the source file (%s)", err.msg);
        return;
    }
    size_t n;
    unsigned char *full = read_bytes(src, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | full[i];

    const char *p = tpath("fuzz.st");
    int sound = 1, opened = 0, any;
    for (size_t len = 0; len <= n; len++) {
        write_bytes(p, full, len);
        if (!open_sound(p, &any))
            sound = 0;
        opened += any;
        if (len < n && any)
            sound = 0;      /* every strict prefix is missing bytes */
    }
    CHECK(sound && opened == 1, "fuzz: %zu truncations, every one but the full file refused with a message", n);

    unsigned char *mut = malloc(n);
    int cases = 400, ok = 0;
    opened = 0;
    for (int c = 0; c < cases; c++) {
        memcpy(mut, full, n);
        int flips = 1 + (int)(rnd() % 3);
        for (int i = 0; i < flips; i++) {
            size_t at = (size_t)(rnd() % (8 + hl));
            uint64_t r = rnd();
            if (r % 4 == 0)
                mut[at] ^= (unsigned char)(1u << (r >> 8) % 8);   /* one bit */
            else if (r % 4 == 1)
                mut[at] = "{}[],:\"0123456789-eE. \\u"[(r >> 8) % 25]; /* JSON punctuation */
            else
                mut[at] = (unsigned char)(r >> 8);
        }
        write_bytes(p, mut, n);
        if (open_sound(p, &any))
            ok++;
        opened += any;
    }
    CHECK(ok == cases, "fuzz: %d random header corruptions (seeded): no crash, each opens or gives a message "
          "(%d opened)", cases, opened);
    free(mut);
    free(full);
}

static int count_tmp_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

static void test_atomic(void)
{
    sibvad_error err = {{0}};
    float big[4096], small[2] = {5.0f, 6.0f};
    for (int i = 0; i < 4096; i++)
        big[i] = (float)i;
    sibvad_st_write_tensor wb[1] = {{"big", 1, {4096}, big, SIBVAD_DT_F32}};
    sibvad_st_write_tensor ws[1] = {{"small", 1, {2}, small, SIBVAD_DT_F32}};
    struct stat st;

    /* A folder that does not exist. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/dir/that/does/not/exist/m.safetensors", tmpdir);
    int rc = sibvad_st_write(missing, ws, 1, NULL, NULL, 0, &err);
    CHECK(rc < 0 && strstr(err.msg, missing) && strstr(err.msg, "No such file"),
          "write into a missing folder fails with a message (%s)", err.msg);
    CHECK(stat(tpath("dir"), &st) < 0, "... and creates nothing");

    /* Overwrite replaces the content wholly (a big file by a small one). */
    const char *p = tpath("over.safetensors");
    rc = sibvad_st_write(p, wb, 1, NULL, NULL, 0, &err);
    rc |= sibvad_st_write(p, ws, 1, NULL, NULL, 0, &err);
    sibvad_st_file *f = NULL;
    rc |= sibvad_st_open(&f, p, &err);
    size_t n = 0;
    unsigned char *raw = read_bytes(p, &n);
    CHECK(rc == 0 && sibvad_st_count(f) == 1 && sibvad_st_find(f, "small") && sibvad_st_find(f, "big") == NULL &&
          n < 100, "overwrite replaces the whole file (%zu bytes)", n);
    free(raw);
    sibvad_st_close(f);
    CHECK(count_tmp_files(tmpdir, "over.safetensors") == 0, "no temporary file left after success");

    /* A failure after the temporary file was written (the rename fails: the
     * target is a non-empty folder) leaves the target and no temporary file. */
    const char *dirpath = tpath("isdir.safetensors");
    mkdir(dirpath, 0755);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", dirpath);
    write_bytes(inner, "x", 1);
    rc = sibvad_st_write(dirpath, ws, 1, NULL, NULL, 0, &err);
    CHECK(rc < 0 && strstr(err.msg, "rename"), "rename over a folder fails (%s)", err.msg);
    CHECK(stat(inner, &st) == 0 && count_tmp_files(tmpdir, "isdir.safetensors") == 0,
          "... the folder is intact and the temporary file removed");

    /* A failure in the middle of writing (file size limit) leaves the old
     * file untouched and no temporary file. */
    unsigned char *before = read_bytes(p, &n);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        rc = sibvad_st_write(p, wb, 1, NULL, NULL, 0, &err);
        setrlimit(RLIMIT_FSIZE, &old);
        size_t n2 = 0;
        unsigned char *after = read_bytes(p, &n2);
        CHECK(rc < 0 && strstr(err.msg, "big"), "a write failing half way reports it (%s)", err.msg);
        CHECK(after && n2 == n && memcmp(before, after, n) == 0, "... the old file is untouched");
        CHECK(count_tmp_files(tmpdir, "over.safetensors") == 0, "... the temporary file is removed");
        free(after);
    } else {
        printf("skip - cannot set RLIMIT_FSIZE\n");
    }
    free(before);

    /* A rejected write (bad arguments) leaves an existing file untouched. */
    before = read_bytes(p, &n);
    sibvad_st_write_tensor bad[1] = {{"__metadata__", 1, {2}, small, SIBVAD_DT_F32}};
    rc = sibvad_st_write(p, bad, 1, NULL, NULL, 0, &err);
    size_t n3 = 0;
    unsigned char *after = read_bytes(p, &n3);
    CHECK(rc < 0 && after && n3 == n && memcmp(before, after, n) == 0,
          "a rejected write leaves the old file untouched (%s)", err.msg);
    free(before);
    free(after);
}

static void remove_tree(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-st-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_json();
    test_config_json();
    test_roundtrip();
    test_half_types();
    test_corrupt();
    test_fuzz();
    test_atomic();
    remove_tree(tmpdir);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
