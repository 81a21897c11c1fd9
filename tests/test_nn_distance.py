import math

import pytest
import torch

from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.harness.discriminators import at_capacity, count_parameters, parse_capacities, split_name
from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig
from gan_zoo.harness.nn_distance import MARGIN, against_floor, detected, flag_estimator_limited, nn_distance, reading
from gan_zoo.registry import registry

CPU = torch.device("cpu")
VECTOR = DataSpec((2,), latent_dim=2)
COLOUR32 = DataSpec((3, 32, 32), latent_dim=64, bounded=True)  # the conv ladder reaches real discriminator sizes
IMAGE = DataSpec((1, 8, 8), latent_dim=8, bounded=True)


def disc(name):
    base, option = split_name(name)
    return registry().discriminator(base), option


@pytest.mark.parametrize("spec, name, target", [(VECTOR, "mlp", 1000), (VECTOR, "mlp", 100_000),
                                                (IMAGE, "mlp", 10_000), (IMAGE, "conv", 20_000),
                                                (VECTOR, "mlp:3", 5000)]
                         + [(COLOUR32, "conv", target) for target in (1000, 10_000, 30_000, 100_000, 10**6, 10**7)])
def test_capacity_is_the_exact_parameter_count_nearest_the_target(spec, name, target):
    cls, option = disc(name)
    capacity = at_capacity(cls, option, spec, 0, target)
    assert capacity.p == count_parameters(cls.build(spec, 0, capacity.width, option))
    assert abs(capacity.p - target) <= 0.1 * target
    for neighbour in (capacity.width - 1, capacity.width + 1):
        p = count_parameters(cls.build(spec, 0, neighbour, option))
        assert abs(p - target) >= abs(capacity.p - target)


def test_unreachable_capacity_and_bad_lists_are_errors():
    cls, option = disc("mlp")
    with pytest.raises(UserError, match="no width gives p within 10% of 3"):
        at_capacity(cls, option, VECTOR, 0, 3)
    assert parse_capacities("1e3, 2e4") == [1000, 20000]
    with pytest.raises(UserError, match="expected numbers"):
        parse_capacities("big")


def blobs(n, centre, seed):
    return (torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) + centre,)


@pytest.mark.parametrize("name, spec", [("mlp", VECTOR), ("conv", DataSpec((3, 8, 8), latent_dim=8))])
def test_batched_ensemble_matches_training_each_member_alone(name, spec):
    cls, option = disc(name)
    config = EnsembleConfig(members=4, steps=25, batch_size=32)
    g = torch.Generator().manual_seed(1)
    real, fake = (torch.randn(500, *spec.shape, generator=g),), (torch.randn(500, *spec.shape, generator=g) + 0.5,)
    batched = Ensemble(lambda: cls.build(spec, 0, 16, option), config, seed=7, device=CPU)
    looped = Ensemble(lambda: cls.build(spec, 0, 16, option), config, seed=7, device=CPU, batched=False)
    assert batched.mode == "vmap" and looped.mode == "loop"
    batched.fit(real, fake)
    looped.fit(real, fake)
    for k in range(4):
        a, b = batched.state_of_member(k), looped.state_of_member(k)
        for name in a:
            assert torch.allclose(a[name], b[name], atol=1e-5), (k, name)
    assert torch.allclose(batched.scores(real), looped.scores(real), atol=1e-4)
    first = next(iter(batched.state_of_member(0)))
    members = batched.state_of_member(0)[first], batched.state_of_member(1)[first]
    assert not torch.allclose(*members)  # each member has its own initialisation


def test_batch_norm_falls_back_to_a_loop():
    from torch import nn

    ensemble = Ensemble(lambda: nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1), nn.Flatten(0)),
                        EnsembleConfig(members=2, steps=2, batch_size=8), seed=0, device=CPU)
    ensemble.fit(blobs(50, 0.0, 1), blobs(50, 1.0, 2))
    assert ensemble.mode == "loop" and ensemble.scores(blobs(5, 0.0, 3)).shape == (2, 5)


