#!/usr/bin/env bash
# paper-mode-e2e.sh: the paper-mode chain of docs/paper-mode.md end to end on
# the generated fixtures, in a temporary folder:
#
#   paper-mode-e2e.sh SIBVAD_TRAIN SIBVAD_EVAL SIBVAD_EMBED_CAPTIONS FIXTURES_DIR
#
#  1. a dataset in the common layout (training/frames/01..02, testing/frames/01,
#     16 PNG frames each from videotestsrc at the backbone fixture's image_size,
#     testing/labels.txt with abnormal frames 9-16);
#  2. one caption per clip, CAPS/<split>/<video>/<name of frame t-1>.txt for
#     every target frame t >= 4 (T = 4 input frames), embedded by
#     sibvad-embed-captions with the tiny BERT fixture (32-d); the model config
#     is {"preset": "paper", "sem_dim": <the encoder's hidden_size>}, since the
#     paper preset's 768 does not match the fixture encoder;
#  3. sibvad-train --config CFG --backbone fixtures/hf/internvit --semantic:
#     one epoch; the model file's config is the paper preset with the
#     checkpoint's backbone (input size, width, frozen) and sem_dim of the
#     encoder, and it holds the vision_model.* tensors;
#  4. sibvad-eval --semantic: the JSON has a finite micro_auc, and scores.csv
#     has a non-zero semantic error e_s on every scored frame;
#  5. sibvadfilter (gst-launch, smoothing=none) on the test frames: a scored
#     JSON line for every frame after warm-up, whose visual_error equals e_v of
#     sibvad-eval over the same frames within 1e-4 relative. The element gets
#     no semantic input (gst-launch cannot attach GstSibvadSemanticMeta), and
#     the semantic token enters the fusion cross-attention and the decoder
#     (token 0), so e_v depends on it: the comparison uses a second sibvad-eval
#     run WITHOUT --semantic. The difference between e_v with and without
#     captions is printed (not asserted).
set -euo pipefail
py=/usr/bin/python3
train=$1 eval_bin=$2 embed=$3 fixtures=$4
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: $py with numpy is needed"; exit 77
fi
export OMP_NUM_THREADS=1
# the plugin of the same build tree as sibvad-eval
export GST_PLUGIN_PATH="$(cd "$(dirname "$eval_bin")/../gst" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
tmp=$(mktemp -d /tmp/sibvad-test-paper-e2e-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bb=$fixtures/hf/internvit
size=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_size"])' "$bb/config.json")
sem=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["hidden_size"])' "$fixtures/bert/config.json")
n=16 T=4

# 1. frames and labels
frames() { # SPLIT VIDEO PATTERN
  mkdir -p "$tmp/ds/$1/frames/$2"
  gst-launch-1.0 -q videotestsrc pattern="$3" motion=sweep num-buffers=$n \
    ! video/x-raw,width=$size,height=$size,framerate=25/1 ! videoconvert ! pngenc \
    ! multifilesink location="$tmp/ds/$1/frames/$2/%03d.png"
}
frames training 01 ball
frames training 02 ball
frames testing 01 ball
printf '01 9-%d\n' $n > "$tmp/ds/testing/labels.txt"

# 2. captions named after the last input frame of each clip, then vectors
for split_video in training/01 training/02 testing/01; do
  split=${split_video%/*} video=${split_video#*/}
  mkdir -p "$tmp/caps/$split/$video"
  for ((t = T; t < n; t++)); do
    if [ "$split" = testing ] && [ $((t + 1)) -ge 9 ]; then
      text="A person is running across the walkway with a bicycle."
    elif ((t % 2)); then
      text="A white ball moves slowly across a dark background."
    else
      text="People walking on the pavement in frame $t."
    fi
    printf '%s\n' "$text" > "$tmp/caps/$split/$video/$(printf %03d $((t - 1))).txt"
  done
done
for split in training testing; do
  "$embed" --encoder "$fixtures/bert" --captions "$tmp/caps/$split" --out "$tmp/sem/$split" --progress-every 1000
done
printf '{"preset": "paper", "sem_dim": %d}\n' "$sem" > "$tmp/cfg.json"

# 3. train
start=$SECONDS
"$train" --config "$tmp/cfg.json" --backbone "$bb" --dataset "$tmp/ds" --semantic "$tmp/sem/training" \
  --epochs 1 --batch 4 --holdout 0 --threads 1 --cache "" --quiet --out "$tmp/model.safetensors" \
  2> "$tmp/train.log" || { cat "$tmp/train.log"; exit 1; }
echo "trained in $((SECONDS - start)) s"

# 4. evaluate with the captions, and without them for the element comparison
"$eval_bin" --model "$tmp/model.safetensors" --dataset "$tmp/ds" --semantic "$tmp/sem/testing" --protocol ped2 \
  --threads 1 --cache "" -q --json --out "$tmp/eval" > "$tmp/eval.json" 2> "$tmp/eval.log" \
  || { cat "$tmp/eval.log"; exit 1; }
