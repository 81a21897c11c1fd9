"""Metrics along training: a trajectory of evaluations of one run, each score judged against real-data control
runs, and the step at which a score first detects the generator (the onset of memorisation or lost diversity).

Protocol (the gauntlet's, along training steps). The held-out split is cut, per partition seed, into a reference
of n items (what the metrics compare with) and a control part of n items (real data neither trained on nor
compared with); the training split is the one the model trains on. The partition seeds are the tracker's seed's
stream "tracking.partition" (gan_zoo.seeds): part 0 for the tracker, parts 1 to `controls` for the control runs.
At each tracked step the generator gives n items for the tracker's seed, judged as a finite source against the
reference of part 0; the control runs, once per trajectory, judge n control items against the reference of their
own part. Every source is a finite set of n items, so the generator and real data are measured
at one sample size. A point is detected by the gauntlet's rule (harness.gauntlet: its p-value among the control
runs, by rank or by the exact count test, at most 1 - level; `controls` defaults to the runs that level needs,
19 at 0.95), reached through DetectionRule so that a change to the gauntlet's rule reaches tracking with it; the
control runs' centre, spread and edge are kept for the plots.

Onset: the first tracked step from which a score stays detected through the last point, at `confirm` (2) points at
least; its uncertainty is the interval between the last tracked step before it (the last clean one) and it. A
detection that ends is no onset (an underfitting generator's early FD, say: detected, then clean), and a detection
at fewer than `confirm` last points is reported as provisional.

File `trajectory.jsonl` (schema `gan-zoo-trajectory/1`), JSON Lines, each line complete on its own:
  line 1, kind "header": schema, run (the identity a resumed tracker must match: dataset, eval_config, n, seed,
    control seeds, level, confirm, and the caller's `run`, e.g. a family, its config and steps), controls {seeds,
    scores {key: metric, label, worse, scale}, values {key: [one per control]}, bands {key: band or null},
    errors}, seconds (the control runs' time), versions.
  then one line per tracked step, steps increasing, kind "point": step, seconds (this point's evaluation),
    item_shape (of the items as given), scores {key: value, detected, effect}, onsets {key: onset or null, from
    the points so far}, metrics, skipped, errors (as in an evaluation record);
  or kind "skipped": step, reason (the tracking budget was spent; the point was not evaluated).
The header is written atomically before the first point; a point is appended with one write and an fsync, so a
kill leaves at most a torn last line, which the next open drops. A file whose header names another run is never
appended to.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_zoo.config import number, whole
from gan_zoo.datasets import LoadedDataset, open_dataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel
from gan_zoo.files import atomic_write_bytes, versions
from gan_zoo.harness.evaluate import EvalConfig, evaluate
from gan_zoo.harness.gauntlet import effect_size, needed_controls, null_summary, p_value, scores, too_few
from gan_zoo.harness.sources import open_source
from gan_zoo.metrics import EvalContext
from gan_zoo.registry import Registry, registry
from gan_zoo.seeds import derive
from gan_zoo.sources import ModelSource, TensorSource

SCHEMA = "gan-zoo-trajectory/1"
FILE_NAME = "trajectory.jsonl"
DEFAULT_N = 500
# Settings sized for evaluating many times along a run; a caller's own settings for a metric replace these.
REPEATED_USE: dict[str, dict] = {"nn_distance": {"capacities": [1000, 10000], "ensemble": {"members": 2, "steps": 150}},
                                 "birthday": {"trials": 5}}


@dataclass(frozen=True)
class DetectionRule:
    """The gauntlet's rule (harness.gauntlet): a point is detected when its p-value among the control runs is at
    most 1 - level: the rank rule, or the exact count test where the score and every control carry an event count
    (the birthday test's collisions). Valid for discrete and heavy-tailed scores alike."""

    level: float = 0.95

    @property
    def alpha(self) -> float:
        return round(1 - self.level, 12)  # as the gauntlet rounds it: 1 - (1 - 1/6) must still admit p = 1/6

    def band(self, controls: list[dict], worse: str, scale: str) -> dict | None:
        """The control runs summed up (for plots and effects) with the runs themselves (for p-values); None when
        they are too few to judge at this level."""
        if too_few(controls[0], controls, self.alpha):
            return None
        return {**null_summary(controls, self.alpha, worse, scale), "level": self.level,
                "controls": [{"value": c["value"], "count": c["count"]} for c in controls]}

    def detected(self, score: dict, band: dict) -> bool:
        return p_value(score, band["controls"]) <= self.alpha

    def effect(self, score: dict, band: dict) -> float | None:
        return effect_size(score["value"], band, score["worse"])


def onset(points: list[tuple[int, bool]], confirm: int = 2) -> dict | None:
    """The first step from which a score stays detected through the last point, with the tracked step before it
    (`after`: the onset lies in (after, step]; None when detected from the first point); provisional when fewer
    than `confirm` points are detected. None when the last point is clean."""
    start = len(points)
    while start and points[start - 1][1]:
        start -= 1
    if start == len(points):
        return None
    return {"step": points[start][0], "after": points[start - 1][0] if start else None,
            "confirmed": len(points) - start >= confirm}


def merged_settings(metrics, settings: dict) -> dict:
    """The caller's metric settings over REPEATED_USE's, for the tracked metrics only."""
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics or [])
    merged = {name: copy.deepcopy(REPEATED_USE[name]) for name in names if name in REPEATED_USE}
    for name, values in settings.items():
        merged[name] = values if not isinstance(values, dict) else {**merged.get(name, {}), **values}
    return merged


