"""Every sample metric against n at d = 2048, beside its anchor, on several feature shapes (issue 23).

    .venv/bin/python benchmarks/scale.py [--n 1000,5000,10000] [--d 2048] [--threads 1]
                                         [--features rectified,overlapping,photos] [--parts fd,tm-fid,...]

n real (training), n held-out and n generated items of d features, one set of rows per (features, n, part):
- fd / tm-fid: functional.fd against torchmetrics FrechetInceptionDistance fed the features through an identity
  module (its update in chunks of 1000 rows, as a data loader would).
- kid / tm-kid: functional.kid (100 subsets of 1000) against torchmetrics KernelInceptionDistance, same subsets.
- prdc / prdc-package: functional.prdc (k = 5) against the prdc package's compute_prdc (sklearn distance
  matrices: real-real, fake-fake and real-fake n x n, its own n_jobs = 8).
- knn / faiss-knn: knn.nearest(fake, real, k = 5), the search under AuthPct, C_T and PRDC's recall side, against
  faiss-cpu's exact IndexFlatL2 (an optional benchmark extra: `.venv/bin/python -m pip install faiss-cpu`).
- birthday / faiss-pairs: the birthday test's pair search knn.closest_pairs on the n generated items (s = n,
  its largest), against faiss searching every item's nearest other item (k = 2).
- authpct, ct (3 cells), vendi (on the generated items), mifid (train against fake): no anchor here.
- target: FD + KID + PRDC + C_T + AuthPct + Vendi + birthday, all in one process (the issue's 50k target row).

Feature shapes: rectified (ReLU of N(0, I) real and held-out, N(0, 1.05^2 I) generated: non-negative like Inception
pool3); overlapping (N(0, I) against N(0.05, 1.1^2 I): many pairs within float32's error of the k-NN radii);
photos (32x32x3 crops of photos32-60k through RandomFeatures, a randomly initialised conv net with 2048 ReLU
outputs; generated = crops with N(0, 0.2^2) pixel noise; 3n crops needed, so n <= 20000).

Every row runs in a fresh subprocess: "peak MB" is its ru_maxrss, "over data MB" the peak above what the inputs,
imports and libraries had reached before the clock started. Torch, BLAS and faiss get --threads threads (the prdc
package keeps its n_jobs = 8). A second table gives each part's growth exponent between consecutive n,
log(t2 / t1) / log(n2 / n1). Prints Markdown.
"""

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTS = ["fd", "tm-fid", "kid", "tm-kid", "prdc", "prdc-package", "knn", "faiss-knn", "birthday", "faiss-pairs",
         "authpct", "ct", "vendi", "mifid", "target"]
GROWTH = {  # the cost's growth in n at fixed d (d = 2048 >> k, cells)
    "fd": "n d^2 + d^3", "tm-fid": "n d^2 + d^3", "kid": "subsets m^2 d (m = 1000: flat in n)",
    "tm-kid": "n d (storing) + subsets m^2 d", "prdc": "n^2 d", "prdc-package": "n^2 d, n^2 memory",
    "knn": "n^2 d", "faiss-knn": "n^2 d", "birthday": "n^2 d / 2", "faiss-pairs": "n^2 d", "authpct": "n^2 d",
    "ct": "n^2 d / cells + k-means n d", "vendi": "n d^2 + d^3", "mifid": "n^2 d + n d^2", "target": "n^2 d",
}
PHOTO_NOISE = 0.2


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def random_features():
    """RandomFeatures: a seeded, randomly initialised conv net, 32x32x3 -> 2048 non-negative features (mean of
    ReLUs over a 4x4 map, like pool3); a stand-in for a real feature network's shape, not its semantics."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(256, 2048, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def photo_features(n: int, cache: Path):
    """(real, heldout, fake) RandomFeatures of 3n distinct photos32-60k crops, cached per n for the rows."""
    import torch

    path = cache / f"photos-{n}.pt"
    if not path.exists():
        from gan_zoo.plugins.photo_data import load_photos32

        if 3 * n > 60_000:
            raise SystemExit(f"photos: {3 * n} crops needed, photos32-60k has 60000; use n <= 20000")
        x = load_photos32(3 * n).x
        noise = torch.randn(n, *x.shape[1:], generator=torch.Generator().manual_seed(3)) * PHOTO_NOISE
        x[2 * n:] = (x[2 * n:] + noise).clamp(-1, 1)
        net = random_features()
        with torch.no_grad():
            features = torch.cat([net(x[start:start + 1000]) for start in range(0, len(x), 1000)])
        torch.save(features, path)
    features = torch.load(path)
    return features[:n], features[n:2 * n], features[2 * n:]


def gaussian_features(n: int, d: int, shape: str):
    import torch

    def draw(seed, shift=0.0, scale=1.0):
        return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) * scale + shift

    if shape == "rectified":
        return draw(0).relu(), draw(1).relu(), draw(2, scale=1.05).relu()
    return draw(0), draw(1), draw(2, shift=0.05, scale=1.1)


def identity(d: int):
    """torchmetrics' custom feature extractor: the features are passed in as the 'images'."""
    import torch

    class Identity(torch.nn.Module):
        num_features = d

        def forward(self, x):
            return x

    return Identity()


