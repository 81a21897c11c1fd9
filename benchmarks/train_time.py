"""Seconds for each trained family's default training on each built-in data set (the zoo issue: at most 180 s).

    .venv/bin/python benchmarks/train_time.py [--steps 100]

Times `--steps` steps of the default config after a warm-up step, and scales to the family's default step count.
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry
from gan_zoo.training import run

DATASETS = ["ring8", "grid25", "digits", "stacked-digits"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--families", default="")
    args = parser.parse_args()
    reg = registry()
    names = args.families.split(",") if args.families else sorted(
        n for n, f in reg.families.items() if f.kind == "trained")
    print(f"| family | {' | '.join(DATASETS)} |\n|---|{'---|' * len(DATASETS)}")
    for name in names:
        family = reg.family(name)
        cells = []
        for dataset in DATASETS:
            data = open_dataset(reg.dataset(dataset), seed=0)
            with tempfile.TemporaryDirectory() as out:
                run(reg, name, family.Config(), data, out=Path(out), seed=0, steps=1, device=torch.device("cpu"),
                    progress=False)
                started = time.perf_counter()
                run(reg, name, family.Config(), data, out=Path(out), seed=0, steps=1 + args.steps,
                    device=torch.device("cpu"), progress=False, checkpoint_every=10**9)
                per_step = (time.perf_counter() - started) / args.steps
            cells.append(f"{per_step * family.default_steps:.0f} s ({per_step * 1000:.0f} ms/step)")
        print(f"| {name} ({family.default_steps} steps) | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
