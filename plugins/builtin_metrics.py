"""The harness's own metrics, registered like any plugin's: the neural-net distance per capacity, the birthday
test, the Inception Score and Frechet distance, mode coverage, and the linear probe of an encoder's codes.

Each reads its items from the source through the context (so finite sources are cut honestly, gan_zoo.sources)
and compares a model with real data at the same sample size and protocol wherever the number depends on it.
"""

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan_zoo import hookimpl
from gan_zoo.config import choice, number, text, whole, wholes
from gan_zoo.drawing import image_grid, line_plot, picture_png, row_style
from gan_zoo.errors import UserError
from gan_zoo.harness.birthday import BirthdayConfig, birthday_test
from gan_zoo.harness.discriminators import parse_capacities, split_name, unbuildable
from gan_zoo.harness.ensemble import PHIS, EnsembleConfig
from gan_zoo.harness.functional import fd as frechet_distance
from gan_zoo.harness.functional import fd_to_reference
from gan_zoo.harness.inception import inception_score
from gan_zoo.harness.modes import mode_coverage
from gan_zoo.harness.nn_distance import MARGIN, against_floor, nn_distance, reading
from gan_zoo.harness.quality import FD_FAILED, failure_reasons
from gan_zoo.metrics import Column, Metric, Rank, Shortcut, pooled, seeds_interval
from gan_zoo.seeds import derive


def _short(p: int) -> str:
    return f"{p:.0e}".replace("e+0", "e")


# -- the neural-net distance ----------------------------------------------------------------------------------

@dataclass
class NNDistanceConfig:
    discriminator: str = "mlp"  # evaluation discriminator class: mlp, mlp:DEPTH, conv, timm:ARCH
    capacities: tuple[int, ...] = (1_000, 10_000, 100_000)  # target parameter counts p
    max_items: int = 4000  # real items per side (halves of the training and held-out splits), at most
    # the smallest excess over the noise floor that counts as a difference: "fooled" needs the test to see one and
    # rule it out, else "cannot tell" (harness/nn_distance.py, `reading`); phi = log units, set it for identity
    margin: float = MARGIN
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)

    def __post_init__(self):
        self.discriminator = text("discriminator", self.discriminator)  # the registry names unknown classes
        self.capacities = wholes("capacities", self.capacities, 1, 10**9)  # parameters per discriminator
        self.max_items = whole("max_items", self.max_items, 1, 10**8)
        self.margin = number("margin", self.margin, 0)
        ensemble = self.ensemble  # EnsembleConfig checks select, validation and validate_every itself
        if not isinstance(ensemble, EnsembleConfig):
            raise UserError(f"ensemble = {ensemble!r}: must be an EnsembleConfig (a table of ensemble settings)")
        ensemble.phi = choice("ensemble.phi", ensemble.phi, PHIS)
        ensemble.members = whole("ensemble.members", ensemble.members, 1, 1024)
        ensemble.steps = whole("ensemble.steps", ensemble.steps, 1)
        ensemble.batch_size = whole("ensemble.batch_size", ensemble.batch_size, 1, 2**20)
        ensemble.lr = number("ensemble.lr", ensemble.lr, 0, low_open=True)
        ensemble.clip = number("ensemble.clip", ensemble.clip, 0, low_open=True)


