"""The evaluation discriminator contract: a class of discriminators whose capacity a `width` knob sets.

Registered through `register_discriminators` and used by the neural-net distance (gan_zoo.harness): for a
target capacity p the harness picks the width whose exact parameter count is nearest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from gan_zoo.family import DataSpec


@dataclass(frozen=True)
class DiscriminatorClass:
    name: str
    description: str
    # build(spec, code_dim, width, option) -> a module scoring each item, (N, ...) -> (N,); with code_dim > 0 it
    # scores (item, code) pairs: module(x, code). `option` is what follows "name:" (e.g. "3" in "mlp:3").
    build: Callable[[DataSpec, int, int, str], nn.Module]
    max_width: int = 1 << 14  # the knob's upper end
    fixed_capacity: bool = False  # True: `width` is ignored (a timm architecture has one size)
