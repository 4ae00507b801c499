"""bert_tokenizer_ref.py: an independent Python implementation of Hugging Face's slow
BertTokenizer (BasicTokenizer + WordpieceTokenizer, uncased: do_lower_case=True,
tokenize_chinese_chars=True, strip_accents=None), for reference ids; transformers is not installed.

Steps, as in transformers/models/bert/tokenization_bert.py:
  clean:      drop U+0000, U+FFFD and category C* (except \\t \\n \\r); ' ' \\t \\n \\r and Zs -> ' '
  CJK:        spaces around code points in the CJK ideograph blocks
  split on whitespace; per word: lower(), NFD, drop Mn; split off every punctuation character
  (ASCII 33-47, 58-64, 91-96, 123-126 or category P*)
  WordPiece:  words over 100 code points -> [UNK]; greedy longest-match-first with '##' for
              non-initial pieces; no match at some position -> the whole word is [UNK]
  [CLS] + ids[:max_len - 2] + [SEP]  (truncation=True, max_length=512)

    python3 bert_tokenizer_ref.py VOCAB TEXT...   # prints tokens and ids
"""
import sys
import unicodedata


def load_vocab(path):
    vocab = {}
    with open(path, "r", encoding="utf-8") as f:
        for i, line in enumerate(f.readlines()):
            vocab[line.rstrip("\n")] = i
    return vocab


def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        out.append(" " if _is_whitespace(ch) else ch)
    text = "".join(out)
    text = "".join(" %s " % ch if _is_cjk(ord(ch)) else ch for ch in text)
    words = []
    for tok in text.strip().split():
        tok = tok.lower()
        tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
        cur = None
        for ch in tok:
            if _is_punctuation(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = None
            else:
                cur = (cur or "") + ch
        if cur:
            words.append(cur)
    return " ".join(words).split()


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    chars = list(word)
    if len(chars) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(chars):
        end, cur = len(chars), None
        while start < end:
            sub = "".join(chars[start:end])
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return [unk]
        pieces.append(cur)
        start = end
    return pieces


def tokenize(text, vocab):
    toks = []
    for w in basic_tokenize(text):
        toks += wordpiece(w, vocab)
    return toks


def encode(text, vocab, max_len=512):
    ids = [vocab.get(t, vocab["[UNK]"]) for t in tokenize(text, vocab)]
    return [vocab["[CLS]"]] + ids[:max_len - 2] + [vocab["[SEP]"]]


if __name__ == "__main__":
    v = load_vocab(sys.argv[1])
    for t in sys.argv[2:]:
        print(tokenize(t, v), encode(t, v))
