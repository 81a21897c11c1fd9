"""Every metric on digits: the real reference each metric computes beside itself (real held-out data under the
same protocol), vanilla and wgan-gp trained at their image defaults, and the memorizer at m = 50 and m = 1000.

Run: .venv/bin/python benchmarks/metrics_table.py [--out runs/metrics-table]
"""

import argparse
import json
from pathlib import Path

import torch

from gan_zoo import evaluate
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry
from gan_zoo.training import run

METRICS = ["inception_score", "fd", "prdc", "kid", "mifid", "ct", "authpct", "vendi", "birthday"]


def row(metrics: dict) -> list[str]:
    m = metrics
    return [f"{m['inception_score']['at_real_n']['mean']:.2f}", f"{m['fd']['value']:.2f}",
            f"{m['prdc']['precision']:.3f} / {m['prdc']['recall']:.3f} / {m['prdc']['density']:.3f} / "
            f"{m['prdc']['coverage']:.3f}", f"{m['kid']['mean']:.4f}", f"{m['mifid']['mifid']:.3g}",
            f"{m['ct']['ct']:.2f}", f"{m['authpct']['authpct']:.1f}%", f"{m['vendi']['vendi']:.2f}",
            f"{m['birthday']['support']['value']:.3g} ({m['birthday']['support']['kind']})"]


def real_row(m: dict) -> list[str]:
    """What real held-out data scores under each metric's own protocol (the references each result carries)."""
    p = m["prdc"]["real_vs_real"]
    return [f"{m['inception_score']['real']['mean']:.2f}", f"{m['fd']['real_floor']:.2f}",
            f"{p['precision']:.3f} / {p['recall']:.3f} / {p['density']:.3f} / {p['coverage']:.3f}",
            f"{m['kid']['real_vs_real']['mean']:.4f}", f"{m['mifid']['real_vs_real']['mifid']:.3g}", "0 (its null)",
            f"{m['authpct']['real_heldout']:.1f}%", f"{m['vendi']['real']:.2f}", "-"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/metrics-table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    data = open_dataset(registry().dataset("digits"), seed=0)
    sources = {}
    for family in ("vanilla", "wgan-gp"):
        config = registry().family(family).Config()
        trained = run(registry(), family, config, data, out=out / family, seed=0,
                      steps=registry().family(family).steps_for(data.spec), device=torch.device("cpu"))
        sources[family] = (str(trained.checkpoint), ())
    sources["memorizer m=50"] = ("memorizer", ["m=50"])
    sources["memorizer m=1000"] = ("memorizer", ["m=1000"])
    records = {label: evaluate(source, dataset="digits", metrics=METRICS, seed=0, family_settings=settings)
               for label, (source, settings) in sources.items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "records.json").write_text(json.dumps(records, indent=1))
    print("| source | IS at real n | FD | P / R / D / C | KID | MiFID | C_T | AuthPct | Vendi | birthday support |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    first = next(iter(records.values()))["metrics"]
    print("| real held-out data (each metric's reference) | " + " | ".join(real_row(first)) + " |")
    for label, record in records.items():
        assert not record["errors"], record["errors"]
        print(f"| {label} | " + " | ".join(row(record["metrics"])) + " |")


if __name__ == "__main__":
    main()
