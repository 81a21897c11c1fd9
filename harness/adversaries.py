"""What the gauntlet and the built-in adversaries share: the check of what an adversary's make() returned, and
the transforms the built-ins are made of. The contract an adversary implements is gan_zoo.adversaries.Adversary
(importable from here too, where plugins have long imported it).
"""

from __future__ import annotations

import math

import torch

from gan_zoo.adversaries import Adversary  # noqa: F401  (re-exported: plugins import the contract from here)
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError


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
