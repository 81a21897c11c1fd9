"""The evaluation record end to end, on constructed families whose truth is known; fast settings throughout."""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gan_zoo.app.cli import main
from gan_zoo.datasets import open_dataset
from gan_zoo.harness.evaluate import SCHEMA, EvalConfig, evaluate
from gan_zoo.harness.inception import ClassifierConfig, domain_classifier
from gan_zoo.registry import registry
from gan_zoo.sources import ModelSource
from gan_zoo.training import construct

CPU = torch.device("cpu")
FAST_SETTINGS = {"nn_distance": {"capacities": [1000], "max_items": 300, "ensemble": {"members": 2, "steps": 20}},
                 "inception_score": {"samples": 300}, "birthday": {"sizes": [20, 40, 80], "trials": 3}}
FAST_FEATURES = {"classifier": {"steps": 30}}


def fast(metrics=("nn_distance", "inception_score", "fd", "birthday", "modes", "probe"), **changes) -> EvalConfig:
    settings = {name: {**FAST_SETTINGS.get(name, {}), **changes.get(name, {})} for name in metrics}
    return EvalConfig.build(registry(), list(metrics), settings, changes.get("features", FAST_FEATURES))


def judge(model, data, config, seed=0):
    return evaluate(ModelSource(model), data, registry(), config, seed=seed, device=CPU)


pytestmark = pytest.mark.usefixtures("isolated_cache")


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def build(name, data, **config):
    family = registry().family(name)
    return construct(family, family.Config(**config), data, 0, CPU)


def test_record_has_the_documented_schema(digits, tmp_path):
    from gan_zoo.app.bench import write_artifacts

    evaluation = judge(build("memorizer", digits, m=30), digits, fast())
    write_artifacts(evaluation, tmp_path / "montage.png")
    record = evaluation.record
    assert record["schema"] == SCHEMA
    assert {"source", "family", "plugin", "dataset", "seed", "config", "metrics", "skipped", "errors", "timings",
            "threads", "versions"} <= set(record)
    assert record["source"]["kind"] == "model" and record["source"]["finite"] is False
    metrics = record["metrics"]
    entry = metrics["nn_distance"]["capacities"][0]
    assert {"p", "train_gap", "heldout_gap", "ci", "noise_floor"} <= set(entry) and entry["mode"] == "vmap"
    score = metrics["inception_score"]
    assert {"mean", "std", "n", "real", "at_real_n", "space"} <= set(score) and score["n"] == 300
    assert score["real"]["n"] == score["at_real_n"]["n"] == 300  # like with like: the held-out set has 359
    assert metrics["fd"]["n"] == len(digits.heldout) // 2 and metrics["fd"]["features"] == "classifier"
    birthday = metrics["birthday"]
    assert {"support", "collision_estimate", "ml_estimate", "ci", "p_duplicate_by_s", "montage"} <= set(birthday)
    assert 15 <= birthday["collision_estimate"] <= 60 and (tmp_path / "montage.png").stat().st_size > 500
    assert record["skipped"] == {"modes": "digits has no known mode centres",
                                 "probe": "needs an encoder-decoder model ((x, z) pairs)"}
    assert record["errors"] == {} and record["facts"] == {"support": 30, "rows": 30}
    assert record["eval_config"]["settings"]["birthday"]["trials"] == 3
    seeds = record["seeds"]  # which random streams the evaluation derived from its seed (gan_zoo.seeds)
    assert seeds["seed"] == 0 and seeds["scheme"] == "gan_zoo.seeds v1"
    assert {"nn_distance.fake", "nn_distance.ensemble", "ensemble.step", "birthday.trials"} <= set(seeds["purposes"])
    assert "kid.subsets" not in seeds["purposes"]  # KID did not run
    json.dumps(record, allow_nan=False)  # the record is plain JSON


def test_classifier_is_cached(digits):
    config = fast(["inception_score"], features={"classifier": {"steps": 31}})
    first = judge(build("memorizer", digits, m=30), digits, config).record["metrics"]["inception_score"]
    cached = Path(first["space"]["cached"])
    written = cached.stat().st_mtime_ns
    again = judge(build("memorizer", digits, m=30), digits, config).record["metrics"]["inception_score"]
    assert cached.stat().st_mtime_ns == written  # loaded, not trained and written again
    assert again["space"] == first["space"] and again["mean"] == first["mean"]


