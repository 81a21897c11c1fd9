"""One evaluation: a sample source judged against a data set by every requested metric, in one JSON record.

The loop is small on purpose: for each requested metric (a registered gan_zoo.Metric), ask whether it applies
(else record why not), compute it in a shared context (items drawn once, features computed once per space), and
time it. A metric that refuses (a UserError: a source too small, non-finite samples) is recorded under `errors`
and the others go on.

Record schema `gan-zoo-eval/2` (top-level keys):
  schema, source (what was judged: kind, name, shape, finite, size, and per kind its path, checksum, family),
  family, display_name, plugin (for gan-zoo models; null otherwise), dataset {name, fingerprint, split_seed,
  n_train, n_heldout}, seed, config (a model's family config, else null), facts (what the source knows exactly,
  e.g. a construction's support), eval_config {metrics, settings {metric: its config}, features {space: config}},
  metrics {name: result}, skipped {name: why it does not apply}, errors {name: why it refused},
  timings {name: seconds, and overlap: the check's}, features_cache {"space items": computed | cache |
  recomputed: why} (reference features read from or written to the on-disk cache, gan_zoo/cache.py), threads,
  versions, overlap (the source's items found in the data set's splits, checked before any metric:
  harness/overlap.py), seeds {seed, scheme, purposes} (the random streams derived from the seed, gan_zoo.seeds;
  the source's items are drawn at the seed itself).
Each metric's result is documented with its plugin (gan-zoo metrics lists them). When the source holds held-out
items, the result of every metric that reads held-out data (Metric.reads_heldout) gets `not_independent`, the
overlap's warning line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gan_zoo import seeds
from gan_zoo.config import typed
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.files import versions
from gan_zoo.harness.overlap import check_overlap
from gan_zoo.metrics import EvalContext
from gan_zoo.registry import Registry
from gan_zoo.sources import ModelSource, SampleSource

SCHEMA = "gan-zoo-eval/2"
DEFAULT_METRICS = ("nn_distance", "inception_score", "fd", "birthday", "modes", "probe")


@dataclass
class EvalConfig:
    """Which metrics, with which settings. Build it with `EvalConfig.build`, which checks every name and value."""

    metrics: tuple[str, ...] = DEFAULT_METRICS  # those that do not apply are skipped with the reason
    settings: dict = field(default_factory=dict)  # metric name -> its Config (absent: the defaults)
    features: dict = field(default_factory=dict)  # feature space name -> its Config (absent: the defaults)

    @classmethod
    def build(cls, registry: Registry, metrics=None, settings: dict | None = None, features: dict | None = None,
              where=lambda key: key, strict: bool = True) -> EvalConfig:
        """From names and plain values (a suite's [eval] table, CLI options, keyword arguments), checked now.

        Settings of a metric that is not among `metrics` are an error when strict; otherwise (a suite entry that
        narrows the suite's metrics) they are checked and dropped."""
        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",")]
        names = tuple(DEFAULT_METRICS if metrics is None else metrics)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise UserError(f"{where('metrics')}: name at least one metric, e.g. nn_distance,birthday "
                            f"(`gan-zoo metrics` lists them)")
        if len(set(names)) != len(names):
            raise UserError(f"{where('metrics')}: {next(n for n in names if names.count(n) > 1)!r} is named twice")
        try:
            metric_classes = {name: registry.metric(name) for name in names}
        except UserError as exc:
            raise UserError(f"{where('metrics')}: {exc}") from None
        checked = {}
        for name, values in (settings or {}).items():
            if name not in metric_classes:
                try:
                    unused = registry.metric(name)
                except UserError as exc:
                    raise UserError(f"{where(name)}: {_moved_setting(registry, name) or exc}") from None
                typed(unused.Config, values, where, f"{name}.")
                if strict:
                    raise UserError(f"{where(name)}: settings for {name}, which is not among the metrics "
                                    f"({', '.join(names)}); add it to metrics or drop its settings")
                continue
            checked[name] = typed(metric_classes[name].Config, values, where, f"{name}.")
        spaces = {}
        for name, values in (features or {}).items():
            spaces[name] = typed(registry.feature_space(name).Config, values, where, f"features.{name}.")
        return cls(names, checked, spaces)

    def setting(self, registry: Registry, name: str):
        return self.settings.get(name) or registry.metric(name).Config()

    def to_json(self, registry: Registry) -> dict:
        """Every setting spelled out (defaults included), so that a record or a job key says what ran."""
        return json.loads(json.dumps({  # tuples as lists: the same value after a round trip through a file
            "metrics": list(self.metrics),
            "settings": {n: dataclasses.asdict(self.setting(registry, n)) for n in self.metrics},
            "features": {n: dataclasses.asdict(c) for n, c in sorted(self.features.items())}}))

    @classmethod
    def from_json(cls, data: dict, registry: Registry) -> EvalConfig:
        return cls.build(registry, data["metrics"], data.get("settings"), data.get("features"))


