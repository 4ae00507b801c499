/* fuzz_wordpiece_vocab.c: feeds arbitrary bytes as a vocab.txt to
 * sibvad_wordpiece_load of sibvad-core/wordpiece.c (lines, "\r\n", NUL bytes,
 * repeated tokens, the [UNK] [CLS] [SEP] tokens, the hash table). A loaded
 * vocabulary answers every id and token lookup consistently and tokenizes a
 * few fixed texts (ASCII, accents, CJK, punctuation, a long word) into ids of
 * the vocabulary. */
#include "fuzz-util.h"
#include "wordpiece.h"

static const char *const texts[] = {
    "a person walks along the pavement",
    "Héllo, WORLD!! naïve café -- 東京 tower; unaffable ##ing [CLS]",
    ("supercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocious"
     "supercalifragilistic"),
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400];
    sibvad_error e;
    e.msg[0] = '\0';
    fuzz_write(path, sizeof path, "vocab.txt", data, size);
    sibvad_wordpiece *wp = sibvad_wordpiece_load(path, &e);
    unlink(path);
    if (!wp) {
        if (!e.msg[0])
            fuzz_die("rejected without a message", NULL);
        fuzz_note("rejected", e.msg);
        return 0;
    }
    fuzz_note("accepted", NULL);
    int n = sibvad_wordpiece_size(wp);
    if (n < 1)
        fuzz_die("a loaded vocabulary without ids", NULL);
    for (int i = 0; i < n; i++) {
        const char *t = sibvad_wordpiece_token(wp, i);
        if (!t)
            fuzz_die("an id without a token", NULL);
        int id = sibvad_wordpiece_id(wp, t);
        /* a repeated token keeps its last id */
        if (id < i || strcmp(sibvad_wordpiece_token(wp, id), t) != 0)
            fuzz_die("a token that does not find its id", t);
    }
    if (sibvad_wordpiece_token(wp, n) || sibvad_wordpiece_token(wp, -1))
        fuzz_die("a token for an id out of range", NULL);
    int32_t ids[64];
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int m = sibvad_wordpiece_encode(wp, texts[k], ids, 64, &e);
        if (m < 2 || m > 64)
            fuzz_die("id count out of range", e.msg);
        for (int i = 0; i < m; i++)
            if (ids[i] < 0 || ids[i] >= n)
                fuzz_die("an id outside the vocabulary", NULL);
    }
    sibvad_wordpiece_free(wp);
    return 0;
}
