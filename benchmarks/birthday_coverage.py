"""Coverage of the birthday test's support interval on finite sources: independent draws and fixed multisets.

    .venv/bin/python benchmarks/birthday_coverage.py [--n 10000] [--m 900 2000] [--seeds 10] [--threads 1]

For each m and seed, two array files of about N items in 16-d (items uniform in [-1, 1]^16, far apart against
the calibrated threshold): N independent draws with replacement from m items, and each of m items exactly
c = N // m times (N rounded down to m c), shuffled. Both go through birthday_test as a finite source. The old
estimator is the collision count (still reported as `collision_estimate`); the new one is the headline `support`,
which the multiplicities choose. Prints, per kind and m, how many runs each model was fitted to, the median
estimate and how many intervals covered m.
"""

import argparse
import statistics
import time

import torch

from gan_zoo.harness.birthday import BirthdayConfig, birthday_test
from gan_zoo.sources import TensorSource


def files(m: int, n: int, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    support = torch.rand(m, 16, generator=generator) * 2 - 1
    multiset = support.repeat(n // m, 1)
    return {"independent draws": support[torch.randint(m, (n,), generator=generator)],
            "fixed multiset": multiset[torch.randperm(len(multiset), generator=generator)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--m", type=int, nargs="+", default=[900, 2000])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    real = torch.rand(2000, 16, generator=torch.Generator().manual_seed(12345)) * 2 - 1
    config = BirthdayConfig()
    started = time.perf_counter()
    print("| file | m | N | runs | old: median estimate | old: 99% CI covers m | new: model fitted (runs) "
          "| new: median estimate | new: 99% CI covers m |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in ("independent draws", "fixed multiset"):
        for m in args.m:
            old, new, covered_old, covered_new, models = [], [], 0, 0, {}
            for seed in range(args.seeds):
                items = files(m, args.n, seed)[kind]
                result = birthday_test(TensorSource(items, "file").draw_parts, real, config, seed, pool=len(items))
                (low, high), support = result["ci"], result["support"]
                old.append(result["collision_estimate"])
                covered_old += low <= m <= high
                new.append(support["value"])
                covered_new += support["ci"][0] <= m <= support["ci"][1]
                model = result["finite_source"]["model"]
                models[model] = models.get(model, 0) + 1
            fitted = ", ".join(f"{name} ({count})" for name, count in models.items())
            print(f"| {kind} | {m} | {len(items)} | {args.seeds} | {statistics.median(old):.0f} "
                  f"| {covered_old}/{args.seeds} | {fitted} | {statistics.median(new):.0f} "
                  f"| {covered_new}/{args.seeds} |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s on {args.threads} thread(s)")


if __name__ == "__main__":
    main()
