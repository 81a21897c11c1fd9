"""The family contract: a family is a GanModel subclass, registered by a plugin.

A family declares, as class attributes:
  name         what the CLI calls it
  description  one line
  kind         "trained" (fit by the shared training loop) or "constructed" (built from data, no training)
  players      the players it has: ("generator", "discriminator"), plus "encoder" for encoder-decoder GANs
  Config       a dataclass whose every field has a default
  default_steps  training steps when the user gives none (trained families): a number, or a table
               {"vectors": N, "images": M} when the two kinds of data need different lengths

Built with (config, spec), a model can `sample(n, seed)`, `encode(x)` when it has an encoder, and is saved and
loaded as a checkpoint (gan_zoo.checkpoint). Trained families implement `configure_optimizers` and
`training_step`, and take `real_items_per_step()` real items per step (by default their config's
`batch_size`). The training loop sets every optimizer's learning rate each step by `lr_schedule` (by default
the config's `lr_schedule` field: "constant", "linear" or "auto"; "constant" when it has none). Constructed
families implement `construct`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from abc import abstractmethod  # for type checkers only: gan_zoo.contracts enforces it
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from gan_zoo.errors import UserError


@dataclass(frozen=True)
class DataSpec:
    """What a family needs to know about the data to build its players."""

    shape: tuple[int, ...]  # one item: (d,) for vectors, (C, H, W) for images
    latent_dim: int  # the data set's suggested latent size; a family's config may override it
    num_classes: int | None = None  # labels, where the data has them
    bounded: bool = False  # True: items lie in [-1, 1] (images), so generators end in tanh

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> DataSpec:
        return cls(**{**data, "shape": tuple(data["shape"])})


class GanModel(nn.Module):
    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[str] = "trained"
    players: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    Config: ClassVar[type]
    default_steps: ClassVar[int | dict[str, int]] = 0  # training steps when the user gives none
    expectation: ClassVar[str] = ""  # a constructed family: what a reader of a leaderboard should expect of it

    def __init__(self, config, spec: DataSpec):
        super().__init__()
        self.config = config
        self.spec = spec

    @property
    def display_name(self) -> str:
        """The name reports show (MIX+GAN shows its base, say)."""
        return self.name

    @property
    def latent_dim(self) -> int:
        return getattr(self.config, "latent_dim", 0) or self.spec.latent_dim

    @property
    def device(self) -> torch.device:
        return next(itertools.chain(self.parameters(), self.buffers()), torch.empty(0)).device

    # -- sampling -------------------------------------------------------------------------------------------
    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Latent codes on the CPU, so that a seed gives the same samples on every device."""
        return torch.randn(n, self.latent_dim, generator=generator)

    @abstractmethod
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n items of shape spec.shape as float32 on the CPU; the same seed gives the same items."""
        return self.sample_with_codes(n, seed)[0]

    @torch.no_grad()
    def sample_with_codes(self, n: int, seed: int = 0, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        """(G(z), z): the samples and their latent codes (what an encoder-decoder discriminator sees as fake)."""
        was_training = self.training
        self.eval()
        z = self.sample_latent(n, torch.Generator().manual_seed(seed))
        out = torch.cat([self.generate(chunk.to(self.device)).float().cpu()
                         for chunk in z.split(batch_size)]) if n else torch.empty(0, *self.spec.shape)
        self.train(was_training)
        return out.reshape(n, *self.spec.shape), z

    def encode_real(self, x: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, E(x)) pairs: what an encoder-decoder discriminator sees as real."""
        return x, self.encode(x)

    def facts(self) -> dict:
        """What is known exactly about this model (a construction's support size, say); kept in checkpoints."""
        return {}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise UserError(f"family {self.name!r} has no encoder")

    # -- trained families -----------------------------------------------------------------------------------
    @classmethod
    def steps_for(cls, spec: DataSpec) -> int:
        """The default training length on data like spec."""
        steps = cls.default_steps
        return steps["images" if spec.is_image else "vectors"] if isinstance(steps, dict) else steps

    @property
    def lr_schedule(self) -> str:
        """How the learning rates move over a run: "constant", or "linear" (from the configured rate to 0).
        A config's "auto" decays on vector data only: on digits a decayed 3000-step run scored lower."""
        schedule = getattr(self.config, "lr_schedule", "constant")
        if schedule == "auto":
            return "constant" if self.spec.is_image else "linear"
        return schedule

    def real_items_per_step(self) -> int:
        """How many real items the training loop hands to each training_step."""
        return self.config.batch_size

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def training_step(self, real: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer]) -> dict:
        """One step of the game on a batch of real items; returns the losses as floats."""
        raise NotImplementedError

    # -- constructed families -------------------------------------------------------------------------------
    def construct(self, train: torch.Tensor, seed: int) -> None:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> dict:
        return {"name": cls.name, "description": cls.description, "kind": cls.kind,
                "players": list(cls.players), "config": dataclasses.asdict(cls.Config()),
                "default_steps": cls.default_steps}


# -- configs -------------------------------------------------------------------------------------------------

def config_to_json(config) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)
