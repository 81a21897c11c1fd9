"""The birthday test against distributions whose support is known."""

import itertools

import pytest
import torch

from gan_zoo.datasets import open_dataset
from gan_zoo.harness.birthday import BirthdayConfig, birthday_test, poisson_interval
from gan_zoo.harness.knn import closest_pairs
from gan_zoo.registry import registry


@pytest.fixture(scope="module")
def stacked():
    return open_dataset(registry().dataset("stacked-digits"), seed=0)


@pytest.mark.parametrize("ref_block", [None, 70])  # one chunk per block of rows, or several (ragged)
def test_pair_search_matches_brute_force(ref_block):
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
    x[17] = x[250]  # one exact duplicate
    brute = sorted((torch.dist(x[i], x[j]).item(), i, j) for i, j in itertools.combinations(range(300), 2))
    threshold = (brute[29][0] + brute[30][0]) / 2
    search = closest_pairs(x, k=20, threshold=threshold, block=64, ref_block=ref_block)
    assert search.pairs[0].tolist() == [17, 250] and search.distances[0] == 0
    assert torch.allclose(search.distances, torch.tensor([d for d, _, _ in brute[:20]]), atol=1e-4)
    assert [tuple(p) for p in search.pairs.tolist()] == [(i, j) for _, i, j in brute[:20]]
    assert search.below == 30


def test_pair_search_is_exact_at_a_threshold_far_below_float32_error():
    # 2-D points on a unit circle (as ring8): the duplicate threshold is ~5e-5 while the expanded form's float32
    # error in a squared distance is ~1e-6, i.e. ~1e-3 in distance; 20 twins at 2e-5 are duplicates, 20 at 1e-4
    # are not, and the rest are far apart
    angle = torch.arange(400, dtype=torch.float64) * 2 * torch.pi / 400  # neighbours 0.016 apart
    base = torch.stack([angle.cos(), angle.sin()], dim=1)
    step = torch.tensor([[0.6, 0.8]], dtype=torch.float64)
    x = torch.cat([base, base[:20] + 2e-5 * step, base[20:40] + 1e-4 * step]).float()
    exact = torch.cdist(x.double(), x.double(), compute_mode="donot_use_mm_for_euclid_dist")
    pairs = exact[torch.ones_like(exact, dtype=torch.bool).triu(1)]
    search = closest_pairs(x, k=20, threshold=5e-5, block=64)
    assert search.below == int((pairs < 5e-5).sum()) == 20
    assert torch.allclose(search.distances.double(), pairs.sort().values[:20], rtol=1e-6, atol=0)


def test_pair_search_of_a_collapsed_generator_counts_every_pair_in_bounded_memory():
    x = torch.full((3000, 2), 0.5)  # every item the same point: every pair ties, within any float error
    search = closest_pairs(x, k=20, threshold=1e-3, block=256)
    assert search.below == 3000 * 2999 // 2 and (search.distances == 0).all() and len(search.pairs) == 20


def test_poisson_interval():
    assert poisson_interval(0) == pytest.approx((0.0, 3.689), abs=1e-3)
    low, high = poisson_interval(100)
    assert low == pytest.approx(81.36, abs=0.01) and high == pytest.approx(121.63, abs=0.01)


def uniform_on(items):
    """draw_parts(sizes, seed) for the uniform distribution on the rows of `items` (fresh draws each call)."""
    def draw_parts(sizes, seed):
        index = torch.randint(len(items), (sum(sizes),), generator=torch.Generator().manual_seed(seed))
        return list(items[index].split(list(sizes)))
    return draw_parts


def memorizer_sampler(train, m, seed):
    return uniform_on(train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:m]])


@pytest.mark.parametrize("m", [100, 1000, 10_000])
def test_support_estimates_recover_a_memorizer(stacked, m):
    config = BirthdayConfig(trials=10)
    covered = 0
    for seed in range(10):
        result = birthday_test(memorizer_sampler(stacked.train.x, m, seed), stacked.heldout.x, config, seed)
        assert m / 2 <= result["ml_estimate"] <= 2 * m, (seed, result["ml_estimate"])
        assert result["support"]["value"] == result["collision_estimate"] and result["support"]["kind"] == "estimate"
        assert m / 2 <= result["collision_estimate"] <= 2 * m, (seed, result["collision_estimate"])
        covered += result["ci"][0] <= m <= result["ci"][1]
    assert covered >= 9
    # the 50% point of m is sqrt(2 ln 2 m); s50 sits on a doubling grid, so allow one grid step either way
    assert result["s50"] is not None and result["s50"] ** 2 / 8 <= m <= 4 * result["s50"] ** 2


