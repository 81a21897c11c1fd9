"""The gauntlet's report: gauntlet.json, the detection matrix (Markdown and coloured HTML), fool points, and a
plot of every score against memorised support m.

Written by report.write_report beside the leaderboard whenever a results folder holds gauntlet jobs. The
numbers come from harness.gauntlet (the protocol and the detection rule are documented there).

gauntlet.json: a list, one entry per data set, score, adversary and strength: dataset, metric (the registered
metric), score (its leaderboard column key), label, worse, adversary, kind, vary (a family's setting, else
null), strength, value (mean over its seeds), values, seeds, band [low, high] (null without a control spread),
control {mean, sd, k, level, low, high, scale} (scale "log": mean and sd are of the logs), effect (control sds,
positive when worse; null when the control has no spread), detected (true, false, or null with a reason).
"""

from __future__ import annotations

import html
import math
import re

from gan_zoo.app.plots import figure_png, pyplot
from gan_zoo.harness.gauntlet import CONTROL, entries, ladders
from gan_zoo.harness.gauntlet import label as adversary_label

RULE = ("Detected (green): the adversary's value lies beyond the control's band in the metric's worse direction. "
        "The band is a {level:.0%} prediction interval for one more run of real control items (a split neither "
        "the adversaries nor the metrics' reference holds), over {k} control runs, each on its own split; every "
        "source gives the same n items. Not detected (red): inside the band or on its better side, so at that "
        "strength the metric cannot tell the adversary from real data. Cells: value (effect in control standard "
        "deviations, + is worse).")


def build(results: list[dict], registry) -> dict | None:
    """The gauntlet of a results folder (None when it holds no gauntlet job): entries, ladders, column order."""
    table = entries(results, registry)
    if not table:
        return None
    labels: dict[str, dict[tuple, str]] = {}  # per data set: (adversary, strength) -> label, in suite order
    for result in results:
        spec = result["job"].get("gauntlet")
        if spec and spec["kind"] != CONTROL:
            labels.setdefault(result["job"]["dataset"], {})[spec["adversary"], spec["strength"]] = adversary_label(spec)
    order = {}  # adversaries in the order the suite names them, each one's strengths ascending
    for dataset, named in labels.items():
        rank: dict[str, int] = {}
        for adversary, _ in named:
            rank.setdefault(adversary, len(rank))
        order[dataset] = [(a, s, named[a, s]) for a, s in sorted(named, key=lambda c, r=rank: (r[c[0]], c[1]))]
    return {"entries": table, "ladders": ladders(table), "columns": order}


def _capacity(score: str) -> int | None:
    """The capacity p of a per-capacity neural-net distance score (its key ends in @p)."""
    found = re.search(r"^nn_distance\[.*\]@(\d+)$", score)
    return int(found.group(1)) if found else None


def _rows(gauntlet: dict, dataset: str) -> list[tuple[str, str, dict]]:
    """(score key, label, {(adversary, strength): entry}) per score, in the order the scores first appear."""
    rows: dict[str, tuple[str, dict]] = {}
    for entry in gauntlet["entries"]:
        if entry["dataset"] == dataset:
            rows.setdefault(entry["score"], (entry["label"], {}))[1][entry["adversary"], entry["strength"]] = entry
    return [(key, label, cells) for key, (label, cells) in rows.items()]


def _cell(entry: dict | None) -> tuple[str, str]:
    """(text, state) of one matrix cell; state is detected, missed or unknown."""
    if entry is None:
        return "-", "unknown"
    size = entry["effect"]
    effect = "" if size is None else f" ({size:+.1f}σ)" if abs(size) < 1000 else f" ({size:+.1e}σ)"
    state = {True: "detected", False: "missed", None: "unknown"}[entry["detected"]]
    return f"{entry['value']:.3g}{effect}", state


