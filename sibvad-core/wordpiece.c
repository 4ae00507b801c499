/* wordpiece.c: the BERT WordPiece tokenizer (see wordpiece.h): a hash table over vocab.txt,
 * a UTF-8 decoder, the basic tokenizer streamed one code point at a time (clean, CJK, lower +
 * NFD + drop Mn from wordpiece-tables.h, punctuation split) and greedy longest-match WordPiece. */
#include "wordpiece.h"
#include "wordpiece-tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORD_CHARS 100

struct sibvad_wordpiece {
    char *text;          /* the file, lines NUL-terminated */
    int n;               /* ids */
    const char **tok;    /* (n) */
    uint32_t *len;       /* (n) bytes */
    int32_t *slots;      /* open addressing: id or -1 */
    size_t cap;          /* power of 2 */
    int unk, cls, sep;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int lookup(const sibvad_wordpiece *wp, const char *s, size_t n)
{
    size_t mask = wp->cap - 1;
    for (size_t i = (size_t)hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = wp->slots[i];
        if (id < 0)
            return -1;
        if (wp->len[id] == n && memcmp(wp->tok[id], s, n) == 0)
            return id;
    }
}

void sibvad_wordpiece_free(sibvad_wordpiece *wp)
{
    if (!wp)
        return;
    free(wp->text);
    free(wp->tok);
    free(wp->len);
    free(wp->slots);
    free(wp);
}

sibvad_wordpiece *sibvad_wordpiece_load(const char *path, sibvad_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sibvad_fail(err, "%s: cannot open the vocabulary", path);
        return NULL;
    }
    sibvad_wordpiece *wp = calloc(1, sizeof *wp);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!wp || !buf)
        goto oom;
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb)
                goto oom;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        if (got == 0)
            break;
        len += got;
    }
    if (ferror(fp)) {
        sibvad_fail(err, "%s: read error", path);
        goto fail;
    }
    fclose(fp);
    fp = NULL;
    buf[len] = '\0';
    wp->text = buf;
    /* lines: a final line without '\n' counts, an empty tail after the last '\n' does not */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    if (len > 0 && buf[len - 1] != '\n')
        lines++;
    if (lines == 0 || lines > INT32_MAX / 4) {
        sibvad_fail(err, "%s: the vocabulary is empty", path);
        goto fail;
    }
    wp->n = (int)lines;
    wp->tok = malloc(lines * sizeof *wp->tok);
    wp->len = malloc(lines * sizeof *wp->len);
    wp->cap = 16;
    while (wp->cap < 2 * lines)
        wp->cap *= 2;
    wp->slots = malloc(wp->cap * sizeof *wp->slots);
    if (!wp->tok || !wp->len || !wp->slots)
        goto oom;
    memset(wp->slots, 0xff, wp->cap * sizeof *wp->slots);
    size_t pos = 0;
    for (int id = 0; id < wp->n; id++) {
        char *s = buf + pos;
        char *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - s) : len - pos;
        pos += l + 1;
        s[l] = '\0';
        if (l > 0 && s[l - 1] == '\r')
            s[--l] = '\0';
        if (strlen(s) != l) {
            sibvad_fail(err, "%s: line %d holds a NUL byte", path, id + 1);
            goto fail;
        }
        wp->tok[id] = s;
        wp->len[id] = (uint32_t)l;
        size_t mask = wp->cap - 1, i = (size_t)hash_bytes(s, l) & mask;
        for (;; i = (i + 1) & mask) {
            int32_t o = wp->slots[i];
            if (o < 0 || (wp->len[o] == l && memcmp(wp->tok[o], s, l) == 0))
                break;
        }
        wp->slots[i] = id; /* a repeated token keeps its last id, as HF's load_vocab */
    }
    wp->unk = lookup(wp, "[UNK]", 5);
    wp->cls = lookup(wp, "[CLS]", 5);
    wp->sep = lookup(wp, "[SEP]", 5);
    if (wp->unk < 0 || wp->cls < 0 || wp->sep < 0) {
        sibvad_fail(err, "%s: the vocabulary has no %s token", path,
                    wp->unk < 0 ? "[UNK]" : wp->cls < 0 ? "[CLS]" : "[SEP]");
        goto fail;
    }
    return wp;
