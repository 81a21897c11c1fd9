"""The blocked nearest-neighbour kernel (harness/knn.py) and the metrics on it, against full-matrix references.

    .venv/bin/python benchmarks/nn_kernel.py [--n 10000] [--d 2048] [--s 20000] [--pair-d 784] [--threads 2]
                                             [--features rectified|overlapping] [--parts prdc,prdc-package]

(a) PRDC, AuthPct and C_T of harness/functional.py at n real (used as the training set), n held-out and n fake
    items of d features, against the prdc package's compute_prdc (sklearn distance matrices, its own n_jobs=8).
    --features rectified (default): ReLU of N(0, I) real and N(0, 1.05^2 I) generated features, non-negative like
    InceptionV3 pool3; overlapping: N(0, I) real and N(0.05, 1.1^2 I) generated, which puts many pairs within
    float32's error of the k-NN radii (the case the float64 re-decisions are for).
(b) The birthday test's pair search at s items of pair-d features: harness.knn.closest_pairs (top-20 pairs,
    upper triangle only), knn.nearest(x, x, k=1, exclude_self=True) (every item's nearest other item), and
    faiss-cpu's exact IndexFlatL2 search with k=2 (the item itself and its nearest) when faiss is importable
    (it is not a dependency: `.venv/bin/pip install faiss-cpu` to include it).

Every row runs in a fresh subprocess, so peak resident memory (ru_maxrss) is its own; "over data" subtracts the
peak reached after the inputs were built and the libraries imported. Torch, BLAS and faiss get --threads threads.
Prints a Markdown table.
"""

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time

PARTS = ["prdc", "authpct", "ct", "all-three", "prdc-package", "pairs-birthday", "pairs-knn", "pairs-faiss"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0, rectified: bool = True):
    """Gaussian features, rectified by default: non-negative like InceptionV3 pool3 activations."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator) * scale + shift
    return x.relu() if rectified else x


def run_part(part: str, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    if part.startswith("pairs"):
        x = torch.rand(args.s, args.pair_d, generator=torch.Generator().manual_seed(0)) * 2 - 1
    else:
        rectified = args.features == "rectified"
        real, heldout = features(args.n, args.d, 0, rectified=rectified), features(args.n, args.d, 1,
                                                                                  rectified=rectified)
        fake = features(args.n, args.d, 2, scale=1.05) if rectified else features(args.n, args.d, 2, shift=0.05,
                                                                                  scale=1.1, rectified=False)
    import sklearn.cluster  # noqa: F401  (imported before the clock starts: ct_test imports it lazily)

    from gan_zoo.harness import functional as F
    from gan_zoo.harness import knn
    from gan_zoo.harness.knn import closest_pairs

    if part == "prdc-package":
        from prdc import compute_prdc

        real, fake = real.numpy(), fake.numpy()
    if part == "pairs-faiss":
        import faiss

        faiss.omp_set_num_threads(args.threads)
        x = x.numpy()
    baseline = peak_mb()
    started = time.perf_counter()
    if part == "prdc":
        result = F.prdc(real, fake, k=args.k)
    elif part == "authpct":
        result = {"authpct": F.authpct(real, fake)}
    elif part == "ct":
        result = {"ct": F.ct_test(real, heldout, fake)["ct"]}
    elif part == "all-three":
        result = {**F.prdc(real, fake, k=args.k), "authpct": F.authpct(real, fake),
                  "ct": F.ct_test(real, heldout, fake)["ct"]}
    elif part == "prdc-package":
        with open(os.devnull, "w") as quiet:  # compute_prdc prints the set sizes
            stdout, sys.stdout = sys.stdout, quiet
            try:
                result = {k: float(v) for k, v in compute_prdc(real, fake, nearest_k=args.k).items()}
            finally:
                sys.stdout = stdout
    elif part == "pairs-birthday":
        search = closest_pairs(x)
        result = {"closest": search.distances[0].item()}
    elif part == "pairs-knn":
        distances, _ = knn.nearest(x, x, k=1, exclude_self=True)
        result = {"closest": distances.min().item()}
    elif part == "pairs-faiss":
        index = faiss.IndexFlatL2(x.shape[1])
        index.add(x)
        squared, _ = index.search(x, 2)
        result = {"closest": float(squared[:, 1].clip(min=0).min() ** 0.5)}
    else:
        raise ValueError(part)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "over_data_mb": peak_mb() - baseline, "result": result}


def describe(part: str, args) -> tuple[str, str, str]:
    """(what, implementation, size) for the table."""
    size_a, size_b = f"n = {args.n}, d = {args.d}, {args.features}", f"s = {args.s}, d = {args.pair_d}"
    return {
        "prdc": (f"PRDC (k = {args.k})", "functional.prdc (blocked kernel)", size_a),
        "authpct": ("AuthPct", "functional.authpct", size_a),
        "ct": ("C_T (3 cells)", "functional.ct_test", size_a),
        "all-three": ("PRDC + AuthPct + C_T", "functional, one process", size_a),
        "prdc-package": (f"PRDC (k = {args.k})", "prdc.compute_prdc (full matrices)", size_a),
        "pairs-birthday": ("closest 20 pairs", "knn.closest_pairs", size_b),
        "pairs-knn": ("every item's nearest", "knn.nearest(exclude_self)", size_b),
        "pairs-faiss": ("every item's nearest", "faiss IndexFlatL2, k = 2", size_b),
    }[part]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="real, held-out and fake items each, part (a)")
    parser.add_argument("--d", type=int, default=2048, help="features per item, part (a)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--s", type=int, default=20000, help="items in the pair search, part (b)")
    parser.add_argument("--pair-d", type=int, default=784, help="features per item, part (b)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--features", choices=["rectified", "overlapping"], default="rectified", help="part (a)")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # internal: run one part, print JSON
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args)))
        return
    env = {**os.environ, **{name: str(args.threads) for name in
                            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    rows = []
    for part in args.parts.split(","):
        what, implementation, size = describe(part, args)
        if part == "pairs-faiss" and importlib.util.find_spec("faiss") is None:
            rows.append((what, implementation, size, "skipped: faiss not installed", "", "", ""))
            continue
        command = [sys.executable, __file__, "--part", part, "--n", str(args.n), "--d", str(args.d), "--k",
                   str(args.k), "--s", str(args.s), "--pair-d", str(args.pair_d), "--threads", str(args.threads),
                   "--features", args.features]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode:
            rows.append((what, implementation, size, f"failed: {done.stderr.strip().splitlines()[-1]}", "", "", ""))
            continue
        out = json.loads(done.stdout.strip().splitlines()[-1])
        result = ", ".join(f"{key} {value:.6g}" for key, value in out["result"].items())
        rows.append((what, implementation, size, f"{out['seconds']:.2f}", f"{out['peak_mb']:.0f}",
                     f"{out['over_data_mb']:.0f}", result))
    print(f"torch threads = {args.threads}; every row a fresh subprocess\n")
    print("| metric | implementation | size | seconds | peak RSS MB | over data MB | result |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
