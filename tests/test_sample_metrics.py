"""The sample-based metric plugins (prdc, kid, mifid, ct, authpct, vendi) and the timm feature space, end to end
through gan_zoo.evaluate, with known answers from the memorising constructions. Pixel space keeps them fast;
the classifier space is checked once with a 30-step classifier in a temporary cache."""

import hashlib
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gan_zoo import evaluate
from gan_zoo.app.cli import main
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry

METRICS = ["prdc", "kid", "mifid", "ct", "authpct", "vendi"]
PIXELS = {name: {"features": "pixels"} for name in METRICS}


pytestmark = pytest.mark.usefixtures("isolated_cache")


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def judge(source, metrics=METRICS, **kwargs):
    settings = {name: PIXELS[name] for name in metrics if name in PIXELS}
    record = evaluate(source, dataset=kwargs.pop("dataset", "digits"), metrics=list(metrics), seed=0,
                      **{**settings, **kwargs})
    json.dumps(record, allow_nan=False)  # plain JSON: no NaN, no inf, no tensors
    return record


@pytest.fixture(scope="module")
def memorizer_50():
    return judge("memorizer", family_settings=["m=50"])


@pytest.fixture(scope="module")
def memorizer_1000():
    return judge("memorizer", family_settings=["m=1000"])


@pytest.fixture(scope="module")
def fresh(digits):
    """Held-out-like real items: training items the real-vs-real controls do not use (they take the first n)."""
    return judge(digits.train.x[400:])


def test_every_metric_runs_on_a_constructed_family(memorizer_50, digits):
    record = memorizer_50
    assert not record["errors"] and not record["skipped"] and set(record["metrics"]) == set(METRICS)
    n_heldout = len(digits.heldout)
    reg = registry()
    for name, result in record["metrics"].items():
        assert result["features"] == "pixels" and result["n_fake"] >= 1 and result["n_real"] >= 1, name
        metric = reg.metric(name)()
        assert isinstance(metric.headline(result), float), name
        columns = metric.columns(result, record)
        assert columns and all("pixels" in c.header for c in columns), name
        assert metric.summary(result)
    metrics = record["metrics"]
    assert {"precision", "recall", "density", "coverage"} <= set(metrics["prdc"])
    assert [c.key for c in reg.metric("prdc")().columns(metrics["prdc"], record)] == \
        ["prdc.coverage", "prdc.recall", "prdc.precision", "prdc.density"]
    assert metrics["prdc"]["n_fake"] == metrics["prdc"]["n_real"] == n_heldout
    assert metrics["kid"]["subset_size"] == n_heldout and metrics["kid"]["subsets"] == 1  # all items: one subset
    assert metrics["ct"]["cells_used"] + metrics["ct"]["cells_dropped"] == metrics["ct"]["n_cells"] == 3
    assert metrics["ct"]["null"] == 0.0
    assert metrics["mifid"]["n_fake"] == metrics["mifid"]["real_vs_real"]["n_control"] == n_heldout // 2


def test_external_sources_tensor_and_npy_file_with_a_cut(digits, tmp_path):
    items = digits.train.x[400:520]  # 120 items: fewer than the held-out split, so every protocol is cut
    path = tmp_path / "samples.npy"
    np.save(path, items.numpy())
    from_file, from_tensor = judge(str(path)), judge(items)
    assert from_file["source"]["kind"] == "array" and from_file["source"]["size"] == 120
    assert not from_file["errors"] and not from_tensor["errors"]
    for name in ("prdc", "kid", "vendi"):
        result = from_file["metrics"][name]
        assert result["n_fake"] == result["n_real"] == 120 and "the source holds 120" in result["cut"], name
        assert result == from_tensor["metrics"][name], name  # the same items, drawn in the same order
    assert from_file["metrics"]["kid"]["subset_size"] == 120
    assert from_file["metrics"]["ct"]["n_fake"] == 120 and from_file["metrics"]["ct"]["n_real"] == len(digits.heldout)


