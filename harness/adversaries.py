"""Adversaries a plugin can add to the gauntlet: graded failure modes, each a finite source of n items.

An adversary is a class registered through the `register_adversaries` hook (gan_zoo.hookspecs), like a metric:

    class Tint(Adversary):
        name = "tint"
        description = "control items tinted towards white"
        strength = "t"               # how reports name the strength: `tint t=0.2`
        low, high = 0.0, 1.0         # the strengths it accepts, both ends included
        harder = "lower"             # which way a strength is harder to detect

        def make(self, fresh, data, strength, config, generator):
            return fresh.x + strength * (1 - fresh.x)

`make` gets `fresh`, the n control items (a gan_zoo Data: x, and labels where the data set has them) the control
source would give at the same seed (so an adversary at a strength that changes nothing is the clean control),
the data set's splits (`data.train` is what copies are
taken from), the strength, its Config and a torch generator; it returns the n items, or (items, facts) where
facts go to the record (a `support` fact is the number of distinct items). The gauntlet checks what comes back:
n items shaped like the data, every value finite.
"""

from __future__ import annotations

import math
from abc import abstractmethod  # for type checkers only: gan_zoo.contracts enforces it
from typing import ClassVar

import torch

from gan_zoo.config import number
from gan_zoo.datasets import Data, LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.features import NoSettings

NEEDS = ("images", "labels")
GROUPS = ("copying", "blends", "diversity loss", "damage", "memorizers")


class Adversary:
    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type] = NoSettings  # settings a suite gives with `set = {...}`
    strength: ClassVar[str] = "f"  # the strength's name in labels, e.g. `partial-copy f=0.05`
    low: ClassVar[float] = 0.0  # the strengths accepted, both ends included
    high: ClassVar[float | None] = 1.0
    harder: ClassVar[str] = "lower"  # a smaller strength is harder to detect (a share of copies); "higher" when
    # a larger one is (a larger memorised support)
    group: ClassVar[str] = "copying"  # the matrix it is shown in, beside adversaries of its kind
    needs: ClassVar[tuple[str, ...]] = ()  # "images", "labels": what the data set must have

    def applies(self, data: LoadedDataset) -> str | None:
        """Why this adversary cannot run on `data` (None when it can)."""
        if "images" in self.needs and not data.spec.is_image:
            return f"{self.name}: {data.name} is not a set of images"
        if "labels" in self.needs and data.spec.num_classes is None:
            return f"{self.name}: {data.name} has no labels"
        return None

    def check(self, strength, data: LoadedDataset, n: int) -> float:
        """The strength as a number, checked against the range and against the data set (raise UserError)."""
        problem = self.applies(data)
        if problem:
            raise UserError(problem)
        return number(f"{self.name} ({self.strength})", strength, self.low, self.high)

    @abstractmethod
    def make(self, fresh: Data, data: LoadedDataset, strength: float, config, generator: torch.Generator
             ) -> torch.Tensor | tuple[torch.Tensor, dict]:
        raise NotImplementedError


def checked_items(name: str, made, n: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, dict]:
    """What an adversary's make() returned, as (items, facts), or a UserError naming what is wrong."""
    items, facts = made if isinstance(made, tuple) else (made, {})
    if not isinstance(items, torch.Tensor) or tuple(items.shape) != (n, *shape):
        got = tuple(items.shape) if isinstance(items, torch.Tensor) else type(items).__name__
        raise UserError(f"adversary {name} returned {got}, not {n} items shaped {shape}: make() must return "
                        f"a tensor of shape {(n, *shape)}")
    if not torch.isfinite(items).all():
        raise UserError(f"adversary {name} returned {int((~torch.isfinite(items)).sum())} non-finite values; make() "
                        f"must return finite items")
    if not isinstance(facts, dict):
        raise UserError(f"adversary {name} returned facts of type {type(facts).__name__}; give a dict")
    return items.float(), facts


# -- helpers the built-in adversaries share --------------------------------------------------------------------

def copies_needed(fraction: float, n: int, data: LoadedDataset, name: str) -> int:
    """How many training items a share `fraction` of n replaces: at most the training split holds."""
    k = round(fraction * n)
    if k > len(data.train):
        raise UserError(f"{name}: f = {fraction:g} of n = {n} is {k} training copies, more than the {len(data.train)} "
                        f"items of the training split; lower f or n")
    return k


def mix_in(fresh: torch.Tensor, made: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """fresh with len(made) of its items, at places picked at random, replaced by `made`."""
    places = torch.randperm(len(fresh), generator=generator)[:len(made)]
    mixed = fresh.clone()
    mixed[places] = made
    return mixed


def block_dct(side: int) -> torch.Tensor:
    """The orthonormal DCT-II matrix of one block, of side 8 where the image side allows, else 4, else the side."""
    block = next(b for b in (8, 4, side) if side % b == 0)
    k = torch.arange(block, dtype=torch.float64).view(-1, 1)
    i = torch.arange(block, dtype=torch.float64).view(1, -1)
    basis = torch.cos(math.pi * (2 * i + 1) * k / (2 * block)) * math.sqrt(2 / block)
    basis[0] /= math.sqrt(2)
    return basis


def jpeg_like(images: torch.Tensor, step: float) -> torch.Tensor:
    """Blockwise DCT coefficients rounded to multiples of `step`, transformed back and clipped to [-1, 1]: the
    lossy part of JPEG, with one quantisation step for every frequency."""
    n, c, h, w = images.shape
    if h != w:
        raise UserError(f"jpeg-like quantisation needs square images, not {h}x{w}")
    basis = block_dct(h)
    b = basis.shape[0]
    blocks = images.double().reshape(n, c, h // b, b, w // b, b).permute(0, 1, 2, 4, 3, 5)
    coefficients = basis @ blocks @ basis.T
    rounded = torch.round(coefficients / step) * step
    back = (basis.T @ rounded @ basis).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    return back.clamp(-1, 1).float()
