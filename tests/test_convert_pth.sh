#!/bin/sh
# test_convert_pth.sh SRCDIR CHECK: tools/convert-pth.py on checkpoints of the PyTorch twin.
#
# 1. tiny preset: the twin's state_dict with a 'module.' prefix inside {'model_state_dict': ..}
#    -> convert (f32 and bf16) -> every tensor read back equals the state dict's (bf16: its bf16
#    rounding), the metadata config is byte for byte sibvad_config_to_json of the C loader, and
#    the C forward (CHECK = test_convert_check) gives the twin's prediction.
# 2. a frozen InternViT backbone taken from tests/fixtures/hf/internvl with --backbone (the .pth
#    has no vision_model.*): the C side checks the copied tensors against sibvad_hf_load_backbone
#    and the prediction against the twin.
# 3. refusals: unknown tensors (and --ignore-unknown), a missing trainable tensor, a shape the
#    config does not predict, an explicit --config key that the tensors contradict.
# Needs /usr/bin/python3 with torch and numpy: exits 77 (skipped) without them.
set -eu
SRC=$1
CHECK=$2
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIP: $PY with torch and numpy is needed (scripts/install-deps --torch)"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1
exec "$PY" - "$SRC" "$CHECK" "$TMP" <<'EOF'
import json, os, subprocess, sys
import torch
src, check, tmp = sys.argv[1:4]
sys.path.insert(0, os.path.join(src, "tools", "reference"))
from sibvad_ref import SIBVAD, preset
from make_fixture import MIN_GAP, randomise, topk_gaps
from read_safetensors import read_safetensors
import importlib.util
spec = importlib.util.spec_from_file_location("convert_pth", os.path.join(src, "tools", "convert-pth.py"))
cp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cp)
torch.set_num_threads(1)
fails = []


