"""Evaluation discriminator classes and capacity: p is the exact number of trainable parameters.

A class is registered through the `register_discriminators` hook as a gan_zoo.DiscriminatorClass. Its `build(spec,
code_dim, width)` makes one discriminator scoring an item (and, with code_dim > 0, its code: the BiGAN pair);
`width` is the knob that sets capacity. `at_capacity` picks, for a target p, the width whose parameter count is
nearest, and says how far off it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan_zoo.discriminators import DiscriminatorClass
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec

CAPACITY_TOLERANCE = 0.10  # a width is accepted when its p is within 10% of the target


@dataclass(frozen=True)
class Capacity:
    target: int
    width: int
    p: int  # the real number of trainable parameters

    @property
    def off_by(self) -> float:
        return abs(self.p - self.target) / self.target


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def split_name(name: str) -> tuple[str, str]:
    """'timm:resnet18' -> ('timm', 'resnet18'); 'mlp' -> ('mlp', '')."""
    base, _, option = name.partition(":")
    return base, option


def at_capacity(cls: DiscriminatorClass, option: str, spec: DataSpec, code_dim: int, target: int) -> Capacity:
    """The width whose parameter count is nearest `target` (p grows with width, so bisect)."""

    def p_of(width: int) -> int:
        with torch.device("meta"):  # counts without allocating: the search tries very wide nets
            return count_parameters(cls.build(spec, code_dim, width, option))

    if cls.fixed_capacity:
        return Capacity(target, 0, p_of(0))
    low, high = 1, cls.max_width
    if p_of(low) >= target:
        high = low
    while high - low > 1:
        middle = (low + high) // 2
        if p_of(middle) < target:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda w: abs(p_of(w) - target))
    capacity = Capacity(target, best, p_of(best))
    if capacity.off_by > CAPACITY_TOLERANCE:
        raise UserError(f"discriminator {cls.name}: no width gives p within {CAPACITY_TOLERANCE:.0%} of {target} "
                        f"(nearest: width {best}, p = {capacity.p}); choose another capacity")
    return capacity


def unbuildable(cls: DiscriminatorClass, option: str, spec: DataSpec, code_dim: int, targets: list[int]
                ) -> dict[int, str]:
    """{target: why} for the capacities no width of this class reaches on this data (a capacity ladder made for
    64-d items starts below what one unit costs on 784-d or 3072-d items): those are skipped, the rest run."""
    reasons = {}
    for target in targets:
        try:
            at_capacity(cls, option, spec, code_dim, target)
        except UserError as exc:
            reasons[target] = str(exc)
    return reasons


def parse_capacities(text: str) -> list[int]:
    """'1e3,1e4' -> [1000, 10000]."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"capacities {text!r}: expected numbers separated by commas, e.g. 1e3,1e4,1e5") from None
    if not values or not all(1 <= v <= 1e9 and float(v).is_integer() for v in values):
        raise UserError(f"capacities {text!r}: expected whole parameter counts from 1 to 1e9, e.g. 1e3,1e4,1e5")
    return [int(v) for v in values]
