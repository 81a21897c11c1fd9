"""Does the source hold the data set's own items? Checked before any metric runs (harness/evaluate.py).

A finite source (a folder or an array: a researcher's export of "real" data) or a model fitted on all of a data
set can hold held-out items. Every metric that compares the source with held-out real data then compares those
items with themselves, and none of those comparisons is independent: an export of all of digits (its 359 held-out
and 719 training items) reads as fooling the neural-net distance at p ~ 1e3 and 1e4 (held-out gaps 0.003 and
0.000). Training items in a source are what a memoriser is expected to hold: counted, not warned about.

What is compared: every item of a finite source; `SAMPLE` items of any other (a model, a callable), drawn as the
metrics draw them (the evaluation's seed), in the data set's layout and range. Exact: a row equal to a reference
item. Near-exact: within the tolerance of its nearest reference item (harness/knn.py), the tolerance being half the
smallest distance between a held-out item and a training item: closer to a reference item than the data set ever
puts two of its items across its splits, so a copy up to rounding (a PNG round trip moves a digits item 0.015 at
most; the tolerance there is 0.33). Fresh data lands that close rarely: about N / n_train x 2^-d of N items in d
dimensions (nil on images; 0.03 of 5000 items on 2-D ring8). A data set holding one item in both splits has a
tolerance of 0: only exact copies count.

Record (`record["overlap"]`): checked (source items compared), sample (true: a sample of a distribution),
tolerance, heldout and train {items (in the split), held (distinct items of the split with a source item within
the tolerance), exact (of those, with an exact copy), source_items (source items within the tolerance of one)},
independent (false when the source holds any held-out item), warning (that one line, or null); or only error (why
the items could not be drawn: the metrics then record their own refusals).
"""

from __future__ import annotations

import torch

from gan_zoo.errors import UserError
from gan_zoo.harness.knn import nearest
from gan_zoo.metrics import EvalContext

SAMPLE = 2000  # items of a distribution checked: at 1% of held-out items copied, ~20 found


def check_overlap(ctx: EvalContext) -> dict:
    """The record's `overlap` (module docstring) for the context's source and data set."""
    try:
        items = ctx.samples(ctx.source.size if ctx.source.finite else SAMPLE)
    except UserError as exc:
        return {"error": str(exc)}
    heldout, train = (_flat(split.x) for split in (ctx.data.heldout, ctx.data.train))
    tolerance = nearest(heldout, train)[0].min().item() / 2
    found = {name: _held(_flat(items), reference, tolerance) for name, reference in (("heldout", heldout),
                                                                                     ("train", train))}
    held = found["heldout"]["held"]
    warning = (f"the source holds {held} of the {len(heldout)} held-out items: held-out comparisons are not "
               f"independent" if held else None)
    return {"checked": len(items), "sample": not ctx.source.finite, "tolerance": tolerance, **found,
            "independent": not held, "warning": warning}


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1)


def _held(items: torch.Tensor, reference: torch.Tensor, tolerance: float) -> dict:
    distances, index = nearest(items, reference)
    # Exact copies by equality, not by the kernel: on dense 2-D data its float32 candidate search can return a
    # neighbour 1e-4 away instead of the copy (134 of 20000 ring8 training items against their own split).
    copies = _copies(items, reference)
    exact = copies >= 0
    matched = torch.where(exact, copies, index[:, 0])
    within = exact | (distances[:, 0] <= tolerance)
    return {"items": len(reference), "held": matched[within].unique().numel(),
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
