"""The gauntlet: three-way splits, adversary sources, the detection rule on known answers, suite checks, and a
tiny gauntlet run through the CLI in which a third party's metric lands in the matrix with no other change."""

import json
import math

import pytest
import torch

from gan_zoo.app.jobs import expand
from gan_zoo.datasets import Data, DatasetSource, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.gauntlet import (
    GauntletConfig,
    adversary_source,
    count_p,
    entries,
    false_positives,
    gaussian_blur,
    ladders,
    maxt_adjusted,
    needed_controls,
    p_value,
    rank_p,
)
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


def test_the_rank_rule_counts_controls_at_least_as_bad_and_ties_never_detect():
    controls = [float(v) for v in range(1, 20)]  # 19 control runs: the smallest p-value is 1/20
    assert rank_p(25.0, controls, "higher") == pytest.approx(1 / 20)
    assert rank_p(19.0, controls, "higher") == pytest.approx(2 / 20)  # a tie counts against detection
    assert rank_p(25.0, controls, "lower") == 1.0 and rank_p(0.0, controls, "lower") == pytest.approx(1 / 20)
    assert rank_p(3.0, [3.0] * 19, "higher") == 1.0  # a discrete score equal to every control: never detected
    assert needed_controls(0.05) == 19 and needed_controls(0.01) == 99 and needed_controls(0.1) == 9


def test_the_count_test_is_exact_and_no_collisions_in_both_arms_is_never_detected():
    from scipy.stats import binom

    pairs = 300 * 299 // 2
    assert count_p((0, pairs), [(0, pairs)] * 19) == 1.0
    assert count_p((0, pairs), [(4, pairs)] * 19) == 1.0
    assert count_p((1, pairs), [(0, pairs)] * 19) == pytest.approx(1 / 20)  # the one collision is this run's
    # 3 collisions against 5 in 19 controls: P(Bin(8, 1/20) >= 3)
    assert count_p((3, pairs), [(1, pairs)] * 5 + [(0, pairs)] * 14) == pytest.approx(binom.sf(2, 8, 1 / 20))


def cheap_runs(count: int, seed: int) -> list[dict]:
    """`count` clean runs on digits in pixel space, each 60 items of its own random draw, scored three ways: a
    mean (continuous), a coverage-like share of 20 reference items with a run item within a radius (discrete, a
    handful of distinct values), and near-duplicate pairs (an event count, mostly zero)."""
    from gan_zoo.plugins.digits_data import load_digits

    items = load_digits().x.flatten(1)
    distances = torch.cdist(items, items)
    generator = torch.Generator().manual_seed(seed)
    reference = torch.randperm(len(items), generator=generator)[:20]
    upper = torch.triu(torch.ones(60, 60, dtype=torch.bool), diagonal=1)
    runs = []
    for _ in range(count):
        run = torch.randperm(len(items), generator=generator)[:60]
        near = distances[reference][:, run].min(1).values
        pairs = distances[run][:, run][upper]
        runs.append({"mean": {"value": float(items[run].mean()), "worse": "higher", "count": None},
                     "coverage": {"value": float((near < 4.0).float().mean()), "worse": "lower", "count": None},
                     "pairs": {"value": 0.0, "worse": "higher", "count": (int((pairs < 2.0).sum()), len(pairs))}})
    return runs


def test_clean_runs_are_detected_at_no_more_than_the_nominal_rate():
    """300 independent tries, each 19 control runs and one more clean run judged as an adversary: per score (a
    continuous mean, a discrete coverage, an event count) the rate stays within a binomial tolerance of 0.05."""
    tries, alpha = 300, 0.05
    runs = cheap_runs(20 * tries, seed=0)
    assert len({r["coverage"]["value"] for r in runs}) < 15  # discrete: the case a t-band gets wrong
    assert sum(r["pairs"]["count"][0] for r in runs) > 0  # the count test sees collisions, not only zeros
    tolerance = alpha + 3 * math.sqrt(alpha * (1 - alpha) / tries)
    for key in ("mean", "coverage", "pairs"):
        hits = sum(p_value(runs[20 * t + 19][key], [r[key] for r in runs[20 * t:20 * t + 19]]) <= alpha
                   for t in range(tries))
        assert hits / tries <= tolerance, key


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


def gauntlet_result(kind, adversary, strength, seed, metrics, level=0.95):
    return {"status": "ok", "job": {"dataset": "d", "seed": seed, "gauntlet": {
        "kind": kind, "adversary": adversary, "strength": strength, "level": level}}, "eval": {"metrics": metrics}}


