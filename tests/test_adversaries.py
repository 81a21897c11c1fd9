"""The gauntlet's registered adversaries: at strength 0 each is the clean control, at full strength it is what it
says (copies are copies once the disguise is undone), bad strengths and bad plugin output are refused."""

import pytest
import torch

from gan_zoo.datasets import Data, DatasetSource, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.adversaries import Adversary, checked_items, jpeg_like
from gan_zoo.harness.gauntlet import adversary_source
from gan_zoo.plugins.builtin_adversaries import crop_box, crop_resize
from gan_zoo.registry import registry

CPU = torch.device("cpu")
REG = registry()
N = 120


@pytest.fixture(scope="module")
def digits():
    return open_dataset(REG.dataset("digits"), seed=0, control_fraction=0.25)


def make(data, name, strength, n=N, seed=1, **settings):
    adversary = REG.adversary(name)
    spec = {"kind": "adversary", "adversary": name, "vary": adversary.strength, "set": settings,
            "strength": adversary().check(strength, data, n), "n": n}
    return adversary_source(spec, data, REG, seed=seed, device=CPU)


def clean(data, n=N, seed=1):
    return adversary_source({"kind": "control", "adversary": "control", "strength": None, "n": n}, data, REG,
                            seed=seed, device=CPU).items


def rows_in(items: torch.Tensor, pool: torch.Tensor, atol: float = 0.0) -> torch.Tensor:
    """For each item, whether some row of pool equals it (within atol)."""
    return torch.cdist(items.flatten(1).double(), pool.flatten(1).double()).min(1).values <= atol + 1e-9


BUILTIN = ["partial-copy", "copy-flip", "copy-shift", "copy-crop", "copy-jitter", "copy-jpeg", "blend", "nn-blend",
           "pull-to-centre"]


def test_every_builtin_adversary_is_registered_with_its_direction_and_group():
    assert set(BUILTIN + ["repeat"]) <= set(REG.adversaries)
    assert REG.plugin_of("adversaries", "partial-copy").distribution == "gan-zoo"
    assert REG.adversary("repeat").harder == "higher" and REG.adversary("partial-copy").harder == "lower"


@pytest.mark.parametrize("name", BUILTIN)
def test_at_strength_zero_an_adversary_is_the_clean_control(digits, name):
    assert torch.equal(make(digits, name, 0.0).items, clean(digits))


def test_repeat_of_n_items_is_the_clean_control_and_of_m_repeats_each_equally(digits):
    assert torch.equal(make(digits, "repeat", N).items, clean(digits))
    repeated = make(digits, "repeat", 10)
    distinct, counts = torch.unique(repeated.items.flatten(1), dim=0, return_counts=True)
    assert len(distinct) == 10 and counts.tolist() == [12] * 10 and repeated.facts()["support"] == 10
    assert rows_in(repeated.items, digits.control.x).all() and not rows_in(repeated.items, digits.train.x).any()


def test_partial_copying_replaces_exactly_its_share_with_distinct_training_items(digits):
    mixed, fresh = make(digits, "partial-copy", 0.05).items, clean(digits)
    copied = rows_in(mixed, digits.train.x)
    assert int(copied.sum()) == 6 and make(digits, "partial-copy", 0.05).facts() == {"copies": 6}
    assert torch.equal(mixed[~copied], fresh[~copied])  # the rest: the fresh real items, in place
    everything = make(digits, "partial-copy", 1.0).items
    assert rows_in(everything, digits.train.x).all()
    assert len(torch.unique(everything.flatten(1), dim=0)) == N  # distinct training items


def test_flipped_copies_are_copies_once_flipped_back(digits):
    flipped = make(digits, "copy-flip", 1.0).items
    assert rows_in(flipped.flip(-1), digits.train.x).all()
    assert rows_in(flipped, digits.train.x).float().mean() < 0.1  # disguised: few digits are symmetric


