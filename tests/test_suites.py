"""Suites: the built-in ones expand over the registry; malformed ones name the file, the line and the fix."""

import dataclasses
import textwrap

import pytest

from gan_zoo.app.jobs import expand, load_suite
from gan_zoo.config import typed
from gan_zoo.errors import UserError
from gan_zoo.harness.evaluate import EvalConfig
from gan_zoo.harness.gauntlet import DAMAGES
from gan_zoo.registry import registry

REG = registry()


@pytest.mark.parametrize("name", sorted(REG.suites))
def test_every_registered_suite_expands_into_runnable_jobs(name):
    suite = load_suite(name, REG)
    assert suite.jobs and suite.description
    for job in suite.jobs:
        if job.gauntlet:  # an adversary or the control: constructed or made from real items, never trained
            assert job.steps == 0 and not job.family and job.gauntlet["kind"] in ("control", "family", "adversary",
                                                                                *DAMAGES)
        else:
            family = REG.family(job.family)
            assert job.steps == 0 if family.kind == "constructed" else job.steps > 0
        assert set(job.eval["settings"]) == set(job.eval["metrics"])  # every setting spelled out
        assert job.dataset in REG.datasets and len(job.key) == 16
    assert len({job.key for job in suite.jobs}) == len(suite.jobs)


def test_quick_runs_every_builtin_family_on_ring8_and_digits_at_three_capacities():
    suite = load_suite("quick", REG)
    builtin = {name for name in REG.families if REG.plugin_of("families", name).distribution == "gan-zoo"}
    assert {(job.family, job.dataset) for job in suite.jobs} == {(f, d) for f in builtin for d in ("ring8", "digits")}
    assert all(len(job.eval["settings"]["nn_distance"]["capacities"]) == 3 for job in suite.jobs)


def write(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path):
    with pytest.raises(UserError) as caught:
        expand(path, REG)
    return str(caught.value)


GOOD = """\
    [suite]
    datasets = ["ring8"]
    seeds = [0, 1]

    [eval]
    metrics = ["nn_distance", "birthday"]

    [eval.nn_distance]
    capacities = [1e3, 1e4]

    [[family]]
    name = "vanilla"
    steps = 10
    """


def test_a_suite_expands_into_one_job_per_family_dataset_and_seed(tmp_path):
    suite = expand(write(tmp_path, GOOD + '\n[[family]]\nname = "memorizer"\nset = {m = 50}\n'), REG)
    assert [(j.family, j.seed, j.steps) for j in suite.jobs] == [("vanilla", 0, 10), ("vanilla", 1, 10),
                                                                  ("memorizer", 0, 0), ("memorizer", 1, 0)]
    assert suite.jobs[0].eval["settings"]["nn_distance"]["capacities"] == [1000, 10000]
    assert suite.jobs[2].config["m"] == 50


def test_a_job_key_follows_what_its_numbers_depend_on(tmp_path):
    base = expand(write(tmp_path, GOOD), REG).jobs[0]
    assert base.key == expand(write(tmp_path, GOOD), REG).jobs[0].key
    assert dataclasses.replace(base, label="renamed").key == base.key
    for change in ({"seed": 5}, {"steps": 11}, {"threads": 2}, {"config": {**base.config, "lr": 0.5}},
                   {"eval": {**base.eval, "metrics": ["birthday"]}}, {"fingerprint": "0" * 16}):
        assert dataclasses.replace(base, **change).key != base.key, change


