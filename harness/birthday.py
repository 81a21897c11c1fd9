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

A finite source (an array file of N items) may not be N independent draws: an export of a memoriser's support
holds each of m items a fixed number c of times, and then the collision count estimates about (N - 1)/(c - 1)
items, not m. Its items are grouped into duplicates (connected components of the
pairs below the threshold), and the multiplicities decide (`multiplicity_fit`): given D groups, independent
uniform draws make the group sizes independent zero-truncated Poisson counts conditioned on their sum N, whatever
the support; a pair count far below what that allows (a z-score past the interval's level) means the items are
spread more evenly than draws can be, a fixed multiset, whose support is the D distinct items it holds.
Otherwise the collision estimate stands, with D beside it as the bound valid under either model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from scipy.optimize import brentq
from scipy.stats import chi2, norm

from gan_zoo.config import number, whole, wholes
from gan_zoo.errors import UserError
from gan_zoo.harness.knn import closest_pairs
from gan_zoo.seeds import derive


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
    distances = torch.cat(nearest)
    distances = distances[distances.isfinite()]
    quantile = distances.quantile(config.threshold_quantile).item()
    return {"threshold": config.threshold_fraction * quantile, "real_nn_quantile": quantile,
            "real_nn_median": distances.median().item(), "quantile": config.threshold_quantile,
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


def occupancy_upper(distinct: int, n: int, level: float) -> float | None:
    """The largest support m for which n independent uniform draws show at most `distinct` distinct items with
    probability (1 - level) / 2, from the occupancy law's mean and variance (normal approximation); None (no upper
    end) when any support would still be plausible."""
    critical = norm.ppf(1 - (1 - level) / 2)

    def low_end(m: float) -> float:  # E[D | m] - critical sd(D | m)
        a = math.exp(n * math.log1p(-1 / m))  # P(a given item unseen)
        both = a * a * math.expm1(n * math.log1p(-1 / (m - 1) ** 2)) if m > 2 else -a * a  # P(two unseen) - a^2
        return m * (1 - a) - critical * math.sqrt(max(m * m * both + m * (a - a * a - both), 0.0))

    high = 2.0 * max(distinct, 2)
    while low_end(high) <= distinct:
        if high > 1e15:
            return None
        high *= 2
    low = float(max(distinct, 2))
    for _ in range(100):  # bisection: the low end grows with m
        middle = (low + high) / 2
        low, high = (middle, high) if low_end(middle) <= distinct else (low, middle)
    return low


def multiplicity_fit(sizes: list[int], level: float) -> dict:
    """Whether group sizes (items per group of duplicates) fit independent uniform draws, and the model chosen.

    Conditional on D groups among N items, independent draws from a uniform support give sizes distributed as D
    independent zero-truncated Poisson(lam) counts conditioned on summing to N, for any lam (multinomial counts are
    independent Poisson conditioned on the total); lam is set so the mean is N / D, and the pair count
    sum C(size, 2) is compared with its conditional mean and variance (a normal approximation). Too few pairs for
    the level: a fixed multiset. Too many: draws from a non-uniform support, where the collision estimate is the
    effective support, 1 / P(two draws collide); that label changes no number, and with few collisions the skewed
    pair count reaches it more often than the level says (2.3% of draws at about 100 pairs, RESULTS).
    """
    n, distinct = sum(sizes), len(sizes)
    pairs = sum(c * (c - 1) // 2 for c in sizes)
    profile = {str(c): sizes.count(c) for c in sorted(set(sizes))}
    fit = {"distinct": distinct, "items": n, "multiplicities": profile, "pairs_in_groups": pairs}
    if distinct in (1, n):  # one group, or no duplicates: nothing to test
        return {**fit, "z": None, "model": "independent draws",
                "why": "no duplicates: a deduplicated file and independent draws look alike; the headline assumes "
                       "draws, the distinct count is the bound valid for either" if distinct == n else
                       "every item is one duplicate group"}
    lam = brentq(lambda t: t / -math.expm1(-t) - n / distinct, 1e-12, n / distinct)
    q = -math.expm1(-lam)  # factorial moments of the truncated Poisson are lam^k / q
    mean_x, mean_y = lam / q, lam**2 / (2 * q)
    var_x = (lam**2 + lam) / q - mean_x**2
    cov_xy = (lam**3 + 2 * lam**2) / (2 * q) - mean_x * mean_y
    var_y = (lam**4 + 4 * lam**3 + 2 * lam**2) / (4 * q) - mean_y**2
    z = (pairs - distinct * mean_y) / math.sqrt(max(distinct * (var_y - cov_xy**2 / var_x), 1e-300))
    critical = norm.ppf(1 - (1 - level) / 2)
    if z < -critical:
        model, why = "fixed multiset", (f"{pairs} duplicate pairs among {distinct} groups of {n} items, {-z:.1f} sd "
                                        "fewer than independent draws give: the items are repeated more evenly "
                                        "than draws can be, so the file holds its whole support")
    elif z > critical:
        model, why = "non-uniform draws", (f"{pairs} duplicate pairs, {z:.1f} sd more than uniform draws give: "
                                           "the collision estimate is the effective support")
    else:
        model, why = "independent draws", f"the group sizes fit independent uniform draws (z = {z:.2f})"
    return {**fit, "z": z, "model": model, "why": why}


def birthday_test(draw_parts: Callable[[list[int], int], list[torch.Tensor]], real_heldout: torch.Tensor,
                  config: BirthdayConfig, seed: int, embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  pool: int | None = None) -> dict:
    """draw_parts(sizes, seed) gives independent sets of items (gan_zoo.SampleSource.draw_parts); embed maps items
    to the space distances are measured in; pool is the size of a finite source (None: a distribution).

    A distribution gives fresh items to every trial, and the collision count sums over all trials. A finite
    source of N items gives each level s min(trials, N // s) disjoint trials (the grid stops where fewer than
    `min_trials` fit, and the record says so), and its collisions are counted once over all N items: pairs
    reused across levels would make the count's Poisson interval too narrow. Its groups of duplicates then
    decide between independent draws and a fixed multiset (`multiplicity_fit`, recorded as `finite_source`).
    """
    embed = embed or (lambda items: items)
    calibration = calibrate_threshold(embed(real_heldout), config, derive(seed, "birthday.calibration"))
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
        for trial, items in enumerate(draw_parts([s] * trials, derive(seed, "birthday.trials", s))):
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
    assert closest is not None  # hits is not empty: a first trial ran
    finite = None
    if pool is not None:  # count over the whole finite set once (the most pairs, none counted twice)
        everything = draw_parts([pool], derive(seed, "birthday.pool"))[0]
        search = closest_pairs(embed(everything), threshold=threshold, block=config.chunk, groups=True)
        pairs_total, collisions = pool * (pool - 1) // 2, search.below
        assert search.groups is not None  # groups=True
        finite = multiplicity_fit(torch.bincount(search.groups)[torch.unique(search.groups)].tolist(),
                                  config.ci_level)
    low, high = poisson_interval(collisions, config.ci_level)
    s50 = next((s for s in hits if sum(hits[s]) / len(hits[s]) >= 0.5), None)
    ml_estimate, ml_kind = fit_support(hits)
    estimate = pairs_total / collisions if collisions else None
    interval = [pairs_total / high, pairs_total / low if low > 0 else None]
    # the valid estimate first: the collision count's, or a lower bound when nothing collided; a fixed multiset's
    # support is the distinct items it holds, every one of them seen
    support = {"value": estimate if collisions else interval[0], "ci": interval,
               "kind": "estimate" if collisions else "lower_bound", "method": "collision count"}
    if finite is not None and finite["model"] == "fixed multiset":  # the upper end holds if the verdict is wrong
        support = {"value": finite["distinct"], "kind": "estimate", "method": "distinct items (fixed multiset)",
                   "ci": [finite["distinct"], occupancy_upper(finite["distinct"], finite["items"], config.ci_level)]}
    return {
        "support": {**support, "ci_level": config.ci_level}, "finite_source": finite,
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
