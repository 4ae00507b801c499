"""make_hf_checkpoint.py: tiny Hugging Face checkpoints of the paper's backbone, in the real formats.

Writes tests/fixtures/hf/ (the fixtures of tests/test_hf_checkpoint.c):
  internvl/     an InternVL2.5-1B-shaped directory: config.json with the published nesting and key
                names (InternVLChatModel: "vision_config" = the InternViT config, "llm_config" = a
                Qwen2 config whose sizes differ on purpose), BF16 tensors in two shards
                model-0000{1,2}-of-00002.safetensors listed in model.safetensors.index.json
                ("metadata": {"total_size"}, "weight_map": name -> shard). Vision tensors under
                "vision_model.", plus dummy "mlp1.*" and "language_model.*" tensors that a backbone
                reader must never read: one of them, language_model.model.layers.0.self_attn.q_proj.bias,
                is stored as I32 so that converting it to float fails.
  internvit/    an InternViT-300M-448px-V2_5-shaped directory: the vision config at the top level,
                one model.safetensors, tensor names without a prefix.
  reference.safetensors   per directory D in {internvl, internvit}: D.in.frames (T, 3, S, S) (BF16,
                exact), D.bb_embed and D.bb_out (T, N+1, W) (F32): the two backbone taps of
                tools/reference/sibvad_ref.py's VisionModel with the checkpoint's weights (BF16 values,
                computed in float64 and rounded to F32).

Tensor layouts are InternViT's: embeddings.class_embedding [1, 1, W], embeddings.patch_embedding
(conv [W, 3, p, p] and bias), embeddings.position_embedding [1, N+1, W],
encoder.layers.{i}.{norm1, attn.qkv, attn.proj, ls1, ls2, norm2, mlp.fc1, mlp.fc2} (ls1/ls2 [W]).

No safetensors or transformers package: the files are written by hand (8-byte little-endian header
length, JSON header padded with spaces, data), as the safetensors library does.

Run from the repository root (deterministic):  /usr/bin/python3 tools/reference/make_hf_checkpoint.py
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sibvad_ref import VisionModel, preset  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(ROOT, "tests", "fixtures", "hf")
FRAMES = 4
MAX_BYTES = 400 * 1024

# The two checkpoints: InternViT sizes (the real InternViT-300M: 1024 wide, 24 layers, 16 heads,
# MLP 4096, patch 14, image 448).
SIZES = {
    "internvl": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     patch_size=14, image_size=42),
    "internvit": dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
                      patch_size=14, image_size=28),
}


def vision_config(s):
    """An InternViT config.json dict with the published keys (InternViT-300M-448px-V2_5)."""
    return {
        "architectures": ["InternVisionModel"],
        "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_intern_vit.InternVisionConfig",
                     "AutoModel": "modeling_intern_vit.InternVisionModel"},
        "drop_path_rate": 0.1,
        "dropout": 0.0,
        "hidden_act": "gelu",
        "hidden_size": s["hidden_size"],
        "image_size": s["image_size"],
        "initializer_factor": 0.1,
        "initializer_range": 1e-10,
        "intermediate_size": s["intermediate_size"],
        "layer_norm_eps": 1e-06,
        "model_type": "intern_vit_6b",
        "norm_type": "layer_norm",
        "num_attention_heads": s["num_attention_heads"],
        "num_channels": 3,
        "num_hidden_layers": s["num_hidden_layers"],
        "patch_size": s["patch_size"],
        "qk_normalization": False,
        "qkv_bias": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.37.2",
        "use_bfloat16": True,
        "use_flash_attn": True,
    }


LLM = dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40, vocab_size=64)


def internvl_config(s):
    """An InternVL2.5-1B config.json dict (InternVLChatModel, Qwen2 language model)."""
    return {
        "_commit_hash": None,
        "architectures": ["InternVLChatModel"],
        "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                     "AutoModel": "modeling_internvl_chat.InternVLChatModel",
                     "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel"},
        "downsample_ratio": 0.5,
        "dynamic_image_size": True,
        "force_image_size": s["image_size"],
        "llm_config": {
            "architectures": ["Qwen2ForCausalLM"],
            "hidden_act": "silu",
            "hidden_size": LLM["hidden_size"],
            "intermediate_size": LLM["intermediate_size"],
            "max_position_embeddings": 32768,
            "model_type": "qwen2",
            "num_attention_heads": LLM["num_attention_heads"],
            "num_hidden_layers": LLM["num_hidden_layers"],
            "num_key_value_heads": 1,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "torch_dtype": "bfloat16",
            "vocab_size": LLM["vocab_size"],
        },
        "max_dynamic_patch": 12,
        "min_dynamic_patch": 1,
        "model_type": "internvl_chat",
        "ps_version": "v2",
        "select_layer": -1,
        "template": "internvl2_5",
        "torch_dtype": "bfloat16",
        "use_backbone_lora": 0,
        "use_llm_lora": 0,
        "use_thumbnail": True,
        "vision_config": vision_config(s),
    }


def bf16(t):
    """Round to bfloat16 (nearest even) and back: the values the checkpoint holds."""
    return t.to(torch.bfloat16).to(torch.float32)


def st_bytes(t, dtype):
    if dtype == "BF16":
        return t.contiguous().to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "F32":
        return np.ascontiguousarray(t.numpy(), dtype="<f4").tobytes()
    if dtype == "I32":
        return np.ascontiguousarray(t.numpy(), dtype="<i4").tobytes()
    raise ValueError(dtype)


def write_st(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor, dtype "BF16" | "F32" | "I32"). Returns the data size."""
    header, blobs, off = {}, [], 0
    for name, t, dt in tensors:
        b = st_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def twin_config(s):
    """The sibvad_ref config whose backbone is this checkpoint (the rest does not matter here)."""
    c = preset("paper")
    c.update(bb_width=s["hidden_size"], bb_depth=s["num_hidden_layers"], bb_heads=s["num_attention_heads"],
             bb_mlp=s["intermediate_size"], patch=s["patch_size"], img_h=s["image_size"],
             img_w=s["image_size"], bb_layerscale=1, bb_frozen=1, bb_ln_eps=1e-6)
    return c


