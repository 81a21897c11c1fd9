"""The birthday test's pair search against this machine's float32 matrix-product rate, side by side.

    .venv/bin/python benchmarks/pair_search.py [--s 20000] [--d 784]

Rate = useful FLOPs (2 d per unordered pair) / seconds. Peak memory is the process's maximum resident set,
measured in a fresh subprocess for each part. Targets (the harness issue): at least 50% of the measured
matrix-product rate, peak memory under 2 GB, at s = 20000, d = 784.
"""

import argparse
import json
import resource
import subprocess
import sys
import time


def measure_matmul(sizes=(1024, 2048, 4096), repeats: int = 5) -> float:
    """The best float32 square matrix-product rate over a few sizes (REFERENCE section 7: ~250 GFLOP/s)."""
    import torch

    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - started))
    return best


def measure_search(s: int, d: int, chunk: int) -> dict:
    import torch

    from gan_zoo.harness.knn import closest_pairs

    x = torch.rand(s, d) * 2 - 1
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    closest_pairs(x, threshold=0.1, block=chunk)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "flops": s * (s - 1) * d / seconds, "peak_rss_mb": peak / 1024,
            "search_extra_mb": (peak - baseline) / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--s", type=int, default=20000)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--part", choices=["matmul", "search"])
    args = parser.parse_args()
    if args.part == "matmul":
        print(json.dumps({"flops": measure_matmul()}))
        return
    if args.part == "search":
        print(json.dumps(measure_search(args.s, args.d, args.chunk)))
        return

    def part(name):
        out = subprocess.run([sys.executable, __file__, "--part", name, "--s", str(args.s), "--d", str(args.d),
                              "--chunk", str(args.chunk)], capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    matmul, search = part("matmul"), part("search")
    print(f"s = {args.s}, d = {args.d}, chunk = {args.chunk}")
    print(f"matrix product (float32, best of n = 1024, 2048, 4096): {matmul['flops'] / 1e9:.0f} GFLOP/s")
    print(f"pair search: {search['seconds']:.2f} s, {search['flops'] / 1e9:.0f} GFLOP/s "
          f"({search['flops'] / matmul['flops']:.0%} of the matrix-product rate), "
          f"peak RSS {search['peak_rss_mb']:.0f} MB ({search['search_extra_mb']:.0f} MB above the data and torch)")


if __name__ == "__main__":
    main()
