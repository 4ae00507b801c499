#!/bin/sh
# test_convert_pth.sh SRCDIR CHECK: tools/convert-pth.py on checkpoints of the PyTorch twin.
#
# Needs only /usr/bin/python3 with numpy (torch is optional; SIBVAD_NO_TORCH=1 runs it as if torch
# were missing, the converter included). Without torch:
# 1. tests/fixtures/twin-tiny.pth (torch.save of the tiny twin of tests/fixtures/tiny-parity.safetensors
#    with a 'module.' prefix inside {'model_state_dict': ..}; tools/reference/make_pth_fixture.py):
#    its torch-free reading equals the parity fixture's weights bit for bit -> convert (f32 and
#    bf16) -> every tensor read back equals the weights (bf16: their round-to-nearest-even, computed
#    here independently), the metadata config is byte for byte sibvad_config_to_json of the C
#    loader, and the C forward (CHECK = test_convert_check) gives the twin's prediction (act.pred).
# 2. a frozen InternViT backbone from tests/fixtures/hf/internvl with --backbone (the .pth, written
#    here in torch's zip format by a small pickle writer, has no vision_model.*): refused without
#    --backbone; with it the C side checks the copied tensors against sibvad_hf_load_backbone.
# 3. refusals: unknown tensors (and --ignore-unknown), a missing trainable tensor, a shape the
#    config does not predict, an explicit --config key that the tensors contradict, a pickle that
#    names any other global (never run), a legacy non-zip .pth without torch.
# With torch also: the torch-free reader equals torch.load, the bf16 rounding equals torch's, the
# hand-written .pth files load in torch, the backbone model's C forward equals a twin's, and a
# legacy-format .pth converts.
set -eu
SRC=$1
CHECK=$2
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "SKIP: $PY with numpy is needed (scripts/install-deps)"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1
exec "$PY" - "$SRC" "$CHECK" "$TMP" <<'EOF'
import collections, io, json, os, pickle, subprocess, sys, zipfile
import numpy as np
src, check, tmp = sys.argv[1:4]
sys.path.insert(0, os.path.join(src, "tools", "reference"))
from read_safetensors import read_safetensors, write_safetensors
from sibvad_config import LATER_KEYS
import importlib.util
spec = importlib.util.spec_from_file_location("convert_pth", os.path.join(src, "tools", "convert-pth.py"))
cp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cp)
torch = None
if not os.environ.get("SIBVAD_NO_TORCH"):
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
print("torch: %s" % (torch.__version__ if torch else "not used (only the torch-free checks)"))
fails = []


