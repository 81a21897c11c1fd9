"""The gauntlet's report: gauntlet.json, the detection matrix (Markdown and coloured HTML), fool points, a plot of
every score against memorised support m and one of every adversary's power curves.

Written by report.write_report beside the leaderboard whenever a results folder holds gauntlet jobs. The
numbers come from harness.gauntlet (the protocol and the detection rule are documented there).

gauntlet.json: a list, one entry per data set, score, adversary and strength: dataset, metric (the registered
metric), score (its leaderboard column key), label, worse, adversary, kind, vary (a family's setting, else
null), harder (which way the strength is harder to detect), strength, value (mean over its seeds), values,
seeds, alpha (the false-positive rate each run is judged at), p_values (one per seed), hits (runs detected),
runs, power (hits / runs), power_ci (Clopper-Pearson 95%), detected (power at least one half; null with a
reason), band [low, high] (the control runs' range with the detection edge on the worse side), control {mean,
sd, k, alpha, scale, edge, low, high, rule} (scale "log": mean and sd are of the logs; rule "rank" or "count"),
effect (control sds, positive when worse). The measured false-positive rates per data set
(harness.gauntlet.false_positives) go to leaderboard.json, under gauntlet.false_positives.
"""

from __future__ import annotations

import html
import math

from gan_zoo.drawing import figure_png, pyplot
from gan_zoo.harness.gauntlet import CONTROL, DAMAGE_STRENGTHS, entries, false_positives, ladders
from gan_zoo.harness.gauntlet import label as adversary_label

RULE = ("Each cell: runs detected of runs (one per seed), the power's 95% interval, and the mean value. A run is "
        "detected when its rank p-value among {k} control runs (real items of a split neither the adversaries "
        "nor the metrics' reference holds, each on its own split) is at most {alpha:.3g}; the birthday test's "
        "collision count is judged by an exact Poisson test against the control runs' counts. Green: detected "
        "in at least half the runs (darker: more); red: in fewer (the adversary fools the score there). "
        "False positives: each control run held out in turn and judged as an adversary; the any-score rate is "
        "what reading every score at once costs ({familywise}).")


GROUPS = {"family": "memorizers", "noise": "damage", "blur": "damage", "drop-modes": "diversity loss"}


def group_of(spec: dict) -> str:
    """The matrix a column goes to: adversaries of one kind side by side, so no table is wider than a screen."""
    return spec.get("group") or GROUPS.get(spec["kind"], "other")


def build(results: list[dict], registry) -> dict | None:
    """The gauntlet of a results folder (None when it holds no gauntlet job): entries, ladders, column order per
    data set and adversary group, and the measured false-positive rates."""
    table = entries(results, registry)
    if not table:
        return None
    labels: dict[str, dict[tuple, tuple[str, str]]] = {}  # per data set: (adversary, strength) -> (label, group)
    for result in results:
        spec = result["job"].get("gauntlet")
        if spec and spec["kind"] != CONTROL:
            labels.setdefault(result["job"]["dataset"], {})[spec["adversary"], spec["strength"]] = (
                adversary_label(spec), group_of(spec))
    order: dict[str, dict[str, list]] = {}  # data set -> group -> [(adversary, strength, label)], in suite order
    for dataset, named in labels.items():
        rank: dict[str, int] = {}
        for adversary, _ in named:
            rank.setdefault(adversary, len(rank))
        groups: dict[str, list] = {}
        for adversary, strength in sorted(named, key=lambda c: (rank[c[0]], c[1])):
            label, group = named[adversary, strength]
            groups.setdefault(group, []).append((adversary, strength, label))
        order[dataset] = groups
    notes = {}  # per score: its metric's word on it beside the fool point (Metric.ladder_note)
    for entry in table:
        metric = registry.metrics.get(entry["metric"])
        if metric is not None and entry["score"] not in notes:
            notes[entry["score"]] = metric().ladder_note(entry["score"])
    return {"entries": table, "ladders": ladders(table), "columns": order, "notes": notes,
            "false_positives": false_positives(results, registry)}


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
    if entry["detected"] is None:
        return f"{entry['value']:.3g} (no verdict)", "unknown"
    low, high = entry["power_ci"]
    state = "detected" if entry["detected"] else "missed"
    return f"{entry['hits']}/{entry['runs']} [{low:.2f}, {high:.2f}] {entry['value']:.3g}", state


