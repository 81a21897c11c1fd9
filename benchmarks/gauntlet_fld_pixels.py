"""FLD alone, in pixel space, in the gauntlet's protocol on digits: the same splits and sources as a gauntlet suite
(n = 300, control_fraction 0.25), 20 control splits (seeds 100-119), copying adversaries at seeds 0-4, each run
judged by its rank among the controls at alpha = 0.05. Cheap (about a minute): FLD is the only metric computed.
Usage: .venv/bin/python benchmarks/gauntlet_fld_pixels.py
"""

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.harness.gauntlet import adversary_source, clopper_pearson, rank_p
from gan_zoo.plugins.fld_metric import fld
from gan_zoo.registry import registry

torch.set_num_threads(1)
R = registry()
CPU = torch.device("cpu")
N = 300


def value(spec, seed):
    data = open_dataset(R.dataset("digits"), seed=seed, control_fraction=0.25)
    if spec["kind"] == "adversary":
        spec = {**spec, "strength": R.adversary(spec["adversary"])().check(spec["strength"], data, N)}
    items = adversary_source({**spec, "n": N}, data, R, seed=seed, device=CPU).items
    return fld(data.train.x, data.heldout.x, items, seed=seed)["value"]


controls = [value({"kind": "control", "adversary": "control", "strength": None}, s) for s in range(100, 120)]
print(f"control FLD: min {min(controls):.3g} median {sorted(controls)[10]:.3g} max {max(controls):.3g}")
held = sum(rank_p(c, controls[:i] + controls[i + 1:], "higher") <= 0.05 for i, c in enumerate(controls))
print(f"held-out control runs flagged: {held}/20")
cells = [("partial-copy", f) for f in (0.01, 0.05, 0.1, 0.25, 0.5)] + [("copy-flip", f) for f in (0.05, 0.25)] \
    + [("copy-shift", 0.25), ("blend", 0.25), ("pull-to-centre", 0.5)]
for name, f in cells:
    set_ = {"pixels": 1} if name == "copy-shift" else {}
    vals = [value({"kind": "adversary", "adversary": name, "vary": "f", "set": set_, "strength": f}, s)
            for s in range(5)]
    hits = sum(rank_p(v, controls, "higher") <= 0.05 for v in vals)
    lo, hi = clopper_pearson(hits, 5)
    print(f"{name} {f:g}: {hits}/5 [{lo:.2f}, {hi:.2f}] values {', '.join(f'{v:.3g}' for v in vals)}")
