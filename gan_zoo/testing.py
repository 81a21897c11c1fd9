"""Contract tests a plugin's own test suite can run, the way gan-zoo tests its built-ins (like timm's
test_models): every registered thing gets the same checks, so a new plugin is tested by existing tests.

    # in a plugin's tests
    from gan_zoo.registry import load_registry
    from gan_zoo.testing import check_family, check_metric

    def test_my_family(tmp_path):
        check_family(load_registry(), "my-gan", tmp_path)

    def test_my_metric():
        check_metric(load_registry(), "my-metric")
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.contracts import contract_problem
from gan_zoo.datasets import open_dataset
from gan_zoo.family import DataSpec
from gan_zoo.registry import Registry
from gan_zoo.sources import TensorSource

SMALL = {"width": 16, "channels": 4, "batch_size": 16, "k": 2, "base_settings": "width=16,channels=4,batch_size=16"}


def small_config(family):
    """The family's defaults, with capacity and batch shrunk so a contract test takes a moment."""
    config = family.Config()
    return dataclasses.replace(config, **{k: v for k, v in SMALL.items() if hasattr(config, k)})


def check_declaration(registry: Registry, name: str) -> None:
    family = registry.family(name)
    assert contract_problem("families", family) is None, contract_problem("families", family)
    assert family.name == name and family.description and "\n" not in family.description
    if family.kind == "trained":
        for spec in (DataSpec((2,), 2), DataSpec((1, 8, 8), 8, bounded=True)):
            assert family.steps_for(spec) > 0


def check_family(registry: Registry, name: str, folder: Path, dataset: str = "ring8", steps: int = 3) -> None:
    """Declared as the contract says; trains (or is built), samples deterministically, and round-trips through
    a checkpoint."""
    from gan_zoo.training import run

    check_declaration(registry, name)
    loaded = open_dataset(registry.dataset(dataset), seed=0)
    result = run(registry, name, small_config(registry.family(name)), loaded, out=folder, seed=1, steps=steps,
                 device=torch.device("cpu"))
    if result.model.kind == "trained":
        assert result.model.real_items_per_step() > 0
    samples = result.model.sample(5, seed=7)
    assert samples.shape == (5, *loaded.spec.shape) and samples.dtype == torch.float32
    assert torch.isfinite(samples).all()
    assert torch.equal(samples, result.model.sample(5, seed=7))
    assert not torch.equal(samples, result.model.sample(5, seed=8))
    checkpoint = read_checkpoint(result.checkpoint)
    assert checkpoint.metadata["family"] == name
    assert checkpoint.step == (steps if result.model.kind == "trained" else 0)
    assert checkpoint.metadata["plugin"]["name"] == registry.plugin_of("families", name).name
    assert checkpoint.metadata["dataset"]["fingerprint"] == loaded.fingerprint
    reloaded = load_model(checkpoint, registry)
    assert torch.equal(reloaded.sample(5, seed=7), samples)
    if "encoder" in result.model.players:
        codes = reloaded.encode(loaded.heldout.x[:4])
        assert codes.shape[0] == 4 and torch.isfinite(codes).all()


def check_metric(registry: Registry, name: str, dataset: str = "ring8", settings: dict | None = None,
                 features: dict | None = None) -> dict:
    """Declared as the contract says, and, on real held-out-like items of a data set it applies to, returns a
    result that is strict JSON with a finite headline (or refuses with a one-line UserError). Returns it."""
    from gan_zoo.errors import UserError
    from gan_zoo.harness.evaluate import EvalConfig, evaluate

    metric = registry.metric(name)
    assert contract_problem("metrics", metric) is None, contract_problem("metrics", metric)
    data = open_dataset(registry.dataset(dataset), seed=0)
    source = TensorSource(data.train.x[: min(len(data.train), 2000)], "training items")
    config = EvalConfig.build(registry, [name], {name: settings} if settings else None, features)
    record = evaluate(source, data, registry, config, seed=0, device=torch.device("cpu")).record
    if name in record["errors"]:
        message = record["errors"][name]
        assert "\n" not in message and len(message) < 300, message
        raise UserError(message)
    if name in record["skipped"]:
        return record
    json.dumps(record, allow_nan=False)
    result = record["metrics"][name]
    headline = metric().headline(result)
    assert headline is None or isinstance(headline, float), headline
    assert all(column.key and column.header for column in metric().columns(result, record))
    assert isinstance(metric().summary(result), str)
    return record