def vendi(value):
    return {"vendi": {"vendi": value, "features": "pixels", "n_fake": 500, "real": 10.0}}


def test_entries_judge_each_seed_by_rank_and_give_the_power_with_its_interval():
    controls = [9.0 + 0.1 * i for i in range(20)]  # 20 control runs: 19 judge, one is held out in turn
    results = [gauntlet_result("control", "control", None, 100 + s, vendi(v)) for s, v in enumerate(controls)]
    results += [gauntlet_result("family", "memorizer", 25, s, vendi(2.0)) for s in range(5)]
    results += [gauntlet_result("family", "memorizer", 400, s, vendi(v)) for s, v in enumerate([8.0, 8.5, 9.5,
                                                                                              10.0, 10.5])]
    table = entries(results, registry())
    by_m = {e["strength"]: e for e in table}
    assert by_m[25]["hits"] == 5 and by_m[25]["power"] == 1.0 and by_m[25]["detected"] is True
    assert by_m[25]["p_values"] == [pytest.approx(1 / 21)] * 5 and by_m[25]["effect"] > 10
    assert by_m[25]["power_ci"] == [pytest.approx(0.025 ** (1 / 5)), 1.0]  # Clopper-Pearson, 5 of 5
    # the edge is the lowest control (one control at least as bad as a run is one too many at 20 controls)
    assert by_m[400]["control"]["edge"] == 9.0 and by_m[400]["hits"] == 2 and by_m[400]["detected"] is False
    ladder = next(row for row in ladders(table) if row["score"] == "vendi")
    assert ladder["fool_point"] == 400 and ladder["fool_power"] == [2, 5]
    assert ladder["uncertain"] == [25, 400]  # even 5 of 5 leaves the power anywhere above 0.478


def test_too_few_control_runs_for_the_level_are_no_verdict_with_the_number_needed():
    results = [gauntlet_result("control", "control", None, s, vendi(10.0 + s)) for s in range(10)]
    results += [gauntlet_result("family", "memorizer", 25, 0, vendi(2.0))]
    entry = entries(results, registry())[0]
    assert entry["detected"] is None and "10 control runs" in entry["reason"] and "needs 19" in entry["reason"]
    with pytest.raises(UserError, match="give at least 20 .19 to judge by rank"):
        GauntletConfig(control_seeds=tuple(range(10)), level=0.95)
    with pytest.raises(UserError, match="give at least 100"):
        GauntletConfig(control_seeds=tuple(range(20)), level=0.99)
    assert len(GauntletConfig(control_seeds=tuple(range(10)), level=0.9).control_seeds) == 10


def test_held_out_control_runs_measure_the_false_positive_rate_per_score_and_for_any():
    """20 control runs: held out in turn, the worst run of a score has p = 1/20 = alpha among the other 19, so it
    alone is flagged; two scores whose worst runs differ flag two runs between them."""
    def metrics(seed):  # fd is a shuffle of 0..19, highest (worst) at seed 17; vendi lowest (worst) at seed 0
        return {**vendi(float(seed)), "fd": {"value": float((seed * 7) % 20), "n": 300, "real_floor": 1.0,
                                             "features": "pixels"}}

    results = [gauntlet_result("control", "control", None, s, metrics(s)) for s in range(20)]
    found = false_positives(results, registry())["d"]
    assert found["alpha"] == pytest.approx(0.05) and found["familywise"] == "report"
    assert {key: (row["flagged"], row["runs"]) for key, row in found["scores"].items()} == {"vendi": (1, 20),
                                                                                          "fd": (1, 20)}
    assert (found["any"]["flagged"], found["any"]["runs"]) == (2, 20)
    bonferroni = [{**r, "job": {**r["job"], "gauntlet": {**r["job"]["gauntlet"], "familywise": "bonferroni"}}}
                  for r in results]
    assert false_positives(bonferroni, registry())["d"]["alpha"] == pytest.approx(0.05 / len(found["scores"]))


def _score(value):
    return {"value": value, "worse": "higher", "count": None}


def _runs(generator, scores, k, correlated=False):
    """k control runs and one run, all from one null: `scores` uniform scores, independent or all equal."""
    values = torch.rand(k + 1, 1 if correlated else scores, generator=generator).expand(k + 1, scores)
    controls = {f"s{j}": [(seed, _score(values[seed, j].item())) for seed in range(k)] for j in range(scores)}
    return {f"s{j}": _score(values[k, j].item()) for j in range(scores)}, controls


