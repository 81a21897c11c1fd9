"""One blocked Euclidean nearest-neighbour kernel for the sample-based metrics (REFERENCE section 8).

Every function here walks the query rows in blocks of `block` rows (and the reference rows in chunks when the
reference is long), computing each block of squared distances with one matrix product,
|a|^2 + |b|^2 - 2 a.b (`torch.addmm`). Memory is O(block x min(len(reference), ref_chunk)) on top of the
inputs: no n x n (or n x m) matrix is ever held. Within one set (`closest_pairs`, the birthday test's pair search)
only the upper triangle is computed: each unordered pair once, half the products.

Precision. Inputs are centred on the reference mean first (distances do not change, and the expanded form loses
less precision), then the matrix products run in float32, or in float64 when an input is float64: float32 runs at
twice the rate and halves the memory, and its error only matters within a hair of a decision, which is where the
two corrections below recompute. The expanded form carries an absolute error of at most about
(d + 2) eps (|a|^2 + |b|^2) in a squared distance, clamped at 0.
- neighbour distances (`nearest`, `kth_neighbour_distances`): the k best candidates of the matrix product get their
  distances recomputed from the inputs by direct differences in float64, rounded to the compute dtype as sklearn
  rounds (squared distance first, then a correctly rounded square root), and re-sorted; when the next candidate is
  within the error bound of the k-th, the `EXTRA` candidates beyond k are recomputed too and the row re-ranked.
  An exact copy is at distance 0, and radii agree with prdc's to the last bit; the selection is exact unless more
  than EXTRA items tie with the k-th neighbour within the float32 error. Float64 inputs are ranked and decided on
  the recomputed squared distances themselves (`_comparable`): no square root rounds a tie apart or together.
- ball membership (`count_within`, `covered`, `ball_membership`) and the duplicate count of `closest_pairs`: a pair
  whose squared distance lies within the error bound of the squared radius (or threshold) is re-decided from the
  distance recomputed the same way (from squared radii with `squared=True`, exact in float64, as prdc uses it);
  `closest_pairs` also returns its pairs' recomputed distances.
Ball membership is strict, d(q, r) < radius, as the `prdc` package compares; pass strict=False for <=.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_zoo.errors import UserError

EXTRA = 4  # candidates beyond k whose distances are recomputed exactly before the final selection
MAX_BLOCK_ELEMENTS = 1 << 23  # a distance block holds at most this many entries (32 MB in float32)
GATHER_COST = 500  # a pair recomputed from its gathered rows costs about 500 entries of a float64 product (121 us
# a pair against 0.32 s for 256 x 5000 entries, d = 2048, 1 thread): `_PairDecider` multiplies above that many
MAX_PAIR_CANDIDATES = 1 << 16  # closest_pairs: candidates kept for the exact re-ranking (beyond, ties are cut)


def check_features(x, name: str = "features", min_rows: int = 1) -> torch.Tensor:
    """x as a 2-D floating tensor with finite values and at least min_rows rows, else a one-line UserError."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as error:
            raise UserError(f"{name}: expected a 2-D float tensor (one row an item), got {type(x).__name__}; "
                            "pass a torch.Tensor") from error
    if x.dim() != 2:
        raise UserError(f"{name}: expected a 2-D tensor (items x features), got shape {tuple(x.shape)}; "
                        "flatten each item to one row with x.reshape(len(x), -1)")
    if not x.is_floating_point():
        raise UserError(f"{name}: expected a float tensor, got {x.dtype}; convert with x.float()")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    if len(x) < min_rows:
        raise UserError(f"{name}: {len(x)} rows, at least {min_rows} needed; give more items")
    if x.shape[1] == 0:
        raise UserError(f"{name}: items have 0 features; pass a (n, d) tensor with d >= 1")
    bad = int((~torch.isfinite(x)).any(dim=1).sum())
    if bad:
        raise UserError(f"{name}: {bad} of {len(x)} rows hold NaN or inf; drop or fix them first")
    return x


