#!/usr/bin/env bash
# element-vs-eval.sh: the per-frame visual errors sibvadfilter attaches in a
# live pipeline equal the offline errors of sibvad-eval over the same frames.
#
#   element-vs-eval.sh SIBVAD_EVAL MODEL [FRAMES_DIR]
#
# Without FRAMES_DIR it writes a generated 360x240 JPEG sequence to a temporary
# dataset; with it (e.g. ../shared/datasets/ped2/testing/frames/01) it uses
# those frames. Both sides decode the same JPEG files; the element runs on
# jpegdec's raw output (I420) and does its own conversion to the model input.
# Fails when any frame's error differs by more than 1e-4 relative, or when a
# frame is missing on either side.
set -euo pipefail
# Debian's python3 (with python3-gi), not another one earlier on PATH
py=/usr/bin/python3; [ -x "$py" ] || py=python3
eval_bin=$1 model=$2 frames_dir=${3:-}
# the plugin of the same build tree as sibvad-eval
export GST_PLUGIN_PATH="$(cd "$(dirname "$eval_bin")/../gst" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ds/testing/frames/01"
if [ -z "$frames_dir" ]; then
  gst-launch-1.0 -q videotestsrc pattern=ball motion=sweep num-buffers=40 \
    ! video/x-raw,width=360,height=240,framerate=25/1 ! videoconvert ! jpegenc \
    ! multifilesink location="$tmp/ds/testing/frames/01/%03d.jpg"
else
  cp "$frames_dir"/*.jpg "$tmp/ds/testing/frames/01/"
fi
n=$(ls "$tmp/ds/testing/frames/01" | wc -l)
first=$(ls "$tmp/ds/testing/frames/01" | head -1); first=${first%.jpg}
printf '01 %d-%d\n' $((n / 2)) "$n" > "$tmp/ds/testing/labels.txt"

"$eval_bin" --model "$model" --dataset "$tmp/ds" --protocol ped2 --out "$tmp/eval" --cache "" -q --json \
  > "$tmp/eval.json" 2> "$tmp/eval.log" || { cat "$tmp/eval.log"; exit 1; }
gst-launch-1.0 -q multifilesrc location="$tmp/ds/testing/frames/01/%03d.jpg" start-index=$((10#$first)) \
    caps=image/jpeg,framerate=25/1 ! jpegdec \
  ! sibvadfilter model-location="$model" json-location="$tmp/element.jsonl" smoothing=none ! fakesink

"$py" - "$tmp/eval/scores.csv" "$tmp/element.jsonl" "$n" <<'PY'
import csv, json, sys
offline = {int(r["frame"]): float(r["e_v"]) for r in csv.DictReader(open(sys.argv[1]))}
live = {}
for line in open(sys.argv[2]):
    o = json.loads(line)
    if not o["warming_up"]:
        live[o["frame"]] = o["visual_error"]
n = int(sys.argv[3])
if sorted(offline) != sorted(live):
    sys.exit("frames differ: offline %s..%s (%d), element %s..%s (%d)" % (
        min(offline), max(offline), len(offline), min(live, default=-1), max(live, default=-1), len(live)))
worst = max(abs(live[f] - offline[f]) / max(abs(offline[f]), 1e-12) for f in offline)
print("element vs sibvad-eval: %d frames of %d, worst relative difference of e_v %.2e" % (len(live), n, worst))
if worst > 1e-4:
    for f in sorted(offline)[:5]:
        print("  frame %d: offline %.9g element %.9g" % (f, offline[f], live[f]))
    sys.exit(1)
PY
