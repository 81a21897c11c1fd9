"""Seconds for each trained family's default training on each built-in data set (the zoo issue: at most 180 s).

    .venv/bin/python benchmarks/train_time.py [--steps 100]

Times a fresh run of `--steps` steps of the default config (after a one-step warm-up run), and scales to the
family's default step count on that data set.
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
            for steps in (1, args.steps):  # the first run warms up
                with tempfile.TemporaryDirectory() as out:
                    started = time.perf_counter()
                    run(reg, name, family.Config(), data, out=Path(out), seed=0, steps=steps,
                        device=torch.device("cpu"), checkpoint_every=10**9)
                    per_step = (time.perf_counter() - started) / steps
            default = family.steps_for(data.spec)
            cells.append(f"{per_step * default:.0f} s ({default} steps, {per_step * 1000:.0f} ms/step)")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
