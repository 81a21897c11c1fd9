"""The constructed adversaries against known answers: their supports, partitions and encoders are exact."""

import math

import pytest
import torch
from scipy.stats import chi2
from torch import nn

from gan_zoo.checkpoint import read_checkpoint
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.plugins.ed_memorizer import half_normal_thresholds, radices
from gan_zoo.plugins.memorizer import support_size
from gan_zoo.registry import registry
from gan_zoo.training import run


@pytest.fixture(scope="module")
def ring8():
    return open_dataset(registry().dataset("ring8"), seed=0)


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


def build(name, data, seed=0, **config):
    family = registry().family(name)
    model = family(family.Config(**config), data.spec)
    model.construct(data.train.x, seed)
    return model


def test_memorizer_is_uniform_on_m_training_items(ring8):
    model = build("memorizer", ring8, m=50)
    samples = model.sample(20000, seed=1)
    distinct, counts = torch.unique(samples, dim=0, return_counts=True)
    assert len(distinct) == 50 and model.facts()["support"] == 50
    train_rows = {tuple(r) for r in ring8.train.x.tolist()}
    assert all(tuple(r) in train_rows for r in distinct.tolist())
    expected = 20000 / 50
    assert chi2.sf(((counts - expected) ** 2 / expected).sum().item(), 49) > 1e-3


def test_memorizer_support_from_capacity():
    config = registry().family("memorizer").Config(capacity=100, eps=0.5, C=2.0)
    assert support_size(config) == math.ceil(2.0 * 100 * math.log(100) / 0.25) == 3685


def test_memorizer_refuses_more_items_than_the_training_split(digits):
    with pytest.raises(UserError, match="exceeds the 1438 training items"):
        build("memorizer", digits, m=5000)


def test_gaussian_memorizer_spreads_around_its_centres(ring8):
    model = build("gaussian-memorizer", ring8, m=8, bandwidth=0.02)
    samples, codes = model.sample_with_codes(8000, seed=2)
    # each sample's own centre (its code's first entry), not the nearest item: two of the m items picked from one
    # ring8 mode lie closer together than the bandwidth
    centres = model.items[codes[:, 0].long()]
    # distance of a 2-D Gaussian sample from its centre is Rayleigh(0.02): mean 0.02 * sqrt(pi / 2)
    assert (samples - centres).norm(dim=1).mean().item() == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.05)
    assert model.facts()["components"] == 8


def test_gaussian_memorizer_default_keeps_high_dimensional_samples_near_their_own_item(digits):
    model = build("gaussian-memorizer", digits, m=50)
    flat = model.items.flatten(1)
    quarter = torch.cdist(flat, flat).fill_diagonal_(math.inf).min(dim=1).values.median().item() / 4
    latents = model.sample_latent(2000, torch.Generator().manual_seed(1))
    distances = torch.cdist(model.generate(latents).flatten(1), flat)
    own = distances.gather(1, latents[:, :1].long()).squeeze(1)
    # 64 pixels of noise at std quarter / 8: a sample lies about a quarter nearest-neighbour distance away
    assert own.mean().item() == pytest.approx(quarter, rel=0.1)
    assert (distances.argmin(dim=1) == latents[:, 0].long()).float().mean() > 0.95


def test_partition_is_a_factorisation_into_equal_measure_intervals():
    assert radices(1024, 8) == [4, 4, 2, 2, 2, 2, 2, 2] and radices(81, 4) == [3, 3, 3, 3]
    assert radices(97, 3) == [97, 1, 1] and math.prod(radices(360, 5)) == 360
    tau = half_normal_thresholds(4)
    half_normal_cdf = torch.erf(tau / math.sqrt(2))  # P(|z| <= tau)
    assert torch.allclose(half_normal_cdf, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))


@pytest.mark.parametrize("name", ["ed-memorizer", "relu-memorizer"])
def test_encoder_recovers_the_code_exactly_and_codes_are_noise(name, digits):
    model = build(name, digits, m=64, latent_dim=4)
    z = model.sample_latent(5000, torch.Generator().manual_seed(3))
    assert torch.equal(model.encode(model.generate(z)), z)
    clean = digits.heldout.x[:100]
    noise = torch.randn(100, model.code_dim)
    assert torch.equal(model.encode(model.noise(clean, noise)), noise)  # real noised data encodes to its noise


def test_block_occupancy_is_uniform(digits):
    model = build("ed-memorizer", digits, m=96, latent_dim=8)  # 96 = 3 * 2^5: radices [3, 2, 2, 2, 2, 2, 1, 1]
    draws = 96 * 500
    counts = torch.bincount(model.block_index(torch.randn(draws, model.code_dim,
                                                          generator=torch.Generator().manual_seed(4))),
                            minlength=96)
    statistic = ((counts - 500.0) ** 2 / 500.0).sum().item()
    assert len(counts) == 96 and chi2.sf(statistic, 95) > 0.001  # uniform at the 0.1% level


def test_support_is_exactly_m(ring8):
    model = build("ed-memorizer", ring8, m=40)  # d = 2, d~ = 1: coordinate 0 is noise, 1 memorised
    samples = model.sample(40 * 200, seed=5)
    assert len(torch.unique(samples[:, 1])) == 40
    assert model.facts()["support"] == 40 and model.facts()["noise_positions"] == [0]


def test_relu_memorizer_is_only_linear_and_relu_with_o_md_weights(digits):
    model = build("relu-memorizer", digits, m=256, latent_dim=4)
    assert {type(layer) for layer in model.network} == {nn.Linear, nn.ReLU}
    facts = model.facts()
    assert facts["m_times_d"] == 256 * 64
    assert facts["m_times_d"] * 0.8 < facts["nonzero_weights"] < 1.1 * facts["m_times_d"] + 10 * 256


@pytest.mark.parametrize("delta", [1e-2, 1e-3])
def test_relu_memorizer_matches_the_exact_generator_but_for_delta(digits, delta):
    exact = build("ed-memorizer", digits, m=256)
    relu = build("relu-memorizer", digits, m=256, delta=delta)
    z = torch.randn(100_000, exact.code_dim, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        differs = (relu.generate(z) != exact.generate(z)).flatten(1).any(dim=1).double().mean().item()
    assert differs <= delta
    if delta >= 1e-2:
        assert differs > 0  # the steps really are approximate: a loose delta shows it


def test_sharper_steps_need_larger_weights(digits):
    def largest(delta):
        return max(layer.weight.abs().max().item() for layer in build("relu-memorizer", digits, m=16,
                                                                       delta=delta).network[:3:2])
    assert largest(1e-4) == pytest.approx(10 * largest(1e-3))


BUILTIN_DATA = ["ring8", "grid25", "digits", "stacked-digits"]
CONSTRUCTED = sorted(name for name, family in registry().families.items() if family.kind == "constructed")


@pytest.mark.parametrize("dataset", BUILTIN_DATA)
@pytest.mark.parametrize("name", CONSTRUCTED)
def test_constructed_families_work_on_every_builtin_dataset(name, dataset, tmp_path):
    data = open_dataset(registry().dataset(dataset), seed=0)
    family = registry().family(name)
    result = run(registry(), name, family.Config(), data, out=tmp_path, seed=0, steps=0,
                 device=torch.device("cpu"))
    facts = read_checkpoint(result.checkpoint).metadata["facts"]
    assert facts == result.model.facts()
    assert facts.get("support") or facts.get("components")
    assert result.model.sample(3, seed=0).shape == (3, *data.spec.shape)