@pytest.mark.parametrize("text, line, fragment", [
    (GOOD.replace("steps = 10", "steps = = 10"), 13, "invalid TOML"),
    (GOOD.replace('"vanilla"', '"vanila"'), 12, "did you mean 'vanilla'"),
    (GOOD.replace("steps = 10", 'steps = "many"'), 13, "steps must be a whole number"),
    (GOOD.replace("capacities", "capacity"), 9, "no setting 'nn_distance.capacity'"),
    (GOOD.replace('"birthday"]', '"birthdya"]'), 6, "did you mean 'birthday'"),
    (GOOD + "set = {lr = \"fast\"}\n", 14, "lr takes a finite number"),
    (GOOD + "set = {lr = inf}\n", 14, "lr takes a finite number"),
    (GOOD + "colour = 3\n", 11, "unknown key 'colour'"),
    (GOOD.replace('["ring8"]', '["ring9"]'), 2, "unknown dataset 'ring9'"),
    # a setting the older layout put in [eval] itself names the table it lives in now
    (GOOD.replace('"birthday"]\n', '"birthday"]\n    discriminator = "mlp:3"\n'), 7,
     "'discriminator' is not a metric but a setting of nn_distance; give it in that metric's settings "
     "([eval.nn_distance] discriminator = ..."),
])
def test_a_malformed_suite_names_the_file_the_line_and_the_fix(tmp_path, text, line, fragment):
    message = error_of(write(tmp_path, text))
    assert str(tmp_path / "suite.toml") in message and f"line {line}" in message and fragment in message, message
    assert "\n" not in message


def test_a_suite_without_families_says_how_to_add_one(tmp_path):
    assert '[[family]] name = "vanilla"' in error_of(write(tmp_path, "[suite]\ndatasets = [\"ring8\"]\n"))


def test_an_unknown_suite_name_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown suite 'quik'; did you mean 'quick'"):
        load_suite("quik", REG)


def test_typed_settings_convert_toml_values_and_refuse_wrong_types():
    nn = REG.metric("nn_distance").Config
    config = typed(nn, {"capacities": [1e3, 2000], "ensemble": {"members": 2, "lr": 1}}, lambda k: k)
    assert config.capacities == (1000, 2000) and config.ensemble.members == 2 and config.ensemble.lr == 1.0
    with pytest.raises(UserError, match="capacities takes a whole number"):
        typed(nn, {"capacities": [1.5]}, lambda k: k)
    with pytest.raises(UserError, match="members takes a whole number"):
        typed(nn, {"ensemble": {"members": True}}, lambda k: k)
    evaluation = EvalConfig.build(REG, ["nn_distance"], {"nn_distance": {"capacities": [500]}})
    assert evaluation.setting(REG, "nn_distance").capacities == (500,)
    with pytest.raises(UserError, match="settings for birthday, which is not among the metrics"):
        EvalConfig.build(REG, ["nn_distance"], {"birthday": {"trials": 3}})


def test_a_family_can_change_the_suites_evaluation_for_itself(tmp_path):
    text = GOOD.replace("[[family]]", "[eval.nn_distance.ensemble]\nmembers = 3\n\n[[family]]") + \
        '\n[[family]]\nname = "memorizer"\neval = {nn_distance = {capacities = [500], ensemble = {steps = 7}}}\n'
    vanilla, _, memorizer, _ = expand(write(tmp_path, text), REG).jobs
    assert vanilla.eval["settings"]["nn_distance"]["capacities"] == [1000, 10000]
    memorizer_nn = memorizer.eval["settings"]["nn_distance"]
    assert memorizer_nn["capacities"] == [500]
    assert memorizer_nn["ensemble"]["members"] == 3 and memorizer_nn["ensemble"]["steps"] == 7


def test_a_third_party_plugin_ships_a_suite(install_plugin, fresh_registry, tmp_path):
    suite_file = tmp_path / "mine.toml"
    suite_file.write_text('[suite]\ndatasets = ["ring8"]\ndescription = "theirs"\n\n[[family]]\nname = "memorizer"\n')
    install_plugin("gan-zoo-mine", "0.2", {"gan_zoo_mine": f"""
        from pathlib import Path
        from gan_zoo import hookimpl
        from gan_zoo.suites import SuiteFile

        @hookimpl
        def register_suites(register):
            register(SuiteFile("mine", Path({str(suite_file)!r})))
        """}, {"mine": "gan_zoo_mine"})
    reg = fresh_registry()
    assert reg.plugin_of("suites", "mine").distribution == "gan-zoo-mine"
    suite = load_suite("mine", reg)
    assert suite.description == "theirs" and [job.family for job in suite.jobs] == ["memorizer"]
