"""The metric contract, and the context a metric computes in.

A metric is a Metric subclass registered through `register_metrics`. It declares:
  name, description  what `--metrics` calls it, one line
  Config             a dataclass of its settings, every field defaulted (a suite's [eval.NAME] table)
  worse              "higher" or "lower": the direction in which its headline number gets worse
  needs              what it consumes: "samples", "pairs" (an encoder's (x, z) pairs), "labels",
                     "images", "modes" (known mode centres); it is skipped, with the reason, when they are missing
  reference          the paper or reference implementation its protocol follows
  reads_heldout      whether it compares the source with held-out real items (default true): its result is
                     marked not independent when the source holds some of them (harness/overlap.py)
and implements `compute(ctx, config) -> dict`, a JSON-able result holding its headline under `headline_key`
(default "value"), the protocol it ran (sample sizes, splits, feature space) and anything else worth keeping.
A metric that cannot run (a source too small, say) raises gan_zoo.UserError; the harness records the message
and carries on with the other metrics.

`columns(result, record)` gives the leaderboard its cells: by default one column, the headline; a metric with
more to show (one per capacity, say) overrides it. Reports take their columns from the registered metrics only,
so a third party's metric shows up with no change elsewhere.

What else the app reads of a metric, every item defaulted so that a metric declaring none still works (the app
holds no metric's name: it asks the registered metrics):
  label              its short name in prose and terminal headers ("FD", "C_T"); default: name
  sort_key           the reading that ranks the leaderboard's rows (a column key, or a field of row_fields), best
                     first by `worse`; None: it ranks nothing. The first registered metric a row was measured with
                     that ranks orders the board; the next breaks ties for the best model (`rank`)
  group              the leaderboard's header over its columns ("copying tests", "sample quality", ...)
  check, check_rule  "copying" (a memorisation test) or "failed" (a failed-training test), and its rule in words:
                     `flag(result, record)` applies it to one result
  shortcuts          `gan-zoo eval` options that set one of its settings (Shortcut), e.g. --capacities
  after_training     measured on the model at the end of `gan-zoo train` (training_line, training_problem)
  summary_order      where its columns with a `short` header go in the terminal summary, lower first
and the hooks row_fields (what its plots need of a row), table_fields (of a data set's table), plots (PNG
pictures of a leaderboard table, like torchmetrics' Metric.plot), picture (draws what compute left in
ctx.artifacts[name], e.g. the birthday montage), ladder_note (about a gauntlet score of its own).
"""

from __future__ import annotations

import dataclasses
import math
import time
from abc import abstractmethod  # for type checkers only: gan_zoo.contracts enforces it
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gan_zoo.cache import cached_features
from gan_zoo.errors import UserError
from gan_zoo.features import Extractor, NoSettings
from gan_zoo.sources import SampleSource

WORSE = ("higher", "lower")
NEEDS = ("samples", "pairs", "labels", "images", "modes")
CHECK_KINDS = ("copying", "failed")


@dataclass(frozen=True)
class Column:
    """One leaderboard cell: a number pooled over seeds (mean, sd) and sortable, or a text when there is one."""

    key: str  # stable across rows, e.g. "nn_distance[mlp]@1000"; rows sharing a key share a column and its header
    header: str  # what the table shows, naming the discriminator or feature space where there is one
    value: float | None
    text: str | None = None  # shown instead of the number when the leaderboard row has one seed
    scale: str = "linear"  # "log" for a positive size whose spread grows with it (a support estimate): the
    # gauntlet builds its band from the logs
    mark: str | None = None  # a caveat shown after the cell in every row: set from the result (record_columns)
    count: tuple[int, int] | None = None  # (events, exposure) behind the value, such as collisions among pairs
    # examined: the gauntlet then judges the count by an exact Poisson test instead of by ranks
    short: str = ""  # its header in the terminal summary, which shows only the columns that have one
    group: str = ""  # the leaderboard's header over it; "": its metric's group


@dataclass(frozen=True)
class Shortcut:
    """A `gan-zoo eval` option setting one of a metric's settings: `--capacities 1e3,1e4` for
    `-o nn_distance.capacities=...`. The CLI builds its options from the registered metrics' shortcuts."""

    flag: str  # the option, e.g. "--capacities"
    setting: str  # the setting it sets, dotted into sub-tables: "ensemble.members"
    help: str
    parse: Callable[[str], object] = str  # the option's text -> the setting's value; a bad text raises an error
    # naming the problem (UserError or ValueError)
    choices: tuple[str, ...] = ()  # the values it takes, when there are few


@dataclass(frozen=True)
class Rank:
    """Where a leaderboard row stands under a ranking metric: smaller `value` first."""

    value: float
    text: str  # the reading in words, for the best model's line: "FD 5.2"
    half_width: float | None = None  # of its 95% interval: rows within the leader's count as tied (None: no ties)