def test_maxt_bounds_any_score_at_alpha_with_as_few_controls_as_one_score_needs():
    """Eight independent scores, 19 control runs, 400 clean runs: reading every score at 0.05 flags about
    1 - 0.95^8 = 34% of them (28.5% here); max-T at most 5% by exchangeability, where Bonferroni's 0.05 / 8 would
    need 159 control runs. And it keeps its power: one score far off is detected at 1 / (K + 1), where min-p over
    rank p-values never is (some control is the worst of another score, and ties count against)."""
    generator = torch.Generator().manual_seed(0)
    per_score = max_t = 0
    tries = 400
    for _ in range(tries):
        run, controls = _runs(generator, 8, 19)
        per_score += any(p_value(run[key], [s for _, s in seen]) <= 0.05 for key, seen in controls.items())
        max_t += min(maxt_adjusted(run, controls).values()) <= 0.05
    assert per_score / tries > 0.25
    assert max_t / tries <= 0.05 + 3 * (0.05 * 0.95 / tries) ** 0.5
    assert max_t > 0  # not a rule that never fires
    assert needed_controls(0.05 / 8) == 159
    run, controls = _runs(generator, 8, 19)
    run["s3"] = _score(5.0)  # uniform scores lie in [0, 1]
    adjusted = maxt_adjusted(run, controls)
    assert adjusted["s3"] == pytest.approx(1 / 20) and min(v for k, v in adjusted.items() if k != "s3") > 0.05


def test_maxt_loses_nothing_when_the_scores_move_together_and_ignores_a_constant_score():
    """Eight copies of one score: max-T gives each the one score's own rank p-value, where Bonferroni would divide
    the level by eight; a run worse than every control is detected at 1 / (K + 1). A score equal in every run
    (the birthday test's bound when no run has a collision) flags nothing."""
    generator = torch.Generator().manual_seed(1)
    run, controls = _runs(generator, 8, 19, correlated=True)
    own = p_value(run["s0"], [s for _, s in controls["s0"]])
    assert maxt_adjusted(run, controls) == {key: pytest.approx(own) for key in controls}
    worst = {key: _score(2.0) for key in controls}
    assert maxt_adjusted(worst, controls) == {key: pytest.approx(1 / 20) for key in controls}
    flat = {"flat": [(seed, _score(3.0)) for seed in range(19)]}
    assert maxt_adjusted({"flat": _score(3.0)}, flat) == {"flat": 1.0}


def test_maxt_reads_counts_by_their_rate_and_only_scores_every_control_has():
    """The birthday test under max-T: 2 collisions against controls with none is detected (its headline, a support
    bound, would rank 0 collisions between 3 and 4), none in every run flags nothing. A score one control run lacks
    is not read (that control's largest would be over fewer scores), and the others still are."""
    def count(events):
        return {"value": 1.0 if events else 7.0, "worse": "lower", "count": (events, 44850)}

    controls = {"birthday": [(seed, count(0)) for seed in range(19)],
                "fd": [(seed, _score(float(seed))) for seed in range(19)]}
    assert maxt_adjusted({"birthday": count(2), "fd": _score(5.0)}, controls)["birthday"] == pytest.approx(1 / 20)
    assert maxt_adjusted({"birthday": count(0), "fd": _score(5.0)}, controls)["birthday"] == 1.0
    controls["kid"] = [(seed, _score(0.0)) for seed in range(18)]  # seed 18 gave no KID
    adjusted = maxt_adjusted({"birthday": count(0), "fd": _score(50.0), "kid": _score(9.0)}, controls)
    assert adjusted["kid"] == 1.0 and adjusted["fd"] == pytest.approx(1 / 20)


def test_results_asking_for_an_unknown_familywise_rule_are_refused():
    results = [gauntlet_result("control", "control", None, s, vendi(9.0 + s)) for s in range(20)]
    results[0]["job"]["gauntlet"]["familywise"] = "minp"  # a rule an earlier version had
    with pytest.raises(UserError, match="familywise = 'minp', which this version does not know"):
        entries(results, registry())