@pytest.mark.parametrize("phi", ["log", "identity"])
def test_identical_distributions_sit_at_zero_and_disjoint_ones_far_from_it(phi):
    cls, option = disc("mlp")
    config = EnsembleConfig(members=4, steps=150, batch_size=64, phi=phi)

    def measure(centre):
        return nn_distance(cls, option, VECTOR, 0, [500], (blobs(2000, 0.0, 1), blobs(2000, centre, 2)),
                           (blobs(2000, 0.0, 3), blobs(2000, centre, 4)), config, seed=0, device=CPU)[0]

    same, apart = measure(0.0), measure(8.0)
    assert abs(same["heldout_gap"]) < 0.05 and same["ci"][0] <= 0.05
    assert apart["heldout_gap"] > 10 * max(same["heldout_gap"], 0.01)
    assert apart["ci"][0] > same["ci"][1]
    if phi == "log":
        assert apart["heldout_gap"] > 0.85 * 2 * math.log(2)  # near the maximum, 2 log 2: perfectly apart
    assert same["mode"] == "vmap" and same["p"] == at_capacity(cls, option, VECTOR, 0, 500).p


@pytest.mark.parametrize("batched", [True, False])
def test_best_validation_keeps_each_members_largest_checked_gap(batched):
    cls, option = disc("mlp")
    config = EnsembleConfig(members=4, steps=60, batch_size=32, validate_every=4)
    ensemble = Ensemble(lambda: cls.build(VECTOR, 0, 64, option), config, seed=3, device=CPU, batched=batched)
    validation = (blobs(40, 0.0, 3), blobs(40, 0.3, 4))
    ensemble.fit(blobs(40, 0.0, 1), blobs(40, 0.3, 2), validation=validation)  # 40 items a side: it overfits
    history = ensemble.validation_history
    assert ensemble.checked_steps == list(range(0, 61, 4)) and history.shape == (16, 4)
    best, where = history.max(0)
    assert torch.equal(ensemble.validation_gaps, best) and (ensemble.validation_gaps >= history[-1]).all()
    assert ensemble.kept_steps.tolist() == [ensemble.checked_steps[i] for i in where.tolist()]
    assert (ensemble.kept_steps < config.steps).any()  # some member was rolled back
    # the weights kept are the ones that scored it: their validation gap, measured again, is the recorded best
    assert torch.allclose(ensemble.validation_gap(validation), best, atol=1e-6)


def test_select_last_is_the_estimator_before_early_stopping():
    cls, option = disc("mlp")
    config = EnsembleConfig(members=2, steps=20, batch_size=32, select="last")
    entry = nn_distance(cls, option, VECTOR, 0, [500], (blobs(300, 0.0, 1), blobs(300, 1.0, 2)),
                        (blobs(300, 0.0, 3), blobs(300, 1.0, 4)), config, seed=0, device=CPU)[0]
    assert entry["select"] == "last" and entry["validation_gap"] is None and entry["kept_steps"] == [20, 20]
    assert entry["chosen_on"] == "heldout" and entry["heldout_gap"] >= entry["heldout_gap_mean"]
    assert entry["items_per_side"] == {"train": 300, "validation": 0, "heldout": 300}
    with pytest.raises(UserError, match="select 'best'"):
        EnsembleConfig(select="best")


def test_identical_distributions_give_a_floor_around_zero_and_the_same_numbers_again():
    cls, option = disc("mlp")
    config = EnsembleConfig(members=4, steps=100, batch_size=64)

    # what a floor must do is never read as detected: its interval reaches 0 or below, and its gap stays small, at
    # every seed 0-19 (measured 2026-12-07). It leans negative (mean -0.006; the interval lies wholly below 0 at
    # 6 of the 20), the price of keeping each member at its best validation gap, which the bootstrap does not
    # cover: so "holds 0" would be a claim that fails by chance
    def floor():
        return nn_distance(cls, option, VECTOR, 0, [300], (blobs(500, 0.0, 1), blobs(500, 0.0, 2)),
                           (blobs(300, 0.0, 3), blobs(300, 0.0, 4)), config, seed=6, device=CPU)

    first, again = floor(), floor()
    entry = first[0]
    assert entry["ci"][0] <= 0 and abs(entry["heldout_gap"]) < 0.02
    assert entry["items_per_side"] == {"train": 400, "validation": 100, "heldout": 300}
    assert entry["validation_gap"] >= entry["validation_gap_mean"] and entry["estimator_limited"] is False
    assert first == again  # same seed, same numbers


