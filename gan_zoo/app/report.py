"""Leaderboards from a folder of job results: Markdown, a self-contained HTML page, and JSON, with plots.

One leaderboard per data set, one row per family and config (its seeds pooled: each number is the mean over
seeds, with the standard deviation beside it when there are several).

Everything metric-specific comes from the registered metrics (gan_zoo.Metric), so a plugin's metric gets the same
treatment as a built-in one with no change to this file: its columns (Metric.columns), the fields its plots read
(row_fields, table_fields), its plots (Metric.plots), its flags in the memorisation and failed-training checks
(check, flag), its short columns in the terminal summary (Column.short). The default order: the first registered
metric with a sort key that the board's rows were measured with (Metric.rank; with the built-ins, the held-out
neural-net distance at the largest capacity minus its noise floor), rows measured on items before encoder families
measured on (x, z) pairs (their readings are not comparable). Read it beside the memorisation check: a memorising
generator can top this order, which is the failure the harness exists to show. Each data set names its best trained
model by the rule `best_rule` states.

JSON schema `gan-zoo-leaderboard/2`:
  schema, generated (UTC), results (the folder), suite (name or null), sort (the default order in words),
  best_rule (in words), datasets {NAME: {columns [{key, header}], about {column key: {metric, about (what it
  measures and which way is worse), group, short (its terminal header, or ""), order (its metric's
  summary_order)}; also memorisation and quality, the checks}, rows [ROW], best {label
  (null when no row qualifies), text}, plots {kind: file name} (each metric's, e.g. nn_distance, birthday,
  precision_recall), and the metrics' table_fields (the neural-net distance's capacities [target p])}}, failures
  [{key, title, status, error}], versions (of the first good result), gauntlet (when the folder holds gauntlet
  jobs: {entries: "gauntlet.json", ladders, plots}; app/gauntlet_report.py)
ROW: label, family ("" for an external source), source (what was judged), display_name, overrides, seeds, keys,
  constructed, pairs (its ranking reading measured on (x, z) pairs), memorisation ({ran: [test], flagged: {test:
  reason}} over the metrics whose check is "copying"; null when none ran), quality (why its samples look like a
  failed training run, by the metrics whose check is "failed", or null), cells {column key: {header, mean, sd, n,
  text, mark}} (sd null for one seed; text, when the metric gives one, for a row of one seed; mark, a caveat of any
  seed's, shown after the cell), the metrics' row_fields (the neural-net distance's excess (its sort key),
  nn_heldout {target p: {mean, sd, n}}, nn_ci {target p: [low, high]} (one seed: its bootstrap CI; several: a
  t-interval over seeds), nn_p, noise_floor; the birthday test's p_duplicate_by_s); true_support (a
  construction's exact support, else null), train_seconds, eval_seconds; samples and pictures {kind: path} (the
  metrics' pictures, e.g. montage: artifact paths of the first seed); trajectory and trajectory_plots {metric: path}
  (a tracked family's, of its first seed; `plots` then holds trajectory-SCORE: every tracked row on one axis)
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gan_zoo.app import gauntlet_report
from gan_zoo.app.tracking import comparison_plots
from gan_zoo.files import atomic_write_bytes, atomic_write_json
from gan_zoo.metrics import Metric, pooled, record_columns
from gan_zoo.registry import Registry
from gan_zoo.registry import registry as default_registry

SCHEMA = "gan-zoo-leaderboard/2"
FORMATS = ("md", "html", "json")
BEST_LABEL = "Best trained model:"
INTRO = ("A constructed family near the top is not a winner: memorisers are built to fool finite discriminators, "
         "which is what the harness exists to show. Read every row with its memorisation check (every copying test "
         "that ran) and the notes under each table.")
ROW_KEYS = ("label", "family", "source", "display_name", "overrides", "seeds", "keys", "cells", "pairs",
            "true_support", "constructed", "memorisation", "quality", "note", "train_seconds", "eval_seconds",
            "samples", "pictures", "trajectory", "trajectory_plots")  # a metric's row_fields may not take these


ABOUT_KEYS = ("metric", "about", "group", "short", "order")  # a column's, said once in the table's `about`


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
    tables = {}
    for name in sorted({r["job"]["dataset"] for r in ok}):
        groups: dict[str, list[dict]] = {}
        for record in sorted((r for r in ok if r["job"]["dataset"] == name), key=lambda r: r["job"]["seed"]):
            job = record["job"]
            identity = json.dumps([job["family"], job.get("source", ""), job["config"], job["steps"], job["eval"],
                                   job["label"]], sort_keys=True)
            groups.setdefault(identity, []).append(record)
        tables[name] = [_row(records, reg) for records in groups.values()]
    ranking = _ranking(reg, [row for rows in tables.values() for row in rows])
    datasets = {}
    for name, rows in tables.items():
        # readings on (x, z) pairs are not comparable with readings on items: encoder rows rank among themselves
        rows.sort(key=lambda row: (row["pairs"], *_rank_key(ranking[:1], row), row["label"]))
        headers: dict[str, str] = {}
        about = _check_about(reg)
        for row in rows:
            for key, cell in row["cells"].items():
                headers.setdefault(key, cell["header"])
                said = {k: cell.pop(k) for k in ABOUT_KEYS}
                about.setdefault(key, said)  # said once per column, not per cell
        fields = {}
        for cls in reg.metrics.values():
            fields.update(cls().table_fields(rows))
        datasets[name] = {**fields, "columns": [{"key": k, "header": h} for k, h in headers.items()],
                          "about": about, "rows": rows, "best": best(rows, ranking), "plots": {}}
    return {"schema": SCHEMA, "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "results": folder, "suite": suite, "sort": _order(ranking), "best_rule": best_rule(ranking),
            "datasets": datasets, "failures": failures, "versions": ok[0]["eval"]["versions"] if ok else None}


def _ranking(reg: Registry, rows: list[dict]) -> list[Metric]:
    """The metrics that rank these rows, in registry order (the built-ins first): the first orders them, the next
    breaks the best model's ties."""
    metrics = [cls() for cls in reg.metrics.values() if cls.sort_key is not None]
    return [metric for metric in metrics if any(metric.rank(row) is not None for row in rows)]