def test_too_few_items_are_refused_in_one_line(digits):
    record = judge(digits.train.x[:3], metrics=["prdc", "ct", "kid"])
    assert set(record["errors"]) == {"prdc", "ct"}  # k + 1 = 6 items for prdc, 21 in a cell for C_T
    assert "holds 3 items, at least 6 needed" in record["errors"]["prdc"]
    assert record["metrics"]["kid"]["n_fake"] == record["metrics"]["kid"]["n_real"] == 3  # 2 suffice, like with like
    assert all("\n" not in reason for reason in record["errors"].values())


def test_memorizing_the_training_split_is_caught(memorizer_1000):
    metrics = memorizer_1000["metrics"]
    assert metrics["ct"]["ct"] < -5  # copies sit closer to the training set than fresh data: null is 0
    auth = metrics["authpct"]
    assert auth["authpct"] < 5 and auth["real_heldout"] > 40  # far below held-out real items scored the same way
    # copies sit at cosine distance 0 from the training set; the 0.1 threshold is Inception's, and in pixel space
    # fresh digits are penalised too, so read the distance against the control's
    mifid = metrics["mifid"]
    assert mifid["distance"] < 1e-6 < mifid["real_vs_real"]["distance"] / 100
    assert mifid["mifid"] > 1e6 * mifid["real_vs_real"]["mifid"]
    # the distribution-level metrics cannot see it: a memorizer of 1000 items looks like real data to them
    prdc = metrics["prdc"]
    assert abs(prdc["coverage"] - prdc["real_vs_real"]["coverage"]) < 0.05


def test_fresh_real_items_match_the_real_vs_real_reference(fresh):
    prdc = fresh["metrics"]["prdc"]
    control = prdc["real_vs_real"]
    for key in ("precision", "recall", "coverage"):
        assert abs(prdc[key] - control[key]) < 0.05, key
    assert abs(prdc["density"] - control["density"]) < 0.15
    assert abs(prdc["coverage"] - prdc["expected_coverage_same_distribution"]) < 0.05
    assert fresh["metrics"]["kid"]["mean"] < 0.02
    vendi = fresh["metrics"]["vendi"]
    assert abs(vendi["vendi"] - vendi["real"]) / vendi["real"] < 0.1


def test_mode_dropping_lowers_recall_and_coverage(digits, fresh, memorizer_50):
    dropped = judge(digits.train.x[digits.train.labels < 5], metrics=["prdc", "kid"])["metrics"]
    prdc = dropped["prdc"]
    for key in ("recall", "coverage"):
        assert prdc[key] < prdc["real_vs_real"][key] - 0.2, key
        assert prdc[key] < fresh["metrics"]["prdc"][key] - 0.2, key
    assert dropped["kid"]["mean"] > 5 * abs(dropped["kid"]["real_vs_real"]["mean"]) + 0.01
    small = memorizer_50["metrics"]  # 50 items: few distinct items cover little
    assert small["prdc"]["coverage"] < 0.7 and small["vendi"]["vendi"] < small["vendi"]["real"]


def test_features_are_computed_once_per_split(monkeypatch, digits):
    from gan_zoo.plugins import feature_spaces

    sizes = []
    original = feature_spaces.Pixels.features
    monkeypatch.setattr(feature_spaces.Pixels, "features", lambda self, items: sizes.append(len(items)) or
                        original(self, items))
    record = judge("memorizer", family_settings=["m=50"], metrics=["ct", "authpct", "mifid", "prdc", "kid"])
    assert not record["errors"]
    assert sizes.count(len(digits.train)) == 1  # the training split, shared by ct, authpct and mifid
    assert sizes.count(len(digits.heldout)) == 3  # the held-out split (ct, authpct), fake:359, train[:359]


