"""The birthday-paradox support test (Arora and Zhang 2017; REFERENCE section 1).

Per trial, s fresh samples are drawn from the model (never resampled from a finite pool, which would inflate
collisions). The closest pairs are found by the shared nearest-neighbour kernel (knn.closest_pairs: blocked
matrix products over the upper triangle with a running top-k), so memory grows with chunk x s, never s x s.
A pair is a duplicate when it is closer than real data is to itself: below a threshold calibrated on held-out
real items (a fraction of a low quantile of the distances from each item to its nearest distinct neighbour),
recorded with the result. The most similar pairs go to a montage for a person to inspect,
as the original protocol requires.

Two estimates of the support N, the valid one first:
- `collision_estimate`: C(s, 2) summed over trials / the number of duplicate pairs found, since each pair of
  draws from a uniform N-item support collides with probability 1/N; its interval is the exact Poisson interval
  of the count (pair collisions are pairwise independent, so the count's variance is its mean). With no
  collision it gives a lower bound, labelled as one (`support.kind`).
- `ml_estimate`: N fitted by maximum likelihood to P(duplicate among s) = 1 - exp(-s(s-1) / 2N) over the
  grid of s, beside `s50`, the smallest s with P >= 0.5 (the paper's "support ~ s^2"); noisier (2x either way
  at a few collisions), and only an upper bound when every trial collided (`ml_kind`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from scipy.stats import chi2

from gan_zoo.config import number, whole, wholes
from gan_zoo.errors import UserError
from gan_zoo.harness.knn import closest_pairs


@dataclass
class BirthdayConfig:
    sizes: tuple[int, ...] = (10, 20, 40, 80, 160, 320, 640, 1280, 2560)  # the grid of s, doubling
    trials: int = 10  # per s, each with fresh samples
    threshold_quantile: float = 0.01  # of real nearest-neighbour distances ...
    threshold_fraction: float = 0.5  # ... times this: the duplicate threshold
    chunk: int = 256  # rows per matrix product in the pair search: 256 ran at 71-76% of the matmul rate, 1024 at 45-54%
    calibration_items: int = 2000  # held-out real items the threshold is calibrated on
    ci_level: float = 0.99  # 95% would miss the truth in 1 run of 20; a support claim deserves better odds
    enough_collisions: int = 200  # stop growing s once every trial at an s collided and this many were seen
    min_trials: int = 2  # a finite source's grid stops at the s where fewer disjoint trials than this fit

    def __post_init__(self):
        check_birthday(self)


MAX_S = 10**7  # items per trial: the pair search holds chunk x s distances
MAX_DRAWN = 10**8  # items drawn at once for one s (trials x s)
MAX_CHUNK = 2**14  # rows per block: the block's mask alone is chunk^2 bytes


def check_birthday(config: BirthdayConfig) -> None:
    """BirthdayConfig's values, each refused with one line naming it, before anything is drawn."""
    config.sizes = wholes("sizes", config.sizes, 2, MAX_S, increasing=True)  # s = 1 has no pairs
    config.trials = whole("trials", config.trials, 1)
    if config.trials * config.sizes[-1] > MAX_DRAWN:
        raise UserError(f"trials = {config.trials}: with s up to {config.sizes[-1]} one level would draw "
                        f"{config.trials * config.sizes[-1]} items at once, above 10^8; lower trials or sizes")
    config.threshold_quantile = number("threshold_quantile", config.threshold_quantile, 0, 1, low_open=True,
                                       high_open=True)
    config.threshold_fraction = number("threshold_fraction", config.threshold_fraction, 0, low_open=True)
    config.chunk = whole("chunk", config.chunk, 1, MAX_CHUNK)
    config.calibration_items = whole("calibration_items", config.calibration_items, 2, MAX_S)  # 2: a neighbour
    config.ci_level = number("ci_level", config.ci_level, 0, 1, low_open=True, high_open=True)
    config.enough_collisions = whole("enough_collisions", config.enough_collisions, 0)
    config.min_trials = whole("min_trials", config.min_trials, 1)


def calibrate_threshold(real: torch.Tensor, config: BirthdayConfig, seed: int = 0) -> dict:
    """The duplicate threshold from held-out real items: how close distinct real items come to each other."""
    flat = real.reshape(len(real), -1).double()
    if len(flat) > config.calibration_items:
        flat = flat[torch.randperm(len(flat), generator=torch.Generator().manual_seed(seed))[:config.calibration_items]]
    nearest = []
    for start in range(0, len(flat), config.chunk):
        d = torch.cdist(flat[start:start + config.chunk], flat, compute_mode="donot_use_mm_for_euclid_dist")
        d[d == 0] = math.inf  # the item itself, and exact copies: "distinct" neighbours only
        nearest.append(d.min(dim=1).values)
    nearest = torch.cat(nearest)
    nearest = nearest[nearest.isfinite()]
    quantile = nearest.quantile(config.threshold_quantile).item()
    return {"threshold": config.threshold_fraction * quantile, "real_nn_quantile": quantile,
            "real_nn_median": nearest.median().item(), "quantile": config.threshold_quantile,
            "fraction": config.threshold_fraction}