def _rank_key(ranking: list[Metric], row: dict) -> tuple:
    """Rows measured first, by their rank under each metric in turn."""
    key = []
    for metric in ranking:
        rank = metric.rank(row)
        key += [rank is None, rank.value if rank else 0.0]
    return tuple(key)


def _order(ranking: list[Metric]) -> str:
    return ranking[0].order() if ranking else "the rows' labels (no metric measured ranks them)"


def _title(job: dict) -> str:
    return f"{job.get('label') or job['family'] or job.get('source')} on {job['dataset']}, seed {job['seed']}"


def _row(records: list[dict], reg: Registry) -> dict:
    first = records[0]
    evals = [r["eval"] for r in records]
    pooling: dict[str, dict] = {}
    for record in evals:
        for metric, column in record_columns(record, reg):
            cell = pooling.setdefault(column.key, {"header": column.header, "values": [], "texts": [], "mark": None,
                                                   "metric": metric.name, "about": _about(metric, column),
                                                   "group": column.group or metric.group, "short": column.short,
                                                   "order": metric.summary_order})
            cell["values"].append(column.value)
            cell["texts"].append(column.text)
            cell["mark"] = cell["mark"] or column.mark
    cells = {}
    for key, cell in pooling.items():
        summary = pooled(cell["values"])
        text = cell["texts"][0] if len(cell["texts"]) == 1 else None
        cells[key] = {"header": cell["header"], **(summary or {"mean": None, "sd": None, "n": 0}), "text": text,
                      "mark": cell["mark"], **{k: cell[k] for k in ABOUT_KEYS}}
    artifacts = first.get("artifacts", {})
    row = {
        "label": _row_label(first["job"], first["eval"]["display_name"]), "family": first["job"]["family"],
        "source": first["eval"]["source"], "display_name": first["eval"]["display_name"],
        "overrides": first["job"]["overrides"], "seeds": [r["job"]["seed"] for r in records],
        "keys": [r["key"] for r in records], "cells": cells, "pairs": False,
        "true_support": (first["eval"]["facts"] or {}).get("support"),
        "constructed": _constructed(first["job"]["family"], reg),
        "memorisation": memorisation(evals, reg), "quality": training_failed(evals, reg),
        "note": _note(first["job"]["family"], reg),
        "train_seconds": pooled(_metric(records, "train", "seconds")),
        "eval_seconds": pooled([sum(r["eval"]["timings"].values()) for r in records]),
        "samples": artifacts.get("samples"),
        "pictures": {kind: path for kind, path in artifacts.items() if kind != "samples" and kind != "trajectory"
                     and not kind.startswith("trajectory-")},
        "trajectory": artifacts.get("trajectory"),
        "trajectory_plots": {kind.removeprefix("trajectory-"): path for kind, path in artifacts.items()
                             if kind.startswith("trajectory-")},
    }
    for name, cls in reg.metrics.items():
        results = [e["metrics"][name] for e in evals if name in e["metrics"]]
        if results:
            fields = cls().row_fields(results, [e for e in evals if name in e["metrics"]])
            taken = sorted(set(fields) & (set(ROW_KEYS) - {"pairs"}))
            if taken:
                raise ValueError(f"metric {name}'s row_fields gives {taken[0]!r}, a key the row has of its own")
            row.update(fields)
    return row


