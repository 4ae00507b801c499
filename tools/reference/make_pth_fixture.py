"""make_pth_fixture.py: writes tests/fixtures/twin-tiny.pth, the .pth fixture of tools/convert-pth.py.

The weights of tests/fixtures/tiny-parity.safetensors (the PyTorch twin, tiny preset) loaded into
sibvad_ref.SIBVAD and saved as a training script of the authors would: torch.save (zip format) of
{"model_state_dict": <the state dict with a 'module.' prefix (DataParallel / DDP)>, "epoch": 7}.
The state dict is an OrderedDict carrying _metadata, as Module.state_dict() returns it. So the
parity fixture's in.frames, in.semantic and act.pred are the reference of the converted model
(tests/test_convert_pth.sh, which needs no torch).

Run from the repository root (deterministic):  /usr/bin/python3 tools/reference/make_pth_fixture.py
"""
import argparse
import collections
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sibvad_ref import SIBVAD, preset  # noqa: E402
from read_safetensors import read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
MAX_BYTES = 1024 * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parity", default=os.path.join(FIXTURES, "tiny-parity.safetensors"))
    ap.add_argument("--out", default=os.path.join(FIXTURES, "twin-tiny.pth"))
    args = ap.parse_args()
    fix, meta = read_safetensors(args.parity)
    model = SIBVAD(preset("tiny"))
    names = list(model.state_dict())
    model.load_state_dict({k: torch.from_numpy(fix[k]) for k in names})
    sd = model.state_dict()
    out = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    out._metadata = collections.OrderedDict(
        ("module." + k if k else "module", v) for k, v in sd._metadata.items())
    torch.save({"model_state_dict": out, "epoch": 7}, args.out)
    size = os.path.getsize(args.out)
    if size > MAX_BYTES:
        raise SystemExit("%s: %d bytes, over %d" % (args.out, size, MAX_BYTES))
    print("wrote %s: %d tensors, %d bytes (torch %s)" % (args.out, len(out), size, torch.__version__))


if __name__ == "__main__":
    main()
