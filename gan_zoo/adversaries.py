"""The adversary contract: what a plugin adds to the gauntlet, a graded failure mode giving a finite source of n
items.

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
