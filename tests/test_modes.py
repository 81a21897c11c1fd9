import math

import pytest
import torch

from gan_zoo.harness.modes import mode_coverage
from gan_zoo.plugins.toy_data import grid_centres, ring_centres

RING = ring_centres()


def test_every_mode_equally_is_perfect():
    samples = RING.repeat(10, 1) + 0.001
    result = mode_coverage(samples, RING, 0.01)
    assert result["modes_captured"] == 8 and result["high_quality_fraction"] == 1.0
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_only_has_reverse_kl_log_m():
    result = mode_coverage(RING[:1].repeat(100, 1), RING, 0.01)
    assert result["modes_captured"] == 1 and result["reverse_kl"] == pytest.approx(math.log(8))


def test_far_samples_are_low_quality_and_capture_nothing():
    result = mode_coverage(torch.zeros(50, 2), RING, 0.01)  # the centre of the ring: 1 from every mode
    assert result["modes_captured"] == 0 and result["high_quality_fraction"] == 0.0
    assert result["reverse_kl"] is None


def test_the_three_std_boundary():
    inside = RING[0] + torch.tensor([0.0299, 0.0])
    outside = RING[1] + torch.tensor([0.0, 0.0301]) * 1  # nearest mode is still mode 1
    result = mode_coverage(torch.stack([inside, outside]), RING, 0.01)
    assert result["high_quality_fraction"] == 0.5 and result["per_mode_counts"][:2] == [1, 0]


def test_real_data_scores_like_the_protocol_expects():
    torch.manual_seed(0)
    grid = grid_centres()
    labels = torch.randint(25, (2500,))
    samples = grid[labels] + 0.05 * torch.randn(2500, 2, dtype=torch.float64)
    result = mode_coverage(samples, grid, 0.05)
    assert result["modes_captured"] == 25
    assert result["high_quality_fraction"] == pytest.approx(0.989, abs=0.01)  # P(chi2_2 <= 9) = 1 - e^-4.5
    assert result["reverse_kl"] < 0.02