class Tracker:
    """Evaluates a generator at training steps and writes its trajectory (see the module docstring).

        tracker = Tracker(dataset="digits", metrics=["ct", "authpct", "fd"], out="runs/mine")
        for step in range(1, 10001):
            ...                                   # one training step
            if step % 500 == 0:
                tracker.update(step, generator)   # anything evaluate() takes: a tensor, a function, a module

    Opening a folder that holds this run's trajectory resumes it: steps already recorded are not evaluated again.
    """

    def __init__(self, dataset, metrics=None, out: str | Path = "runs/track", *, n: int | None = None, seed: int = 0,
                 controls: int | None = None, level: float = 0.95, confirm: int = 2, budget: float | None = None,
                 run: dict | None = None, device: str | torch.device = "auto", data_root: str | Path | None = None,
                 image_range: str = "auto", resize: bool = False, features: dict | None = None,
                 reg: Registry | None = None, rule: DetectionRule | None = None, **settings):
        started = time.perf_counter()
        self.registry = reg or registry()
        self.config = EvalConfig.build(self.registry, metrics, merged_settings(metrics, settings), features)
        self.seed = whole("seed", seed, 0, 2**31 - 1)
        self.confirm = whole("confirm", confirm, 1, 100)
        self.budget = None if budget is None else number("budget", budget, 0, 1, low_open=True)
        self.rule = rule or DetectionRule(number("level", level, 0.5, 1, low_open=True, high_open=True))
        need = needed_controls(self.rule.alpha)  # the rank rule's smallest p-value is 1 / (K + 1)
        control_count = need if controls is None else whole("controls", controls, 1, 1000)
        if control_count < need:
            raise UserError(f"controls = {control_count}: detection at level {self.rule.level:g} needs at least "
                            f"{need} control runs; raise controls or lower level")
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.image_range, self.resize = image_range, resize
        self.data = dataset if isinstance(dataset, LoadedDataset) else open_dataset(
            self.registry.dataset(dataset), seed=self.seed, root=Path(data_root) if data_root else None)
        held = len(self.data.heldout)
        self.n = whole("n", n, 2, 10**7) if n is not None else min(DEFAULT_N, held // 2)
        if 2 * self.n > held:
            raise UserError(f"n = {self.n}: the held-out split of {self.data.name} holds {held} items and tracking "
                            f"needs 2n (a reference and a control part); use n = {held // 2} or fewer")
        self.reference = self._partition(derive(self.seed, "tracking.partition", 0))[0]
        self._refuse_what_does_not_apply()
        self.control_seeds = [derive(self.seed, "tracking.partition", k) for k in range(1, control_count + 1)]
        self.identity = json.loads(json.dumps({
            "dataset": self.data.to_json(), "eval_config": self.config.to_json(self.registry), "n": self.n,
            "seed": self.seed, "control_seeds": self.control_seeds, "level": self.rule.level,
            "confirm": self.confirm, "run": run}))
        self.out = Path(out)
        self.path = self.out / FILE_NAME
        self.points: list[dict] = []  # the lines after the header, as read or written
        self.dropped_torn_line = False
        # the header is written with the first point: a caller that fails before it (a training run refused) leaves
        # no file behind
        self.header = self._resume() if self.path.exists() else self._controls(started)
        self.started, self.spent = started, time.perf_counter() - started  # this session's wall clock and share

    # -- setting up -----------------------------------------------------------------------------------------
    def _partition(self, seed: int) -> tuple[LoadedDataset, torch.Tensor]:
        """(the data with n held-out items as the reference, n other held-out items as a control) for a seed."""
        data = self.data
        order = torch.randperm(len(data.heldout), generator=torch.Generator().manual_seed(seed))
        reference = LoadedDataset(data.name, data.fingerprint, data.spec, data.train,
                                  data.heldout.subset(order[:self.n]), data.seed)
        return reference, data.heldout.x[order[self.n:2 * self.n]]

    def _refuse_what_does_not_apply(self) -> None:
        ctx = EvalContext(TensorSource(self.reference.heldout.x, "items"), self.reference, self.registry,
                          seed=self.seed, device=self.device, feature_settings=self.config.features)
        for name in self.config.metrics:
            metric = self.registry.metric(name)
            reason = metric().applies(ctx, self.config.setting(self.registry, name))
            if reason:
                why = f"{reason}; tracking judges items, not (x, z) pairs" if "pairs" in metric.needs else reason
                raise UserError(f"tracking {name}: it does not apply here ({why}); drop it from the tracked metrics")

    def _controls(self, started: float) -> dict:
        runs: dict[str, list[dict]] = {}
        described, errors = {}, {}
        for part, partition_seed in enumerate(self.control_seeds, 1):
            data, items = self._partition(partition_seed)
            record = evaluate(TensorSource(items, f"control {part}", kind="control"), data, self.registry,
                              self.config, seed=self.seed, device=self.device).record
            errors.update({f"{name} (control {part})": why for name, why in record["errors"].items()})
            for key, score in scores(record, self.registry).items():
                runs.setdefault(key, []).append(score)
                described[key] = {k: score[k] for k in ("metric", "label", "worse", "scale")}
        values = {key: [score["value"] for score in found] for key, found in runs.items()}
        bands = {key: self.rule.band(found, described[key]["worse"], described[key]["scale"])
                 if len(found) == len(self.control_seeds) else None for key, found in runs.items()}
        return {"schema": SCHEMA, "kind": "header", "run": self.identity,
                "controls": {"seeds": self.control_seeds, "scores": described, "values": values, "bands": bands,
                             "errors": errors},
                "seconds": round(time.perf_counter() - started, 3), "versions": versions()}

    def _resume(self) -> dict:
        lines = read_trajectory(self.path)
        header = lines.header
        if header["run"] != self.identity:
            differs = sorted(k for k in set(header["run"]) | set(self.identity)
                             if header["run"].get(k) != self.identity.get(k))
            raise UserError(f"{self.path} holds the trajectory of another run (it differs in {', '.join(differs)}); "
                            f"it is never appended to: choose another output folder, or remove that file")
        if lines.torn:  # only now: another run's file is left as it is
            read_trajectory(self.path, repair=True)
        self.dropped_torn_line = lines.torn
        self.points = lines.points
        return header

    # -- tracking -------------------------------------------------------------------------------------------
    @property
    def bands(self) -> dict:
        return self.header["controls"]["bands"]

    def recorded(self, step: int) -> dict | None:
        return next((p for p in self.points if p["step"] == step), None)

    def update(self, step: int, source, *, final: bool = False) -> dict:
        """Evaluate `source` (anything evaluate() takes) at `step` and append the point; returns it.

        A step already recorded is returned as recorded (a resumed run tracks it again). With a budget, a point
        that would find tracking over its share of the time so far is recorded as skipped, unless `final`."""
        step = whole("step", step, 0)
        if (done := self.recorded(step)) is not None:
            return done
        if self.points and step < self.points[-1]["step"]:
            raise UserError(f"step {step} comes before the last tracked step {self.points[-1]['step']}; track steps "
                            f"in increasing order")
        began = time.perf_counter()
        if self.budget is not None and not final and self.spent > self.budget * (began - self.started):
            return self._append({"schema": SCHEMA, "kind": "skipped", "step": step,
                                 "reason": f"tracking had taken {self.spent / (began - self.started):.0%} of the "
                                           f"time, over its budget of {self.budget:.0%}"})
        items, shape = self._items(source)
        record = evaluate(TensorSource(items, "generator", kind="tracked"), self.reference, self.registry,
                          self.config, seed=self.seed, device=self.device).record
        found = {}
        for key, score in scores(record, self.registry).items():
            band = self.bands.get(key)
            found[key] = {"value": score["value"],
                          "detected": None if band is None else self.rule.detected(score, band),
                          "effect": None if band is None else self.rule.effect(score, band)}
        point = {"schema": SCHEMA, "kind": "point", "step": step, "item_shape": list(shape), "scores": found,
                 "metrics": record["metrics"], "skipped": record["skipped"], "errors": record["errors"]}
        point["onsets"] = self.onsets([*self.points, point])
        point["seconds"] = round(time.perf_counter() - began, 3)
        self._append(point)
        self.spent += time.perf_counter() - began
        return point

    def _items(self, source) -> tuple[torch.Tensor, tuple]:
        """n items of the source for the tracker's seed, and the shape of its items as given."""
        given = None
        if torch.is_tensor(source) or isinstance(source, np.ndarray):
            given = tuple(source.shape[1:])
            before = next((p["item_shape"] for p in reversed(self.points) if p["kind"] == "point"), None)
            if before is not None and list(given) != before:
                raise UserError(f"step items of shape {given}, but this run's earlier points had items of shape "
                                f"{tuple(before)}; give every point items of one shape")
        # a model in training is sampled where it is: moving it to the tracker's device would move the training
        opened = ModelSource(source) if isinstance(source, GanModel) else open_source(
            source, self.reference, self.registry, device=self.device, seed=self.seed, image_range=self.image_range,
            resize=self.resize)
        if opened.size is not None and opened.size < self.n:
            raise UserError(f"{opened.name}: holds {opened.size} items; tracking judges {self.n} at each point "
                            f"(n), so give at least that many")
        items = opened.draw(self.n, self.seed).cpu()
        return items, given or tuple(items.shape[1:])

    def _append(self, point: dict) -> dict:
        if not self.path.exists():
            atomic_write_bytes(self.path, _line(self.header))
        append_line(self.path, point)
        self.points.append(point)
        self.after_point()
        return point

    def after_point(self) -> None:
        """Called after every appended line (the app draws the plots here)."""

    def onsets(self, points: list[dict] | None = None) -> dict:
        """Per score with a band: its onset (see onset()) over the evaluated points, or None."""
        evaluated = [p for p in (self.points if points is None else points) if p["kind"] == "point"]
        return {key: onset([(p["step"], bool(p["scores"][key]["detected"])) for p in evaluated
                            if key in p["scores"]], self.confirm)
                for key, band in self.bands.items() if band is not None}

    def cost(self) -> dict:
        """Tracking's time (control runs included) and its share of this session's time since the tracker began."""
        elapsed = time.perf_counter() - self.started
        return {"seconds": round(self.spent, 3), "share": self.spent / elapsed if elapsed > 0 else 0.0,
                "budget": self.budget,
                "points": sum(p["kind"] == "point" for p in self.points),
                "skipped": sum(p["kind"] == "skipped" for p in self.points)}


# -- the file -------------------------------------------------------------------------------------------------

def _line(value: dict) -> bytes:
    return (json.dumps(value, sort_keys=True, allow_nan=False) + "\n").encode()


def append_line(path: Path, value: dict) -> None:
    """One line appended whole: one write of the whole line (retried for a short write) and an fsync."""
    payload = _line(value)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        written = 0
        while written < len(payload):
            written += os.write(fd, payload[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Trajectory:
    header: dict
    points: list[dict]
    torn: bool  # a torn last line (a kill mid-write) was found (and, when repairing, cut off the file)


def read_trajectory(path: Path, repair: bool = False) -> Trajectory:
    """A trajectory file's header and lines; a torn last line is left out (and with `repair`, cut off the file)."""
    path = Path(path)
    payload = path.read_bytes()
    end = payload.rfind(b"\n") + 1
    torn = end < len(payload)
    if torn and repair:
        with open(path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    lines = []
    for number_, raw in enumerate(payload[:end].splitlines(), 1):
        try:
            lines.append(json.loads(raw))
        except ValueError:
            raise UserError(f"{path}: line {number_} is not JSON; the file is damaged: remove it (or the line) and "
                            f"track again") from None
    if not lines or not isinstance(lines[0], dict) or lines[0].get("kind") != "header" \
            or lines[0].get("schema") != SCHEMA:
        raise UserError(f"{path}: not a gan-zoo trajectory ({SCHEMA} header missing); choose another output folder, "
                        f"or remove that file")
    return Trajectory(lines[0], lines[1:], torn)
