#!/usr/bin/python3
"""make-corpus.py: writes the seed corpus of the fuzz targets, tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/make-corpus.py        (numpy only; deterministic: same bytes each run)

Every seed is a small valid input (a few KB at most) of the format its target feeds, made here
from first principles: safetensors files and model files written byte by byte (the model's
tensor table and config JSON come from tools/convert-pth.py, which mirrors the C table), .npy
files by numpy.lib.format, MAT v5 files by a small writer below (uncompressed, zlib-compressed,
big-endian), JSON texts, label files, caps strings, and the byte "programs" that
fuzz_gst_filter.c reads (see the comments there). A few seeds are deliberately just invalid (a
missing key, a wrong type) so that the error paths start covered. Files of the fixtures
(tests/fixtures) that are small enough are copied as they are.

It also writes the libFuzzer dictionaries tests/fuzz/<target>.dict (the keywords of each format) that
scripts/fuzz passes with -dict.

The folder is rewritten: files this script does not make are removed (a minimised corpus from
scripts/fuzz --merge is merged again by rerunning that, not by this script).
"""
import importlib.util
import io
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")

spec = importlib.util.spec_from_file_location("convert_pth", os.path.join(ROOT, "tools", "convert-pth.py"))
convert_pth = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convert_pth)
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import sibvad_config  # noqa: E402

corpus = {}


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    corpus.setdefault(target, {})[name] = bytes(data)


# ---------------------------------------------------------------- safetensors

def st_bytes(tensors, metadata=None, pad_to=8, odd=None, raw_header=None):
    """tensors: [(name, dtype, shape, bytes)] in file order. odd: force the header length's parity
    (its low byte is the file's first byte, which fuzz_model_load reads as the checkpoint switch)."""
    header, data, off = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, b in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad_to:
        h += b" " * (-(8 + len(h)) % pad_to)
    if odd is not None and (len(h) & 1) != odd:
        h += b" "
    return struct.pack("<Q", len(h)) + h + data


def arr(a):
    return np.ascontiguousarray(a).tobytes()


rng = np.random.RandomState(1234)
f32 = rng.standard_normal(6).astype("<f4")
put("safetensors", "f32", st_bytes([("w", "F32", [2, 3], arr(f32))], {"format": "pt"}))
put("safetensors", "dtypes", st_bytes([
    ("a.f16", "F16", [3], arr(np.array([1.5, -0.0, 65504], "<f2"))),
    ("a.bf16", "BF16", [2], arr((np.array([1.0, -2.5], "<f4").view("<u4") >> 16).astype("<u2"))),
    ("a.f64", "F64", [2], arr(np.array([1e300, -3.25], "<f8"))),
    ("a.i64", "I64", [1], arr(np.array([-7], "<i8"))),
    ("a.i32", "I32", [2], arr(np.array([1, 2], "<i4"))),
    ("a.u8", "U8", [3], b"\x01\x02\x03"),
    ("a.bool", "BOOL", [2], b"\x00\x01"),
], {"k": "v", "format": "sibvad-1"}, pad_to=0))
put("safetensors", "special", st_bytes([
    ("scalar", "F32", [], arr(np.array([3.0], "<f4"))),
    ("empty", "F32", [0, 4], b""),
    ("f16.sub", "F16", [4], arr(np.array([6e-8, np.inf, np.nan, -1e-5], "<f2"))),
    ("unicode.\u00e9\u6771", "F32", [1, 1, 1, 1, 1, 1, 1, 1], arr(np.array([1], "<f4"))),
]))
put("safetensors", "meta-only", st_bytes([], {"only": "metadata", "esc": "a\"b\\c\u0001"}))
put("safetensors", "empty-header", st_bytes([], None))
put("safetensors", "bad-overlap", st_bytes([], raw_header=b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                                                         b'"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}') + b"abc")

# ---------------------------------------------------------------- model files