oom:
    sibvad_fail(err, "%s: out of memory", path);
fail:
    if (fp)
        fclose(fp);
    if (wp && !wp->text)
        free(buf);
    sibvad_wordpiece_free(wp);
    return NULL;
}

int sibvad_wordpiece_size(const sibvad_wordpiece *wp)
{
    return wp->n;
}

int sibvad_wordpiece_id(const sibvad_wordpiece *wp, const char *token)
{
    return lookup(wp, token, strlen(token));
}

const char *sibvad_wordpiece_token(const sibvad_wordpiece *wp, int id)
{
    return id >= 0 && id < wp->n ? wp->tok[id] : NULL;
}

/* ---- Unicode ---- */

static int in_ranges(const uint32_t (*r)[2], int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid][0])
            hi = mid - 1;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF); a bad sequence gives
 * U+FFFD and consumes one byte. */
static uint32_t utf8_next(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    uint32_t c = s[0];
    int n;
    uint32_t min;
    if (c < 0x80) {
        *ps = s + 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, c &= 0x07, min = 0x10000;
    } else {
        *ps = s + 1;
        return 0xFFFD;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *ps = s + 1;
            return 0xFFFD;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *ps = s + 1;
        return 0xFFFD;
    }
    *ps = s + n + 1;
    return c;
}

static int utf8_put(char *out, uint32_t c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* lower(), NFD, Mn dropped: 0..3 code points into out; returns the count. */
static int fold(uint32_t cp, uint32_t out[3])
{
    if (cp < 0x80) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    if (in_ranges(wp_mn, WP_MN_N, cp))
        return 0;
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T) jamo */
        uint32_t s = cp - 0xAC00;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        if (s % 28 == 0)
            return 2;
        out[2] = 0x11A7 + s % 28;
        return 3;
    }
    int lo = 0, hi = WP_FOLD_N - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < wp_fold[mid][0])
            hi = mid - 1;
        else if (cp > wp_fold[mid][0])
            lo = mid + 1;
        else {
            int n = 0;
            while (n < 3 && wp_fold[mid][1 + n])
                out[n] = wp_fold[mid][1 + n], n++;
            return n;
        }
    }
    out[0] = cp;
    return 1;
}

/* ---- encoding ---- */

typedef struct {
    const sibvad_wordpiece *wp;
    int32_t *ids;
    int n, cap;          /* ids written, most allowed */
    uint32_t word[MAX_WORD_CHARS + 1];
    int wn;              /* code points in word (capped at MAX_WORD_CHARS + 1) */
    char *key;           /* "##" + UTF-8 of up to MAX_WORD_CHARS code points */
} enc_state;

static void emit(enc_state *st, int32_t id)
{
    if (st->n < st->cap)
        st->ids[st->n++] = id;
}

/* WordPiece of the current word, then clear it. */
static void flush(enc_state *st)
{
    int n = st->wn;
    st->wn = 0;
    if (n == 0)
        return;
    if (n > MAX_WORD_CHARS) {
        emit(st, st->wp->unk);
        return;
    }
    char *utf = st->key + 2;
    int off[MAX_WORD_CHARS + 1];
    off[0] = 0;
    for (int i = 0; i < n; i++)
        off[i + 1] = off[i] + utf8_put(utf + off[i], st->word[i]);
    int32_t pieces[MAX_WORD_CHARS];
    int np = 0, start = 0;
    while (start < n) {
        int id = -1, end = n;
        for (; end > start; end--) {
            if (start == 0)
                id = lookup(st->wp, utf, (size_t)off[end]);
            else {
                char *k = utf + off[start] - 2;
                char save0 = k[0], save1 = k[1];
                k[0] = '#', k[1] = '#';
                id = lookup(st->wp, k, (size_t)(off[end] - off[start] + 2));
                k[0] = save0, k[1] = save1;
            }
            if (id >= 0)
                break;
        }
        if (id < 0) {
            emit(st, st->wp->unk);
            return;
        }
        pieces[np++] = id;
        start = end;
    }
    for (int i = 0; i < np; i++)
        emit(st, pieces[i]);
}

