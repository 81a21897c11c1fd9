"""Batched (vmap) against looped training of K discriminators, side by side in one run.

    .venv/bin/python benchmarks/ensemble_speed.py [--members 16] [--steps 200]

Same initialisations, same batches, same optimizer steps; only the execution differs. Target (the harness
issue): at least 5x for K = 16 MLP discriminators at small capacities.
"""

import argparse
import time

import torch

from gan_zoo.family import DataSpec
from gan_zoo.harness.discriminators import at_capacity
from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig
from gan_zoo.registry import registry


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--capacities", default="300,1000,10000")
    args = parser.parse_args()
    mlp = registry().discriminator("mlp")
    spec = DataSpec((2,), latent_dim=2)
    g = torch.Generator().manual_seed(0)
    real, fake = (torch.randn(5000, 2, generator=g),), (torch.randn(5000, 2, generator=g) + 0.3,)
    print(f"torch threads {torch.get_num_threads()}, K = {args.members}, {args.steps} steps, batch 128, 2-D data\n")
    warm_up = Ensemble(lambda: mlp.build(spec, 0, 8, ""), EnsembleConfig(members=2, steps=3), seed=0,
                       device=torch.device("cpu"))
    warm_up.fit(real, fake)  # the first vmap call pays one-off tracing costs
    print("| p | vmap s | loop s | speed-up |\n|---|---|---|---|")
    for target in map(int, args.capacities.split(",")):
        capacity = at_capacity(mlp, "", spec, 0, target)
        config = EnsembleConfig(members=args.members, steps=args.steps)
        times = {}
        for batched in (True, False):
            ensemble = Ensemble(lambda c=capacity: mlp.build(spec, 0, c.width, ""), config, seed=0,
                                device=torch.device("cpu"), batched=batched)
            started = time.perf_counter()
            ensemble.fit(real, fake)
            times[batched] = time.perf_counter() - started
        print(f"| {capacity.p} | {times[True]:.2f} | {times[False]:.2f} | {times[False] / times[True]:.1f}x |",
              flush=True)


if __name__ == "__main__":
    main()