def _flagged(evals: list[dict], reg: Registry, check: str) -> tuple[list[str], dict[str, str]]:
    """The metrics with this check that ran on any seed, and the reasons of those that flag one."""
    ran: list[str] = []
    flagged: dict[str, str] = {}
    for record in evals:
        for name, result in record["metrics"].items():
            cls = reg.metrics.get(name)
            if cls is None or cls.check != check:
                continue
            if cls.display() not in ran:
                ran.append(cls.display())
            reason = cls().flag(result, record)
            if reason:
                flagged.setdefault(cls.display(), reason)
    return ran, flagged


def memorisation(evals: list[dict], reg: Registry) -> dict | None:
    """Every copying test that ran (the metrics whose check is "copying") and the reasons of those that flag
    copying in any seed: {ran: [test], flagged: {test: reason}}; None when none ran."""
    ran, flagged = _flagged(evals, reg, "copying")
    return {"ran": ran, "flagged": flagged} if ran else None


def memorisation_text(check: dict | None) -> str:
    if check is None:
        return "-"
    if check["flagged"]:
        return f"MEMORISES? ({', '.join(check['flagged'])}) " + "; ".join(check["flagged"].values())
    return f"no copying found ({', '.join(check['ran'])})"


def training_failed(evals: list[dict], reg: Registry) -> str | None:
    """Why a model's samples look like a failed training run (the metrics whose check is "failed", each on one
    seed's evaluation), or None."""
    for record in evals:
        flags = [cls().flag(result, record) for name, result in record["metrics"].items()
                 if (cls := reg.metrics.get(name)) is not None and cls.check == "failed"]
        reasons = [flag for flag in flags if flag]
        if reasons:
            return "FAILED? " + "; ".join(reasons)
    return None


def _check_about(reg: Registry) -> dict:
    """The checks' legend entries, from the registered metrics' rules."""
    def rules(check):
        return [cls.check_rule for cls in reg.metrics.values() if cls.check == check]

    return {"memorisation": {"metric": None, "group": "checks", "about": (
                "every copying test that ran, each against real data measured the same way: "
                f"{', '.join(rules('copying')) or 'none registered'}; flagged is worse")},
            "quality": {"metric": None, "group": "checks", "about": (
                f"samples far from the data: {', or '.join(rules('failed')) or 'no test registered'}; flagged is "
                f"worse")}}


def best_rule(ranking: list[Metric]) -> str:
    """How `best` chooses, in words."""
    if not ranking:
        return "No metric measured ranks the rows, so no best trained model is named."
    tie = (f", and the {'smallest' if ranking[1].worse == 'higher' else 'largest'} {ranking[1].display()} among "
           f"them wins" if len(ranking) > 1 else "")
    return ("The best trained model of a data set is, among rows that are not constructions, not flagged by a "
            f"copying test and not flagged as failed, the first by {ranking[0].order()}; rows within the leader's 95% "
            f"interval count as tied{tie}.")


