"""The shipped example plugin, installed as a user would, is found, listed and usable; and it passes the
same contract tests as the built-ins."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gan_zoo
from gan_zoo.app.jobs import load_suite
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import load_registry
from gan_zoo.testing import check_declaration, check_discriminator, check_family, check_feature_space, check_metric

from .conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "gan-zoo-lsgan"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True)
    return target


def test_listed_with_its_plugin_name_then_trains_and_samples(site, tmp_path):
    env = {"PYTHONPATH": str(site)}
    families = json.loads(run_cli("families", "--json", env_extra=env).stdout)
    lsgan = next(f for f in families if f["name"] == "lsgan")
    assert lsgan["plugin"] == "lsgan (gan-zoo-lsgan 0.1.0)" and lsgan["config"]["loss"] == "least-squares"
    run_cli("train", "lsgan", "--dataset", "ring8", "--steps", "20", "--out", tmp_path, env_extra=env)
    run_cli("sample", tmp_path / "model.safetensors", "-n", "100", "--out", tmp_path / "lsgan.png", env_extra=env)
    assert (tmp_path / "lsgan.png").stat().st_size > 1000


def test_its_suite_is_listed_and_expands(site, monkeypatch):
    suites = json.loads(run_cli("suites", "--json", env_extra={"PYTHONPATH": str(site)}).stdout)
    shipped = next(s for s in suites if s["name"] == "lsgan-vs-vanilla")
    assert shipped["plugin"] == "lsgan (gan-zoo-lsgan 0.1.0)" and shipped["path"].startswith(str(site))
    monkeypatch.syspath_prepend(str(site))
    jobs = load_suite("lsgan-vs-vanilla", load_registry()).jobs
    assert {(job.family, job.dataset) for job in jobs} == {(f, d) for f in ("lsgan", "vanilla")
                                                           for d in ("ring8", "grid25")} and len(jobs) == 12


def test_passes_the_family_contract(site, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(site))
    reg = load_registry()
    check_declaration(reg, "lsgan")
    torch.manual_seed(0)
    check_family(reg, "lsgan", tmp_path)
    check_metric(reg, "nearest_train")  # the same checks as the built-in metrics


def test_its_metric_meets_the_contract_and_tells_copies_from_fresh_items(site, monkeypatch):
    from gan_zoo.contracts import contract_problem
    from gan_zoo.harness.evaluate import EvalConfig, evaluate
    from gan_zoo.sources import ModelSource, TensorSource
    from gan_zoo.training import construct

    monkeypatch.syspath_prepend(str(site))
    reg = load_registry()
    assert contract_problem("metrics", reg.metric("nearest_train")) is None
    digits = open_dataset(reg.dataset("digits"))
    config = EvalConfig.build(reg, ["nearest_train"], {"nearest_train": {"samples": 150}})
    cpu = torch.device("cpu")
    memorizer = construct(reg.family("memorizer"), reg.family("memorizer").Config(m=100), digits, 0, cpu)
    copies = evaluate(ModelSource(memorizer), digits, reg, config, seed=0, device=cpu).record["metrics"]
    # held-out items the reference (the first 150) does not use: fresh real data
    fresh = evaluate(TensorSource(digits.heldout.x[150:], "unused real items"), digits, reg, config, seed=0,
                     device=cpu).record["metrics"]
    assert copies["nearest_train"]["value"] == 0.0  # every generated item is a training item
    assert 0.8 < fresh["nearest_train"]["value"] < 1.2 and fresh["nearest_train"]["n"] == 150


def test_its_discriminator_and_feature_space_are_listed_and_used_by_eval(site, tmp_path):
    env = {"PYTHONPATH": str(site)}
    discriminators = json.loads(run_cli("discriminators", "--json", env_extra=env).stdout)
    spaces = json.loads(run_cli("features", "--json", env_extra=env).stdout)
    maxout = next(d for d in discriminators if d["name"] == "maxout")
    projection = next(s for s in spaces if s["name"] == "random-projection")
    assert maxout["plugin"] == projection["plugin"] == "lsgan (gan-zoo-lsgan 0.1.0)"
    assert projection["config"] == {"dim": 64, "seed": 0}
    record_path = tmp_path / "memorizer.json"
    run_cli("eval", "memorizer", "--dataset", "ring8", "--set", "m=50", "--metrics", "nn_distance,prdc",
            "--capacities", "300", "-o", "nn_distance.discriminator=maxout", "-o", "nn_distance.ensemble.members=1",
            "-o", "nn_distance.ensemble.steps=20", "-o", "nn_distance.max_items=300",
            "-o", "prdc.features=random-projection", "-o", "prdc.samples=500", "-o", "features.random-projection.dim=8",
            "--quiet", "--json", record_path, env_extra=env)
    record = json.loads(record_path.read_text())
    assert not record["errors"] and not record["skipped"]
    nnd, prdc = record["metrics"]["nn_distance"], record["metrics"]["prdc"]
    assert nnd["discriminator"] == "maxout"
    [entry] = nnd["capacities"]
    assert entry["target_p"] == 300 and abs(entry["p"] - 300) <= 30 and entry["mode"] == "vmap"
    assert prdc["features"] == "random-projection" and prdc["space"] == {"dim": 8, "seed": 0}
    assert record["eval_config"]["features"] == {"random-projection": {"dim": 8, "seed": 0}}
    # 50 memorised items cover little of ring8, in the projection as in the data: real data covers it
    assert prdc["coverage"] < 0.6 < prdc["real_vs_real"]["coverage"]


def test_its_discriminator_and_feature_space_pass_the_contracts(site, monkeypatch):
    from gan_zoo.harness.evaluate import EvalConfig

    monkeypatch.syspath_prepend(str(site))
    reg = load_registry()
    maxout, projection = reg.discriminator("maxout"), reg.feature_space("random-projection")
    ring8 = open_dataset(reg.dataset("ring8"), seed=0)
    check_discriminator(maxout)
    check_discriminator(maxout, "3")
    with pytest.raises(UserError, match="maxout:1: the option is the number of pieces"):
        maxout.build(ring8.spec, 0, 4, "1")
    default = check_feature_space(projection, ring8)
    other = check_feature_space(projection, ring8, config=projection.Config(dim=8, seed=1))
    assert default.dim == 64 and other.info == {"dim": 8, "seed": 1}
    with pytest.raises(UserError, match="dim = 0: must be a whole number"):
        EvalConfig.build(reg, ["prdc"], {"prdc": {"features": "random-projection"}}, {"random-projection": {"dim": 0}})
    with pytest.raises(UserError, match="random-projection:8: it takes no option"):
        projection().load(ring8, "8", projection.Config(), torch.device("cpu"))
    record = check_metric(reg, "prdc", settings={"features": "random-projection", "samples": 500})
    assert record["metrics"]["prdc"]["space"] == {"dim": 64, "seed": 0}


def test_imports_from_gan_zoo_only_names_it_exports():
    """A plugin author copies the example: it must show the public API, `from gan_zoo import ...`, and nothing
    deeper (gan_zoo.plugins.vanilla, gan_zoo.config, ... are internals that may move)."""
    deeper, unknown = [], []
    for path in sorted((EXAMPLE / "gan_zoo_lsgan").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deeper += [f"{path.name}: import {a.name}" for a in node.names if a.name.startswith("gan_zoo")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gan_zoo") and node.level == 0:
                if node.module != "gan_zoo":
                    deeper.append(f"{path.name}: from {node.module} import ...")
                unknown += [f"{path.name}: {a.name}" for a in node.names if a.name not in gan_zoo.__all__]
    assert not deeper and not unknown, (deeper, unknown)


def test_every_export_resolves_and_type_checkers_see_the_same_names():
    """gan_zoo's exports are imported on first use (_EXPORTS), and again under TYPE_CHECKING for type checkers,
    which cannot follow __getattr__: the two lists must name the same things from the same modules."""
    init = Path(gan_zoo.__file__)
    typed = {}
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                typed.update({a.name: statement.module for a in statement.names})
    assert typed == gan_zoo._EXPORTS
    for name, module in gan_zoo._EXPORTS.items():
        assert getattr(gan_zoo, name) is getattr(importlib.import_module(module), name)
