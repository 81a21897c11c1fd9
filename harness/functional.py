"""Sample-based metrics as plain functions on feature matrices (REFERENCE section 8), like torchmetrics.functional.

Every function takes float tensors with one row an item (any feature space: pixels, InceptionV3 pool3, DINOv2),
validates them (2-D, floating, finite, same feature dimension, enough rows; a `UserError` names the problem and
the fix), and returns plain Python numbers. Neighbour searches go through the blocked kernel in `knn.py`: no
n x m distance matrix is ever held, so 50 000 items per side fit in memory.

prdc(real, fake, k=5)
    Precision, recall, density, coverage (Naeem et al. 2020), exactly as clovaai/generative-evaluation-prdc
    `compute_prdc`: radius of an item = distance to its k-th nearest other item of its own set (prdc takes the
    (k+1)-th smallest of the full matrix, whose smallest entry is the item's own 0: the same thing; exact
    duplicates are neighbours at distance 0); membership is strict (d < radius). Default k = 5 (the paper's).
kid(real, fake, subsets=100, subset_size=1000, seed=0)
    Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 over random
    subsets, mean and population std (torch-fidelity's and torchmetrics' defaults: 100 subsets of 1000). Subsets
    are drawn as torchmetrics KernelInceptionDistance draws them (per subset randperm(n_real)[:s], then
    randperm(n_fake)[:s]) from a torch.Generator seeded with `seed`, so torch.manual_seed(seed) before
    torchmetrics' compute() reproduces the number. Computed in float64.
fd(real, fake)
    Frechet distance between Gaussians fitted to the two sets (Heusel et al. 2017; FID on Inception features), in
    float64 with unbiased covariances like torchmetrics FrechetInceptionDistance. tr sqrt(S1 S2) is computed as
    sum sqrt(eig(sqrt(S1) S2 sqrt(S1))), a symmetric problem with real eigenvalues (torchmetrics takes general
    eigenvalues of S1 S2; pytorch-fid uses scipy.linalg.sqrtm): the same number, no complex round-off.
mifid(train, fake, real=None, cosine_threshold=0.1, average_over="fake")
    Memorisation-informed FID (Bai et al. 2021, Kaggle's MiFID; torchmetrics MemorizationInformedFID):
    FD(real or train, fake) / m, where m = mean minimum cosine distance 1 - |cos| between generated and training
    features when it is below cosine_threshold (0.1, Kaggle's and torchmetrics' default), else 1. average_over="fake"
    averages, over generated items, the distance to the nearest training item (Kaggle's definition and the
    paper's); torchmetrics averages over training items the distance to the nearest generated item
    (average_over="train" reproduces it). FD below 1e-8 gives 0 and m gets 1e-14 added, as torchmetrics does.
ct_test(train, heldout, fake, cells=3, seed=0, min_cell_items=21, pca=None)
    The C_T data-copying test (Meehan, Chaudhuri, Dasgupta 2020), following casey-meehan/data-copying (as copied
    into dgm-eval): k-means cells fitted on the training set (sklearn KMeans, n_init=10, random_state=seed; 3
    cells as dgm-eval and the reference's ImageNet experiment, which used 50 for MNIST); in each cell
    L(x) = distance from x to its nearest training item OF THAT CELL (the reference fits the nearest-neighbour
    search per cell); Z_U = (U - (nm/2 - 0.5)) / sqrt(nm(n+m+1)/12) with U the Mann-Whitney statistic of the
    generated L's against the held-out L's (midranks for ties, no tie correction in the variance, the
    reference's "-0.5" continuity term); C_T = sum of Z_U weighted by held-out cell shares over the kept cells,
    divided by the sum of those shares (renormalised after dropping). A cell is kept when it holds more than 20
    generated items (the reference's tau = 20 / m with Q_m(pi) > tau), i.e. at least min_cell_items = 21.
    pca=int projects all sets on the first principal components of the training set first when d > pca
    (dgm-eval uses 64); default None here.
authpct(train, fake)
    Authenticity (Alaa et al. 2022, as layer6ai-labs/dgm-eval computes it): generated g with nearest training item
    t is authentic when d(t, t's nearest other training item) < d(g, t) (strict); returns the authentic share in
    [0, 1] (dgm-eval prints it as a percentage). Read it against held-out real items scored the same way.
vendi(x, kernel="cosine", q=1)
    Vendi score (Friedman and Dieng 2023): exp of the order-q entropy of the eigenvalues of K / n, with K the
    cosine-similarity kernel (rows normalised, k(x, x) = 1; dgm-eval's default "linear" kernel with normalize=True).
    K = X X^T shares its nonzero eigenvalues with X^T X, so the d x d matrix is used when d < n: memory
    O(min(n, d)^2), never n x n when n > d (as the vendi-score package's score_X does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gan_zoo.errors import UserError

from .knn import ball_membership, check_features, check_pair, kth_neighbour_distances, nearest

CT_MIN_FAKE = 21  # the reference keeps a cell when its generated share exceeds 20 / m, i.e. > 20 generated items


def _features(x, name: str, min_rows: int = 1) -> torch.Tensor:
    return check_features(x, name, min_rows=min_rows)


def _same_space(*named: tuple[torch.Tensor, str]) -> None:
    first, first_name = named[0]
    for other, other_name in named[1:]:
        check_pair(first, other, (first_name, other_name))


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5, block: int = 256,
         real_radii: torch.Tensor | None = None) -> dict:
    """Precision, recall, density and coverage of fake against real (Naeem et al. 2020; prdc.compute_prdc).

    real_radii: `prdc_radii(real, k)`, when several sets are scored against one real set (a model and a control):
    the search within real, a third of the cost, is then done once."""
    if not (isinstance(k, int) and k >= 1):
        raise UserError(f"prdc: k must be a positive integer, got {k!r}")
    real = _features(real, "real", min_rows=k + 1)
    fake = _features(fake, "fake", min_rows=k + 1)
    _same_space((real, "real"), (fake, "fake"))
    if real_radii is None:
        real_radii = prdc_radii(real, k, block=block)
    elif real_radii.shape != (len(real),):
        raise UserError(f"prdc: real_radii has shape {tuple(real_radii.shape)}, not ({len(real)},); make it with "
                        "prdc_radii(real, k)")
    fake_radii = prdc_radii(fake, k, block=block)
    balls = ball_membership(fake, real, reference_radii=real_radii, query_radii=fake_radii, block=block,
                            squared=True)
    assert balls.count is not None and balls.covered is not None and balls.reached is not None  # both radii given
    return {
        "precision": (balls.count > 0).double().mean().item(),
        "recall": balls.reached.double().mean().item(),
        "density": balls.count.double().sum().item() / (k * len(fake)),
        "coverage": balls.covered.double().mean().item(),
    }


def prdc_radii(x: torch.Tensor, k: int = 5, block: int = 256) -> torch.Tensor:
    """Each item's squared distance to its k-th nearest other item, as PRDC draws its balls: squared, so that float64
    features are decided exactly, ties with a radius included."""
    return kth_neighbour_distances(_features(x, "real", min_rows=k + 1), k, block=block, squared=True)


def _poly_mmd(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef: float) -> float:
    """Unbiased MMD^2 with the polynomial kernel, exactly torchmetrics' maximum_mean_discrepancy."""
    return _unbiased_mmd((x @ x.T * gamma + coef) ** degree, (y @ y.T * gamma + coef) ** degree,
                         (x @ y.T * gamma + coef) ** degree)


