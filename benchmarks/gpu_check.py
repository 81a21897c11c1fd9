"""The scale benchmark's key rows and one full `gan-zoo eval`, on CUDA and on the CPU with the same seeds (issue 23).

    .venv/bin/python benchmarks/gpu_check.py [--n 10000] [--d 2048] [--threads 1] [--eval-source memorizer]
                                             [--eval-dataset photos32] [--skip-eval]

(a) FD, KID, PRDC, AuthPct, C_T, Vendi and the birthday pair search (functional.* and knn.closest_pairs, as
    benchmarks/scale.py's rows) on n rectified Gaussian features a side of d dimensions (scale.py's "rectified"),
    the same tensors on each device; (b) `gan-zoo eval SOURCE --dataset DATASET --device D` with the same --seed,
    its wall time and its headline numbers from --json. Prints each number and time per device side by side with
    the speed-up (CPU seconds / CUDA seconds). Where CUDA is absent it says so in one line and runs the CPU half:
    GPU figures stay unmeasured.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from scale import gaussian_features  # noqa: E402  (the scale benchmark's features, the same draws)

from gan_zoo.harness import functional as F  # noqa: E402
from gan_zoo.harness import knn  # noqa: E402

ROWS = {
    "fd": lambda r, h, f: {"fd": F.fd(r, f)},
    "kid": lambda r, h, f: {"kid": F.kid(r, f, seed=0)["mean"]},
    "prdc": lambda r, h, f: F.prdc(r, f, k=5),
    "authpct": lambda r, h, f: {"authpct": F.authpct(r, f)},
    "ct": lambda r, h, f: {"ct": F.ct_test(r, h, f)["ct"]},
    "vendi": lambda r, h, f: {"vendi": F.vendi(f)},
    "birthday": lambda r, h, f: {"closest": knn.closest_pairs(f).distances[0].item()},
}
EVAL_METRICS = "fd,kid,prdc,authpct,ct,vendi,birthday,nn_distance"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def key_rows(args, device: torch.device) -> dict:
    """{row: (seconds, numbers)} on one device; a first small call per row pays CUDA's and the kernels' set-up."""
    real, heldout, fake = (x.to(device) for x in gaussian_features(args.n, args.d, "rectified"))
    out = {}
    for name, row in ROWS.items():
        row(real[:200], heldout[:200], fake[:200])  # warm-up
        synchronize(device)
        started = time.perf_counter()
        numbers = row(real, heldout, fake)
        synchronize(device)
        out[name] = (time.perf_counter() - started, numbers)
    return out


def full_eval(args, device: str, folder: Path) -> tuple[float, dict]:
    """(wall seconds, {metric: its record}) of one `gan-zoo eval` in a fresh process."""
    path = folder / f"eval-{device}.json"
    command = [str(Path(sys.executable).parent / "gan-zoo"), "eval", args.eval_source, "--dataset", args.eval_dataset,
               "--metrics", EVAL_METRICS, "--discriminator", "conv", "--capacities", args.capacities,
               "--ensemble", str(args.ensemble), "--ensemble-steps", str(args.ensemble_steps), "--seed", "0",
               "--device", device, "--threads", str(args.threads), "--json", str(path), "--force", "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if not path.exists():
        sys.exit(f"gan-zoo eval --device {device} wrote no record (exit {done.returncode}): "
                 f"{(done.stderr.strip().splitlines() or [''])[-1]}")
    return seconds, json.loads(path.read_text())["metrics"]


def headline(record: dict) -> str:
    """A metric record's first few numbers, for comparing the devices by eye."""
    if "error" in record:
        return f"error: {record['error']}"
    numbers = [f"{key} {value:.5g}" for key, value in record.items()
               if isinstance(value, int | float) and not isinstance(value, bool)]
    nested = [value[0] for value in record.values() if isinstance(value, list) and value and isinstance(value[0], dict)]
    if not numbers and nested:  # nn_distance: one record per capacity
        return headline(nested[0])
    return ", ".join(numbers[:4])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="items a side in the key rows")
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the CPU half")
    parser.add_argument("--eval-source", default="memorizer")
    parser.add_argument("--eval-dataset", default="photos32")
    parser.add_argument("--capacities", default="1e5,1e6")
    parser.add_argument("--ensemble", type=int, default=8)
    parser.add_argument("--ensemble-steps", type=int, default=300)
    parser.add_argument("--skip-eval", action="store_true", help="the key rows only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
        card = torch.cuda.get_device_name(0)
    else:
        card = None
        print(f"CUDA is not available here (torch {torch.__version__}): GPU figures unmeasured; running the CPU "
              f"half only", flush=True)
    print(f"key rows: n = {args.n} a side, d = {args.d}, rectified features; CPU torch threads {args.threads}"
          + (f"; CUDA card: {card}" if card else "") + f"; load average {os.getloadavg()[0]:.1f}\n")
    rows = {device: key_rows(args, torch.device(device)) for device in devices}
    print("| row | " + " | ".join(f"{d} s" for d in devices) + " | speed-up | "
          + " | ".join(f"{d} numbers" for d in devices) + " |")
    print("|---" * (2 + 2 * len(devices)) + "|")
    for name in ROWS:
        seconds = [rows[d][name][0] for d in devices]
        speed = f"{seconds[0] / seconds[1]:.1f}x" if len(devices) == 2 else "unmeasured"
        numbers = [", ".join(f"{k} {v:.6g}" for k, v in rows[d][name][1].items()) for d in devices]
        print(f"| {name} | " + " | ".join(f"{s:.2f}" for s in seconds) + f" | {speed} | " + " | ".join(numbers)
              + " |", flush=True)
    if args.skip_eval:
        return
    with tempfile.TemporaryDirectory() as folder:
        evals = {device: full_eval(args, device, Path(folder)) for device in devices}
    print(f"\nfull eval: gan-zoo eval {args.eval_source} --dataset {args.eval_dataset} --metrics {EVAL_METRICS} "
          f"--discriminator conv --capacities {args.capacities} --ensemble {args.ensemble} --ensemble-steps "
          f"{args.ensemble_steps} --seed 0\n")
    seconds = [evals[d][0] for d in devices]
    speed = f"{seconds[0] / seconds[1]:.1f}x" if len(devices) == 2 else "unmeasured"
    print("| | " + " | ".join(devices) + " |\n|---" * 1 + "|---" * len(devices) + "|")
    print("| wall s | " + " | ".join(f"{s:.1f}" for s in seconds) + " |")
    for metric in evals["cpu"][1]:
        print(f"| {metric} | " + " | ".join(headline(evals[d][1].get(metric, {})) for d in devices) + " |")
    print(f"\nspeed-up of the full eval (CPU / CUDA wall time): {speed}")


if __name__ == "__main__":
    main()