def test_maxt_in_the_matrix_and_the_measured_false_positive_rate():
    def metrics(seed):  # as in the per-score test: fd worst at seed 17, vendi worst at seed 0
        return {**vendi(float(seed)), "fd": {"value": float((seed * 7) % 20), "n": 300, "real_floor": 1.0,
                                             "features": "pixels"}}

    def result(kind, adversary, strength, seed, values):
        made = gauntlet_result(kind, adversary, strength, seed, values)
        made["job"]["gauntlet"]["familywise"] = "maxt"
        return made

    results = [result("control", "control", None, s, metrics(s)) for s in range(20)]
    found = false_positives(results, registry())["d"]
    assert found["alpha"] == pytest.approx(0.05) and found["familywise"] == "maxt"
    # held out in turn, the worst run of each score is as far out as the other score's worst run among the 19
    # left (both scores are spreads of 0..19): its largest standardised score is not beyond theirs, so no run
    # is flagged (per score, both were)
    assert (found["any"]["flagged"], found["any"]["runs"]) == (0, 20)
    worse = {**vendi(-100.0), "fd": {"value": 99.0, "n": 300, "real_floor": 1.0, "features": "pixels"}}
    table = entries(results + [result("family", "memorizer", 25, 0, worse)], registry())
    assert {e["score"]: e["p_values"] for e in table} == {"vendi": [pytest.approx(1 / 21)],
                                                          "fd": [pytest.approx(1 / 21)]}
    assert all(e["detected"] for e in table)


def birthday(collisions, n=300):
    pairs = n * (n - 1) // 2
    support = ({"value": pairs / collisions, "ci": [1.0, 2.0], "kind": "estimate"} if collisions else
               {"value": pairs / 3.0, "ci": [pairs / 3.0, None], "kind": "lower_bound"})
    return {"birthday": {"support": {**support, "method": "collision count", "ci_level": 0.99},
                         "collisions": collisions, "pairs_examined": pairs, "largest_s": n, "features": "pixels",
                         "grid_cut": None, "s50": None, "ml_estimate": None, "ml_kind": None}}


def test_the_birthday_verdict_is_an_exact_count_test_that_no_collisions_never_triggers():
    results = [gauntlet_result("control", "control", None, s, birthday(0)) for s in range(20)]
    results += [gauntlet_result("noise", "noise", 1e-9, s, birthday(0)) for s in range(3)]
    results += [gauntlet_result("family", "memorizer", 25, s, birthday(40)) for s in range(3)]
    verdicts = {e["adversary"]: e for e in entries(results, registry())}
    assert verdicts["noise"]["hits"] == 0 and verdicts["noise"]["p_values"] == [1.0] * 3
    assert verdicts["memorizer"]["hits"] == 3 and verdicts["memorizer"]["control"]["rule"] == "count"
    assert false_positives(results, registry())["d"]["scores"]["birthday.support"]["flagged"] == 0


