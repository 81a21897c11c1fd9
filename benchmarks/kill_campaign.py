"""Kill -9 a suite again and again, at random moments, until it finishes; then compare with an uninterrupted run.

    .venv/bin/python benchmarks/kill_campaign.py --out runs/kill-campaign [--kills 30] [--jobs 2] [--seed 0]

A small suite (ring8: two trained families with checkpoints every 100 steps, a memorizer, a finite source) runs
once uninterrupted into OUT/reference. Then OUT/killed is run with SIGKILL sent to the whole process group after
a random delay, at most --kills times, until a run completes. Checked at the end:
  - every job has exactly one result and each result equals the reference's numbers (the evaluation records,
    timings and host details aside);
  - no half-written file (.NAME.*.gan-zoo-partial) is left; no worker process outlives the runner (only the runner is
    killed, as `kill -9 PID` would; its workers must die with it);
  - what each kill interrupted (the running jobs' phases, read as the runner would).
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gan_zoo.files import TEMPORARY_GLOB

SUITE = """
[suite]
description = "kill campaign: trained families with checkpoints, a memorizer, a finite source"
datasets = ["ring8"]
seeds = [0]

[eval]
metrics = ["nn_distance", "birthday", "modes", "prdc"]

[eval.nn_distance]
capacities = [300, 3000]
max_items = 500
ensemble = {members = 2, steps = 60}

[[family]]
name = "vanilla"
steps = 1500

[[family]]
name = "wgan"
steps = 800

[[family]]
name = "memorizer"
set = {m = 50}

[[source]]
source = "points.npy"
label = "finite points"
"""

GRACE = 15.0  # seconds for the runner's helpers to notice it died (a worker still importing torch, say)
VOLATILE = {"timings", "versions", "threads"}  # what may differ between two runs of the same job


def numbers(record: dict) -> dict:
    return {k: v for k, v in record["eval"].items() if k not in VOLATILE}


def run(gan_zoo: Path, suite: Path, out: Path, jobs: int, kill_after: float | None) -> tuple[bool, list[str]]:
    """One bench run; returns (completed, phases of the running jobs when it was killed)."""
    process = subprocess.Popen([str(gan_zoo), "bench", str(suite), "--out", str(out), "--jobs", str(jobs), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=kill_after)
        return process.returncode == 0, []
    except subprocess.TimeoutExpired:
        phases = sorted(p.read_text().strip() for p in out.glob("jobs/*/.phase")
                        if not (out / "results" / f"{p.parent.name}.json").exists())
        os.kill(process.pid, signal.SIGKILL)  # the runner alone, as `kill -9 PID` would: its workers must follow
        process.wait()
        deadline = time.monotonic() + GRACE
        while survivors(process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        stray = survivors(process.pid)
        if stray:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"worker processes outlived the killed runner: {stray}") from None
        return False, phases


def survivors(group: int) -> list[str]:
    """Processes still running in the killed runner's process group (dead ones not yet reaped, <defunct>, are
    not running: a container's init may be slow to reap them)."""
    found = subprocess.run(["pgrep", "-g", str(group), "-a"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "<defunct>" not in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/kill-campaign"))
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-delay", type=float, default=3.0, help="seconds; the CLI takes about that to start")
    parser.add_argument("--max-delay", type=float, default=25.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    suite = args.out / "kill.toml"
    suite.write_text(SUITE)
    np.save(args.out / "points.npy", np.random.default_rng(0).normal(size=(3000, 2)).astype(np.float32))
    gan_zoo = Path(sys.executable).with_name("gan-zoo")
    started = time.perf_counter()
    assert run(gan_zoo, suite, args.out / "reference", args.jobs, None)[0], "the uninterrupted run failed"
    print(f"reference run: {time.perf_counter() - started:.0f} s")
    rng, killed, interrupted = random.Random(args.seed), args.out / "killed", []
    for attempt in range(args.kills + 1):
        last = attempt == args.kills  # after the kills, one run to completion
        delay = None if last else rng.uniform(args.min_delay, args.max_delay)
        done, phases = run(gan_zoo, suite, killed, args.jobs, delay)
        if done:
            break
        interrupted.append({"after": round(delay, 1), "running": phases})
    reference = {p.name: json.loads(p.read_text()) for p in (args.out / "reference" / "results").glob("*.json")}
    results = {p.name: json.loads(p.read_text()) for p in (killed / "results").glob("*.json")}
    assert results.keys() == reference.keys(), (sorted(results), sorted(reference))
    differing = [name for name in results if numbers(results[name]) != numbers(reference[name])]
    leftovers = [str(p) for p in killed.rglob(TEMPORARY_GLOB)]  # the lock file stays: a lock is held, not a file
    print(f"{len(interrupted)} kills, then a run to completion; {len(results)} jobs, each with one result")
    print(f"results equal to the uninterrupted run's: {len(results) - len(differing)} of {len(results)}"
          + (f" (differ: {differing})" if differing else ""))
    print(f"half-written files left: {len(leftovers)} {leftovers if leftovers else ''}")
    phases = [phase for kill in interrupted for phase in kill["running"]] or ["(between jobs or starting)"]
    kinds = sorted({phase.split(",")[0].split(":")[0] for phase in phases})
    print(f"interrupted while: {', '.join(kinds)}")
    for kill in interrupted:
        print(f"  killed after {kill['after']} s: {'; '.join(kill['running']) or 'starting, or between jobs'}")


if __name__ == "__main__":
    main()