def _unbiased_mmd(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> float:
    m = len(k_xx)
    within = (k_xx.sum() - k_xx.diagonal().sum()) + (k_yy.sum() - k_yy.diagonal().sum())
    return (within / (m * (m - 1)) - 2 * k_xy.sum() / m**2).item()


KERNEL_CACHE_BYTES = 2**29  # the float64 kernels of every row the subsets use, when they fit in 512 MB


def _subset_mmds(real: torch.Tensor, fake: torch.Tensor, indices: list[tuple[torch.Tensor, torch.Tensor]],
                 degree: int, gamma: float, coef: float) -> torch.Tensor:
    """Each subset's MMD^2, in float64. Subsets of a few thousand rows overlap heavily (at n = 1000 every one is a
    permutation of all rows), so when the kernels between every row used fit KERNEL_CACHE_BYTES and cost fewer
    products than the subsets', they are computed once and each subset reads its blocks: the same sums, 1e-15 apart."""
    m = len(indices[0][0])
    real_rows = torch.unique(torch.cat([a for a, _ in indices]))
    fake_rows = torch.unique(torch.cat([b for _, b in indices]))
    r, f = len(real_rows), len(fake_rows)
    if 8 * (r + f) ** 2 > KERNEL_CACHE_BYTES or (r + f) ** 2 > 3 * len(indices) * m**2:
        return torch.tensor([_poly_mmd(real[a].double(), fake[b].double(), degree, gamma, coef) for a, b in indices],
                            dtype=torch.float64)
    both = torch.cat([real[real_rows].double(), fake[fake_rows].double()])
    kernel = (both @ both.T * gamma + coef) ** degree
    where_real = torch.full((len(real),), -1, dtype=torch.long)
    where_real[real_rows] = torch.arange(r)
    where_fake = torch.full((len(fake),), -1, dtype=torch.long)
    where_fake[fake_rows] = torch.arange(r, r + f)
    values = []
    for a, b in indices:
        x, y = where_real[a], where_fake[b]
        values.append(_unbiased_mmd(kernel[x][:, x], kernel[y][:, y], kernel[x][:, y]))
    return torch.tensor(values, dtype=torch.float64)


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
        degree: int = 3, gamma: float | None = None, coef: float = 1.0,
        indices: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None) -> dict:
    """Kernel inception distance: mean and population std of unbiased polynomial MMD^2 over random subsets.

    subset_size is capped at min(len(real), len(fake)) and the value used is returned. indices, if given, is a
    list of (real rows, fake rows) index pairs of equal length, one per subset, used instead of random draws.
    """
    real, fake = _features(real, "real", min_rows=2), _features(fake, "fake", min_rows=2)
    _same_space((real, "real"), (fake, "fake"))
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    if indices is None:
        if not (isinstance(subsets, int) and subsets >= 1):
            raise UserError(f"kid: subsets must be a positive integer, got {subsets!r}")
        subset_size = min(subset_size, len(real), len(fake))
        if subset_size < 2:
            raise UserError(f"kid: subset_size {subset_size} < 2; the unbiased estimate needs 2 items per subset")
        generator = torch.Generator().manual_seed(seed)
        indices = []
        for _ in range(subsets):  # the order torchmetrics draws in: a real permutation, then a fake one
            real_rows = torch.randperm(len(real), generator=generator)[:subset_size]
            indices.append((real_rows, torch.randperm(len(fake), generator=generator)[:subset_size]))
    sizes = {len(a) for pair in indices for a in pair}
    if len(sizes) != 1 or min(sizes) < 2:
        raise UserError("kid: every subset in indices needs the same number (>= 2) of real and fake rows")
    values = _subset_mmds(real, fake, [(torch.as_tensor(a).cpu(), torch.as_tensor(b).cpu()) for a, b in indices],
                          degree, gamma, coef)
    return {"mean": values.mean().item(), "std": values.std(unbiased=False).item(), "subsets": len(indices),
            "subset_size": sizes.pop(), "seed": seed}


