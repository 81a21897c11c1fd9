"""The evaluation record end to end, on constructed families whose truth is known; fast settings throughout."""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gan_zoo.cli import main
from gan_zoo.datasets import open_dataset
from gan_zoo.harness.birthday import BirthdayConfig
from gan_zoo.harness.ensemble import EnsembleConfig
from gan_zoo.harness.evaluate import SCHEMA, EvalConfig, evaluate
from gan_zoo.harness.inception import ClassifierConfig, domain_classifier
from gan_zoo.registry import registry
from gan_zoo.training import construct

CPU = torch.device("cpu")
FAST = dict(capacities=(1000,), ensemble=EnsembleConfig(members=2, steps=20), max_items=300, is_samples=300,
            birthday=BirthdayConfig(sizes=(20, 40, 80), trials=3), classifier=ClassifierConfig(steps=30))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def build(name, data, **config):
    family = registry().family(name)
    return construct(family, family.Config(**config), data, 0, CPU)


def test_record_has_the_documented_schema(digits, tmp_path):
    model = build("memorizer", digits, m=30)
    record = evaluate(model, digits, registry(), EvalConfig(**FAST), seed=0, device=CPU, plugin={"name": "x"},
                      montage=tmp_path / "montage.png")
    assert record["schema"] == SCHEMA
    assert {"family", "plugin", "dataset", "seed", "config", "metrics", "timings", "versions"} <= set(record)
    metrics = record["metrics"]
    entry = metrics["nn_distance"][0]
    assert {"p", "train_gap", "heldout_gap", "ci", "noise_floor"} <= set(entry) and entry["mode"] == "vmap"
    assert {"mean", "std", "real_ceiling", "classifier_accuracy"} <= set(metrics["inception_score"])
    assert {"value", "real_floor"} <= set(metrics["fd"])
    birthday = metrics["birthday"]
    assert {"support_estimate", "collision_estimate", "ci", "p_duplicate_by_s", "montage"} <= set(birthday)
    assert 15 <= birthday["collision_estimate"] <= 60 and (tmp_path / "montage.png").stat().st_size > 500
    assert metrics["skipped"] == {"modes": "digits has no known mode centres",
                                  "probe": "needs an encoder and labelled data"}
    assert record["facts"] == {"support": 30}
    json.dumps(record, allow_nan=False)  # the record is plain JSON


def test_classifier_is_cached(digits):
    config = EvalConfig(**{**FAST, "metrics": ("inception_score",), "classifier": ClassifierConfig(steps=31)})
    first = evaluate(build("memorizer", digits, m=30), digits, registry(), config, seed=0, device=CPU, plugin={})
    cached = Path(first["metrics"]["inception_score"]["classifier"]["cached"])
    written = cached.stat().st_mtime_ns
    again = evaluate(build("memorizer", digits, m=30), digits, registry(), config, seed=0, device=CPU, plugin={})
    assert cached.stat().st_mtime_ns == written  # loaded, not trained and written again
    assert again["metrics"]["inception_score"]["classifier"] == first["metrics"]["inception_score"]["classifier"]
    assert again["metrics"]["inception_score"]["mean"] == first["metrics"]["inception_score"]["mean"]


def test_classifier_does_not_depend_on_what_ran_before(digits, tmp_path, monkeypatch):
    trained = []
    for cache, global_seed in (("a", 1), ("b", 2)):
        monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / cache))
        torch.manual_seed(global_seed)  # another history of the global generator
        trained.append(domain_classifier(digits, ClassifierConfig(steps=3), CPU)[0].state_dict())
    assert trained[0].keys() == trained[1].keys()
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])


def test_encoder_families_are_measured_on_pairs_and_probed(digits):
    model = build("ed-memorizer", digits, m=64)
    config = EvalConfig(**{**FAST, "metrics": ("nn_distance", "probe")})
    record = evaluate(model, digits, registry(), config, seed=0, device=CPU, plugin={})
    assert record["metrics"]["nn_distance_setup"]["pairs"] is True
    probe = record["metrics"]["probe"]
    assert probe["accuracy"] < 0.25  # the code is white noise: near chance (0.1), far from a real encoder


def test_birthday_finds_the_encoder_decoder_constructions_support(digits):
    model = build("ed-memorizer", digits, m=256)  # the default code: one noised pixel in 64
    config = EvalConfig(**{**FAST, "metrics": ("birthday",), "birthday": BirthdayConfig(trials=10)})
    birthday = evaluate(model, digits, registry(), config, seed=0, device=CPU, plugin={})["metrics"]["birthday"]
    assert 128 <= birthday["support_estimate"] <= 512 and 128 <= birthday["collision_estimate"] <= 512


def test_modes_on_data_with_known_modes():
    ring8 = open_dataset(registry().dataset("ring8"), seed=0)
    record = evaluate(build("memorizer", ring8, m=1000), ring8, registry(),
                      EvalConfig(**{**FAST, "metrics": ("modes",)}), seed=0, device=CPU, plugin={})
    assert record["metrics"]["modes"]["modes_captured"] == 8


def test_cli_eval_of_a_constructed_family_and_its_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "memorizer", "--dataset", "ring8", "--set", "m=100", "--metrics",
                                  "nn_distance,modes", "--capacities", "1e3", "--ensemble", "2", "--ensemble-steps",
                                  "10", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "nn-distance p=" in result.output and "modes 8/8" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["metrics"]["nn_distance"][0]["members"] == 2
    for args, fragment in ((["eval", "vanilla", "--dataset", "ring8"], "train it first"),
                           (["eval", "memorizer"], "needs --dataset"),
                           (["eval", "memorizer", "--dataset", "ring8", "--metrics", "fid"], "unknown metric 'fid'"),
                           (["eval", "memorizer", "--dataset", "ring8", "--capacities", "lots"], "expected numbers")):
        failed = runner.invoke(main, args)
        assert failed.exit_code == 2 and fragment in failed.output, failed.output


def test_standard_inception_from_a_local_weights_file(tmp_path):
    import hashlib

    import timm
    from safetensors.torch import save_file

    from gan_zoo.errors import UserError
    from gan_zoo.harness.inception import inception_v3

    weights = tmp_path / "inception.safetensors"
    save_file(timm.create_model("inception_v3", pretrained=False).state_dict(), weights)
    network, info = inception_v3(weights, CPU)
    assert info["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    with torch.no_grad():
        assert network(torch.rand(2, 1, 8, 8) * 2 - 1).shape == (2, 1000)  # gray 8x8 -> RGB 299x299
    save_file({"w": torch.zeros(3)}, tmp_path / "other.safetensors")
    with pytest.raises(UserError, match="not InceptionV3 weights"):
        inception_v3(tmp_path / "other.safetensors", CPU)
    with pytest.raises(UserError, match="no such file"):
        inception_v3(tmp_path / "missing.pt", CPU)
