"""Every number compared like with like: real data against real data sits at its reference, and the neural-net
distance does not fall as capacity grows without saying so."""

import pytest
import torch

from gan_zoo import evaluate
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


pytestmark = pytest.mark.usefixtures("isolated_cache")


def test_real_against_real_at_equal_n_sits_at_the_reference_for_is_fd_and_kid(digits):
    fresh = digits.train.x[400:]  # training items no reference uses: another sample of the real distribution
    record = evaluate(fresh, dataset="digits", metrics=["inception_score", "fd", "kid"], seed=0,
                      features={"classifier": {"steps": 150}}, inception_score={"samples": 359},
                      kid={"subsets": 50, "subset_size": 100})
    score, fd, kid = (record["metrics"][name] for name in ("inception_score", "fd", "kid"))
    assert score["at_real_n"]["n"] == score["real"]["n"] == 359 and score["splits"] == 10
    assert abs(score["at_real_n"]["mean"] - score["real"]["mean"]) < 3 * max(score["real"]["std"], 0.05)
    assert fd["n"] == 179 and fd["value"] < 2 * fd["real_floor"]  # both at n = 179 against the same real half
    # KID is unbiased: both near 0, and apart by less than the spread over subsets (a quarter noise reads ~0.65)
    assert kid["n_fake"] == kid["real_vs_real"]["n_real"] == 359 and kid["subset_size"] == 100
    assert abs(kid["mean"] - kid["real_vs_real"]["mean"]) < kid["real_vs_real"]["std"]


def test_a_quarter_noise_generator_is_detected_at_every_capacity_or_flagged(digits):
    """Real items the estimator never sees as real (training half B), a quarter of them uniform noise images; the
    harness's default sizes (719 real training items a side, 179 held-out) and ensembles."""
    generator = torch.Generator().manual_seed(0)
    real = digits.train.x[719:1393]  # the estimator's real side is training half A, the first 719 items
    noise = torch.rand(224, 1, 8, 8, generator=generator) * 2 - 1  # 719 + 179 items in all, 25% noise
    items = torch.cat([real, noise])[torch.randperm(898, generator=generator)]
    entries = evaluate(items, dataset="digits", metrics=["nn_distance"], seed=0)["metrics"]["nn_distance"]
    assert entries["items_per_side"] == {"train": 719, "heldout": 179} and entries["cut"] is None
    for entry in entries["capacities"]:
        assert entry["detected"] or entry["estimator_limited"], entry
    gaps = [e["heldout_gap"] for e in entries["capacities"]]
    for smaller, larger in zip(entries["capacities"], entries["capacities"][1:], strict=False):
        assert larger["heldout_gap"] >= smaller["ci"][0] or larger["estimator_limited"], gaps


def test_a_small_known_gap_on_few_items_reads_cannot_tell_not_fooled(digits):
    """Training half B (never the estimator's real side), a share of it replaced by uniform noise images: 718 items,
    cut to 574 + 143 a side. A tenth of noise is a real difference the test cannot see at this n; a quarter it
    detects; real data itself is never detected, and at this n not certified as fooled either."""
    generator = torch.Generator().manual_seed(0)
    verdicts = {}
    for share in (0.0, 0.1, 0.25):
        noisy = round(share * 718)
        noise = torch.rand(noisy, 1, 8, 8, generator=generator) * 2 - 1
        items = torch.cat([digits.train.x[719:719 + 718 - noisy], noise])
        record = evaluate(items[torch.randperm(718, generator=generator)], dataset="digits", metrics=["nn_distance"],
                          seed=0, nn_distance={"capacities": [1000], "ensemble": {"members": 4, "steps": 200}})
        (entry,) = record["metrics"]["nn_distance"]["capacities"]
        assert entry["items_per_side"]["heldout"] == 143
        verdicts[share] = entry
    assert verdicts[0.0]["verdict"] == "cannot tell" and not verdicts[0.0]["detected"]
    tenth = verdicts[0.1]
    assert tenth["verdict"] == "cannot tell" and tenth["over_floor"] < tenth["min_detectable_gap"]
    assert tenth["n_needed"] > 4 * 143  # several times the held-out split digits has
    assert verdicts[0.25]["verdict"] == "detected"


def test_the_inception_score_beside_real_data_is_the_one_at_the_real_datas_n():
    from gan_zoo.app.report import build, text_tables
    from gan_zoo.plugins.builtin_metrics import InceptionScore

    result = {"mean": 9.1, "std": 0.1, "n": 5000, "features": "classifier", "real": {"mean": 8.0, "n": 359},
              "at_real_n": {"mean": 7.5, "n": 359}}
    metric = InceptionScore()
    assert metric.headline(result) == 7.5  # the own-n 9.1 is higher only because n is larger
    assert metric.summary(result).startswith("inception score at the real data's n=359: 7.500 against real 8.000;")
    record = {"key": "k", "status": "ok", "train": {"seconds": 1.0}, "artifacts": {},
              "job": {"family": "vanilla", "seed": 0, "dataset": "digits", "config": {}, "steps": 0, "eval": {},
                      "label": "", "overrides": {}},
              "eval": {"display_name": "vanilla", "source": {"kind": "family"}, "metrics": {"inception_score": result},
                       "facts": {}, "timings": {}, "versions": {}}}
    (_, header, (cells,)), = text_tables(build([record], folder="f", suite=None))
    first, second = header.index("IS at real n (classifier)"), header.index("IS (classifier, n=5000)")
    assert first < second and cells[first] == "7.5 (real 8, n=359)"
