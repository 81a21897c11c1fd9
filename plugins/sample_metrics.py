"""The sample-based metrics researchers report today, in any feature space (REFERENCE section 8).

`prdc`, `kid`, `mifid`, `ct`, `authpct` and `vendi` wrap the plain functions of gan_zoo.harness.functional with
the harness's protocol: items drawn through the context (a finite source is cut honestly and the cut recorded),
features computed once per evaluation and shared between metrics (the `what` keys below), and, since every one of
these numbers means little alone, a like-with-like reference beside each:

- prdc, kid, vendi: the model's n items against the first n held-out items, and real against real at the same n
  (the first n training items, independent real data, scored against the same held-out items);
- mifid: as `fd` does, the model and the second held-out half, each against the first half (n = half the split),
  with the memorisation penalty of each computed against the training split;
- ct: its null is 0 (the generated items' distances to the training set distributed like fresh data's);
- authpct: held-out real items scored against the training split the same way (fresh data is far from 100%).

Features: `features = ""` means a classifier's space for labelled images (the `classifier` feature space), else
the items themselves (`pixels`); any registered space can be named (`inception`, `timm:ARCH`). The space used
and what it loaded (its checksum, for weights from a file) are recorded with every result.

Shared feature keys (`ctx.features(space, what, items)`): "fake:{n}" (the source's first draw of n items for the
evaluation's seed, as `fd` names it), "real-all", "real-a", "real-b" (the held-out split, its first and second
halves, as `fd` names them), "real-heldout:{n}" (its first n items otherwise), "real-train" (the training split)
and "real-train:{n}" (its first n items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from gan_zoo import hookimpl
from gan_zoo.config import whole
from gan_zoo.drawing import MARKERS, figure_png, pyplot
from gan_zoo.errors import UserError
from gan_zoo.harness.functional import authpct, ct_test, kid, mifid, prdc, prdc_radii, vendi
from gan_zoo.harness.knn import kth_neighbour_distances
from gan_zoo.harness.quality import COVERAGE_FAILED, failure_reasons
from gan_zoo.metrics import Column, Metric
from gan_zoo.seeds import derive

AUTO = ""  # the `features` setting meaning: classifier for labelled images, else pixels


def _features(value) -> str:
    if isinstance(value, str):
        return value
    raise UserError(f"features = {value!r}: must be a feature space name, or \"\" for the default")


def default_space(data) -> str:
    """classifier for labelled images (the space FD and IS use by default here), pixels for everything else."""
    return "classifier" if data.spec.is_image and data.spec.num_classes is not None else "pixels"


class SampleMetric(Metric):
    """What the metrics below share: the feature space (resolved from "auto"), sizes, and real features."""

    needs: ClassVar[tuple[str, ...]] = ("samples",)

    def space(self, ctx, config) -> str:
        return config.features or default_space(ctx.data)

    def headline_column(self, result: dict, text: str) -> list[Column]:
        """The one leaderboard column of a metric with a single headline: headed with its space and n."""
        return [Column(self.name, f"{self.label} ({result['features']}, n={result['n_fake']})",
                       result[self.headline_key], text)]

    def applies(self, ctx, config):
        reason = super().applies(ctx, config)  # checks `needs`, and a space named in the config
        if reason or config.features:
            return reason
        base, _, option = self.space(ctx, config).partition(":")
        return ctx.registry.feature_space(base)().applies(ctx.data, option)

    def size(self, ctx, want: int, minimum: int) -> tuple[int, str | None]:
        """n items of the source: `want`, cut to what a finite source holds (the cut noted); refuse below minimum."""
        if want < minimum:
            raise UserError(f"{self.name}: {want} items a side, at least {minimum} needed (the held-out split holds "
                            f"{len(ctx.data.heldout)}); raise the metric's samples or use a larger data set")
        (n,), note = ctx.fit_parts([want])
        if n < minimum:
            raise UserError(f"{self.name}: the source holds {ctx.source.size} items, at least {minimum} needed; "
                            f"give more samples")
        return n, note

    @staticmethod
    def fake(ctx, space: str, n: int):
        return ctx.features(space, f"fake:{n}", ctx.samples(n))

    @staticmethod
    def heldout(ctx, space: str, n: int | None = None, second_half: bool = False):
        """The first n held-out items (or, with second_half, n items from the split's middle on), under keys
        shared with `fd` where the items are the same."""
        x = ctx.data.heldout.x
        half = len(x) // 2
        n = len(x) if n is None else n
        if second_half:
            key = "real-b" if n == half else f"real-heldout-b:{n}"
            return ctx.features(space, key, x[half:half + n])
        key = "real-all" if n == len(x) else "real-a" if n == half else f"real-heldout:{n}"
        return ctx.features(space, key, x[:n])

    @staticmethod
    def train(ctx, space: str, n: int | None = None):
        x = ctx.data.train.x
        n = len(x) if n is None else min(n, len(x))
        return ctx.features(space, "real-train" if n == len(x) else f"real-train:{n}", x[:n])

    @staticmethod
    def protocol(ctx, space: str) -> dict:
        return {"features": space, "space": ctx.extractor(space).info}  # what the space loaded: arch, checksums


# -- precision, recall, density, coverage --------------------------------------------------------------------

@dataclass
class PRDCConfig:
    k: int = 5  # nearest neighbours defining each item's ball (Naeem et al. 2020 and the prdc package)
    samples: int = 10000  # items a side, at most the held-out split's size (the real side is held-out data)
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.k, self.samples = whole("k", self.k, 1), whole("samples", self.samples, 1)
        self.features = _features(self.features)


def expected_coverage(n_real: int, n_fake: int, k: int) -> float:
    """E[coverage] when fake and real come from one distribution (Naeem et al. 2020): 1 - 1/2^k for M = N."""
    return 1 - math.prod((n_real - i) / (n_fake + n_real - i) for i in range(1, k + 1))


class PRDC(SampleMetric):
    name = "prdc"
    description = "precision, recall, density and coverage (k-NN balls) against held-out data, beside real vs real"
    Config = PRDCConfig
    worse = "lower"
    reference = "Naeem et al. 2020 (Reliable fidelity and diversity metrics); clovaai/generative-evaluation-prdc"
    # Coverage leads: it counts real items whose own (real) k-NN ball holds a generated item, so generated
    # outliers cannot inflate it as they inflate recall (whose balls are the generated items' own), it drops under
    # both mode dropping and memorisation, and its value for a perfect model is known in closed form (about
    # 1 - 1/2^k, recorded) as well as measured (real vs real).
    headline_key = "coverage"
    check = "failed"
    check_rule = f"coverage below {COVERAGE_FAILED:g}x real data's"
    summary_order = 2

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        n, cut = self.size(ctx, min(config.samples, len(ctx.data.heldout)), config.k + 1)
        real = self.heldout(ctx, space, n)
        radii = prdc_radii(real, config.k)  # the model and the control are scored against the same balls
        model = prdc(real, self.fake(ctx, space, n), k=config.k, real_radii=radii)
        control = prdc(real, self.train(ctx, space, n), k=config.k, real_radii=radii)
        return {**model, "k": config.k, "n_fake": n, "n_real": n, "cut": cut,
                "real_vs_real": {**control, "n_real": n, "n_control": n,
                                 "control": f"the first {n} training items against the same held-out items"},
                "expected_coverage_same_distribution": expected_coverage(n, n, config.k),
                **self.protocol(ctx, space)}

    def columns(self, result, record):
        space, n, control = result["features"], result["n_fake"], result["real_vs_real"]
        return [Column(f"{self.name}.{key}", f"{key} ({space}, k={result['k']}, n={n})", result[key],
                       f"{result[key]:.3f} (real {control[key]:.3f})", short="coverage" if key == "coverage" else "")
                for key in ("coverage", "recall", "precision", "density")]

    def flag(self, result, record):
        reasons = failure_reasons(coverage=result["coverage"], coverage_real=result["real_vs_real"]["coverage"])
        return "; ".join(reasons) or None

    def plots(self, dataset, table):
        payload = precision_recall_plot(dataset, table, self.name)
        return {"precision_recall": payload} if payload else {}

    def summary(self, result):
        control = result["real_vs_real"]
        values = " ".join(f"{key} {result[key]:.3f} (real {control[key]:.3f})"
                          for key in ("precision", "recall", "density", "coverage"))
        return f"prdc in {result['features']} space, n={result['n_fake']}, k={result['k']}: {values}"


def precision_recall_plot(dataset: str, table: dict, name: str = "prdc") -> bytes | None:
    """Precision against recall (Kynkaanniemi et al.'s picture): memorisers sit high on precision, mode droppers
    low on recall, real data near (1, 1)."""
    keys = {k: f"{name}.{k}" for k in ("precision", "recall")}
    rows = [row for row in table["rows"] if all((row["cells"].get(key) or {}).get("mean") is not None
                                                for key in keys.values())]
    if not rows:
        return None
    figure, axes = pyplot().subplots(figsize=(6, 5))
    for index, row in enumerate(rows):
        recall, precision = row["cells"][keys["recall"]]["mean"], row["cells"][keys["precision"]]["mean"]
        axes.scatter(recall, precision, marker=MARKERS[index % len(MARKERS)], label=row["label"])
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("recall (share of real data the samples cover)")
    axes.set_ylabel("precision (share of samples on the real data)")
    axes.set_title(f"{dataset}: precision against recall")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_png(figure)


# -- kernel inception distance --------------------------------------------------------------------------------

@dataclass
class KIDConfig:
    subsets: int = 100  # torch-fidelity's and torchmetrics' defaults: 100 subsets of 1000 items
    subset_size: int = 1000  # capped at the items available a side (recorded)
    samples: int = 10000  # items a side, at most the held-out split's size (the real side is held-out data)
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.subsets, self.subset_size = whole("subsets", self.subsets, 1), whole("subset_size", self.subset_size, 2)
        self.samples, self.features = whole("samples", self.samples, 2), _features(self.features)


class KID(SampleMetric):
    name = "kid"
    label = "KID"
    description = "kernel inception distance (unbiased cubic-kernel MMD^2 over subsets) to held-out data, beside real"
    Config = KIDConfig
    worse = "higher"
    reference = "Binkowski et al. 2018 (Demystifying MMD GANs); torch-fidelity, torchmetrics KernelInceptionDistance"
    headline_key = "mean"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        n, cut = self.size(ctx, min(config.samples, len(ctx.data.heldout)), 2)
        size = min(config.subset_size, n)
        # a subset of all n items is the same set every time: one subset says all there is to say
        subsets = config.subsets if size < n else 1
        note = None if size < n else f"subset size {size} = all items a side: one subset, no spread over subsets"
        real = self.heldout(ctx, space, n)
        seed = derive(ctx.seed, "kid.subsets")  # the same subsets for both: their difference is not subset noise
        model = kid(real, self.fake(ctx, space, n), subsets=subsets, subset_size=size, seed=seed)
        control = kid(real, self.train(ctx, space, n), subsets=subsets, subset_size=size, seed=seed)
        single = model["subsets"] == 1
        return {"mean": model["mean"], "std": None if single else model["std"], "subsets": model["subsets"],
                "subset_size": model["subset_size"], "subsets_asked": config.subsets,
                "subset_size_asked": config.subset_size, "note": note, "n_fake": n, "n_real": n, "cut": cut,
                "real_vs_real": {"mean": control["mean"], "std": None if single else control["std"], "n_real": n,
                                 "n_control": n,
                                 "control": f"the first {n} training items against the same held-out items"},
                **self.protocol(ctx, space)}

    def columns(self, result, record):
        return self.headline_column(result, f"{result['mean']:.4g} (real {result['real_vs_real']['mean']:.3g})")

    def summary(self, result):
        spread = "" if result["std"] is None else f" +- {result['std']:.4g}"
        return (f"kid {result['mean']:.4g}{spread} against real {result['real_vs_real']['mean']:.4g} "
                f"({result['subsets']} subset{'s' if result['subsets'] != 1 else ''} of {result['subset_size']}, "
                f"n={result['n_fake']}, {result['features']} space)")


# -- memorisation-informed FID --------------------------------------------------------------------------------

@dataclass
class MiFIDConfig:
    cosine_threshold: float = 0.1  # Kaggle's and torchmetrics' default: penalise when closer than this
    average_over: str = "fake"  # "fake": Kaggle's and the paper's definition; "train": torchmetrics'
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        if isinstance(self.cosine_threshold, bool) or not (isinstance(self.cosine_threshold, int | float)
                                                           and 0 < self.cosine_threshold <= 1):
            raise UserError(f"cosine_threshold = {self.cosine_threshold!r}: must be a number in (0, 1]")
        if self.average_over not in ("fake", "train"):
            raise UserError(f"average_over must be one of fake, train, not {self.average_over!r}")
        self.cosine_threshold, self.features = float(self.cosine_threshold), _features(self.features)


class MiFID(SampleMetric):
    name = "mifid"
    label = "MiFID"
    description = "memorisation-informed FD: FD to held-out data over the cosine closeness to training items"
    Config = MiFIDConfig
    worse = "higher"
    # images only: on low-dimensional vectors every point has a training point in almost the same direction, so
    # the cosine penalty would fire on any model
    needs = ("samples", "images")
    reference = "Bai et al. 2021 (On training sample memorization: lessons from benchmarking generative modeling " \
                "with a large-scale competition); Kaggle MiFID; torchmetrics MemorizationInformedFID"
    headline_key = "mifid"
    group = "copying tests"
    check = "copying"
    check_rule = "MiFID's penalty on where real data's is off"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        half = len(ctx.data.heldout) // 2
        n, cut = self.size(ctx, half, 2)
        # like fd: the model and the second held-out half, each at n against the first half; the control is
        # fresh data (not training items, which a memorisation penalty would punish as copies)
        real, train = self.heldout(ctx, space, n), self.train(ctx, space)
        options = {"cosine_threshold": config.cosine_threshold, "average_over": config.average_over}
        model = mifid(train, self.fake(ctx, space, n), real=real, **options)
        control = mifid(train, self.heldout(ctx, space, n, second_half=True), real=real, **options)
        return {**model, "n_fake": n, "n_real": n, "n_train": len(train), "cut": cut,
                "real_vs_real": {**{k: control[k] for k in ("mifid", "fd", "distance", "penalised")}, "n_real": n,
                                 "n_control": n, "control": f"{n} held-out items from the split's second half"},
                **self.protocol(ctx, space)}

    def columns(self, result, record):
        return self.headline_column(result, f"{result['mifid']:.4g} (real {result['real_vs_real']['mifid']:.3g}"
                                            f"{', penalised' if result['penalised'] else ''})")

    def flag(self, result, record):
        if result["penalised"] and not result["real_vs_real"]["penalised"]:
            return (f"MiFID penalty on: cosine distance to training {result['distance']:.3g} < "
                    f"{result['cosine_threshold']:g} (real {result['real_vs_real']['distance']:.3g})")
        return None

    def summary(self, result):
        penalty = (f"penalised: distance {result['distance']:.3g} < {result['cosine_threshold']}"
                   if result["penalised"] else f"no penalty (distance {result['distance']:.3g})")
        return (f"mifid {result['mifid']:.4g} (fd {result['fd']:.4g}, {penalty}) against real "
                f"{result['real_vs_real']['mifid']:.4g} at n={result['n_fake']} ({result['features']} space)")


# -- the C_T data-copying test -------------------------------------------------------------------------------

@dataclass
class CTConfig:
    cells: int = 3  # k-means cells on the training split: dgm-eval's 3 (the reference used 50 on MNIST)
    min_cell_items: int = 21  # a cell counts when it holds more than 20 generated items (the reference's tau)
    pca: int = 64  # project on the training split's first 64 principal components first, as dgm-eval; 0: never
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.cells, self.pca = whole("cells", self.cells, 1), whole("pca", self.pca, 0)
        self.min_cell_items = whole("min_cell_items", self.min_cell_items, 1)
        self.features = _features(self.features)


COPYING_CT = -3.0  # C_T is a z-score with null 0: below -3 is far outside what fresh data gives (control 0 ± 0.5)


class CT(SampleMetric):
    name = "ct"
    label = "C_T"
    description = "C_T data-copying test: generated vs held-out distances to the training set (<< 0: copying)"
    Config = CTConfig
    # << 0 is copying, which this test exists to find; >> 0 is underfitting, which fd, kid and prdc show better
    worse = "lower"
    reference = "Meehan, Chaudhuri, Dasgupta 2020 (A non-parametric test to detect data-copying); " \
                "casey-meehan/data-copying; dgm-eval"
    headline_key = "ct"
    group = "copying tests"
    check = "copying"
    check_rule = f"C_T < {COPYING_CT:g}"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        # as many generated items as held-out ones: the z-scores grow with both, so like with like
        n, cut = self.size(ctx, len(ctx.data.heldout), config.min_cell_items)
        train, heldout = self.train(ctx, space), self.heldout(ctx, space)
        result = ct_test(train, heldout, self.fake(ctx, space, n), cells=config.cells,
                         seed=derive(ctx.seed, "ct.cells", bits=32),
                         min_cell_items=config.min_cell_items, pca=config.pca or None)
        return {**result, "null": 0.0, "n_fake": n, "n_real": len(heldout), "n_train": len(train), "cut": cut,
                **self.protocol(ctx, space)}

    def columns(self, result, record):
        dropped = f", {result['cells_dropped']} of {result['n_cells']} cells dropped" if result["cells_dropped"] \
            else ""
        return self.headline_column(result, f"{result['ct']:.3g} (null 0{dropped})")

    def flag(self, result, record):
        return f"C_T {result['ct']:.3g} < {COPYING_CT:g} (null 0)" if result["ct"] < COPYING_CT else None

    def summary(self, result):
        return (f"C_T {result['ct']:.3f} (null 0; << 0 copies training items, >> 0 underfits) over "
                f"{result['cells_used']} of {result['n_cells']} cells, {result['n_fake']} generated vs "
                f"{result['n_real']} held-out items ({result['features']} space)")


# -- authenticity --------------------------------------------------------------------------------------------

@dataclass
class AuthPctConfig:
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.features = _features(self.features)


class AuthPct(SampleMetric):
    name = "authpct"
    label = "AuthPct"
    description = "authenticity %: generated items farther from their nearest training item than it is from its own"
    Config = AuthPctConfig
    worse = "lower"
    reference = "Alaa et al. 2022 (How faithful is your synthetic data?); layer6ai-labs/dgm-eval"
    headline_key = "authpct"
    group = "copying tests"
    check = "copying"
    check_rule = "AuthPct below half of held-out real items'"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        # as many generated items as held-out ones, scored against the same training split
        n, cut = self.size(ctx, len(ctx.data.heldout), 1)
        train, heldout = self.train(ctx, space), self.heldout(ctx, space)
        train_nn = kth_neighbour_distances(train, 1)  # searched once for both
        return {"authpct": 100 * authpct(train, self.fake(ctx, space, n), train_nn=train_nn),
                "real_heldout": 100 * authpct(train, heldout, train_nn=train_nn), "n_fake": n, "n_real": len(heldout),
                "n_train": len(train), "cut": cut, **self.protocol(ctx, space)}

    def columns(self, result, record):
        return self.headline_column(result, f"{result['authpct']:.1f}% (held-out real {result['real_heldout']:.1f}%)")

    def flag(self, result, record):
        # below half of what held-out real items score (about 69% on digits): near copies
        if result["authpct"] < 0.5 * result["real_heldout"]:
            return f"AuthPct {result['authpct']:.3g}% < half of held-out real {result['real_heldout']:.3g}%"
        return None

    def summary(self, result):
        return (f"authpct {result['authpct']:.1f}% of {result['n_fake']} generated items against "
                f"{result['real_heldout']:.1f}% of {result['n_real']} held-out real items ({result['features']} "
                f"space; fresh data is not 100%)")


# -- the Vendi score ------------------------------------------------------------------------------------------

@dataclass
class VendiConfig:
    samples: int = 10000  # generated items, at most the held-out split's size (the real reference's n)
    q: float = 1.0  # the order of the entropy: 1 is Shannon's (the paper's default)
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.samples, self.features = whole("samples", self.samples, 2), _features(self.features)
        if isinstance(self.q, bool) or not (isinstance(self.q, int | float) and 0 <= self.q < math.inf):
            raise UserError(f"q = {self.q!r}: must be a finite number >= 0 (1: Shannon's entropy)")
        self.q = float(self.q)


class Vendi(SampleMetric):
    name = "vendi"
    label = "Vendi"
    description = "Vendi score: the effective number of distinct items (cosine kernel), beside real at the same n"
    Config = VendiConfig
    worse = "lower"
    reference = "Friedman and Dieng 2023 (The Vendi score); vendi-score; dgm-eval"
    headline_key = "vendi"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        n, cut = self.size(ctx, min(config.samples, len(ctx.data.heldout)), 2)
        # bounded by n and by the feature dimension: only a real sample of the same n says what is high
        return {"vendi": vendi(self.fake(ctx, space, n), q=config.q),
                "real": vendi(self.heldout(ctx, space, n), q=config.q), "kernel": "cosine", "q": config.q,
                "n_fake": n, "n_real": n, "cut": cut, **self.protocol(ctx, space)}

    def columns(self, result, record):
        return self.headline_column(result, f"{result['vendi']:.4g} (real {result['real']:.4g})")

    def summary(self, result):
        return (f"vendi {result['vendi']:.4g} against real {result['real']:.4g} at n={result['n_fake']} "
                f"({result['features']} space, q={result['q']:g})")


@hookimpl
def register_metrics(register):
    for metric in (PRDC, KID, MiFID, CT, AuthPct, Vendi):
        register(metric)