def _double_chunks(x: torch.Tensor, chunk: int):
    """x's rows in float64, chunk rows at a time: a float64 copy of all of x would be n d 8 bytes (800 MB at
    n = 50 000, d = 2048), twice the float32 features themselves."""
    for start in range(0, len(x), chunk):
        yield x[start:start + chunk].double()


def _gaussian(x: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance in float64, two passes over chunks of rows (memory d^2 + chunk d)."""
    mean = sum(part.sum(0) for part in _double_chunks(x, chunk)) / len(x)
    scatter = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64, device=x.device)
    for part in _double_chunks(x, chunk):
        centred = part - mean
        scatter.addmm_(centred.T, centred)
    return mean, scatter / (len(x) - 1)


def _frechet(mu1, sigma1, mu2, sigma2) -> float:
    w, v = torch.linalg.eigh(sigma1)
    root = (v * w.clamp(min=0).sqrt()) @ v.T  # sqrt(S1), symmetric
    middle = root @ sigma2 @ root
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return ((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt).item()


def fd(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to real and fake features (FID on Inception features)."""
    real, fake = _features(real, "real", min_rows=2), _features(fake, "fake", min_rows=2)
    _same_space((real, "real"), (fake, "fake"))
    return _frechet(*_gaussian(real), *_gaussian(fake))


def fd_to_reference(mu, sigma, fake: torch.Tensor) -> float:
    """Frechet distance from reference statistics (mu (d,), sigma (d, d), e.g. a pytorch-fid / clean-fid .npz)
    to a Gaussian fitted to fake features, in float64 as those tools compute it."""
    fake = _features(fake, "fake", min_rows=2)
    mu, sigma = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(sigma, dtype=torch.float64)
    if mu.shape != (fake.shape[1],) or sigma.shape != (fake.shape[1], fake.shape[1]):
        raise UserError(f"fd: reference statistics of {tuple(mu.shape)} / {tuple(sigma.shape)} against "
                        f"{fake.shape[1]}-d features; measure in the feature space the statistics were computed in")
    return _frechet(mu, sigma, *_gaussian(fake))


def _unit_rows(x: torch.Tensor, chunk: int):
    """x's nonzero rows scaled to unit length in float64, chunk rows at a time; torchmetrics drops rows whose sum
    is 0, and a zero row has no direction."""
    for part in _double_chunks(x, chunk):
        norms = part.norm(dim=1, keepdim=True)
        keep = norms[:, 0] > 0
        yield part[keep] / norms[keep]


def _mean_min_cosine_distance(query: torch.Tensor, reference: torch.Tensor, block: int = 256,
                              chunk: int = 4096) -> float:
    """Mean over query rows of min over reference rows of 1 - |cos|: the reference in float64 chunks (each made
    once), the query's float64 blocks made again per chunk, so neither set is ever copied whole to float64."""
    best = None
    for ref in _unit_rows(reference, chunk):
        if not len(ref):
            continue
        nearest_cos = torch.cat([(part @ ref.T).abs().amax(dim=1) for part in _unit_rows(query, block)])
        best = nearest_cos if best is None else torch.maximum(best, nearest_cos)
    if best is None or not len(best):
        raise UserError("mifid: every row is zero; cosine distances need nonzero features")
    return (1 - best).sum().item() / len(best)


def mifid(train: torch.Tensor, fake: torch.Tensor, real: torch.Tensor | None = None, cosine_threshold: float = 0.1,
          average_over: str = "fake", block: int = 256) -> dict:
    """Memorisation-informed FD: FD(real or train, fake) / memorisation penalty (see the module docstring).

    Returns mifid, fd, distance (the mean minimum cosine distance), penalty (distance when below the threshold,
    else 1), penalised (whether the threshold applied), cosine_threshold and average_over.
    """
    if average_over not in ("fake", "train"):
        raise UserError(f"mifid: average_over must be 'fake' (Kaggle, Bai et al.) or 'train' (torchmetrics), "
                        f"got {average_over!r}")
    if not 0 < cosine_threshold <= 1:
        raise UserError(f"mifid: cosine_threshold must be in (0, 1], got {cosine_threshold}")
    train, fake = _features(train, "train", min_rows=2), _features(fake, "fake", min_rows=2)
    real = train if real is None else _features(real, "real", min_rows=2)
    _same_space((train, "train"), (fake, "fake"), (real, "real"))
    value = fd(real, fake)
    query, reference = (fake, train) if average_over == "fake" else (train, fake)
    distance = _mean_min_cosine_distance(query, reference, block)
    penalised = distance < cosine_threshold
    penalty = distance if penalised else 1.0
    return {"mifid": value / (penalty + 1e-14) if value > 1e-8 else 0.0, "fd": value, "distance": distance,
            "penalty": penalty, "penalised": penalised, "cosine_threshold": cosine_threshold,
            "average_over": average_over}


def _mann_whitney_z(fake_l: np.ndarray, heldout_l: np.ndarray) -> tuple[float, float]:
    """The reference's Z_U: U of the generated L's (midranks), minus nm/2 - 0.5, over the untied null std."""
    from scipy.stats import rankdata

    m, n = len(fake_l), len(heldout_l)
    ranks = rankdata(np.concatenate([fake_l, heldout_l]))
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float(u), float((u - (n * m / 2 - 0.5)) / math.sqrt(n * m * (n + m + 1) / 12))


def ct_test(train: torch.Tensor, heldout: torch.Tensor, fake: torch.Tensor, cells: int = 3, seed: int = 0,
            min_cell_items: int = CT_MIN_FAKE, pca: int | None = None, n_init: int = 10, block: int = 256) -> dict:
    """The C_T data-copying statistic; << 0 means generated items sit closer to the training set than fresh data.

    Returns ct, cells (per cell: train/heldout/fake counts, heldout_share, u, z, used, reason), cells_used,
    cells_dropped, and the protocol (n_cells, min_cell_items, pca, seed, n_init).
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    if not (isinstance(cells, int) and cells >= 1):
        raise UserError(f"ct_test: cells must be a positive integer, got {cells!r}")
    train = _features(train, "train", min_rows=cells)
    heldout, fake = _features(heldout, "heldout", min_rows=1), _features(fake, "fake", min_rows=1)
    _same_space((train, "train"), (heldout, "heldout"), (fake, "fake"))
    projected = pca is not None and train.shape[1] > pca
    if projected:
        projection = PCA(n_components=pca, random_state=seed).fit(train.double().cpu().numpy())
        train, heldout, fake = (torch.from_numpy(projection.transform(x.double().cpu().numpy()))
                                for x in (train, heldout, fake))
    km = KMeans(n_clusters=cells, n_init=n_init, random_state=seed).fit(train.double().cpu().numpy())
    labels = [torch.from_numpy(km.predict(x.double().cpu().numpy())).to(x.device) for x in (train, heldout, fake)]
    detail, weighted, weight = [], 0.0, 0.0
    for cell in range(cells):
        t, p, g = (x[label == cell] for x, label in zip((train, heldout, fake), labels, strict=True))
        row: dict[str, Any] = {"cell": cell, "train": len(t), "heldout": len(p), "fake": len(g),
                               "heldout_share": len(p) / len(heldout), "u": None, "z": None, "used": False,
                               "reason": None}
        if len(g) < min_cell_items:
            row["reason"] = f"{len(g)} generated items < {min_cell_items}"
        elif not len(p) or not len(t):  # the reference raises here; such a cell would carry no weight anyway
            row["reason"] = "no held-out items" if not len(p) else "no training items"
        else:
            fake_l = nearest(g, t, k=1, block=block)[0][:, 0].double().cpu().numpy()
            heldout_l = nearest(p, t, k=1, block=block)[0][:, 0].double().cpu().numpy()
            row["u"], row["z"] = _mann_whitney_z(fake_l, heldout_l)
            row["used"] = True
            weighted += row["heldout_share"] * row["z"]
            weight += row["heldout_share"]
        detail.append(row)
    used = sum(row["used"] for row in detail)
    if not used:
        raise UserError(f"ct_test: no cell holds {min_cell_items} generated items; give more generated items "
                        f"or fewer cells (cells={cells})")
    return {"ct": weighted / weight, "cells": detail, "cells_used": used, "cells_dropped": cells - used,
            "n_cells": cells, "min_cell_items": min_cell_items, "pca": pca if projected else None, "seed": seed,
            "n_init": n_init}


def authpct(train: torch.Tensor, fake: torch.Tensor, block: int = 256, train_nn: torch.Tensor | None = None) -> float:
    """Share in [0, 1] of generated items farther from their nearest training item t than t's own nearest.

    train_nn: `kth_neighbour_distances(train, 1)`, when several sets are scored against one training set: the
    search within it, often the larger half of the cost, is then done once."""
    train, fake = _features(train, "train", min_rows=2), _features(fake, "fake", min_rows=1)
    _same_space((train, "train"), (fake, "fake"))
    if train_nn is None:
        train_nn = kth_neighbour_distances(train, 1, block=block)
    elif train_nn.shape != (len(train),):
        raise UserError(f"authpct: train_nn has shape {tuple(train_nn.shape)}, not ({len(train)},); make it with "
                        "kth_neighbour_distances(train, 1)")
    distance, index = nearest(fake, train, k=1, block=block)
    return (train_nn[index[:, 0]] < distance[:, 0]).double().mean().item()


def vendi(x: torch.Tensor, kernel: str = "cosine", q: float = 1.0, chunk: int = 4096) -> float:
    """Vendi score, the effective number of distinct items: exp(order-q entropy of eig(K / n)), K cosine."""
    if kernel != "cosine":
        raise UserError(f"vendi: kernel {kernel!r} is not available; use kernel='cosine' (normalised linear)")
    x = _features(x, "x", min_rows=1)
    zero = sum(int((part.norm(dim=1) == 0).sum()) for part in _double_chunks(x, chunk))
    if zero:
        raise UserError(f"vendi: {zero} rows are all zero and have no direction for the cosine kernel; drop them")
    n, d = x.shape
    if d < n:  # X^T X shares X X^T's nonzero eigenvalues: summed over chunks of unit rows, no n x d float64 copy
        gram = torch.zeros(d, d, dtype=torch.float64, device=x.device)
        for part in _double_chunks(x, chunk):
            unit = part / part.norm(dim=1, keepdim=True)
            gram.addmm_(unit.T, unit)
    else:
        unit = x.double() / x.double().norm(dim=1, keepdim=True)
        gram = unit @ unit.T
    p = torch.linalg.eigvalsh(gram / n)
    p = p[p > 0]
    if q == 1:
        entropy = -(p * p.log()).sum().item()
    elif math.isinf(q):
        entropy = -math.log(p.max().item())
    else:
        entropy = math.log((p**q).sum().item()) / (1 - q)
    return math.exp(entropy)
