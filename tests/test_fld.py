"""FLD (feature likelihood divergence): the mixture's likelihood on known answers, fresh data near its baseline,
copies far above it, and the metric through an evaluation like any other."""

import math

import pytest
import torch

from gan_zoo.plugins.fld_metric import FLDConfig, fit_variances, fld, mixture_nll
from gan_zoo.registry import registry


def test_the_mixture_likelihood_is_an_equal_weight_isotropic_gaussian_mixture_per_dimension():
    from scipy.stats import multivariate_normal

    centres = torch.tensor([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5]], dtype=torch.float64)
    log_var = torch.tensor([0.0, math.log(0.25)], dtype=torch.float64)
    items = torch.tensor([[0.3, -0.2, 0.1], [1.5, -1.0, 1.0]], dtype=torch.float64)
    expected = [-math.log(0.5 * multivariate_normal(centres[0], 1.0).pdf(x)
                          + 0.5 * multivariate_normal(centres[1], 0.25).pdf(x)) / 3 for x in items]
    assert mixture_nll(centres, log_var, items).tolist() == pytest.approx(expected, rel=1e-9)


def test_fitting_shrinks_the_gaussians_of_copies_and_widens_those_of_fresh_items():
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(400, 8, generator=generator, dtype=torch.float64)
    fresh = torch.randn(50, 8, generator=generator, dtype=torch.float64)
    log_var = fit_variances(torch.cat([train[:50], fresh]), train)
    assert log_var[:50].max() < -20  # a copy sits on a training item: its variance goes to 0
    assert log_var[50:].min() > -5  # a fresh item's Gaussian keeps a spread of the data's order (variance ~1)


def test_fresh_real_data_scores_near_its_baseline_and_copying_far_above_it():
    generator = torch.Generator().manual_seed(1)
    train, heldout, fresh = (torch.randn(n, 16, generator=generator, dtype=torch.float64) for n in (600, 300, 300))
    clean = fld(train, heldout, fresh, seed=0)
    half = fld(train, heldout, torch.cat([fresh[:150], train[:150]]), seed=0)
    copied = fld(train, heldout, train[:300], seed=0)
    assert abs(clean["value"]) < 5 and clean["baseline_size"] == 300
    assert 0 < half["value"] - clean["value"] < 20 < 1e3 < copied["value"]
    assert fld(train, heldout, fresh, seed=0) == clean  # same seed, same numbers


def test_fld_is_a_registered_metric_whose_settings_are_checked():
    assert registry().metric("fld").worse == "higher"
    from gan_zoo.errors import UserError

    with pytest.raises(UserError, match="epochs = 0"):
        FLDConfig(epochs=0)
    with pytest.raises(UserError, match="lr = -1"):
        FLDConfig(lr=-1)