BAD_SUITES = [
    ('[[adversary]]\ndamage = "smudge"\nstrengths = [1]', "damage = 'smudge': use one of noise, blur, drop-modes"),
    ('[[adversary]]\ndamage = "blur"\nstrengths = [1]', "blur: ring8 is not a set of images"),
    ('[[adversary]]\ndamage = "drop-modes"\nstrengths = [8]', "drop-modes (classes kept) = 8: must be"),
    ('[[adversary]]\nfamily = "vanilla"\nvary = "lr"\nstrengths = [1]', "vanilla is trained, not constructed"),
    ('[[adversary]]\nfamily = "memorizer"\nvary = "size"\nstrengths = [1]', "vary names the setting"),
    ('[[adversary]]\nfamily = "memorizer"\nvary = "m"\nstrengths = [0]', "m = 0: must be"),
    ('[[adversary]]\nfamily = "memorizer"\ndamage = "noise"\nstrengths = [1]', "one of them"),
    ('[gauntlet]\ncontrol_seeds = [1, 2]\n[[adversary]]\ndamage = "noise"\nstrengths = [1]', "give at least 20"),
    ('[gauntlet]\nn = 20000\n[[adversary]]\ndamage = "noise"\nstrengths = [1]', "n = 20000 exceeds the 12500"),
    ('[gauntlet]\nn = 100\n', "needs at least one [[adversary]]"),
    ('[[adversary]]\nname = "partial-copy"\nstrengths = [1.5]', "partial-copy (f) = 1.5: must be"),
    ('[[adversary]]\nname = "copy-flip"\nstrengths = [0.5]', "copy-flip: ring8 is not a set of images"),
    ('[[adversary]]\nname = "copy-shift"\nset = {pixels = 0}\nstrengths = [0.5]', "pixels = 0: must be"),
    ('[[adversary]]\nname = "smudge"\nstrengths = [0.5]', "unknown adversary 'smudge'"),
    ('[[adversary]]\nname = "repeat"\nstrengths = [7]', "m = 7 does not divide n = 500"),
    ('[[adversary]]\nname = "blend"\nvary = "f"\nstrengths = [0.5]', "drop vary"),
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
from gan_zoo.harness.adversaries import Adversary


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


class Shrink(Adversary):
    name = "shrink"
    description = "real items pulled towards the origin (a test plugin)"
    strength = "s"
    group = "damage"

    def make(self, fresh, data, strength, config, generator):
        return (1 - strength) * fresh.x


@hookimpl
def register_metrics(register):
    register(Spread)


@hookimpl
def register_adversaries(register):
    register(Shrink)


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
level = 0.6  # four control runs judge at a false-positive rate of 0.4: enough for a test of the plumbing

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

[[adversary]]
name = "shrink"  # the plugin's adversary
strengths = [0.5]
"""


def test_a_tiny_gauntlet_places_a_third_party_metric_and_adversary_in_the_matrix_with_no_other_change(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "gan-zoo-spread", "0.1", {"spread_plugin": PLUGIN}, {"spread": "spread_plugin"})
    env = {"PYTHONPATH": str(site), "GAN_ZOO_CACHE": str(tmp_path / "cache")}
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_GAUNTLET)
    run_cli("bench", suite, "--out", tmp_path / "out", "--quiet", env_extra=env)
    table = json.loads((tmp_path / "out" / "gauntlet.json").read_text())
    assert {"metric", "adversary", "strength", "value", "band", "effect", "detected"} <= set(table[0])
    verdict = {(e["score"], e["adversary"], e["strength"]): e["detected"] for e in table}
    assert {m for _, m, _ in verdict} == {"memorizer", "drop-modes", "shrink"}
    assert verdict["spread", "shrink", 0.5] is True  # half the spread: beyond every control run
    assert verdict["spread", "memorizer", 5] is not None and ("spread", "drop-modes", 1) in verdict
    assert verdict["birthday.support", "memorizer", 5] is True  # 200 draws of 5 items collide at once
    assert verdict["prdc.recall", "drop-modes", 1] is True and verdict["prdc.coverage", "drop-modes", 1] is True
    assert verdict["modes", "drop-modes", 1] is True
    assert {e["metric"] for e in table} >= {"spread", "nn_distance", "authpct", "ct", "kid", "vendi"}
    board = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "The gauntlet" in board and "| spread | " in board
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert 'class="detected"' in page and 'class="missed"' in page
    # one table per adversary kind, each with the measured false-positive rates beside it
    assert "<h3>memorizers</h3>" in page and "<h3>diversity loss</h3>" in page and "<h3>damage</h3>" in page
    assert "measured false positives, each of 4 control runs held out" in page
    board_json = json.loads((tmp_path / "out" / "leaderboard.json").read_text())["gauntlet"]
    # the memorizer's two strengths make a ladder: its power against support m, and per adversary its catchers
    assert board_json["plots"]["blobs4"] == {"support": "plots/gauntlet-blobs4-support.png",
                                             "power": "plots/gauntlet-blobs4-power.png"}
    for path in board_json["plots"]["blobs4"].values():
        assert (tmp_path / "out" / path).read_bytes().startswith(b"\x89PNG") and f"]({path})" in board
    assert page.count('<img class="plot" alt="blobs4 gauntlet: ') == 2
    rates = board_json["false_positives"]["blobs4"]
    assert rates["any"]["runs"] == 4 and rates["scores"]["spread"]["runs"] == 4
    assert rates["familywise"] == "report"
    # how the runs are read is not what they computed: another familywise re-reads them and nothing runs again
    suite.write_text(TINY_GAUNTLET.replace("level = 0.6", 'level = 0.6\nfamilywise = "bonferroni"'))
    again = run_cli("bench", suite, "--out", tmp_path / "out", env_extra=env)
    assert "0 to run" in again.stderr
    reread = json.loads((tmp_path / "out" / "leaderboard.json").read_text())["gauntlet"]["false_positives"]["blobs4"]
    assert reread["familywise"] == "bonferroni" and reread["alpha"] < rates["alpha"]