def micro_config(depth):
    c = sibvad_config.preset("tiny")
    c.update(preset="", img_h=8, img_w=12, channels=1, patch=4, frames_in=2, bb_width=4, bb_depth=depth,
             bb_heads=1, bb_mlp=4, bb_layerscale=1, bb_frozen=0, mo_width=4, mo_depth=depth, mo_heads=1,
             mo_mlp_ratio=1, d_model=4, fu_depth=depth, fu_heads=1, fu_ffn_ratio=1, de_depth=depth, de_heads=1,
             de_mlp_ratio=1, rgb_hidden=4, sffm_nr=2, sffm_k=1, sffm_ns=depth, sffm_b=1, sem_dim=4,
             sem_hidden=4)
    return c


def calibration():
    return json.dumps({"count": 12, "vis_log_mean": -3.5, "vis_log_std": 0.25, "sem_log_mean": -1.0,
                       "sem_log_std": 0.5, "vis_quantiles": [0.5, 1.2, 1.6, 2.3, 3.1],
                       "sem_quantiles": [0.4, 1.1, 1.5, 2.2, 3.0]})


def model_file(c, dtype="F32", checkpoint=False, cal=True, seed=1):
    r = np.random.RandomState(seed)
    shapes = convert_pth.expected_shapes(c)
    conv = {"F32": lambda a: arr(a.astype("<f4")), "F16": lambda a: arr(a.astype("<f2")),
            "BF16": lambda a: arr((a.astype("<f4").view("<u4") >> 16).astype("<u2"))}[dtype]
    tensors = []
    for name, shape in shapes.items():
        if name in convert_pth.FIXED:
            continue
        a = (r.standard_normal(int(np.prod(shape))) * 0.1).reshape(shape)
        tensors.append((name, dtype, shape, conv(a)))
    meta = {"format": "sibvad-1", "sibvad_config": convert_pth.config_json(c)}
    if cal:
        meta["sibvad_calibration"] = calibration()
    if checkpoint:
        for name, shape in shapes.items():
            if name in convert_pth.FIXED:
                continue
            for k in "mv":
                a = np.abs(r.standard_normal(int(np.prod(shape)))).reshape(shape) * 1e-3
                tensors.append(("adam.%s.%s" % (k, name), "F32", shape, arr(a.astype("<f4"))))
        meta["adam_step"] = "42"
        meta["train_state"] = '{"epoch": 3}'
    return st_bytes(tensors, meta, odd=1 if checkpoint else 0)


put("model_load", "micro-f32", model_file(micro_config(0)))
put("model_load", "micro-f16-nocal", model_file(micro_config(0), "F16", cal=False, seed=2))
put("model_load", "micro-depth1-bf16", model_file(micro_config(1), "BF16", seed=3))
put("model_load", "micro-checkpoint", model_file(micro_config(0), checkpoint=True, seed=4))
bad = micro_config(0)
put("model_load", "bad-config", model_file(bad)[:8] + model_file(bad)[8:].replace(b'\\"img_h\\": 8', b'\\"img_h\\": 9'))

# ---------------------------------------------------------------- JSON and config JSON

put("json", "object", '{"a": [1, -2.5e-3, 1E+300, true, false, null], "b": {"c": "d\\n\\u00e9\\ud83d\\ude00"}, '
                      '"": ""}')
put("json", "nested", "[[[[[[[[[[{}]]]]]]]]]]")
put("json", "string-nul", '["a\\u0000b", "\\"\\\\\\/\\b\\f\\n\\r\\t", "\u6771\u4eac"]')
put("json", "numbers", "[0, -0, 0.5, 123456789012345678901234567890, -9223372036854775808, 9223372036854775807, "
                       "1e-400, 2.2250738585072014e-308]")