"$eval_bin" --model "$tmp/model.safetensors" --dataset "$tmp/ds" --protocol ped2 \
  --threads 1 --cache "" -q --json --out "$tmp/eval-nosem" > "$tmp/eval-nosem.json" 2> "$tmp/eval-nosem.log" \
  || { cat "$tmp/eval-nosem.log"; exit 1; }
# the captions read directly (.txt embedded on the fly by --text-encoder): the
# same errors as through the precomputed .npy vectors
"$eval_bin" --model "$tmp/model.safetensors" --dataset "$tmp/ds" --semantic "$tmp/caps/testing" \
  --text-encoder "$fixtures/bert" --protocol ped2 --threads 1 --cache "" -q --json --out "$tmp/eval-txt" \
  > "$tmp/eval-txt.json" 2> "$tmp/eval-txt.log" || { cat "$tmp/eval-txt.log"; exit 1; }
"$py" - "$tmp/eval/scores.csv" "$tmp/eval-txt/scores.csv" <<'PY'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) and a, "captions read directly: %d rows, through .npy: %d" % (len(b), len(a))
worst = max(abs(float(x[k]) - float(y[k])) / max(abs(float(x[k])), 1e-12)
            for x, y in zip(a, b) for k in ("e_v", "e_s"))
assert worst <= 1e-6, "captions read directly differ from the .npy vectors: %.3g" % worst
print("sibvad-eval --text-encoder (captions read directly) vs .npy vectors: %d frames, worst %.2e" % (len(a), worst))
PY

# 5. the element on the same frames
gst-launch-1.0 -q multifilesrc location="$tmp/ds/testing/frames/01/%03d.png" start-index=0 \
    caps=image/png,framerate=25/1 ! pngdec ! videoconvert \
  ! sibvadfilter model-location="$tmp/model.safetensors" json-location="$tmp/element.jsonl" smoothing=none \
  ! fakesink

"$py" - "$tmp" "$n" "$T" "$bb/config.json" "$sem" <<'PY'
import csv, json, math, struct, sys
tmp, n, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hf, sem = json.load(open(sys.argv[4])), int(sys.argv[5])
f = open(tmp + "/model.safetensors", "rb")
h = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
c = json.loads(h["__metadata__"]["sibvad_config"])
want = {"preset": "paper", "img_w": hf["image_size"], "img_h": hf["image_size"], "bb_width": hf["hidden_size"],
        "bb_depth": hf["num_hidden_layers"], "bb_frozen": 1, "d_model": 256, "sem_dim": sem}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
assert not bad, "model config (got, want): %s" % bad
nbb = sum(k.startswith("vision_model.") for k in h)
assert nbb > 0 and h["text_project.weight"]["shape"][1] == sem, "backbone tensors %d, text_project %s" % (
    nbb, h["text_project.weight"]["shape"])
print("model: paper preset, %dx%d, backbone width %d (%d tensors), sem_dim %d" % (
    c["img_w"], c["img_h"], c["bb_width"], nbb, c["sem_dim"]))
j = json.load(open(tmp + "/eval.json"))
auc = j.get("micro_auc")
assert isinstance(auc, (int, float)) and math.isfinite(auc), "micro_auc missing or not finite: %r" % (auc,)
rows = list(csv.DictReader(open(tmp + "/eval/scores.csv")))
assert rows, "scores.csv is empty"
es = [float(r["e_s"]) for r in rows]
assert all(math.isfinite(x) and x != 0.0 for x in es), "e_s with captions is zero or not finite: %s" % es
print("sibvad-eval --semantic: micro_auc %.4f, %d frames, e_s %.3g..%.3g" % (auc, len(rows), min(es), max(es)))
with_sem = {int(r["frame"]): float(r["e_v"]) for r in rows}
rows0 = list(csv.DictReader(open(tmp + "/eval-nosem/scores.csv")))
offline = {int(r["frame"]): float(r["e_v"]) for r in rows0}
assert all(float(r["e_s"]) == 0.0 for r in rows0), "e_s without captions is not zero"
live = {}
for line in open(tmp + "/element.jsonl"):
    o = json.loads(line)
    if not o["warming_up"]:
        live[o["frame"]] = o["visual_error"]
if sorted(offline) != sorted(live) or len(live) != n - T:
    sys.exit("frames differ: offline %s (%d), element %s (%d), want %d" % (
        sorted(offline), len(offline), sorted(live), len(live), n - T))
worst = max(abs(live[f] - offline[f]) / max(abs(offline[f]), 1e-12) for f in offline)
print("element vs sibvad-eval (no captions): %d frames of %d, worst relative difference of e_v %.2e"
      % (len(live), n, worst))
if worst > 1e-4:
    for f in sorted(offline)[:5]:
        print("  frame %d: offline %.9g element %.9g" % (f, offline[f], live[f]))
    sys.exit(1)
d = max(abs(with_sem[f] - offline[f]) / max(abs(offline[f]), 1e-12) for f in offline)
print("e_v with captions vs without: worst relative difference %.2e (the semantic token feeds the visual path)" % d)
PY
echo "ok"
