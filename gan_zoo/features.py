"""The feature-space contract: where metrics measure (pixels, a classifier's features, InceptionV3, ...).

A FeatureSpace is registered through `register_feature_spaces`. `load(data, option, config, device)` returns an
Extractor once per evaluation (`data` is the LoadedDataset being evaluated on: a space may fit itself to its
training split, as the domain classifier does); the harness computes the features of each set of items once and
shares them between every metric that measures in that space. A space named `base:option` (e.g. `timm:resnet18`) reaches
the space `base` with `option`.

Nothing is ever downloaded unless the space's config says the user allowed it (`allow_download`), and weights
read from a file have their SHA-256 recorded in `Extractor.info`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:  # gan_zoo.datasets imports the family contract; this module stays below both
    from gan_zoo.datasets import LoadedDataset


@dataclass
class NoSettings:
    """For a space (or metric) with nothing to set."""


class Extractor:
    """A loaded feature space: features of items, and class logits where the space has them (for IS).

    The methods marked abstract are what a subclass must implement; the marks are for type checkers (no ABCMeta,
    so nothing changes at run time: gan_zoo.testing.check_feature_space checks a space's extractor)."""

    def __init__(self, name: str, dim: int, info: dict | None = None):
        self.name, self.dim, self.info = name, dim, info or {}

    @abstractmethod
    def features(self, items: torch.Tensor) -> torch.Tensor:
        """(N, *item shape) in the data set's layout and range -> (N, dim) float32 on the CPU."""
        raise NotImplementedError

    def logits(self, items: torch.Tensor) -> torch.Tensor | None:
        """(N, classes) class logits, or None when this space is not a classifier."""
        return None

    def identity(self) -> str | None:
        """Everything that makes this space's features of given items what they are (the weights' checksum, the
        preprocessing, the device), as text: the on-disk feature cache keys on it with the items' content
        (gan_zoo/cache.py). None, the default: never cached (cheap to recompute, or not reproducible)."""
        return None


class FeatureSpace:
    """The abstract `load` is what a subclass must implement (checked when it registers: gan_zoo.contracts)."""

    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type] = NoSettings  # a dataclass, every field defaulted: set in a suite's [eval.features.NAME]

    # report(text): progress of a load that takes a while (training a network), for the evaluation's output; the
    # evaluation sets it on the instance it loads with
    report: Callable[[str], None] = staticmethod(lambda text: None)

    def applies(self, data: LoadedDataset, option: str) -> str | None:
        """Why this space cannot embed the data set's items (None when it can)."""
        return None

    @abstractmethod
    def load(self, data: LoadedDataset, option: str, config: Any, device: torch.device) -> Extractor:
        """The space loaded for `data` (the evaluation's data set), with `option` (what follows "NAME:", or "")
        and `config` (an instance of Config)."""
        raise NotImplementedError

    @classmethod
    def summary(cls) -> dict:
        from dataclasses import asdict

        return {"name": cls.name, "description": cls.description, "config": asdict(cls.Config())}
