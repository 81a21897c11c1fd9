"""The source papers' claims, measured with the harness (the harness issue, "the seeds' claims").

    .venv/bin/python benchmarks/seed_claims.py [--dataset digits] [--json out.json]

1. Real held-out data against itself: the neural-net distance's noise floor at each capacity.
2. `memorizer` against the capacity ladder: the held-out gap as m grows; for each p, the smallest m from which
   every larger m is within the noise (not `detected` by harness/nn_distance.py's rule), beside p log p.
3. `ed-memorizer` and `relu-memorizer`: the joint (x, z) discriminators' gap against the noise floor, the birthday
   test's support estimate against the true m, and a linear probe on E(x) against chance.
"""

import argparse
import math

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.files import atomic_write_json, versions
from gan_zoo.harness.evaluate import EvalConfig, evaluate
from gan_zoo.harness.nn_distance import detected, reading
from gan_zoo.registry import registry
from gan_zoo.sources import ModelSource
from gan_zoo.training import construct

CPU = torch.device("cpu")
CAPACITIES = (1_000, 10_000, 100_000)


def run(name, data, metrics, **config):
    family = registry().family(name)
    model = construct(family, family.Config(**config), data, 0, CPU)
    config = EvalConfig.build(registry(), metrics, {"nn_distance": {"capacities": CAPACITIES}} if "nn_distance" in
                              metrics else {})
    return evaluate(ModelSource(model), data, registry(), config, seed=0, device=CPU).record["metrics"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--sizes", default="25,50,100,200,400,800,1400")
    parser.add_argument("--ed-sizes", default="256,1024", help="supports m of the encoder-decoder constructions")
    parser.add_argument("--skip-curve", action="store_true", help="only the encoder-decoder constructions")
    parser.add_argument("--json")
    args = parser.parse_args()
    data = open_dataset(registry().dataset(args.dataset), seed=0)
    sizes = [int(m) for m in args.sizes.split(",")]
    curve, fooled = {}, {}
    if not args.skip_curve:
        curve, fooled = memorizer_curve(data, sizes, args.dataset)
    constructions = encoder_decoder(data, [int(m) for m in args.ed_sizes.split(",")], args.dataset)
    if args.json:
        atomic_write_json(args.json, {"curve": {str(m): v for m, v in curve.items()}, "fooled": fooled,
                                      "constructions": constructions, "versions": versions()})


def _verdict(entry: dict) -> str:
    """Nothing where detected; else "fooled" or "cannot tell" (only the first says the test could see a gap)."""
    return "" if detected(entry) else f" ({reading(entry)['verdict']})"


def memorizer_curve(data, sizes, dataset):
    curve = {m: run("memorizer", data, ("nn_distance",), m=m)["nn_distance"]["capacities"] for m in sizes}
    floor = curve[sizes[0]]

    print(f"## memorizer on {dataset}: held-out gap (phi = log, 8 MLPs, the best on validation) by m and p\n")
    print("| m | " + " | ".join(f"p = {e['p']}" for e in floor) + " |\n|---|" + "---|" * len(floor))
    print("| real vs real (noise floor) | " + " | ".join(
        f"{e['noise_floor']:.3f} [{e['noise_floor_ci'][0]:.3f}, {e['noise_floor_ci'][1]:.3f}]" for e in floor) + " |")
    for m in sizes:
        print(f"| {m} | " + " | ".join(f"{e['heldout_gap']:.3f}{_verdict(e)} (train "
                                       f"{e['train_gap']:.3f})" for e in curve[m]) + " |")
    print("\n| p | smallest m from which every m is within the noise | p log p |\n|---|---|---|")
    fooled = {}
    for i, entry in enumerate(floor):
        fooled[entry["p"]] = next((m for j, m in enumerate(sizes)
                                   if not any(detected(curve[larger][i]) for larger in sizes[j:])), None)
        smallest = fooled[entry["p"]] or f"> {sizes[-1]}"
        print(f"| {entry['p']} | {smallest} | {entry['p'] * math.log(entry['p']):.0f} |")
    return curve, fooled


def encoder_decoder(data, supports, dataset):
    print(f"\n## encoder-decoder constructions on {dataset}\n")
    print("| family | m | p | joint held-out gap | noise floor [CI] | birthday support [99%] / ML fit "
          "| probe (chance) |")
    print("|---|---|---|---|---|---|---|")
    constructions = {}
    for name, m in ((name, m) for m in supports for name in ("ed-memorizer", "relu-memorizer")):
        metrics = run(name, data, ("nn_distance", "birthday", "probe"), m=m)
        constructions[f"{name} m={m}"] = metrics
        b, probe = metrics["birthday"], metrics["probe"]
        low, high = b["support"]["ci"]
        ml = "-" if b["ml_estimate"] is None else f"{b['ml_estimate']:.3g}"
        support = (f"{b['support']['value']:.3g} [{low:.3g}, {high:.3g}] / ML {ml}" if b["collisions"] else
                   f"> {low:.3g} (none up to s = {b['no_duplicates_up_to']})")
        for e in metrics["nn_distance"]["capacities"]:
            low, high = e["noise_floor_ci"]
            print(f"| {name} | {m} | {e['p']} | {e['heldout_gap']:.3f} | {e['noise_floor']:.3f} "
                  f"[{low:.3f}, {high:.3f}] | {support} | {probe['accuracy']:.3f} ({probe['chance']:.3f}) |")
    return constructions


if __name__ == "__main__":
    main()