def entry(p, heldout_gap, ci, items=700):
    return {"p": p, "heldout_gap": heldout_gap, "ci": ci, "items_per_side": {"train": items}}


def test_a_larger_capacity_below_a_smaller_one_beyond_noise_is_estimator_limited():
    # the digits numbers, last weights: p ~ 1e5 reads -0.11 where p ~ 1e3 reads 0.15
    entries = [entry(99685, -0.111, [-0.234, 0.080]), entry(1041, 0.154, [0.096, 0.219]),
               entry(10009, 0.125, [0.051, 0.238])]
    flag_estimator_limited(entries)
    assert [e["estimator_limited"] for e in entries] == [True, False, False]
    assert "p = 99685" in entries[0]["reason"] and "smaller p = 1041" in entries[0]["reason"]
    assert "700 real items a side" in entries[0]["reason"] and entries[1]["reason"] is None


@pytest.mark.parametrize("entries", [
    [entry(1000, 0.15, [0.10, 0.20]), entry(10_000, 0.17, [0.11, 0.23]), entry(100_000, 0.17, [0.10, 0.24])],
    # a point just under a tight interval's low end, with a wide interval of its own: noise, not a drop
    [entry(1000, 0.003, [0.001, 0.011]), entry(100_000, 0.0005, [-0.001, 0.019])],
    [entry(1000, 0.15, [0.10, 0.20])],
])
def test_capacities_within_noise_or_rising_are_not_flagged(entries):
    assert not any(e["estimator_limited"] for e in flag_estimator_limited(entries))
    assert all(e["reason"] is None for e in entries)


@pytest.mark.parametrize("gap, ci, detected", [
    (0.20, [0.10, 0.30], True),  # difference 0.20 against a spread of hypot(0.10, 0.05) = 0.112
    (0.10, [0.00, 0.20], False),  # 0.10 against 0.112: the intervals overlap too much, within the noise
    (0.12, [0.04, 0.20], True),  # overlapping intervals can still differ: 0.12 against hypot(0.08, 0.05) = 0.094
    (-0.05, [-0.10, 0.00], False),  # below the floor is never "detected"
])
def test_a_gap_is_read_against_the_floor_with_both_intervals(gap, ci, detected):
    floor = entry(1000, 0.0, [-0.05, 0.05])
    (read,) = against_floor([entry(1000, gap, ci)], [floor])
    assert read["detected"] is detected and read["over_floor"] == pytest.approx(gap)
    spread = math.hypot((ci[1] - ci[0]) / 2, 0.05)
    assert read["over_floor_ci"] == pytest.approx([gap - spread, gap + spread])
    assert read["noise_floor"] == 0.0 and read["noise_floor_ci"] == [-0.05, 0.05]


def test_a_gap_at_zero_is_not_detected_against_a_floor_a_hair_below_it():
    # ring8, MIX+vanilla, narrow intervals: beyond the floor's noise, but not a difference the discriminator found
    (read,) = against_floor([entry(1000, -0.001, [-0.002, 0.000])], [entry(1000, -0.004, [-0.005, -0.003])])
    assert read["over_floor_ci"][0] > 0 and read["detected"] is False
    (read,) = against_floor([entry(1000, 0.002, [0.001, 0.003])], [entry(1000, -0.004, [-0.005, -0.003])])
    assert read["detected"] is True


def floored(gap, half, floor, floor_half, heldout=None):
    read = {"p": 1000, "heldout_gap": gap, "ci": [gap - half, gap + half], "noise_floor": floor,
            "noise_floor_ci": [floor - floor_half, floor + floor_half]}
    return read | ({"items_per_side": {"heldout": heldout}} if heldout else {})