def best(rows: list[dict], ranking: list[Metric]) -> dict:
    """The best trained model of a data set's rows by `best_rule`: {label, text} (label None when no row
    qualifies)."""
    primary = ranking[0] if ranking else None
    ranked = [(r, rank) for r in rows if not r["constructed"] and not r["quality"]
              and not (r["memorisation"] or {}).get("flagged") and primary and (rank := primary.rank(r)) is not None]
    if not ranked:
        return {"label": None, "text": "no trained model qualifies (every row is a construction, copies, failed, or "
                                       "is not ranked)"}
    kind = min(r["pairs"] for r, _ in ranked)
    ranks = {r["label"]: rank for r, rank in ranked if r["pairs"] == kind}
    candidates = sorted((r for r, _ in ranked if r["pairs"] == kind), key=lambda r: ranks[r["label"]].value)
    leader = candidates[0]
    lead = ranks[leader["label"]]
    tied = [r for r in candidates if r is leader
            or (lead.half_width is not None and ranks[r["label"]].value - lead.value <= lead.half_width)]
    tie = ranking[1] if len(ranking) > 1 else None
    tie_ranks = {r["label"]: tie.rank(r) if tie else None for r in tied}
    breaks = {label: rank for label, rank in tie_ranks.items() if rank is not None}
    decided = len(tied) > 1 and len(breaks) == len(tie_ranks)  # the tie-breaker ranks every tied row
    chosen = min(tied, key=lambda r: breaks[r["label"]].value) if decided else leader
    text = f"{chosen['label']}: {ranks[chosen['label']].text}"
    if len(tied) > 1:
        others = ", ".join(r["label"] for r in tied if r is not chosen)
        text += (f"; tied within the interval with {others}, decided by {breaks[chosen['label']].text}" if decided
                 else f"; tied within the interval with {others}")
    return {"label": chosen["label"], "text": text}


def _constructed(family: str, reg: Registry) -> bool:
    cls = reg.families.get(family)
    return cls is not None and cls.kind == "constructed"


def _about(metric, column) -> str:
    """A column's tooltip and legend entry: what it measures and which way is worse."""
    if column.key.endswith(".floor"):
        return "the noise floor: real held-out data against itself with the same discriminators (no direction)"
    return f"{metric.description}; {metric.worse} is worse"


GROUPS = ("copying tests", "sample quality")  # after the groups of the metrics' own


