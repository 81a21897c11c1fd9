"""Players shared by the families: MLPs for vector data, DCGAN-style convolutional nets for images."""

from __future__ import annotations

import torch
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

    def __init__(self, latent_dim: int, shape: tuple[int, ...], channels: int):  # (C, H, W)
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


class ConvNet(nn.Module):
    """DCGAN's discriminator body without batch norm (so gradient penalties and per-item scores stay valid),
    ending in a linear map to out_dim. With code_dim > 0 it also takes a code, joined to the image features
    through one hidden layer (BiGAN's joint discriminator)."""

    def __init__(self, shape: tuple[int, ...], channels: int | list[int], out_dim: int, code_dim: int = 0,
                 width: int = 0):
        """channels: the first layer's, doubled by each stride-2 layer; or a list, one per layer (1 + doublings)."""
        super().__init__()
        in_channels, size, _ = shape
        base, doublings = upsampling_plan(size)
        widths = channels if isinstance(channels, list) else [channels * 2**k for k in range(doublings + 1)]
        if len(widths) != doublings + 1:
            raise ValueError(f"ConvNet on {size}x{size} images has {doublings + 1} layers, got {len(widths)} widths")
        layers, c = [nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2)], widths[0]
        for out in widths[1:]:
            layers += [nn.Conv2d(c, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c = out
        self.features = nn.Sequential(*layers, nn.Flatten())
        features = c * base**2
        self.head = (nn.Linear(features, out_dim) if not code_dim else
                     nn.Sequential(nn.Linear(features + code_dim, width), nn.LeakyReLU(0.2), nn.Linear(width, out_dim)))

    def forward(self, x, code=None):
        h = self.features(x)
        return self.head(h if code is None else torch.cat([h, code], dim=1))


class Squeeze(nn.Module):
    """A scalar score per item: (N, 1) -> (N,)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, *inputs):
        return self.net(*inputs).squeeze(1)


class JoinInputs(nn.Module):
    """Flattens and concatenates its inputs for an MLP: (x, code) -> [x, code]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, *inputs):
        return self.net(torch.cat([t.flatten(1) for t in inputs], dim=1))


def generator_for(spec: DataSpec, latent_dim: int, width: int, depth: int, channels: int) -> nn.Module:
    if spec.is_image:
        return ConvGenerator(latent_dim, spec.shape, channels)
    net = mlp(latent_dim, spec.dim, width, depth)
    return nn.Sequential(net, nn.Tanh()) if spec.bounded else net


def discriminator_for(spec: DataSpec, width: int, depth: int, channels: int, code_dim: int = 0) -> nn.Module:
    """A score per item; with code_dim > 0 it scores (x, code) pairs."""
    if spec.is_image:
        return Squeeze(ConvNet(spec.shape, channels, 1, code_dim, width))
    return Squeeze(JoinInputs(mlp(spec.dim + code_dim, 1, width, depth, activation=lambda: nn.LeakyReLU(0.2))))


def players_for(spec: DataSpec, latent_dim: int, config) -> tuple[nn.Module, nn.Module]:
    """A generator and a discriminator sized by a config's width, depth and channels."""
    return (generator_for(spec, latent_dim, config.width, config.depth, config.channels),
            discriminator_for(spec, config.width, config.depth, config.channels))


def encoder_for(spec: DataSpec, out_dim: int, width: int, depth: int, channels: int) -> nn.Module:
    if spec.is_image:
        return ConvNet(spec.shape, channels, out_dim)
    return JoinInputs(mlp(spec.dim, out_dim, width, depth, activation=lambda: nn.LeakyReLU(0.2)))