def _shade(entry: dict | None) -> str:
    """A cell's background by its power: red at 0, through pale at one half, to green at 1."""
    if entry is None or entry["power"] is None:
        return "#eeeeee"
    power = entry["power"]
    if power >= 0.5:
        t = (power - 0.5) * 2
        return f"rgb({int(232 - 100 * t)},{int(245 - 45 * t)},{int(233 - 100 * t)})"
    t = (0.5 - power) * 2
    return f"rgb({int(255 - 5 * t)},{int(235 - 80 * t)},{int(238 - 80 * t)})"


def _control(cells: dict) -> str:
    control = next((e["control"] for e in cells.values() if e["control"]), None)
    if control is None:
        return "-"
    edge = ("exact count test" if control["rule"] == "count" else "-") if control["edge"] is None \
        else f"edge {control['edge']:.3g}"
    if control["scale"] == "log":  # mean and sd of the logs: the geometric mean, and the spread as a factor
        return f"{math.exp(control['mean']):.3g} ×/÷ {math.exp(control['sd']):.2g}, {edge}"
    return f"{control['mean']:.3g} ± {control['sd']:.2g}, {edge}"


def _false_positive(gauntlet: dict, dataset: str, key: str) -> str:
    row = gauntlet["false_positives"].get(dataset, {}).get("scores", {}).get(key)
    if not row or not row["runs"]:
        return "-"
    return f"{row['flagged']}/{row['runs']} [{row['ci'][0]:.2f}, {row['ci'][1]:.2f}]"


def _any_false_positive(gauntlet: dict, dataset: str) -> str:
    found = gauntlet["false_positives"].get(dataset)
    if not found or not found["any"]["runs"]:
        return f"{dataset}: no control run could be held out and judged"
    hits, runs, (low, high) = found["any"]["flagged"], found["any"]["runs"], found["any"]["ci"]
    return (f"{dataset}: measured false positives, each of {runs} control runs held out and judged against the "
            f"rest at {found['alpha']:.3g} per score: any of {len(found['scores'])} scores flagged {hits}/{runs} "
            f"clean runs ({hits / runs:.0%}, 95% interval {low:.0%} to {high:.0%}); per score in the "
            f"'false positives' column.")


def _fool_points(gauntlet: dict, dataset: str) -> list[list[str]]:
    """Per score and ladder: the fool point (first strength, easiest to hardest, with power below one half), the
    strengths whose power interval holds one half, and the score's metric's note on it (p log p beside a
    capacity's neural-net distance)."""
    rows = []
    for ladder in gauntlet["ladders"]:
        if ladder["dataset"] != dataset or len(ladder["strengths"]) < 2:
            continue
        key, hardest = ladder["vary"] or "strength", ladder["strengths"][-1]
        point = (f"{key} = {ladder['fool_point']:g} ({ladder['fool_power'][0]}/{ladder['fool_power'][1]})"
                 if ladder["fool_point"] is not None else f"not fooled up to {key} = {hardest:g}")
        rows.append([ladder["label"], ladder["adversary"], point,
                     ", ".join(f"{m:g}" for m in ladder["uncertain"]) or "none",
                     gauntlet["notes"].get(ladder["score"], "")])
    return rows


FOOL_HEADER = ["score", "adversary", "fool point (power < 1/2)", "power interval holds 1/2 at", "note"]


def _levels(gauntlet: dict) -> dict:
    found = next(iter(gauntlet["false_positives"].values()), None)
    controls = [e["control"] for e in gauntlet["entries"] if e["control"]]
    familywise = {"bonferroni": "Bonferroni: each score at (1 - level) / scores, so any score at most 1 - level",
                  "maxt": "max-T: each run's scores judged against the control runs' largest, so any score at most "
                          "1 - level"
                  }.get(found["familywise"] if found else "report",
                        "reported, not controlled; familywise = \"maxt\" bounds it")
    return {"alpha": controls[0]["alpha"] if controls else 0.05, "k": controls[0]["k"] if controls else 0,
            "familywise": familywise}


