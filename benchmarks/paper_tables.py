"""The tables of RESULTS.md's `paper` section, from the results folder of `gan-zoo bench paper`.

    .venv/bin/gan-zoo bench paper --out runs/paper --jobs 2
    .venv/bin/python benchmarks/paper_tables.py runs/paper
"""

import argparse
import statistics
from pathlib import Path

from gan_zoo.app.bench import read_results
from gan_zoo.harness.nn_distance import detected, reading


def nnd(entry: dict) -> str:
    low, high = entry["ci"]
    verdict = reading(entry)["verdict"]  # "fooled" only where the test could have seen a gap that matters
    return f"{entry['heldout_gap']:.3f} [{low:.3f}, {high:.3f}]{'' if verdict == 'detected' else ' ' + verdict}"


def memorizers(results: list[dict]) -> None:
    rows = sorted((r for r in results if r["job"]["family"] == "memorizer"),
                  key=lambda r: (r["job"]["dataset"] != "digits", r["job"]["config"]["m"]))
    floors = rows[0]["eval"]["metrics"]["nn_distance"]["capacities"]
    print("| m | " + " | ".join(f"NND p ~ {e['target_p']:.0e} (floor {e['noise_floor']:.3f})".replace("e+0", "e")
                                for e in floors)
          + " | s50 | support ML | collisions [99% CI] |")
    print("|---|" + "---|" * (len(floors) + 3))
    for record in rows:
        metrics, m = record["eval"]["metrics"], record["job"]["config"]["m"]
        birthday = metrics["birthday"]
        low, high = birthday["support"]["ci"]
        ml = "-" if birthday["ml_estimate"] is None else f"{birthday['ml_estimate']:.0f}"
        where = "" if record["job"]["dataset"] == "digits" else f" ({record['job']['dataset']})"
        print(f"| {m}{where} | " + " | ".join(nnd(e) for e in metrics["nn_distance"]["capacities"])
              + f" | {birthday['s50']} | {ml} | {birthday['support']['value']:.0f} [{low:.0f}, {high:.0f}] |")


def constructions(results: list[dict]) -> None:
    print("\n| family | NND per p (joint) | floors | birthday [99% CI] / ML | probe (chance) | IS at real n (real) |")
    print("|---|---|---|---|---|---|")
    for record in results:
        if record["job"]["family"] not in ("ed-memorizer", "relu-memorizer", "bigan", "ali", "gaussian-memorizer"):
            continue
        metrics = record["eval"]["metrics"]
        entries = metrics["nn_distance"]["capacities"]
        birthday, probe, score = metrics.get("birthday"), metrics.get("probe"), metrics.get("inception_score")
        low, high = birthday["support"]["ci"]
        support = (f"{birthday['support']['value']:.0f} [{low:.0f}, {high:.0f}]" if birthday["collisions"]
                   else f"> {low:.0f}")
        ml = "" if birthday["ml_estimate"] is None else f" / {birthday['ml_estimate']:.0f}"
        print(f"| {record['eval']['display_name']} {record['job']['overrides'] or ''} | "
              + " / ".join(f"{e['heldout_gap']:.3f}" for e in entries) + " | "
              + " / ".join(f"{e['noise_floor']:.3f}" for e in entries) + f" | {support}{ml} | "
              + (f"{probe['accuracy']:.3f} ({probe['chance']:.3f})" if probe else "-") + " | "
              + (f"{score['at_real_n']['mean']:.2f} ({score['real']['mean']:.2f}, n={score['real']['n']})"
                 if score else "-") + " |")


def mixtures(results: list[dict]) -> None:
    print("\n| data | family | modes | high quality | NND 1e3 / 1e4 / 1e5 (floors) | seeds detected per p |\n"
          "|---|---|---|---|---|---|")
    groups: dict[tuple, list[dict]] = {}
    for record in results:
        if record["job"]["family"] in ("vanilla", "mix"):
            groups.setdefault((record["job"]["dataset"], record["eval"]["display_name"]), []).append(record)
    for (dataset, name), records in sorted(groups.items()):
        modes = [r["eval"]["metrics"]["modes"]["modes_captured"] for r in records]
        quality = statistics.mean(r["eval"]["metrics"]["modes"]["high_quality_fraction"] for r in records)
        per_p = list(zip(*(r["eval"]["metrics"]["nn_distance"]["capacities"] for r in records), strict=True))
        gaps = " / ".join(f"{statistics.mean(e['heldout_gap'] for e in entries):.3f}" for entries in per_p)
        floors = " / ".join(f"{statistics.mean(e['noise_floor'] for e in entries):.3f}" for entries in per_p)
        seen = " / ".join(f"{sum(detected(e) for e in entries)}/{len(entries)}" for entries in per_p)
        print(f"| {dataset} | {name} | {statistics.mean(modes):.1f} +- {statistics.stdev(modes):.1f} | "
              f"{quality:.1%} | {gaps} ({floors}) | {seen} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    results = [r for r in read_results(args.folder).values() if r["status"] == "ok"]
    memorizers(results)
    constructions(results)
    mixtures(results)


if __name__ == "__main__":
    main()
