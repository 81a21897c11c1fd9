"""The gauntlet: three-way splits, adversary sources, the detection rule on known answers, suite checks, and a
tiny gauntlet run through the CLI in which a third party's metric lands in the matrix with no other change."""

import json
import math

import pytest
import torch

from gan_zoo.app.jobs import expand
from gan_zoo.datasets import Data, DatasetSource, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.gauntlet import adversary_source, band, entries, gaussian_blur, judge
from gan_zoo.registry import registry

from .conftest import make_distribution, run_cli

CPU = torch.device("cpu")


def toy_source(n=400, classes=4) -> DatasetSource:
    """Items numbered 0..n-1 (each item holds its own index), so splits can be checked by value."""
    x = torch.arange(n, dtype=torch.float32).view(n, 1).repeat(1, 2)
    return DatasetSource("toy", "numbered items", lambda root: Data(x, torch.arange(n) % classes), latent_dim=2)


def ids(data: Data) -> set[int]:
    return set(data.x[:, 0].long().tolist())


def test_the_control_split_is_disjoint_from_train_and_heldout_and_leaves_heldout_as_it_was():
    plain = open_dataset(toy_source(), seed=3)
    three = open_dataset(toy_source(), seed=3, control_fraction=0.25)
    assert len(three.control) == 100 and len(three.heldout) == 80 and len(three.train) == 220
    assert ids(three.heldout) == ids(plain.heldout)
    assert not ids(three.control) & ids(three.train) and not ids(three.control) & ids(three.heldout)
    assert ids(three.train) | ids(three.control) | ids(three.heldout) == set(range(400))
    assert three.to_json()["n_control"] == 100 and "n_control" not in plain.to_json()


def test_band_is_a_t_prediction_interval_and_judge_follows_the_worse_direction():
    control = band([1.0, 2.0, 3.0, 4.0, 5.0], level=0.99)
    half = 4.604094 * math.sqrt(2.5) * math.sqrt(1 + 1 / 5)  # t(0.995, 4) * sd * sqrt(1 + 1/k)
    assert control["mean"] == 3.0 and control["sd"] == pytest.approx(math.sqrt(2.5))
    assert control["low"] == pytest.approx(3 - half, rel=1e-6) and control["high"] == pytest.approx(3 + half, rel=1e-6)
    effect, detected = judge(control["high"] + 0.01, control, "higher")
    assert detected and effect == pytest.approx((control["high"] + 0.01 - 3) / math.sqrt(2.5))
    assert not judge(control["high"] + 0.01, control, "lower")[1]  # better, not worse
    assert judge(control["low"] - 0.01, control, "lower")[1]
    assert not judge(3.0, control, "higher")[1]
    assert band([1.0, 2.0], 0.99) is None  # no spread from two runs
    flat = band([7.0, 7.0, 7.0], 0.99)  # a control without spread: any worse value is detected
    assert judge(6.9, flat, "lower") == (None, True) and judge(7.0, flat, "lower") == (None, False)


def test_adversary_sources_give_n_items_of_what_they_claim():
    data = open_dataset(toy_source(), seed=0, control_fraction=0.25)
    reg = registry()

    def source(kind, strength=None, **extra):
        spec = {"kind": kind, "adversary": extra.pop("adversary", kind), "strength": strength, "n": 60, **extra}
        return adversary_source(spec, data, reg, seed=1, device=CPU)

    control = source("control").items
    assert len(control) == 60 and ids(Data(control)) <= ids(data.control)
    noisy = source("noise", 0.5).items
    assert torch.allclose((noisy - control).std(), torch.tensor(0.5), atol=0.08)  # the same items, damaged
    dropped = source("drop-modes", 1)
    kept = {int(v) % 4 for v in dropped.items[:, 0]}
    pool = int((data.control.labels == kept.copy().pop()).sum())  # fewer than n = 60: drawn with replacement
    assert len(kept) == 1 and dropped.facts() == {"kept": sorted(kept), "pool": pool, "with_replacement": True,
                                                   "support": pool}
    memorised = source("family", 5, adversary="memorizer", vary="m", set={})
    assert len(torch.unique(memorised.items, dim=0)) <= 5 and ids(Data(memorised.items)) <= ids(data.train)
    assert memorised.facts()["support"] == 5 and memorised.size == 60
    with pytest.raises(UserError, match="fewer than n = 600"):
        adversary_source({"kind": "control", "adversary": "control", "strength": None, "n": 600}, data, reg, seed=1,
                         device=CPU)


