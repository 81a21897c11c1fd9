"""One generator judged three ways (its checkpoint, an exported .npz of its samples, a callable over it), and
the cost of the source layer against calling the model directly (ratios measured side by side in one run).

Run: .venv/bin/python benchmarks/sources.py [--steps 3000] [--samples 20000]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gan_zoo import evaluate
from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry
from gan_zoo.sources import ModelSource
from gan_zoo.training import run

SETTINGS = {"birthday": {"trials": 5}, "nn_distance": {"capacities": [1000, 10000], "max_items": 1000,
                                                       "ensemble": {"members": 4, "steps": 150}}}
METRICS = ["nn_distance", "birthday", "modes"]

CALLABLE = '''
from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.registry import registry

MODEL = load_model(read_checkpoint({path!r}), registry())

def sample(n, seed):
    return MODEL.sample(n, seed=seed)
'''


def timed(function, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=20000, help="items in the exported .npz")
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="gan-zoo-sources-"))
    data = open_dataset(registry().dataset("ring8"), seed=0)
    family = registry().family("vanilla")
    trained = run(registry(), "vanilla", family.Config(), data, out=folder, seed=0, steps=args.steps,
                  device=torch.device("cpu"))
    checkpoint = str(trained.checkpoint)
    np.savez(folder / "samples.npz", samples=trained.model.sample(args.samples, seed=12345).numpy())
    (folder / "gen.py").write_text(CALLABLE.format(path=checkpoint))

    records = {}
    for label, source in (("checkpoint", checkpoint), ("callable", f"{folder}/gen.py:sample"),
                          (".npz", str(folder / "samples.npz"))):
        started = time.perf_counter()
        records[label] = evaluate(source, dataset="ring8", metrics=METRICS, seed=0, **SETTINGS)
        records[label]["seconds"] = time.perf_counter() - started
    print(f"vanilla on ring8, {args.steps} steps; .npz of {args.samples} samples\n")
    print("| source | NND p~1e3 | NND p~1e4 | birthday support [99% CI] | modes (HQ) | seconds |")
    print("|---|---|---|---|---|---|")
    for label, record in records.items():
        m = record["metrics"]
        nn = " | ".join(f"{e['heldout_gap']:.4f} [{e['ci'][0]:.4f}, {e['ci'][1]:.4f}]"
                        for e in m["nn_distance"]["capacities"])
        b = m["birthday"]["support"]
        low, high = b["ci"]
        support = f"{b['value']:.4g} [{low:.4g}, {high if high is None else f'{high:.4g}'}] ({b['kind']})"
        modes = f"{m['modes']['modes_captured']}/8 ({m['modes']['high_quality_fraction']:.1%})"
        print(f"| {label} | {nn} | {support} | {modes} | {record['seconds']:.1f} |")
    same = records["checkpoint"]["metrics"] == records["callable"]["metrics"]
    print(f"\ncheckpoint and callable metrics identical: {same}")

    model = load_model(read_checkpoint(checkpoint), registry())
    source = ModelSource(model)
    from gan_zoo.harness.sources import open_source

    wrapped = open_source(f"{folder}/gen.py:sample", data, registry(), device=torch.device("cpu"))
    array = open_source(str(folder / "samples.npz"), data, registry(), device=torch.device("cpu"))
    n = 10000
    direct = timed(lambda: model.sample(n, seed=1))
    rows = [("model.sample(n, seed) directly", direct), ("ModelSource.draw (checks shape, finiteness)",
                                                          timed(lambda: source.draw(n, 1))),
            ("callable file.py:sample (also conforms)", timed(lambda: wrapped.draw(n, 1))),
            (".npz (a seeded permutation of the pool)", timed(lambda: array.draw(n, 1)))]
    print(f"\n| draw of n = {n} ring8 items | seconds (best of 5) | ratio to direct |\n|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1e3:.2f} ms | {seconds / direct:.2f}x |")
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