def test_shifted_copies_are_copies_once_shifted_back(digits):
    shifted = make(digits, "copy-shift", 1.0, pixels=1).items
    back = torch.stack([torch.roll(shifted, (dy, dx), dims=(-2, -1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                        if dy or dx])
    found = torch.stack([rows_in(b, digits.train.x) for b in back]).any(0)
    assert found.all()


def test_cropped_copies_are_crops_of_training_items_resized_back(digits):
    cropped = make(digits, "copy-crop", 1.0, keep=0.75).items
    size = crop_box(8, 0.75)
    assert size == 6
    crops = torch.stack([crop_resize(t, top, left, size) for t in digits.train.x for top in range(3)
                         for left in range(3)])
    assert rows_in(cropped, crops, atol=1e-6).all() and not rows_in(cropped, digits.train.x).any()


def test_jittered_copies_are_training_items_under_a_contrast_and_brightness_change(digits):
    jittered = make(digits, "copy-jitter", 1.0, amount=0.3).items.flatten(1).double()
    train = digits.train.x.flatten(1).double()
    x, t = jittered - jittered.mean(1, keepdim=True), train - train.mean(1, keepdim=True)
    contrast = (x @ t.T) / (t * t).sum(1)  # least squares: x = c t + b, for every item against every training item
    residual = (x * x).sum(1, keepdim=True) - contrast**2 * (t * t).sum(1)
    best = residual.argmin(1)
    assert residual.min(1).values.max() < 1e-8  # undone exactly by one affine map
    assert ((contrast[torch.arange(N), best] >= 0.7 - 1e-6) & (contrast[torch.arange(N), best] <= 1 + 1e-6)).all()
    assert jittered.min() >= -1 and jittered.max() <= 1  # nothing clipped


def test_jpeg_like_copies_are_quantised_training_items_and_a_fine_step_keeps_an_image(digits):
    quantised = make(digits, "copy-jpeg", 1.0, step=0.5).items
    assert rows_in(quantised, jpeg_like(digits.train.x, 0.5), atol=1e-6).all()
    assert torch.allclose(jpeg_like(digits.train.x[:5], 1e-6), digits.train.x[:5], atol=1e-5)  # orthonormal DCT


def numbered(n=400) -> DatasetSource:
    """Item i is (i, i^2): a blend of two items names both (their sum and sum of squares)."""
    i = torch.arange(n, dtype=torch.float64)
    x = torch.stack([i, i**2], 1).float()
    return DatasetSource("numbered", "items (i, i^2)", lambda root: Data(x, torch.arange(n) % 4), latent_dim=2)


def pairs_of(items: torch.Tensor) -> list[tuple[int, int]]:
    """The two item numbers a, b behind each 50:50 blend ((a + b) / 2, (a^2 + b^2) / 2)."""
    found = []
    for s1, s2 in items.double().tolist():
        total, product = 2 * s1, (4 * s1 * s1 - 2 * s2) / 2
        root = max(0.0, total * total - 4 * product) ** 0.5
        found.append((round((total - root) / 2), round((total + root) / 2)))
    return found


def test_blends_mix_two_distinct_training_items_and_nn_blends_a_nearest_pair():
    data = open_dataset(numbered(), seed=0, control_fraction=0.25)
    train = set(data.train.x[:, 0].long().tolist())
    for a, b in pairs_of(make(data, "blend", 1.0, n=60).items):
        assert a != b and a in train and b in train
    ordered = sorted(train)
    for a, b in pairs_of(make(data, "nn-blend", 1.0, n=60).items):
        assert a in train and b in train and a != b
        assert abs(ordered.index(a) - ordered.index(b)) == 1  # on a line, the nearest item is a next one


def test_pull_to_centre_at_full_strength_puts_every_item_on_its_class_mean(digits):
    pulled = make(digits, "pull-to-centre", 1.0).items
    centres = {c: digits.train.x[digits.train.labels == c].mean(0) for c in range(10)}
    means = torch.stack(list(centres.values()))
    assert rows_in(pulled, means, atol=1e-5).all() and len(torch.unique(pulled.flatten(1), dim=0)) <= 10
    halfway = make(digits, "pull-to-centre", 0.5).items
    assert torch.allclose(2 * halfway - clean(digits), pulled, atol=1e-5)  # the same items, half the way


def test_bad_strengths_are_refused_naming_the_range_and_the_fix(digits):
    with pytest.raises(UserError, match=r"partial-copy \(f\) = 1.5: must be"):
        REG.adversary("partial-copy")().check(1.5, digits, N)
    with pytest.raises(UserError, match="more than the 989 items of the training split"):
        REG.adversary("partial-copy")().check(1.0, digits, 1000)
    with pytest.raises(UserError, match="m = 7 does not divide n = 120"):
        REG.adversary("repeat")().check(7, digits, N)
    with pytest.raises(UserError, match=r"repeat \(m\) = 121: must be"):
        REG.adversary("repeat")().check(121, digits, N)
    ring = open_dataset(REG.dataset("ring8"), seed=0, control_fraction=0.25)
    with pytest.raises(UserError, match="ring8 is not a set of images"):
        REG.adversary("copy-flip")().check(0.5, ring, N)


def test_what_a_plugin_adversary_returns_is_checked():
    good = torch.zeros(4, 2)
    assert checked_items("p", good, 4, (2,))[0] is not None
    with pytest.raises(UserError, match=r"adversary p returned \(3, 2\), not 4 items shaped \(2,\)"):
        checked_items("p", torch.zeros(3, 2), 4, (2,))
    with pytest.raises(UserError, match="adversary p returned 1 non-finite values"):
        checked_items("p", torch.tensor([[0.0, float("nan")]] + [[0.0, 0.0]] * 3), 4, (2,))
    with pytest.raises(UserError, match="returned list"):
        checked_items("p", [[0.0, 0.0]] * 4, 4, (2,))


def test_the_contract_names_what_a_plugin_adversary_lacks():
    from gan_zoo.contracts import contract_problem

    class NoMake(Adversary):
        name, description = "no-make", "nothing"

    class Sideways(NoMake):
        harder = "sideways"

        def make(self, fresh, data, strength, config, generator):
            return fresh.x

    assert contract_problem("adversaries", NoMake) == ("does not implement make(fresh, data, strength, config, "
                                                       "generator)")
    assert "harder = 'sideways'" in contract_problem("adversaries", Sideways)
    assert "is not a gan_zoo.harness.adversaries.Adversary subclass" in contract_problem("adversaries", object)


def test_an_overfit_generator_is_a_trained_family_on_m_training_items_and_refuses_a_larger_subset():
    """Plumbing only (a few steps): that m items train a real network and n of its samples come back. Whether it
    memorises them takes thousands of steps, which the gauntlet's suites run and no unit test should."""
    ring = open_dataset(REG.dataset("ring8"), seed=0, control_fraction=0.25)
    source = make(ring, "overfit-gan", 20, n=50, steps=3)
    assert source.items.shape == (50, 2) and torch.isfinite(source.items).all()
    assert source.facts() == {"subset": 20, "family": "vanilla", "steps": 3}
    assert torch.equal(make(ring, "overfit-gan", 20, n=50, steps=3).items, source.items)  # same seed, same items
    with pytest.raises(UserError, match="larger than the .* items of the training split"):
        REG.adversary("overfit-gan")().check(len(ring.train) + 1, ring, N)
    with pytest.raises(UserError, match="memorizer is constructed, not trained"):
        make(ring, "overfit-gan", 20, n=50, family="memorizer")
