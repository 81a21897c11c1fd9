"""Leaderboards from a folder of job results: Markdown, a self-contained HTML page, and JSON, with plots.

One leaderboard per data set, one row per family and config (its seeds pooled: each number is the mean over
seeds, with the standard deviation beside it when there are several).

Default order: the held-out neural-net distance at the largest capacity minus its noise floor, smallest
first (closest to real data as the strongest discriminators see it), rows measured on items before encoder
families measured on (x, z) pairs (their gaps are not comparable). Read it beside the memorisation check: a
memorising generator can top this order, which is the failure the harness exists to show. Each data set names its
best trained model by BEST_RULE.

The columns are the registered metrics' own (gan_zoo.Metric.columns), so a plugin's metric shows up here with
no change to this file.

JSON schema `gan-zoo-leaderboard/2`:
  schema, generated (UTC), results (the folder), suite (name or null), sort (the default order in words),
  datasets {NAME: {capacities [target p], columns [{key, header}], about {column key: {metric, about (what it
  measures and which way is worse), group}}, rows [ROW], best {label (null when no row qualifies), text}
  (BEST_RULE), plots {nn_distance, birthday, precision_recall: file names}}}, failures [{key, title, status,
  error}], versions (of the first good result), gauntlet (when the folder holds gauntlet jobs: {entries:
  "gauntlet.json", ladders, plots}; app/gauntlet_report.py)
ROW: label, family ("" for an external source), source (what was judged), display_name, overrides, seeds, keys,
  excess (the sort key), constructed, pairs (its NND measured on (x, z) pairs), memorisation ({ran: [test],
  flagged: {test: reason}} over the copying tests birthday, C_T, AuthPct, MiFID; null when none ran), quality
  (why its samples look like a failed training run, or null), cells {column key: {header, mean, sd, n, text,
  mark}} (sd null for one seed; text, when the metric gives one, for a row of one seed; mark, a caveat of any
  seed's, shown after the cell), and for the plots: nn_heldout
  {target p: {mean, sd, n}}, nn_ci {target p: [low, high]} (one seed: its bootstrap CI; several: a t-interval
  over seeds), nn_p, noise_floor, p_duplicate_by_s; true_support (a construction's exact support, else null),
  train_seconds, eval_seconds;
  samples and montage (artifact paths of the first seed, or null); trajectory and trajectory_plots {metric: path}
  (a tracked family's, of its first seed; `plots` then holds trajectory-SCORE: every tracked row on one axis)
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gan_zoo.app import gauntlet_report
from gan_zoo.app.checks import COVERAGE_FAILED, FD_FAILED, failure_reasons
from gan_zoo.app.plots import figure_png, pyplot
from gan_zoo.app.tracking import comparison_plots
from gan_zoo.files import atomic_write_bytes, atomic_write_json
from gan_zoo.metrics import record_columns
from gan_zoo.registry import Registry
from gan_zoo.registry import registry as default_registry

SCHEMA = "gan-zoo-leaderboard/2"
FORMATS = ("md", "html", "json")
SORT = ("held-out neural-net distance at the largest capacity minus its noise floor, ascending (encoder families "
        "measured on (x, z) pairs after the rows measured on items)")
BEST_LABEL = "Best trained model:"
INTRO = ("A constructed family near the top is not a winner: memorisers are built to fool finite discriminators, "
         "which is what the harness exists to show. Read every row with its memorisation check (every copying test "
         "that ran) and the notes under each table.")


def _summary(values: list[float | None]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
    return {"mean": mean, "sd": sd, "n": len(values)}


def _interval(values: list[float], single_ci: list[float] | None) -> list[float] | None:
    if len(values) == 1:
        return single_ci
    if not values:
        return None
    from scipy.stats import t

    s = _summary(values)
    half = t.ppf(0.975, len(values) - 1) * s["sd"] / math.sqrt(len(values))
    return [s["mean"] - half, s["mean"] + half]


def _row_label(job: dict, display_name: str) -> str:
    if job.get("label"):
        return job["label"]
    settings = ", ".join(f"{k}={v}" for k, v in sorted(job.get("overrides", {}).items()))
    return f"{display_name} ({settings})" if settings else display_name


def _metric(records, *path):
    values = []
    for record in records:
        value = record
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        values.append(value)
    return values


def build(results: list[dict], *, folder: str, suite: str | None, registry: Registry | None = None) -> dict:
    """The leaderboard as data (the JSON format); the other formats render it."""
    reg = registry or default_registry()
    ok = [r for r in results if r["status"] == "ok"]
    failures = [{"key": r["key"], "title": _title(r["job"]), "status": r["status"], "error": r["error"]}
                for r in results if r["status"] != "ok"]
    datasets = {}
    for name in sorted({r["job"]["dataset"] for r in ok}):
        groups: dict[str, list[dict]] = {}
        for record in sorted((r for r in ok if r["job"]["dataset"] == name), key=lambda r: r["job"]["seed"]):
            job = record["job"]
            identity = json.dumps([job["family"], job.get("source", ""), job["config"], job["steps"], job["eval"],
                                   job["label"]], sort_keys=True)
            groups.setdefault(identity, []).append(record)
        rows = [_row(records, reg) for records in groups.values()]
        # gaps on (x, z) pairs are not comparable with gaps on items: encoder families are ranked among themselves
        rows.sort(key=lambda row: (row["pairs"], row["excess"] is None,
                                   row["excess"] if row["excess"] is not None else 0, row["label"]))
        headers, about = {}, {}
        for row in rows:
            for key, cell in row["cells"].items():
                headers.setdefault(key, cell["header"])
                metric, text = cell.pop("metric"), cell.pop("about")  # said once per column, not per cell
                about.setdefault(key, {"metric": metric, "about": text, "group": _group(key, metric)})
        capacities = sorted({int(p) for row in rows for p in row["nn_heldout"]})
        datasets[name] = {"capacities": capacities, "columns": [{"key": k, "header": h} for k, h in headers.items()],
                          "about": about, "rows": rows, "best": best(rows), "plots": {}}
    return {"schema": SCHEMA, "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "results": folder, "suite": suite, "sort": SORT, "datasets": datasets, "failures": failures,
            "versions": ok[0]["eval"]["versions"] if ok else None}


def _title(job: dict) -> str:
    return f"{job.get('label') or job['family'] or job.get('source')} on {job['dataset']}, seed {job['seed']}"


def _row(records: list[dict], reg: Registry) -> dict:
    first = records[0]
    evals = [r["eval"] for r in records]
    metrics = [e["metrics"] for e in evals]
    pooled: dict[str, dict] = {}
    for record in evals:
        for metric, column in record_columns(record, reg):
            cell = pooled.setdefault(column.key, {"header": column.header, "values": [], "texts": [], "mark": None,
                                                  "metric": metric.name, "about": _about(metric, column)})
            cell["values"].append(column.value)
            cell["texts"].append(column.text)
            cell["mark"] = cell["mark"] or column.mark
    cells = {}
    for key, cell in pooled.items():
        summary = _summary(cell["values"])
        text = cell["texts"][0] if len(cell["texts"]) == 1 else None
        cells[key] = {"header": cell["header"], **(summary or {"mean": None, "sd": None, "n": 0}), "text": text,
                      "metric": cell["metric"], "about": cell["about"], "mark": cell["mark"]}
    by_capacity: dict[int, list[dict]] = {}
    for m in metrics:
        for entry in (m.get("nn_distance") or {}).get("capacities", []):
            by_capacity.setdefault(int(entry["target_p"]), []).append(entry)
    nn_heldout = {p: _summary([e["heldout_gap"] for e in es]) for p, es in by_capacity.items()}
    floors = {p: _summary([e["noise_floor"] for e in es]) for p, es in by_capacity.items()}
    largest = max(by_capacity, default=None)
    excess = None if largest is None else nn_heldout[largest]["mean"] - floors[largest]["mean"]
    return {
        "label": _row_label(first["job"], first["eval"]["display_name"]), "family": first["job"]["family"],
        "source": first["eval"]["source"], "display_name": first["eval"]["display_name"],
        "overrides": first["job"]["overrides"], "seeds": [r["job"]["seed"] for r in records],
        "keys": [r["key"] for r in records], "excess": excess, "cells": cells,
        "nn_heldout": nn_heldout, "noise_floor": floors,
        "nn_ci": {p: _interval([e["heldout_gap"] for e in es], es[0]["ci"]) for p, es in by_capacity.items()},
        "nn_p": {p: es[0]["p"] for p, es in by_capacity.items()},
        "p_duplicate_by_s": _metric(metrics, "birthday", "p_duplicate_by_s")[0],
        "pairs": bool(_metric(metrics, "nn_distance", "pairs")[0]),
        "true_support": (first["eval"]["facts"] or {}).get("support"),
        "constructed": _constructed(first["job"]["family"], reg),
        "memorisation": memorisation(evals), "quality": training_failed(evals),
        "note": _note(first["job"]["family"], reg),
        "train_seconds": _summary(_metric(records, "train", "seconds")),
        "eval_seconds": _summary([sum(r["eval"]["timings"].values()) for r in records]),
        "samples": first.get("artifacts", {}).get("samples"), "montage": first.get("artifacts", {}).get("montage"),
        "trajectory": first.get("artifacts", {}).get("trajectory"),
        "trajectory_plots": {kind.removeprefix("trajectory-"): path for kind, path in
                             first.get("artifacts", {}).items() if kind.startswith("trajectory-")},
    }


COPY_TESTS = ("birthday", "ct", "authpct", "mifid")
COPY_NAMES = {"birthday": "birthday", "ct": "C_T", "authpct": "AuthPct", "mifid": "MiFID"}
CT_COPYING = -3.0  # C_T is a z-score with null 0: below -3 is far outside what fresh data gives (control 0 ± 0.5)
AUTH_COPYING = 0.5  # AuthPct below half of what held-out real items score (about 69% on digits): near copies


def _copying(name: str, result: dict, record: dict) -> str | None:
    """Why one copying test says a record's samples copy training items, each against real data measured the same
    way (None: it does not say so)."""
    if name == "birthday":
        n_train = (record.get("dataset") or {}).get("n_train")
        high = result["support"]["ci"][1] if result["support"]["kind"] == "estimate" else None
        if n_train and high is not None and high < n_train:
            return (f"birthday support <= {high:.3g} ({result['support']['ci_level']:.0%}), below {n_train} "
                    f"training items")
    elif name == "ct" and result["ct"] < CT_COPYING:
        return f"C_T {result['ct']:.3g} < {CT_COPYING:g} (null 0)"
    elif name == "authpct" and result["authpct"] < AUTH_COPYING * result["real_heldout"]:
        return f"AuthPct {result['authpct']:.3g}% < half of held-out real {result['real_heldout']:.3g}%"
    elif name == "mifid" and result["penalised"] and not result["real_vs_real"]["penalised"]:
        return (f"MiFID penalty on: cosine distance to training {result['distance']:.3g} < "
                f"{result['cosine_threshold']:g} (real {result['real_vs_real']['distance']:.3g})")
    return None


def memorisation(evals: list[dict]) -> dict | None:
    """Every copying test that ran (birthday, C_T, AuthPct, MiFID) and the reasons of those that flag copying in
    any seed: {ran: [test], flagged: {test: reason}}; None when none ran."""
    ran, flagged = [], {}
    for record in evals:
        for name in COPY_TESTS:
            result = record["metrics"].get(name)
            if result is None:
                continue
            if COPY_NAMES[name] not in ran:
                ran.append(COPY_NAMES[name])
            reason = _copying(name, result, record)
            if reason:
                flagged.setdefault(COPY_NAMES[name], reason)
    return {"ran": ran, "flagged": flagged} if ran else None


def memorisation_text(check: dict | None) -> str:
    if check is None:
        return "-"
    if check["flagged"]:
        return f"MEMORISES? ({', '.join(check['flagged'])}) " + "; ".join(check["flagged"].values())
    return f"no copying found ({', '.join(check['ran'])})"


def training_failed(evals: list[dict]) -> str | None:
    """Why a model's samples look like a failed training run (app/checks.py's rule on the evaluation's FD and
    coverage), or None."""
    for record in evals:
        fd, prdc = record["metrics"].get("fd"), record["metrics"].get("prdc")
        reasons = failure_reasons(*(fd["value"], fd["real_floor"]) if fd else (None, None),
                                  *(prdc["coverage"], prdc["real_vs_real"]["coverage"]) if prdc else (None, None))
        if reasons:
            return "FAILED? " + "; ".join(reasons)
    return None


BEST_RULE = ("The best trained model of a data set is, among rows that are not constructions, not flagged by a "
             "copying test and not flagged as failed, the one with the smallest held-out neural-net distance over its "
             "noise floor at the largest capacity (rows measured on items before encoder families measured on (x, z) "
             "pairs, whose gaps are not comparable); rows within the leader's 95% interval count as tied, and the "
             "smallest FD among them wins.")


def best(rows: list[dict]) -> dict:
    """The best trained model of a data set's rows by BEST_RULE: {label, text} (label None when no row qualifies)."""
    candidates = [r for r in rows if not r["constructed"] and r["excess"] is not None and not r["quality"]
                  and not (r["memorisation"] or {}).get("flagged")]
    if not candidates:
        return {"label": None, "text": "no trained model qualifies (every row is a construction, copies, or failed)"}
    kind = min(r["pairs"] for r in candidates)
    candidates = sorted((r for r in candidates if r["pairs"] == kind), key=lambda r: r["excess"])
    leader = candidates[0]
    largest = max(leader["nn_heldout"], key=int)
    low, high = leader["nn_ci"][largest] or [leader["excess"], leader["excess"]]
    tied = [r for r in candidates if r["excess"] - leader["excess"] <= (high - low) / 2]
    fd = {r["label"]: (r["cells"].get("fd") or {}).get("mean") for r in tied}
    chosen = min(tied, key=lambda r: fd[r["label"]]) if len(tied) > 1 and None not in fd.values() else leader
    text = (f"{chosen['label']}: NND over its floor {chosen['excess']:.3g} at p≈{_short(largest)}"
            f"{' on (x, z) pairs' if kind else ''}")
    if len(tied) > 1:
        others = ", ".join(r["label"] for r in tied if r is not chosen)
        text += (f"; tied within the interval with {others}, decided by FD {fd[chosen['label']]:.3g}"
                 if chosen is not leader or None not in fd.values() else f"; tied within the interval with {others}")
    return {"label": chosen["label"], "text": text}


