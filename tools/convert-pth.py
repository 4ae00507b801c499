"""convert-pth.py: a checkpoint of the authors' PyTorch SIB-VAD (.pth) -> a sibvad model file.

    /usr/bin/python3 tools/convert-pth.py IN.pth OUT.safetensors [--preset paper | --config C.json]
        [--backbone DIR] [--dtype f32|f16|bf16] [--ignore-unknown]

Needs only numpy: a zip-format .pth (torch.save of PyTorch >= 1.6) is read without torch, by a
restricted unpickler that knows tensors, OrderedDict and plain containers and refuses any other
global (so no code from the file runs). Only the legacy non-zip format needs torch (torch.load);
SIBVAD_NO_TORCH=1 in the environment forbids importing torch (tests).

IN.pth: a state dict, or a dict with a 'model', 'state_dict' or 'model_state_dict' entry; a
'module.' prefix (DataParallel / DDP) is removed. The names are those of spec section 9 (and of
tools/reference/sibvad_ref.py), so tensors are copied, never renamed.

Config: the --preset (default paper) or the --config JSON (as sibvad_config_from_json reads it).
The sizes that the tensors show (widths, depths, MLP/FFN ratios, SFFM filters and bottleneck,
frames_in, semantic sizes, layer scale) are taken from them; a key the --config file gives
explicitly that disagrees is an error, as is any tensor whose shape the final config does not
predict (the message names the tensor and both shapes). Tensors the model does not have are
listed and refused unless --ignore-unknown; missing trainable tensors are an error naming them.

--backbone DIR: a Hugging Face InternVL2.5 (or standalone InternViT) directory. Its vision
tensors are COPIED into the output for every vision_model.* tensor the .pth lacks (the .pth's own
win), so the output is self-contained and loads with sibvad_model_load; heads and LayerNorm eps
come from its config.json. Without it, a .pth without the frozen backbone is refused.

The output is written as sibvad writes (header padded to 8, __metadata__ format "sibvad-1" and
sibvad_config in the byte form of sibvad_config_to_json), with --dtype F32 (default), F16 or BF16.
Sin-cos position buffers are copied when present (the loader recomputes them anyway).
"""
import argparse
import collections
import json
import os
import pickle
import re
import struct
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
from sibvad_config import CONFIG_KEYS, FLOAT_KEYS, load_config, preset, validate  # noqa: E402

FIXED = ("motion_encoder.motion_pos_embed", "decoder.decoder_pos_embed")
# safetensors dtype -> numpy dtype it is read as (BF16: its bits, widened to float32 on reading)
ST_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"), "F64": np.dtype("<f8")}


class ConvertError(Exception):
    pass


