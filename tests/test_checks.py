"""The failed-training check: samples far from the data are named, each number against real data's own."""

import pytest
import torch

from gan_zoo.app.checks import failure_reasons, image_samples_failed
from gan_zoo.datasets import open_dataset
from gan_zoo.registry import registry

from .conftest import run_cli


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"), seed=0)


class Generator:
    """Stands in for a trained model: samples(n) gives its items."""

    def __init__(self, samples):
        self.samples = samples

    def sample(self, n, seed=0):
        return self.samples(n, torch.Generator().manual_seed(seed))


def test_a_broken_generator_on_images_is_named_and_a_good_one_is_not(digits):
    shape = digits.train.x.shape[1:]
    constant = Generator(lambda n, g: torch.full((n, *shape), -0.5))
    noise = Generator(lambda n, g: torch.rand((n, *shape), generator=g) * 2 - 1)
    # a good stand-in: training items nudged a little (never the held-out items it is measured against)
    good = Generator(lambda n, g: (digits.train.x[-n:] + 0.02 * torch.randn((n, *shape), generator=g)).clamp(-1, 1))
    for broken in (constant, noise):
        message = image_samples_failed(broken, digits)
        assert message.startswith("the samples are far from the data: FD ") and "; coverage " in message
        assert message.endswith("(pixels, n=359)")
    assert image_samples_failed(good, digits) is None


def test_the_rule_needs_fd_many_times_real_or_coverage_near_none():
    assert failure_reasons(fd=53.6, fd_real=3.2) == ["FD 53.6 is 17x real data's 3.2"]
    assert failure_reasons(fd=15.1, fd_real=3.14, coverage=0.45, coverage_real=0.96) == []  # wgan-gp on digits
    assert failure_reasons(coverage=0.014, coverage_real=0.97) == ["coverage 0.014 against real data's 0.97"]
    assert failure_reasons() == []


def test_training_that_failed_on_images_ends_with_a_warning(tmp_path):
    result = run_cli("train", "vanilla", "--dataset", "digits", "--steps", "20", "--out", tmp_path / "run", "--quiet",
                     env_extra={"GAN_ZOO_CACHE": str(tmp_path / "cache")})
    assert "gan-zoo: warning: the samples are far from the data: FD " in result.stderr
    assert "train longer" in result.stderr