def test_blur_keeps_flat_images_flat_and_spreads_a_point():
    flat = torch.full((2, 3, 8, 8), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat)
    point = torch.zeros(1, 1, 9, 9)
    point[0, 0, 4, 4] = 1.0
    blurred = gaussian_blur(point, 1.0)
    assert blurred.shape == point.shape and blurred.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert blurred[0, 0, 4, 4] < 0.2 and blurred[0, 0, 4, 5] > 0.05


def test_entries_judge_every_score_against_the_control_band():
    def result(kind, adversary, strength, seed, value):
        return {"status": "ok", "job": {"dataset": "d", "seed": seed, "gauntlet": {
            "kind": kind, "adversary": adversary, "strength": strength, "level": 0.99}},
            "eval": {"metrics": {"vendi": {"vendi": value, "features": "pixels", "n_fake": 500, "real": 10.0}}}}

    results = [result("control", "control", None, s, v) for s, v in enumerate([10.0, 10.5, 9.5, 10.2, 9.8])]
    results += [result("family", "memorizer", 25, 0, 2.0), result("family", "memorizer", 400, 0, 9.9)]
    table = entries(results, registry())
    by_m = {e["strength"]: e for e in table}
    assert by_m[25]["detected"] is True and by_m[400]["detected"] is False
    assert by_m[25]["metric"] == "vendi" and by_m[25]["effect"] > 10 and by_m[400]["band"][0] < 9.9


BAD_SUITES = [
    ('[[adversary]]\ndamage = "smudge"\nstrengths = [1]', "damage = 'smudge': use one of noise, blur, drop-modes"),
    ('[[adversary]]\ndamage = "blur"\nstrengths = [1]', "blur: ring8 is not a set of images"),
    ('[[adversary]]\ndamage = "drop-modes"\nstrengths = [8]', "drop-modes (classes kept) = 8: must be"),
    ('[[adversary]]\nfamily = "vanilla"\nvary = "lr"\nstrengths = [1]', "vanilla is trained, not constructed"),
    ('[[adversary]]\nfamily = "memorizer"\nvary = "size"\nstrengths = [1]', "vary names the setting"),
    ('[[adversary]]\nfamily = "memorizer"\nvary = "m"\nstrengths = [0]', "m = 0: must be"),
    ('[[adversary]]\nfamily = "memorizer"\ndamage = "noise"\nstrengths = [1]', "one of the two"),
    ('[gauntlet]\ncontrol_seeds = [1, 2]\n[[adversary]]\ndamage = "noise"\nstrengths = [1]', "at least 3 seeds"),
    ('[gauntlet]\nn = 20000\n[[adversary]]\ndamage = "noise"\nstrengths = [1]', "n = 20000 exceeds the 12500"),
    ('[gauntlet]\nn = 100\n', "needs at least one [[adversary]]"),
    ('[[adversary]]\ndamage = "noise"\nstrengths = [1]\n[[family]]\nname = "vanilla"', "not [[family]]"),
]


@pytest.mark.parametrize("body,message", BAD_SUITES)
def test_a_bad_gauntlet_suite_fails_at_load_naming_the_problem(tmp_path, body, message):
    path = tmp_path / "g.toml"
    path.write_text('[suite]\ndatasets = ["ring8"]\n' + body + "\n")
    with pytest.raises(UserError) as caught:
        expand(path, registry())
    assert message in str(caught.value) and str(path) in str(caught.value)