def _note(family: str, reg: Registry) -> str | None:
    """For a constructed family: what it is built to do and what a reader should expect of it."""
    cls = reg.families.get(family)
    if cls is None or cls.kind != "constructed":
        return None
    return f"{cls.description}. {getattr(cls, 'expectation', '')}".strip()


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
    value: Callable[[dict], object] | None  # its sort value (None: unsorted, as in the terminal summary)
    group: str = ""  # the header over a run of columns
    about: str = ""  # what it measures and which way is worse: the header's tooltip and the legend's entry
    key: str = ""


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
                           lambda r: len((r["memorisation"] or {}).get("flagged", ())), "checks",
                           board["about"]["memorisation"]["about"], "memorisation"),
               TableColumn("sample quality check", lambda r: r["quality"] or "-", lambda r: r["quality"] or "",
                           "checks", board["about"]["quality"]["about"], "quality")]
    about = board["about"]
    metrics = [TableColumn(c["header"], text(c["key"]), value(c["key"]), about[c["key"]]["group"],
                           about[c["key"]]["about"], c["key"]) for c in board["columns"]]
    # the metrics' own groups first, then the copying tests and sample quality; stable: a metric's columns stay in
    # order
    columns += sorted(metrics, key=lambda c: GROUPS.index(c.group) + 1 if c.group in GROUPS else 0)
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
            pictures = [f"![{row['label']} {kind}]({path})" for kind, path in _pictures(row).items()]
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
                v, text = column.value(row) if column.value else None, column.text(row)
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
             f"<p>{e(INTRO)}</p>", f"<p>{e(board['best_rule'])} Hover over a column's header for what it measures and "
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
            for kind, path in _pictures(row).items():
                if path in pictures:
                    parts.append(f"<figure><img class=\"picture\" alt=\"{e(row['label'])} {kind}\" "
                                 f"src=\"{_data_uri(pictures[path])}\"><figcaption>{e(row['label'])}: {kind}"
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
                 formats: tuple[str, ...] = FORMATS, registry: Registry | None = None) -> tuple[dict, dict[str, Path]]:
    """Write leaderboard.{md,html,json} and plots/ into `out` (default: the results folder).

    Returns the leaderboard (the JSON format's data) and the files written, by format.
    """
    folder = Path(folder)
    out = Path(out or folder)
    reg = registry or default_registry()
    board = build(results, folder=str(folder), suite=suite, registry=reg)
    plots = {name: {kind: payload for cls in reg.metrics.values() for kind, payload in cls().plots(name, data).items()}
             for name, data in board["datasets"].items()}
    for name, data in board["datasets"].items():  # tracked rows: their trajectories on one axis per score
        plots[name].update(comparison_plots(folder, data["rows"]))
    written = {}
    plot_files: dict[str, dict[str, str]] = {}  # data set -> plot kind -> its file, relative to the leaderboard
    for name, kinds in plots.items():
        for kind, payload in kinds.items():
            relative = f"plots/{name}-{kind}.png"
            atomic_write_bytes(out / relative, payload)
            plot_files.setdefault(name, {})[kind] = relative
            board["datasets"][name]["plots"][kind] = relative
    gauntlet = gauntlet_report.build(results, reg)
    gauntlet_plots: dict[str, dict[str, bytes]] = {}  # data set -> kind -> PNG
    gauntlet_files: dict[str, dict[str, str]] = {}  # data set -> kind -> its file, relative to the leaderboard
    if gauntlet:
        for name in gauntlet["columns"]:
            for kind, payload in gauntlet_report.plots(gauntlet, name).items():
                relative = f"plots/gauntlet-{name}-{kind}.png"
                atomic_write_bytes(out / relative, payload)
                gauntlet_plots.setdefault(name, {})[kind] = payload
                gauntlet_files.setdefault(name, {})[kind] = relative
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
        pictures = {path: (folder / path).read_bytes() for data in board["datasets"].values() for row in data["rows"]
                    for path in _pictures(row).values() if (folder / path).exists()}
        written["html"] = out / "leaderboard.html"
        section = gauntlet_report.html_section(gauntlet, gauntlet_plots, _data_uri) if gauntlet else ""
        atomic_write_bytes(written["html"], render_html(board, plots, pictures, section).encode())
    return board, written


def _pictures(row: dict) -> dict[str, str]:
    """A row's pictures by kind: its samples, then what its metrics drew."""
    return {**({"samples": row["samples"]} if row["samples"] else {}), **row["pictures"]}


def text_tables(board: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(data set, header, rows) per data set: the leaderboard for a terminal."""
    tables = []
    for name, data in board["datasets"].items():
        columns = _columns(data)
        rows = [[c.text(row) for c in columns] for row in data["rows"]]
        tables.append((name, [c.header for c in columns], rows))
    return tables


def _key_columns(data: dict) -> list[TableColumn]:
    """The columns a terminal summary shows, most telling first: the checks, then the metrics' columns that have a
    short header (Column.short), by their metric's summary_order; numbers only."""
    def number(key):
        return lambda row: _num(row["cells"][key], 3) if key in row["cells"] and row["cells"][key]["n"] else "-"

    def flagged(row):
        tests = list((row["memorisation"] or {}).get("flagged", ()))
        return ", ".join(tests) if tests else ("no" if row["memorisation"] else "-")

    columns = [TableColumn("copies?", flagged, None, key="memorisation"),
               TableColumn("failed?", lambda r: "FAILED?" if r["quality"] else "-", None, key="quality")]
    about = data["about"]
    short = sorted((c["key"] for c in data["columns"] if about[c["key"]]["short"]), key=lambda k: about[k]["order"])
    columns += [TableColumn(about[key]["short"], number(key), None, key=key) for key in short]
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