static void push(enc_state *st, uint32_t cp)
{
    if (st->wn <= MAX_WORD_CHARS)
        st->word[st->wn++] = cp;
    else
        st->wn = MAX_WORD_CHARS + 1; /* too long: [UNK] whatever follows */
}

/* One code point of a whitespace-separated token: lower + strip accents, split punctuation. */
static void feed(enc_state *st, uint32_t cp)
{
    uint32_t f[3];
    int nf = fold(cp, f);
    for (int i = 0; i < nf; i++) {
        uint32_t c = f[i];
        int punct = c < 0x80 ? ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
                                (c >= 123 && c <= 126))
                             : in_ranges(wp_punct, WP_PUNCT_N, c);
        if (punct) {
            flush(st);
            push(st, c);
            flush(st);
        } else {
            push(st, c);
        }
    }
}

/* Removed by HF's _clean_text: NUL, U+FFFD and control characters. */
static int removed(uint32_t cp)
{
    return cp == 0 || cp == 0xFFFD ||
           (cp < 0x80 ? (cp < 32 && cp != 9 && cp != 10 && cp != 13) || cp == 127
                      : in_ranges(wp_control, WP_CONTROL_N, cp));
}

/* A token boundary: HF's whitespace (' ' \t \n \r Zs) and U+2028/U+2029 that Python's str.split()
 * splits on; CJK characters are tokens of their own. */
static int boundary(uint32_t cp)
{
    return (cp < 0x80 ? (cp == 32 || cp == 9 || cp == 10 || cp == 13)
                      : (cp == 0x2028 || cp == 0x2029 || in_ranges(wp_space, WP_SPACE_N, cp))) ||
           is_cjk(cp);
}

/* Python's str.lower() turns U+03A3 into final sigma U+03C2 when a cased letter precedes it and
 * none follows in the token (case-ignorable characters skipped both ways): is a cased letter
 * next in the token that starts at s? */
static int cased_follows(const unsigned char *s)
{
    while (*s) {
        uint32_t cp = utf8_next(&s);
        if (removed(cp))
            continue;
        if (boundary(cp))
            return 0;
        if (!in_ranges(wp_case_ign, WP_CASE_IGN_N, cp))
            return in_ranges(wp_cased, WP_CASED_N, cp);
    }
    return 0;
}

int sibvad_wordpiece_encode(const sibvad_wordpiece *wp, const char *text, int32_t *ids,
                            int max_len, sibvad_error *err)
{
    if (!wp || !text || !ids)
        return sibvad_fail(err, "wordpiece: NULL argument");
    if (max_len < 2 || max_len > SIBVAD_WORDPIECE_MAX_LEN)
        return sibvad_fail(err, "wordpiece: max_len %d is outside 2..%d", max_len,
                           SIBVAD_WORDPIECE_MAX_LEN);
    enc_state st = {.wp = wp, .ids = ids + 1, .cap = max_len - 2};
    st.key = malloc(4 * MAX_WORD_CHARS + 8);
    if (!st.key)
        return sibvad_fail(err, "wordpiece: out of memory");
    const unsigned char *s = (const unsigned char *)text;
    int cased_before = 0; /* the last non-case-ignorable code point of the token was cased */
    while (*s && st.n < st.cap) {
        uint32_t cp = utf8_next(&s);
        if (removed(cp))
            continue;
        if (boundary(cp)) {
            flush(&st);
            if (is_cjk(cp)) {
                feed(&st, cp);
                flush(&st);
            }
            cased_before = 0;
            continue;
        }
        const int ignorable = cp >= 0x80 ? in_ranges(wp_case_ign, WP_CASE_IGN_N, cp)
                                         : cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`';
        if (cp == 0x3A3 && cased_before && !cased_follows(s))
            feed(&st, 0x3C2); /* final sigma */
        else
            feed(&st, cp);
        if (!ignorable)
            cased_before = cp < 0x80 ? (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')
                                     : in_ranges(wp_cased, WP_CASED_N, cp);
    }
    flush(&st);
    free(st.key);
    ids[0] = wp->cls;
    ids[st.n + 1] = wp->sep;
    return st.n + 2;
}