class NNDistance(Metric):
    name = "nn_distance"
    description = "neural-net distance per discriminator capacity p: train and held-out gaps, noise floor"
    Config = NNDistanceConfig
    worse = "higher"
    reference = "Arora, Ge, Liang, Ma, Zhang 2017 (Generalization and equilibrium in GANs)"
    label = "NND"
    # closest to real data as the strongest discriminators see it; a memoriser can top this order, which is why
    # the leaderboard reads it beside the copying tests
    sort_key = "excess"
    sort_order = ("held-out neural-net distance at the largest capacity minus its noise floor, ascending (encoder "
                  "families measured on (x, z) pairs after the rows measured on items)")
    summary_order = 0
    shortcuts = (Shortcut("--capacities", "capacities", "discriminator capacities p, e.g. 1e3,1e4,1e5.",
                          parse_capacities),
                 Shortcut("--discriminator", "discriminator", "discriminator class (mlp, mlp:DEPTH, conv, timm:ARCH)."),
                 Shortcut("--ensemble", "ensemble.members", "discriminators per capacity (default 8).", int),
                 Shortcut("--ensemble-steps", "ensemble.steps", "optimizer steps per discriminator (default 300).",
                          int),
                 Shortcut("--phi", "ensemble.phi", "log (D in (0,1), the GAN objective) or identity (the "
                          "Wasserstein form).", choices=PHIS))

    def compute(self, ctx, config):
        data, source = ctx.data, ctx.source
        registry_cls = ctx.registry.discriminator(split_name(config.discriminator)[0])
        pairs = source.has_codes
        n_train = min(len(data.train) // 2, config.max_items)
        n_held = min(len(data.heldout) // 2, config.max_items)
        (n_train, n_held), note = ctx.fit_parts([n_train, n_held])
        train_a, train_b = data.train.x[:n_train], data.train.x[n_train:2 * n_train]
        held_a, held_b = data.heldout.x[:n_held], data.heldout.x[n_held:2 * n_held]
        seed = ctx.seed

        def real(x, part):
            return source.encode_real(x, derive(seed, "nn_distance.encode", part)) if pairs else (x,)

        fake_seed = derive(seed, "nn_distance.fake")
        if pairs:
            x, z = source.draw_with_codes(n_train + n_held, fake_seed)
            fake_a, fake_b = (x[:n_train], z[:n_train]), (x[n_train:], z[n_train:])
        else:
            fake_a, fake_b = ((part,) for part in source.draw_parts([n_train, n_held], fake_seed))
        common = dict(cls=registry_cls, option=split_name(config.discriminator)[1], spec=data.spec,
                      code_dim=fake_a[1].shape[1] if pairs else 0, capacities=list(config.capacities),
                      config=config.ensemble, seed=seed, device=ctx.device)
        ctx.report(f"  nn_distance: {len(config.capacities)} capacities x {config.ensemble.members} discriminators, "
                   f"the source against real data")
        measured = nn_distance(train=(real(train_a, 0), fake_a), heldout=(real(held_a, 1), fake_b), **common)
        ctx.report("  nn_distance: real data against itself (the noise floor)")
        floor = nn_distance(train=(real(train_a, 0), real(train_b, 2)), heldout=(real(held_a, 1), real(held_b, 3)),
                            **common)
        skipped = unbuildable(*(common[key] for key in ("cls", "option", "spec", "code_dim", "capacities")))
        for reason in skipped.values():
            ctx.report(f"  nn_distance: skipped, {reason}")
        return {"capacities": against_floor(measured, floor, config.margin), "discriminator": config.discriminator,
                "phi": config.ensemble.phi, "pairs": pairs, "items_per_side": {"train": n_train, "heldout": n_held},
                "cut": note, "skipped_capacities": {str(target): why for target, why in skipped.items()}}

    def headline(self, result):
        entries = result["capacities"]
        return entries[-1]["heldout_gap"] if entries else None

    def columns(self, result, record):
        kind = f"{result['discriminator']}{', (x, z) pairs' if result['pairs'] else ''}"
        # a column per discriminator and kind of input: gaps on (x, z) pairs are not comparable with gaps on items
        key = f"nn_distance[{kind}]"
        # one seed: the cell says when that capacity's discriminators are fooled, or when n is too small to tell
        cells = [Column(f"{key}@{e['target_p']}", f"NND p≈{_short(e['target_p'])} ({kind})", e["heldout_gap"],
                        _undetected(e))
                 for e in result["capacities"]]
        floors = " / ".join(f"{e['noise_floor']:.2g}" for e in result["capacities"])
        group = f"neural-net distance on {'(x, z) pairs' if result['pairs'] else 'items'}"
        largest = result["capacities"][-1]["target_p"] if result["capacities"] else None
        cells = [dataclasses.replace(c, group=group, short=f"NND {_short(largest)}{' (x,z)' if result['pairs'] else ''}"
                                     if c.key.endswith(f"@{largest}") else "") for c in cells]
        return cells + [Column(f"{key}.floor", f"noise floor per p ({kind})", None, floors, group=group)]

    def row_fields(self, results, records):
        """Per capacity over the seeds: the held-out gap and noise floor pooled, the interval, the real p; the excess
        over the floor at the largest capacity (the sort key); whether measured on (x, z) pairs."""
        by_capacity: dict[int, list[dict]] = {}
        for result in results:
            for entry in result["capacities"]:
                by_capacity.setdefault(int(entry["target_p"]), []).append(entry)
        heldout = {p: pooled([e["heldout_gap"] for e in es]) for p, es in by_capacity.items()}
        floors = {p: pooled([e["noise_floor"] for e in es]) for p, es in by_capacity.items()}
        largest = max(by_capacity, default=None)
        return {"excess": None if largest is None else heldout[largest]["mean"] - floors[largest]["mean"],
                "nn_heldout": heldout, "noise_floor": floors,
                "nn_ci": {p: seeds_interval([e["heldout_gap"] for e in es], es[0]["ci"]) for p, es in
                          by_capacity.items()},
                "nn_p": {p: es[0]["p"] for p, es in by_capacity.items()}, "pairs": bool(results[0]["pairs"])}

    def table_fields(self, rows):
        return {"capacities": sorted({int(p) for row in rows for p in row.get("nn_heldout", {})})}

    def rank(self, row):
        if row.get("excess") is None:
            return None
        largest = max(row["nn_heldout"], key=int)
        low, high = row["nn_ci"][largest] or [row["excess"], row["excess"]]
        return Rank(row["excess"], f"NND over its floor {row['excess']:.3g} at p≈{_short(largest)}"
                                   f"{' on (x, z) pairs' if row['pairs'] else ''}", (high - low) / 2)

    def plots(self, dataset, table):
        """Held-out neural-net distance against capacity, one line per row, with CIs and the noise floor."""
        rows = [row for row in table["rows"] if row.get("nn_heldout")]
        if not rows:
            return {}
        return {self.name: line_plot(f"{dataset}: neural-net distance against capacity",
                                     "discriminator capacity p (parameters)", "held-out neural-net distance",
                                     lambda axes: _draw_nn_distance(axes, rows))}

    def ladder_note(self, score):
        # the score of one capacity ends in @p: p log p is the sample size its generalisation bound asks for
        head, _, p = score.rpartition("@")
        return f"p log p {int(p) * math.log(int(p)):.3g}" if head and p.isdigit() else ""

    def summary(self, result):
        lines = [f"nn-distance ({result['discriminator']}, phi {result['phi']}, "
                 f"{result['items_per_side']['train']}+{result['items_per_side']['heldout']} items a side"
                 f"{', ' + result['cut'] if result['cut'] else ''}):"]
        for e in result["capacities"]:
            low, high = e["ci"]
            lines.append(f"    p={e['p']:>8}: train {e['train_gap']:.4f}  held-out {e['heldout_gap']:.4f} "
                         f"[{low:.4f}, {high:.4f}]  noise floor {e['noise_floor']:.4f}  "
                         f"{_verdict(e)}")
        lines += [f"    p~{target}: skipped, {why}" for target, why in result.get("skipped_capacities", {}).items()]
        return "\n".join(lines)


def _draw_nn_distance(axes, rows: list[dict]) -> None:
    for index, row in enumerate(rows):
        style = row_style(index, len(rows))
        ps = sorted(row["nn_heldout"], key=int)
        x = [row["nn_p"][p] * style["dodge"] for p in ps]
        y = [row["nn_heldout"][p]["mean"] for p in ps]
        low = [y_i - (row["nn_ci"][p] or [y_i, y_i])[0] for p, y_i in zip(ps, y, strict=True)]
        high = [(row["nn_ci"][p] or [y_i, y_i])[1] - y_i for p, y_i in zip(ps, y, strict=True)]
        axes.errorbar(x, y, yerr=[[max(v, 0) for v in low], [max(v, 0) for v in high]], marker=style["marker"],
                      linestyle=style["linestyle"], capsize=3, label=row["label"])
    # each kind of discriminator input has its own floor: items alone, or (x, z) pairs for encoder families
    kinds: dict[str, list[dict]] = {}
    for row in rows:
        kinds.setdefault("(x, z) pairs" if row["pairs"] else "items", []).append(row)
    for kind, members in kinds.items():
        floor_ps = sorted({p for row in members for p in row["noise_floor"]}, key=int)
        pooled_floors = [pooled([row["noise_floor"][p]["mean"] for row in members if p in row["noise_floor"]])
                         for p in floor_ps]
        floor = [found["mean"] for found in pooled_floors if found]  # each p is some row's, so none is missing
        axes.plot([members[0]["nn_p"].get(p, int(p)) for p in floor_ps], floor, color="black",
                  linestyle="--" if kind == "items" else ":", linewidth=1.5, label=f"noise floor, {kind}")
    axes.set_yscale("symlog", linthresh=1e-3)  # held-out gaps can be negative; symlog is log-like above 1e-3


def _verdict(entry: dict) -> str:
    """The summary's verdict with the smallest excess over the floor it could have seen (records of any age)."""
    read = reading(entry)
    could = f"smallest detectable gap over the floor {read['min_detectable_gap']:.3f}"
    if read["verdict"] == "cannot tell":
        if read["untrained"]:
            why = f"; too little training to certify fooled: {read['untrained']}"
        else:
            why = f"; needs ~{read['n_needed']} held-out items a side" if read["n_needed"] else ""
        return f"cannot tell at this n ({could}{why})"
    return f"{'fooled (within the noise)' if read['verdict'] == 'fooled' else 'detected'}, {could}"


def _undetected(entry: dict) -> str | None:
    """A leaderboard cell's text where the capacity did not detect the source; None (the number) where it did."""
    read = reading(entry)
    if read["verdict"] == "detected":
        return None
    if read["verdict"] == "fooled":
        return f"{entry['heldout_gap']:.4g} (fooled; could see {read['min_detectable_gap']:.2g})"
    needs = f"; needs n≈{read['n_needed']}" if read["n_needed"] else ""
    return f"{entry['heldout_gap']:.4g} (cannot tell{needs})"


# -- the birthday test ----------------------------------------------------------------------------------------

@dataclass
class BirthdayMetricConfig(BirthdayConfig):
    features: str = "pixels"  # the space distances are measured in: pixels, or classifier (labelled images)

    def __post_init__(self):
        super().__post_init__()
        self.features = text("features", self.features)  # the registry names unknown feature spaces


class Birthday(Metric):
    name = "birthday"
    description = "birthday-paradox support estimate: collision count with a 99% interval, ML fit, P(dup) by s"
    Config = BirthdayMetricConfig
    worse = "lower"
    reference = "Arora and Zhang 2017 (Do GANs actually learn the distribution?)"
    group = "copying tests"
    check = "copying"
    check_rule = "birthday support below the training set's size"
    summary_order = 3
    shortcuts = (Shortcut("--birthday-embedding", "features", "the space pair distances are measured in (default "
                          "pixels).", choices=("pixels", "classifier")),)

    def compute(self, ctx, config):
        space = config.features
        if len(ctx.data.heldout) < 2:  # its threshold is the closest pair of held-out items
            raise UserError(f"birthday test: needs at least 2 held-out items to calibrate its threshold, "
                            f"{ctx.data.name} has {len(ctx.data.heldout)}; give a data set of at least 10 items")

        def embed(items):
            return ctx.extractor(space).features(items)

        result = birthday_test(ctx.source.draw_parts, ctx.data.heldout.x, config, ctx.seed,
                               None if space == "pixels" else embed, pool=ctx.source.size)
        closest = result.pop("closest")
        if ctx.data.spec.is_image and len(closest["pairs"]):
            ctx.artifacts["birthday"] = {**closest, "threshold": result["threshold"]}
        result["closest_distances"] = closest["distances"].tolist()
        result["features"] = space
        return result

    def headline(self, result):
        return result["support"]["value"]

    def columns(self, result, record):
        support, true = result["support"], (record.get("facts") or {}).get("support")
        low, high = support["ci"]
        if support["kind"] == "lower_bound":
            text = f"> {low:.3g} (no duplicates up to s={result['largest_s']})"
        else:
            text = f"{support['value']:.3g} [{low:.3g}, {high:.3g}]" if high else f"{support['value']:.3g}"
        if true:
            text += f" (true {true})"
        where = "" if result["features"] == "pixels" else f", {result['features']}"
        count = (result["collisions"], result["pairs_examined"]) if "collisions" in result else None
        return [Column("birthday.support", f"birthday support ({support['method']}{where})", support["value"], text,
                       scale="log", count=count, short="birthday support")]

    def flag(self, result, record):
        n_train = (record.get("dataset") or {}).get("n_train")
        high = result["support"]["ci"][1] if result["support"]["kind"] == "estimate" else None
        if n_train and high is not None and high < n_train:
            return (f"birthday support <= {high:.3g} ({result['support']['ci_level']:.0%}), below {n_train} "
                    f"training items")
        return None

    def row_fields(self, results, records):
        return {"p_duplicate_by_s": results[0].get("p_duplicate_by_s")}  # the first seed's, for the plot

    def plots(self, dataset, table):
        rows = [row for row in table["rows"] if row.get("p_duplicate_by_s")]

        def draw(axes):
            for index, row in enumerate(rows):
                style = row_style(index, len(rows))
                sizes = sorted(row["p_duplicate_by_s"], key=int)
                axes.plot([int(s) * style["dodge"] for s in sizes],
                          [row["p_duplicate_by_s"][s] + 0.01 * (index - (len(rows) - 1) / 2) for s in sizes],
                          marker=style["marker"], linestyle=style["linestyle"], label=row["label"])
            axes.axhline(0.5, color="grey", linestyle=":", linewidth=1)

        return {self.name: line_plot(f"{dataset}: birthday test", "sample size s", "P(duplicate among s samples)",
                                     draw)} if rows else {}

    def picture(self, artifact):
        """The montage: one row per closest pair, its distance beside it (starred if a duplicate)."""
        from PIL import Image, ImageDraw

        items, pairs, distances = artifact["items"], artifact["pairs"], artifact["distances"]
        tiles = items[pairs.flatten()]  # a0, b0, a1, b1, ...
        grid = image_grid(tiles, scale=max(2, 64 // items.shape[-1]), columns=2).convert("RGB")
        row_height = grid.height / len(pairs)
        canvas = Image.new("RGB", (grid.width + 110, grid.height), "white")
        canvas.paste(grid, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for row, distance in enumerate(distances.tolist()):
            mark = " *dup" if distance < artifact["threshold"] else ""
            draw.text((grid.width + 6, int(row * row_height + row_height / 2) - 5), f"{distance:.3g}{mark}",
                      fill="black")
        return {"montage": picture_png(canvas)}

    def summary(self, result):
        support = result["support"]
        low, high = support["ci"]
        cut = f"; {result['grid_cut']}" if result["grid_cut"] else ""
        if support["kind"] == "lower_bound":
            return (f"birthday: no duplicates up to s = {result['largest_s']}: support > {low:.4g} "
                    f"({support['ci_level']:.0%} bound){cut}")
        ml = "" if result["ml_estimate"] is None else \
            f"; ML {'upper bound' if result['ml_kind'] == 'upper_bound' else 'fit'} {result['ml_estimate']:.4g}"
        interval = f"[{low:.4g}, {high if high is None else f'{high:.4g}'}]"
        if support["method"] != "collision count":  # a fixed multiset: the collision count would mislead
            return (f"birthday: support {support['value']:.4g} {interval}, the distinct items of a fixed multiset "
                    f"({result['finite_source']['why']}; the collision count would say "
                    f"{result['collision_estimate']:.4g}){cut}")
        return f"birthday: support {support['value']:.4g} {interval} from {result['collisions']} collisions " \
               f"(s50 {result['s50']}{ml}){cut}"


# -- Inception Score and Frechet distance --------------------------------------------------------------------

@dataclass
class InceptionScoreConfig:
    samples: int = 5000  # generated items scored (a finite source: at most all it holds)
    splits: int = 10
    features: str = "classifier"  # a space with class logits: classifier, or inception (with weights)

    def __post_init__(self):
        self.samples = whole("samples", self.samples, 1, 10**8)  # items drawn
        self.splits = whole("splits", self.splits, 1)
        if self.splits > self.samples:
            raise UserError(f"splits = {self.splits}: must be at most samples = {self.samples} (each split needs "
                            f"items)")
        self.features = text("features", self.features)


class InceptionScore(Metric):
    name = "inception_score"
    description = "Inception Score in a classifier's space, beside real held-out data at the same n and splits"
    Config = InceptionScoreConfig
    worse = "lower"
    needs = ("samples", "images")
    reference = "Salimans et al. 2016; torchmetrics InceptionScore"

    def compute(self, ctx, config):
        extractor = ctx.extractor(config.features)
        if extractor.logits(ctx.data.heldout.x[:1]) is None:
            raise UserError(f"inception_score: feature space {config.features} has no class logits; use classifier")
        n = ctx.available(config.samples)
        score = inception_score(extractor.logits(ctx.samples(n)), config.splits)
        # IS depends on n (small splits score lower): the real reference and the model at the reference's n
        n_real = min(n, len(ctx.data.heldout))
        real = inception_score(extractor.logits(ctx.data.heldout.x[:n_real]), config.splits)
        at_real_n = inception_score(extractor.logits(ctx.samples(n_real)), config.splits)
        return {**score, "features": config.features, "real": real, "at_real_n": at_real_n, "space": extractor.info}

    def headline(self, result):
        # IS depends on n: only the model's score at the real data's n is comparable with real data
        return result["at_real_n"]["mean"]

    def columns(self, result, record):
        space = result["features"]
        return [Column("inception_score.same_n", f"IS at real n ({space})", result["at_real_n"]["mean"],
                       f"{result['at_real_n']['mean']:.3g} (real {result['real']['mean']:.3g}, "
                       f"n={result['real']['n']})"),
                Column("inception_score", f"IS ({space}, n={result['n']})", result["mean"])]

    def summary(self, result):
        same, real = result["at_real_n"], result["real"]
        return (f"inception score at the real data's n={real['n']}: {same['mean']:.3f} against real "
                f"{real['mean']:.3f}; {result['mean']:.3f} +- {result['std']:.3f} at the model's own n={result['n']} "
                f"({result['features']} space)")


@dataclass
class FrechetConfig:
    features: str = "classifier"  # pixels, classifier, inception (with weights)
    reference_stats: str = ""  # an .npz of mu, sigma (pytorch-fid / clean-fid write them): FD to it, not held-out
    stats_samples: int = 50_000  # the source's items measured against a statistics file (the FID protocol's 50k)

    def __post_init__(self):
        self.features = text("features", self.features)
        if not isinstance(self.reference_stats, str):
            raise UserError(f"reference_stats = {self.reference_stats!r}: must be the path of an .npz, or \"\"")
        self.stats_samples = whole("stats_samples", self.stats_samples, 2, 10**8)
        if self.reference_stats:
            read_reference_stats(Path(self.reference_stats))  # a bad file fails here, before anything is drawn


def read_reference_stats(path: Path) -> dict:
    """mu (d,) and sigma (d, d) from an .npz as pytorch-fid and clean-fid write them, checked, with its SHA-256.
    Never unpickled (allow_pickle=False)."""
    fix = "give the .npz with `mu` (d,) and `sigma` (d, d) that pytorch-fid or clean-fid wrote"
    if not path.is_file():
        raise UserError(f"reference statistics {path}: no such file; {fix}")
    try:
        with np.load(path, allow_pickle=False) as stats:
            if not {"mu", "sigma"} <= set(stats.files):
                raise UserError(f"reference statistics {path}: holds {', '.join(stats.files) or 'nothing'}, not mu "
                                f"and sigma; {fix}")
            mu, sigma = np.asarray(stats["mu"]), np.asarray(stats["sigma"])
    except UserError:
        raise
    except Exception as exc:  # not a zip, a truncated file, an object array
        raise UserError(f"reference statistics {path}: not a readable .npz ({type(exc).__name__}); {fix}") from None
    d = mu.shape[0] if mu.ndim == 1 else None
    if d is None or sigma.shape != (d, d) or not np.issubdtype(mu.dtype, np.floating) \
            or not np.issubdtype(sigma.dtype, np.floating):
        raise UserError(f"reference statistics {path}: mu {mu.shape} {mu.dtype} and sigma {sigma.shape} "
                        f"{sigma.dtype} do not fit (mu (d,), sigma (d, d), floating); {fix}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise UserError(f"reference statistics {path}: mu or sigma holds NaN or inf; recompute the statistics")
    scale = max(float(np.abs(sigma).max()), 1e-300)
    if float(np.abs(sigma - sigma.T).max()) > 1e-5 * scale or (np.diag(sigma) < 0).any():
        raise UserError(f"reference statistics {path}: sigma is not a covariance (not symmetric, or a negative "
                        f"variance); recompute the statistics")
    return {"mu": mu, "sigma": sigma, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "d": d}


class FrechetDistance(Metric):
    name = "fd"
    description = "Frechet distance to real held-out data, beside real against real at the same n"
    Config = FrechetConfig
    worse = "higher"
    needs = ("samples",)
    reference = "Heusel et al. 2017; torchmetrics FrechetInceptionDistance"
    label = "FD"
    sort_key = "fd"  # after the neural-net distance: it breaks the best model's ties
    check = "failed"
    check_rule = f"FD over {FD_FAILED:g}x real data's own"
    summary_order = 1

    def compute(self, ctx, config):
        if config.reference_stats:
            return self._against_stats(ctx, config)
        real = ctx.data.heldout.x
        half = len(real) // 2
        n = ctx.available(half)
        if n < 2:
            raise UserError(f"fd: {n} items cannot fit a Gaussian; give more samples")
        first, second = real[:half], real[half:2 * half]
        features = {what: ctx.features(config.features, what, items) for what, items in
                    (("real-a", first), ("real-b", second), (f"fake:{n}", ctx.samples(n)))}
        full_n = ctx.available(len(real))
        return {
            # like with like: the model and the real floor both at n items against the same real half
            "value": frechet_distance(features["real-a"][:n], features[f"fake:{n}"]), "n": n,
            "real_floor": frechet_distance(features["real-a"][:n], features["real-b"][:n]),
            "full": {"value": frechet_distance(ctx.features(config.features, "real-all", real),
                                               ctx.features(config.features, f"fake:{full_n}", ctx.samples(full_n))),
                     "n": full_n},
            "features": config.features}

    @staticmethod
    def _against_stats(ctx, config):
        """FD to a statistics file, the way published FIDs are computed: no items of the reference, so no real
        floor at the same n; the record says so instead of printing one."""
        stats = read_reference_stats(Path(config.reference_stats))
        n = ctx.available(config.stats_samples)
        fake = ctx.features(config.features, f"fake:{n}", ctx.samples(n))
        return {"value": fd_to_reference(stats["mu"], stats["sigma"], fake), "n": n, "real_floor": None,
                "reference": {"stats_file": config.reference_stats, "sha256": stats["sha256"], "d": stats["d"]},
                "note": "against a statistics file: no real items, so no real-against-real floor at this n",
                "features": config.features}

    def columns(self, result, record):
        space = result["features"]
        floor = "stats file" if result["real_floor"] is None else f"real {result['real_floor']:.3g}"
        return [Column("fd", f"FD ({space}, n={result['n']})", result["value"], f"{result['value']:.4g} ({floor})",
                       short="FD")]

    def flag(self, result, record):
        return "; ".join(failure_reasons(fd=result["value"], fd_real=result["real_floor"])) or None

    def summary(self, result):
        if result["real_floor"] is None:
            return (f"frechet distance {result['value']:.3f} at n={result['n']} against the statistics file "
                    f"{result['reference']['stats_file']} ({result['features']} space; no real floor)")
        return (f"frechet distance {result['value']:.3f} against real {result['real_floor']:.3f} at n={result['n']} "
                f"({result['features']} space); {result['full']['value']:.3f} at n={result['full']['n']}")


# -- mode coverage and the linear probe ----------------------------------------------------------------------

@dataclass
class ModesConfig:
    samples: int = 2500  # PacGAN's protocol

    def __post_init__(self):
        self.samples = whole("samples", self.samples, 1, 10**8)  # items drawn


class Modes(Metric):
    name = "modes"
    description = "PacGAN mode coverage: modes captured, high-quality share, reverse KL"
    Config = ModesConfig
    worse = "lower"
    needs = ("samples", "modes")
    reference = "Lin et al. 2018 (PacGAN), section 5"
    headline_key = "modes_captured"
    reads_heldout = False  # the known mode centres, not held-out items
    after_training = True  # cheap, and a run that captured no mode went wrong

    def compute(self, ctx, config):
        n = ctx.available(config.samples)
        result = mode_coverage(ctx.samples(n), ctx.data.heldout.modes, ctx.data.heldout.mode_std)
        return {**result, "cut": None if n == config.samples else f"{n} samples: all the source holds"}

    def columns(self, result, record):
        return [Column("modes", "modes", result["modes_captured"],
                       f"{result['modes_captured']}/{result['n_modes']} ({result['high_quality_fraction']:.0%} HQ)")]

    def summary(self, result):
        return (f"modes {result['modes_captured']}/{result['n_modes']}, high quality "
                f"{result['high_quality_fraction']:.1%} ({result['n_samples']} samples)")

    def training_line(self, result):
        return (f"modes captured: {result['modes_captured']}/{result['n_modes']}  high quality: "
                f"{result['high_quality_fraction']:.1%}  reverse KL: {result['reverse_kl']}")

    def training_problem(self, result):
        return "no mode captured" if result["modes_captured"] == 0 else None


class Probe(Metric):
    name = "probe"
    description = "for encoders: accuracy of a linear probe on E(x) predicting the labels, against chance"
    worse = "lower"
    needs = ("pairs", "labels")
    headline_key = "accuracy"
    reads_heldout = False  # the encoder against held-out labels: the source's samples are not compared

    def compute(self, ctx, config):
        from sklearn.linear_model import LogisticRegression

        data = ctx.data

        def codes(x, split):
            return ctx.source.encode_real(x, derive(ctx.seed, "probe.encode", split))[1].reshape(len(x), -1).numpy()

        probe = LogisticRegression(max_iter=2000).fit(codes(data.train.x, 0), data.train.labels.numpy())
        accuracy = float((probe.predict(codes(data.heldout.x, 1)) == data.heldout.labels.numpy()).mean())
        chance = torch.bincount(data.heldout.labels).max().item() / len(data.heldout.labels)
        return {"accuracy": accuracy, "chance": chance, "n_train": len(data.train), "n_heldout": len(data.heldout)}

    def columns(self, result, record):
        return [Column("probe", "probe on E(x)", result["accuracy"],
                       f"{result['accuracy']:.3f} (chance {result['chance']:.3f})")]

    def summary(self, result):
        return f"linear probe on E(x): {result['accuracy']:.3f} (chance {result['chance']:.3f})"


@hookimpl
def register_metrics(register):
    for metric in (NNDistance, InceptionScore, FrechetDistance, Birthday, Modes, Probe):
        register(metric)