def test_real_data_has_no_duplicates(stacked):
    heldout = stacked.heldout.x

    def draw(sizes, seed):  # distinct held-out items: real data against itself
        order = torch.randperm(len(heldout), generator=torch.Generator().manual_seed(seed))[:sum(sizes)]
        return list(heldout[order].split(list(sizes)))

    config = BirthdayConfig(sizes=(500, 2000), trials=3)
    result = birthday_test(draw, heldout, config, seed=0)
    assert result["collisions"] == 0 and result["no_duplicates_up_to"] == 2000
    assert result["ml_estimate"] is None and result["collision_estimate"] is None
    assert result["ci"][0] > 0 and result["ci"][1] is None  # only a lower bound on the support
    assert result["support"] == {"value": result["ci"][0], "ci": result["ci"], "kind": "lower_bound",
                                 "method": "collision count", "ci_level": 0.99}
    assert 0 < result["threshold"] < result["real_nn_median"]


def test_uniform_on_n_points_gives_n():
    n = 5000
    points = torch.rand(n, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1

    real = torch.rand(2000, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    result = birthday_test(uniform_on(points), real, BirthdayConfig(trials=20), seed=1)
    assert 0 < result["threshold"] < result["real_nn_median"] / 2
    assert n / 1.5 <= result["ml_estimate"] <= 1.5 * n
    assert result["ci"][0] <= n <= result["ci"][1]
    sizes_run = [int(s) for s in result["p_duplicate_by_s"]]
    assert sizes_run == list(BirthdayConfig().sizes[: len(sizes_run)]) and result["largest_s"] == sizes_run[-1]
    assert result["pairs_examined"] == 20 * sum(s * (s - 1) // 2 for s in sizes_run)


def test_a_finite_set_of_draws_from_a_known_support_covers_it():
    """A finite source (an array file of N samples of a generator with support m): disjoint trials per level, the
    grid cut where fewer than two fit, and the collisions counted once over the whole set."""
    from gan_zoo.sources import TensorSource

    m, n = 150, 3000
    support = torch.rand(m, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    pool = support[torch.randint(m, (n,), generator=torch.Generator().manual_seed(3))]
    source = TensorSource(pool, "pool")
    real = torch.rand(2000, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    result = birthday_test(source.draw_parts, real, BirthdayConfig(trials=10, enough_collisions=10**9), seed=0,
                           pool=n)
    assert result["ci"][0] <= m <= result["ci"][1]
    assert result["pairs_examined"] == n * (n - 1) // 2 and result["counted_over"] == "all 3000 items once"
    trials = result["trials_by_s"]
    assert trials["320"] == 9 and trials["1280"] == 2 and "2560" not in trials
    assert result["grid_cut"] == "grid cut at s = 1280: the source holds 3000 items"


def file_source(items):
    """draw_parts for a finite source: disjoint consecutive parts of a fixed file (as TensorSource)."""
    from gan_zoo.sources import TensorSource
    return TensorSource(items, "file").draw_parts


def finite_birthday(items, seed=0):
    real = torch.rand(2000, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return birthday_test(file_source(items), real, BirthdayConfig(sizes=(10, 20, 40), trials=2), seed=seed,
                         pool=len(items))


@pytest.mark.parametrize("m, c, jitter", [(50, 5, 0.0), (50, 10, 1e-4), (200, 5, 1e-4), (200, 10, 0.0)])
def test_a_file_of_m_items_c_times_each_gives_m(m, c, jitter):
    # the collision count alone gives (N - 1)/(c - 1): 62 for m = 50, c = 5; the multiplicities say every item is
    # in the file, so the support is the distinct count, exactly
    generator = torch.Generator().manual_seed(m + c)
    support = torch.rand(m, 16, generator=generator) * 2 - 1
    items = support.repeat(c, 1)
    items = items[torch.randperm(len(items), generator=generator)]
    items = items + jitter * torch.randn(items.shape, generator=generator)  # far below the threshold (~0.2)
    result = finite_birthday(items)
    finite = result["finite_source"]
    assert finite["model"] == "fixed multiset" and finite["distinct"] == m and finite["multiplicities"] == {str(c): m}
    support = result["support"]
    assert (support["value"], support["kind"], support["method"]) == (m, "estimate", "distinct items (fixed multiset)")
    # the lower end is the items seen; the upper, what independent draws would allow beside it
    assert support["ci"][0] == m < support["ci"][1] < 1.1 * m
    assert result["collision_estimate"] == pytest.approx((m * c - 1) / (c - 1))  # still reported, beside it


@pytest.mark.parametrize("m, n", [(50, 500), (200, 1000), (200, 3000)])
def test_a_file_of_independent_draws_keeps_the_collision_estimate(m, n):
    covered = 0
    for seed in range(5):
        generator = torch.Generator().manual_seed(seed)
        support = torch.rand(m, 16, generator=generator) * 2 - 1
        result = finite_birthday(support[torch.randint(m, (n,), generator=generator)], seed)
        assert result["finite_source"]["model"] == "independent draws", result["finite_source"]
        assert result["support"]["method"] == "collision count"
        assert result["support"]["value"] == result["collision_estimate"]
        assert result["finite_source"]["distinct"] <= m  # the bound valid under either model
        covered += result["ci"][0] <= m <= result["ci"][1]
    assert covered >= 4


def test_a_file_without_duplicates_is_a_lower_bound_under_both_models():
    items = torch.rand(400, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
    result = finite_birthday(items)
    assert result["support"]["kind"] == "lower_bound" and result["support"]["method"] == "collision count"
    finite = result["finite_source"]
    assert finite["distinct"] == 400 and finite["z"] is None and finite["multiplicities"] == {"1": 400}
    assert "deduplicated" in finite["why"]


def test_a_distribution_has_no_finite_source_record():
    points = torch.rand(300, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real = torch.rand(2000, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    result = birthday_test(uniform_on(points), real, BirthdayConfig(sizes=(20, 40, 80), trials=5), seed=0)
    assert result["finite_source"] is None and result["support"]["method"] == "collision count"
    assert result["support"]["value"] == result["collision_estimate"] == result["pairs_examined"] / result["collisions"]


def test_duplicate_groups_are_the_connected_components_below_the_threshold():
    generator = torch.Generator().manual_seed(0)
    identity = torch.randint(40, (600,), generator=generator)
    x = (torch.rand(40, 8, generator=generator))[identity]
    line = torch.arange(30.0)[torch.randperm(30, generator=generator)].reshape(-1, 1) * 0.9  # a chain 0.9 apart
    search = closest_pairs(x, threshold=0.01, block=64, groups=True)
    assert torch.equal(search.groups[:, None] == search.groups[None, :], identity[:, None] == identity[None, :])
    assert search.groups.min() == 0 and closest_pairs(x, threshold=0.01).groups is None
    chain = closest_pairs(line, threshold=1.0, block=7, groups=True)
    assert chain.below == 29 and (chain.groups == 0).all()  # one group, though its ends are 26 apart


def test_an_array_file_of_40_digits_15_times_each_reports_40(tmp_path):
    """End to end: an exported memoriser's support (each training digit 15 times, shuffled), as an array file."""
    import json

    import numpy as np

    from gan_zoo import evaluate
    from gan_zoo.registry import registry as plugins

    digits = open_dataset(plugins().dataset("digits"), seed=0)
    images = ((digits.train.x[:40] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    np.save(tmp_path / "export.npy", images[np.random.default_rng(0).permutation(np.tile(np.arange(40), 15))])
    record = evaluate(str(tmp_path / "export.npy"), dataset="digits", metrics=["birthday"], birthday={"trials": 5})
    birthday = record["metrics"]["birthday"]
    assert birthday["support"]["value"] == 40 and birthday["support"]["ci"][0] == 40 < birthday["support"]["ci"][1]
    assert birthday["finite_source"]["multiplicities"] == {"15": 40}
    assert birthday["collision_estimate"] == pytest.approx(599 / 14)  # (N - 1)/(c - 1): what draws would mean
    summary = plugins().metric("birthday")().summary(birthday)
    assert summary.startswith("birthday: support 40 [40, ") and "fixed multiset" in summary
    json.dumps(birthday, allow_nan=False)  # the record stays valid JSON
