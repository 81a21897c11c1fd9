"""PRDC and AuthPct scoring a model and its control against one real set: the real set searched twice (once per
call) against once (prdc_radii, train_nn passed in), side by side in one process, answers asserted equal.

    .venv/bin/python benchmarks/shared_search.py [--n 10000] [--features rectified,overlapping,photos]

Feature shapes and sets as benchmarks/scale.py makes them (photos: RandomFeatures of photos32-60k crops, n <=
20000); one torch thread. Prints seconds per way.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from scale import gaussian_features, photo_features  # noqa: E402

from gan_zoo.harness import functional as F  # noqa: E402
from gan_zoo.harness import knn  # noqa: E402


def ways(real, heldout, fake):
    def prdc_shared():
        radii = F.prdc_radii(heldout, 5)
        return F.prdc(heldout, fake, real_radii=radii), F.prdc(heldout, real, real_radii=radii)

    def authpct_shared():
        train_nn = knn.kth_neighbour_distances(real, 1)
        return F.authpct(real, fake, train_nn=train_nn), F.authpct(real, heldout, train_nn=train_nn)

    return {"prdc searched twice": lambda: (F.prdc(heldout, fake), F.prdc(heldout, real)),
            "prdc radii shared": prdc_shared,
            "authpct searched twice": lambda: (F.authpct(real, fake), F.authpct(real, heldout)),
            "authpct train_nn shared": authpct_shared}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--features", default="rectified,overlapping,photos")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = Path(tempfile.mkdtemp(prefix="shared-search-"))
    for shape in args.features.split(","):
        sets = photo_features(args.n, cache) if shape == "photos" else gaussian_features(args.n, 2048, shape)
        timed = {}
        for name, call in ways(*sets).items():
            started = time.perf_counter()
            value = call()
            timed[name] = (time.perf_counter() - started, value)
        assert timed["prdc searched twice"][1] == timed["prdc radii shared"][1]
        assert timed["authpct searched twice"][1] == timed["authpct train_nn shared"][1]
        print(f"{shape}, n = {args.n}: " + ", ".join(f"{name} {seconds:.1f} s" for name, (seconds, _) in timed.items()),
              flush=True)


if __name__ == "__main__":
    main()