PLUGIN = """
import torch

from gan_zoo import Metric, hookimpl
from gan_zoo.datasets import Data, DatasetSource


class Spread(Metric):
    name = "spread"
    description = "the items' standard deviation (a test plugin)"
    worse = "lower"

    def compute(self, ctx, config):
        return {"value": float(ctx.samples(ctx.available(1000)).std())}


def blobs(root):
    centres = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    labels = torch.arange(2000) % 4
    x = centres[labels] + 0.05 * torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    return Data(x, labels, centres, 0.05)


@hookimpl
def register_metrics(register):
    register(Spread)


@hookimpl
def register_datasets(register):
    register(DatasetSource("blobs4", "4 Gaussian blobs, 2000 points (a test plugin)", blobs, latent_dim=2))
"""

TINY_GAUNTLET = """
[suite]
datasets = ["blobs4"]
seeds = [0]

[gauntlet]
n = 200
control_seeds = [10, 11, 12, 13]

[eval.nn_distance]  # no [eval] metrics: every registered metric runs, the plugin's included
capacities = [100]
max_items = 200
ensemble = {members = 1, steps = 20}

[eval.birthday]
sizes = [10, 20, 40, 80]

[[adversary]]
family = "memorizer"
vary = "m"
strengths = [5, "all"]

[[adversary]]
damage = "drop-modes"
strengths = [1]
"""


def test_a_tiny_gauntlet_places_a_third_party_metric_in_the_matrix_with_no_other_change(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "gan-zoo-spread", "0.1", {"spread_plugin": PLUGIN}, {"spread": "spread_plugin"})
    env = {"PYTHONPATH": str(site), "GAN_ZOO_CACHE": str(tmp_path / "cache")}
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_GAUNTLET)
    run_cli("bench", suite, "--out", tmp_path / "out", "--quiet", env_extra=env)
    table = json.loads((tmp_path / "out" / "gauntlet.json").read_text())
    assert {"metric", "adversary", "strength", "value", "band", "effect", "detected"} <= set(table[0])
    verdict = {(e["score"], e["adversary"], e["strength"]): e["detected"] for e in table}
    assert {m for _, m, _ in verdict} == {"memorizer", "drop-modes"}
    assert verdict["spread", "memorizer", 5] is not None and ("spread", "drop-modes", 1) in verdict
    assert verdict["birthday.support", "memorizer", 5] is True  # 200 draws of 5 items collide at once
    assert verdict["prdc.recall", "drop-modes", 1] is True and verdict["prdc.coverage", "drop-modes", 1] is True
    assert verdict["modes", "drop-modes", 1] is True
    assert {e["metric"] for e in table} >= {"spread", "nn_distance", "authpct", "ct", "kid", "vendi"}
    board = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "The gauntlet" in board and "| spread | " in board
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert 'class="detected"' in page and 'class="missed"' in page


def test_a_log_scale_band_holds_a_heavy_tailed_size_and_still_detects():
    """Support estimates from 1-3 collisions (41583, 62375, 124750: ring8's real items) are far from normal: on
    the linear scale their band reaches below 0 and a memorizer's support of 27 passes; on the log scale it is
    caught, and a value inside the control's range is not."""
    from gan_zoo.harness.gauntlet import control_band, judge_on_scale

    values = [124750.0, 124750.0, 62375.0, 41583.3, 124750.0, 41583.3, 62375.0, 41583.3]
    linear, logged = control_band(values, 0.99, "linear"), control_band(values, 0.99, "log")
    assert linear["low"] < 27 < linear["high"] and not judge_on_scale(27.0, linear, "lower")[1]
    assert logged["scale"] == "log" and 27 < logged["low"] < 41583.3 and logged["high"] > 124750
    effect, detected = judge_on_scale(27.0, logged, "lower")
    assert detected and effect > 5
    assert not judge_on_scale(60000.0, logged, "lower")[1]
    assert control_band([3.0, -1.0, 2.0], 0.99, "log")["scale"] == "linear"  # not all positive: linear
