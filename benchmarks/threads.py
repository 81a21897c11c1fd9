"""The --threads default: training and evaluation time with 1 and 2 torch threads, alternated in one run.

Run: .venv/bin/python benchmarks/threads.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import sys
import time

WORK = {
    "train vanilla, ring8, 300 steps": "run('vanilla', 'ring8', 300)",
    "train vanilla, digits, 150 steps": "run('vanilla', 'digits', 150)",
    "nn_distance, digits, p~1e4, 4 x 150 steps": "nnd()",
}

PRELUDE = """
import tempfile, time, torch
from gan_zoo import evaluate
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry
from gan_zoo.training import run as train
torch.set_num_threads({threads})

def run(family, dataset, steps):
    data = open_dataset(registry().dataset(dataset), seed=0)
    train(registry(), family, registry().family(family).Config(), data, out=tempfile.mkdtemp(), seed=0,
          steps=steps, device=torch.device("cpu"), checkpoint_every=10**9)

def nnd():
    evaluate("memorizer", dataset="digits", family_settings=["m=400"], metrics=["nn_distance"],
             nn_distance={{"capacities": [10000], "ensemble": {{"members": 4, "steps": 150}}}})

started = time.perf_counter()
{work}
print(time.perf_counter() - started)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = {(label, threads): [] for label in WORK for threads in (1, 2)}
    for _ in range(args.repeats):
        for label, work in WORK.items():
            for threads in (1, 2):  # alternated, so that both see the same machine load
                code = PRELUDE.format(threads=threads, work=work)
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                times[label, threads].append(float(out.stdout.split()[-1]))
    print("| work | 1 thread (s, median) | 2 threads (s, median) | 2 threads / 1 thread |\n|---|---|---|---|")
    for label in WORK:
        one, two = (statistics.median(times[label, t]) for t in (1, 2))
        print(f"| {label} | {one:.2f} | {two:.2f} | {two / one:.2f} |")
    print(f"runs: {times}")
    print(time.strftime("%Y-%m-%d %H:%M"))


if __name__ == "__main__":
    main()
