"""Does the source hold the data set's own items? Checked before any metric runs (harness/evaluate.py).

A finite source (a folder or an array: a researcher's export of "real" data) or a model fitted on all of a data
set can hold held-out items. Every metric that compares the source with held-out real data then compares those
items with themselves, and none of those comparisons is independent: an export of all of digits (its 359 held-out
and 719 training items) reads as fooling the neural-net distance at p ~ 1e3 and 1e4 (held-out gaps 0.003 and
0.000). Training items in a source are what a memoriser is expected to hold: counted, not warned about.

What is compared: every item of a finite source; `SAMPLE` items of any other (a model, a callable), drawn as the
metrics draw them (the evaluation's seed), in the data set's layout and range. Exact: a row equal to a reference
item, hashed for every item compared. Near-exact, searched among at most NEAR_SAMPLE of them (then the warning says
"at least"): within the tolerance of its nearest reference item (harness/knn.py), the tolerance being half the
smallest distance between a held-out item and a training item: closer to a reference item than the data set ever
puts two of its items across its splits, so a copy up to rounding (a PNG round trip moves a digits item 0.015 at
most; the tolerance there is 0.33). Fresh data lands that close rarely: about N / n_train x 2^-d of N items in d
dimensions (nil on images; 0.03 of 5000 items on 2-D ring8). A data set holding one item in both splits has a
tolerance of 0: only exact copies count.

Record (`record["overlap"]`): checked (source items compared), sample (true: a sample of a distribution),
near_checked (items searched for near copies), tolerance, heldout and train {items (in the split), held (distinct
items of the split with a source item within the tolerance), exact (of those, with an exact copy), source_items
(source items within the tolerance of one)},
independent (false when the source holds any held-out item), warning (that one line, or null); or only error (why
the items could not be drawn: the metrics then record their own refusals).
"""

from __future__ import annotations

import torch

from gan_zoo.errors import UserError
from gan_zoo.harness.knn import nearest
from gan_zoo.metrics import EvalContext
from gan_zoo.seeds import derive

SAMPLE = 2000  # items of a distribution checked: at 1% of held-out items copied, ~20 found
# near copies are searched among at most this many items of a finite source, and the tolerance is read from at most
# this many held-out items: the nearest-neighbour searches cost n x (train + held-out) x d, 11 of 20 minutes of a
# 20k-item photos32 evaluation when every item was searched (benchmarks/RESULTS.md); exact copies are hashed for all
NEAR_SAMPLE = 2000


def check_overlap(ctx: EvalContext) -> dict:
    """The record's `overlap` (module docstring) for the context's source and data set."""
    try:
        items = ctx.samples(ctx.source.size if ctx.source.size is not None else SAMPLE)  # None: a distribution
    except UserError as exc:
        return {"error": str(exc)}
    heldout, train = (_flat(split.x) for split in (ctx.data.heldout, ctx.data.train))
    tolerance = nearest(_subset(heldout, derive(ctx.seed, "overlap.tolerance")), train)[0].min().item() / 2
    near = _subset(torch.arange(len(items)), derive(ctx.seed, "overlap.near"))  # the items searched for near copies
    found = {name: _held(_flat(items), near, reference, tolerance) for name, reference in (("heldout", heldout),
                                                                                           ("train", train))}
    held = found["heldout"]["held"]
    at_least = "at least " if len(near) < len(items) else ""  # near copies were searched in a sample
    warning = (f"the source holds {at_least}{held} of the {len(heldout)} held-out items: held-out comparisons are "
               f"not independent" if held else None)
    return {"checked": len(items), "sample": not ctx.source.finite, "near_checked": len(near),
            "tolerance": tolerance, **found, "independent": not held, "warning": warning}


def _subset(x: torch.Tensor, seed: int) -> torch.Tensor:
    """At most NEAR_SAMPLE rows of x, a seeded choice; all of them when they are fewer."""
    if len(x) <= NEAR_SAMPLE:
        return x
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:NEAR_SAMPLE]]


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1)


def _held(items: torch.Tensor, near: torch.Tensor, reference: torch.Tensor, tolerance: float) -> dict:
    """Reference items that `items` hold: exact copies among all items (hashed), near copies among items[near]."""
    copies = _copies(items, reference)
    exact = copies >= 0
    distances, index = nearest(items[near], reference)
    close = near[distances[:, 0] <= tolerance]
    matched = torch.cat([copies[exact], index[distances[:, 0] <= tolerance, 0]])
    within = exact.clone()
    within[close] = True
    return {"items": len(reference), "held": matched.unique().numel(),
            "exact": copies[exact].unique().numel(), "source_items": int(within.sum())}


def _copies(items: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per item, the index of a reference row equal to it, or -1: rows hashed, equal hashes checked."""
    rows: dict[int, list[int]] = {}
    reference = reference + 0.0  # -0.0 becomes 0.0, so equal values hash alike
    for i, row in enumerate(reference.numpy()):
        rows.setdefault(hash(row.tobytes()), []).append(i)
    found = []
    for item in items + 0.0:
        candidates = rows.get(hash(item.numpy().tobytes()), [])
        found.append(next((i for i in candidates if torch.equal(reference[i], item)), -1))
    return torch.tensor(found, dtype=torch.long)