def _control(cells: dict) -> str:
    control = next(iter(cells.values()))["control"]
    if control is None:
        return "-"
    band = f"[{control['low']:.3g}, {control['high']:.3g}]"
    if control["scale"] == "log":  # mean and sd of the logs: the geometric mean, and the spread as a factor
        return f"{math.exp(control['mean']):.3g} ×/÷ {math.exp(control['sd']):.2g} {band}"
    return f"{control['mean']:.3g} ± {control['sd']:.2g} {band}"


def _fool_points(gauntlet: dict, dataset: str) -> list[list[str]]:
    """Per score, for each family ladder: the smallest strength (a memorised support m) it misses, with p log p
    beside the NND."""
    rows = []
    for ladder in gauntlet["ladders"]:
        if ladder["dataset"] != dataset or len(ladder["strengths"]) < 2 or ladder["kind"] != "family":
            continue
        key, top = ladder["vary"] or "strength", ladder["strengths"][-1]
        point = (f"{key} = {ladder['fool_point']:g}" if ladder["fool_point"] is not None
                 else f"not fooled up to {key} = {top:g}")
        p = _capacity(ladder["score"])
        rows.append([ladder["label"], ladder["adversary"], point,
                     ", ".join(f"{m:g}" for m in ladder["detected_at"]) or "none",
                     "" if p is None else f"{p * math.log(p):.3g}"])
    return rows


FOOL_HEADER = ["score", "adversary", "fool point (smallest strength missed)", "detected at", "p log p (NND)"]


