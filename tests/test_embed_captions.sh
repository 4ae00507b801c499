#!/bin/sh
# test_embed_captions.sh: sibvad-embed-captions end to end. Captions in two
# videos (three reference sentences and an empty caption) are embedded with the
# tiny BERT fixture; each .npy must be float32 [1, 1, 32] and equal the pooled
# output that tests/fixtures/bert/reference.json holds for its sentence. Also:
# a bad encoder folder and --dim-check (32 != 768) fail with a message.
# Usage: test_embed_captions.sh TOOL FIXTURES_DIR
set -eu
tool=$1
fixtures=$2
py=/usr/bin/python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
    echo "SKIP: $py with numpy is needed"
    exit 77
fi
tmp=$(mktemp -d /tmp/sibvad-test-embed-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cap/01" "$tmp/cap/02"
printf '%s\n' 'A man is riding a bicycle on the street.' > "$tmp/cap/01/007.txt"
printf '%s' 'Two people walking with a dog in the park!' > "$tmp/cap/01/008.txt"
printf '%s\n\n' 'The woman in the red shirt is running, while a car stops.' > "$tmp/cap/02/0042.txt"
: > "$tmp/cap/02/0043.txt"
echo "not a caption" > "$tmp/cap/02/notes.md"

"$tool" --encoder "$fixtures/bert" --captions "$tmp/cap" --out "$tmp/out" --progress-every 2

"$py" - "$fixtures/bert/reference.json" "$tmp/out" <<'PYEOF'
import json, os, sys
import numpy as np
ref = {c["text"]: np.array(c["pooled"], dtype=np.float64) for c in json.load(open(sys.argv[1]))["cases"]}
out = sys.argv[2]
want = {
    "01/007.npy": "A man is riding a bicycle on the street.",
    "01/008.npy": "Two people walking with a dog in the park!",
    "02/0042.npy": "The woman in the red shirt is running, while a car stops.",
    "02/0043.npy": "",
}
got = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
assert got == sorted(want), "files written: %s" % got
for name, text in want.items():
    a = np.load(os.path.join(out, name))
    assert a.dtype == np.float32 and a.shape == (1, 1, 32), "%s: %s %s" % (name, a.dtype, a.shape)
    err = np.abs(a.reshape(-1).astype(np.float64) - ref[text]).max()
    print("%-12s max |diff| %.2e  %r" % (name, err, text))
    assert err < 1e-5, "%s differs from the reference pooled output by %g" % (name, err)
print("ok: 4 vectors match reference.json")
PYEOF

if "$tool" --encoder "$tmp/cap" --captions "$tmp/cap" --out "$tmp/out2" 2> "$tmp/err"; then
    echo "FAIL: a folder without a checkpoint loaded as an encoder"; exit 1
fi
grep -q "cannot load the text encoder" "$tmp/err" || { echo "FAIL: unclear message:"; cat "$tmp/err"; exit 1; }
cat "$tmp/err"
if "$tool" --encoder "$fixtures/bert" --captions "$tmp/cap" --out "$tmp/out2" --dim-check 2> "$tmp/err"; then
    echo "FAIL: --dim-check accepted a 32-d encoder"; exit 1
fi
grep -q "768" "$tmp/err" || { echo "FAIL: unclear message:"; cat "$tmp/err"; exit 1; }
cat "$tmp/err"
[ ! -e "$tmp/out2" ] || { echo "FAIL: output written after a failure"; exit 1; }
echo "ok: errors are reported"