POWER = (1.96 + 0.84) / 1.96  # a 95% half-width to the excess detected with probability 0.8


@pytest.mark.parametrize("gap, half, floor, floor_half, verdict, mdg", [
    # narrow: excess 0.001 +- hypot(0.004, 0.01); that interval and the detectable excess both below the margin
    (0.001, 0.004, 0.0, 0.01, "fooled", POWER * math.hypot(0.004, 0.01)),
    # a tiny gap on few items (digits, 179 a side): nothing found, but nothing below 0.073 could have been
    (0.01, 0.05, 0.0, 0.01, "cannot tell", POWER * math.hypot(0.05, 0.01)),
    # the interval below the margin, yet the test could not see an excess of 0.02: no verdict either way
    (-0.02, 0.012, 0.0, 0.012, "cannot tell", POWER * math.hypot(0.012, 0.012)),
    # overfitting discriminators, the floor far below 0: the gap must climb past 0 to be detected
    (-0.29, 0.02, -0.3, 0.02, "cannot tell", POWER * 0.02 + 0.3),
    (0.2, 0.1, 0.0, 0.05, "detected", POWER * math.hypot(0.1, 0.05)),
])
def test_every_verdict_carries_the_smallest_gap_it_could_see(gap, half, floor, floor_half, verdict, mdg):
    (read,) = against_floor([floored(gap, half, floor, floor_half, heldout=179)],
                            [{"heldout_gap": floor, "ci": [floor - floor_half, floor + floor_half]}])
    assert read["verdict"] == verdict and read["margin"] == MARGIN
    assert read["min_detectable_gap"] == pytest.approx(mdg)
    if verdict == "cannot tell":  # the n at which the detectable excess falls to the one that settles it
        excess = gap - floor
        settles = max(excess, min(MARGIN, MARGIN - excess))
        assert read["n_needed"] == math.ceil(179 * (mdg / settles) ** 2) and read["n_needed"] > 179
    else:
        assert read["n_needed"] is None


def test_the_detectable_gap_is_detected_four_times_in_five_and_no_gap_reads_fooled_as_often_at_that_n():
    # Normal readings with known standard errors: a true excess of MDG is detected with probability 0.8; and
    # where MDG equals the margin, a source with no excess reads "fooled" with probability 0.8 (n_needed's n).
    g = torch.Generator().manual_seed(0)
    s_gap, s_floor = 0.01, 0.004
    mdg = POWER * math.hypot(1.96 * s_gap, 1.96 * s_floor)
    noise = torch.randn(2, 4000, generator=g)

    def share(excess, margin, outcome):
        entries = [floored(0.2 + excess + s_gap * a, 1.96 * s_gap, 0.2 + s_floor * b, 1.96 * s_floor) | {
            "margin": margin} for a, b in noise.T.tolist()]  # a floor well above 0: the quadrature rule decides
        return sum(reading(e)["verdict"] == outcome for e in entries) / len(entries)

    assert share(mdg, MARGIN, "detected") == pytest.approx(0.8, abs=0.02)
    assert share(0.0, mdg * (1 + 1e-9), "fooled") == pytest.approx(0.8, abs=0.02)  # past the intervals' rounding
    assert share(mdg / 2, MARGIN, "detected") < 0.4
    assert share(0.0, MARGIN, "detected") == pytest.approx(0.025, abs=0.01)  # the rule's false detections, one-sided


def test_records_written_before_the_verdict_are_read_with_the_default_margin():
    old = floored(0.001, 0.004, 0.0, 0.01)  # no margin, no items_per_side
    assert detected(old) is False
    assert reading(old) == {"min_detectable_gap": pytest.approx(POWER * math.hypot(0.004, 0.01)), "verdict": "fooled",
                            "n_needed": None, "untrained": None}  # no steps recorded: not checked for training
    assert reading(floored(0.01, 0.05, 0.0, 0.01)) | {"min_detectable_gap": 0} == {
        "min_detectable_gap": 0, "verdict": "cannot tell", "n_needed": None, "untrained": None}


