"""The neural-net distance across capacities, before and after early stopping (the estimator issue).

    .venv/bin/python benchmarks/nnd_capacity.py [--datasets digits,mnist-5k] [--capacities 1e3,1e4,1e5]

Generators are plain tensors, "noise mixtures": a q-share of uniform noise images in [-1, 1], the rest real
items the discriminators never see as real. The training split is cut into halves A and B, the held-out split
into halves H1 and H2 (the evaluation harness's own split): the discriminators train on A (real) against a
mixture built on B, and are measured on H1 (real) against a mixture built on H2. With q = 0 this is exactly the
harness's real-vs-real noise floor. Each capacity runs twice with the same seeds: select = "last" (the estimator
before: all training items, the last weights) and select = "best_validation" (20% of each training side held
back as validation, every member kept at its best validation gap, the member reported chosen on validation).
phi = log, 8 MLP discriminators of depth 2, 300 Adam steps (EnsembleConfig defaults), one torch thread. Prints
Markdown; data sets not registered are skipped.
"""

import argparse
import time

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.discriminators import at_capacity, parse_capacities
from gan_zoo.harness.ensemble import EnsembleConfig
from gan_zoo.harness.nn_distance import against_floor, nn_distance
from gan_zoo.registry import registry

CPU = torch.device("cpu")
SHARES = (0.0, 0.25, 0.5)
SELECTS = ("last", "best_validation")
MAX_ITEMS = 4000  # real items per side, as the evaluation harness caps them


def halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n = min(len(x) // 2, MAX_ITEMS)
    return x[:n], x[n:2 * n]


def noise_mixture(items: torch.Tensor, share: float, seed: int) -> torch.Tensor:
    """`items` with a `share` of them (chosen at random) replaced by uniform noise images in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    out = items.clone()
    replaced = torch.randperm(len(items), generator=g)[:round(share * len(items))]
    out[replaced] = torch.rand((len(replaced), *items.shape[1:]), generator=g) * 2 - 1
    return out


def interval(e: dict) -> str:
    return f"{e['heldout_gap']:.3f} [{e['ci'][0]:.3f}, {e['ci'][1]:.3f}]" + (" (limited)" if e["estimator_limited"]
                                                                          else "")


def measure(name: str, capacities: list[int], config: EnsembleConfig) -> dict:
    data = open_dataset(registry().dataset(name), seed=0)
    real_train, fake_source = halves(data.train.x)
    real_heldout, fake_heldout_source = halves(data.heldout.x)
    cls = registry().discriminator("mlp")
    reachable = []
    for target in capacities:
        try:
            at_capacity(cls, "", data.spec, 0, target)
            reachable.append(target)
        except UserError as exc:  # p ~ 1e3 on 28x28 images: one hidden unit already has 789 parameters
            print(f"<!-- {name}: p ~ {target} skipped: {exc} -->")
    capacities = reachable
    results = {}
    for select in SELECTS:
        ensemble = EnsembleConfig(**{**config.__dict__, "select": select})
        for share in SHARES:
            started = time.perf_counter()
            results[select, share] = nn_distance(
                cls, "", data.spec, 0, capacities,
                train=((real_train,), (noise_mixture(fake_source, share, 101),)),
                heldout=((real_heldout,), (noise_mixture(fake_heldout_source, share, 102),)),
                config=ensemble, seed=0, device=CPU)
            print(f"<!-- {name} {select} q={share}: {time.perf_counter() - started:.0f} s -->", flush=True)
    return {"data": data, "sizes": (len(real_train), len(real_heldout)), "results": results}


def report(name: str, measured: dict, config: EnsembleConfig) -> None:
    results, (n_train, n_heldout) = measured["results"], measured["sizes"]
    ps = [e["p"] for e in results["last", 0.0]]
    n_fit = results["best_validation", 0.0][0]["items_per_side"]
    print(f"\n### {name}: {n_train} real training items a side ({n_fit['train']} fit + {n_fit['validation']} "
          f"validation with early stopping), {n_heldout} held-out a side\n")
    print("Held-out gap [95% CI]; (limited): estimator_limited, below a smaller capacity beyond noise\n")
    print("| generator | estimator | " + " | ".join(f"p = {p}" for p in ps) + " |\n|---|---|" + "---|" * len(ps))
    for share in SHARES:
        label = "q = 0 (real vs real: the noise floor)" if share == 0 else f"q = {share:g} noise"
        for select in SELECTS:
            row = " | ".join(interval(e) for e in results[select, share])
            print(f"| {label} | {select} | {row} |")
    print("\nDetected (harness/nn_distance.py `against_floor`): the q-noise generator's held-out gap minus the floor's "
          "[its 95% interval, half-widths in quadrature]\n")
    print("| generator | estimator | " + " | ".join(f"p = {p}" for p in ps) + " |\n|---|---|" + "---|" * len(ps))
    for share in SHARES[1:]:
        for select in SELECTS:
            read = against_floor([dict(e) for e in results[select, share]], results[select, 0.0])
            cells = [f"{'yes' if e['detected'] else 'no'} ({e['over_floor']:+.3f} [{e['over_floor_ci'][0]:+.3f}, "
                     f"{e['over_floor_ci'][1]:+.3f}])" for e in read]
            print(f"| q = {share:g} | {select} | " + " | ".join(cells) + " |")
    print("\nEarly stopping per capacity: train / validation / held-out gap of the best members, and the steps "
          f"kept (of {config.steps}; min-median-max over the {config.members} members)\n")
    print("| generator | " + " | ".join(f"p = {p}" for p in ps) + " |\n|---|" + "---|" * len(ps))
    for share in SHARES:
        cells = []
        for e in results["best_validation", share]:
            steps = sorted(e["kept_steps"])
            cells.append(f"{e['train_gap']:.3f} / {e['validation_gap']:.3f} / {e['heldout_gap']:.3f}, steps "
                         f"{steps[0]}-{steps[len(steps) // 2]}-{steps[-1]}")
        print(f"| q = {share:g} | " + " | ".join(cells) + " |")
    print("\nWithout early stopping (last): train / held-out gap\n")
    print("| generator | " + " | ".join(f"p = {p}" for p in ps) + " |\n|---|" + "---|" * len(ps))
    for share in SHARES:
        print(f"| q = {share:g} | " + " | ".join(f"{e['train_gap']:.3f} / {e['heldout_gap']:.3f}"
                                               for e in results["last", share]) + " |")
    for select in SELECTS:
        for share in SHARES:
            for e in results[select, share]:
                if e["estimator_limited"]:
                    print(f"\n- {select}, q = {share:g}: {e['reason']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,mnist-5k")
    parser.add_argument("--capacities", default="1e3,1e4,1e5")
    parser.add_argument("--members", type=int, default=EnsembleConfig.members)
    parser.add_argument("--steps", type=int, default=EnsembleConfig.steps)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = EnsembleConfig(members=args.members, steps=args.steps)
    capacities = parse_capacities(args.capacities)
    available = registry().datasets
    started = time.perf_counter()
    print(f"## Neural-net distance, last weights against early stopping (phi = {config.phi}, {config.members} MLP "
          f"discriminators, {config.steps} steps, validation share {config.validation}, checked every "
          f"{config.validate_every} steps, seed 0, torch threads {torch.get_num_threads()})")
    for name in args.datasets.split(","):
        if name not in available:
            print(f"\n({name}: not registered, skipped)")
            continue
        report(name, measure(name, capacities, config), config)
    print(f"\n<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
