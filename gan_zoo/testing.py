"""Contract tests a plugin's own test suite can run, the way gan-zoo tests its built-ins (like timm's
test_models): every registered thing gets the same checks, so a new plugin is tested by existing tests.

    # in a plugin's tests
    from gan_zoo.datasets import open_dataset
    from gan_zoo.registry import load_registry
    from gan_zoo.testing import check_discriminator, check_family, check_feature_space, check_metric

    def test_my_family(tmp_path):
        check_family(load_registry(), "my-gan", tmp_path)

    def test_my_metric():
        check_metric(load_registry(), "my-metric")

    def test_my_discriminator():
        check_discriminator(load_registry().discriminator("my-discriminator"))

    def test_my_feature_space():
        registry = load_registry()
        check_feature_space(registry.feature_space("my-space"), open_dataset(registry.dataset("ring8"), seed=0))
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.contracts import contract_problem
from gan_zoo.datasets import LoadedDataset, open_dataset
from gan_zoo.discriminators import DiscriminatorClass
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.features import Extractor, FeatureSpace
from gan_zoo.registry import Registry
from gan_zoo.sources import TensorSource

CPU = torch.device("cpu")
VECTOR, IMAGE = DataSpec((2,), 2), DataSpec((1, 8, 8), 8, bounded=True)
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
        for spec in (VECTOR, IMAGE):
            assert family.steps_for(spec) > 0


def check_family(registry: Registry, name: str, folder: Path, dataset: str = "ring8", steps: int = 3) -> None:
    """Declared as the contract says; trains (or is built), samples deterministically, and round-trips through
    a checkpoint."""
    from gan_zoo.training import run

    check_declaration(registry, name)
    loaded = open_dataset(registry.dataset(dataset), seed=0)
    result = run(registry, name, small_config(registry.family(name)), loaded, out=folder, seed=1, steps=steps,
                 device=CPU)
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
    # imported here, not at the top: this check runs through the harness; the contracts layer imports without it
    from gan_zoo.harness.evaluate import EvalConfig, evaluate

    metric = registry.metric(name)
    assert contract_problem("metrics", metric) is None, contract_problem("metrics", metric)
    data = open_dataset(registry.dataset(dataset), seed=0)
    source = TensorSource(data.train.x[: min(len(data.train), 2000)], "training items")
    config = EvalConfig.build(registry, [name], {name: settings} if settings else None, features)
    record = evaluate(source, data, registry, config, seed=0, device=CPU).record
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


def check_discriminator(cls: DiscriminatorClass, option: str = "", specs: tuple[DataSpec, ...] = (VECTOR, IMAGE),
                        code_dim: int = 3, capacities: tuple[int, ...] = (1_000, 10_000, 100_000)) -> None:
    """Declared as the contract says; for items of each spec, capacity as the harness measures it (p grows with
    width, and the width picked for each target has the p it reports, within the harness's tolerance), and, at the
    smallest target's width, scores as the neural-net distance uses them, of items and, with code_dim > 0, of
    (item, code) pairs: one finite float32 per item whatever else is in the batch, the same for the same seed and
    not for another, a gradient for every parameter, and an ensemble that trains in the harness. A class that
    takes no codes or no vectors (timm) is checked with specs=(IMAGE,), code_dim=0."""
    assert contract_problem("discriminators", cls) is None, contract_problem("discriminators", cls)
    assert cls.name and cls.description and "\n" not in cls.description
    for spec in specs:
        width = _check_capacities(cls, option, spec, capacities)
        for codes in sorted({0, code_dim}):
            _check_scores(cls, option, spec, codes, width)


def _check_capacities(cls: DiscriminatorClass, option: str, spec: DataSpec, capacities: tuple[int, ...]) -> int:
    """Returns the smallest target's width."""
    # imported here, not at the top: this check runs through the harness; the contracts layer imports without it
    from gan_zoo.harness.discriminators import CAPACITY_TOLERANCE, at_capacity, count_parameters

    if not cls.fixed_capacity:
        with torch.device("meta"):
            ps = [count_parameters(cls.build(spec, 0, width, option)) for width in (1, 2, 4, 8, 16)]
        assert ps == sorted(set(ps)), f"p does not grow with width: {ps}"
    widths = []
    for target in capacities:
        capacity = at_capacity(cls, option, spec, 0, target)  # a UserError when no width comes near
        assert capacity.p == count_parameters(cls.build(spec, 0, capacity.width, option))
        assert cls.fixed_capacity or capacity.off_by <= CAPACITY_TOLERANCE, capacity
        widths.append(capacity.width)
    assert widths == sorted(widths), widths
    return widths[0]


def _check_scores(cls: DiscriminatorClass, option: str, spec: DataSpec, codes: int, width: int) -> None:
    """Why these checks: an ensemble's members differ only by their seeds, items are scored in chunks of any size,
    Adam trains every parameter, and the members run batched under vmap unless they hold batch-norm statistics."""
    # imported here, not at the top: this check runs through the harness; the contracts layer imports without it
    from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig

    draw = torch.Generator().manual_seed(0)
    x = torch.randn(12, *spec.shape, generator=draw)
    inputs = (x, torch.randn(len(x), codes, generator=draw)) if codes else (x,)
    built = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        built.append(cls.build(spec, codes, width, option).eval())
    module = built[0]
    with torch.no_grad():
        scores = module(*inputs)
        assert scores.shape == (len(x),) and scores.dtype == torch.float32, (scores.shape, scores.dtype)
        assert torch.isfinite(scores).all()
        assert torch.equal(module(*inputs), scores)
        assert torch.allclose(module(*(t[:3] for t in inputs)), scores[:3], rtol=1e-4, atol=1e-5)
        assert torch.equal(built[1](*inputs), scores) and not torch.equal(built[2](*inputs), scores)
    module.train()(*inputs).sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    config = EnsembleConfig(members=2, steps=3, batch_size=8, select="last")
    ensemble = Ensemble(lambda: cls.build(spec, codes, width, option), config, seed=0, device=CPU)
    before = ensemble.scores(inputs)
    ensemble.fit(inputs, tuple(t.flip(0) + 1 for t in inputs))
    after = ensemble.scores(inputs)
    assert after.shape == (2, len(x)) and torch.isfinite(after).all()
    assert not torch.equal(after, before), "training changed no score"


def check_feature_space(cls: type[FeatureSpace], data: LoadedDataset, option: str = "", config=None) -> Extractor:
    """Declared as the contract says; applies to `data` (a LoadedDataset) and, loaded with `config` (default: the
    space's defaults), gives (N, dim) float32 features on the CPU, finite, the same for an item whatever else is in
    the batch, not all alike, and the same again from a second load (so results measured in it are repeatable);
    its info is strict JSON (every result records it); logits, where it has them, are finite, a row per item.
    Returns the extractor."""
    assert contract_problem("feature_spaces", cls) is None, contract_problem("feature_spaces", cls)
    assert cls.name and cls.description and "\n" not in cls.description
    config = cls.Config() if config is None else config
    reason = cls().applies(data, option)
    assert reason is None, reason
    extractor = cls().load(data, option, config, CPU)
    assert isinstance(extractor, Extractor) and isinstance(extractor.dim, int) and extractor.dim > 0
    json.dumps(extractor.info, allow_nan=False)
    items = data.heldout.x[:64]
    features = extractor.features(items)
    assert features.shape == (len(items), extractor.dim) and features.dtype == torch.float32, features.shape
    assert features.device == CPU and torch.isfinite(features).all()
    assert torch.allclose(extractor.features(items[:5]), features[:5], rtol=1e-4, atol=1e-5)
    assert not torch.equal(features, features[:1].expand_as(features)), "every item has the same features"
    again = cls().load(data, option, config, CPU)
    assert torch.equal(again.features(items), features) and again.info == extractor.info
    logits = extractor.logits(items)
    if logits is not None:
        assert logits.ndim == 2 and len(logits) == len(items) and torch.isfinite(logits).all()
    return extractor
