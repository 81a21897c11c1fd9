"""Metrics along training, as a user sees them: the Tracker that also draws its plots (gan_zoo.Tracker), and
`gan-zoo train --track`'s wiring (the trajectory itself, its format and the onset rule: gan_zoo.harness.tracking).

Plots: one PNG per tracked metric beside the trajectory, `trajectory-METRIC.png`, a panel per score: its value
against step, the real-data control band shaded, detected points in red and the onset marked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes
from gan_zoo.harness import tracking
from gan_zoo.training import CHECKPOINT_NAME


class Tracker(tracking.Tracker):
    __doc__ = tracking.Tracker.__doc__

    def after_point(self) -> None:
        write_plots(self.out, self.header, self.points)


def plot_path(folder: Path, metric: str) -> Path:
    return Path(folder) / f"trajectory-{re.sub(r'[^A-Za-z0-9_.-]+', '_', metric)}.png"


def write_plots(folder: Path, header: dict, points: list[dict]) -> list[Path]:
    """A PNG per metric with evaluated points (see the module docstring); returns the paths written."""
    from gan_zoo.drawing import figure_png, pyplot

    controls = header["controls"]
    evaluated = [p for p in points if p["kind"] == "point"]
    if not evaluated:
        return []
    by_metric = defaultdict(list)
    for key, described in controls["scores"].items():
        by_metric[described["metric"]].append(key)
    onsets = evaluated[-1].get("onsets", {})
    written = []
    for metric, keys in sorted(by_metric.items()):
        figure, axes = pyplot().subplots(len(keys), 1, figsize=(6, 2.6 * len(keys)), dpi=100, squeeze=False)
        for ax, key in zip(axes[:, 0], keys, strict=True):
            seen = [(p["step"], p["scores"][key]) for p in evaluated if key in p["scores"]]
            steps = [s for s, _ in seen]
            ax.plot(steps, [v["value"] for _, v in seen], marker="o", color="tab:blue", label="generator")
            hits = [(s, v["value"]) for s, v in seen if v["detected"]]
            if hits:
                ax.scatter(*zip(*hits, strict=True), color="tab:red", zorder=3, label="detected")
            band = controls["bands"].get(key)
            if band is not None and steps:
                ax.axhspan(band["low"], band["high"], color="tab:green", alpha=0.2,
                           label=f"real data ({band['level']:.0%} band, {band['k']} controls)")
                if band["scale"] == "log":
                    ax.set_yscale("log")
            found = onsets.get(key)
            if found:
                ax.axvline(found["step"], color="tab:red", linestyle="--",
                           label=f"onset {found['step']}{'' if found['confirmed'] else ' (provisional)'}")
            ax.set_title(f"{controls['scores'][key]['label']} ({controls['scores'][key]['worse']} is worse)",
                         fontsize=9)
            ax.set_xlabel("step")
            ax.legend(fontsize=7)
        path = plot_path(folder, metric)
        atomic_write_bytes(path, figure_png(figure))
        written.append(path)
    return written


def onset_lines(tracker: tracking.Tracker) -> list[str]:
    """What the end of a tracked run prints: each score's onset with its interval, and tracking's cost."""
    lines = []
    described = tracker.header["controls"]["scores"]
    for key, found in tracker.onsets().items():
        label = described[key]["label"]
        if found is None:
            lines.append(f"{label}: not detected at the last point")
        else:
            since = "from the first point" if found["after"] is None else f"after step {found['after']}"
            lines.append(f"{label}: detected from step {found['step']} ({since}"
                         f"{'' if found['confirmed'] else f'; provisional: fewer than {tracker.confirm} points'})")
    cost = tracker.cost()
    budget = "" if cost["budget"] is None else f" (budget {cost['budget']:.0%})"
    skipped = f", {cost['skipped']} skipped to keep within the budget" if cost["skipped"] else ""
    lines.append(f"tracking: {cost['points']} point{'' if cost['points'] == 1 else 's'}{skipped}, "
                 f"{cost['seconds']:.1f} s, {cost['share']:.0%} of "
                 f"the run's time{budget}")
    return lines


class TrainTracking:
    """`gan-zoo train --track`: the tracker, the steps it evaluates at, and the checkpoints it keeps."""

    def __init__(self, metrics: str, every: int | None, steps: int, trained: bool, *, data, out: Path,
                 run: dict, n: int | None, budget: float | None, keep: bool, seed: int, device,
                 options: tuple[dict, dict] = ({}, {})):
        if trained and every is not None and every > steps:
            raise UserError(f"--track-every {every}: larger than the run ({steps} steps); choose at most {steps}")
        self.every = every or max(1, steps // 10)
        self.out, self.keep = Path(out), keep
        settings, features = options  # metric settings and feature-space settings
        self.tracker = Tracker(data, metrics, out, n=n, seed=seed, budget=budget, run=run, device=device,
                               features=features, **settings)

    def at_step(self, step: int, model, final: bool = False) -> None:
        if self.keep:  # the checkpoint of this step, written just before: kept to go back to
            kept = self.out / "tracked" / f"step-{step:09d}.safetensors"
            if not kept.exists():
                atomic_write_bytes(kept, (self.out / CHECKPOINT_NAME).read_bytes())
        self.tracker.update(step, model, final=final)

    def summary(self) -> dict:
        return {"file": str(self.tracker.path), "every": self.every, "onsets": self.tracker.onsets(),
                "cost": self.tracker.cost()}


def comparison_plots(folder: Path, rows: list[dict]) -> dict[str, bytes]:
    """For a leaderboard: per tracked score, the trajectories of every row that has one (its first seed's) on one
    axis, with the real-data band of the first row's control runs. Keyed `trajectory-SCORE`."""
    from gan_zoo.drawing import figure_png, pyplot

    runs = [(row["label"], tracking.read_trajectory(Path(folder) / row["trajectory"]))
            for row in rows if row.get("trajectory") and (Path(folder) / row["trajectory"]).exists()]
    keys = sorted({key for _, t in runs for key in t.header["controls"]["scores"]})
    plots = {}
    for key in keys:
        figure, ax = pyplot().subplots(figsize=(7, 3.5), dpi=100)
        band, described = None, None
        for label, trajectory in runs:
            seen = [(p["step"], p["scores"][key]["value"]) for p in trajectory.points
                    if p["kind"] == "point" and key in p["scores"]]
            if seen:
                ax.plot(*zip(*seen, strict=True), marker=".", label=label)
                band = band or trajectory.header["controls"]["bands"].get(key)
                described = described or trajectory.header["controls"]["scores"][key]
        if described is None:
            pyplot().close(figure)
            continue
        if band is not None:
            ax.axhspan(band["low"], band["high"], color="tab:green", alpha=0.2, label="real data band")
            if band["scale"] == "log":
                ax.set_yscale("log")
        ax.set_title(f"{described['label']} along training ({described['worse']} is worse)", fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        plots[f"trajectory-{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}"] = figure_png(figure)
    return plots
