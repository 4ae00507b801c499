/* fuzz_json.c: feeds arbitrary bytes to the strict JSON reader of
 * sibvad-core/json.c (sibvad_json_parse with an explicit length, so the input
 * need not be NUL-terminated). A parsed document is walked through every
 * accessor, written back as JSON with the writing helpers (escaped strings,
 * %.17g numbers) and parsed again: the copy must parse and have the same
 * structure, keys, strings (NULs included) and numbers. */
#include "fuzz-util.h"
#include "json.h"

#include <math.h>

static void write_value(sibvad_strbuf *b, const sibvad_json *v)
{
    size_t n, len;
    int bv;
    double d;
    const char *s;
    switch (sibvad_json_typeof(v)) {
    case SIBVAD_JSON_NULL:
        sibvad_strbuf_puts(b, "null");
        break;
    case SIBVAD_JSON_BOOL:
        if (sibvad_json_bool(v, &bv) < 0)
            fuzz_die("a boolean without its value", NULL);
        sibvad_strbuf_puts(b, bv ? "true" : "false");
        break;
    case SIBVAD_JSON_NUMBER:
        if (sibvad_json_number(v, &d) < 0 || !isfinite(d))
            fuzz_die("a number that is not finite", NULL);
        sibvad_json_append_double(b, d, 17);
        break;
    case SIBVAD_JSON_STRING:
        s = sibvad_json_string(v, &len);
        if (!s || s[len] != '\0')
            fuzz_die("a string that is not NUL-terminated", NULL);
        sibvad_json_append_string(b, s, len);
        break;
    case SIBVAD_JSON_ARRAY:
        n = sibvad_json_size(v);
        sibvad_strbuf_puts(b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                sibvad_strbuf_puts(b, ",");
            write_value(b, sibvad_json_at(v, i));
        }
        sibvad_strbuf_puts(b, "]");
        break;
    case SIBVAD_JSON_OBJECT:
        n = sibvad_json_size(v);
        sibvad_strbuf_puts(b, "{");
        for (size_t i = 0; i < n; i++) {
            const char *k = sibvad_json_key_at(v, i);
            size_t kl = sibvad_json_key_len(v, i);
            if (!k || k[kl] != '\0')
                fuzz_die("a key that is not NUL-terminated", NULL);
            if (i)
                sibvad_strbuf_puts(b, ",");
            sibvad_json_append_string(b, k, kl);
            sibvad_strbuf_puts(b, ":");
            write_value(b, sibvad_json_at(v, i));
            /* lookup by key finds the member (keys with NULs: the first part) */
            if (strlen(k) == kl && sibvad_json_get(v, k) != sibvad_json_at(v, i))
                fuzz_die("sibvad_json_get does not find a member by its key", k);
        }
        sibvad_strbuf_puts(b, "}");
        break;
    default:
        fuzz_die("unknown type", NULL);
    }
    (void)sibvad_json_offset(v);
    (void)sibvad_json_type_name(sibvad_json_typeof(v));
}

static void same(const sibvad_json *a, const sibvad_json *b)
{
    if (sibvad_json_typeof(a) != sibvad_json_typeof(b))
        fuzz_die("round trip: types differ", NULL);
    size_t la, lb;
    double da, db;
    int64_t ia, ib;
    switch (sibvad_json_typeof(a)) {
    case SIBVAD_JSON_STRING: {
        const char *sa = sibvad_json_string(a, &la), *sb = sibvad_json_string(b, &lb);
        if (la != lb || memcmp(sa, sb, la))
            fuzz_die("round trip: strings differ", NULL);
        break;
    }
    case SIBVAD_JSON_NUMBER:
        sibvad_json_number(a, &da);
        sibvad_json_number(b, &db);
        if (da != db)
            fuzz_die("round trip: numbers differ", NULL);
        if (sibvad_json_int64(a, &ia) == 0 && (sibvad_json_int64(b, &ib) < 0 || ia != ib) &&
            (double)ia == da && fabs(da) < 9007199254740992.0)
            fuzz_die("round trip: an integer differs", NULL);
        break;
    case SIBVAD_JSON_ARRAY:
    case SIBVAD_JSON_OBJECT:
        if (sibvad_json_size(a) != sibvad_json_size(b))
            fuzz_die("round trip: sizes differ", NULL);
        for (size_t i = 0; i < sibvad_json_size(a); i++) {
            if (sibvad_json_typeof(a) == SIBVAD_JSON_OBJECT) {
                la = sibvad_json_key_len(a, i);
                if (la != sibvad_json_key_len(b, i) ||
                    memcmp(sibvad_json_key_at(a, i), sibvad_json_key_at(b, i), la))
                    fuzz_die("round trip: keys differ", NULL);
            }
            same(sibvad_json_at(a, i), sibvad_json_at(b, i));
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sibvad_error e;
    e.msg[0] = '\0';
    sibvad_json *root = sibvad_json_parse((const char *)data, size, &e);
    if (!root) {
        if (!strstr(e.msg, "at byte"))
            fuzz_die("a parse error without its position", e.msg);
        fuzz_note("rejected", e.msg);
        return 0;
    }
    /* out-of-range accessors answer NULL / -1 */
    if (sibvad_json_at(root, sibvad_json_size(root)) || sibvad_json_get(root, "\x01 no such key"))
        fuzz_die("an accessor out of range returned a value", NULL);
    sibvad_strbuf b = {0};
    write_value(&b, root);
    if (b.failed)
        fuzz_die("out of memory", NULL);
    sibvad_json *copy = sibvad_json_parse(b.data, b.len, &e);
    if (!copy)
        fuzz_die("the written copy does not parse", e.msg);
    same(root, copy);
    fuzz_note("accepted", NULL);
    sibvad_json_free(copy);
    free(b.data);
    sibvad_json_free(root);
    return 0;
}