def ok(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def convert(*args):
    r = subprocess.run([sys.executable, os.path.join(src, "tools", "convert-pth.py")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return r.returncode, r.stdout


def model_with_margin(cfg, B=2):
    """A randomised twin and inputs whose SFFM top-K has a clear margin (no C/torch flip)."""
    for seed in range(100):
        torch.manual_seed(seed)
        m = SIBVAD(cfg)
        randomise(m)
        T, C, H, W = cfg["frames_in"], cfg["channels"], cfg["img_h"], cfg["img_w"]
        frames, sem = 0.5 * torch.randn(B, T, C, H, W), torch.randn(B, cfg["sem_dim"])
        with torch.no_grad():
            out = m(frames, None, sem)
        if min(topk_gaps(out, cfg)) >= MIN_GAP:
            return m, frames, sem, out["pred"]
    raise SystemExit("no seed with a clear top-K margin")


def write_inputs(path, frames, sem, pred):
    cp.write_st(path, {"in.frames": frames, "in.semantic": sem, "expect.pred": pred}, "F32", {})


def run_check(model, inputs, backbone=None):
    r = subprocess.run([check, model, inputs] + ([backbone] if backbone else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    print(r.stdout.rstrip())
    cfg_line = [l[len("config "):] for l in r.stdout.splitlines() if l.startswith("config ")]
    return r.returncode, (cfg_line[0] if cfg_line else None)


# 1. tiny, module. prefix, f32 and bf16.
cfg = preset("tiny")
m, frames, sem, pred = model_with_margin(cfg)
sd = m.state_dict()
pth = os.path.join(tmp, "tiny.pth")
torch.save({"model_state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 7}, pth)
inputs = os.path.join(tmp, "tiny-inputs.safetensors")
write_inputs(inputs, frames, sem, pred)
out = os.path.join(tmp, "tiny.safetensors")
rc, log = convert(pth, out, "--preset", "tiny")
ok(rc == 0, "convert tiny (f32): " + log.strip())
back, meta = read_safetensors(out)
ok(list(back) == list(cp.expected_shapes(cfg)), "f32: the model's tensors, in model order")
ok(all(torch.equal(torch.from_numpy(back[k]), sd[k]) for k in sd), "f32: every tensor equals the state dict's")
ok(meta.get("format") == "sibvad-1", "metadata format sibvad-1")
rc, cjson = run_check(out, inputs)
ok(rc == 0, "C: loads and gives the twin's prediction (f32)")
ok(cjson == meta.get("sibvad_config"), "metadata config is byte for byte sibvad_config_to_json")
out16 = os.path.join(tmp, "tiny-bf16.safetensors")
rc, log = convert(pth, out16, "--preset", "tiny", "--dtype", "bf16")
b16 = cp.read_st(out16)
ok(rc == 0 and all(b16[k].dtype == torch.bfloat16 and torch.equal(b16[k], sd[k].bfloat16()) for k in sd),
   "bf16: every tensor is the state dict's bf16 rounding")
ok(subprocess.run([check, out16]).returncode == 0, "C: the bf16 file loads")

# 2. frozen backbone from the tiny InternVL fixture (3x3 patches of 14, width 32).
hf = os.path.join(src, "tests", "fixtures", "hf", "internvl")
cfg2 = dict(cfg, patch=14, img_h=42, img_w=42, bb_frozen=1, bb_layerscale=1, bb_ln_eps=1e-6)
cfgfile = os.path.join(tmp, "cfg2.json")
with open(cfgfile, "w") as f:
    json.dump({k: cfg2[k] for k in ("preset", "patch", "img_h", "img_w", "bb_frozen")}, f)
m2, frames2, sem2, _ = model_with_margin(cfg2)
sd2 = {k: v for k, v in m2.state_dict().items() if not k.startswith("vision_model.")}
pth2 = os.path.join(tmp, "nobackbone.pth")
torch.save(sd2, pth2)
out2 = os.path.join(tmp, "backbone.safetensors")
rc, log = convert(pth2, out2, "--config", cfgfile)
ok(rc != 0 and "--backbone" in log and "vision_model.embeddings.class_embedding" in log,
   "without --backbone a .pth lacking the backbone is refused: " + log.strip()[:160])
rc, log = convert(pth2, out2, "--config", cfgfile, "--backbone", hf)
ok(rc == 0, "convert with --backbone: " + log.strip())
back2, _ = read_safetensors(out2)
m2.load_state_dict({k: torch.from_numpy(v) for k, v in back2.items()})
with torch.no_grad():
    pred2 = m2(frames2, None, sem2)["pred"]
ok(min(topk_gaps(m2(frames2, None, sem2), cfg2)) >= MIN_GAP, "backbone model: clear top-K margin")
inputs2 = os.path.join(tmp, "backbone-inputs.safetensors")
write_inputs(inputs2, frames2, sem2, pred2)
rc, _ = run_check(out2, inputs2, hf)
ok(rc == 0, "C: backbone tensors equal sibvad_hf_load_backbone's, prediction equals the twin's")

# 3. refusals.
bad = os.path.join(tmp, "bad.pth")
o = os.path.join(tmp, "bad.safetensors")
torch.save(dict(sd, **{"extra.head.weight": torch.zeros(2), "optimizer_step": torch.tensor(3)}), bad)
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "extra.head.weight" in log and "optimizer_step" in log, "unknown tensors refused, named")
rc, log = convert(bad, o, "--preset", "tiny", "--ignore-unknown")
ok(rc == 0 and "dropped 2" in log, "--ignore-unknown drops them")
torch.save({k: v for k, v in sd.items() if k != "decoder.moes.1.experts.3.up_proj.bias"}, bad)
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "decoder.moes.1.experts.3.up_proj.bias" in log, "missing trainable tensor named")
torch.save(dict(sd, **{"decoder.final_conv.2.bias": torch.zeros(4)}), bad)
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "decoder.final_conv.2.bias: checkpoint [4], config [3]" in log, "shape mismatch names both shapes")
with open(cfgfile, "w") as f:
    json.dump({"preset": "tiny", "sffm_b": 8}, f)
rc, log = convert(pth, o, "--config", cfgfile)
ok(rc != 0 and "sffm_b" in log and "down_proj.weight [4, 32]" in log, "explicit config key contradicted: " + log.strip())
rc, log = convert(pth, o, "--preset", "lite")
ok(rc != 0 and "position_embedding: checkpoint [1, 13, 32]" in log, "preset with another input size refused")

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
EOF