def run_part(part: str, args) -> dict:
    import warnings

    import torch

    torch.set_num_threads(args.threads)
    if args.features == "photos":
        real, heldout, fake = photo_features(args.n, Path(args.cache))
    else:
        real, heldout, fake = gaussian_features(args.n, args.d, args.features)
    import scipy.stats  # noqa: F401
    import sklearn.cluster  # noqa: F401  (imported before the clock starts: ct_test imports it lazily)

    from gan_zoo.harness import functional as F
    from gan_zoo.harness import knn

    if part == "prdc-package":
        from prdc import compute_prdc
    if part.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(args.threads)
    if part.startswith("tm-"):
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        warnings.simplefilter("ignore")  # KID warns that storing all features takes memory: that is measured
    baseline = peak_mb()
    started = time.perf_counter()
    if part == "fd":
        result = {"fd": F.fd(real, fake)}
    elif part in ("tm-fid", "tm-kid"):
        metric = (FrechetInceptionDistance(feature=identity(args.d)) if part == "tm-fid" else
                  KernelInceptionDistance(feature=identity(args.d), subsets=100, subset_size=1000))
        for start in range(0, args.n, 1000):
            metric.update(real[start:start + 1000], real=True)
            metric.update(fake[start:start + 1000], real=False)
        torch.manual_seed(0)  # KID's subsets: the same draws as functional.kid(seed=0)
        value = metric.compute()
        result = {"fd": value.item()} if part == "tm-fid" else {"kid": value[0].item()}
    elif part == "kid":
        result = {"kid": F.kid(real, fake, seed=0)["mean"]}
    elif part == "prdc":
        result = F.prdc(real, fake, k=5)
    elif part == "prdc-package":
        with open(os.devnull, "w") as quiet:  # compute_prdc prints the set sizes
            stdout, sys.stdout = sys.stdout, quiet
            try:
                result = {k: float(v) for k, v in compute_prdc(real.numpy(), fake.numpy(), nearest_k=5).items()}
            finally:
                sys.stdout = stdout
    elif part == "knn":
        distances, _ = knn.nearest(fake, real, k=5)
        result = {"mean 5th": distances[:, 4].double().mean().item()}
    elif part == "faiss-knn":
        index = faiss.IndexFlatL2(args.d)
        index.add(real.numpy())
        squared, _ = index.search(fake.numpy(), 5)
        result = {"mean 5th": float((squared[:, 4].clip(min=0).astype("float64") ** 0.5).mean())}
    elif part == "birthday":
        result = {"closest": knn.closest_pairs(fake).distances[0].item()}
    elif part == "faiss-pairs":
        index = faiss.IndexFlatL2(args.d)
        index.add(fake.numpy())
        squared, _ = index.search(fake.numpy(), 2)
        result = {"closest": float(squared[:, 1].clip(min=0).min() ** 0.5)}
    elif part == "authpct":
        result = {"authpct": F.authpct(real, fake)}
    elif part == "ct":
        result = {"ct": F.ct_test(real, heldout, fake)["ct"]}
    elif part == "vendi":
        result = {"vendi": F.vendi(fake)}
    elif part == "mifid":
        result = {"mifid": F.mifid(real, fake)["mifid"]}
    elif part == "target":
        result = {"fd": F.fd(real, fake), "kid": F.kid(real, fake)["mean"], **F.prdc(real, fake, k=5),
                  "ct": F.ct_test(real, heldout, fake)["ct"], "authpct": F.authpct(real, fake),
                  "vendi": F.vendi(fake), "closest": knn.closest_pairs(fake).distances[0].item()}
    else:
        raise ValueError(part)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "over_data_mb": peak_mb() - baseline, "result": result}


def exponent(times: dict[int, float]) -> str:
    ns = sorted(times)
    return ", ".join(f"{math.log(times[b] / times[a]) / math.log(b / a):.2f} ({a // 1000}k-{b // 1000}k)"
                     for a, b in zip(ns, ns[1:], strict=False) if times[a] > 0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1000,5000,10000", help="items per set, comma-separated")
    parser.add_argument("--d", type=int, default=2048, help="features per item (photos: always 2048)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--features", default="rectified,overlapping,photos")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    parser.add_argument("--cache", help=argparse.SUPPRESS)  # internal: where photo features are kept between rows
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # internal: run one part, print JSON
    args = parser.parse_args()
    if args.part:
        args.n = int(args.n)
        print(json.dumps(run_part(args.part, args)))
        return
    env = {**os.environ, **{name: str(args.threads) for name in
                            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    rows, times = [], {}
    with tempfile.TemporaryDirectory() as cache:
        for shape in args.features.split(","):
            for n in [int(v) for v in args.n.split(",")]:
                for part in args.parts.split(","):
                    size = f"{shape}, n = {n}"
                    if part.startswith("faiss") and importlib.util.find_spec("faiss") is None:
                        rows.append((part, size, "skipped: faiss not installed", "", "", ""))
                        continue
                    command = [sys.executable, __file__, "--part", part, "--n", str(n), "--d", str(args.d),
                               "--threads", str(args.threads), "--features", shape, "--cache", cache]
                    done = subprocess.run(command, capture_output=True, text=True, env=env)
                    if done.returncode:
                        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                        rows.append((part, size, f"failed: {why}", "", "", ""))
                        continue
                    out = json.loads(done.stdout.strip().splitlines()[-1])
                    times.setdefault((shape, part), {})[n] = out["seconds"]
                    result = ", ".join(f"{key} {value:.6g}" for key, value in out["result"].items())
                    rows.append((part, size, f"{out['seconds']:.2f}", f"{out['peak_mb']:.0f}",
                                 f"{out['over_data_mb']:.0f}", result))
                    print("| " + " | ".join(rows[-1]) + " |", file=sys.stderr, flush=True)  # progress
    print(f"torch threads = {args.threads}; d = {args.d}; every row a fresh subprocess; "
          f"load average at the end {os.getloadavg()[0]:.1f}\n")
    print("| part | features, n | seconds | peak MB | over data MB | result |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\n| part | features | cost grows as | measured exponent of n |")
    print("|---|---|---|---|")
    for (shape, part), by_n in times.items():
        print(f"| {part} | {shape} | {GROWTH[part]} | {exponent(by_n)} |")


if __name__ == "__main__":
    main()