def test_classifier_does_not_depend_on_what_ran_before(digits, tmp_path, monkeypatch):
    trained = []
    for cache, global_seed in (("a", 1), ("b", 2)):
        monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / cache))
        torch.manual_seed(global_seed)  # another history of the global generator
        trained.append(domain_classifier(digits, ClassifierConfig(steps=3), CPU)[0].state_dict())
    assert trained[0].keys() == trained[1].keys()
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])


def test_encoder_families_are_measured_on_pairs_and_probed(digits):
    record = judge(build("ed-memorizer", digits, m=64), digits, fast(["nn_distance", "probe"])).record
    assert record["metrics"]["nn_distance"]["pairs"] is True
    probe = record["metrics"]["probe"]
    assert probe["accuracy"] < 0.25  # the code is white noise: near chance (0.1), far from a real encoder


def test_birthday_finds_the_encoder_decoder_constructions_support(digits):
    model = build("ed-memorizer", digits, m=256)  # the default code: one noised pixel in 64
    birthday = judge(model, digits, fast(["birthday"], birthday={"trials": 10})).record["metrics"]["birthday"]
    # twins from one block differ in the noised pixel, so some fall outside the threshold: an overestimate
    assert 256 <= birthday["collision_estimate"] <= 3 * 256
    assert 256 / 3 <= birthday["ml_estimate"] <= 3 * 256  # the noisier fit: about 2x either way


def test_modes_on_data_with_known_modes():
    ring8 = open_dataset(registry().dataset("ring8"), seed=0)
    record = judge(build("memorizer", ring8, m=1000), ring8, fast(["modes"])).record
    assert record["metrics"]["modes"]["modes_captured"] == 8


def test_cli_eval_of_a_constructed_family_and_its_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "memorizer", "--dataset", "ring8", "--set", "m=100", "--metrics",
                                  "nn_distance,modes", "--capacities", "1e3", "--ensemble", "2", "--ensemble-steps",
                                  "10", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output and "modes 8/8" in result.output
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["metrics"]["nn_distance"]["capacities"][0]["members"] == 2
    again = runner.invoke(main, ["eval", "memorizer", "--dataset", "ring8", "--metrics", "modes", "--json",
                                 str(tmp_path / "r.json")])
    assert again.exit_code == 2 and "exists" in again.output and "--force" in again.output  # never written over
    assert json.loads((tmp_path / "r.json").read_text()) == record
    for args, fragment in ((["eval", "vanilla", "--dataset", "ring8"], "train it first"),
                           (["eval", "memorizer"], "name the data set"),
                           (["eval", "memorizer", "--dataset", "ring8", "--metrics", "fid"], "unknown metric 'fid'"),
                           (["eval", "memorizer", "--dataset", "ring8", "--metrics", ","], "name at least one metric"),
                           (["eval", "memorizer", "--dataset", "ring8", "-o", "birthday.trails=3", "--metrics",
                             "birthday"], "no setting 'birthday.trails'"),
                           (["eval", "memorizer", "--dataset", "ring8", "--capacities", "lots"], "expected numbers")):
        failed = runner.invoke(main, args)
        assert failed.exit_code == 2 and fragment in failed.output, failed.output
        assert len(failed.output.strip().splitlines()) == 1


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


def test_non_finite_numbers_in_a_result_become_null_and_are_named():
    from gan_zoo.harness.evaluate import strict_json

    cleaned = strict_json({"value": float("nan"), "per_s": [1.0, float("inf")], "n": 3})
    assert cleaned == {"value": None, "per_s": [1.0, None], "n": 3, "non_finite": ["value", "per_s[1]"]}
    json.dumps(cleaned, allow_nan=False)


@pytest.mark.parametrize("capacities", ["inf", "nan", "0", "1e12", "1.5e3,2.5"])
def test_capacities_that_are_no_parameter_counts_are_refused(capacities):
    failed = CliRunner().invoke(main, ["eval", "memorizer", "--dataset", "ring8", "--capacities", capacities])
    assert failed.exit_code == 2 and "whole parameter counts from 1 to 1e9" in failed.output, failed.output


@pytest.mark.parametrize("discriminator", ["mlp:x", "mlp:0", "mlp:-1"])
def test_a_malformed_discriminator_option_is_named(discriminator):
    result = CliRunner().invoke(main, ["eval", "memorizer", "--dataset", "ring8", "--metrics", "nn_distance",
                                       "--discriminator", discriminator, "--capacities", "300"])
    assert result.exit_code == 1 and "the option is the number of hidden layers" in result.output, result.output
    assert "internal error" not in result.output
