"""One full `gan-zoo eval` of a large 32x32x3 source, by phase, with a cold and then a warm feature cache (issue 23).

    .venv/bin/python benchmarks/scale_eval.py [--n 50000] [--out /tmp/scale-eval] [--threads 1]

The source: crops of photos32-60k (the last n of its 60000) plus N(0, 0.1^2) pixel noise, stored as uint8 in
OUT/source-N.npz (made once, seeded). It is judged against photos32-60k (48000 training, 12000 held-out items)
with FD, KID, PRDC, AuthPct, C_T, Vendi (the default `classifier` feature space, trained once and cached), the
birthday test (pixels) and the NND (4 conv discriminators at p ~ 1e5, 100 steps: the default 8 x 300 would take
hours here). Run twice with one fresh GAN_ZOO_CACHE under OUT: cold (every feature computed, the classifier
trained) and warm (both read from the cache). Prints each phase's seconds from the records' `timings`, the wall
time and the peak RSS of each run (its own, from wait4), as Markdown.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

METRICS = "fd,kid,prdc,authpct,ct,vendi,birthday,nn_distance"
NOISE = 0.1


def make_source(n: int, path: Path) -> None:
    import torch

    from gan_zoo.plugins.photo_data import load_photos32

    x = load_photos32(60_000).x[-n:]
    noisy = x + NOISE * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    images = ((noisy.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    np.savez(path, samples=images.numpy())


def run(source: Path, out: Path, name: str, threads: int) -> dict:
    record = out / f"{name}.json"
    command = [str(Path(sys.executable).with_name("gan-zoo")), "eval", str(source), "--dataset", "photos32-60k",
               "--metrics", METRICS, "--discriminator", "conv", "--capacities", "1e5", "--ensemble", "4",
               "--ensemble-steps", "100", "--seed", "0", "--threads", str(threads), "--json", str(record), "--force"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env={**os.environ, "GAN_ZOO_CACHE": str(out / "cache")})
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{name} run failed (exit {os.waitstatus_to_exitcode(status)}): {' '.join(command)}")
    result = json.loads(record.read_text())
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "timings": result["timings"],
            "cache": result.get("features_cache", {})}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="source items (at most 60000)")
    parser.add_argument("--out", default="/tmp/scale-eval", help="where the source, cache and records go")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = out / f"source-{args.n}.npz"
    if not source.exists():
        make_source(args.n, source)
    runs = {name: run(source, out, name, args.threads) for name in ("cold", "warm")}
    phases = sorted({phase for r in runs.values() for phase in r["timings"]})
    print(f"n = {args.n}, threads = {args.threads}, metrics {METRICS}\n")
    print("| phase | cold s | warm s |\n|---|---|---|")
    for phase in phases:
        print(f"| {phase} | " + " | ".join(f"{runs[r]['timings'].get(phase, 0):.1f}" for r in runs) + " |")
    for what in ("wall", "peak_mb"):
        print(f"| {what} | " + " | ".join(f"{runs[r][what]:.0f}" for r in runs) + " |")
    print("\nfeature sets:", json.dumps({r: runs[r]["cache"] for r in runs}, indent=1))


if __name__ == "__main__":
    main()
