"""Batched (vmap) against looped training of K discriminators, side by side in one run.

    .venv/bin/python benchmarks/ensemble_speed.py [--members 16] [--steps 200] [--capacities 300,1000,10000]
                                                  [--discriminator mlp] [--shape 2] [--threads N]

Same initialisations, same batches, same optimizer steps; only the execution differs. Target (the harness
issue): at least 5x for K = 16 MLP discriminators at small capacities. `--discriminator conv --shape 3,32,32`
times the convolutional ladder on 32x32 colour images (issue 23: p from 1e4 to 1e7); each (capacity, mode) then
runs in a fresh subprocess so its peak RSS is its own. Seconds per member-step = fit time / (K x steps); with
`--select last` that is the optimizer steps alone (best_validation adds the validation checks' forward passes).
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from gan_zoo.family import DataSpec
from gan_zoo.harness.discriminators import at_capacity
from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig
from gan_zoo.registry import registry


def fit_seconds(args, target: int, batched: bool) -> tuple[int, float]:
    """(p, seconds) of one ensemble fit, after a 1-step warm-up of the same shape (vmap's one-off tracing)."""
    cls = registry().discriminator(args.discriminator)
    spec = DataSpec(args.shape, latent_dim=2)
    g = torch.Generator().manual_seed(0)
    n = max(5000, args.batch * 4)
    real, fake = (torch.randn(n, *args.shape, generator=g),), (torch.randn(n, *args.shape, generator=g) + 0.3,)
    capacity = at_capacity(cls, "", spec, 0, target)
    make = lambda: cls.build(spec, 0, capacity.width, "")  # noqa: E731
    Ensemble(make, EnsembleConfig(members=2, steps=1, batch_size=args.batch, select="last"), seed=0,
             device=torch.device("cpu"), batched=batched).fit(real, fake)
    config = EnsembleConfig(members=args.members, steps=args.steps, batch_size=args.batch, select=args.select)
    ensemble = Ensemble(make, config, seed=0, device=torch.device("cpu"), batched=batched)
    started = time.perf_counter()
    ensemble.fit(real, fake)
    return capacity.p, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--capacities", default="300,1000,10000")
    parser.add_argument("--discriminator", default="mlp")
    parser.add_argument("--select", default="best_validation", help="last: time the optimizer steps alone")
    parser.add_argument("--shape", default="2", help="item shape, e.g. 2 or 3,32,32")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: "target,batched" in a fresh process
    args = parser.parse_args()
    args.shape = tuple(int(v) for v in args.shape.split(","))
    torch.set_num_threads(args.threads)
    if args.row:
        target, batched = args.row.split(",")
        p, seconds = fit_seconds(args, int(float(target)), batched == "1")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"p": p, "seconds": seconds, "peak_mb": peak}))
        return
    print(f"torch threads {args.threads}, K = {args.members}, {args.steps} steps, batch {args.batch}, "
          f"{args.discriminator} on items of shape {args.shape}; each row a fresh subprocess\n")
    print("| p | vmap s | loop s | speed-up | vmap s / member-step | loop s / member-step | peak MB vmap / loop |")
    print("|---|---|---|---|---|---|---|")
    member_steps = args.members * args.steps
    for target in args.capacities.split(","):
        out = {}
        for batched in ("1", "0"):
            command = [sys.executable, __file__, "--row", f"{target},{batched}", "--members", str(args.members),
                       "--steps", str(args.steps), "--batch", str(args.batch), "--discriminator", args.discriminator,
                       "--select", args.select, "--shape", ",".join(map(str, args.shape)), "--threads",
                       str(args.threads)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{target} batched={batched}: {done.stderr.strip().splitlines()[-1]}")
            out[batched] = json.loads(done.stdout.strip().splitlines()[-1])
        vmap, loop = out["1"], out["0"]
        print(f"| {vmap['p']} | {vmap['seconds']:.2f} | {loop['seconds']:.2f} | "
              f"{loop['seconds'] / vmap['seconds']:.1f}x | {vmap['seconds'] / member_steps:.4f} | "
              f"{loop['seconds'] / member_steps:.4f} | {vmap['peak_mb']:.0f} / {loop['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
