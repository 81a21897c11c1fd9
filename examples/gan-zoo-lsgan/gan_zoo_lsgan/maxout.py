"""An example evaluation discriminator class: `maxout[:PIECES]`, the maxout MLP of the original GAN paper.

Goodfellow et al. (2014) trained their discriminators with two maxout layers (each unit the largest of PIECES
linear pieces, 5 in their MNIST model) and one linear output. Registered as a gan_zoo.DiscriminatorClass, it
serves the neural-net distance like the built-in `mlp`: `width` is the units per maxout layer, and for a target
capacity p the harness builds it at ever larger widths (on PyTorch's meta device, so nothing is allocated) and
keeps the width whose parameter count is nearest p. `gan-zoo eval ... --discriminator maxout:3` picks it.
"""

import torch
from torch import nn

from gan_zoo import DiscriminatorClass, UserError

DEFAULT_PIECES = 5  # as in the paper's MNIST discriminator


class Maxout(nn.Module):
    """`units` outputs, each the largest of `pieces` linear functions of the input."""

    def __init__(self, in_dim: int, units: int, pieces: int):
        super().__init__()
        self.linear, self.units, self.pieces = nn.Linear(in_dim, units * pieces), units, pieces

    def forward(self, x):
        return self.linear(x).unflatten(-1, (self.units, self.pieces)).amax(-1)


class MaxoutScore(nn.Module):
    """One score per item, (N, ...) -> (N,): items (and, for encoder-decoder GANs, their codes) are flattened and
    joined. No batch norm, so one item's score never depends on the others in its batch and the harness can train
    a whole ensemble as one batched computation (vmap)."""

    def __init__(self, in_dim: int, width: int, pieces: int):
        super().__init__()
        self.body = nn.Sequential(Maxout(in_dim, width, pieces), Maxout(width, width, pieces), nn.Linear(width, 1))

    def forward(self, *inputs):
        return self.body(torch.cat([t.flatten(1) for t in inputs], dim=1)).squeeze(1)


def build_maxout(spec, code_dim, width, option):
    """The contract's build(spec, code_dim, width, option); `option` is what follows "maxout:"."""
    if option and not (option.isdigit() and 2 <= int(option) <= 16):
        raise UserError(f"discriminator maxout:{option}: the option is the number of pieces per unit, 2 to 16, "
                        f"e.g. maxout:3")
    return MaxoutScore(spec.dim + code_dim, width, int(option) if option else DEFAULT_PIECES)


MAXOUT = DiscriminatorClass("maxout", "maxout MLP (Goodfellow et al. 2014), maxout:PIECES (5), `width` units a layer",
                            build_maxout)
