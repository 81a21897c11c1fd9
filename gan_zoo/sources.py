"""The sample-source contract: what every metric consumes.

A source draws n items for a seed: float32 tensors on the CPU, (n, *shape), the same items for the same seed.
It is either a distribution (`size` None: every draw is fresh, e.g. a generator) or a finite set of items
(`size` N: an array file, a folder of images). Finite sources are handled honestly:

- draw(n, seed) returns n DISTINCT items (a seeded permutation's first n), never resampling with replacement,
  which would manufacture duplicates; n > N is refused.
- A metric that needs independent parts (the neural-net distance's batches A and B, the birthday test's
  trials) asks for them in one call, `draw_parts(sizes, seed)`: disjoint slices of one permutation for a finite
  source, fresh draws for a distribution.
- When N is too small for a metric's protocol, the metric cuts its protocol to what fits and records it
  (gan_zoo.metrics.EvalContext.fit), or is skipped with the reason.

Every draw is checked: NaN or inf items are refused with their count (a diverged generator is a finding,
not a support to estimate).

Sources with an encoder (encoder-decoder GANs) also give (G(z), z) pairs and (x, E(x)) for real items.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gan_zoo.errors import UserError
from gan_zoo.family import GanModel


def check_finite(items: torch.Tensor, what: str) -> torch.Tensor:
    bad = ~torch.isfinite(items.reshape(len(items), -1)).all(dim=1)
    if bad.any():
        raise UserError(f"{what}: {int(bad.sum())} of {len(items)} items hold NaN or inf; a generator that "
                        f"diverged has no distribution to measure (retrain it, or check how samples are made)")
    return items


class SampleSource:
    """Base class: subclasses set kind, name, shape, size and implement `_draw(n, seed)`."""

    kind: str = "source"  # checkpoint, family, model, array, folder, samples, callable, module, tensor
    name: str = "source"  # what reports call it
    shape: tuple[int, ...] = ()
    size: int | None = None  # finite: how many items it holds; None: a distribution

    @property
    def finite(self) -> bool:
        return self.size is not None

    @property
    def has_codes(self) -> bool:
        """True when it can give (G(z), z) pairs and encode real items (an encoder-decoder model)."""
        return False

    def draw(self, n: int, seed: int) -> torch.Tensor:
        if self.size is not None and n > self.size:
            raise UserError(f"{self.name}: {n} items asked of a source holding {self.size}; it cannot give more "
                            f"distinct items than it holds")
        items = self._draw(n, seed)
        if tuple(items.shape) != (n, *self.shape):
            raise UserError(f"{self.name}: gave items of shape {tuple(items.shape)} when asked for {n} items of shape "
                            f"{self.shape}; return an array of n items of one shape")
        return check_finite(items, self.name)

    def draw_parts(self, sizes: list[int], seed: int) -> list[torch.Tensor]:
        """Independent parts: disjoint items of one draw (a finite source), or one fresh draw split (a model)."""
        return list(self.draw(sum(sizes), seed).split(list(sizes)))

    def _draw(self, n: int, seed: int) -> torch.Tensor:
        raise NotImplementedError

    def draw_with_codes(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise UserError(f"{self.name} has no latent codes; metrics on (x, z) pairs need an encoder-decoder model")

    def encode_real(self, x: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise UserError(f"{self.name} has no encoder")

    def facts(self) -> dict:
        """What is known exactly (a construction's support, say)."""
        return {}

    def describe(self) -> dict:
        """JSON: what this source is, recorded with every result."""
        return {"kind": self.kind, "name": self.name, "shape": list(self.shape), "finite": self.finite,
                "size": self.size}


def permutation(n: int, seed: int) -> torch.Tensor:
    """The documented order in which a finite source gives its items for a seed."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


class TensorSource(SampleSource):
    """A finite set of items already in [the data set's layout and range]: draws are distinct items."""

    def __init__(self, items: torch.Tensor, name: str, kind: str = "tensor", details: dict | None = None,
                 facts: dict | None = None):
        self.items = check_finite(items.float().contiguous(), name)
        self.name, self.kind = name, kind
        self.shape, self.size = tuple(items.shape[1:]), len(items)
        self.details = details or {}
        self._facts = facts or {}  # what its maker knows exactly, e.g. the support of the items it drew

    def _draw(self, n, seed):
        return self.items[permutation(self.size, seed)[:n]]

    def facts(self):
        return dict(self._facts)

    def describe(self):
        return {**super().describe(), **self.details}


class ModelSource(SampleSource):
    """A gan-zoo model: a checkpoint, a constructed family, or a GanModel object."""

    def __init__(self, model: GanModel, kind: str = "model", details: dict | None = None):
        self.model, self.kind = model, kind
        self.name = model.display_name
        self.shape = tuple(model.spec.shape)
        self.details = details or {}

    @property
    def has_codes(self):
        return "encoder" in self.model.players

    def _draw(self, n, seed):
        return self.model.sample(n, seed=seed)

    def draw_with_codes(self, n, seed):
        x, z = self.model.sample_with_codes(n, seed=seed)
        return check_finite(x, self.name), z

    def encode_real(self, x, seed):
        return self.model.encode_real(x, seed=seed)

    def facts(self):
        return self.model.facts()

    def describe(self):
        return {**super().describe(), "family": self.model.name, **self.details}


class CallableSource(SampleSource):
    """A Python function draw(n, seed) -> n items, already conformed to the data set (see harness.sources)."""

    def __init__(self, draw: Callable[[int, int], torch.Tensor], name: str, shape: tuple[int, ...],
                 kind: str = "callable", details: dict | None = None):
        self._function, self.name, self.shape, self.kind = draw, name, tuple(shape), kind
        self.details = details or {}

    def _draw(self, n, seed):
        return self._function(n, seed)

    def describe(self):
        return {**super().describe(), **self.details}
