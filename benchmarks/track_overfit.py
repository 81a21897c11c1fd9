"""When does each score first detect memorisation? A vanilla GAN trained on a small subset of digits' training
split, tracked along training (benchmarks/RESULTS.md, "Metrics along training").

    .venv/bin/python benchmarks/track_overfit.py --sizes 50,200 --steps 6000 --every 500 --out runs/track-overfit

For each size K the training split is cut to its first K items (the held-out split, the metrics' reference and
the control runs' real data, stays whole). The run is tracked with the birthday support, C_T, AuthPct, FD, KID
and the neural-net distance per capacity, all in pixel space (the domain classifier would be trained on the K
items too). Prints, per size, each score's onset and the step of the best FD; writes each run's trajectory and
plots under OUT/trainK/, and one figure of every score against step for all sizes (OUT/track-overfit.png).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gan_zoo.app.plots import figure_png, pyplot
from gan_zoo.app.tracking import Tracker
from gan_zoo.datasets import LoadedDataset, open_dataset
from gan_zoo.files import atomic_write_bytes, atomic_write_json
from gan_zoo.harness.tracking import onset
from gan_zoo.registry import registry
from gan_zoo.training import run

METRICS = ["birthday", "ct", "authpct", "fd", "kid", "nn_distance"]
PIXELS = {name: {"features": "pixels"} for name in ("ct", "authpct", "fd", "kid")}


def subset(data: LoadedDataset, k: int) -> LoadedDataset:
    return LoadedDataset(data.name, data.fingerprint, data.spec, data.train.subset(torch.arange(k)), data.heldout,
                         data.seed)


def tracked_run(reg, data, k: int, steps: int, every: int, out: Path) -> dict:
    small = subset(data, k)
    folder = out / f"train{k}"
    config = reg.family("vanilla").Config()
    started = time.perf_counter()
    tracker = Tracker(small, METRICS, folder, n=len(data.heldout) // 2, seed=0,
                      run={"family": "vanilla", "train_items": k, "steps": steps}, device="cpu", **PIXELS)
    result = run(reg, "vanilla", config, small, out=folder, seed=0, steps=steps, device=torch.device("cpu"),
                 track=tracker.update, track_every=every)
    tracker.update(result.step, result.model, final=True)
    points = [p for p in tracker.points if p["kind"] == "point"]
    fd = [(p["step"], p["scores"]["fd"]["value"]) for p in points]
    best = min(fd, key=lambda pair: pair[1])
    return {"train_items": k, "steps": steps, "every": every, "best_fd": best,
            "fd": fd, "cost": tracker.cost(), "seconds": round(time.perf_counter() - started, 1),
            "labels": {key: s["label"] for key, s in tracker.header["controls"]["scores"].items()},
            "values": {key: [(p["step"], p["scores"][key]["value"], p["scores"][key]["detected"]) for p in points
                             if key in p["scores"]] for key in tracker.header["controls"]["scores"]},
            "bands": tracker.bands}


def figure(found: list[dict]) -> bytes:
    keys = [key for key in found[0]["values"] if key != "nn_distance[mlp].floor"]
    columns = 3
    rows = -(-len(keys) // columns)
    fig, axes = pyplot().subplots(rows, columns, figsize=(4.2 * columns, 2.9 * rows), dpi=100, squeeze=False,
                                  layout="constrained")
    for ax, key in zip(axes.flat, keys, strict=False):
        for i, run_ in enumerate(found):
            colour = f"C{i}"
            seen = run_["values"].get(key, [])
            ax.plot([s for s, _, _ in seen], [v for _, v, _ in seen], marker=".", color=colour,
                    label=f"{run_['train_items']} training items")
            hits = [(s, v) for s, v, d in seen if d]
            if hits:
                ax.scatter(*zip(*hits, strict=True), color=colour, edgecolor="black", zorder=3, s=25)
            onset = run_["onsets"].get(key)
            if onset:
                ax.axvline(onset["step"], color=colour, linestyle="--", linewidth=1)
            ax.axvline(run_["best_fd"][0], color=colour, linestyle=":", linewidth=1)
            band = run_["bands"].get(key)  # each run's own: the copy tests and the NND compare with its K items
            if band:
                ax.axhspan(band["low"], band["high"], color=colour, alpha=0.1)
        band = found[0]["bands"].get(key)
        if band and band["scale"] == "log" and len({v for r in found for _, v, _ in r["values"].get(key, [])}) > 1:
            ax.set_yscale("log")  # a log axis over one value shows no ticks
        ax.set_title(found[0]["labels"][key], fontsize=8)
        ax.set_xlabel("step", fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(found), fontsize=8)
    fig.suptitle("vanilla GAN on digits subsets of K training items: shaded, each run's real-data band; ringed "
                 "dots, detected; dashed, onset; dotted, best FD", fontsize=9)
    return figure_png(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("runs/track-overfit"))
    parser.add_argument("--redraw", action="store_true",
                        help="Print and draw again from OUT/summary.json, onsets recomputed from the values.")
    args = parser.parse_args()
    if args.redraw:
        report(json.loads((args.out / "summary.json").read_text()), args.out)
        return
    torch.set_num_threads(1)
    reg = registry()
    data = open_dataset(reg.dataset("digits"), seed=0)
    found = []
    for k in (int(s) for s in args.sizes.split(",")):
        found.append(tracked_run(reg, data, k, args.steps, args.every, args.out))
    atomic_write_json(args.out / "summary.json", json.loads(json.dumps(found)))
    report(found, args.out)


def report(found: list[dict], out: Path) -> None:
    for done in found:
        done["onsets"] = {key: onset([(s, d) for s, _, d in seen]) for key, seen in done["values"].items()
                          if done["bands"].get(key)}
        print(f"\n{done['train_items']} training items, {done['steps']} steps ({done['seconds']} s; tracking "
              f"{done['cost']['share']:.0%}):")
        print(f"  best FD {done['best_fd'][1]:.3g} at step {done['best_fd'][0]}")
        for key, found_ in done["onsets"].items():
            where = "not detected at the end" if found_ is None else \
                f"onset at step {found_['step']} (after {found_['after']})" \
                f"{'' if found_['confirmed'] else ', provisional'}"
            print(f"  {done['labels'][key]}: {where}")
    atomic_write_bytes(out / "track-overfit.png", figure(found))
    print(f"\nfigure: {out / 'track-overfit.png'}")


if __name__ == "__main__":
    main()