def _short(p: int) -> str:  # as the NND headers write a capacity: 1e3
    return f"{p:.0e}".replace("e+0", "e")


def _constructed(family: str, reg: Registry) -> bool:
    cls = reg.families.get(family)
    return cls is not None and cls.kind == "constructed"


def _about(metric, column) -> str:
    """A column's tooltip and legend entry: what it measures and which way is worse."""
    if column.key.endswith(".floor"):
        return "the noise floor: real held-out data against itself with the same discriminators (no direction)"
    return f"{metric.description}; {metric.worse} is worse"


GROUPS = ("neural-net distance on items", "neural-net distance on (x, z) pairs", "copying tests", "sample quality")


def _group(key: str, metric: str) -> str:
    if metric == "nn_distance":
        return "neural-net distance on (x, z) pairs" if "pairs]" in key else "neural-net distance on items"
    return "copying tests" if metric in COPY_TESTS else "sample quality"


def _note(family: str, reg: Registry) -> str | None:
    """For a constructed family: what it is built to do and what a reader should expect of it."""
    cls = reg.families.get(family)
    if cls is None or cls.kind != "constructed":
        return None
    return f"{cls.description}. {getattr(cls, 'expectation', '')}".strip()


# -- plots -----------------------------------------------------------------------------------------------------

