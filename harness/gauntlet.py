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
    NAME s         a registered adversary (gan_zoo/adversaries.py; the built-ins in plugins/builtin_adversaries.py:
                   partial and disguised copies, blends, pull-to-centre, repeat) made from the n control items
                   the control source would give at the seed, and the splits; what it returns is checked
- Detection: the control runs at K seeds, each its own split: K draws of each score's null distribution. One run
  of an adversary is detected by a score when its rank p-value, (1 + control runs at least as bad) / (K + 1), is
  at most alpha = 1 - level (valid for discrete and heavy-tailed scores alike; ties count against detection);
  a score that carries an event count (the birthday test's collisions among the pairs it examined) is judged
  by the exact Poisson test of its count against the control runs' counts instead, so no collisions is never
  a detection. The rank rule needs K >= 1/alpha - 1; the config asks one more, so that each control run can be
  held out in turn and judged as if it were an adversary: the measured false-positive rate, per score and for
  any score (false_positives). Reading every score at once flags a clean run more often than alpha; with
  `familywise = "maxt"` each run is judged by the single-step max-T rule (Westfall and Young) instead: every run's
  value of every score standardised against the other runs (the same map for each, so they stay exchangeable; an
  event count by its rate), a score flags the run when its standardised value is beaten by fewer than
  alpha (K + 1) of the control runs' largest ones. A control run alone off a score that is otherwise constant is
  infinitely far and blocks every detection while it is among the controls: conservative, and the measured
  false-positive rate shows it. Any score then flags a
  clean run with probability at most alpha, whatever the scores' dependence, and a strong effect on one score is
  seen with as few control runs as one score needs (19 at 0.05). Min-p over rank p-values would not do: with 16
  scores and 20 control runs some control is the worst of nearly every score, its smallest p ties the run's, and
  nothing but the birthday test's exact count was ever detected (gauntlet-quick, 2026-12-07).
  `familywise = "bonferroni"` judges each score at alpha / scores read: as valid, and the rank rule then needs
  scores / alpha control runs.
- Power: an adversary runs at several seeds, each judged on its own; a cell is the share detected (k/K) with
  its Clopper-Pearson interval, and reads as detected when at least half its runs are.
- Fool point of a ladder: walking from the easiest strength to the hardest, the first at which the power falls
  below one half; the strengths whose power interval holds one half say how uncertain that point is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gan_zoo import seeds
from gan_zoo.config import choice, number, typed, whole, wholes
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.harness.adversaries import checked_items
from gan_zoo.metrics import record_columns
from gan_zoo.sources import ModelSource, TensorSource
from gan_zoo.training import construct

FAMILYWISE = ("report", "maxt", "bonferroni")  # what reading every score at once may cost: reported, or bounded
DAMAGES = ("noise", "blur", "drop-modes")  # adversaries made from control items; the others are families
DAMAGE_STRENGTHS = {"noise": "std", "blur": "std", "drop-modes": "j"}  # what a damage's strength is
CONTROL = "control"
HARDER = {"noise": "lower", "blur": "lower", "drop-modes": "higher", "family": "higher"}  # which way a strength
# is harder to detect: less damage, more classes kept, a larger memorised support


@dataclass
class GauntletConfig:
    n: int = 500  # items every source gives, the control and each adversary: one sample size for all
    control_fraction: float = 0.25  # of each data set, kept out of the training split and the reference
    control_seeds: tuple[int, ...] = tuple(range(100, 120))  # each its own split: the null distribution
    level: float = 0.95  # a clean run is detected by one score with probability at most 1 - level
    familywise: str = "report"  # "maxt" or "bonferroni": any score flags a clean run at most 1 - level (see above)

    def __post_init__(self):
        self.n = whole("n", self.n, 10, 10**7)
        self.control_fraction = number("control_fraction", self.control_fraction, 0, 0.6, low_open=True)
        self.control_seeds = wholes("control_seeds", self.control_seeds, 0, 2**31 - 1, increasing=True)
        self.level = number("level", self.level, 0.5, 1, low_open=True, high_open=True)
        self.familywise = choice("familywise", self.familywise, FAMILYWISE)
        need = needed_controls(round(1 - self.level, 12)) + 1
        if len(self.control_seeds) < need:
            raise UserError(f"control_seeds: {len(self.control_seeds)} control runs are too few for level = "
                            f"{self.level:g}: give at least {need} ({need - 1} to judge by rank, one held out in "
                            f"turn to measure the false-positive rate), or lower level")


def label(spec: dict) -> str:
    """How reports name one adversary at one strength, e.g. `memorizer m=25`, `noise std=0.1`."""
    if spec["kind"] == CONTROL:
        return CONTROL
    key = spec.get("vary") or DAMAGE_STRENGTHS[spec["adversary"]]
    return f"{spec['adversary']} {key}={spec['strength']:g}"


# -- the sources --------------------------------------------------------------------------------------------

def adversary_source(spec: dict, data: LoadedDataset, registry, *, seed: int, device: torch.device) -> TensorSource:
    """The finite set of n items that `spec` (a job's gauntlet entry) stands for, on this split, at this seed."""
    n, control = spec["n"], data.control
    if control is None or len(control) < n:
        raise UserError(f"{data.name}: the control split holds {0 if control is None else len(control)} items, "
                        f"fewer than n = {n}; lower n or raise control_fraction")
    generator = seeds.generator(seed, "gauntlet.adversary")
    fresh = control.subset(torch.randperm(len(control), generator=generator)[:n])
    picked = fresh.x
    facts: dict = {}
    kind = spec["kind"]
    strength: Any = spec.get("strength")  # checked at load: a number for every kind but the control, which has none
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
    elif kind == "adversary":
        adversary = registry.adversary(spec["adversary"])
        config = typed(adversary.Config, spec.get("set", {}))  # typed at load
        made = adversary().make(fresh, data, strength, config, generator)
        items, facts = checked_items(adversary.name, made, n, tuple(control.x.shape[1:]))
    elif kind == "family":
        family = registry.family(spec["adversary"])
        config = typed(family.Config, {**spec.get("set", {}), spec["vary"]: strength})  # typed at load
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

def needed_controls(alpha: float) -> int:
    """Control runs the rank rule needs to detect anything at false-positive rate alpha: its smallest p-value is
    1/(K+1), so K >= 1/alpha - 1."""
    return math.ceil(round(1 / alpha, 9)) - 1


def rank_p(value: float, controls: list[float], worse: str) -> float:
    """The rank (conformal) p-value of one run among K control runs: (1 + controls at least as bad) / (K + 1).
    Valid for any score, discrete or heavy-tailed, when the run is exchangeable with the controls; ties count
    against detection, so a value equal to the control's never reads as detected."""
    sign = 1 if worse == "higher" else -1
    tolerance = 1e-9 * max(1.0, abs(value))
    as_bad = sum(1 for c in controls if sign * (c - value) >= -tolerance)
    return (1 + as_bad) / (len(controls) + 1)


def count_p(count: tuple[int, int], controls: list[tuple[int, int]]) -> float:
    """The exact test of an event count (collisions among pairs examined) against the control runs' counts: under
    the null every run's count is Poisson with one rate per pair, so given the total the run's share is binomial
    with its share of the exposure; p = P(at least this many). No events is never evidence: p = 1."""
    from scipy.stats import binom

    events, exposure = count
    if events == 0:
        return 1.0
    total = events + sum(c for c, _ in controls)
    share = exposure / (exposure + sum(e for _, e in controls))
    return float(binom.sf(events - 1, total, share))


def clopper_pearson(hits: int, runs: int, level: float = 0.95) -> tuple[float, float]:
    """The exact binomial interval for a rate of hits in runs."""
    from scipy.stats import beta

    tail = (1 - level) / 2
    low = 0.0 if hits == 0 else float(beta.ppf(tail, hits, runs - hits + 1))
    high = 1.0 if hits == runs else float(beta.ppf(1 - tail, hits + 1, runs - hits))
    return low, high


def scores(record: dict, registry) -> dict[str, dict]:
    """The numbers a gauntlet judges in one evaluation record: each registered metric's leaderboard columns that
    hold a number, with the metric's worse direction (and the event count behind the number where there is one)."""
    return {column.key: {"metric": metric.name, "label": column.header, "value": float(column.value),
                         "worse": metric.worse, "scale": column.scale,
                         "count": None if column.count is None else tuple(column.count)}
            for metric, column in record_columns(record, registry)
            if column.value is not None and math.isfinite(column.value)}


def p_value(score: dict, controls: list[dict]) -> float:
    """One run's p-value against control runs: the exact count test where the score and every control carry an
    event count, else the rank rule."""
    if score["count"] is not None and all(c["count"] is not None for c in controls):
        return count_p(score["count"], [c["count"] for c in controls])
    return rank_p(score["value"], [c["value"] for c in controls], score["worse"])


def too_few(score: dict, controls: list[dict], alpha: float, familywise: str = "report") -> str | None:
    """Why `controls` cannot judge `score` at alpha (None when they can); the exact count test needs one control,
    unless the run is judged by the max-T rule, which ranks it among the control runs."""
    k, need = len(controls), needed_controls(alpha)
    if familywise != "maxt" and score["count"] is not None and all(c["count"] is not None for c in controls):
        need = 1
    if k >= need:
        return None
    return f"{k} control runs; a false-positive rate of {alpha:.3g} needs {need} (add control_seeds or lower level)"


def maxt_adjusted(run: dict[str, dict], controls: dict[str, list[tuple[int, dict]]]) -> dict[str, float]:
    """Single-step max-T (Westfall and Young) p-values of one run's scores against control runs, given per score as
    (seed, score) pairs. Read are the scores every control run has (a control missing one would have a smaller
    largest value; the others get p = 1). Each run's value is standardised against the other K runs, signed so
    that worse is larger: the same map for every run, so under the null each run's largest standardised score
    ranks uniformly among the K + 1, and a run far off is not capped by its own spread. A score's adjusted p is the
    share of the K + 1 runs whose largest is at least its own value (ties against detection)."""
    seeds = {seed for key in run if controls.get(key) for seed, _ in controls[key]}
    shared = [key for key in run if controls.get(key) and {seed for seed, _ in controls[key]} == seeds]
    standard = {key: _standardised(run[key], {seed: score for seed, score in controls[key]}) for key in shared}
    largest = {seed: max(by_run[seed] for by_run in standard.values()) for seed in seeds} if standard else {}
    adjusted = {key: 1.0 for key in run if controls.get(key)}
    for key, by_run in standard.items():
        own = by_run[None]
        adjusted[key] = (1 + sum(1 for t in largest.values() if t >= own - 1e-9 * max(1.0, abs(own)))) / (
            len(largest) + 1)
    return adjusted


def _standardised(score: dict, controls: dict[int | None, dict]) -> dict[int | None, float]:
    """Each run's value (None: the run under test) against the mean and sd of the other runs, worse larger. An
    event count is read as log((events + 0.5) / exposure), which grows with the count (the birthday test's
    headline, a support bound, does not when there are no collisions); a log-scale score on its logs. A run alone
    off an otherwise constant score is infinitely far (0 when it equals them)."""
    pooled: dict[int | None, dict] = {**controls, None: score}
    sign = 1 if score["worse"] == "higher" else -1
    if all(s.get("count") is not None for s in pooled.values()):
        values = {i: math.log((s["count"][0] + 0.5) / s["count"][1]) for i, s in pooled.items()}
        sign = 1  # more events per pair examined is worse
    elif score.get("scale") == "log" and all(s["value"] > 0 for s in pooled.values()):
        values = {i: math.log(s["value"]) for i, s in pooled.items()}
    else:
        values = {i: s["value"] for i, s in pooled.items()}
    found = {}
    for i, v in values.items():
        others = [w for j, w in values.items() if j != i]
        mean = sum(others) / len(others)
        sd = math.sqrt(sum((w - mean) ** 2 for w in others) / (len(others) - 1)) if len(others) > 1 else 0.0
        if sd > 1e-12 * max(1.0, abs(mean)):
            found[i] = sign * (v - mean) / sd
        else:
            alike = abs(v - mean) <= 1e-12 * max(1.0, abs(mean))
            found[i] = 0.0 if alike else math.copysign(math.inf, sign * (v - mean))
    return found


def null_summary(controls: list[dict], alpha: float, worse: str, scale: str) -> dict:
    """The control runs summed up: centre and spread (on the logs for a log-scale column), and the rank rule's
    edge, the value a run must lie beyond to be detected (None when alpha is out of reach)."""
    values = [c["value"] for c in controls]
    logged = scale == "log" and all(v > 0 for v in values)
    shown = [math.log(v) for v in values] if logged else values
    k = len(shown)
    mean = sum(shown) / k
    sd = math.sqrt(sum((v - mean) ** 2 for v in shown) / (k - 1)) if k > 1 else 0.0
    rule = "count" if all(c["count"] is not None for c in controls) else "rank"
    rank = math.floor(round(alpha * (k + 1), 9)) - 1  # controls allowed at least as bad as a detected run
    ordered = sorted(values, reverse=worse == "higher")
    edge = ordered[rank] if 0 <= rank < k and rule == "rank" else None  # a count's edge depends on the counts
    low, high = (min(values), max(values)) if edge is None else (
        (min(values), edge) if worse == "higher" else (edge, max(values)))
    return {"mean": mean, "sd": sd, "k": k, "alpha": alpha, "scale": "log" if logged else "linear",
            "edge": edge, "low": low, "high": high, "rule": rule}


def effect_size(value: float, null: dict, worse: str) -> float | None:
    """(value - control mean) in control sds, positive when worse; on the logs for a log-scale null."""
    if null["scale"] == "log":
        if value <= 0:
            return None
        value = math.log(value)
    if null["sd"] <= 0:
        return None
    return (1 if worse == "higher" else -1) * (value - null["mean"]) / null["sd"]


def _gather(results: list[dict], registry):
    """From bench results: the settings per data set, control runs per (data set, score) and adversary runs per
    (data set, score, adversary, strength), each run a (seed, score) pair."""
    controls: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
    runs: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
    settings, kinds = {}, {}
    for result in results:
        job = result["job"]
        spec = job.get("gauntlet")
        if not spec or result["status"] != "ok":
            continue
        if spec.get("familywise", "report") not in FAMILYWISE:
            raise UserError(f"{job['dataset']}: these gauntlet results ask for familywise = {spec['familywise']!r}, "
                            f"which this version does not know; run the suite again with one of "
                            f"{', '.join(FAMILYWISE)}")
        settings[job["dataset"]] = spec
        for key, score in scores(result["eval"], registry).items():
            if spec["kind"] == CONTROL:
                controls[job["dataset"], key].append((job["seed"], score))
            else:
                runs[job["dataset"], key, spec["adversary"], spec["strength"]].append((job["seed"], score))
                kinds[spec["adversary"]] = spec["kind"], spec.get("vary"), spec.get("harder") or HARDER[spec["kind"]]
    return settings, controls, runs, kinds


def score_alpha(spec: dict, scores_read: int) -> float:
    """The false-positive rate each score is judged at: 1 - level, or that over the number of scores read when
    the suite asks for Bonferroni's family-wise control (max-T adjusts the p-values instead of the level)."""
    alpha = round(1 - spec["level"], 12)
    return alpha / scores_read if spec.get("familywise") == "bonferroni" else alpha


def entries(results: list[dict], registry) -> list[dict]:
    """gauntlet.json: one entry per data set, score, adversary and strength, from bench results of gauntlet jobs
    (each result's job carries its gauntlet spec). Each of the adversary's runs (one per seed) is judged on its
    own against the control runs; the cell's power is the share detected, with its Clopper-Pearson interval.
    Under `familywise = "maxt"` the p-values are the max-T adjusted ones, over every score the run gave."""
    settings, controls, runs, kinds = _gather(results, registry)
    read = defaultdict(set)
    for dataset, key in controls:
        read[dataset].add(key)
    adjusted = _maxt_by_run(settings, controls, runs)
    table = []
    for (dataset, key, adversary, strength), seen in sorted(runs.items(), key=lambda item: str(item[0])):
        seen = sorted(seen, key=lambda pair: pair[0])
        score = seen[0][1]
        null_runs = [s for _, s in sorted(controls.get((dataset, key), []), key=lambda pair: pair[0])]
        alpha = score_alpha(settings[dataset], max(1, len(read[dataset])))
        values = [s["value"] for _, s in seen]
        value = sum(values) / len(values)
        entry = {"dataset": dataset, "metric": score["metric"], "score": key, "label": score["label"],
                 "worse": score["worse"], "adversary": adversary, "kind": kinds[adversary][0],
                 "vary": kinds[adversary][1], "harder": kinds[adversary][2], "strength": strength,
                 "value": value, "values": values, "seeds": [seed for seed, _ in seen],
                 "alpha": alpha, "band": None, "control": None, "effect": None, "p_values": None, "hits": None,
                 "runs": len(seen), "power": None, "power_ci": None, "detected": None, "reason": None}
        familywise = settings[dataset].get("familywise", "report")
        reason = (f"the control gave no value of {key}" if not null_runs
                  else too_few(score, null_runs, alpha, familywise))
        if reason:
            entry["reason"] = reason
        else:
            null = null_summary(null_runs, alpha, score["worse"], score["scale"])
            p_values = ([adjusted[dataset, adversary, strength, seed][key] for seed, _ in seen]
                        if familywise == "maxt" else [p_value(s, null_runs) for _, s in seen])
            hits = sum(p <= alpha for p in p_values)
            entry.update(control=null, band=[null["low"], null["high"]],
                         effect=effect_size(value, null, score["worse"]),
                         p_values=p_values, hits=hits, power=hits / len(seen),
                         power_ci=list(clopper_pearson(hits, len(seen))), detected=hits / len(seen) >= 0.5)
        table.append(entry)
    return table


def _maxt_by_run(settings: dict, controls: dict, runs: dict) -> dict[tuple, dict[str, float]]:
    """Max-T adjusted p-values of every adversary run of the data sets that ask for them, keyed by (data set,
    adversary, strength, seed)."""
    scored: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for (dataset, key, adversary, strength), seen in runs.items():
        if settings[dataset].get("familywise") == "maxt":
            for seed, score in seen:
                scored[dataset, adversary, strength, seed][key] = score
    per_dataset: dict[str, dict[str, list]] = defaultdict(dict)
    for (dataset, key), seen in controls.items():
        per_dataset[dataset][key] = seen
    return {run: maxt_adjusted(scores_of_run, per_dataset[run[0]]) for run, scores_of_run in scored.items()}


def false_positives(results: list[dict], registry) -> dict[str, dict]:
    """The measured false-positive rate per data set: each control run in turn held out and judged, as if it
    were an adversary, against the other control runs, per score and for any score at once.

    For the rank rule, a score's held-out rate is at most its alpha by construction (ties lower it), so the
    per-score figure checks the rule and its ties; the any-score rate measures what reading every score at once
    costs, which no per-score level states (`familywise = "maxt"` or `"bonferroni"` bounds it by 1 - level).
    Under max-T a held-out run's p-values are adjusted against the other control runs alone."""
    settings, controls, _, _ = _gather(results, registry)
    by_dataset: dict[str, dict] = {}
    for (dataset, key), seen in sorted(controls.items()):
        by_dataset.setdefault(dataset, {})[key] = sorted(seen, key=lambda pair: pair[0])
    found = {}
    for dataset, per_score in by_dataset.items():
        alpha = score_alpha(settings[dataset], len(per_score))
        familywise = settings[dataset].get("familywise", "report")
        adjusted = {}
        if familywise == "maxt":
            for seed in {seed for seen in per_score.values() for seed, _ in seen}:
                run = {key: score for key, seen in per_score.items() for other, score in seen if other == seed}
                others = {key: [(other, s) for other, s in seen if other != seed] for key, seen in per_score.items()}
                adjusted[seed] = maxt_adjusted(run, others)
        flagged_runs: dict[int, bool] = {}
        rows = {}
        for key, seen in per_score.items():
            hits = judged = 0
            for index, (seed, score) in enumerate(seen):
                other_scores = [s for j, (_, s) in enumerate(seen) if j != index]
                if too_few(score, other_scores, alpha, familywise):
                    continue
                flagged = (adjusted[seed][key] if familywise == "maxt" else p_value(score, other_scores)) <= alpha
                judged += 1
                hits += flagged
                flagged_runs[seed] = flagged_runs.get(seed, False) or flagged
            rows[key] = {"label": seen[0][1]["label"], "flagged": hits, "runs": judged,
                         "rate": hits / judged if judged else None,
                         "ci": list(clopper_pearson(hits, judged)) if judged else None}
        anyone = sum(flagged_runs.values())
        found[dataset] = {"alpha": alpha, "level": settings[dataset]["level"],
                          "familywise": familywise, "scores": rows,
                          "any": {"flagged": anyone, "runs": len(flagged_runs),
                                  "rate": anyone / len(flagged_runs) if flagged_runs else None,
                                  "ci": list(clopper_pearson(anyone, len(flagged_runs))) if flagged_runs else None}}
    return found


def ladders(table: list[dict]) -> list[dict]:
    """Per data set, score and adversary with several strengths: the power at each, and the fool point, the first
    strength, walking from the easiest to the hardest (memorised support m: larger is harder; a damage's size:
    smaller is harder), at which the power falls below one half. Its uncertainty: the strengths whose power
    interval holds one half, where more seeds could move the point."""
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for entry in table:
        grouped[entry["dataset"], entry["score"], entry["adversary"]].append(entry)
    found = []
    for (dataset, key, adversary), rungs in sorted(grouped.items()):
        rungs.sort(key=lambda e: e["strength"], reverse=rungs[0]["harder"] == "lower")  # easiest first
        judged = [e for e in rungs if e["power"] is not None]
        fooled = next((e for e in judged if e["power"] < 0.5), None)
        found.append({"dataset": dataset, "score": key, "label": rungs[0]["label"], "adversary": adversary,
                      "kind": rungs[0]["kind"], "vary": rungs[0]["vary"], "harder": rungs[0]["harder"],
                      "strengths": [e["strength"] for e in rungs],
                      "power": [e["power"] for e in rungs],
                      "detected_at": [e["strength"] for e in rungs if e["detected"]],
                      "fool_point": None if fooled is None else fooled["strength"],
                      "fool_power": None if fooled is None else [fooled["hits"], fooled["runs"]],
                      "uncertain": [e["strength"] for e in judged if e["power_ci"][0] <= 0.5 <= e["power_ci"][1]]})
    return found
