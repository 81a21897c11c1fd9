"""A gauntlet's results read per score and family-wise by max-T: measured false-positive rates and detections.

    .venv/bin/python benchmarks/gauntlet_familywise.py RESULTS_FOLDER [--dataset digits]

RESULTS_FOLDER is what `gan-zoo bench gauntlet-quick --out RESULTS_FOLDER` wrote. The runs are read twice: as the
suite asked (`familywise` of its [gauntlet] table, "report" for gauntlet-quick) and with familywise = "maxt";
printed are the held-out false-positive rates per score and for any score, how many detected cells max-T keeps,
and each adversary's detections.
"""

import argparse
import copy
from pathlib import Path

from gan_zoo.app.bench import read_results
from gan_zoo.harness.gauntlet import entries, false_positives
from gan_zoo.registry import registry


def with_familywise(results: list[dict], familywise: str) -> list[dict]:
    changed = copy.deepcopy(results)
    for result in changed:
        if result["job"].get("gauntlet"):
            result["job"]["gauntlet"]["familywise"] = familywise
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--dataset", default="digits")
    args = parser.parse_args()
    results, reg = list(read_results(args.results).values()), registry()
    readings = {"as the suite asked": results, "maxt": with_familywise(results, "maxt")}
    for name, runs in readings.items():
        found = false_positives(runs, reg)[args.dataset]
        rates = ", ".join(f"{row['label']} {row['flagged']}/{row['runs']}" for row in found["scores"].values())
        print(f"{name}: any score flags {found['any']['flagged']}/{found['any']['runs']} clean runs "
              f"({len(found['scores'])} scores read)\n  per score: {rates}")
    cells = {name: {(e["adversary"], e["strength"], e["score"]): e for e in entries(runs, reg)
                    if e["dataset"] == args.dataset} for name, runs in readings.items()}
    per_score, maxt = cells["as the suite asked"], cells["maxt"]
    detected = [key for key, e in per_score.items() if e["detected"]]
    every_run = [key for key in detected if per_score[key]["hits"] == per_score[key]["runs"]]
    print(f"\ncells detected as the suite asked: {len(detected)}, of them under max-T: "
          f"{sum(bool(maxt[key]['detected']) for key in detected)}; detected in every run: {len(every_run)}, of them "
          f"under max-T: {sum(bool(maxt[key]['detected']) for key in every_run)}; under max-T alone: "
          f"{sum(bool(e['detected']) and not per_score[key]['detected'] for key, e in maxt.items())}")
    for name, runs in readings.items():
        table = [e for e in entries(runs, reg) if e["dataset"] == args.dataset]
        print(f"\n{name}: detections (runs detected / runs) per adversary and strength")
        for adversary, strength in sorted({(e["adversary"], e["strength"]) for e in table}, key=str):
            caught = [f"{e['label']} {e['hits']}/{e['runs']}" for e in table
                      if (e["adversary"], e["strength"]) == (adversary, strength) and e["hits"]]
            print(f"  {adversary} {strength}: {', '.join(caught) or 'none'}")


if __name__ == "__main__":
    main()
