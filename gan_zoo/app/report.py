"""Leaderboards from a folder of job results: Markdown, a self-contained HTML page, and JSON, with plots.

One leaderboard per data set, one row per family and config (its seeds pooled: each number is the mean over
seeds, with the standard deviation beside it when there are several).

Default order: the held-out neural-net distance at the largest capacity minus its noise floor, smallest
first (closest to real data as the strongest discriminators see it). Read it beside the birthday column: a
memorising generator can top this order, which is the failure the harness exists to show.

The columns are the registered metrics' own (gan_zoo.Metric.columns), so a plugin's metric shows up here with
no change to this file.

JSON schema `gan-zoo-leaderboard/2`:
  schema, generated (UTC), results (the folder), suite (name or null), sort (the default order in words),
  datasets {NAME: {capacities [target p], columns [{key, header}], rows [ROW], plots {nn_distance, birthday,
  precision_recall: file names}}}, failures [{key, title, status, error}], versions (of the first good result),
  gauntlet (when the folder holds gauntlet jobs: {entries: "gauntlet.json", ladders, plots}; app/gauntlet_report.py)
ROW: label, family ("" for an external source), source (what was judged), display_name, overrides, seeds, keys,
  excess (the sort key), cells {column key: {header, mean, sd, n, text}} (sd null for one seed; text, when the
  metric gives one, for a row of one seed), and for the plots: nn_heldout {target p: {mean, sd, n}}, nn_ci
  {target p: [low, high]} (one seed: its bootstrap CI; several: a t-interval over seeds), nn_p, noise_floor,
  p_duplicate_by_s; true_support (a construction's exact support, else null), train_seconds, eval_seconds;
  samples and montage (artifact paths of the first seed, or null)
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

from gan_zoo.app import gauntlet_report
from gan_zoo.app.plots import figure_png, pyplot
from gan_zoo.files import atomic_write_bytes, atomic_write_json
from gan_zoo.metrics import record_columns
from gan_zoo.registry import Registry
from gan_zoo.registry import registry as default_registry

SCHEMA = "gan-zoo-leaderboard/2"
FORMATS = ("md", "html", "json")
SORT = "held-out neural-net distance at the largest capacity minus its noise floor, ascending"
INTRO = ("A constructed family near the top is not a winner: memorisers are built to fool finite discriminators, "
         "which is what the harness exists to show. Read every row with its memorisation check (the birthday test's "
         "support against the number of training items) and the notes under each table.")


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
        rows.sort(key=lambda row: (row["excess"] is None, row["excess"] if row["excess"] is not None else 0,
                                   row["label"]))
        headers = {}
        for row in rows:
            for key, cell in row["cells"].items():
                headers.setdefault(key, cell["header"])
        capacities = sorted({int(p) for row in rows for p in row["nn_heldout"]})
        datasets[name] = {"capacities": capacities, "columns": [{"key": k, "header": h} for k, h in headers.items()],
                          "rows": rows, "plots": {}}
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
        for _, column in record_columns(record, reg):
            cell = pooled.setdefault(column.key, {"header": column.header, "values": [], "texts": []})
            cell["values"].append(column.value)
            cell["texts"].append(column.text)
    cells = {}
    for key, cell in pooled.items():
        summary = _summary(cell["values"])
        text = cell["texts"][0] if len(cell["texts"]) == 1 else None
        cells[key] = {"header": cell["header"], **(summary or {"mean": None, "sd": None, "n": 0}), "text": text}
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
        "memorisation": _memorisation(evals), "note": _note(first["job"]["family"], reg),
        "train_seconds": _summary(_metric(records, "train", "seconds")),
        "eval_seconds": _summary([sum(r["eval"]["timings"].values()) for r in records]),
        "samples": first.get("artifacts", {}).get("samples"), "montage": first.get("artifacts", {}).get("montage"),
    }


def _memorisation(evals: list[dict]) -> str | None:
    """What the memorisation checks found: a support the birthday test bounds below the training set's size."""
    for record in evals:
        birthday = record["metrics"].get("birthday")
        n_train = record["dataset"].get("n_train") if isinstance(record.get("dataset"), dict) else None
        if not birthday or not n_train or birthday["support"]["kind"] != "estimate":
            continue
        high = birthday["support"]["ci"][1]
        if high is not None and high < n_train:
            return (f"MEMORISES? support <= {high:.3g} ({birthday['support']['ci_level']:.0%}), fewer than the "
                    f"{n_train} training items")
    return None


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


