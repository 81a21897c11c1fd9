"""Contract tests every registered family gets, a third party's included (in the manner of timm's test_models)."""

import dataclasses

import pytest
import torch

from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.family import DataSpec, GanModel
from gan_zoo.registry import registry
from gan_zoo.training import run

FAMILIES = sorted(registry().families)
DATASETS = ["ring8", "digits"]  # one vector, one image data set
STEPS = 3


@pytest.fixture(scope="module")
def data():
    return {name: open_dataset(registry().dataset(name), seed=0) for name in DATASETS}


def small_config(family):
    """The family's defaults, with capacity and batch shrunk so a contract test takes a moment."""
    config = family.Config()
    shrink = {"width": 16, "channels": 4, "batch_size": 16, "k": 2,
              "base_settings": "width=16,channels=4,batch_size=16"}  # the last two: MIX+GAN and its base
    return dataclasses.replace(config, **{k: v for k, v in shrink.items() if hasattr(config, k)})


@pytest.mark.parametrize("name", FAMILIES)
def test_family_declares_the_contract(name):
    check_declaration(registry(), name)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", FAMILIES)
def test_family_fits_samples_and_round_trips(name, dataset, data, tmp_path):
    check_fit_sample_round_trip(registry(), name, data[dataset], tmp_path)


def check_declaration(reg, name):
    family = reg.family(name)
    assert issubclass(family, GanModel) and family.name == name
    assert family.description and "\n" not in family.description
    assert family.kind in ("trained", "constructed")
    assert "generator" in family.players
    assert dataclasses.is_dataclass(family.Config) and family.Config()  # every field has a default
    if family.kind == "trained":
        for spec in (DataSpec((2,), 2), DataSpec((1, 8, 8), 8, bounded=True)):
            assert family.steps_for(spec) > 0


def check_fit_sample_round_trip(reg, name, loaded, tmp_path):
    result = run(reg, name, small_config(reg.family(name)), loaded, out=tmp_path, seed=1, steps=STEPS,
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
    assert checkpoint.step == (STEPS if result.model.kind == "trained" else 0)
    assert checkpoint.metadata["plugin"]["name"] == reg.plugin_of("families", name).name
    assert checkpoint.metadata["dataset"]["fingerprint"] == loaded.fingerprint
    reloaded = load_model(checkpoint, reg)
    assert torch.equal(reloaded.sample(5, seed=7), samples)

    if "encoder" in result.model.players:
        codes = reloaded.encode(loaded.heldout.x[:4])
        assert codes.shape[0] == 4 and torch.isfinite(codes).all()
