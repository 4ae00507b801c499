"""make_bert_checkpoint.py: writes tests/fixtures/bert/, a tiny BERT checkpoint in the Hugging Face
format and its reference outputs, for the C text encoder (sibvad-core/bert.c, tests/test_text_encoder.c).

  config.json         the keys of transformers' BertConfig (hidden 32, 2 layers, 2 heads,
                      intermediate 64, 64 positions, 2 token types, eps 1e-12, gelu)
  vocab.txt           [PAD] [unused0] [UNK] [CLS] [SEP] [MASK], then words, '##' pieces, punctuation
  model.safetensors   the BertModel tensors with the 'bert.' prefix (as BertForPreTraining saves
                      them), F32, plus an I64 'bert.embeddings.position_ids' buffer and a
                      'cls.predictions.bias' head tensor that the encoder must ignore
  reference.json      per sentence: text, ids (bert_tokenizer_ref.py, max length 64) and pooled
                      (pooler_output, computed in float64 by the PyTorch BERT below)

The model here is a plain PyTorch implementation of BERT's math (transformers is not installed):
x = LN(word[ids] + pos[:n] + type[0]); per layer x = LN(x + Wo attn(x)), x = LN(x + W2 gelu(W1 x))
(post-norm, eps 1e-12, exact erf GELU, softmax(q k^T / sqrt(dh))); pooled = tanh(Wp x[0] + bp).
Weights are random (seeded) with O(1) activations.

Run from the repository root (deterministic):  /usr/bin/python3 tools/reference/make_bert_checkpoint.py
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bert_tokenizer_ref as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "bert")

H, L, NH, I, P, T = 32, 2, 2, 64, 64, 2
EPS = 1e-12

WORDS = ("the a an man woman person people is are was walking running riding sitting on in at "
         "with and of to street car bicycle bike dog red blue shirt two while by park road "
         "video scene frame describe what doing cafe naive resume stop don t 3 14").split()
PIECES = "##s ##ing ##ed ##er ##ly ##e ##a ##t ##r ##n ##o ##un ##x".split()
PUNCT = list(".,!?'\":;-()")
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
SENTENCES = [
    "A man is riding a bicycle on the street.",
    "Two people walking with a dog in the park!",
    "The woman in the red shirt is running, while a car stops.",
    "Café naïve résumé: don't stop!!",
    "unknownword xyzzy 3.14",
    "Frame1: describe what the person is doing",
    " ".join(["people walking on the road"] * 16),   # over 64 ids: truncated
    "",
]


def write_st(path, tensors, metadata):
    """tensors: name -> numpy array (float32 -> F32, int64 -> I64)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_weights(vocab_size, g):
    def lin(o, i):
        return (torch.randn(o, i, generator=g, dtype=torch.float64) / math.sqrt(i),
                0.1 * torch.randn(o, generator=g, dtype=torch.float64))

    def ln():
        return (1.0 + 0.1 * torch.randn(H, generator=g, dtype=torch.float64),
                0.1 * torch.randn(H, generator=g, dtype=torch.float64))

    w = {}
    w["embeddings.word_embeddings.weight"] = 0.5 * torch.randn(vocab_size, H, generator=g, dtype=torch.float64)
    w["embeddings.position_embeddings.weight"] = 0.5 * torch.randn(P, H, generator=g, dtype=torch.float64)
    w["embeddings.token_type_embeddings.weight"] = 0.5 * torch.randn(T, H, generator=g, dtype=torch.float64)
    w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"] = ln()
    for l in range(L):
        p = "encoder.layer.%d." % l
        for n in ("query", "key", "value"):
            w[p + "attention.self.%s.weight" % n], w[p + "attention.self.%s.bias" % n] = lin(H, H)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = lin(H, H)
        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"] = ln()
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = lin(I, H)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = lin(H, I)
        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = ln()
    w["pooler.dense.weight"], w["pooler.dense.bias"] = lin(H, H)
    # round to float32 so that the reference uses exactly the stored weights
    return {k: v.float().double() for k, v in w.items()}


def layer_norm(x, w, b):
    m = x.mean(-1, keepdim=True)
    v = ((x - m) ** 2).mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(v + EPS) * w + b


def bert_pooled(w, ids):
    n = len(ids)
    x = (w["embeddings.word_embeddings.weight"][torch.tensor(ids)]
         + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    dh = H // NH
    for l in range(L):
        p = "encoder.layer.%d." % l

        def lin(name, t):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).view(n, NH, dh).transpose(0, 1)
        k = lin("attention.self.key", x).view(n, NH, dh).transpose(0, 1)
        v = lin("attention.self.value", x).view(n, NH, dh).transpose(0, 1)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1) @ v
        a = a.transpose(0, 1).reshape(n, H)
        x = layer_norm(x + lin("attention.output.dense", a),
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        hmid = lin("intermediate.dense", x)
        hmid = 0.5 * hmid * (1.0 + torch.erf(hmid / math.sqrt(2.0)))
        x = layer_norm(x + lin("output.dense", hmid),
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return torch.tanh(x[0] @ w["pooler.dense.weight"].T + w["pooler.dense.bias"])


def main():
    os.makedirs(OUT, exist_ok=True)
    vocab_list = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + PIECES + PUNCT
    vocab_list += [c for c in CHARS if c not in vocab_list]
    vocab_list += ["##" + c for c in CHARS if "##" + c not in vocab_list]
    assert len(set(vocab_list)) == len(vocab_list)
    with open(os.path.join(OUT, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab_list))
    V = len(vocab_list) + 3  # vocab_size may exceed the vocabulary (unused rows)
    config = {
        "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
        "intermediate_size": I, "layer_norm_eps": EPS, "max_position_embeddings": P,
        "model_type": "bert", "num_attention_heads": NH, "num_hidden_layers": L, "pad_token_id": 0,
        "position_embedding_type": "absolute", "type_vocab_size": T, "use_cache": True,
        "vocab_size": V,
    }
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    g = torch.Generator().manual_seed(6)
    w = make_weights(V, g)
    tensors = {"bert." + k: v.float().numpy() for k, v in w.items()}
    tensors["bert.embeddings.position_ids"] = np.arange(P, dtype=np.int64)[None, :]
    tensors["cls.predictions.bias"] = np.zeros(V, dtype=np.float32)
    write_st(os.path.join(OUT, "model.safetensors"), tensors,
             {"format": "pt", "generator": "tools/reference/make_bert_checkpoint.py", "seed": 6})
    vocab = ref.load_vocab(os.path.join(OUT, "vocab.txt"))
    cases = []
    with torch.no_grad():
        for s in SENTENCES:
            ids = ref.encode(s, vocab, max_len=min(512, P))
            pooled = bert_pooled(w, ids)
            cases.append({"text": s, "ids": ids, "pooled": [float("%.9g" % x) for x in pooled.tolist()]})
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/reference/make_bert_checkpoint.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=1)
    for c in cases:
        print(len(c["ids"]), c["ids"][:16], c["text"][:40])
    print("wrote", OUT)


if __name__ == "__main__":
    main()
