"""Players shared by the families: MLPs for vector data, DCGAN-style convolutional nets for images."""

from __future__ import annotations

from torch import nn

from gan_zoo.family import DataSpec


def mlp(in_dim: int, out_dim: int, width: int, depth: int, activation=nn.ReLU) -> nn.Sequential:
    """depth hidden layers of `width` units."""
    layers, dim = [], in_dim
    for _ in range(depth):
        layers += [nn.Linear(dim, width), activation()]
        dim = width
    layers.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*layers)


def upsampling_plan(size: int) -> tuple[int, int]:
    """(base size, doublings) for a square image: 8 -> (4, 1), 28 -> (7, 2), 32 -> (4, 3)."""
    doublings = 0
    while size % 2 == 0 and size // 2 >= 4 and doublings < 3:
        size //= 2
        doublings += 1
    return size, doublings


class ConvGenerator(nn.Module):
    """DCGAN: project the code to a small feature map, double it with transposed convolutions, tanh."""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], channels: int):
        super().__init__()
        out_channels, height, width = shape
        if height != width:
            raise ValueError(f"convolutional players need square images, got {height}x{width}")
        self.base, doublings = upsampling_plan(height)
        self.top = channels * 2**doublings
        self.project = nn.Sequential(nn.Linear(latent_dim, self.top * self.base**2),
                                     nn.BatchNorm1d(self.top * self.base**2), nn.ReLU())
        layers, c = [], self.top
        for _ in range(doublings):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.Conv2d(c, out_channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return self.body(self.project(z).view(-1, self.top, self.base, self.base))


class ConvDiscriminator(nn.Module):
    """DCGAN's discriminator without batch norm (so gradient penalties and per-item scores stay valid)."""

    def __init__(self, shape: tuple[int, int, int], channels: int):
        super().__init__()
        in_channels, size, _ = shape
        base, doublings = upsampling_plan(size)
        layers, c = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.LeakyReLU(0.2)], channels
        for _ in range(doublings):
            layers += [nn.Conv2d(c, c * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c * base**2, 1)

    def forward(self, x):
        return self.head(self.features(x)).squeeze(1)


def generator_for(spec: DataSpec, latent_dim: int, width: int, depth: int, channels: int) -> nn.Module:
    if spec.is_image:
        return ConvGenerator(latent_dim, spec.shape, channels)
    net = mlp(latent_dim, spec.dim, width, depth)
    return nn.Sequential(net, nn.Tanh()) if spec.bounded else net


def discriminator_for(spec: DataSpec, width: int, depth: int, channels: int) -> nn.Module:
    if spec.is_image:
        return ConvDiscriminator(spec.shape, channels)
    return nn.Sequential(mlp(spec.dim, 1, width, depth, activation=lambda: nn.LeakyReLU(0.2)), nn.Flatten(0))
