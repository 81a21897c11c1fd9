import pytest
import torch

from gan_zoo.family import DataSpec
from gan_zoo.nets import discriminator_for, encoder_for, generator_for, upsampling_plan


@pytest.mark.parametrize("size, plan", [(8, (4, 1)), (28, (7, 2)), (32, (4, 3)), (64, (8, 3)), (9, (9, 0))])
def test_upsampling_plan(size, plan):
    assert upsampling_plan(size) == plan


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_convolutional_players_fit_the_image_sizes(shape):
    spec = DataSpec(shape, latent_dim=16, bounded=True)
    generator = generator_for(spec, 16, width=32, depth=2, channels=8).eval()
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, *shape) and images.abs().max() <= 1
    assert discriminator_for(spec, 32, 2, 8)(images).shape == (5,)
    assert discriminator_for(spec, 32, 2, 8, code_dim=16)(images, torch.randn(5, 16)).shape == (5,)
    assert encoder_for(spec, 16, 32, 2, 8)(images).shape == (5, 16)


def test_capacity_knobs_change_the_size():
    spec = DataSpec((2,), latent_dim=2)

    def size(width):
        return sum(p.numel() for p in generator_for(spec, 2, width=width, depth=3, channels=8).parameters())

    assert size(256) > 3 * size(128)
