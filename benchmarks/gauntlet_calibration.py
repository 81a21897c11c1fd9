"""False-positive rates of the gauntlet's detection rules on clean runs, measured over many cheap pixel-space runs.

Each run is 60 digits drawn at random, scored three ways: the mean pixel (continuous), a coverage-like share of
20 fixed reference digits with a run item within distance 4 (discrete: about 8 distinct values) and the count
of near-duplicate pairs (distance < 2: an event count, mostly 0-3). Each try takes K + 1 fresh runs, K as the
control and one judged as if it were an adversary; the share of tries that flag it is the false-positive rate.
Rules: the t prediction band the gauntlet used before (mean +- t sd sqrt(1 + 1/K), 99% two-sided, judged on the
worse side: nominal 0.5%, K = 8) and the rank rule now used (alpha = 0.05 at K = 19; alpha = 0.01 at K = 99),
with the exact count test for the count. Usage: .venv/bin/python benchmarks/gauntlet_calibration.py [--tries N]
"""

import argparse
import math

import torch
from scipy.stats import t as student

from gan_zoo.harness.gauntlet import clopper_pearson, p_value
from gan_zoo.plugins.digits_data import load_digits


def runs(count: int, seed: int) -> list[dict]:
    items = load_digits().x.flatten(1)
    distances = torch.cdist(items, items)
    generator = torch.Generator().manual_seed(seed)
    reference = torch.randperm(len(items), generator=generator)[:20]
    upper = torch.triu(torch.ones(60, 60, dtype=torch.bool), diagonal=1)
    found = []
    for _ in range(count):
        run = torch.randperm(len(items), generator=generator)[:60]
        near = distances[reference][:, run].min(1).values
        pairs = int((distances[run][:, run][upper] < 2.0).sum())
        found.append({"mean": {"value": float(items[run].mean()), "worse": "higher", "count": None},
                      "coverage": {"value": float((near < 4.0).float().mean()), "worse": "lower", "count": None},
                      "pairs": {"value": float(pairs), "worse": "higher", "count": (pairs, 1770)}})
    return found


def t_band_flags(score: dict, controls: list[dict]) -> bool:
    values = [c["value"] for c in controls]
    k = len(values)
    mean = sum(values) / k
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    half = student.ppf(0.995, k - 1) * sd * math.sqrt(1 + 1 / k)
    sign = 1 if score["worse"] == "higher" else -1
    return sign * (score["value"] - mean) > half + 1e-9 * max(1.0, abs(mean))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=1000)
    tries = parser.parse_args().tries
    torch.set_num_threads(1)
    print("| rule | K | nominal | mean | coverage | near-duplicate pairs | any of the three |")
    print("|---|---|---|---|---|---|---|")
    rules = (("t band 99%", 8, 0.005), ("rank / exact count", 19, 0.05), ("rank / exact count", 99, 0.01))
    for rule, k, alpha in rules:
        pool = runs((k + 1) * tries, seed=k)
        flags = {key: 0 for key in ("mean", "coverage", "pairs")}
        anyone = 0
        for i in range(tries):
            block = pool[(k + 1) * i:(k + 1) * (i + 1)]
            hit = False
            for key in flags:
                judged, controls = block[-1][key], [r[key] for r in block[:-1]]
                flagged = t_band_flags(judged, controls) if rule.startswith("t") else p_value(judged, controls) <= alpha
                flags[key] += flagged
                hit |= flagged
            anyone += hit

        def cell(h):
            low, high = clopper_pearson(h, tries)
            return f"{h / tries:.1%} [{low:.1%}, {high:.1%}]"

        print(f"| {rule} | {k} | {alpha:.1%} | " + " | ".join(cell(flags[key]) for key in flags)
              + f" | {cell(anyone)} |")


if __name__ == "__main__":
    main()
