"""bench_torch.py: times the PyTorch reference (sibvad_ref.SIBVAD) on the CPU or a GPU.

Measures (a) forward only, under torch.inference_mode(), and (b) one training step
(zero_grad + forward + loss_total.backward() + Adam step), on random inputs with a semantic
vector and a target, and reports clips per second. The C core's sibvad-bench reports the same.

    /usr/bin/python3 tools/reference/bench_torch.py --preset lite --batch 8 --threads 2 --json
    python3 tools/reference/bench_torch.py --device cuda --preset lite --batch 64 --json

On a GPU the timings wait for the device (torch.cuda.synchronize) and TF32 is
off unless --tf32, as in sibvad's CUDA backend.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sibvad_ref import SIBVAD, load_config, preset  # noqa: E402


def clips_per_s(fn, batch, warmup, iters, sync=lambda: None):
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return batch * iters / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description="Time the PyTorch reference of SIB-VAD.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--preset", default="lite", help="paper, lite or tiny (default lite)")
    src.add_argument("--config", help="a config JSON file instead of a preset")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matrix products on the GPU")
    args = ap.parse_args()
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = load_config(args.config) if args.config else preset(args.preset)
    model = SIBVAD(cfg).to(dev)
    B, T, C, H, W = args.batch, cfg["frames_in"], cfg["channels"], cfg["img_h"], cfg["img_w"]
    frames = (0.5 * torch.randn(B, T, C, H, W)).to(dev)
    target = (0.5 * torch.randn(B, C, H, W)).to(dev)
    sem = torch.randn(B, cfg["sem_dim"]).to(dev)
    trainable = [p for p in model.parameters() if p.requires_grad]
    print("preset %s: %dx%d, T=%d, %d parameters (%d trainable), batch %d, %d threads, torch %s" % (
        cfg["preset"] or args.config, W, H, T, sum(p.numel() for p in model.parameters()),
        sum(p.numel() for p in trainable), B, args.threads, torch.__version__) + " on " + str(dev))

    def forward():
        with torch.inference_mode():
            model(frames, target, sem)

    opt = torch.optim.Adam(trainable, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                           eps=cfg["adam_eps"], weight_decay=cfg["weight_decay"])

    def train_step():
        opt.zero_grad(set_to_none=False)
        model(frames, target, sem)["loss_total"].backward()
        opt.step()

    fwd = clips_per_s(forward, B, args.warmup, args.iters, sync)
    print("forward:    %8.2f clips/s  (%7.1f ms per batch)" % (fwd, 1000.0 * B / fwd))
    trn = clips_per_s(train_step, B, args.warmup, args.iters, sync)
    print("train step: %8.2f clips/s  (%7.1f ms per batch)" % (trn, 1000.0 * B / trn))
    if args.json:
        print(json.dumps({"impl": "pytorch", "preset": cfg["preset"] or args.config, "batch": B,
                          "threads": args.threads, "forward_clips_per_s": round(fwd, 3),
                          "train_clips_per_s": round(trn, 3), "torch": torch.__version__,
                          "device": str(dev)}))


if __name__ == "__main__":
    main()