def poisson_interval(count: int, level: float = 0.95) -> tuple[float, float]:
    alpha = 1 - level
    low = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2
    return low, chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2


def fit_support(p_by_s: dict[int, list[bool]]) -> tuple[float | None, str | None]:
    """Maximum-likelihood N for P(dup | s) = 1 - exp(-s(s-1) / 2N), and what it is: "fit", or "upper_bound"
    when every trial collided (then N is at most the 50% point of the smallest s); (None, None) when nothing
    collided."""
    outcomes = [(s, hit) for s, hits in p_by_s.items() for hit in hits]
    if not any(hit for _, hit in outcomes):
        return None, None
    if all(hit for _, hit in outcomes):
        smallest = min(s for s, _ in outcomes)
        return smallest * (smallest - 1) / 2 / math.log(2), "upper_bound"

    def log_likelihood(log_n: float) -> float:
        n, total = math.exp(log_n), 0.0
        for s, hit in outcomes:
            p = -math.expm1(-s * (s - 1) / (2 * n))
            total += math.log(max(p, 1e-300)) if hit else math.log(max(1 - p, 1e-300))
        return total

    low, high = 0.0, math.log(1e15)
    for _ in range(200):  # golden-section search; the log-likelihood is unimodal in log N
        a, b = high - (high - low) / 1.618, low + (high - low) / 1.618
        if log_likelihood(a) < log_likelihood(b):
            low = a
        else:
            high = b
    return math.exp((low + high) / 2), "fit"


def birthday_test(draw_parts: Callable[[list[int], int], list[torch.Tensor]], real_heldout: torch.Tensor,
                  config: BirthdayConfig, seed: int, embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  pool: int | None = None) -> dict:
    """draw_parts(sizes, seed) gives independent sets of items (gan_zoo.SampleSource.draw_parts); embed maps items
    to the space distances are measured in; pool is the size of a finite source (None: a distribution).

    A distribution gives fresh items to every trial, and the collision count sums over all trials. A finite
    source of N items gives each level s min(trials, N // s) disjoint trials (the grid stops where fewer than
    `min_trials` fit, and the record says so), and its collisions are counted once over all N items: pairs
    reused across levels would make the count's Poisson interval too narrow.
    """
    embed = embed or (lambda items: items)
    calibration = calibrate_threshold(embed(real_heldout), config, seed)
    threshold = calibration["threshold"]
    hits: dict[int, list[bool]] = {}
    pairs_total = collisions = 0
    closest, grid_cut = None, None
    for s in config.sizes:
        trials = config.trials if pool is None else min(config.trials, pool // s)
        if trials < config.min_trials:
            grid_cut = f"grid cut at s = {max(hits) if hits else 0}: the source holds {pool} items"
            break
        hits[s] = []
        for trial, items in enumerate(draw_parts([s] * trials, seed * 100_003 + s * 1_009)):
            search = closest_pairs(embed(items), threshold=threshold, block=config.chunk)
            hits[s].append(search.below > 0)
            pairs_total += s * (s - 1) // 2
            collisions += search.below
            if trial == 0:
                closest = (items, search)
        if all(hits[s]) and collisions >= config.enough_collisions:
            break  # larger s would only confirm it, at quadratic cost
    if not hits:
        raise UserError(f"birthday test: the source holds {pool} items, fewer than {config.min_trials} trials of "
                        f"s = {config.sizes[0]} need; give more samples or a smaller first s")
    if pool is not None:  # count over the whole finite set once (the most pairs, none counted twice)
        everything = draw_parts([pool], seed)[0]
        pairs_total, collisions = pool * (pool - 1) // 2, closest_pairs(embed(everything), threshold=threshold,
                                                                          block=config.chunk).below
    low, high = poisson_interval(collisions, config.ci_level)
    s50 = next((s for s in hits if sum(hits[s]) / len(hits[s]) >= 0.5), None)
    ml_estimate, ml_kind = fit_support(hits)
    estimate = pairs_total / collisions if collisions else None
    interval = [pairs_total / high, pairs_total / low if low > 0 else None]
    return {
        # the valid estimate first: the collision count's, or a lower bound when nothing collided
        "support": {"value": estimate if collisions else interval[0], "ci": interval,
                    "kind": "estimate" if collisions else "lower_bound", "method": "collision count",
                    "ci_level": config.ci_level},
        "collision_estimate": estimate, "ci": interval, "ci_level": config.ci_level,
        "collisions": collisions, "pairs_examined": pairs_total,
        "counted_over": "trials" if pool is None else f"all {pool} items once",
        "ml_estimate": ml_estimate, "ml_kind": ml_kind, "s50": s50,
        "p_duplicate_by_s": {str(s): sum(h) / len(h) for s, h in hits.items()},
        "trials_by_s": {str(s): len(h) for s, h in hits.items()}, "grid_cut": grid_cut,
        "no_duplicates_up_to": None if collisions else max(hits), "largest_s": max(hits),
        "trials": config.trials, **calibration,
        "closest": {"items": closest[0], "pairs": closest[1].pairs, "distances": closest[1].distances},
    }