def test_default_space_is_the_classifier_for_labelled_images_else_pixels():
    record = evaluate("memorizer", dataset="digits", family_settings=["m=50"], metrics=["vendi", "authpct"],
                      features={"classifier": {"steps": 30}})
    assert {r["features"] for r in record["metrics"].values()} == {"classifier"}
    assert record["metrics"]["vendi"]["space"]["arch"] == "test_resnet"
    vectors = evaluate("memorizer", dataset="ring8", family_settings=["m=50"], metrics=["prdc", "mifid", "ct"])
    assert vectors["metrics"]["prdc"]["features"] == "pixels" and "not a set of images" in vectors["skipped"]["mifid"]
    assert vectors["metrics"]["ct"]["ct"] < -5


def test_bad_settings_are_refused_before_anything_is_drawn():
    from gan_zoo.errors import UserError

    for settings, fragment in (({"prdc": {"k": 0}}, "k = 0: must be a whole number >= 1"),
                               ({"kid": {"subset_size": 1}}, "subset_size = 1"),
                               ({"mifid": {"average_over": "both"}}, "average_over must be one of fake, train"),
                               ({"ct": {"pca": -1}}, "pca = -1")):
        with pytest.raises(UserError, match=fragment):
            evaluate("memorizer", dataset="digits", metrics=list(settings), **settings)


def test_cli_lists_the_metrics():
    result = CliRunner().invoke(main, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    listed = {m["name"]: m for m in json.loads(result.output)}
    assert set(METRICS) <= set(listed)
    assert listed["prdc"]["config"]["k"] == 5 and listed["kid"]["config"]["subsets"] == 100
    assert all(listed[name]["plugin"].startswith("sample-metrics") for name in METRICS)


# -- the timm feature space ----------------------------------------------------------------------------------

TIMM = {"vendi": {"features": "timm:test_vit", "samples": 24}}


def test_timm_space_refuses_without_weights():
    record = evaluate("memorizer", dataset="digits", family_settings=["m=50"], metrics=["vendi"], **TIMM)
    reason = record["errors"]["vendi"]
    assert "no weights" in reason and "weights=PATH" in reason and "random_init" in reason and "\n" not in reason


def test_timm_space_records_the_weights_file_and_matches_the_random_model(tmp_path):
    import timm
    from safetensors.torch import save_file

    from gan_zoo.plugins.feature_spaces import TimmConfig, TimmSpace

    torch.manual_seed(0)
    state = timm.create_model("test_vit").state_dict()
    path = tmp_path / "test_vit.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    from_file = evaluate("memorizer", dataset="digits", family_settings=["m=50"], metrics=["vendi"],
                         features={"timm": {"weights": str(path)}}, **TIMM)
    random = evaluate("memorizer", dataset="digits", family_settings=["m=50"], metrics=["vendi"],
                      features={"timm": {"random_init": True}}, **TIMM)
    info = from_file["metrics"]["vendi"]["space"]
    assert info["weights"] == "file" and info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert random["metrics"]["vendi"]["space"]["weights"] == "random"
    assert info["state_sha256"] == random["metrics"]["vendi"]["space"]["state_sha256"]
    assert from_file["metrics"]["vendi"]["vendi"] == random["metrics"]["vendi"]["vendi"]
    assert info["input_size"] == [3, 160, 160]  # gray 8x8 digits: repeated to RGB and resized

    data = open_dataset(registry().dataset("digits"), seed=0)
    cpu = torch.device("cpu")
    items = data.heldout.x[:8]
    a = TimmSpace().load(data, "test_vit", TimmConfig(weights=str(path)), cpu)
    b = TimmSpace().load(data, "test_vit", TimmConfig(random_init=True), cpu)
    assert torch.equal(a.features(items), b.features(items)) and a.features(items).shape == (8, 64)
    assert b.logits(items) is None and a.logits(items).shape == (8, 1000)  # a random head scores no IS