def markdown(gauntlet: dict, plot_files: dict) -> str:
    lines = ["## The gauntlet: which metric catches which adversary", "",
             RULE.format(**_levels(gauntlet)), "", "✔ detected, ✘ not detected, ? no verdict.", ""]
    marks = {"detected": "✔", "missed": "✘", "unknown": "?"}
    for dataset, columns in gauntlet["columns"].items():
        header = ["score", "control: mean ± sd [band]"] + [label for _, _, label in columns]
        lines += [f"### {dataset}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for _, label, cells in _rows(gauntlet, dataset):
            texts = []
            for adversary, strength, _ in columns:
                text, state = _cell(cells.get((adversary, strength)))
                texts.append(f"{marks[state]} {text}")
            lines.append("| " + " | ".join([label, _control(cells)] + texts).replace("|", "\\|")
                         .replace(" \\| ", " | ") + " |")
        fools = _fool_points(gauntlet, dataset)
        if fools:
            lines += ["", "| " + " | ".join(FOOL_HEADER) + " |", "|" + "---|" * len(FOOL_HEADER)]
            lines += ["| " + " | ".join(row) + " |" for row in fools]
        if dataset in plot_files:
            lines += ["", f"![{dataset} gauntlet]({plot_files[dataset]})"]
        lines.append("")
    return "\n".join(lines)


def text_tables(gauntlet: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(data set, header, rows) per data set: the matrix for a terminal, a mark per cell."""
    marks = {"detected": "yes", "missed": "no", "unknown": "?"}
    tables = []
    for dataset, columns in gauntlet["columns"].items():
        rows = [[label] + [marks[_cell(cells.get((a, s)))[1]] for a, s, _ in columns]
                for _, label, cells in _rows(gauntlet, dataset)]
        tables.append((f"gauntlet on {dataset} (detected?)", ["score"] + [lab for _, _, lab in columns], rows))
    return tables


STYLE = """
table.gauntlet { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
table.gauntlet th, table.gauntlet td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
table.gauntlet td:first-child { text-align: left; }
table.gauntlet th { background: #f0f0f0; }
td.detected { background: #c8e6c9; }
td.missed { background: #ffcdd2; }
td.unknown { background: #eeeeee; }
"""


def html_section(gauntlet: dict, plots: dict, data_uri) -> str:
    e = html.escape
    parts = ["<h1>The gauntlet: which metric catches which adversary</h1>",
             f"<p>{e(RULE.format(**_levels(gauntlet)))}</p>"]
    for dataset, columns in gauntlet["columns"].items():
        parts.append(f"<h2>{e(dataset)}</h2><table class=\"gauntlet\"><thead><tr><th>score</th>"
                     "<th>control: mean ± sd [band]</th>"
                     + "".join(f"<th>{e(label)}</th>" for _, _, label in columns) + "</tr></thead><tbody>")
        for _, label, cells in _rows(gauntlet, dataset):
            row = [f"<td>{e(label)}</td><td>{e(_control(cells))}</td>"]
            for adversary, strength, _ in columns:
                text, state = _cell(cells.get((adversary, strength)))
                row.append(f"<td class=\"{state}\">{e(text)}</td>")
            parts.append("<tr>" + "".join(row) + "</tr>")
        parts.append("</tbody></table>")
        fools = _fool_points(gauntlet, dataset)
        if fools:
            parts.append("<table class=\"gauntlet\"><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in FOOL_HEADER)
                         + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row)
                                                            + "</tr>" for row in fools) + "</tbody></table>")
        if dataset in plots:
            parts.append(f"<figure><img class=\"plot\" alt=\"{e(dataset)} gauntlet\" "
                         f"src=\"{data_uri(plots[dataset])}\"><figcaption>{e(dataset)}: each score against "
                         f"memorised support m</figcaption></figure>")
    return "\n".join(parts)


def _levels(gauntlet: dict) -> dict:
    controls = [e["control"] for e in gauntlet["entries"] if e["control"]]
    return {"level": controls[0]["level"] if controls else 0.99, "k": controls[0]["k"] if controls else 0}


def plot(gauntlet: dict, dataset: str) -> bytes | None:
    """Each score against memorised support m (log axis), one line per family ladder, the control band shaded;
    filled markers where the adversary is detected."""
    ladders = [ladder for ladder in gauntlet["ladders"] if ladder["dataset"] == dataset
               and len(ladder["strengths"]) >= 2 and ladder["kind"] == "family"]
    scores = list(dict.fromkeys(ladder["score"] for ladder in ladders))
    if not scores:
        return None
    columns = min(4, len(scores))
    rows = -(-len(scores) // columns)
    figure, grid = pyplot().subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for axes, score in zip(grid.flat, scores, strict=False):
        found = [e for e in gauntlet["entries"] if e["dataset"] == dataset and e["score"] == score]
        control = next((e["control"] for e in found if e["control"]), None)
        if control:
            axes.axhspan(control["low"], control["high"], color="grey", alpha=0.25, label="control band")
            centre = math.exp(control["mean"]) if control["scale"] == "log" else control["mean"]
            axes.axhline(centre, color="grey", linewidth=1)
        for index, ladder in enumerate(ladder for ladder in ladders if ladder["score"] == score):
            rungs = sorted((e for e in found if e["adversary"] == ladder["adversary"]), key=lambda e: e["strength"])
            x, y = [e["strength"] for e in rungs], [e["value"] for e in rungs]
            line = axes.plot(x, y, marker="os^D"[index % 4], linestyle="-", label=ladder["adversary"],
                             markerfacecolor="none")[0]
            hits = [(a, b) for a, b, e in zip(x, y, rungs, strict=True) if e["detected"]]
            if hits:
                axes.plot(*zip(*hits, strict=True), marker="os^D"[index % 4], linestyle="none",
                          color=line.get_color())
        axes.set_xscale("log")
        if control and control["scale"] == "log":
            axes.set_yscale("log")
        axes.set_title(found[0]["label"] + f" ({found[0]['worse']} is worse)", fontsize=8)
        axes.set_xlabel(" / ".join(sorted({ladder["vary"] or "strength" for ladder in ladders
                                           if ladder["score"] == score})), fontsize=8)
        axes.tick_params(labelsize=7)
    for axes in list(grid.flat)[len(scores):]:
        axes.axis("off")
    grid.flat[0].legend(fontsize=7)
    figure.suptitle(f"{dataset}: every score against memorised support m (filled: detected)")
    figure.tight_layout()
    return figure_png(figure)
