"""Contract tests every registered family gets, a third party's included (in the manner of timm's test_models)."""

import pytest

from gan_zoo.registry import registry
from gan_zoo.testing import check_declaration, check_family, check_metric

FAMILIES = sorted(registry().families)
METRICS = sorted(registry().metrics)
DATASETS = ["ring8", "digits"]  # one vector, one image data set
SMALL_SETTINGS = {"inception_score": {"samples": 200}, "birthday": {"trials": 2}, "fld": {"samples": 500, "epochs": 5},
                  "nn_distance": {"capacities": [300], "max_items": 200, "ensemble": {"members": 2, "steps": 10}}}


@pytest.mark.parametrize("name", FAMILIES)
def test_family_declares_the_contract(name):
    check_declaration(registry(), name)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", FAMILIES)
def test_family_fits_samples_and_round_trips(name, dataset, tmp_path):
    check_family(registry(), name, tmp_path, dataset)


@pytest.mark.parametrize("name", METRICS)
def test_metric_meets_the_contract_on_real_items(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path))  # a domain classifier trained here stays here
    needs_images = "images" in registry().metric(name).needs
    check_metric(registry(), name, "digits" if needs_images else "ring8", SMALL_SETTINGS.get(name),
                 features={"classifier": {"steps": 30}})