def markdown(gauntlet: dict, plot_files: dict) -> str:
    lines = ["## The gauntlet: which metric catches which adversary", "",
             RULE.format(**_levels(gauntlet)), "", "✔ detected in at least half the runs, ✘ in fewer, ? no verdict.",
             ""]
    marks = {"detected": "✔", "missed": "✘", "unknown": "?"}
    for dataset, groups in gauntlet["columns"].items():
        lines += [f"### {dataset}", "", _any_false_positive(gauntlet, dataset), ""]
        for group, columns in groups.items():
            header = ["score", "control: mean ± sd, edge", "false positives"] + [label for _, _, label in columns]
            lines += [f"#### {dataset}: {group}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for key, label, cells in _rows(gauntlet, dataset):
                texts = []
                for adversary, strength, _ in columns:
                    text, state = _cell(cells.get((adversary, strength)))
                    texts.append(f"{marks[state]} {text}")
                lines.append("| " + " | ".join([label, _control(cells), _false_positive(gauntlet, dataset, key)]
                                               + texts).replace("|", "\\|").replace(" \\| ", " | ") + " |")
            lines.append("")
        fools = _fool_points(gauntlet, dataset)
        if fools:
            lines += ["| " + " | ".join(FOOL_HEADER) + " |", "|" + "---|" * len(FOOL_HEADER)]
            lines += ["| " + " | ".join(row) + " |" for row in fools]
        for kind, path in plot_files.get(dataset, {}).items():
            lines += ["", f"![{dataset} gauntlet: {CAPTIONS[kind]}]({path})"]
        lines.append("")
    return "\n".join(lines)


def text_tables(gauntlet: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) per data set and adversary group: the matrix for a terminal, runs detected per cell."""
    tables = []
    for dataset, groups in gauntlet["columns"].items():
        for group, columns in groups.items():
            rows = []
            for _, label, cells in _rows(gauntlet, dataset):
                found = [cells.get((a, s)) for a, s, _ in columns]
                rows.append([label] + ["?" if e is None or e["hits"] is None else f"{e['hits']}/{e['runs']}"
                                       for e in found])
            tables.append((f"gauntlet on {dataset}, {group} (runs detected)",
                           ["score"] + [lab for _, _, lab in columns], rows))
    return tables


STYLE = """
table.gauntlet { border-collapse: collapse; margin: 1em 0; font-size: 0.8em; }
table.gauntlet th, table.gauntlet td { border: 1px solid #ccc; padding: 2px 5px; text-align: right; }
table.gauntlet td:first-child { text-align: left; }
table.gauntlet th { background: #f0f0f0; max-width: 9em; }
div.gauntlet-group { overflow-x: auto; max-width: 100%; }
td.detected, td.missed, td.unknown { white-space: nowrap; }
"""


def html_section(gauntlet: dict, plots: dict, data_uri) -> str:
    e = html.escape
    parts = ["<h1>The gauntlet: which metric catches which adversary</h1>",
             f"<p>{e(RULE.format(**_levels(gauntlet)))}</p>"]
    for dataset, groups in gauntlet["columns"].items():
        parts.append(f"<h2>{e(dataset)}</h2><p>{e(_any_false_positive(gauntlet, dataset))}</p>")
        for group, columns in groups.items():
            parts.append(f"<h3>{e(group)}</h3><div class=\"gauntlet-group\"><table class=\"gauntlet\"><thead><tr>"
                         "<th>score</th><th>control: mean ± sd, edge</th><th>false positives</th>"
                         + "".join(f"<th>{e(label)}</th>" for _, _, label in columns) + "</tr></thead><tbody>")
            for key, label, cells in _rows(gauntlet, dataset):
                row = [f"<td>{e(label)}</td><td>{e(_control(cells))}</td>"
                       f"<td>{e(_false_positive(gauntlet, dataset, key))}</td>"]
                for adversary, strength, _ in columns:
                    entry = cells.get((adversary, strength))
                    text, state = _cell(entry)
                    row.append(f"<td class=\"{state}\" style=\"background:{_shade(entry)}\">{e(text)}</td>")
                parts.append("<tr>" + "".join(row) + "</tr>")
            parts.append("</tbody></table></div>")
        fools = _fool_points(gauntlet, dataset)
        if fools:
            parts.append("<table class=\"gauntlet\"><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in FOOL_HEADER)
                         + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row)
                                                            + "</tr>" for row in fools) + "</tbody></table>")
        for kind, payload in plots.get(dataset, {}).items():
            parts.append(f"<figure><img class=\"plot\" alt=\"{e(dataset)} gauntlet: {e(kind)}\" "
                         f"src=\"{data_uri(payload)}\"><figcaption>{e(dataset)}: {e(CAPTIONS[kind])}</figcaption>"
                         "</figure>")
    return "\n".join(parts)


CAPTIONS = {"support": "each score's power against memorised support m",
            "power": "the power of the scores that detect each adversary, against its strength"}
POWER_LINES = 6  # scores drawn per adversary in the power figure: those that detect it most (the matrix has all)


def plots(gauntlet: dict, dataset: str) -> dict[str, bytes]:
    """The data set's figures by kind: `support`, each score's power against memorised support m (the family
    ladders), and `power`, each adversary ladder's power curves for the scores that detect it."""
    figures = {"support": _support_plot(gauntlet, dataset), "power": _power_plot(gauntlet, dataset)}
    return {kind: payload for kind, payload in figures.items() if payload}


def _errorbars(axes, rungs: list[dict], marker: str, label: str) -> None:
    """Power against strength with its 95% interval, over the rungs that have a verdict."""
    rungs = sorted((e for e in rungs if e["power"] is not None), key=lambda e: e["strength"])
    if rungs:
        y = [e["power"] for e in rungs]
        spread = [[p - e["power_ci"][0] for p, e in zip(y, rungs, strict=True)],
                  [e["power_ci"][1] - p for p, e in zip(y, rungs, strict=True)]]
        axes.errorbar([e["strength"] for e in rungs], y, yerr=spread, marker=marker, capsize=2, label=label)


def _power_axes(axes, title: str, xlabel: str) -> None:
    axes.axhline(0.5, color="grey", linewidth=1, linestyle="--")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title(title, fontsize=8)
    axes.set_xlabel(xlabel, fontsize=8)
    axes.set_ylabel("power", fontsize=8)
    axes.tick_params(labelsize=7)


def _grid(panels: int, columns: int):
    columns = min(columns, panels)
    rows = -(-panels // columns)
    figure, grid = pyplot().subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for axes in list(grid.flat)[panels:]:
        axes.axis("off")
    return figure, grid


def _titled_png(figure, title: str) -> bytes:
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.4 / figure.get_figheight()))  # room for the title above the panels
    return figure_png(figure)


def _power_plot(gauntlet: dict, dataset: str) -> bytes | None:
    """One panel per adversary with several strengths: the power of the (at most POWER_LINES) scores that detect
    it at some strength, most detections first, against its strength; the dashed line is one half."""
    ladders: dict[str, list[dict]] = {}
    for ladder in gauntlet["ladders"]:
        if ladder["dataset"] == dataset and len(ladder["strengths"]) >= 2:
            ladders.setdefault(ladder["adversary"], []).append(ladder)
    if not ladders:
        return None
    found: dict[tuple, list[dict]] = {}
    for entry in gauntlet["entries"]:
        if entry["dataset"] == dataset:
            found.setdefault((entry["score"], entry["adversary"]), []).append(entry)
    figure, grid = _grid(len(ladders), 3)
    for axes, (adversary, each) in zip(grid.flat, ladders.items(), strict=False):
        catching = sorted((ladder for ladder in each if ladder["detected_at"]),
                          key=lambda ladder: -sum(p or 0 for p in ladder["power"]))
        for index, ladder in enumerate(catching[:POWER_LINES]):
            _errorbars(axes, found[ladder["score"], adversary], "os^Dvx"[index % 6], ladder["label"])
        strengths = sorted(each[0]["strengths"])
        if min(strengths) > 0 and max(strengths) >= 10 * min(strengths):
            axes.set_xscale("log")
            axes.minorticks_off()  # the strengths themselves are the ticks: 10^-1.3 says less than 0.05
        axes.set_xticks(strengths, [f"{s:g}" for s in strengths])
        more = len(catching) - POWER_LINES
        note = (" (no score detects it)" if not catching else
                f" (+{more} more scores detect it)" if more > 0 else "")
        _power_axes(axes, f"{adversary}{note}", each[0]["vary"] or DAMAGE_STRENGTHS.get(adversary, "strength"))
        if catching:
            axes.legend(fontsize=6)
    return _titled_png(figure, f"{dataset}: the power of the scores that detect each adversary, against its strength")


def _support_plot(gauntlet: dict, dataset: str) -> bytes | None:
    """Power curves: per score, the share of runs detected (with its 95% interval) against memorised support m
    (log axis), one line per family ladder; the dashed line is one half, where the fool point lies."""
    ladders = [ladder for ladder in gauntlet["ladders"] if ladder["dataset"] == dataset
               and len(ladder["strengths"]) >= 2 and ladder["kind"] == "family"]
    scores = list(dict.fromkeys(ladder["score"] for ladder in ladders))
    if not scores:
        return None
    figure, grid = _grid(len(scores), 4)
    for axes, score in zip(grid.flat, scores, strict=False):
        found = [e for e in gauntlet["entries"] if e["dataset"] == dataset and e["score"] == score]
        for index, ladder in enumerate(ladder for ladder in ladders if ladder["score"] == score):
            _errorbars(axes, [e for e in found if e["adversary"] == ladder["adversary"]], "os^D"[index % 4],
                       ladder["adversary"])
        axes.set_xscale("log")
        _power_axes(axes, found[0]["label"], " / ".join(sorted({ladder["vary"] or "strength" for ladder in ladders
                                                                 if ladder["score"] == score})))
    grid.flat[0].legend(fontsize=7)
    return _titled_png(figure, f"{dataset}: power (runs detected) against memorised support m")