def _line_plot(title: str, xlabel: str, ylabel: str, draw) -> bytes:
    """A log-x line plot with the legend beside it, as PNG bytes; draw(axes) adds the lines."""
    figure, axes = pyplot().subplots(figsize=(7, 4.5))
    draw(axes)
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_png(figure)


def nn_distance_plot(name: str, board: dict) -> bytes | None:
    """Held-out neural-net distance against capacity, one line per row, with CIs and the noise floor."""
    rows = [row for row in board["rows"] if row["nn_heldout"]]
    return _line_plot(f"{name}: neural-net distance against capacity", "discriminator capacity p (parameters)",
                      "held-out neural-net distance", lambda axes: _draw_nn_distance(axes, rows)) if rows else None


MARKERS = "osD^v<>px*h"
LINES = ("-", "--", "-.", ":")


def _style(index: int, count: int) -> dict:
    """A marker, a line style and a small sideways offset per row, so that lines on top of each other still show."""
    return {"marker": MARKERS[index % len(MARKERS)], "linestyle": LINES[index // len(MARKERS) % len(LINES)],
            "dodge": 1.0 + 0.04 * (index - (count - 1) / 2)}


def _draw_nn_distance(axes, rows: list[dict]) -> None:
    for index, row in enumerate(rows):
        style = _style(index, len(rows))
        ps = sorted(row["nn_heldout"], key=int)
        x = [row["nn_p"][p] * style["dodge"] for p in ps]
        y = [row["nn_heldout"][p]["mean"] for p in ps]
        low = [y_i - (row["nn_ci"][p] or [y_i, y_i])[0] for p, y_i in zip(ps, y, strict=True)]
        high = [(row["nn_ci"][p] or [y_i, y_i])[1] - y_i for p, y_i in zip(ps, y, strict=True)]
        axes.errorbar(x, y, yerr=[[max(v, 0) for v in low], [max(v, 0) for v in high]], marker=style["marker"],
                      linestyle=style["linestyle"], capsize=3, label=row["label"])
    # each kind of discriminator input has its own floor: items alone, or (x, z) pairs for encoder families
    for kind, members in _by_floor_kind(rows).items():
        floor_ps = sorted({p for row in members for p in row["noise_floor"]}, key=int)
        floor = [_summary([row["noise_floor"][p]["mean"] for row in members if p in row["noise_floor"]])["mean"]
                 for p in floor_ps]
        axes.plot([members[0]["nn_p"].get(p, int(p)) for p in floor_ps], floor, color="black",
                  linestyle="--" if kind == "items" else ":", linewidth=1.5, label=f"noise floor, {kind}")
    axes.set_yscale("symlog", linthresh=1e-3)  # held-out gaps can be negative; symlog is log-like above 1e-3


def _by_floor_kind(rows: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for row in rows:
        kinds.setdefault("(x, z) pairs" if row["pairs"] else "items", []).append(row)
    return kinds


def birthday_plot(name: str, board: dict) -> bytes | None:
    rows = [row for row in board["rows"] if row["p_duplicate_by_s"]]

    def draw(axes):
        for index, row in enumerate(rows):
            style = _style(index, len(rows))
            sizes = sorted(row["p_duplicate_by_s"], key=int)
            axes.plot([int(s) * style["dodge"] for s in sizes],
                      [row["p_duplicate_by_s"][s] + 0.01 * (index - (len(rows) - 1) / 2) for s in sizes],
                      marker=style["marker"], linestyle=style["linestyle"], label=row["label"])
        axes.axhline(0.5, color="grey", linestyle=":", linewidth=1)

    return _line_plot(f"{name}: birthday test", "sample size s", "P(duplicate among s samples)", draw) if rows else None


def precision_recall_plot(name: str, board: dict) -> bytes | None:
    """Precision against recall (Kynkaanniemi et al.'s picture): memorisers sit high on precision, mode droppers
    low on recall, real data near (1, 1)."""
    rows = [row for row in board["rows"] if all((row["cells"].get(f"prdc.{k}") or {}).get("mean") is not None
                                                for k in ("precision", "recall"))]
    if not rows:
        return None
    figure, axes = pyplot().subplots(figsize=(6, 5))
    for index, row in enumerate(rows):
        recall, precision = row["cells"]["prdc.recall"]["mean"], row["cells"]["prdc.precision"]["mean"]
        axes.scatter(recall, precision, marker=MARKERS[index % len(MARKERS)], label=row["label"])
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("recall (share of real data the samples cover)")
    axes.set_ylabel("precision (share of samples on the real data)")
    axes.set_title(f"{name}: precision against recall")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_png(figure)


# -- rendering -------------------------------------------------------------------------------------------------

def _num(summary: dict | None, digits: int = 4) -> str:
    if summary is None:
        return "-"
    text = f"{summary['mean']:.{digits}g}"
    return f"{text} ± {summary['sd']:.2g}" if summary["sd"] is not None else text


@dataclass(frozen=True)
class TableColumn:
    header: str
    text: Callable[[dict], str]  # the cell's text for a row
    value: Callable[[dict], object]  # its sort value
    group: str = ""  # the header over a run of columns
    about: str = ""  # what it measures and which way is worse: the header's tooltip and the legend's entry
    key: str = ""


MEMORISATION_ABOUT = ("every copying test that ran, each against real data measured the same way: birthday support "
                      "below the training set's size, C_T < -3, AuthPct below half of held-out real items', MiFID's "
                      "penalty on where real data's is off; flagged is worse")
QUALITY_ABOUT = (f"samples far from the data: FD over {FD_FAILED:g}x real data's own, or coverage below "
                 f"{COVERAGE_FAILED:g}x real data's; flagged is worse")


def _columns(board: dict) -> list[TableColumn]:
    """The columns of a data set's table: the row, its checks, the metrics' own columns, the cost."""
    def text(key):
        def cell_text(row):
            cell = row["cells"].get(key)
            if cell is None:
                return "-"
            shown = cell["text"] if cell["text"] is not None else _num(cell if cell["n"] else None)
            return f"{shown} [{cell['mark']}]" if cell.get("mark") else shown
        return cell_text

    def value(key):
        return lambda row: (row["cells"].get(key) or {}).get("mean")

    columns = [TableColumn("family", lambda r: r["label"], lambda r: r["label"], "model",
                           "the family and its settings (seeds pooled)", "label"),
               TableColumn("memorisation check", lambda r: memorisation_text(r["memorisation"]),
                           lambda r: len((r["memorisation"] or {}).get("flagged", ())), "checks", MEMORISATION_ABOUT,
                           "memorisation"),
               TableColumn("sample quality check", lambda r: r["quality"] or "-", lambda r: r["quality"] or "",
                           "checks", QUALITY_ABOUT, "quality")]
    about = board["about"]
    metrics = [TableColumn(c["header"], text(c["key"]), value(c["key"]), about[c["key"]]["group"],
                           about[c["key"]]["about"], c["key"]) for c in board["columns"]]
    columns += sorted(metrics, key=lambda c: GROUPS.index(c.group))  # stable: a metric's columns stay in order
    columns += [TableColumn("train s", lambda r: _num(r["train_seconds"], 3),
                            lambda r: (r["train_seconds"] or {}).get("mean"), "cost",
                            "training seconds (a construction's build time); higher is slower", "train_seconds"),
                TableColumn("seeds", lambda r: str(len(r["seeds"])), lambda r: len(r["seeds"]), "cost",
                            "seeds pooled into the row", "seeds")]
    # A column no row filled would be a column of dashes.
    return [c for c in columns if c.key == "label" or any(c.text(row) != "-" for row in board["rows"])]


def render_markdown(board: dict, plot_files: dict) -> str:
    lines = [f"# gan-zoo leaderboard{': ' + board['suite'] if board['suite'] else ''}", "",
             f"Results in `{board['results']}`, generated {board['generated']}. Rows are sorted by {board['sort']}.",
             "NND: held-out neural-net distance (mean over seeds ± sd); the noise floor is real held-out data against "
             "itself with the same discriminators.", "", INTRO, ""]
    for name, data in board["datasets"].items():
        columns = _columns(data)
        lines += [f"## {name}", "", f"**{BEST_LABEL}** {data['best']['text']}", "",
                  "| " + " | ".join(c.header for c in columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(c.text(row).replace("|", "\\|") for c in columns) + " |"
                  for row in data["rows"]]
        lines.append("")
        lines += [f"- **{row['label']}** (constructed): {row['note']}" for row in data["rows"] if row["note"]]
        lines += [""] if any(row["note"] for row in data["rows"]) else []
        for kind, file in plot_files.get(name, {}).items():
            lines += [f"![{name} {kind}]({file})", ""]
        for row in data["rows"]:
            pictures = [f"![{row['label']} {kind}]({row[kind]})" for kind in ("samples", "montage") if row[kind]]
            pictures += [f"[along training: {metric}]({path})" for metric, path in row["trajectory_plots"].items()]
            if pictures:
                lines += [f"**{row['label']}**: " + " ".join(pictures), ""]
    if board["failures"]:
        lines += ["## Failed jobs", ""] + [f"- {f['title']} ({f['status']}, `{f['key']}`): {f['error']}"
                                           for f in board["failures"]] + [""]
    return "\n".join(lines)


SORT_SCRIPT = """
document.querySelectorAll("table.leaderboard").forEach(function (table) {
  var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
  Array.prototype.forEach.call(headers, function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("data-order") !== "asc";
      Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("data-order"); });
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      table.querySelectorAll("tbody.rows").forEach(function (body) {  // item and pair rows sort apart
      var rows = Array.prototype.slice.call(body.rows);
      function value(row) {
        var raw = row.cells[column].getAttribute("data-value");
        var number = parseFloat(raw);
        return isNaN(number) ? raw : number;
      }
      rows.sort(function (a, b) {
        var x = value(a), y = value(b);
        if (x === "" || x === null) return 1;  // missing values last, either way
        if (y === "" || y === null) return -1;
        var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
});
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em 1.5em; color: #222; }
table.leaderboard { border-collapse: collapse; margin: 1em 0 0.3em; font-size: 0.8em; width: 100%; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ccc; padding: 3px 4px; text-align: right; }
table.leaderboard td { overflow-wrap: anywhere; }
table.leaderboard th { font-size: 0.92em; }
table.leaderboard td small { color: #666; }
table.leaderboard td:first-child { min-width: 9em; overflow-wrap: normal; }
table.leaderboard tr.groups th, table.leaderboard tbody.section th { text-align: center; background: #e4e8f0;
  cursor: default; }
table.leaderboard tbody.section th { text-align: left; font-weight: normal; font-style: italic; }
table.leaderboard td.flag { background: #fde2e2; text-align: left; }
table.leaderboard tr.best td:first-child { font-weight: bold; }
table.leaderboard tr.best td:first-child::after { content: " ★ best"; color: #a60; }
p.best { font-size: 1.05em; }
ul.legend { columns: 2; font-size: 0.8em; margin: 0.3em 0 1em; }
details.legend summary { font-size: 0.85em; cursor: pointer; }
img.plot { max-width: 100%; }
table.leaderboard td:first-child, table.leaderboard th:first-child { text-align: left; }
table.leaderboard th { background: #f0f0f0; cursor: pointer; user-select: none; }
table.leaderboard th[data-order=asc]::after { content: " ▲"; }
table.leaderboard th[data-order=desc]::after { content: " ▼"; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.8em; text-align: center; }
img.picture { max-width: 420px; max-height: 360px; image-rendering: pixelated; }
"""


def _data_uri(payload: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(payload).decode()


# A data set's columns in two tables, so that each fits a screen without scrolling sideways: the distance and
# the checks, then sample quality and cost; the family column starts both.
SECOND_TABLE = ("sample quality", "cost")


def _html_tables(data: dict) -> str:
    """A data set's tables, and the legend under them."""
    columns = _columns(data)
    first = [c for c in columns if c.group not in SECOND_TABLE]
    second = [columns[0]] + [c for c in columns if c.group in SECOND_TABLE]
    legend = "".join(f"<li><b>{html.escape(c.header)}</b>: {html.escape(c.about)}</li>" for c in columns if c.about)
    return (_html_table(data, first) + (_html_table(data, second) if len(second) > 1 else "")
            + f"<details class=\"legend\" open><summary>legend: what each column measures, and which way is worse"
            f"</summary><ul class=\"legend\">{legend}</ul></details>")


def _html_table(data: dict, columns: list[TableColumn]) -> str:
    """One table: grouped headers with tooltips, item rows and encoder rows in sections of their own (each sorts
    on its own), the best row marked, flagged checks highlighted."""
    e = html.escape
    groups: list[list] = []
    for column in columns:
        if groups and groups[-1][0] == column.group:
            groups[-1][1] += 1
        else:
            groups.append([column.group, 1])
    head = ("<thead><tr class=\"groups\">" + "".join(f"<th colspan=\"{n}\">{e(g)}</th>" for g, n in groups)
            + "</tr><tr>" + "".join(f"<th title=\"{e(c.about)}\">{e(c.header)}</th>" for c in columns)
            + "</tr></thead>")

    def body(rows):
        lines = []
        for row in rows:
            cells = []
            for column in columns:
                v, text = column.value(row), column.text(row)
                flag = " class=\"flag\"" if text.startswith(("MEMORISES?", "FAILED?")) else ""
                # the reference in parentheses on a line of its own, smaller: the number leads
                main, paren, rest = text.partition(" (")
                shown = e(text) if flag or not paren or column.key == "label" else \
                    f"{e(main)} <br><small>({e(rest)}</small>"
                cells.append(f"<td{flag} data-value=\"{'' if v is None else e(str(v))}\">{shown}</td>")
            best_row = " class=\"best\"" if row["label"] == data["best"]["label"] else ""
            lines.append(f"<tr{best_row}>" + "".join(cells) + "</tr>")
        return "<tbody class=\"rows\">" + "".join(lines) + "</tbody>"

    items, pairs = [r for r in data["rows"] if not r["pairs"]], [r for r in data["rows"] if r["pairs"]]
    sections = [body(items)] if items else []
    if pairs:
        sections += [f"<tbody class=\"section\"><tr><th colspan=\"{len(columns)}\">encoder families, measured on "
                     f"(x, z) pairs: compare their neural-net distances with each other only</th></tr></tbody>",
                     body(pairs)]
    return f"<table class=\"leaderboard\">{head}{''.join(sections)}</table>"


def render_html(board: dict, plots: dict, pictures: dict[str, bytes], gauntlet: str = "") -> str:
    """One self-contained page: every image is embedded, the sorting script is inline, nothing is fetched.
    `gauntlet` is the gauntlet's section (gauntlet_report.html_section), shown first when there is one."""
    e = html.escape
    title = f"gan-zoo leaderboard{': ' + e(board['suite']) if board['suite'] else ''}"
    parts = ([gauntlet] if gauntlet else []) + [f"<h1>{title}</h1>",
             f"<p>Results in <code>{e(board['results'])}</code>, generated {e(board['generated'])}. Rows are sorted by "
             f"{e(board['sort'])}; click a column to sort by it. NND: held-out neural-net distance (mean over seeds "
             f"± sd); the noise floor is real held-out data against itself with the same discriminators.</p>",
             f"<p>{e(INTRO)}</p>", f"<p>{e(BEST_RULE)} Hover over a column's header for what it measures and "
             f"which way is worse; the legend under each table says the same.</p>"]
    for name, data in board["datasets"].items():
        parts += [f"<h2>{e(name)}</h2>", f"<p class=\"best\"><b>{BEST_LABEL}</b> {e(data['best']['text'])}</p>",
                  _html_tables(data)]
        notes = [f"<li><b>{e(row['label'])}</b> (constructed): {e(row['note'])}</li>" for row in data["rows"]
                 if row["note"]]
        if notes:
            parts.append("<ul class=\"notes\">" + "".join(notes) + "</ul>")
        for kind, payload in plots.get(name, {}).items():
            parts.append(f"<figure><img class=\"plot\" alt=\"{e(name)} {kind}\" src=\"{_data_uri(payload)}\">"
                         f"<figcaption>{e(kind.replace('_', ' '))}</figcaption></figure>")
        parts.append("<div>")
        for row in data["rows"]:
            for kind in ("samples", "montage"):
                if row[kind] and row[kind] in pictures:
                    parts.append(f"<figure><img class=\"picture\" alt=\"{e(row['label'])} {kind}\" "
                                 f"src=\"{_data_uri(pictures[row[kind]])}\"><figcaption>{e(row['label'])}: {kind}"
                                 f"</figcaption></figure>")
            links = [f"<a href=\"{e(path)}\">{e(metric)}</a>" for metric, path in row["trajectory_plots"].items()]
            if links:
                parts.append(f"<p>{e(row['label'])} along training: {', '.join(links)}</p>")
        parts.append("</div>")
    if board["failures"]:
        parts.append("<h2>Failed jobs</h2><ul>" + "".join(
            f"<li>{e(f['title'])} ({e(f['status'])}, <code>{e(f['key'])}</code>): {e(str(f['error']))}</li>"
            for f in board["failures"]) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gan-zoo leaderboard</title>"
            f"<style>{STYLE}{gauntlet_report.STYLE if gauntlet else ''}</style></head><body>\n" + "\n".join(parts)
            + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n")


def write_report(folder: Path, results: list[dict], *, suite: str | None, out: Path | None = None,
                 formats: tuple[str, ...] = FORMATS) -> tuple[dict, dict[str, Path]]:
    """Write leaderboard.{md,html,json} and plots/ into `out` (default: the results folder).

    Returns the leaderboard (the JSON format's data) and the files written, by format.
    """
    folder = Path(folder)
    out = Path(out or folder)
    board = build(results, folder=str(folder), suite=suite)
    plots = {name: {kind: payload for kind, payload in
                    (("nn_distance", nn_distance_plot(name, data)), ("birthday", birthday_plot(name, data)),
                     ("precision_recall", precision_recall_plot(name, data)))
                    if payload}
             for name, data in board["datasets"].items()}
    for name, data in board["datasets"].items():  # tracked rows: their trajectories on one axis per score
        plots[name].update(comparison_plots(folder, data["rows"]))
    written = {}
    plot_files = {}
    for name, kinds in plots.items():
        for kind, payload in kinds.items():
            relative = f"plots/{name}-{kind}.png"
            atomic_write_bytes(out / relative, payload)
            plot_files.setdefault(name, {})[kind] = relative
            board["datasets"][name]["plots"][kind] = relative
    gauntlet = gauntlet_report.build(results, default_registry())
    gauntlet_plots, gauntlet_files = {}, {}
    if gauntlet:
        for name in gauntlet["columns"]:
            payload = gauntlet_report.plot(gauntlet, name)
            if payload:
                gauntlet_plots[name], gauntlet_files[name] = payload, f"plots/gauntlet-{name}.png"
                atomic_write_bytes(out / gauntlet_files[name], payload)
        written["gauntlet"] = out / "gauntlet.json"
        atomic_write_json(written["gauntlet"], gauntlet["entries"])
        board["gauntlet"] = {"entries": "gauntlet.json", "ladders": gauntlet["ladders"], "plots": gauntlet_files,
                             "false_positives": gauntlet["false_positives"]}
    if "json" in formats:
        written["json"] = out / "leaderboard.json"
        atomic_write_json(written["json"], board)
    if "md" in formats:
        written["md"] = out / "leaderboard.md"
        text = render_markdown(board, plot_files)
        if gauntlet:
            text = gauntlet_report.markdown(gauntlet, gauntlet_files) + "\n" + text
        atomic_write_bytes(written["md"], _relocate_markdown(text, folder, out).encode())
    if "html" in formats:
        pictures = {row[kind]: (folder / row[kind]).read_bytes()
                    for data in board["datasets"].values() for row in data["rows"]
                    for kind in ("samples", "montage") if row[kind] and (folder / row[kind]).exists()}
        written["html"] = out / "leaderboard.html"
        section = gauntlet_report.html_section(gauntlet, gauntlet_plots, _data_uri) if gauntlet else ""
        atomic_write_bytes(written["html"], render_html(board, plots, pictures, section).encode())
    return board, written


def text_tables(board: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(data set, header, rows) per data set: the leaderboard for a terminal."""
    tables = []
    for name, data in board["datasets"].items():
        columns = _columns(data)
        rows = [[c.text(row) for c in columns] for row in data["rows"]]
        tables.append((name, [c.header for c in columns], rows))
    return tables


def _key_columns(data: dict) -> list[TableColumn]:
    """The columns a terminal summary shows, most telling first: the checks, the neural-net distance at the largest
    capacity (items, then pairs), FD, coverage, the birthday support; numbers only, short headers."""
    def number(key):
        return lambda row: _num(row["cells"][key], 3) if key in row["cells"] and row["cells"][key]["n"] else "-"

    def flagged(row):
        tests = list((row["memorisation"] or {}).get("flagged", ()))
        return ", ".join(tests) if tests else ("no" if row["memorisation"] else "-")

    columns = [TableColumn("copies?", flagged, None, key="memorisation"),
               TableColumn("failed?", lambda r: "FAILED?" if r["quality"] else "-", None, key="quality")]
    largest = max(data["capacities"], default=None)
    nnd = [c for c in data["columns"] if data["about"][c["key"]]["metric"] == "nn_distance"
           and c["key"].endswith(f"@{largest}")]
    columns += [TableColumn(f"NND {_short(largest)}{' (x,z)' if 'pairs]' in c['key'] else ''}", number(c["key"]),
                            None, key=c["key"]) for c in nnd]
    columns += [TableColumn(header, number(key), None, key=key) for key, header in
                (("fd", "FD"), ("prdc.coverage", "coverage"), ("birthday.support", "birthday support"))]
    return [c for c in columns if any(c.text(row) != "-" for row in data["rows"])]


def terminal_tables(board: dict, width: int) -> list[tuple[str, list[str], list[list[str]], int]]:
    """(data set, header, rows, columns left out) per data set: the key columns that fit `width` characters, most
    telling first; the full table is the leaderboard's."""
    tables = []
    for name, data in board["datasets"].items():
        label_width = min(28, max(len(r["label"]) + 2 for r in data["rows"]))

        def label(row, limit=label_width - 2, chosen=data["best"]["label"]):
            text = row["label"] if len(row["label"]) <= limit else row["label"][:limit - 1] + "…"
            return text + (" *" if row["label"] == chosen else "")

        header, rows, used = ["family (* best)"], [[label(r)] for r in data["rows"]], max(15, label_width)
        key_columns = _key_columns(data)
        for column in key_columns:
            cells = [column.text(row) for row in data["rows"]]
            size = max(len(column.header), *(len(c) for c in cells))
            if used + 2 + size > width:
                break
            used += 2 + size
            header.append(column.header)
            for row, cell in zip(rows, cells, strict=True):
                row.append(cell)
        tables.append((name, header, rows, len(_columns(data)) - len(header)))
    return tables


def table_lines(rows: list[list[str]], header: list[str]) -> list[str]:
    """A plain-text table: columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def print_summary(board: dict, full: Path, width: int | None = None) -> None:
    """The end of a bench run on stdout: per data set its best trained model and the key columns that fit the
    terminal, pointing to the full leaderboard; a warning on stderr for each row whose samples look failed."""
    width = width or shutil.get_terminal_size().columns
    for name, header, rows, left_out in terminal_tables(board, width):
        print(f"\n{name}")
        print(textwrap.fill(f"{BEST_LABEL} {board['datasets'][name]['best']['text']}", width))
        for line in table_lines(rows, header):
            print(line)
        if left_out:
            print(f"({left_out} more columns, the legend and the rule for the best model in {full})")
    for name, data in board["datasets"].items():
        for row in data["rows"]:
            if row["quality"]:
                why = row["quality"].removeprefix("FAILED? ")
                print(f"gan-zoo: warning: {row['label']} on {name}: {why}; its training failed or was "
                      f"far too short: train longer or check the learning rate", file=sys.stderr)


def _relocate_markdown(text: str, folder: Path, out: Path) -> str:
    """Artifact links are relative to the results folder; make them relative to where the Markdown goes."""
    if folder.resolve() == out.resolve():
        return text
    prefix = os.path.relpath(folder.resolve(), out.resolve())
    return text.replace("](jobs/", f"]({prefix}/jobs/")
