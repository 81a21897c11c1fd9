"""A default `gan-zoo eval` on image data exits 0: 28x28 grey (mnist-5k) and 32x32 colour (photos32).

Every default (capacity ladder, NND input sizes, classifier, birthday sizes) has to derive from the data; a
capacity the discriminator class cannot build is skipped with its reason, and the run goes on. The data sets are
cut to 1500 items so the test takes about a minute each; the defaults still see image-sized items.
"""

import json

import pytest
from click.testing import CliRunner

import gan_zoo.plugins.mnist5k_data as mnist5k_data
import gan_zoo.plugins.photo_data as photo_data
from gan_zoo.app.cli import main

ITEMS = 1500


def _cut_mnist5k(monkeypatch):
    real = mnist5k_data.load_mnist5k
    monkeypatch.setattr(mnist5k_data, "load_mnist5k", lambda path=None: real(path).subset(range(ITEMS)))


def _cut_photos32(monkeypatch):
    monkeypatch.setattr(photo_data, "load_photos32", lambda n, real=photo_data.load_photos32: real(ITEMS))


@pytest.mark.slow
@pytest.mark.parametrize("dataset, cut", [("mnist-5k", _cut_mnist5k), ("photos32", _cut_photos32)])
def test_default_eval_of_image_data_exits_0(dataset, cut, tmp_path, monkeypatch, isolated_cache):
    cut(monkeypatch)
    record_file = tmp_path / "record.json"
    result = CliRunner().invoke(main, ["eval", "memorizer", "--dataset", dataset, "--set", "m=300",
                                       "--json", str(record_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads(record_file.read_text())
    assert record["dataset"]["name"] == dataset and not record["errors"]
    assert record["dataset"]["n_train"] + record["dataset"]["n_heldout"] == ITEMS
    metrics = record["metrics"]
    assert set(metrics) == {"nn_distance", "inception_score", "fd", "birthday"}  # modes, probe: skipped with reasons
    nnd = metrics["nn_distance"]
    assert nnd["capacities"] and all(c["verdict"] for c in nnd["capacities"])
    assert all("choose another capacity" in why for why in nnd["skipped_capacities"].values())
    # a memoriser of 300 items: the birthday test's interval holds 300, far below the training split's size
    low, high = metrics["birthday"]["support"]["ci"]
    assert low <= 300 <= high < record["dataset"]["n_train"] / 2