def expected_shapes(c):
    """name -> shape of every tensor of the model of config c (the twin's state_dict names)."""
    W, D, Dm, T, C, p = c["bb_width"], c["d_model"], c["mo_width"], c["frames_in"], c["channels"], c["patch"]
    n1 = (c["img_h"] // p) * (c["img_w"] // p) + 1
    s = {}

    def lin(name, i, o, bias=True):
        s[name + ".weight"] = [o, i]
        if bias:
            s[name + ".bias"] = [o]

    def ln(name, d):
        s[name + ".weight"], s[name + ".bias"] = [d], [d]

    def block(pre, d, hidden, ls=False):
        if ls:
            s[pre + ".ls1"], s[pre + ".ls2"] = [d], [d]
        ln(pre + ".norm1", d)
        lin(pre + ".attn.qkv", d, 3 * d)
        lin(pre + ".attn.proj", d, d)
        ln(pre + ".norm2", d)
        lin(pre + ".mlp.fc1", d, hidden)
        lin(pre + ".mlp.fc2", hidden, d)

    e = "vision_model.embeddings."
    s[e + "class_embedding"], s[e + "position_embedding"] = [1, 1, W], [1, n1, W]
    s[e + "patch_embedding.weight"], s[e + "patch_embedding.bias"] = [W, C, p, p], [W]
    for i in range(c["bb_depth"]):
        block("vision_model.encoder.layers.%d" % i, W, c["bb_mlp"], bool(c["bb_layerscale"]))
    lin("visual_project", W, D)
    lin("temporal_project", T * D, D)
    lin("patch_emb_project", W, D)
    lin("text_project", c["sem_dim"], D)
    lin("frame_diff_project", (T - 1) * Dm, D)
    s["motion_encoder.cls_token"], s[FIXED[0]] = [1, 1, Dm], [1, n1, Dm]
    s["motion_encoder.patch_emb.proj.weight"], s["motion_encoder.patch_emb.proj.bias"] = [Dm, C, p, p], [Dm]
    for i in range(c["mo_depth"]):
        block("motion_encoder.encoder_blocks.%d" % i, Dm, Dm * c["mo_mlp_ratio"])
    for i in range(c["fu_depth"]):
        pre = "joint_cross_attn.blocks.%d." % i
        for n in ("ln_attn", "ln_y", "ln_z", "ln_ff"):
            ln(pre + n, D)
        for n in ("to_q", "to_k_y", "to_v_y", "to_k_z", "to_v_z", "out_proj"):
            lin(pre + "attn." + n, D, D)
        lin(pre + "ff.net.0", D, D * c["fu_ffn_ratio"])
        lin(pre + "ff.net.3", D * c["fu_ffn_ratio"], D)
    for i in range(c["fu_depth"]):
        s["joint_cross_attn.attn_gammas.%d" % i], s["joint_cross_attn.ff_gammas.%d" % i] = [1], [1]
    s[FIXED[1]] = [1, n1 + 1, D]
    lin("decoder.rgb_project.0", 2 * D, c["rgb_hidden"])
    lin("decoder.rgb_project.2", c["rgb_hidden"], D)
    for i in range(c["de_depth"]):
        block("decoder.decoder_blocks.%d" % i, D, D * c["de_mlp_ratio"])
    for i in range(c["de_depth"]):
        pre = "decoder.moes.%d." % i
        lin(pre + "gate", D, c["sffm_nr"], bias=False)
        filters = [("experts.%d" % j, c["sffm_b"]) for j in range(c["sffm_nr"])]
        if c["sffm_ns"] > 0:
            filters.append(("shared_experts", c["sffm_b"] * c["sffm_ns"]))
        for f, b in filters:
            ln(pre + f + ".pre_norm", D)
            lin(pre + f + ".down_proj", D, b)
            lin(pre + f + ".up_proj", b, D)
    ln("decoder.decoder_norm", D)
    lin("decoder.decoder_pred", 2 * D, p * p * C)
    s["decoder.final_conv.0.weight"], s["decoder.final_conv.0.bias"] = [C, C, 3, 3], [C]
    s["decoder.final_conv.2.weight"], s["decoder.final_conv.2.bias"] = [C, C, 1, 1], [C]
    lin("decoder.text_recon.0", D, c["sem_hidden"])
    lin("decoder.text_recon.2", c["sem_hidden"], c["sem_dim"])
    return s


def infer(sd):
    """(key, value, evidence) for every config size the tensors show."""
    out = []

    def shape(name):
        return list(sd[name].shape) if name in sd else None

    def count(prefix):
        pat = re.compile(re.escape(prefix) + r"(\d+)\.")
        idx = {int(m.group(1)) for k in sd for m in [pat.match(k)] if m}
        return (max(idx) + 1 if idx else 0), prefix + "*"

    def ratio(key, name, dim, div):
        sh = shape(name)
        if sh:
            if sh[dim] % div:
                raise ConvertError("%s %s: not a multiple of %d (%s)" % (name, sh, div, key))
            out.append((key, sh[dim] // div, "%s %s" % (name, sh)))

    def put(key, name, dim):
        ratio(key, name, dim, 1)

    put("bb_width", "visual_project.weight", 1)
    put("d_model", "visual_project.weight", 0)
    put("sem_dim", "text_project.weight", 1)
    put("mo_width", "motion_encoder.patch_emb.proj.weight", 0)
    put("channels", "motion_encoder.patch_emb.proj.weight", 1)
    put("patch", "motion_encoder.patch_emb.proj.weight", 2)
    put("rgb_hidden", "decoder.rgb_project.0.weight", 0)
    put("sem_hidden", "decoder.text_recon.0.weight", 0)
    if "visual_project.weight" in sd:
        D = sd["visual_project.weight"].shape[0]
        ratio("frames_in", "temporal_project.weight", 1, D)
        ratio("fu_ffn_ratio", "joint_cross_attn.blocks.0.ff.net.0.weight", 0, D)
        ratio("de_mlp_ratio", "decoder.decoder_blocks.0.mlp.fc1.weight", 0, D)
    if "motion_encoder.patch_emb.proj.weight" in sd:
        ratio("mo_mlp_ratio", "motion_encoder.encoder_blocks.0.mlp.fc1.weight", 0,
              sd["motion_encoder.patch_emb.proj.weight"].shape[0])
    put("bb_mlp", "vision_model.encoder.layers.0.mlp.fc1.weight", 0)
    for key, prefix in (("bb_depth", "vision_model.encoder.layers."), ("mo_depth", "motion_encoder.encoder_blocks."),
                        ("fu_depth", "joint_cross_attn.blocks."), ("de_depth", "decoder.decoder_blocks."),
                        ("sffm_nr", "decoder.moes.0.experts.")):
        n, ev = count(prefix)
        if n or key not in ("sffm_nr", "bb_depth"):
            out.append((key, n, ev))
    if "vision_model.encoder.layers.0.norm1.weight" in sd:
        out.append(("bb_layerscale", int("vision_model.encoder.layers.0.ls1" in sd),
                    "vision_model.encoder.layers.0.ls1 present or not"))
    b = shape("decoder.moes.0.experts.0.down_proj.weight")
    if b:
        out.append(("sffm_b", b[0], "decoder.moes.0.experts.0.down_proj.weight %s" % b))
        sh = shape("decoder.moes.0.shared_experts.down_proj.weight")
        if sh and sh[0] % b[0]:
            raise ConvertError("decoder.moes.0.shared_experts.down_proj.weight %s: not a multiple of sffm_b %d"
                               % (sh, b[0]))
        out.append(("sffm_ns", sh[0] // b[0] if sh else 0,
                    "decoder.moes.0.shared_experts.down_proj.weight %s" % (sh or "absent")))
    return out


def bf16_to_f32(bits):
    """uint16 bfloat16 bit patterns -> float32 (exact)."""
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def f32_to_bf16(a):
    """float32 -> uint16 bfloat16 bit patterns, rounded to nearest even as torch's .bfloat16() (bit for
    bit, but a NaN becomes 0x7fc0)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
    return np.where(np.isnan(a), np.uint16(0x7FC0), r)


# torch storage class -> (numpy dtype of its little-endian bytes, bfloat16)
_STORAGES = {
    "FloatStorage": ("<f4", False), "DoubleStorage": ("<f8", False), "HalfStorage": ("<f2", False),
    "BFloat16Storage": ("<u2", True), "LongStorage": ("<i8", False), "IntStorage": ("<i4", False),
    "ShortStorage": ("<i2", False), "CharStorage": ("i1", False), "ByteStorage": ("u1", False),
    "BoolStorage": ("?", False),
}


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """torch._utils._rebuild_tensor_v2 with numpy: a strided view of the storage, copied."""
    flat, bf16 = storage
    size, stride = tuple(int(x) for x in size), tuple(int(x) for x in stride)
    if any(x < 0 for x in size + stride) or offset < 0:
        raise ConvertError("tensor with negative size, stride or offset")
    if all(size):
        last = offset + sum((n - 1) * st for n, st in zip(size, stride))
        if last >= flat.size:
            raise ConvertError("tensor of size %s stride %s offset %d past its storage of %d"
                               % (list(size), list(stride), offset, flat.size))
        a = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                            strides=[st * flat.itemsize for st in stride]).copy()
    else:
        a = np.zeros(size, dtype=flat.dtype)
    a = a.astype(a.dtype.newbyteorder("="))
    return bf16_to_f32(a) if bf16 else a


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


class _PthUnpickler(pickle.Unpickler):
    """Only what a state dict pickled by torch.save needs: tensors, OrderedDict and plain
    containers. Any other global is refused, so no code from the file is ever run."""
    GLOBALS = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    }

    def __init__(self, f, zf, prefix, path):
        super().__init__(f)
        self.zf, self.prefix, self.path, self.storages = zf, prefix, path, {}

    def find_class(self, module, name):
        if (module, name) in self.GLOBALS:
            return self.GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        raise ConvertError("%s: refusing to unpickle %s.%s (only tensors, OrderedDict and plain containers "
                           "are read)" % (self.path, module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ConvertError("%s: unsupported persistent id %r" % (self.path, pid[:2]))
        _, st, key, _location, numel = pid
        if key not in self.storages:
            dt, bf16 = _STORAGES[st.name]
            raw = self.zf.read("%sdata/%s" % (self.prefix, key))
            dt = np.dtype(dt)
            if len(raw) < numel * dt.itemsize:
                raise ConvertError("%s: storage %s holds %d bytes, %d %s expected"
                                   % (self.path, key, len(raw), numel, st.name))
            self.storages[key] = (np.frombuffer(raw, dtype=dt, count=numel), bf16)
        return self.storages[key]


def load_pth(path):
    """The object torch.save wrote to path (zip format, PyTorch >= 1.6), tensors as numpy arrays,
    read without torch. The legacy (non-zip) format needs torch (torch.load)."""
    if not zipfile.is_zipfile(path):
        if os.environ.get("SIBVAD_NO_TORCH"):
            torch = None
        else:
            try:
                import torch
            except ImportError:
                torch = None
        if torch is None:
            raise ConvertError("%s: not a zip-format .pth (PyTorch >= 1.6 torch.save); the legacy format "
                               "needs torch: install python3-torch, or re-save it with a recent torch" % path)
        obj = torch.load(path, map_location="cpu")

        def conv(o):
            if torch.is_tensor(o):
                o = o.detach()
                return bf16_to_f32(o.view(torch.int16).numpy().view(np.uint16)) if o.dtype == torch.bfloat16 \
                    else o.numpy().copy()
            if isinstance(o, dict):
                return type(o)((k, conv(v)) for k, v in o.items()) if isinstance(o, collections.OrderedDict) \
                    else {k: conv(v) for k, v in o.items()}
            return o
        return conv(obj)
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ConvertError("%s: a zip without exactly one <name>/data.pkl (not a torch.save file)" % path)
        prefix = pkl[0][:-len("data.pkl")]
        if prefix + "byteorder" in zf.namelist() and zf.read(prefix + "byteorder").strip() != b"little":
            raise ConvertError("%s: big-endian checkpoint" % path)
        with zf.open(pkl[0]) as f:
            return _PthUnpickler(f, zf, prefix, path).load()


def read_checkpoint(path):
    obj = load_pth(path)
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise ConvertError("%s: not a state dict (a %s)" % (path, type(obj).__name__))
    sd = {}
    for k, v in obj.items():
        name = k[len("module."):] if k.startswith("module.") else k
        sd[name] = v
    return sd


def read_st(path, want=None):
    """name -> numpy array of a safetensors file (floating dtypes; BF16 widened to float32), only the
    names in want if given."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        base, out = 8 + n, {}
        for name, info in header.items():
            if name == "__metadata__" or (want is not None and name not in want):
                continue
            if info["dtype"] not in ST_DTYPES:
                raise ConvertError("%s: %s has dtype %s" % (path, name, info["dtype"]))
            b, e = info["data_offsets"]
            f.seek(base + b)
            a = np.frombuffer(f.read(e - b), dtype=ST_DTYPES[info["dtype"]]).reshape(info["shape"])
            a = bf16_to_f32(a) if info["dtype"] == "BF16" else a.astype(a.dtype.newbyteorder("="))
            out[name] = a
    return out


def read_backbone(d, names):
    """The vision tensors named (as vision_model.*) from an HF directory, and its vision config."""
    with open(os.path.join(d, "config.json")) as f:
        cj = json.load(f)
    internvl = "vision_config" in cj
    vc = cj.get("vision_config", cj)
    prefix = "vision_model." if internvl else ""
    src = {n: prefix + n[len("vision_model."):] for n in names}
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            wmap = json.load(f)["weight_map"]
        files = sorted({wmap[s] for s in src.values() if s in wmap})
    else:
        files = ["model.safetensors"]
    got = {}
    for fn in files:
        got.update(read_st(os.path.join(d, fn), set(src.values())))
    out = {n: got[s] for n, s in src.items() if s in got}
    for n, s in src.items():   # no qkv bias (qkv_bias false): zeros, as the C loader does
        if n not in out and n.endswith("attn.qkv.bias") and not vc.get("qkv_bias", True):
            out[n] = np.zeros(3 * vc["hidden_size"], dtype=np.float32)
    return out, vc


def config_json(c):
    """The byte form of sibvad_config_to_json: struct order, ", " / ": ", %.9g floats."""
    parts = []
    for k in CONFIG_KEYS:
        v = c[k]
        if k == "preset":
            s = json.dumps(v)
        elif k in FLOAT_KEYS:
            s = "%.9g" % float(np.float32(v))
        else:
            s = "%d" % v
        parts.append('"%s": %s' % (k, s))
    return "{" + ", ".join(parts) + "}"


def write_st(path, tensors, dtype, metadata):
    """Write tensors (name -> numpy array, in order) as safetensors in dtype (F32, F16 or BF16; rounded
    to nearest even), via a temporary file renamed over path; one tensor converted at a time."""
    size = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    header, off = {}, 0
    for name, t in tensors.items():
        n = int(np.prod(np.shape(t), dtype=np.int64)) * size
        header[name] = {"dtype": dtype, "shape": list(np.shape(t)), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            for t in tensors.values():
                t = np.asarray(t)
                if dtype == "BF16":
                    a = f32_to_bf16(t.astype(np.float32)).astype("<u2")
                else:
                    with np.errstate(over="ignore"):   # F16: beyond 65504 -> inf, as torch
                        a = t.astype("<f4" if dtype == "F32" else "<f2")
                f.write(np.ascontiguousarray(a).tobytes())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def convert(args):
    sd = read_checkpoint(args.input)
    if args.config:
        cfg = load_config(args.config)
        with open(args.config) as f:
            explicit = set(json.load(f)) - {"preset"}
    else:
        cfg, explicit = preset(args.preset), set()
    log = []

    def settle(key, value, evidence):
        same = (np.float32(cfg[key]) == np.float32(value)) if key in FLOAT_KEYS else cfg[key] == value
        if same:
            return
        if key in explicit:
            raise ConvertError("%s: %s = %r in %s, but %s says %r" % (key, key, cfg[key], args.config,
                                                                     evidence, value))
        log.append("%s: %r -> %r (%s)" % (key, cfg[key], value, evidence))
        cfg[key] = value

    # The backbone: copy what the .pth lacks from --backbone (its config sets heads and eps).
    vis = [k for k in sd if k.startswith("vision_model.")]
    if args.backbone:
        with open(os.path.join(args.backbone, "config.json")) as f:
            cj = json.load(f)
        vc = cj.get("vision_config", cj)
        settle("bb_heads", vc["num_attention_heads"], "%s/config.json" % args.backbone)
        settle("bb_ln_eps", float(vc["layer_norm_eps"]), "%s/config.json" % args.backbone)
    for key, value, evidence in infer(sd):
        settle(key, value, evidence)
    if args.backbone:
        settle("bb_width", vc["hidden_size"], "%s/config.json" % args.backbone)
        settle("bb_depth", vc["num_hidden_layers"], "%s/config.json" % args.backbone)
        settle("bb_mlp", vc["intermediate_size"], "%s/config.json" % args.backbone)
        settle("bb_layerscale", 1, "InternViT")
    validate(cfg)
    shapes = expected_shapes(cfg)
    if args.backbone:
        need = [k for k in shapes if k.startswith("vision_model.") and k not in sd]
        got, _ = read_backbone(args.backbone, need)
        sd.update(got)
        log.append("backbone: %d tensors copied from %s, %d kept from the checkpoint"
                   % (len(got), args.backbone, len(vis)))

    unknown = [k for k in sd if k not in shapes]
    bad_type = [k for k in sd if k in shapes and not (isinstance(sd[k], np.ndarray) and sd[k].dtype.kind == "f")]
    if unknown and not args.ignore_unknown:
        raise ConvertError("%d tensors the model does not have (--ignore-unknown to drop them): %s"
                           % (len(unknown), ", ".join(unknown)))
    if bad_type:
        raise ConvertError("not floating-point tensors: %s" % ", ".join(bad_type))
    missing = [k for k in shapes if k not in sd and k not in FIXED]
    if missing:
        hint = " (the frozen backbone: pass --backbone DIR)" if all(
            k.startswith("vision_model.") for k in missing) else ""
        raise ConvertError("%d tensors missing%s: %s" % (len(missing), hint, ", ".join(missing)))
    wrong = ["%s: checkpoint %s, config %s" % (k, list(sd[k].shape), shapes[k])
             for k in shapes if k in sd and list(sd[k].shape) != shapes[k]]
    if wrong:
        raise ConvertError("shape mismatch (config %s; img_h, img_w, heads and eps are not inferred: set them "
                           "with --config):\n  %s" % (cfg["preset"], "\n  ".join(wrong)))

    tensors = {k: sd[k] for k in shapes if k in sd}
    meta = {"format": "sibvad-1", "sibvad_config": config_json(cfg),
            "generator": "tools/convert-pth.py", "source": os.path.basename(args.input)}
    write_st(args.output, tensors, args.dtype.upper(), meta)
    return cfg, tensors, log, unknown


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="the .pth checkpoint")
    ap.add_argument("output", help="the sibvad model file to write (.safetensors)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--preset", default="paper", choices=("paper", "lite", "tiny"))
    g.add_argument("--config", help="a config JSON (sibvad_config_from_json form)")
    ap.add_argument("--backbone", help="HF InternVL2.5 / InternViT directory: vision tensors copied in")
    ap.add_argument("--dtype", default="f32", choices=("f32", "f16", "bf16"))
    ap.add_argument("--ignore-unknown", action="store_true", help="drop tensors the model does not have")
    args = ap.parse_args()
    try:
        cfg, tensors, log, unknown = convert(args)
    except (ConvertError, ValueError, OSError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as e:
        sys.exit("convert-pth: %s" % e)
    for line in log:
        print("config " + line)
    if unknown:
        print("dropped %d unknown tensors: %s" % (len(unknown), ", ".join(unknown)))
    print("wrote %s: %d tensors (%s), preset %s, %d parameters" % (
        args.output, len(tensors), args.dtype, cfg["preset"], sum(t.size for t in tensors.values())))


if __name__ == "__main__":
    main()