@dataclass
class Evaluation:
    record: dict  # the JSON record (schema above)
    artifacts: dict  # what metrics left for the app to draw, e.g. "birthday": the closest pairs


def evaluate(source: SampleSource, data: LoadedDataset, registry: Registry, config: EvalConfig, *, seed: int,
             device: torch.device, report: Callable[[str], None] | None = None) -> Evaluation:
    """report(text) hears what is being computed (metrics report their phases through ctx.report)."""
    ctx = EvalContext(source, data, registry, seed=seed, device=device, feature_settings=config.features,
                      report=report)
    metrics, skipped, errors = {}, {}, {}
    with seeds.recording(seed) as drawn:  # the record names the random streams its metrics derived
        started = time.perf_counter()
        ctx.report("overlap: the source's items against the data set's splits")
        overlap = check_overlap(ctx)
        ctx.timings["overlap"] = round(time.perf_counter() - started, 3)
        for index, name in enumerate(config.metrics):
            metric, settings = registry.metric(name)(), config.setting(registry, name)
            reason = metric.applies(ctx, settings)
            if reason:
                skipped[name] = reason
                continue
            started = time.perf_counter()
            ctx.report(f"{name} ({index + 1}/{len(config.metrics)})")
            try:
                metrics[name] = strict_json(metric.compute(ctx, settings))
                if overlap.get("warning") and metric.reads_heldout:
                    metrics[name]["not_independent"] = overlap["warning"]
            except UserError as exc:
                errors[name] = str(exc)
            ctx.timings[name] = round(time.perf_counter() - started, 3)
    model = source.model if isinstance(source, ModelSource) else None
    record = {
        "schema": SCHEMA, "source": source.describe(), "family": model.name if model else None,
        "display_name": source.name, "plugin": _plugin_of(registry, model),
        "dataset": data.to_json(), "seed": seed, "config": dataclasses.asdict(model.config) if model else None,
        "facts": source.facts(), "eval_config": config.to_json(registry), "metrics": metrics, "skipped": skipped,
        "errors": errors, "timings": ctx.timings, "features_cache": ctx.feature_log,
        "threads": torch.get_num_threads(), "versions": versions(), "overlap": overlap, "seeds": drawn}
    return Evaluation(record, ctx.artifacts)


def _moved_setting(registry: Registry, key: str) -> str | None:
    """For a key that names no metric but a setting of some (`[eval] discriminator`, as an older layout had it):
    where it lives now."""
    owners = [name for name, cls in sorted(registry.metrics.items())
              if key in {f.name for f in dataclasses.fields(cls.Config)}]
    if not owners:
        return None
    return (f"{key!r} is not a metric but a setting of {', '.join(owners)}; give it in that metric's settings "
            f"([eval.{owners[0]}] {key} = ... in a suite, {owners[0]}={{{key!r}: ...}} in Python)")


def strict_json(result: dict) -> dict:
    """A metric's result with every NaN or inf replaced by null and named under `non_finite`: records are strict
    JSON, and a number that is not one must not pass for one."""
    found = []

    def clean(value, path):
        if isinstance(value, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            found.append(path)
            return None
        return value

    cleaned = clean(result, "")
    if found:
        cleaned["non_finite"] = found
    return cleaned


def _plugin_of(registry: Registry, model) -> dict | None:
    if model is None:
        return None
    if ("families", model.name) in registry.provider:
        return registry.plugin_of("families", model.name).to_json()
    return {"name": None, "distribution": None, "version": None}
