"""Mode coverage of a family's default training on ring8 / grid25, over seeds (REFERENCE section 2).

    .venv/bin/python benchmarks/mode_coverage.py --family vanilla --dataset ring8 --seeds 5

Prints a Markdown table (modes captured, % high quality, reverse KL, training seconds per seed) to paste into
benchmarks/RESULTS.md, and writes the raw figures as JSON beside it with --json.
"""

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.files import atomic_write_json, versions
from gan_zoo.harness.modes import mode_coverage
from gan_zoo.registry import registry
from gan_zoo.training import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="vanilla")
    parser.add_argument("--dataset", default="ring8")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    reg = registry()
    family = reg.family(args.family)
    rows = []
    for seed in range(args.seeds):
        data = open_dataset(reg.dataset(args.dataset), seed=seed)
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            result = run(reg, args.family, family.Config(), data, out=Path(out), seed=seed,
                         steps=family.default_steps, device=torch.device("cpu"), progress=False)
            seconds = time.perf_counter() - started
        coverage = mode_coverage(result.model.sample(2500, seed=seed), data.heldout.modes, data.heldout.mode_std)
        rows.append({"seed": seed, "seconds": round(seconds, 1), **coverage})
        print(f"seed {seed}: {coverage['modes_captured']}/{coverage['n_modes']} modes, "
              f"{coverage['high_quality_fraction']:.1%} high quality, {seconds:.0f} s", flush=True)

    modes = [r["modes_captured"] for r in rows]
    print(f"\n{args.family} on {args.dataset}, {family.default_steps} steps, defaults, "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}\n")
    print("| seed | modes | high quality | reverse KL | seconds |\n|---|---|---|---|---|")
    for r in rows:
        kl = "-" if r["reverse_kl"] is None else f"{r['reverse_kl']:.3f}"
        print(f"| {r['seed']} | {r['modes_captured']}/{r['n_modes']} | {r['high_quality_fraction']:.1%} | {kl} "
              f"| {r['seconds']} |")
    print(f"| mean | {statistics.mean(modes):.1f} +- {statistics.pstdev(modes):.1f} | "
          f"{statistics.mean(r['high_quality_fraction'] for r in rows):.1%} | | "
          f"{statistics.mean(r['seconds'] for r in rows):.0f} |")
    if args.json:
        atomic_write_json(args.json, {"family": args.family, "dataset": args.dataset, "rows": rows,
                                      "steps": family.default_steps, "versions": versions()})
    print(json.dumps({"seeds_with_at_least_6_modes": sum(m >= 6 for m in modes)}))


if __name__ == "__main__":
    main()
