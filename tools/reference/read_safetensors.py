"""read_safetensors.py: a tiny safetensors writer and reader (F32 only), no safetensors package.

Format: 8-byte little-endian header length N, N bytes of JSON (padded with spaces to a multiple
of 8) {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
"__metadata__": {"key": "string"}}, then the data block (offsets relative to its start).

    python3 read_safetensors.py FILE    # lists the tensors and the metadata
"""
import json
import struct
import sys

import numpy as np


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered name -> array-like (written as little-endian F32, in the given order)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """-> (dict name -> float32 numpy array, metadata dict); checks sizes and offsets."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("%s: header length %d past end of file" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out, spans = {}, []
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError("%s: %s has dtype %s (only F32 here)" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        numel = int(np.prod(info["shape"], dtype=np.int64))
        if not (0 <= b <= e <= len(body)) or e - b != 4 * numel:
            raise ValueError("%s: bad offsets for %s" % (path, name))
        spans.append((b, e))
        out[name] = np.frombuffer(body[b:e], dtype="<f4").reshape(info["shape"]).copy()
    spans.sort()
    for (b0, e0), (b1, _) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError("%s: overlapping tensors" % path)
    return out, meta


if __name__ == "__main__":
    tensors, meta = read_safetensors(sys.argv[1])
    for name, a in tensors.items():
        print("%-64s %s" % (name, list(a.shape)))
    for k, v in meta.items():
        print("meta %s = %s" % (k, v))
