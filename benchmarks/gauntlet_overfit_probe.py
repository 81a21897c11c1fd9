"""Does the overfit-gan adversary memorise? vanilla trained 3000 steps on m = 25 training digits (the gauntlet's
split at seed 0, n = 300): its samples' median distance to their nearest training item, beside the same for the
control items the control source gives at that seed. Usage: .venv/bin/python benchmarks/gauntlet_overfit_probe.py
"""

import time

import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.harness.gauntlet import adversary_source
from gan_zoo.registry import registry

torch.set_num_threads(1)
R = registry()
CPU = torch.device("cpu")
data = open_dataset(R.dataset("digits"), seed=0, control_fraction=0.25)


def nearest(items: torch.Tensor) -> torch.Tensor:
    return torch.cdist(items.flatten(1), data.train.x.flatten(1)).min(1).values


started = time.perf_counter()
spec = {"kind": "adversary", "adversary": "overfit-gan", "vary": "m", "set": {"steps": 3000}, "strength": 25, "n": 300}
made = adversary_source(spec, data, R, seed=0, device=CPU).items
seconds = time.perf_counter() - started
control = adversary_source({"kind": "control", "adversary": "control", "strength": None, "n": 300}, data, R, seed=0,
                           device=CPU).items
print(f"m = 25: {seconds:.0f} s; median distance to the nearest training item: samples {nearest(made).median():.3f}, "
      f"control items {nearest(control).median():.3f}; distinct samples {len(torch.unique(made.flatten(1), dim=0))}")