put("json", "key-nul", '{"a\\u0000": 1, "a": 2}')
put("json", "scalar", ' "just a string" ')
put("json", "header", json.dumps({"__metadata__": {"format": "pt"},
                                  "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}))

put("config_json", "tiny", '{"preset": "tiny"}')
put("config_json", "lite-override", '{"preset": "lite", "img_h": 320, "img_w": 480, "lr": 0.001, "bb_frozen": 1}')
put("config_json", "paper", convert_pth.config_json(sibvad_config.preset("paper")))
put("config_json", "micro-full", convert_pth.config_json(micro_config(1)))
put("config_json", "custom-name", convert_pth.config_json(dict(micro_config(0), preset="mine")))
put("config_json", "missing-key", '{"preset": "custom", "img_h": 8}')
put("config_json", "wrong-type", '{"preset": "tiny", "patch": 8.5, "lr": "fast"}')

# ---------------------------------------------------------------- Hugging Face checkpoint directories

for d in ("internvl", "internvit"):
    put("hf_config", d, open(os.path.join(FIX, "hf", d, "config.json"), "rb").read())
put("hf_config", "minimal", json.dumps({"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                                        "intermediate_size": 16, "patch_size": 7, "image_size": 14,
                                        "layer_norm_eps": 1e-6, "norm_type": "layer_norm",
                                        "qk_normalization": False, "qkv_bias": True}))
put("hf_config", "rms-norm", json.dumps({"vision_config": {"hidden_size": 8, "num_hidden_layers": 1,
                                                           "num_attention_heads": 2, "intermediate_size": 16,
                                                           "patch_size": 7, "image_size": 14,
                                                           "layer_norm_eps": 1e-6}, "force_image_size": 14}))
index = open(os.path.join(FIX, "hf", "internvl", "model.safetensors.index.json"), "rb").read()
put("hf_index", "internvl", index)
wm = json.loads(index)["weight_map"]
put("hf_index", "vision-only", json.dumps({"weight_map": {k: v for k, v in wm.items()
                                                          if k.startswith("vision_model.")}},
                                          separators=(",", ":")))
put("hf_index", "bad-name", json.dumps({"weight_map": {"vision_model.embeddings.patch_embedding.weight":
                                                       "../model-00001-of-00002.safetensors"}}))

# ---------------------------------------------------------------- WordPiece

texts = [
    "A person walks along the pavement.",
    "Héllo, WORLD!! naïve café — Ünïcödé façade",
    "東京タワーと大阪城 한국어 텍스트 中文字符",
    "don't stop-believing; (really) [CLS] ##ing 3.14159 $100 @user #tag",
    "tab\there\nnew line\r\nand\u00a0nbsp\u2028sep\u200bzero-width\u0007bell\ufeffbom",
    "x" * 101 + " " + "unaffable " * 3,
    "emoji 😀👍🏽 and math ∑∫√ and greek ΣΑΣ σς",
    "ÅÉÎÕÜ ǅ ﬁ ẞ İstanbul",
]
for i, t in enumerate(texts):
    put("wordpiece", "text%d" % i, bytes([(37 * i + 5) % 256]) + t.encode("utf-8"))
put("wordpiece", "invalid-utf8", b"\xff" + b"ok \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf end")

put("wordpiece_vocab", "tiny-bert", open(os.path.join(FIX, "bert", "vocab.txt"), "rb").read())
put("wordpiece_vocab", "crlf-repeats", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nthe\r\n##s\r\nthe\r\nwalk\r\n##ing\r\n"
                                       "caf\r\n##e\r\n,\r\n!\r\n東\r\n")
put("wordpiece_vocab", "no-newline-at-end", "[UNK]\n[CLS]\n[SEP]\na\n##b")
put("wordpiece_vocab", "missing-sep", "[UNK]\n[CLS]\nword\n")

# ---------------------------------------------------------------- .npy

def npy(a, version=(1, 0)):
    b = io.BytesIO()
    np.lib.format.write_array(b, np.asarray(a), version=version, allow_pickle=False)
    return b.getvalue()


put("npy", "f32-1x8", npy(np.arange(8, dtype="<f4").reshape(1, 8)))
put("npy", "u8-v2", npy(np.array([0, 1, 1, 0], "u1"), (2, 0)))
put("npy", "bool-v3", npy(np.array([True, False, True]), (3, 0)))
put("npy", "i64-be", npy(np.array([[1], [-2], [3]], ">i8")))
put("npy", "f16-fortran", npy(np.asfortranarray(np.array([[0.5, 1.5, np.inf]], "<f2"))))
put("npy", "f64-scalar", npy(np.float64(2.5)))
put("npy", "u16-empty", npy(np.zeros((0, 3), "<u2")))
put("npy", "i8-3d", npy(np.arange(-6, 6, dtype="i1").reshape(2, 3, 2)))
put("npy", "u32-i16", npy(np.array([1, 65535], "<u4")) + npy(np.array([-1], "<i2")))
put("npy", "bad-descr", npy(np.array([1.0], "<f4")).replace(b"'<f4'", b"'<c8'"))

# ---------------------------------------------------------------- MAT v5

MI = {"int8": 1, "uint8": 2, "int16": 3, "uint16": 4, "int32": 5, "uint32": 6, "single": 7, "double": 9,
      "int64": 12, "uint64": 13, "matrix": 14, "compressed": 15, "utf8": 16, "utf16": 17, "utf32": 18}
CLS = {"cell": 1, "struct": 2, "char": 4, "double": 6, "single": 7, "int8": 8, "uint8": 9, "int16": 10,
       "uint16": 11, "int32": 12, "uint32": 13, "int64": 14, "uint64": 15}


def mat_elem(e, typ, data, small=True):
    if small and len(data) <= 4 and typ != MI["matrix"]:
        # the 32-bit word holds the byte count in its upper half and the type in its lower half
        word = struct.pack(e + "I", len(data) << 16 | typ)
        return word + data + b"\0" * (4 - len(data))
    return struct.pack(e + "II", typ, len(data)) + data + b"\0" * (-len(data) % 8)


def mat_matrix(e, name, cls, dims, values=None, vtype="double", cells=None, logical=False, contents_only=False):
    flags = CLS[cls] | (0x200 if logical else 0)
    body = mat_elem(e, MI["uint32"], struct.pack(e + "II", flags, 0), small=False)
    body += mat_elem(e, MI["int32"], struct.pack(e + "%di" % len(dims), *dims), small=False)
    body += mat_elem(e, MI["int8"], name.encode())
    if cells is not None:
        for c in cells:
            body += mat_elem(e, MI["matrix"], c)
    elif values is not None:
        np_t = {"double": "f8", "single": "f4", "uint8": "u1", "int8": "i1", "int16": "i2", "uint16": "u2",
                "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8", "utf8": "u1",
                "utf16": "u2", "utf32": "u4"}[vtype]
        body += mat_elem(e, MI[vtype], np.asarray(values, (">" if e == ">" else "<") + np_t).tobytes())
    return body if contents_only else mat_elem(e, MI["matrix"], body)


def mat_file(e, variables, compress=False, text=b"MATLAB 5.0 MAT-file, made by make-corpus.py"):
    hdr = text.ljust(116, b" ") + b"\0" * 8 + (b"\x01\x00" + b"MI" if e == ">" else b"\x00\x01" + b"IM")
    out = hdr
    for v in variables:
        out += mat_elem(e, MI["compressed"], zlib.compress(v), small=False)[:8 + len(zlib.compress(v))] \
            if compress else v
    return out


def gt_cells(e, intervals):
    cells = []
    for iv in intervals:
        if iv is None:
            cells.append(b"")
            continue
        m = np.asarray(iv, "f8")            # 2 x M, column-major
        cells.append(mat_matrix(e, "", "double", list(m.shape), m.T.ravel(), contents_only=True))
    return mat_matrix(e, "gt", "cell", [1, len(cells)], cells=cells)


gt = [[[2], [3]], [[1, 5], [2, 6]], None]
put("matv5", "gt-le", mat_file("<", [gt_cells("<", gt)]))
put("matv5", "gt-be-compressed", mat_file(">", [gt_cells(">", gt)], compress=True))
put("matv5", "types", mat_file("<", [
    mat_matrix("<", "c", "char", [1, 5], [ord(ch) for ch in "hello"], "uint16"),
    mat_matrix("<", "u", "char", [1, 3], list("abc".encode()), "utf8"),
    mat_matrix("<", "m", "double", [2, 2], [1, 0, 0, 1], "uint8", logical=True),
    mat_matrix("<", "s", "single", [1, 2], [0.5, -1.5], "single"),
    mat_matrix("<", "i", "int32", [3, 1, 1], [-1, 0, 1], "int16"),
    mat_matrix("<", "z", "uint64", [1, 1], [2 ** 63], "uint64"),
    mat_matrix("<", "e", "double", [0, 0]),
]))
put("matv5", "nested-struct", mat_file("<", [
    mat_matrix("<", "st", "struct", [1, 1]),
    mat_matrix("<", "nest", "cell", [1, 1], cells=[mat_matrix("<", "", "cell", [1, 1], cells=[
        mat_matrix("<", "", "double", [1, 2], [4, 5], contents_only=True)], contents_only=True)]),
]))
put("matv5", "v73", b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(128, b" "))

# ---------------------------------------------------------------- labels (mode byte, query byte, content)
# query byte 2: three videos of 5, 8 and 3 frames; 0: one video of 5 frames

text_labels = "# video ranges\n01 2-3\n02: mask 0011 0011\n03 none\n99 1-1000\n"
npy_concat = npy(np.array([0, 1, 1, 0, 0] + [0, 0, 1, 1, 0, 0, 1, 1] + [0, 0, 0], "u1"))
mat_labels = mat_file("<", [gt_cells("<", [[[2], [3]], [[3, 7], [4, 8]], None])], compress=True)
npy_dir = npy(np.array([0, 1, 1, 0, 0], "u1")) + b"#####" + npy(np.zeros((1, 8), "<f4")) + b"#####" + \
    npy(np.array([[1], [0], [1]], "?"))
for mode, content in enumerate([text_labels.encode(), npy_concat, mat_labels, npy_dir]):
    put("labels", "direct-%d" % mode, bytes([mode, 2]) + content)
    put("labels", "find-%d" % mode, bytes([4 + mode, 2]) + content)
    put("labels", "path-%d" % mode, bytes([0x80 | (4 + mode), 2]) + content)
put("labels", "text-one-video", bytes([0, 0]) + b"01 1,3-4,5\n")
put("labels", "bad-value", bytes([1, 0]) + npy(np.array([0, 2, 0, 0, 0], "u1")))

# ---------------------------------------------------------------- semantic sidecars

vec = [npy(rng.standard_normal((1, 1, 32)).astype("<f4")) for _ in range(5)]
put("semantic", "all-five", b"#####".join(vec))
put("semantic", "flat-and-missing", b"#####".join([npy(np.ones(32, "<f4")), b"", vec[2], b"", vec[4]]))
put("semantic", "f16-f64", b"#####".join([npy(np.ones((1, 1, 8), "<f2")), npy(np.zeros(8, "<f8"))]))
put("semantic", "length-mismatch", b"#####".join([vec[0], npy(np.ones((1, 1, 16), "<f4"))]))

# ---------------------------------------------------------------- gst_filter programs (see fuzz_gst_filter.c)

def caps_bytes(fmt, w, h, rate=0):
    return bytes([fmt]) + struct.pack("<HH", w - 1, h - 1) + bytes([rate])


def buffer_bytes(how=3, seed=7, step=3, meta=0, sem=None, caption=None, extra=b""):
    b = bytes([how]) + extra
    b += bytes([seed, step])
    m = bytes([meta])
    if meta & 1:
        if not meta & 2:
            m += bytes([len(sem)])
        if meta & 4:
            m += b"".join(struct.pack("<f", v) for v in sem)
        else:
            m += bytes(int(v * 64 + 128) & 255 for v in sem)
    if meta & 8:
        c = caption.encode()
        m += bytes([len(c)]) + c
    return b + m


def program(flags, flags2, fmt, w, h, buffers, rate=0, sigma=4, threshold=128 + 16):
    p = bytes([flags, flags2, sigma, threshold]) + caps_bytes(fmt, w, h, rate) + bytes([len(buffers) - 1])
    for ev, buf in buffers:
        p += bytes([ev]) + buf
    return p


plain = [(255, buffer_bytes(how=3 | 0x20)) for _ in range(6)]
for fmt in range(9):
    w, h = [(24, 16), (1, 1), (7, 5), (33, 17), (2, 2), (300, 1), (1, 300), (31, 19), (64, 48)][fmt]
    put("gst_filter", "format%d-%dx%d" % (fmt, w, h), program(2 | 4 | (fmt & 1), 0, fmt, w, h, plain, rate=fmt))
sem32 = [0.25 * ((i * 7) % 9 - 4) for i in range(32)]
put("gst_filter", "semantic-meta", program(0x40 | 2 | 8, 1 | 4, 1, 24, 16,
                                           [(255, buffer_bytes(how=0x23, meta=1 | 2, sem=sem32))] * 6 +
                                           [(255, buffer_bytes(how=0x23, meta=1 | 4, sem=[1.0, float("nan")]))]))
put("gst_filter", "caption", program(0x80 | 1, 0x10, 7, 26, 18,
                                     [(255, buffer_bytes(how=0x23, meta=8, caption="a person walks"))] * 5 +
                                     [(255, buffer_bytes(how=0x23, meta=8 | 1 | 2, sem=sem32, caption="東京"))]))
put("gst_filter", "broken-buffers", program(2, 8, 8, 9, 7, [
    (255, buffer_bytes(how=0, extra=struct.pack("<H", 10))), (255, buffer_bytes(how=1)),
    (255, buffer_bytes(how=2, extra=b"\x05")), (255, buffer_bytes(how=3 | 0x08, extra=b"\x03")),
    (255, buffer_bytes(how=3 | 0x10)), (255, buffer_bytes(how=3 | 0x18 | 0x40))]))
put("gst_filter", "renegotiate-flush", program(4 | 8 | 0x10, 2 | 0x60, 3, 20, 20, [
    (255, buffer_bytes()), (255, buffer_bytes()), (0, caps_bytes(1, 13, 11, 3) + buffer_bytes()),
    (255, buffer_bytes()), (20, buffer_bytes()), (25, buffer_bytes()), (255, buffer_bytes())]))

# ---------------------------------------------------------------- caps strings

caps = [
    "video/x-raw,format=GRAY8,width=24,height=16,framerate=25/1",
    "video/x-raw,format=RGB,width=7,height=5,framerate=0/1",
    "video/x-raw,format=I420,width=33,height=17,framerate=30000/1001,colorimetry=bt709,chroma-site=mpeg2,"
    "interlace-mode=progressive",
    "video/x-raw,format=NV12,width=2,height=2,colorimetry=bt601,pixel-aspect-ratio=16/15",
    "video/x-raw,format=BGRA,width=1,height=1,pixel-aspect-ratio=4/3",
    "video/x-raw,format=RGBx,width=24,height=16,colorimetry=sRGB",
    "video/x-raw,format=BGRx,width=[1,64],height=[1,48],framerate=[0/1,100/1]",
    "video/x-raw,format={RGBA,I420},width=3,height=30",
    "video/x-raw,format=BGR,width=31,height=2,interlace-mode=interleaved,field-order=top-field-first",
    "video/x-raw(memory:SystemMemory),format=GRAY8,width=5,height=3,multiview-mode=side-by-side",
    "video/x-raw,format=I420,width=17,height=9,colorimetry=2:4:5:4,chroma-site=jpeg; video/x-raw,format=RGB",
    "video/x-raw,format=YUY2,width=8,height=8",
    "image/jpeg,width=8,height=8",
]
for i, c in enumerate(caps):
    put("gst_caps", "caps%02d" % i, c)

# ---------------------------------------------------------------- dictionaries (libFuzzer -dict, used by scripts/fuzz)

JSON_TOKENS = ["{", "}", "[", "]", ":", ",", '""', "true", "false", "null", "-0", "1e309", "1.5e-7",
               "9223372036854775807", "9223372036854775808", r"\u0000", r"\ud83d\ude00", r"\ud800", r"\n", r"\"",
               "\u00e9", "\U0001f600"]
ST_TOKENS = ["dtype", "shape", "data_offsets", "__metadata__", "F32", "F16", "BF16", "F64", "I64", "I32", "U8",
             "BOOL", "format", "sibvad-1"]
MODEL_TOKENS = ["sibvad_config", "sibvad_calibration", "adam_step", "train_state", "adam.m.", "adam.v.", "count",
                "vis_log_mean", "vis_log_std", "sem_log_mean", "sem_log_std", "vis_quantiles", "sem_quantiles",
                "paper", "lite", "tiny"] + list(sibvad_config.CONFIG_KEYS)
HF_TOKENS = ["vision_config", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
             "patch_size", "image_size", "num_channels", "qkv_bias", "qk_normalization", "layer_norm_eps",
             "norm_type", "layer_norm", "rms_norm", "hidden_act", "gelu", "force_image_size"]
INDEX_TOKENS = ["weight_map", "metadata", "total_size", "model.safetensors", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors", "config.json", "model.safetensors.index.json", "..", ".", "/",
                "vision_model.", "vision_model.embeddings.patch_embedding.weight",
                "vision_model.encoder.layers.0.attn.qkv.bias", "embeddings.position_embedding"]
NPY_TOKENS = ["\x93NUMPY", "\x01\x00", "\x02\x00", "\x03\x00", "'descr'", "'fortran_order'", "'shape'", "True",
              "False", "'<f4'", "'>f8'", "'|b1'", "'|u1'", "'<i8'", "'=f2'", "(", ")", "()", "L", ": ", ", "]
CAPS_TOKENS = ["video/x-raw", "(memory:SystemMemory)", "format=", "width=", "height=", "framerate=", "(int)",
               "(fraction)", "(string)", "pixel-aspect-ratio=", "colorimetry=", "chroma-site=", "interlace-mode=",
               "field-order=", "multiview-mode=", "multiview-flags=", "views=", "progressive", "interleaved",
               "mixed", "alternate", "bt709", "bt601", "bt2020", "sRGB", "mpeg2", "jpeg", "2147483647", "0/1",
               "30000/1001", "[1,2147483647]", "{", "}", "; ", "GRAY8", "RGB", "BGR", "RGBA", "BGRA", "RGBx",
               "BGRx", "I420", "NV12"]
DICTS = {
    "json": JSON_TOKENS,
    "config_json": JSON_TOKENS + MODEL_TOKENS,
    "safetensors": JSON_TOKENS + ST_TOKENS,
    "model_load": JSON_TOKENS + ST_TOKENS + MODEL_TOKENS,
    "hf_config": JSON_TOKENS + HF_TOKENS,
    "hf_index": JSON_TOKENS + INDEX_TOKENS,
    "npy": NPY_TOKENS,
    "semantic": NPY_TOKENS + ["#####"],
    "gst_caps": CAPS_TOKENS,
}


def dict_entry(token):
    """A token (str: UTF-8, except NPY's \\x93 which is one byte) in the dictionary's quoted form."""
    raw = token.encode("latin-1") if token.startswith("\x93") else token.encode("utf-8")
    out = ""
    for c in raw:
        ch = chr(c)
        out += "\\" + ch if ch in '"\\' else ch if 32 <= c < 127 else "\\x%02X" % c
    return '"%s"' % out


def write_dicts():
    for target, tokens in sorted(DICTS.items()):
        with open(os.path.join(HERE, target + ".dict"), "w") as f:
            f.write("# libFuzzer dictionary of fuzz_%s, written by make-corpus.py\n" % target)
            for t in tokens:
                f.write(dict_entry(t) + "\n")


# ---------------------------------------------------------------- write

total = 0
for target, files in sorted(corpus.items()):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for name, data in sorted(files.items()):
        if len(data) > 20000:
            sys.exit("make-corpus.py: seed %s/%s is %d bytes, more than 20 KB" % (target, name, len(data)))
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%-16s %3d seeds, %6d bytes" % (target, len(files), sum(len(v) for v in files.values())))
print("total %d bytes" % total)
write_dicts()
print("dictionaries: %s" % ", ".join(sorted(t + ".dict" for t in DICTS)))