def _columns(board: dict) -> list[tuple[str, callable, callable]]:
    """(header, cell text, sort value) for each column of a data set's table: the metrics' own columns."""
    def text(key):
        def cell_text(row):
            cell = row["cells"].get(key)
            if cell is None:
                return "-"
            return cell["text"] if cell["text"] is not None else _num(cell if cell["n"] else None)
        return cell_text

    def value(key):
        return lambda row: (row["cells"].get(key) or {}).get("mean")

    columns = [("family", lambda r: r["label"], lambda r: r["label"]),
               ("memorisation check", lambda r: r["memorisation"] or "-", lambda r: r["memorisation"] or "")]
    columns += [(c["header"], text(c["key"]), value(c["key"])) for c in board["columns"]]
    columns += [("train s", lambda r: _num(r["train_seconds"], 3), lambda r: (r["train_seconds"] or {}).get("mean")),
                ("seeds", lambda r: str(len(r["seeds"])), lambda r: len(r["seeds"]))]
    # A column no row filled would be a column of dashes.
    return [c for c in columns if c[0] == "family" or any(c[1](row) != "-" for row in board["rows"])]


def render_markdown(board: dict, plot_files: dict) -> str:
    lines = [f"# gan-zoo leaderboard{': ' + board['suite'] if board['suite'] else ''}", "",
             f"Results in `{board['results']}`, generated {board['generated']}. Rows are sorted by {board['sort']}.",
             "NND: held-out neural-net distance (mean over seeds ± sd); the noise floor is real held-out data against "
             "itself with the same discriminators.", "", INTRO, ""]
    for name, data in board["datasets"].items():
        columns = _columns(data)
        lines += [f"## {name}", "", "| " + " | ".join(h for h, _, _ in columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(text(row).replace("|", "\\|") for _, text, _ in columns) + " |"
                  for row in data["rows"]]
        lines.append("")
        lines += [f"- **{row['label']}** (constructed): {row['note']}" for row in data["rows"] if row["note"]]
        lines += [""] if any(row["note"] for row in data["rows"]) else []
        for kind, file in plot_files.get(name, {}).items():
            lines += [f"![{name} {kind}]({file})", ""]
        for row in data["rows"]:
            pictures = [f"![{row['label']} {kind}]({row[kind]})" for kind in ("samples", "montage") if row[kind]]
            if pictures:
                lines += [f"**{row['label']}**: " + " ".join(pictures), ""]
    if board["failures"]:
        lines += ["## Failed jobs", ""] + [f"- {f['title']} ({f['status']}, `{f['key']}`): {f['error']}"
                                           for f in board["failures"]] + [""]
    return "\n".join(lines)


SORT_SCRIPT = """
document.querySelectorAll("table.leaderboard").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("data-order") !== "asc";
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("data-order"); });
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      var body = table.tBodies[0];
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
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.leaderboard { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
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


def render_html(board: dict, plots: dict, pictures: dict[str, bytes], gauntlet: str = "") -> str:
    """One self-contained page: every image is embedded, the sorting script is inline, nothing is fetched.
    `gauntlet` is the gauntlet's section (gauntlet_report.html_section), shown first when there is one."""
    e = html.escape
    title = f"gan-zoo leaderboard{': ' + e(board['suite']) if board['suite'] else ''}"
    parts = ([gauntlet] if gauntlet else []) + [f"<h1>{title}</h1>",
             f"<p>Results in <code>{e(board['results'])}</code>, generated {e(board['generated'])}. Rows are sorted by "
             f"{e(board['sort'])}; click a column to sort by it. NND: held-out neural-net distance (mean over seeds "
             f"± sd); the noise floor is real held-out data against itself with the same discriminators.</p>",
             f"<p>{e(INTRO)}</p>"]
    for name, data in board["datasets"].items():
        columns = _columns(data)
        parts.append(f"<h2>{e(name)}</h2><table class=\"leaderboard\"><thead><tr>"
                     + "".join(f"<th>{e(h)}</th>" for h, _, _ in columns) + "</tr></thead><tbody>")
        for row in data["rows"]:
            cells = []
            for _, text, value in columns:
                v = value(row)
                cells.append(f"<td data-value=\"{'' if v is None else e(str(v))}\">{e(text(row))}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
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
        rows = [[text(row) for _, text, _ in columns] for row in data["rows"]]
        tables.append((name, [h for h, _, _ in columns], rows))
    return tables


def _relocate_markdown(text: str, folder: Path, out: Path) -> str:
    """Artifact links are relative to the results folder; make them relative to where the Markdown goes."""
    if folder.resolve() == out.resolve():
        return text
    prefix = os.path.relpath(folder.resolve(), out.resolve())
    return text.replace("](jobs/", f"]({prefix}/jobs/")
