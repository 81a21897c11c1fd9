"""The app reads the registry, never a metric's name: a third party's metric gets the built-ins' treatment (a sort
key, plots, pictures, a shortcut option), and no file of gan_zoo/app/ spells a built-in metric's name."""

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from gan_zoo.contracts import contract_problem
from gan_zoo.metrics import Metric, Shortcut
from gan_zoo.registry import registry

from .conftest import make_distribution, run_cli

APP = Path(__file__).resolve().parents[1] / "gan_zoo" / "app"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_file_of_the_app_spells_a_built_in_metrics_name():
    builtins = {name for name, cls in registry().metrics.items() if cls.__module__.startswith("gan_zoo.plugins.")}
    assert {"nn_distance", "birthday", "fd", "prdc", "modes"} <= builtins  # the scan has names to look for
    spelt = []
    for path in sorted(APP.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):  # f-strings' literal parts are Constants too
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if any(node.value == name or node.value.startswith((f"{name}.", f"{name}["))
                       for name in builtins):
                    spelt.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert not spelt, "the app names built-in metrics; declare what it needs on the metric instead:\n" + \
        "\n".join(spelt)


PLUGIN = """
import io

from PIL import Image

from gan_zoo import Column, Metric, Shortcut, hookimpl
from dataclasses import dataclass


def png(size):
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class SpreadConfig:
    items: int = 500


class Spread(Metric):
    name = "spread"
    description = "standard deviation of the samples (a test plugin)"
    Config = SpreadConfig
    worse = "lower"
    sort_key = "spread"
    shortcuts = (Shortcut("--spread-items", "items", "items the spread is measured on.", int),)

    def compute(self, ctx, config):
        items = ctx.samples(ctx.available(config.items))
        ctx.artifacts[self.name] = items[:4]
        return {"value": float(items.std()), "items": len(items)}

    def summary(self, result):
        return f"spread {result['value']:.3g} over {result['items']} items"

    def plots(self, dataset, table):
        rows = [row for row in table["rows"] if "spread" in row["cells"]]
        return {"spread-bars": png(8 + len(rows))} if rows else {}

    def picture(self, artifact):
        return {"spread-sample": png(len(artifact))}


@hookimpl
def register_metrics(register):
    register(Spread)
"""

SUITE = """
[suite]
datasets = ["ring8"]

[eval]
metrics = ["spread"]

[[family]]
name = "memorizer"
set = {m = 2}

[[family]]
name = "memorizer"
set = {m = 500}
"""


@pytest.mark.slow
def test_a_third_party_metrics_sort_key_plot_picture_and_option_reach_the_leaderboard_and_the_cli(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "gan-zoo-spread", "0.1", {"spread_app_plugin": PLUGIN}, {"spread": "spread_app_plugin"})
    env = {"PYTHONPATH": str(site), "GAN_ZOO_CACHE": str(tmp_path / "cache")}
    suite, out = tmp_path / "spread.toml", tmp_path / "out"
    suite.write_text(SUITE)
    run_cli("bench", suite, "--out", out, "--quiet", env_extra=env)
    board = json.loads((out / "leaderboard.json").read_text())
    ring8 = board["datasets"]["ring8"]
    # its sort key orders the rows: worse is lower, so the widest spread first
    assert board["sort"] == "spread, descending"
    assert [row["label"] for row in ring8["rows"]] == ["memorizer (m=500)", "memorizer (m=2)"]
    spreads = [row["cells"]["spread"]["mean"] for row in ring8["rows"]]
    assert spreads[0] > spreads[1]
    # its plot, drawn from the leaderboard's rows, and its picture of what compute left in ctx.artifacts
    assert ring8["plots"] == {"spread-bars": "plots/ring8-spread-bars.png"}
    assert (out / ring8["plots"]["spread-bars"]).read_bytes().startswith(b"\x89PNG")
    pictures = [row["pictures"]["spread-sample"] for row in ring8["rows"]]
    assert all((out / path).read_bytes().startswith(b"\x89PNG") for path in pictures)
    markdown = (out / "leaderboard.md").read_text()
    assert "![ring8 spread-bars](plots/ring8-spread-bars.png)" in markdown and "spread-sample" in markdown
    assert "Rows are sorted by spread, descending." in markdown
    page = (out / "leaderboard.html").read_text()
    assert 'alt="ring8 spread-bars"' in page and "spread-sample</figcaption>" in page
    # its shortcut is an option of `gan-zoo eval`, listed in the help and setting its setting
    assert "--spread-items" in run_cli("eval", "--help", env_extra=env).stdout
    judged = run_cli("eval", "memorizer", "--dataset", "ring8", "--set", "m=50", "--metrics", "spread",
                     "--spread-items", "40", env_extra=env)
    assert "spread" in judged.stdout and "over 40 items" in judged.stdout


@dataclass
class Settings:
    samples: int = 10


class Declared(Metric):
    name = "declared"
    description = "a metric whose app declarations are checked (a test)"
    Config = Settings

    def compute(self, ctx, config):
        return {"value": 0.0}


@pytest.mark.parametrize("declarations, problem", [
    ({"check": "copying", "check_rule": "always"}, "no flag(result, record)"),
    ({"check": "memorises"}, "use one of copying, failed"),
    ({"shortcuts": (Shortcut("--size", "size", "the size."),)}, "setting 'size', which its Config lacks"),
    ({"shortcuts": ("--samples",)}, "not a gan_zoo.Shortcut"),
    ({"sort_key": ""}, "declares sort_key = ''"),
    ({"plots": "a picture"}, "has a plots that is not a method"),
])
def test_what_the_app_reads_of_a_metric_is_checked_when_it_registers(declarations, problem):
    metric = type("Bad", (Declared,), declarations)
    assert problem in contract_problem("metrics", metric)
    assert contract_problem("metrics", Declared) is None
