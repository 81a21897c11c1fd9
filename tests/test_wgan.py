"""The gradient penalty against critics whose gradient is known: a linear critic's gradient norm is |a|."""

import pytest
import torch
from torch import nn

from gan_zoo.family import DataSpec
from gan_zoo.plugins.wgan import WGANGP, WGANGPConfig


def linear_critic(dim: int, first: float, second: float) -> nn.Module:
    """D(x) = a . x + b with a = (first, second, 0, ...): its gradient norm is |a| everywhere."""
    critic = nn.Linear(dim, 1, bias=True)
    with torch.no_grad():
        critic.weight.zero_()
        critic.weight[0, :2] = torch.tensor([first, second])
    return nn.Sequential(nn.Flatten(), critic)


@pytest.mark.parametrize("spec, gp_weight, expected_weight", [
    (DataSpec((2,), 2), 0.0, 0.1),  # vectors: the authors' toy-code lambda
    (DataSpec((1, 8, 8), 2, bounded=True), 0.0, 10.0),  # images: the paper's lambda
    (DataSpec((2,), 2), 2.5, 2.5),  # whatever the user sets
])
def test_penalty_is_lambda_times_squared_excess_gradient_norm(spec, gp_weight, expected_weight):
    model = WGANGP(WGANGPConfig(gp_weight=gp_weight), spec)
    real, fake = torch.randn(64, *spec.shape), torch.randn(64, *spec.shape)
    penalty = model.penalty(linear_critic(spec.dim, 3.0, 4.0), (real,), (fake,))  # |gradient| = 5
    assert penalty.item() == pytest.approx(expected_weight * (5 - 1) ** 2)
    lipschitz_one = model.penalty(linear_critic(spec.dim, 0.6, 0.8), (real,), (fake,))
    assert lipschitz_one.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("spec, lr, expected", [
    (DataSpec((2,), 2), 0.0, 1e-3),  # vectors: fast enough for a toy run of minutes
    (DataSpec((1, 8, 8), 2, bounded=True), 0.0, 1e-4),  # images: the paper's rate
    (DataSpec((1, 8, 8), 2, bounded=True), 3e-4, 3e-4),  # whatever the user sets
])
def test_learning_rate_follows_the_data_unless_set(spec, lr, expected):
    optimizers = WGANGP(WGANGPConfig(lr=lr), spec).configure_optimizers()
    assert {group["lr"] for opt in optimizers.values() for group in opt.param_groups} == {expected}
    assert {group["betas"] for opt in optimizers.values() for group in opt.param_groups} == {(0.0, 0.9)}
