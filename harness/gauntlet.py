"""The gauntlet: every metric against adversaries of graded strength, and against real data it has never seen.

Protocol, per data set and seed:
- The data set is split three ways (datasets.open_dataset with control_fraction): train (what adversaries
  memorise, and the training split metrics compare against: C_T, AuthPct, the domain classifier), held-out (the
  metrics' reference) and control (real items neither holds).
- Every source is a finite set of exactly n items, so each metric sees one sample size and one protocol for
  real data and adversaries alike:
    control        n items of the control split
    FAMILY k=v     a constructed family (memorizer m, gaussian-memorizer m, any plugin's) built on the training
                   split at the seed; n draws, repeats included
    noise s        the control items plus Gaussian noise of std s (images clipped to [-1, 1])
    blur s         the control items blurred by a Gaussian of std s pixels
    drop-modes j   n control items of j classes (or known modes) picked at the seed; drawn with replacement when
                   those classes hold fewer than n items, and then the support (distinct items) is recorded
- Detection: the control runs at K seeds, each its own split. Its values give the band, a prediction interval
  mean +- t(level, K-1) sd sqrt(1 + 1/K) that holds one more control run with probability `level` (normal
  values). A score is detected when an adversary's value (the mean over its seeds) lies beyond the band's edge
  in the metric's worse direction. Effect: (value - mean) / sd, positive when worse. A column declared on a log
  scale (Column.scale: a positive size such as the birthday test's support estimate, whose spread grows with it
  and whose values from a few collisions are far from normal) gets its band, and effect, from the logs.
- Fool point of a ladder (a family whose strength is its support m): the smallest m at which a score no longer
  detects it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_zoo.config import number, whole, wholes
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.family import config_from_dict
from gan_zoo.metrics import record_columns
from gan_zoo.sources import ModelSource, TensorSource
from gan_zoo.training import construct

DAMAGES = ("noise", "blur", "drop-modes")  # adversaries made from control items; the others are families
CONTROL = "control"


@dataclass
class GauntletConfig:
    n: int = 500  # items every source gives, the control and each adversary: one sample size for all
    control_fraction: float = 0.25  # of each data set, kept out of the training split and the reference
    control_seeds: tuple[int, ...] = (100, 101, 102, 103, 104, 105)  # each its own split: the band's spread
    level: float = 0.99  # the band holds one more control run with this probability

    def __post_init__(self):
        self.n = whole("n", self.n, 10, 10**7)
        self.control_fraction = number("control_fraction", self.control_fraction, 0, 0.6, low_open=True)
        self.control_seeds = wholes("control_seeds", self.control_seeds, 0, 2**31 - 1, increasing=True)
        if len(self.control_seeds) < 3:
            raise UserError(f"control_seeds = {list(self.control_seeds)}: give at least 3 seeds (a spread needs them)")
        self.level = number("level", self.level, 0.5, 1, low_open=True, high_open=True)


def label(spec: dict) -> str:
    """How reports name one adversary at one strength, e.g. `memorizer m=25`, `noise std=0.1`."""
    if spec["kind"] == CONTROL:
        return CONTROL
    key = spec.get("vary") or {"drop-modes": "j", "noise": "std", "blur": "std"}[spec["adversary"]]
    return f"{spec['adversary']} {key}={spec['strength']:g}"


# -- the sources --------------------------------------------------------------------------------------------

def adversary_source(spec: dict, data: LoadedDataset, registry, *, seed: int, device: torch.device) -> TensorSource:
    """The finite set of n items that `spec` (a job's gauntlet entry) stands for, on this split, at this seed."""
    n, control = spec["n"], data.control
    if control is None or len(control) < n:
        raise UserError(f"{data.name}: the control split holds {0 if control is None else len(control)} items, "
                        f"fewer than n = {n}; lower n or raise control_fraction")
    generator = torch.Generator().manual_seed(seed)
    picked = control.x[torch.randperm(len(control), generator=generator)[:n]]
    facts: dict = {}
    kind, strength = spec["kind"], spec.get("strength")
    if kind == CONTROL:
        items = picked
    elif kind == "noise":
        items = picked + strength * torch.randn(picked.shape, generator=generator)
        if data.spec.is_image:
            items = items.clamp(-1, 1)  # a damaged image is still an image in the data's range
    elif kind == "blur":
        items = gaussian_blur(picked, strength)
    elif kind == "drop-modes":
        items, facts = _drop_modes(control, int(strength), n, generator, data.name)
    elif kind == "family":
        family = registry.family(spec["adversary"])
        config = config_from_dict(family.Config, {**spec.get("set", {}), spec["vary"]: strength})  # typed at load
        model = construct(family, config, data, seed, device)
        items = ModelSource(model).draw(n, seed).cpu()
        facts = model.facts()
    else:
        raise UserError(f"unknown adversary kind {kind!r}")
    return TensorSource(items, label(spec), kind="gauntlet", details={"adversary": spec["adversary"],
                                                                       "strength": strength, "n": n},
                        facts=facts)


def damage_strength(damage: str, strength, data: LoadedDataset) -> float:
    """A damage's strength, checked against the data set it damages."""
    if damage == "drop-modes":
        classes = data.spec.num_classes
        if classes is None:
            raise UserError(f"drop-modes: {data.name} has no labels or known modes to drop")
        return whole("drop-modes (classes kept)", strength, 1, classes - 1)
    if damage == "blur" and not data.spec.is_image:
        raise UserError(f"blur: {data.name} is not a set of images")
    return number(f"{damage} (std)", strength, 0, low_open=True)


def gaussian_blur(images: torch.Tensor, std: float) -> torch.Tensor:
    """Each channel blurred by a Gaussian of `std` pixels (separable, reflected at the borders)."""
    radius = max(1, min(math.ceil(3 * std), images.shape[-1] - 1, images.shape[-2] - 1))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-offsets**2 / (2 * std**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def _drop_modes(control, keep: int, n: int, generator, name: str) -> tuple[torch.Tensor, dict]:
    if control.labels is None:
        raise UserError(f"drop-modes: {name} has no labels or known modes to drop")
    classes = control.labels.unique()
    if not 1 <= keep < len(classes):
        raise UserError(f"drop-modes: keep {keep} of {len(classes)} classes: give 1 to {len(classes) - 1}")
    kept = classes[torch.randperm(len(classes), generator=generator)[:keep]]
    pool = torch.nonzero(torch.isin(control.labels, kept)).squeeze(1)
    replaced = len(pool) < n
    pick = (torch.randint(len(pool), (n,), generator=generator) if replaced
            else torch.randperm(len(pool), generator=generator)[:n])
    facts = {"kept": sorted(kept.tolist()), "pool": len(pool), "with_replacement": replaced}
    if replaced:
        facts["support"] = len(pool)
    return control.x[pool[pick]], facts


# -- detection ----------------------------------------------------------------------------------------------

def band(values: list[float], level: float) -> dict | None:
    """The prediction interval for one more control run; None with fewer than 3 values."""
    from scipy.stats import t

    if len(values) < 3:
        return None
    k = len(values)
    mean = sum(values) / k
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    half = float(t.ppf(0.5 + level / 2, k - 1)) * sd * math.sqrt(1 + 1 / k)
    return {"mean": mean, "sd": sd, "k": k, "level": level, "low": mean - half, "high": mean + half}


def judge(value: float, control: dict, worse: str) -> tuple[float | None, bool]:
    """(effect in control sds, positive when worse; detected). A control without spread detects any worse value
    (its effect is then undefined: None)."""
    sign = 1 if worse == "higher" else -1
    shift = sign * (value - control["mean"])
    effect = shift / control["sd"] if control["sd"] > 0 else None
    edge = control["high"] if worse == "higher" else control["low"]
    tolerance = 1e-9 * max(1.0, abs(control["mean"]))
    return effect, bool(sign * (value - edge) > tolerance)


def scores(record: dict, registry) -> dict[str, dict]:
    """The numbers a gauntlet judges in one evaluation record: each registered metric's leaderboard columns that
    hold a number, with the metric's worse direction."""
    return {column.key: {"metric": metric.name, "label": column.header, "value": float(column.value),
                         "worse": metric.worse, "scale": column.scale}
            for metric, column in record_columns(record, registry)
            if column.value is not None and math.isfinite(column.value)}


def control_band(values: list[float], level: float, scale: str) -> dict | None:
    """The band on the column's scale: on a log scale (a positive size, such as a support estimate, whose spread
    grows with it) the interval is made of the logs and its ends reported back in the column's units."""
    if scale == "log" and all(v > 0 for v in values):
        logged = band([math.log(v) for v in values], level)
        if logged is None:
            return None
        return {**logged, "scale": "log", "low": math.exp(logged["low"]), "high": math.exp(logged["high"])}
    linear = band(values, level)
    return None if linear is None else {**linear, "scale": "linear"}


def judge_on_scale(value: float, control: dict, worse: str) -> tuple[float | None, bool]:
    """judge() on the band's scale: logs for a log band (its mean and sd are of the logs)."""
    if control["scale"] != "log":
        return judge(value, control, worse)
    if value <= 0:  # below every positive control value: worse when lower is worse
        return None, worse == "lower"
    logged = {**control, "low": math.log(control["low"]), "high": math.log(control["high"])}
    return judge(math.log(value), logged, worse)


def entries(results: list[dict], registry) -> list[dict]:
    """gauntlet.json: one entry per data set, score, adversary and strength, from bench results of gauntlet jobs
    (each result's job carries its gauntlet spec)."""
    controls: dict[tuple, list[float]] = defaultdict(list)
    observed: dict[tuple, dict] = {}
    runs: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
    levels, kinds = {}, {}
    for result in results:
        job = result["job"]
        spec = job.get("gauntlet")
        if not spec or result["status"] != "ok":
            continue
        levels[job["dataset"]] = spec["level"]
        for key, score in scores(result["eval"], registry).items():
            observed[job["dataset"], key] = score
            if spec["kind"] == CONTROL:
                controls[job["dataset"], key].append(score["value"])
            else:
                runs[job["dataset"], key, spec["adversary"], spec["strength"]].append((job["seed"], score))
                kinds[spec["adversary"]] = spec["kind"], spec.get("vary")
    table = []
    for (dataset, key, adversary, strength), seen in sorted(runs.items(), key=lambda item: str(item[0])):
        score = observed[dataset, key]
        values = [s["value"] for _, s in sorted(seen, key=lambda pair: pair[0])]
        value = sum(values) / len(values)
        control = control_band(controls.get((dataset, key), []), levels[dataset], score["scale"])
        effect, detected, reason = None, None, None
        if control is None:
            reason = f"the control gave {len(controls.get((dataset, key), []))} values (3 needed)"
        else:
            effect, detected = judge_on_scale(value, control, score["worse"])
        table.append({
            "dataset": dataset, "metric": score["metric"], "score": key, "label": score["label"],
            "worse": score["worse"], "adversary": adversary, "kind": kinds[adversary][0],
            "vary": kinds[adversary][1], "strength": strength,
            "value": value,
            "values": values, "seeds": sorted(seed for seed, _ in seen),
            "band": None if control is None else [control["low"], control["high"]], "control": control,
            "effect": effect, "detected": detected, "reason": reason})
    return table


def ladders(table: list[dict]) -> list[dict]:
    """Per data set, score and adversary with several strengths: where it is detected and where it is not; for a
    family ladder (memorised support m: larger is harder) the fool point is the smallest m it misses."""
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for entry in table:
        grouped[entry["dataset"], entry["score"], entry["adversary"]].append(entry)
    found = []
    for (dataset, key, adversary), rungs in sorted(grouped.items()):
        rungs.sort(key=lambda e: e["strength"])
        missed = [e["strength"] for e in rungs if e["detected"] is False]
        found.append({"dataset": dataset, "score": key, "label": rungs[0]["label"], "adversary": adversary,
                      "kind": rungs[0]["kind"], "vary": rungs[0]["vary"],
                      "strengths": [e["strength"] for e in rungs],
                      "detected_at": [e["strength"] for e in rungs if e["detected"]],
                      "fool_point": missed[0] if missed else None})
    return found
