"""Do the quick gauntlet's verdicts hold across seeds? Runs `gauntlet-quick` twice, the second time with other
adversary seeds and other control splits, and lists every verdict that differs.

    .venv/bin/python benchmarks/gauntlet_stability.py --out runs/gauntlet-stability [--jobs 2]

Both runs are ordinary bench folders (resumable: run the command again after an interruption).
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from gan_zoo.registry import registry

SECOND = {"seeds": "[1]", "control_seeds": "[200, 201, 202, 203, 204, 205, 206, 207]"}


def second_suite(out: Path) -> Path:
    text = registry().suite("gauntlet-quick").path.read_text()
    for key, value in SECOND.items():
        text, count = re.subn(rf"^{key} = \[[^\]]*\]", f"{key} = {value}", text, flags=re.M)
        assert count == 1, f"gauntlet-quick.toml has no single `{key} = [...]` line"
    path = out / "gauntlet-quick-seed1.toml"
    path.write_text(text.replace("[suite]\n", "[suite]\nname = \"gauntlet-quick-seed1\"\n", 1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/gauntlet-stability"))
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gan_zoo = Path(sys.executable).with_name("gan-zoo")
    folders = {"first": args.out / "seed0", "second": args.out / "seed1"}
    for name, suite in (("first", "gauntlet-quick"), ("second", str(second_suite(args.out)))):
        subprocess.run([str(gan_zoo), "bench", suite, "--out", str(folders[name]), "--jobs", str(args.jobs)],
                       check=True, stdout=subprocess.DEVNULL)
    verdicts = {name: {(e["score"], e["adversary"], e["strength"]): e for e in
                       json.loads((folder / "gauntlet.json").read_text())} for name, folder in folders.items()}
    shared = sorted(set(verdicts["first"]) & set(verdicts["second"]), key=str)
    differ = [key for key in shared if verdicts["first"][key]["detected"] != verdicts["second"][key]["detected"]]
    print(f"{len(shared)} verdicts in both runs, {len(shared) - len(differ)} the same, {len(differ)} differ")
    for key in differ:
        first, second = verdicts["first"][key], verdicts["second"][key]
        print(f"  {first['label']} / {first['adversary']} {first['strength']}: {first['detected']} "
              f"(value {first['value']:.4g}, band {first['band']}) then {second['detected']} (value "
              f"{second['value']:.4g}, band {second['band']})")


if __name__ == "__main__":
    main()
