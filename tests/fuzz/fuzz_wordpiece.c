/* fuzz_wordpiece.c: feeds arbitrary bytes as the text to tokenize to the BERT
 * WordPiece tokenizer of sibvad-core/wordpiece.c (UTF-8 decoding with invalid
 * bytes, cleaning, CJK, lower-casing + NFD + accent stripping, punctuation,
 * greedy longest-match WordPiece, truncation), with the real bert-base-uncased
 * vocabulary (tests/fixtures/bert-base-uncased-vocab.txt) loaded once. The
 * first byte chooses max_len (2..512); the text is the rest, cut at a NUL.
 * The ids must start with [CLS], end with [SEP], fit max_len and be ids of the
 * vocabulary; a longer max_len must give the same ids as a prefix. */
#include "fuzz-util.h"
#include "wordpiece.h"

static sibvad_wordpiece *wp;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sibvad_error e;
    wp = sibvad_wordpiece_load(FUZZ_SOURCE_ROOT "/tests/fixtures/bert-base-uncased-vocab.txt", &e);
    if (!wp)
        fuzz_die("cannot load the vocabulary", e.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int max_len = 2 + data[0] * 2;     /* 2 .. 512 */
    if (max_len > SIBVAD_WORDPIECE_MAX_LEN)
        max_len = SIBVAD_WORDPIECE_MAX_LEN;
    char *text = fuzz_strndup(data + 1, size - 1);
    int32_t *ids = malloc(sizeof *ids * (size_t)max_len);
    int32_t *all = malloc(sizeof *all * SIBVAD_WORDPIECE_MAX_LEN);
    sibvad_error e;
    if (!ids || !all)
        fuzz_die("out of memory", NULL);
    int n = sibvad_wordpiece_encode(wp, text, ids, max_len, &e);
    if (n < 2 || n > max_len)
        fuzz_die("id count out of range", e.msg);
    if (ids[0] != sibvad_wordpiece_id(wp, "[CLS]") || ids[n - 1] != sibvad_wordpiece_id(wp, "[SEP]"))
        fuzz_die("ids do not start with [CLS] and end with [SEP]", NULL);
    for (int i = 0; i < n; i++)
        if (!sibvad_wordpiece_token(wp, ids[i]))
            fuzz_die("an id outside the vocabulary", NULL);
    int na = sibvad_wordpiece_encode(wp, text, all, SIBVAD_WORDPIECE_MAX_LEN, &e);
    if (na < n || memcmp(all, ids, sizeof *ids * (size_t)(n - 1)) != 0)
        fuzz_die("truncation is not a prefix of the longer encoding", NULL);
    free(all);
    free(ids);
    free(text);
    return 0;
}
