#!/usr/bin/env bash
# run-examples.sh: runs the embedding examples (C and Python) over a generated
# pattern and checks their summary lines: every frame carried the meta, all
# but the warm-up frames were scored, and with a threshold below every score
# an alarm began. Usage: run-examples.sh C_APP PY_APP
set -euo pipefail
# Debian's python3 (with python3-gi), not another one earlier on PATH
py=/usr/bin/python3; [ -x "$py" ] || py=python3
c_app=$1 py_app=$2
frames=40 warmup=4
check() { # name, output
  local line; line=$(grep '^frames ' <<<"$2" | tail -1)
  echo "$1: $line"
  read -r _ f _ s rest <<<"$line"
  [ "$f" = "$frames" ] || { echo "$1: $f frames, expected $frames"; exit 1; }
  [ "$s" = "$((frames - warmup))" ] || { echo "$1: $s scored, expected $((frames - warmup))"; exit 1; }
  grep -q 'alarms [1-9]' <<<"$line" || { echo "$1: no alarm began"; exit 1; }
  grep -q '^ALARM begin' <<<"$2" || { echo "$1: no alarm message printed"; exit 1; }
}
out=$("$c_app" --frames $frames --threshold -1000 2>&1) || { echo "$out"; exit 1; }
check "C example" "$out"
grep -q "maps $((frames - warmup))" <<<"$out" || { echo "C example: error maps missing"; exit 1; }
if ! "$py" -c 'import gi; gi.require_version("Gst", "1.0")' 2>/dev/null; then
  echo "python3-gi with Gst 1.0 is not installed (scripts/install-deps installs it)"; exit 1
fi
out=$("$py" "$py_app" --frames $frames --threshold -1000 2>&1) || { echo "$out"; exit 1; }
check "Python example" "$out"