@pytest.mark.parametrize("kept, floor_kept, verdict, why", [
    (10, 120, "cannot tell", "the source's member kept at step 10 of 200"),
    (120, 0, "cannot tell", "the floor's member kept at step 0 of 200"),
    (35, 25, "cannot tell", "the source's member kept at step 35 of 200; the floor's member kept at step 25 of 200"),
    (50, 200, "fooled", None),  # a quarter of the steps: trained enough to certify
])
def test_fooled_needs_members_that_trained(kept, floor_kept, verdict, why):
    """A reading that is "fooled" by its intervals (narrow, below the margin) but whose reported member stopped
    near its initialisation certifies nothing: a near-constant discriminator scores every item alike."""
    entry = floored(0.001, 0.004, 0.0, 0.01, heldout=143) | {"steps": 200, "kept_step": kept}
    (read,) = against_floor([entry], [{"heldout_gap": 0.0, "ci": [-0.01, 0.01], "kept_step": floor_kept}])
    assert read["verdict"] == verdict and read["untrained"] == why
    assert read["n_needed"] is None  # more held-out items would not train a member that stopped early


def test_the_member_reported_is_chosen_on_validation_so_the_floor_is_not_a_maximum_of_noise():
    # Real against real: every member's held-out gap is noise around 0. The largest of 8 such readings is nearly
    # always above 0; the held-out gap of the member with the largest validation gap is as often below 0 as above.
    cls, option = disc("mlp")
    config = EnsembleConfig(members=8, steps=40, batch_size=64, validate_every=10)
    chosen = []
    for seed in range(6):
        measured = nn_distance(cls, option, VECTOR, 0, [300], (blobs(400, 0.0, seed), blobs(400, 0.0, seed + 10)),
                            (blobs(300, 0.0, seed + 20), blobs(300, 0.0, seed + 30)), config, seed=seed,
                            device=CPU)[0]
        assert measured["chosen_on"] == "validation" and 0 <= measured["best_member"] < 8
        assert measured["ci"][0] <= measured["heldout_gap"] <= measured["ci"][1]
        chosen.append(measured["heldout_gap"])
    assert min(chosen) < 0 < max(chosen) and abs(sum(chosen) / len(chosen)) < 0.01, chosen


def test_a_capacity_no_width_reaches_is_skipped_with_its_reason_and_the_others_run():
    """784-d items: one hidden unit already costs ~789 parameters, so p ~ 300 cannot be built; 5000 still runs,
    with the seeds it has at its place in the list."""
    from gan_zoo.datasets import Data, LoadedDataset
    from gan_zoo.family import DataSpec
    from gan_zoo.harness.evaluate import EvalConfig
    from gan_zoo.harness.evaluate import evaluate as evaluate_source
    from gan_zoo.registry import registry
    from gan_zoo.sources import TensorSource

    g = torch.Generator().manual_seed(0)
    train, held = Data(torch.randn(200, 784, generator=g)), Data(torch.randn(120, 784, generator=g))
    data = LoadedDataset("wide", "f", DataSpec((784,), 8), train, held, 0)
    settings = {"nn_distance": {"capacities": [300, 5000], "ensemble": {"members": 2, "steps": 5}}}
    config = EvalConfig.build(registry(), ["nn_distance"], settings)
    source = TensorSource(torch.randn(200, 784, generator=g), "noise")
    result = evaluate_source(source, data, registry(), config, seed=0, device=torch.device("cpu")).record
    nnd = result["metrics"]["nn_distance"]
    assert [e["target_p"] for e in nnd["capacities"]] == [5000]
    assert list(nnd["skipped_capacities"]) == ["300"] and "p within 10% of 300" in nnd["skipped_capacities"]["300"]
    alone = EvalConfig.build(registry(), ["nn_distance"], {"nn_distance": {**settings["nn_distance"],
                                                                          "capacities": [300]}})
    refused = evaluate_source(source, data, registry(), alone, seed=0, device=torch.device("cpu")).record
    assert "no capacity can be built" in refused["errors"]["nn_distance"]