class Metric:
    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type] = NoSettings
    worse: ClassVar[str] = "higher"
    needs: ClassVar[tuple[str, ...]] = ("samples",)
    reference: ClassVar[str] = ""
    headline_key: ClassVar[str] = "value"
    reads_heldout: ClassVar[bool] = True
    # -- what the app reads (the module docstring lists them) --
    label: ClassVar[str] = ""
    sort_key: ClassVar[str | None] = None
    sort_order: ClassVar[str] = ""  # the order in words, when the sort key's own name does not say it
    group: ClassVar[str] = "sample quality"
    check: ClassVar[str | None] = None
    check_rule: ClassVar[str] = ""
    shortcuts: ClassVar[tuple[Shortcut, ...]] = ()
    after_training: ClassVar[bool] = False
    summary_order: ClassVar[int] = 100

    @classmethod
    def display(cls) -> str:
        return cls.label or cls.name

    def applies(self, ctx: EvalContext, config) -> str | None:
        """Why this metric does not apply to this source and data set with this config (None when it does)."""
        data = ctx.data
        if "pairs" in self.needs and not ctx.source.has_codes:
            return "needs an encoder-decoder model ((x, z) pairs)"
        if "labels" in self.needs and data.spec.num_classes is None:
            return f"{data.name} has no labels"
        if "images" in self.needs and not data.spec.is_image:
            return f"{data.name} is not a set of images"
        if "modes" in self.needs and data.heldout.modes is None:
            return f"{data.name} has no known mode centres"
        space = getattr(config, "features", None)
        if space:
            base, _, option = space.partition(":")
            return ctx.registry.feature_space(base)().applies(data, option)
        return None

    @abstractmethod
    def compute(self, ctx: EvalContext, config: Any) -> dict:
        raise NotImplementedError

    def headline(self, result: dict) -> float | None:
        value = result.get(self.headline_key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def columns(self, result: dict, record: dict) -> list[Column]:
        space = result.get("features")
        header = self.name + (f" ({space})" if space and space != "pixels" else "")
        return [Column(self.name, header, self.headline(result))]

    def summary(self, result: dict) -> str:
        """One line for the terminal."""
        value = self.headline(result)
        shown = "-" if value is None else f"{value:.4g}"
        space = f" in {result['features']} space" if result.get("features") else ""
        return f"{self.name}: {shown}{space} ({self.worse} is worse)"

    # -- the leaderboard and the other pictures the app draws --------------------------------------------------
    def row_fields(self, results: list[dict], records: list[dict]) -> dict:
        """Fields this metric adds to a leaderboard row from its results over the row's seeds (one per seed, beside
        their evaluation records): what its rank and plots read beyond the cells. None by default."""
        return {}

    def table_fields(self, rows: list[dict]) -> dict:
        """Fields this metric adds to a data set's table, from its rows. None by default."""
        return {}

    def rank(self, row: dict) -> Rank | None:
        """Where a leaderboard row stands under this metric (None: not measured, or the metric ranks nothing). By
        default the sort key's mean over seeds (a column's, else a row field's), the better first."""
        if self.sort_key is None:
            return None
        cell = row["cells"].get(self.sort_key)
        value = cell.get("mean") if cell else row.get(self.sort_key)
        if not isinstance(value, int | float):
            return None
        return Rank(value if self.worse == "higher" else -value, f"{self.display()} {value:.3g}")

    def order(self) -> str:
        """The order `rank` gives, in words: the leaderboard says it."""
        return self.sort_order or f"{self.display()}, {'ascending' if self.worse == 'higher' else 'descending'}"

    def plots(self, dataset: str, table: dict) -> dict[str, bytes]:
        """PNG plots of a data set's leaderboard table ({"rows": [...], ...}, with row_fields and table_fields
        merged in), by kind: the leaderboard shows each under its kind. None by default."""
        return {}

    def picture(self, artifact) -> dict[str, bytes]:
        """PNG pictures of what compute left in ctx.artifacts[name], by kind (e.g. the birthday test's closest pairs,
        "montage"); the app stores each beside the record and notes its path in the result under its kind. None by
        default."""
        return {}

    def flag(self, result: dict, record: dict) -> str | None:
        """For a metric with a `check`: why its result says the samples copy training items ("copying") or come
        from a failed training run ("failed"), against real data measured the same way; None when it does not."""
        return None

    def training_line(self, result: dict) -> str:
        """What `gan-zoo train` prints of this metric's result on the trained model (after_training)."""
        return self.summary(result)

    def training_problem(self, result: dict) -> str | None:
        """What about that result says the training went wrong (None: nothing)."""
        return None

    def ladder_note(self, score: str) -> str:
        """A word on one of its gauntlet scores (a column key) beside the score's fool point, e.g. a capacity's
        p log p. Empty by default."""
        return ""

    @classmethod
    def summary_json(cls) -> dict:
        return {"name": cls.name, "description": cls.description, "worse": cls.worse, "needs": list(cls.needs),
                "reference": cls.reference, "config": dataclasses.asdict(cls.Config())}


def pooled(values: Sequence[float | None]) -> dict | None:
    """Readings over a leaderboard row's seeds: {mean, sd (None for one), n}, the missing left out; None if none."""
    found = [v for v in values if v is not None]
    if not found:
        return None
    mean = sum(found) / len(found)
    sd = math.sqrt(sum((v - mean) ** 2 for v in found) / (len(found) - 1)) if len(found) > 1 else None
    return {"mean": mean, "sd": sd, "n": len(found)}


def seeds_interval(values: list[float], single_ci: list[float] | None) -> list[float] | None:
    """A 95% interval of a reading over seeds: one seed's own (bootstrap) interval, else a t-interval."""
    if len(values) == 1:
        return single_ci
    if not values:
        return None
    from scipy.stats import t

    s = pooled(values)
    assert s is not None  # values holds two or more numbers
    half = t.ppf(0.975, len(values) - 1) * s["sd"] / math.sqrt(len(values))
    return [s["mean"] - half, s["mean"] + half]


def record_columns(record: dict, registry):
    """(metric class, column) for every leaderboard column of an evaluation record, by the registered metrics; a
    metric whose plugin is not installed here is passed over (the record still holds its result). A result marked
    not independent (the source holds held-out items: harness/overlap.py) marks each of its columns."""
    for name, result in record["metrics"].items():
        metric = registry.metrics.get(name)
        if metric is not None:
            for column in metric().columns(result, record):
                if result.get("not_independent"):
                    column = dataclasses.replace(column, mark="source holds held-out items")
                yield metric, column


class EvalContext:
    """What a metric computes with: the source, the data set, the seed, and feature spaces loaded once.

    Items of the source drawn through the context are cached per (n, seed), and features per (space, what),
    so metrics that measure in one space on the same items share one computation.
    """

    def __init__(self, source: SampleSource, data, registry, *, seed: int, device: torch.device,
                 feature_settings: dict | None = None, report: Callable[[str], None] | None = None,
                 feature_cache: bool = True):
        self.source, self.data, self.registry = source, data, registry
        self.report = report or (lambda text: None)  # report(text): what is being computed, for progress output
        self.seed, self.device = seed, device
        self.feature_settings = feature_settings or {}  # space name -> its Config
        self.artifacts: dict[str, object] = {}  # pictures a metric leaves for the app to draw
        self.timings: dict[str, float] = {}
        self._extractors: dict[str, Extractor] = {}
        self._draws: dict[tuple[int, int], torch.Tensor] = {}
        self._features: dict[tuple[str, str], torch.Tensor] = {}
        self.feature_cache = feature_cache  # read and write reference features on disk (gan_zoo/cache.py)
        self.feature_log: dict[str, str] = {}  # "space items" -> computed, cache, or recomputed: why

    # -- items ----------------------------------------------------------------------------------------------
    def available(self, n: int) -> int:
        """How many of n items the source can give: n, or all a finite source holds."""
        return n if self.source.size is None else min(n, self.source.size)

    def fit_parts(self, sizes: list[int]) -> tuple[list[int], str | None]:
        """Sizes of independent parts cut, in proportion, to what a finite source holds; and a note saying so."""
        total = sum(sizes)
        if self.source.size is None or total <= self.source.size:
            return list(sizes), None
        scale = self.source.size / total
        cut = [max(1, math.floor(s * scale)) for s in sizes]
        return cut, (f"cut to {'+'.join(map(str, cut))} items (asked {'+'.join(map(str, sizes))}): the source holds "
                     f"{self.source.size}")

    def samples(self, n: int, seed: int | None = None) -> torch.Tensor:
        """n items of the source for a seed (the evaluation's seed by default), drawn once per evaluation."""
        key = (n, self.seed if seed is None else seed)
        if key not in self._draws:
            self._draws[key] = self.source.draw(*key)
        return self._draws[key]

    # -- features -------------------------------------------------------------------------------------------
    def extractor(self, space: str) -> Extractor:
        """A feature space, loaded once per evaluation."""
        if space not in self._extractors:
            base, _, option = space.partition(":")
            cls = self.registry.feature_space(base)
            reason = cls().applies(self.data, option)
            if reason:
                raise UserError(f"feature space {space}: {reason}")
            started = time.perf_counter()
            settings = self.feature_settings.get(base) or cls.Config()
            loader = cls()
            loader.report = self.report
            self._extractors[space] = loader.load(self.data, option, settings, self.device)
            self.timings[f"features:{space}"] = round(time.perf_counter() - started, 3)
        return self._extractors[space]

    def features(self, space: str, what: str, items: torch.Tensor) -> torch.Tensor:
        """Features of `items` in `space`; `what` names the items (e.g. "fake:5000:0") so they are computed once."""
        key = (space, what)
        if key not in self._features:
            extractor = self.extractor(space)
            # the reference splits and a finite source's items are the same next run: read them from disk then
            reused = what.startswith("real") or self.source.size is not None
            identity = extractor.identity() if reused and self.feature_cache else None
            if identity is None:
                self._features[key] = extractor.features(items)
            else:
                self._features[key], status = cached_features(
                    identity, items, extractor.features, {"space": space, "items": what, "dataset": self.data.name})
                self.feature_log[f"{space} {what}"] = status
                if status.startswith("recomputed"):
                    self.report(f"  warning: features of {what} in {space} {status}")
        return self._features[key]
