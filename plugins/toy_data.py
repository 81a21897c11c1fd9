"""Two-dimensional mixtures of Gaussians with known modes (the PacGAN / VEEGAN benchmarks)."""

import math

import torch

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource

N_ITEMS = 50_000  # enough that held-out data covers every mode many times over


def gaussian_mixture(centres: torch.Tensor, std: float, n: int = N_ITEMS, seed: int = 0) -> Data:
    """n points from an equal-weight mixture of isotropic Gaussians; labels are the mode indices."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(centres), (n,), generator=generator)
    x = centres[labels] + std * torch.randn(n, centres.shape[1], generator=generator)
    return Data(x.float(), labels, centres.float(), std)


def ring_centres(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def grid_centres(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    axis = torch.tensor(values, dtype=torch.float64)
    return torch.cartesian_prod(axis, axis)


@hookimpl
def register_datasets(register):
    register(DatasetSource("ring8", "8 Gaussians on a circle of radius 1, std 0.01 (PacGAN)",
                           lambda root: gaussian_mixture(ring_centres(), 0.01), latent_dim=2))
    register(DatasetSource("grid25", "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (PacGAN)",
                           lambda root: gaussian_mixture(grid_centres(), 0.05), latent_dim=2))
