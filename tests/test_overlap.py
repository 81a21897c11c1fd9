"""A source that holds the data set's own items is found out before it is judged: held-out items warned about and
every comparison with held-out data marked; training items (what a memoriser holds) and fresh items are not."""

import warnings

import pytest
import torch

from gan_zoo import evaluate
from gan_zoo.app.report import build, text_tables
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry

TINY = {"capacities": [300], "max_items": 150, "ensemble": {"members": 2, "steps": 10}}


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def judge(items, **options):
    return evaluate(items, dataset="digits", metrics=["nn_distance"], seed=0, nn_distance=TINY, **options)


def test_a_source_holding_the_held_out_split_is_flagged_and_its_comparisons_marked(digits):
    export = torch.cat([digits.heldout.x, digits.train.x[719:]])  # an export of "real" data: all of it
    with pytest.warns(UserWarning, match="the source holds 359 of the 359 held-out items: held-out comparisons are "
                                         "not independent"):
        record = judge(export)
    overlap = record["overlap"]
    assert overlap["checked"] == 1078 and overlap["sample"] is False and overlap["independent"] is False
    assert overlap["heldout"] == {"items": 359, "held": 359, "exact": 359, "source_items": 359}
    assert overlap["train"] == {"items": 1438, "held": 719, "exact": 719, "source_items": 719}
    assert record["metrics"]["nn_distance"]["not_independent"] == overlap["warning"]
    result = {"key": "export", "status": "ok", "train": {"seconds": 0.0}, "artifacts": {}, "eval": record,
              "job": {"family": "", "source": "export.npy", "seed": 0, "dataset": "digits", "config": None,
                      "steps": 0, "eval": {}, "label": "export", "overrides": {}}}
    (_, header, (cells,)), = text_tables(build([result], folder="f", suite=None))
    assert cells[header.index("NND p≈3e2 (mlp)")].endswith(" [source holds held-out items]")


def test_near_copies_count_and_a_callable_is_checked_on_a_sample(digits):
    # a PNG round trip of 100 held-out items moves each by at most 0.015: no longer equal, still copies
    png = ((digits.heldout.x[:100] + 1) / 2 * 255).round() / 255 * 2 - 1
    with pytest.warns(UserWarning, match="holds 100 of the 359"):
        overlap = judge(torch.cat([png, digits.train.x[719:]]))["overlap"]
    assert overlap["heldout"] == {"items": 359, "held": 100, "exact": 0, "source_items": 100}
    assert 0 < overlap["tolerance"] < 1  # half the closest held-out-to-training distance, 0.66 on digits

    everything = torch.cat([digits.train.x, digits.heldout.x])  # a model fitted on all the data, memorising it

    def sample(n, seed):
        return everything[torch.randint(len(everything), (n,), generator=torch.Generator().manual_seed(seed))]

    with pytest.warns(UserWarning, match="held-out comparisons are not independent"):
        overlap = judge(sample)["overlap"]
    assert overlap["sample"] is True and overlap["checked"] == 2000
    # 2000 draws of 1797 items reach each one with probability 1 - (1 - 1/1797)^2000 = 0.67: 241 of 359 (sd 9)
    assert overlap["heldout"]["held"] == overlap["heldout"]["exact"]
    assert abs(overlap["heldout"]["held"] - 359 * (1 - (1 - 1 / 1797) ** 2000)) < 30


@pytest.mark.parametrize("kind", ["training items", "noise"])
def test_a_source_of_fresh_or_training_items_is_not_flagged(digits, kind):
    items = digits.train.x[719:] if kind == "training items" else torch.randn(
        719, 1, 8, 8, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        record = judge(items)
    overlap = record["overlap"]
    assert overlap["independent"] is True and overlap["warning"] is None
    assert overlap["heldout"]["held"] == overlap["heldout"]["source_items"] == 0
    # training items are counted (a memoriser's are expected), not warned about
    assert overlap["train"]["held"] == (719 if kind == "training items" else 0)
    assert "not_independent" not in record["metrics"]["nn_distance"]


def test_gan_zoo_eval_warns_in_one_line(digits, tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from gan_zoo.app.cli import main

    np.save(tmp_path / "export.npy", torch.cat([digits.heldout.x, digits.train.x[719:]]).numpy())
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "export.npy"), "--dataset", "digits", "--quiet",
                                       "--metrics", "nn_distance", "--capacities", "300", "--ensemble", "2",
                                       "-o", "nn_distance.ensemble.steps=10", "-o", "nn_distance.max_items=150"],
                             catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["gan-zoo: warning: the source holds 359 of the 359 held-out items: "
                                          "held-out comparisons are not independent"]


def test_a_large_source_hashes_every_item_for_copies_and_searches_a_sample_for_near_ones(digits):
    noise = torch.rand(2400, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    source = torch.cat([noise[:1200], digits.heldout.x[:100], noise[1200:]])
    with pytest.warns(UserWarning, match="holds at least 100 of the 359 held-out items"):
        record = evaluate(source, dataset="digits", metrics=["fd"], seed=0, fd={"features": "pixels"})
    overlap = record["overlap"]
    assert overlap["checked"] == 2500 and overlap["near_checked"] == 2000
    assert overlap["heldout"]["exact"] == 100 and overlap["heldout"]["held"] == 100
