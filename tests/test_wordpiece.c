/* test_wordpiece.c: the WordPiece tokenizer against reference ids on tricky strings with the
 * real bert-base-uncased vocabulary (fixtures/wordpiece-cases.json, written by
 * tools/reference/make_wordpiece_cases.py), truncation, and vocabulary errors.
 * Skips (77) when the vocabulary fixture is absent. */
#include "json.h"
#include "wordpiece.h"
#include "test-util.h"

#include <string.h>
#include <sys/stat.h>

static const char *fixtures(void)
{
    const char *f = getenv("SIBVAD_FIXTURES");
    return f && f[0] ? f : "tests/fixtures";
}

static void check_cases(const sibvad_wordpiece *wp)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/wordpiece-cases.json", fixtures());
    size_t n = 0;
    unsigned char *txt = read_bytes(path, &n);
    CHECK(txt != NULL, "read %s", path);
    if (!txt)
        return;
    sibvad_error err = {{0}};
    sibvad_json *root = sibvad_json_parse((const char *)txt, n, &err);
    CHECK(root != NULL, "parse cases: %s", err.msg);
    const sibvad_json *cases = sibvad_json_get(root, "cases");
    CHECK(cases && sibvad_json_size(cases) >= 30, "at least 30 cases");
    int32_t ids[SIBVAD_WORDPIECE_MAX_LEN];
    for (size_t i = 0; cases && i < sibvad_json_size(cases); i++) {
        const sibvad_json *c = sibvad_json_at(cases, i);
        size_t tl = 0;
        const char *text = sibvad_json_string(sibvad_json_get(c, "text"), &tl);
        const sibvad_json *want = sibvad_json_get(c, "ids");
        int got = sibvad_wordpiece_encode(wp, text, ids, SIBVAD_WORDPIECE_MAX_LEN, &err);
        int same = got == (int)sibvad_json_size(want);
        for (int j = 0; same && j < got; j++) {
            int64_t w = -1;
            sibvad_json_int64(sibvad_json_at(want, (size_t)j), &w);
            if (w != ids[j]) {
                same = 0;
                printf("# case %zu: id %d is %d (%s), want %lld (%s)\n", i, j, ids[j],
                       sibvad_wordpiece_token(wp, ids[j]), (long long)w,
                       sibvad_wordpiece_token(wp, (int)w));
            }
        }
        CHECK(same, "case %zu (%d ids, want %zu): \"%.40s\"", i, got, sibvad_json_size(want), text);
    }
    sibvad_json_free(root);
    free(txt);
}

static void check_basics(const sibvad_wordpiece *wp)
{
    sibvad_error err = {{0}};
    int32_t ids[SIBVAD_WORDPIECE_MAX_LEN];
    CHECK(sibvad_wordpiece_size(wp) == 30522, "30522 ids");
    CHECK(sibvad_wordpiece_id(wp, "[CLS]") == 101 && sibvad_wordpiece_id(wp, "##berries") == 20968 &&
              sibvad_wordpiece_id(wp, "[unused0]") == 1 && sibvad_wordpiece_id(wp, "nope-nope") == -1,
          "token ids");
    CHECK(strcmp(sibvad_wordpiece_token(wp, 1996), "the") == 0 && !sibvad_wordpiece_token(wp, 30522),
          "tokens of ids");
    int n = sibvad_wordpiece_encode(wp, "i like strawberries", ids, 5, &err);
    CHECK(n == 5 && ids[0] == 101 && ids[1] == 1045 && ids[2] == 2066 && ids[3] == 13137 && ids[4] == 102,
          "max_len 5 cuts the pieces to 3 and keeps [SEP] (%d)", n);
    n = sibvad_wordpiece_encode(wp, "i like", ids, 2, &err);
    CHECK(n == 2 && ids[0] == 101 && ids[1] == 102, "max_len 2: [CLS] [SEP]");
    CHECK(sibvad_wordpiece_encode(wp, "x", ids, 1, &err) == -1 && strstr(err.msg, "max_len"),
          "max_len 1 refused: %s", err.msg);
    CHECK(sibvad_wordpiece_encode(wp, "x", ids, 513, &err) == -1, "max_len 513 refused");
    /* invalid UTF-8 is U+FFFD, dropped: "caf\xff" -> "caf" */
    n = sibvad_wordpiece_encode(wp, "caf\xff\xc3 e\xed\xa0\x80x", ids, 16, &err);
    int n2 = sibvad_wordpiece_encode(wp, "caf ex", ids + 16, 16, &err);
    CHECK(n == n2 && memcmp(ids, ids + 16, (size_t)n * sizeof *ids) == 0,
          "invalid UTF-8 bytes are dropped like U+FFFD");
}

static void check_vocab_errors(void)
{
    sibvad_error err = {{0}};
    sibvad_wordpiece *wp = sibvad_wordpiece_load(tpath("missing/vocab.txt"), &err);
    CHECK(!wp && strstr(err.msg, "vocab.txt"), "missing vocabulary: %s", err.msg);
    const char *no_unk = "[PAD]\n[CLS]\n[SEP]\nhello\n";
    write_bytes(tpath("nounk.txt"), no_unk, strlen(no_unk));
    wp = sibvad_wordpiece_load(tpath("nounk.txt"), &err);
    CHECK(!wp && strstr(err.msg, "[UNK]"), "no [UNK]: %s", err.msg);
    write_bytes(tpath("empty.txt"), "", 0);
    wp = sibvad_wordpiece_load(tpath("empty.txt"), &err);
    CHECK(!wp && strstr(err.msg, "empty"), "empty vocabulary: %s", err.msg);
    /* CRLF lines, a repeated token (last id wins), no final newline */
    const char *v = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhel\r\n##lo\r\nhel\r\nwor\r\n##ld";
    write_bytes(tpath("small.txt"), v, strlen(v));
    wp = sibvad_wordpiece_load(tpath("small.txt"), &err);
    CHECK(wp != NULL, "small vocabulary: %s", wp ? "" : err.msg);
    if (wp) {
        int32_t ids[16];
        int n = sibvad_wordpiece_encode(wp, "Hello, World! xyz", ids, 16, &err);
        CHECK(sibvad_wordpiece_size(wp) == 9 && n == 9 && ids[0] == 2 && ids[1] == 6 && ids[2] == 5 &&
                  ids[3] == 1 && ids[4] == 7 && ids[5] == 8 && ids[6] == 1 && ids[7] == 1 && ids[8] == 3,
              "hel ##lo , wor ##ld ! xyz -> 6 5 [UNK] 7 8 [UNK] [UNK] (%d ids)", n);
        sibvad_wordpiece_free(wp);
    }
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sibvad-wp-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    check_vocab_errors();
    char path[1024];
    snprintf(path, sizeof path, "%s/bert-base-uncased-vocab.txt", fixtures());
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("# %s is absent: skipping the bert-base-uncased cases\n", path);
        rm_rf(tmpdir);
        return failures ? 1 : 77;
    }
    sibvad_error err = {{0}};
    sibvad_wordpiece *wp = sibvad_wordpiece_load(path, &err);
    CHECK(wp != NULL, "load %s: %s", path, wp ? "" : err.msg);
    if (wp) {
        check_basics(wp);
        check_cases(wp);
        sibvad_wordpiece_free(wp);
    }
    rm_rf(tmpdir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