def ok(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def convert(*args):
    r = subprocess.run([sys.executable, os.path.join(src, "tools", "convert-pth.py")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return r.returncode, r.stdout


def run_check(model, inputs=None, backbone=None):
    r = subprocess.run([check, model] + ([inputs] if inputs else []) + ([backbone] if backbone else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    print(r.stdout.rstrip())
    cfg_line = [l[len("config "):] for l in r.stdout.splitlines() if l.startswith("config ")]
    return r.returncode, (cfg_line[0] if cfg_line else None)


class _Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class _PthPickler(pickle._Pickler):
    """Pickles like torch.save: numpy float32 arrays as torch._utils._rebuild_tensor_v2 of a
    torch.FloatStorage persistent id; the storages are collected in self.blobs."""
    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.blobs = []

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + ("%s\n%s\n" % (obj.module, obj.name)).encode("ascii"))
            return
        if isinstance(obj, np.ndarray):
            a = np.ascontiguousarray(obj, dtype="<f4")
            self.blobs.append(a.tobytes())
            key = str(len(self.blobs) - 1)
            stride = [int(np.prod(a.shape[i + 1:], dtype=np.int64)) for i in range(a.ndim)]
            pid = ("storage", _Global("torch", "FloatStorage"), key, "cpu", a.size)
            self.save(_Global("torch._utils", "_rebuild_tensor_v2"))
            self.save((_PidBox(pid), 0, tuple(a.shape), tuple(stride), False, collections.OrderedDict()))
            self.write(pickle.REDUCE)
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _PidBox) else None


class _PidBox:
    def __init__(self, pid):
        self.pid = pid


def write_pth(path, obj):
    """obj (dicts of numpy arrays) -> path in torch.save's zip format, without torch."""
    buf = io.BytesIO()
    p = _PthPickler(buf)
    p.dump(obj)
    name = os.path.splitext(os.path.basename(path))[0]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name + "/data.pkl", buf.getvalue())
        for i, b in enumerate(p.blobs):
            z.writestr("%s/data/%d" % (name, i), b)
        z.writestr(name + "/version", "3\n")


def bf16_rne(x):
    """float32 -> float32 rounded to bfloat16, nearest even, by comparing the two neighbours."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    t = u >> np.uint32(16)
    lo = (t << np.uint32(16)).view(np.float32).astype(np.float64)
    hi = ((t + np.uint32(1)) << np.uint32(16)).view(np.float32).astype(np.float64)
    d_lo, d_hi = np.abs(x.astype(np.float64) - lo), np.abs(hi - x.astype(np.float64))
    up = (d_hi < d_lo) | ((d_hi == d_lo) & (t & np.uint32(1) == 1))
    return np.where(up, hi, lo).astype(np.float32)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# 1. the committed twin-tiny.pth against the parity fixture's weights and prediction.
fixdir = os.path.join(src, "tests", "fixtures")
pth = os.path.join(fixdir, "twin-tiny.pth")
fix, fmeta = read_safetensors(os.path.join(fixdir, "tiny-parity.safetensors"))
cfg = cp.preset("tiny")
shapes = cp.expected_shapes(cfg)
names = list(shapes)
fcfg = json.loads(fmeta["sibvad_config"])
for k, v in LATER_KEYS.items():  # written before these keys existed (docs/model-format.md)
    fcfg.setdefault(k, v)
ok(fcfg == cfg, "parity fixture is the tiny preset")
raw = cp.load_pth(pth)
msd = raw["model_state_dict"]
ok(raw.get("epoch") == 7 and isinstance(msd, collections.OrderedDict)
   and sorted(msd) == sorted("module." + k for k in names),
   "torch-free reader: {'model_state_dict': OrderedDict of the model's tensors ('module.'), 'epoch': 7}")
ok(all(same(msd["module." + k], fix[k]) for k in names),
   "torch-free reader: every tensor of twin-tiny.pth equals the parity fixture's bit for bit")
if torch:
    tl = torch.load(pth, map_location="cpu")["model_state_dict"]
    ok(list(tl) == list(msd) and all(same(msd[k], tl[k].numpy()) for k in tl),
       "torch-free reader equals torch.load (names, order, dtypes, bits)")
sd = {k: fix[k] for k in names}
inputs = os.path.join(tmp, "tiny-inputs.safetensors")
write_safetensors(inputs, {"in.frames": fix["in.frames"], "in.semantic": fix["in.semantic"],
                           "expect.pred": fix["act.pred"]})
out = os.path.join(tmp, "tiny.safetensors")
rc, log = convert(pth, out, "--preset", "tiny")
ok(rc == 0, "convert twin-tiny.pth (f32): " + log.strip())
back, meta = read_safetensors(out)
ok(list(back) == names, "f32: the model's tensors, in model order")
ok(all(same(back[k], sd[k]) for k in sd), "f32: every tensor equals the twin's weight bit for bit")
ok(meta.get("format") == "sibvad-1" and meta.get("source") == "twin-tiny.pth", "metadata format sibvad-1, source")
rc, cjson = run_check(out, inputs)
ok(rc == 0, "C: loads and gives the twin's prediction act.pred (f32)")
ok(cjson == meta.get("sibvad_config"), "metadata config is byte for byte sibvad_config_to_json")
out16 = os.path.join(tmp, "tiny-bf16.safetensors")
rc, log = convert(pth, out16, "--preset", "tiny", "--dtype", "bf16")
b16 = cp.read_st(out16)
with open(out16, "rb") as f:
    hdr = json.loads(f.read(int.from_bytes(f.read(8), "little")))
ok(rc == 0 and all(hdr[k]["dtype"] == "BF16" for k in names)
   and all(same(b16[k], bf16_rne(sd[k])) for k in sd), "bf16: every tensor is the weight's bf16 rounding (nearest even)")
if torch:
    ok(all(same(b16[k], torch.from_numpy(sd[k]).bfloat16().float().numpy()) for k in sd),
       "bf16: equals torch's .bfloat16()")
ok(run_check(out16)[0] == 0, "C: the bf16 file loads")

# 2. frozen backbone from the tiny InternVL fixture (3x3 patches of 14, width 32).
hf = os.path.join(fixdir, "hf", "internvl")
cfg2 = dict(cfg, patch=14, img_h=42, img_w=42, bb_frozen=1, bb_layerscale=1, bb_ln_eps=1e-6)
cfgfile = os.path.join(tmp, "cfg2.json")
with open(cfgfile, "w") as f:
    json.dump({k: cfg2[k] for k in ("preset", "patch", "img_h", "img_w", "bb_frozen")}, f)
rng = np.random.default_rng(5)
sd2 = {k: (0.3 * rng.standard_normal(s)).astype(np.float32)
       for k, s in cp.expected_shapes(cfg2).items() if not k.startswith("vision_model.")}
pth2 = os.path.join(tmp, "nobackbone.pth")
write_pth(pth2, sd2)
if torch:
    t2 = torch.load(pth2, map_location="cpu")
    ok(list(t2) == list(sd2) and all(same(t2[k].numpy(), sd2[k]) for k in sd2),
       "the test's torch-free .pth writer: torch.load reads it back")
out2 = os.path.join(tmp, "backbone.safetensors")
rc, log = convert(pth2, out2, "--config", cfgfile)
ok(rc != 0 and "--backbone" in log and "vision_model.embeddings.class_embedding" in log,
   "without --backbone a .pth lacking the backbone is refused: " + log.strip()[:160])
rc, log = convert(pth2, out2, "--config", cfgfile, "--backbone", hf)
ok(rc == 0, "convert with --backbone: " + log.strip())
back2, _ = read_safetensors(out2)
ok(all(same(back2[k], sd2[k]) for k in sd2), "backbone: the checkpoint's own tensors kept bit for bit")
rc, _ = run_check(out2, "-", hf)
ok(rc == 0, "C: backbone tensors equal sibvad_hf_load_backbone's")
if torch:   # a randomised twin (weights and inputs with a clear top-K margin) on that backbone
    from sibvad_ref import SIBVAD
    from make_fixture import MIN_GAP, randomise, topk_gaps
    vis = {k: torch.from_numpy(v) for k, v in back2.items() if k.startswith("vision_model.")}
    for seed in range(100):
        torch.manual_seed(seed)
        m2 = SIBVAD(cfg2)
        randomise(m2)
        m2.load_state_dict(vis, strict=False)
        frames2, sem2 = 0.5 * torch.randn(2, 4, 3, 42, 42), torch.randn(2, cfg2["sem_dim"])
        with torch.no_grad():
            o2 = m2(frames2, None, sem2)
        if min(topk_gaps(o2, cfg2)) >= MIN_GAP:
            break
    ok(min(topk_gaps(o2, cfg2)) >= MIN_GAP, "backbone model: weights and inputs with a clear top-K margin")
    pth3 = os.path.join(tmp, "nobackbone-twin.pth")
    write_pth(pth3, {k: v.numpy() for k, v in m2.state_dict().items() if not k.startswith("vision_model.")})
    rc, log = convert(pth3, out2, "--config", cfgfile, "--backbone", hf)
    inputs2 = os.path.join(tmp, "backbone-inputs.safetensors")
    write_safetensors(inputs2, {"in.frames": frames2, "in.semantic": sem2, "expect.pred": o2["pred"]})
    rc2, _ = run_check(out2, inputs2, hf)
    ok(rc == 0 and rc2 == 0, "C: backbone model's prediction equals the twin's")

# 3. refusals (the .pth files written without torch).
bad = os.path.join(tmp, "bad.pth")
o = os.path.join(tmp, "bad.safetensors")
write_pth(bad, dict(sd, **{"extra.head.weight": np.zeros(2, np.float32), "optimizer_step": 3}))
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "extra.head.weight" in log and "optimizer_step" in log, "unknown tensors refused, named")
rc, log = convert(bad, o, "--preset", "tiny", "--ignore-unknown")
ok(rc == 0 and "dropped 2" in log, "--ignore-unknown drops them")
write_pth(bad, {k: v for k, v in sd.items() if k != "decoder.moes.1.experts.3.up_proj.bias"})
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "decoder.moes.1.experts.3.up_proj.bias" in log, "missing trainable tensor named")
write_pth(bad, dict(sd, **{"decoder.final_conv.2.bias": np.zeros(4, np.float32)}))
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "decoder.final_conv.2.bias: checkpoint [4], config [3]" in log, "shape mismatch names both shapes")
with open(cfgfile, "w") as f:
    json.dump({"preset": "tiny", "sffm_b": 8}, f)
rc, log = convert(pth, o, "--config", cfgfile)
ok(rc != 0 and "sffm_b" in log and "down_proj.weight [4, 32]" in log, "explicit config key contradicted: " + log.strip())
rc, log = convert(pth, o, "--preset", "lite")
ok(rc != 0 and "position_embedding: checkpoint [1, 13, 32]" in log, "preset with another input size refused")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch %s" % os.path.join(tmp, "PWNED"),))


with zipfile.ZipFile(bad, "w") as z:
    z.writestr("bad/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
rc, log = convert(bad, o, "--preset", "tiny")
ok(rc != 0 and "refusing to unpickle" in log and not os.path.exists(os.path.join(tmp, "PWNED")),
   "a pickle naming another global is refused, never run: " + log.strip())
legacy = os.path.join(tmp, "legacy.pth")
if torch:
    torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, legacy, _use_new_zipfile_serialization=False)
else:
    with open(legacy, "wb") as f:
        pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)   # the legacy format starts with this magic
rc, log = convert(legacy, o, "--preset", "tiny")
r2 = subprocess.run([sys.executable, os.path.join(src, "tools", "convert-pth.py"), legacy, o, "--preset", "tiny"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                    env=dict(os.environ, SIBVAD_NO_TORCH="1"))
ok(r2.returncode != 0 and "legacy format needs torch" in r2.stdout, "legacy .pth without torch: " + r2.stdout.strip())
if torch:
    ok(rc == 0 and all(same(read_safetensors(o)[0][k], sd[k]) for k in sd), "legacy .pth with torch converts")

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
EOF