def check_pair(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise UserError(f"{names[0]} has {a.shape[1]} features per item but {names[1]} has {b.shape[1]}; "
                        "both must come from the same feature space")


def _prepare(query: torch.Tensor, reference: torch.Tensor):
    """Centred copies of validated inputs in the compute dtype (float64 if either input is float64, else float32)."""
    check_pair(query, reference, ("query", "reference"))
    dtype = torch.float64 if torch.float64 in (query.dtype, reference.dtype) else torch.float32
    centre = reference.mean(0, dtype=torch.float64).to(reference.device)
    q = query.to(dtype) - centre.to(dtype)
    r = q if query is reference else reference.to(dtype) - centre.to(dtype)
    return q, r


def _ref_chunk(block: int, n_ref: int, ref_block: int | None) -> int:
    if block < 1:
        raise UserError(f"block must be a positive number of rows, got {block}")
    return max(1, ref_block or max(block, MAX_BLOCK_ELEMENTS // block)) if n_ref else 1


def _squared_blocks(q: torch.Tensor, r: torch.Tensor, block: int, ref_block: int | None, full: bool = True,
                    upper: bool = False):
    """Yield (q0, q1, r0, r1, block, tolerance) over all query blocks x reference chunks.

    full=True: squared distances clamped at 0, and a bound on their float error over the block. full=False: only
    |b|^2 - 2 a.b, which ranks the reference rows of each query row the same way (|a|^2 is constant along a row).
    upper=True (r is q): only pairs j > i, each unordered pair once: the chunks of a query block start at its first
    row, and entries j <= i of the diagonal are +inf.
    """
    qn, rn = (q * q).sum(1), (r * r).sum(1)
    chunk = _ref_chunk(block, len(r), ref_block)
    if upper:
        chunk = max(chunk, block)  # the diagonal of a query block then lies in its first chunk
        lower = torch.ones(block, block, dtype=torch.bool, device=q.device).tril()
    eps = torch.finfo(q.dtype).eps * (q.shape[1] + 2)  # worst-case relative error of the expanded form
    for q0 in range(0, len(q), block):
        q1 = min(q0 + block, len(q))
        for r0 in range(q0 if upper else 0, len(r), chunk):
            r1 = min(r0 + chunk, len(r))
            sq = torch.addmm(rn[r0:r1].unsqueeze(0), q[q0:q1], r[r0:r1].T, alpha=-2)
            if upper and r0 == q0:
                rows = q1 - q0
                sq[:, :rows].masked_fill_(lower[:rows, :rows], torch.inf)
            if not full:
                yield q0, q1, r0, r1, sq, None
                continue
            tolerance = eps * (qn[q0:q1].max() + rn[r0:r1].max()).item()
            yield q0, q1, r0, r1, sq.add_(qn[q0:q1, None]).clamp_(min=0), tolerance


def _rounded_sqrt(squared64: torch.Tensor, dtype) -> torch.Tensor:
    """sqrt of the squared distance rounded to dtype, correctly rounded (torch's vectorised float32 sqrt can be
    1 ulp off; the float64 sqrt of a float32 rounds back exactly)."""
    return squared64.to(dtype).double().sqrt().to(dtype)


def _comparable(squared64: torch.Tensor, dtype) -> torch.Tensor:
    """Exact squared distances (float64) as decisions compare them. float32: the square of the distance rounded
    as sklearn rounds it (exact in float64), so comparing these compares what prdc compares. float64: the squared
    distance itself: a square root would round two different squared distances to one tie, or split a tie."""
    return _rounded_sqrt(squared64, dtype).double().square() if dtype == torch.float32 else squared64


def _exact_distances(query: torch.Tensor, reference: torch.Tensor, index: torch.Tensor, dtype) -> torch.Tensor:
    """`_comparable` squared distances (float64) from each query row to the rows reference[index[i]], computed
    from the inputs by direct differences in float64, in row chunks."""
    out = torch.empty(index.shape, dtype=torch.float64, device=query.device)
    rows = max(1, (1 << 22) // max(1, index.shape[1] * query.shape[1]))  # few large ops: 32 MB float64 temporaries
    for i0 in range(0, len(query), rows):
        diff = query[i0:i0 + rows, None, :].double() - reference[index[i0:i0 + rows]].double()
        out[i0:i0 + rows] = _comparable((diff * diff).sum(2), dtype)
    return out


def _refine(query, reference, approx_sq, candidates, k, tolerance, dtype):
    """The k nearest among the candidates (ascending approximate squared distances), with exact squared distances
    (`_exact_distances`).

    Only the first k are recomputed, unless the (k+1)-th candidate is within twice the error bound of the k-th:
    then that row's candidates are all recomputed and re-ranked.
    """
    exact, order = _exact_distances(query, reference, candidates[:, :k], dtype).sort(dim=1, stable=True)
    index = candidates[:, :k].gather(1, order)
    if candidates.shape[1] > k:
        unsure = ((approx_sq[:, k] - approx_sq[:, k - 1]) <= 2 * tolerance).nonzero()[:, 0]
        if len(unsure):
            full, order = _exact_distances(query[unsure], reference, candidates[unsure], dtype).sort(dim=1,
                                                                                                    stable=True)
            exact[unsure], index[unsure] = full[:, :k], candidates[unsure].gather(1, order)[:, :k]
    return exact, index


def nearest(query: torch.Tensor, reference: torch.Tensor, k: int = 1, block: int = 256, exclude_self: bool = False,
            ref_block: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest reference rows of each query row: (distances (n, k) ascending, indices (n, k) long).

    exclude_self=True needs query to be reference (same rows) and skips j == i; exact duplicates of an item are
    still neighbours at distance 0. Memory O(block x min(len(reference), ref_block)) with a running top-k across
    reference chunks; ref_block defaults to MAX_BLOCK_ELEMENTS // block.
    """
    if exclude_self and query is not reference and not (query.shape == reference.shape and torch.equal(query,
                                                                                                        reference)):
        raise UserError("nearest(exclude_self=True) needs query and reference to be the same rows")
    query, reference = check_features(query, "query"), check_features(reference, "reference")
    squared, indices = _nearest(query, query if exclude_self else reference, k, block, exclude_self, ref_block)
    return _distances(squared, query, reference), indices


def _distances(squared: torch.Tensor, query: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Distances in the compute dtype from `_comparable` squared distances (exact for float32: roots of squares)."""
    dtype = torch.float64 if torch.float64 in (query.dtype, reference.dtype) else torch.float32
    return squared.sqrt().to(dtype)


def _nearest(query, reference, k, block, exclude_self, ref_block):
    """`nearest` on validated inputs, with `_comparable` squared distances (float64) in place of distances."""
    q, r = _prepare(query, reference)
    available = len(r) - (1 if exclude_self else 0)
    if not (isinstance(k, int) and 1 <= k <= available):
        raise UserError(f"k = {k} nearest neighbours asked, but only {available} reference rows"
                        f"{' other than the item itself' if exclude_self else ''}; lower k or give more rows")
    keep = min(k + EXTRA, available)
    distances = torch.empty(len(q), k, dtype=torch.float64, device=q.device)
    indices = torch.empty(len(q), k, dtype=torch.long, device=q.device)
    best_sq = best_idx = None
    qn = (q * q).sum(1)
    eps = torch.finfo(q.dtype).eps * (q.shape[1] + 2)
    rn_max = (r * r).sum(1).max()
    for q0, q1, r0, r1, sq, _ in _squared_blocks(q, r, block, ref_block, full=False):
        if exclude_self and r0 < q1 and q0 < r1:  # the diagonal of the full matrix crosses this block
            rows = torch.arange(max(q0, r0), min(q1, r1), device=q.device)
            sq[rows - q0, rows - r0] = torch.inf
        values, index = sq.topk(min(keep, r1 - r0), dim=1, largest=False)
        index += r0
        if r0 == 0:
            best_sq, best_idx = values, index
        else:
            best_sq, order = torch.cat([best_sq, values], 1).topk(keep, dim=1, largest=False)
            best_idx = torch.cat([best_idx, index], 1).gather(1, order)
        if r1 == len(r):  # this query block has seen every reference row: refine and store
            tolerance = eps * (qn[q0:q1] + rn_max)
            if q.dtype == torch.float32 and keep < available:
                # every kept candidate lies within float32's error of the k-th: a row left out may be nearer
                # (dense low-dimensional data, e.g. 20000 ring8 points): those rows search again in float64
                full = ((best_sq[:, -1] - best_sq[:, k - 1]) <= 2 * tolerance).nonzero()[:, 0]
                if len(full):
                    best_sq, best_idx = best_sq.clone(), best_idx.clone()
                    best_sq[full], best_idx[full] = _candidates64(q, r, q0 + full, keep, exclude_self, chunk=block)
            distances[q0:q1], indices[q0:q1] = _refine(query[q0:q1], reference, best_sq + qn[q0:q1, None], best_idx,
                                                       k, tolerance, q.dtype)
    return distances, indices


def _candidates64(q: torch.Tensor, r: torch.Tensor, rows: torch.Tensor, keep: int, exclude_self: bool, chunk: int):
    """The `keep` nearest reference rows of the query rows `rows` by |b|^2 - 2 a.b in float64 (error ~1e-16
    relative, far below any float32 band), reference converted a chunk at a time."""
    a = q[rows].double()
    best_sq = a.new_empty(len(a), 0)  # no candidates before the first chunk
    best_idx = torch.empty(len(a), 0, dtype=torch.long, device=a.device)
    for r0 in range(0, len(r), chunk):
        b = r[r0:r0 + chunk].double()
        sq = (b * b).sum(1)[None, :] - 2 * a @ b.T
        if exclude_self:
            inside = (rows >= r0) & (rows < r0 + len(b))
            sq[inside.nonzero()[:, 0], rows[inside] - r0] = torch.inf
        values, index = sq.topk(min(keep, len(b)), dim=1, largest=False)
        values, index = torch.cat([best_sq, values], 1), torch.cat([best_idx, index + r0], 1)
        best_sq, order = values.topk(min(keep, values.shape[1]), dim=1, largest=False)
        best_idx = index.gather(1, order)
    return best_sq.to(q.dtype), best_idx


def kth_neighbour_distances(x: torch.Tensor, k: int, block: int = 256, squared: bool = False) -> torch.Tensor:
    """(n,) distance from each row of x to its k-th nearest other row.

    The item itself is excluded and exact duplicates count as neighbours at distance 0: the same as prdc's
    (k+1)-th smallest entry of the full distance matrix, whose smallest entry is the item's own 0.
    squared=True gives float64 squared distances instead, as `ball_membership(squared=True)` takes radii: exact
    for float64 inputs, where a square root could turn a tie into a miss.
    """
    x = check_features(x, "x", min_rows=k + 1)
    distances, _ = _nearest(x, x, k, block, True, None)
    return distances[:, k - 1] if squared else _distances(distances[:, k - 1], x, x)


@dataclass
class BallMembership:
    count: torch.Tensor | None  # (n_query,) long: reference rows j with d(query_i, reference_j) < reference_radii_j
    covered: torch.Tensor | None  # (n_ref,) bool: some query row inside reference row j's ball
    reached: torch.Tensor | None  # (n_ref,) bool: reference row j inside some query row i's ball (query_radii_i)


def ball_membership(query: torch.Tensor, reference: torch.Tensor, reference_radii: torch.Tensor | None = None,
                    query_radii: torch.Tensor | None = None, block: int = 256, strict: bool = True,
                    ref_block: int | None = None, squared: bool = False) -> BallMembership:
    """One blocked pass over all (query, reference) pairs answering the three PRDC questions at once.

    With reference_radii: `count` (for each query row, how many reference balls hold it: precision, density) and
    `covered` (for each reference row, whether any query row is inside its ball: coverage). With query_radii:
    `reached` (for each reference row, whether it lies inside any query row's ball: recall).
    squared=True: the radii are squared, from `kth_neighbour_distances(squared=True)`, and float64 inputs are
    decided on exact squared distances (d^2 < radius^2), so an exact tie with a radius is never a square root's
    rounding away from it.
    """
    orig_q, orig_r = check_features(query, "query"), check_features(reference, "reference")
    q, r = _prepare(orig_q, orig_r)
    radii = {}
    for name, value, n in (("reference_radii", reference_radii, len(r)), ("query_radii", query_radii, len(q))):
        if value is not None:
            value = torch.as_tensor(value, device=q.device)
            if value.shape != (n,):
                raise UserError(f"{name}: expected shape ({n},), got {tuple(value.shape)}; one radius per row")
            radii[name] = value.double()  # float64 for the exact re-decisions
    count = torch.zeros(len(q), dtype=torch.long, device=q.device) if "reference_radii" in radii else None
    covered = torch.zeros(len(r), dtype=torch.bool, device=q.device) if "reference_radii" in radii else None
    reached = torch.zeros(len(r), dtype=torch.bool, device=q.device) if "query_radii" in radii else None
    pairs = _PairDecider(orig_q, orig_r, q.dtype, strict)
    for q0, q1, r0, r1, sq, tolerance in _squared_blocks(q, r, block, ref_block):
        if count is not None and covered is not None:  # made together, from reference_radii
            limit = radii["reference_radii"][None, r0:r1]
            inside = _decide_block(sq, limit, tolerance, squared, pairs, q0, r0)
            count[q0:q1] += inside.sum(1)
            covered[r0:r1] |= inside.any(0)
        if reached is not None:
            limit = radii["query_radii"][q0:q1, None]
            reached[r0:r1] |= _decide_block(sq, limit, tolerance, squared, pairs, q0, r0).any(0)
    return BallMembership(count, covered, reached)


def _decide_block(sq, radii64, tolerance, squared, pairs: _PairDecider, q0, r0) -> torch.Tensor:
    """d < radius (or <=) from squared distances; pairs inside the float error band are re-decided.

    A re-decision compares the squared distance from the inputs with the squared radius, both as `_comparable`
    makes them: for float32 inputs what prdc does with sklearn's float32 distance matrices, for float64 the
    squared distances themselves. Radii given as distances (squared=False) are compared as distances.
    """
    dtype = sq.dtype
    limit = radii64 if squared else radii64.to(dtype).double().square()
    low, high = (limit - tolerance).to(dtype), (limit + tolerance).to(dtype)
    inside = sq < low  # surely inside; pairs in [low, high] are decided from the inputs
    i, j = ((sq <= high) & ~inside).nonzero(as_tuple=True)
    if squared:
        inside[i, j] = pairs.decide(q0 + i, r0 + j, lambda s: _comparable(s, dtype), limit.expand(sq.shape)[i, j])
    else:
        inside[i, j] = pairs.decide(q0 + i, r0 + j, lambda s: _rounded_sqrt(s, dtype),
                                    radii64.to(dtype).expand(sq.shape)[i, j])
    return inside


class _PairDecider:
    """Exact decisions value(d(q_i, r_j)^2) < bound (<= when not strict) for (query, reference) pairs, value being
    monotone (`_comparable`, `_rounded_sqrt`).

    For float32 inputs, a float64 matrix product over the rows and columns the pairs involve (uncentred: the
    float32 inputs are exact in float64) decides every pair whose value is the same at both ends of the float64
    error bound, (d + 4) eps64 (|a|^2 + |b|^2), about 1e-9 of float32's; the pairs left, ties closer than that,
    and every pair of float64 inputs, are decided from direct differences (`_pair_squared`). The products cost
    far less than gathering each pair's two rows when many pairs are near the radii, as with overlapping
    high-dimensional features; with few such pairs (below 1 in GATHER_COST of the product) the rows are gathered.
    """

    def __init__(self, query: torch.Tensor, reference: torch.Tensor, dtype, strict: bool):
        self.query, self.reference, self.dtype, self.strict = query, reference, dtype, strict
        # made on first use: many inputs never need them
        self.reference64: torch.Tensor | None = None
        self.reference_norms: torch.Tensor | None = None

    def _compare(self, value, bound):
        return value < bound if self.strict else value <= bound

    def decide(self, i, j, value, bound) -> torch.Tensor:
        if self.dtype == torch.float64 or len(i) == 0:
            return self._compare(value(_pair_squared(self.query, self.reference, i, j)), bound)
        rows, i_at = torch.unique(i, return_inverse=True)
        columns, j_at = torch.unique(j, return_inverse=True)
        first, last = int(columns[0]), int(columns[-1]) + 1
        if 4 * len(columns) >= last - first:  # most of a span: multiply the whole span in place, no gathered copy
            columns, j_at = torch.arange(first, last, device=j.device), j - first
        if len(rows) * len(columns) > GATHER_COST * len(i):  # too few pairs to pay for the product
            return self._compare(value(_pair_squared(self.query, self.reference, i, j)), bound)
        if self.reference64 is None or self.reference_norms is None:  # both made together
            self.reference64 = self.reference.double()
            self.reference_norms = (self.reference64 * self.reference64).sum(1)
        b = self.reference64[first:last] if len(columns) == last - first else self.reference64[columns]
        a = self.query[rows].double()
        a_norms, b_norms = (a * a).sum(1)[i_at], self.reference_norms[columns][j_at]
        approx = torch.mm(a, b.T)[i_at, j_at].mul_(-2).add_(a_norms).add_(b_norms)
        error = torch.finfo(torch.float64).eps * (a.shape[1] + 4) * (a_norms + b_norms)
        inside = self._compare(value(approx + error), bound)  # inside even at the far end of the error
        unsure = (self._compare(value((approx - error).clamp_(min=0)), bound) & ~inside).nonzero()[:, 0]
        if len(unsure):
            inside[unsure] = self._compare(value(_pair_squared(self.query, self.reference, i[unsure], j[unsure])),
                                           bound[unsure])
        return inside


def count_within(query: torch.Tensor, reference: torch.Tensor, radii: torch.Tensor, block: int = 256,
                 strict: bool = True) -> torch.Tensor:
    """(n_query,) long: for each query row i, how many reference rows j have d(query_i, reference_j) < radii_j.

    `count_within(...) > 0` is the "inside any ball" variant (PRDC precision); the sum is PRDC density's numerator.
    """
    count = ball_membership(query, reference, reference_radii=radii, block=block, strict=strict).count
    assert count is not None  # reference_radii given: always counted
    return count


def covered(reference: torch.Tensor, radii: torch.Tensor, query: torch.Tensor, block: int = 256,
            strict: bool = True) -> torch.Tensor:
    """(n_ref,) bool: for each reference row j, whether some query row lies within radii_j of it (PRDC coverage)."""
    reference_covered = ball_membership(query, reference, reference_radii=radii, block=block, strict=strict).covered
    assert reference_covered is not None  # reference_radii given: always decided
    return reference_covered


@dataclass
class PairSearch:
    distances: torch.Tensor  # (k,) the k smallest pairwise distances, ascending
    pairs: torch.Tensor  # (k, 2) their indices, i < j
    below: int  # how many pairs are closer than the threshold
    groups: torch.Tensor | None = None  # (n,) long with groups=True: rows joined by pairs below the threshold
    # share a label (the smallest row of their connected component)


def closest_pairs(x: torch.Tensor, k: int = 20, threshold: float = 0.0, block: int = 256,
                  ref_block: int | None = None, groups: bool = False) -> PairSearch:
    """The k closest pairs among the rows of x (Euclidean), and the count of pairs closer than threshold.

    The upper triangle only, in blocks of `block` rows against every later row, in chunks of `ref_block` columns
    (default MAX_BLOCK_ELEMENTS // block): memory block x min(len(x), ref_block). Once k candidates are known, a
    block is only scanned for entries that could beat them, which is cheaper than a full top-k of every block.

    Exact where it decides, like the ball counts: a pair whose squared distance lies within the error bound of
    threshold^2 is re-decided from its distance recomputed from the inputs in float64; every pair within twice the
    error bound of the k-th best is kept as a candidate (up to MAX_PAIR_CANDIDATES, beyond which ties within the
    float error are cut in computed order), and the pairs returned are the k best of them on distances recomputed
    that way. This matters on low-dimensional data: on 2-D rings the duplicate threshold (~5e-5) is far
    below the expanded form's float32 error (~1e-3 in distance), and the products alone counted pairs 1e-3 apart
    as duplicates.

    groups=True also labels each row with its group of duplicates: the connected components of the pairs below the
    threshold, merged block by block, so memory stays O(len(x)) beyond the block.
    """
    x = check_features(x.reshape(len(x), -1), "items", min_rows=2)
    q, _ = _prepare(x, x)
    best_sq = torch.empty(0, dtype=q.dtype, device=q.device)
    best_pairs = torch.empty((0, 2), dtype=torch.long, device=q.device)
    below, limit, slack = 0, threshold**2, 0.0
    labels = torch.arange(len(x), device=q.device) if groups else None
    for q0, _, r0, _, sq, tolerance in _squared_blocks(q, q, block, ref_block, upper=True):
        slack = max(slack, 2 * tolerance)  # a pair's true rank can differ from its computed one within this
        kth = float(best_sq[k - 1] if len(best_sq) >= k else
                    torch.topk(sq.view(-1), min(k, sq.numel()), largest=False).values[-1])
        # one pass finds the candidates for the k closest and every pair that may be below the threshold
        bound = max(kth + slack, limit + tolerance if limit > 0 else -math.inf)
        found = (sq <= bound).nonzero() if math.isfinite(bound) else sq.isfinite().nonzero()  # +inf: the diagonal
        values, found = sq[found[:, 0], found[:, 1]], found + torch.tensor([q0, r0], device=q.device)
        if limit > 0:
            duplicate = values < limit - tolerance
            unsure = (values >= limit - tolerance) & (values < limit + tolerance)
            if unsure.any():
                pairs = found[unsure]
                duplicate[unsure] = _pair_squared(x, x, pairs[:, 0], pairs[:, 1]) < limit
            below += int(torch.count_nonzero(duplicate))
            if labels is not None:
                labels = _join(labels, found[duplicate])
        best_sq, best_pairs = torch.cat([best_sq, values]), torch.cat([best_pairs, found])
        order = torch.argsort(best_sq, stable=True)
        best_sq, best_pairs = best_sq[order], best_pairs[order]
        if len(best_sq) > k:  # drop what can no longer be among the k closest
            kept = int((best_sq <= best_sq[k - 1] + slack).sum())
            kept = min(kept, max(k, MAX_PAIR_CANDIDATES))  # a collapsed generator ties every pair within the error
            best_sq, best_pairs = best_sq[:kept], best_pairs[:kept]
    exact, order = _pair_squared(x, x, best_pairs[:, 0], best_pairs[:, 1]).sort(stable=True)
    return PairSearch(exact[:k].sqrt().to(x.dtype).cpu(), best_pairs[order[:k]].cpu(), below,
                      None if labels is None else labels.cpu())


def _join(labels: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Union of the components in `labels` (each row labelled with its component's smallest row) along `pairs`.

    Vectorised union-find: each round hooks the larger root of every unjoined pair onto the smaller one, then
    compresses paths by pointer jumping; labels only decrease, so it ends, in few rounds on duplicate groups.
    """
    i, j = pairs[:, 0], pairs[:, 1]
    while True:
        a, b = labels[i], labels[j]
        apart = a != b
        if not apart.any():
            return labels
        labels = labels.scatter_reduce(0, torch.maximum(a, b)[apart], torch.minimum(a, b)[apart], reduce="amin")
        while not torch.equal(jumped := labels[labels], labels):
            labels = jumped


def _pair_squared(a: torch.Tensor, b: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Squared distances between rows a[i] and b[j], from the inputs by direct differences in float64, in chunks."""
    out = torch.empty(len(i), dtype=torch.float64, device=a.device)
    for s in range(0, len(i), 4096):
        diff = a[i[s:s + 4096]].double() - b[j[s:s + 4096]].double()
        out[s:s + 4096] = (diff * diff).sum(1)
    return out
