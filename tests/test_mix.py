import math

import pytest
import torch
from torch import nn

from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import registry
from gan_zoo.training import run

SMALL = "width=8,batch_size=16"


@pytest.fixture(scope="module")
def ring8():
    return open_dataset(registry().dataset("ring8"), seed=0)


def mix(ring8, **config):
    family = registry().family("mix")
    return family(family.Config(**{"base_settings": SMALL, **config}), ring8.spec)


class Constant(nn.Module):
    """A frozen generator that always outputs one point."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, z):
        return torch.full((len(z), 2), self.value)


class MinusNorm(nn.Module):
    """A frozen discriminator: the farther from the origin, the more surely fake."""

    def forward(self, x):
        return -10 * x.flatten(1).norm(dim=1)


def test_weights_move_and_stay_distributions(ring8, tmp_path):
    family = registry().family("mix")
    result = run(registry(), "mix", family.Config(k=3, base_settings=SMALL), ring8, out=tmp_path, seed=0,
                 steps=30, device=torch.device("cpu"))
    for weights in result.model.weights():
        assert weights.sum().item() == pytest.approx(1.0) and (weights > 0).all()
        assert (weights - 1 / 3).abs().max().item() > 1e-4  # learned, not stuck at the initial equal weights
    assert result.model.facts()["display_name"] == "MIX+vanilla"


def train_logits_only(model, steps, real):
    """Freeze every player so that only the mixture weights learn; generator 0 is worse than the others."""
    for i, member in enumerate(model.members):
        member.generator = Constant(0.1 if i == 0 else 0.0)
        member.discriminator = MinusNorm()
    optimizers = model.configure_optimizers()
    for _ in range(steps):
        model.training_step(real, optimizers)
    return model.weights()[0]


def test_entropy_regulariser_keeps_the_mixture_from_collapsing(ring8):
    real = ring8.train.x[:16]
    torch.manual_seed(0)
    free = train_logits_only(mix(ring8, k=3, entropy_weight=0.0, base_settings=SMALL + ",lr=0.1"), 500, real)
    held = train_logits_only(mix(ring8, k=3, entropy_weight=0.1, base_settings=SMALL + ",lr=0.1"), 500, real)
    # without the regulariser the worse generator's weight heads to zero; with it, it settles where the
    # regulariser's pull balances the payoff gap: d/dw0 [w0 * gap - (0.1 / 3) log w0] = 0 -> w0 = 0.1 / (3 * gap)
    gap = math.log1p(math.exp(10 * 0.1 * math.sqrt(2))) - math.log(2)
    assert held[0].item() == pytest.approx(0.1 / (3 * gap), rel=0.25)
    assert held.sum().item() == pytest.approx(1.0)
    assert free[0].item() < 1e-3 and free[0].item() < held[0].item() / 50


def test_sampling_picks_generators_by_weight(ring8):
    model = mix(ring8, k=3)
    for i, member in enumerate(model.members):
        member.generator = Constant(float(i))
    with torch.no_grad():
        model.generator_logits.copy_(torch.tensor([0.7, 0.2, 0.1]).log())
    samples = model.sample(20000, seed=1)[:, 0]
    shares = torch.bincount(samples.long(), minlength=3) / 20000
    assert torch.allclose(shares, torch.tensor([0.7, 0.2, 0.1]), atol=0.015)


@pytest.mark.parametrize("base", ["wgan", "wgan-gp", "bigan", "ali"])
def test_mix_over_other_bases_trains(ring8, base, tmp_path):
    family = registry().family("mix")
    config = family.Config(base=base, k=2, base_settings="width=8,batch_size=8,critic_steps=2"
                           if base.startswith("wgan") else SMALL)
    result = run(registry(), "mix", config, ring8, out=tmp_path, seed=0, steps=3, device=torch.device("cpu"))
    assert torch.isfinite(result.model.sample(10, seed=0)).all()
    assert result.model.display_name == f"MIX+{base}"


@pytest.mark.parametrize("base, message", [("vanila", "did you mean 'vanilla'"), ("mix", "not a trained"),
                                           ("memorizer", "not a trained")])
def test_bad_bases_are_refused(ring8, base, message):
    with pytest.raises(UserError, match=message):
        mix(ring8, base=base)