@torch.no_grad()
def random_backbone(s):
    """A VisionModel with O(1) activations and BF16-exact weights -> (model, state dict)."""
    vm = VisionModel(twin_config(s))
    for name, p in vm.named_parameters():
        if name.endswith("ls1") or name.endswith("ls2"):
            p.uniform_(0.5, 1.0)
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1.0 + 0.1 * torch.randn_like(p))
        elif name.endswith("bias"):
            p.normal_(0.0, 0.1)
        elif name.endswith("weight"):
            p.normal_(0.0, 1.0 / math.sqrt(p[0].numel()))
        else:   # class and position embeddings
            p.normal_(0.0, 0.5)
        p.copy_(bf16(p))
    return vm, {n: p.detach().clone() for n, p in vm.state_dict().items()}


def dummy(shape):
    return bf16(0.02 * torch.randn(*shape))


def make_internvl(out_dir, s):
    os.makedirs(out_dir, exist_ok=True)
    vm, sd = random_backbone(s)
    W, L = s["hidden_size"], LLM["hidden_size"]
    vis = [("vision_model." + n, t, "BF16") for n, t in sd.items()]
    shard1 = [x for x in vis if ".encoder.layers.1." not in x[0]]
    shard2 = [x for x in vis if ".encoder.layers.1." in x[0]]
    lm = "language_model.model."
    shard1 += [(lm + "embed_tokens.weight", dummy((LLM["vocab_size"], L)), "BF16"),
               (lm + "layers.0.input_layernorm.weight", dummy((L,)), "BF16")]
    shard2 += [(lm + "layers.0.self_attn.q_proj.weight", dummy((L, L)), "BF16"),
               # the trap: an integer tensor, so that reading it as a weight would fail
               (lm + "layers.0.self_attn.q_proj.bias", torch.arange(L, dtype=torch.int32), "I32"),
               (lm + "norm.weight", dummy((L,)), "BF16"),
               ("language_model.lm_head.weight", dummy((LLM["vocab_size"], L)), "BF16"),
               ("mlp1.0.weight", dummy((4 * W,)), "BF16"), ("mlp1.0.bias", dummy((4 * W,)), "BF16"),
               ("mlp1.1.weight", dummy((L, 4 * W)), "BF16"), ("mlp1.1.bias", dummy((L,)), "BF16"),
               ("mlp1.3.weight", dummy((L, L)), "BF16"), ("mlp1.3.bias", dummy((L,)), "BF16")]
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    total, weight_map = 0, {}
    for name, shard in zip(names, (shard1, shard2)):
        total += write_st(os.path.join(out_dir, name), shard, {"format": "pt"})
        for n, _, _ in shard:
            weight_map[n] = name
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(internvl_config(s), f, indent=2)
        f.write("\n")
    return vm


def make_internvit(out_dir, s):
    os.makedirs(out_dir, exist_ok=True)
    vm, sd = random_backbone(s)
    write_st(os.path.join(out_dir, "model.safetensors"), [(n, t, "BF16") for n, t in sd.items()],
             {"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(vision_config(s), f, indent=2)
        f.write("\n")
    return vm


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    ref = []
    for name, make in (("internvl", make_internvl), ("internvit", make_internvit)):
        s = SIZES[name]
        vm = make(os.path.join(args.out, name), s)
        S = s["image_size"]
        frames = bf16(0.5 * torch.randn(FRAMES, 3, S, S))
        vm = vm.double()
        emb = vm.embeddings(frames.double())
        out = vm.encoder(emb)
        ref += [(name + ".in.frames", frames, "BF16"), (name + ".bb_embed", emb.float(), "F32"),
                (name + ".bb_out", out.float(), "F32")]
    write_st(os.path.join(args.out, "reference.safetensors"), ref,
             {"generator": "tools/reference/make_hf_checkpoint.py", "seed": str(args.seed),
              "torch": torch.__version__})

    size = 0
    for d, _, files in os.walk(args.out):
        size += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    assert size < MAX_BYTES, "fixtures are %d bytes (limit %d)" % (size, MAX_BYTES)
    print("wrote %s: %d bytes" % (os.path.relpath(args.out, ROOT), size))


if __name__ == "__main__":
    main()
