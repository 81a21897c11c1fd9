"""Memorising generators: the adversaries of Arora, Ge, Liang, Ma and Zhang (2017), built, not trained.

- `memorizer` (Theorem 1): the uniform distribution on m real training items. For every discriminator of
  capacity p it is within eps of the real distribution once m = C p log p / eps^2, yet its support is m.
- `gaussian-memorizer` (Theorem 2): a uniform mixture of m isotropic Gaussians centred on m training items,
  the finite mixture that approximates the data for capacity-p discriminators.

Both know their support (m items, or m components), recorded in their checkpoints so the harness can check its
support estimates against the truth.
"""

import math
from dataclasses import dataclass

import torch

from gan_zoo import hookimpl
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel


@dataclass
class MemorizerConfig:
    m: int = 1000  # how many training items to memorise (the support)
    capacity: int = 0  # p > 0: memorise m = ceil(C p log p / eps^2) items instead (Theorem 1)
    eps: float = 0.1  # the distance Theorem 1 guarantees against capacity-p discriminators
    C: float = 1.0  # Theorem 1's unspecified constant


@dataclass
class GaussianMemorizerConfig(MemorizerConfig):
    bandwidth: float = 0.0  # each component's std; 0: a quarter of the median nearest-neighbour distance


def support_size(config: MemorizerConfig) -> int:
    if config.capacity > 0:
        p = config.capacity
        return math.ceil(config.C * p * math.log(p) / config.eps**2)
    return config.m


class Memorizer(GanModel):
    name = "memorizer"
    description = "uniform on m memorised training items (Arora et al. 2017, Theorem 1)"
    kind = "constructed"
    players = ("generator",)
    Config = MemorizerConfig

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.m = support_size(config)
        if self.m < 1:
            raise UserError(f"{self.name}: the support m must be at least 1, got {self.m}")
        self.register_buffer("items", torch.zeros(self.m, *spec.shape))

    def construct(self, train, seed):
        if self.m > len(train):
            raise UserError(f"{self.name}: m = {self.m} exceeds the {len(train)} training items; "
                            f"lower m (or capacity, or raise eps)")
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[: self.m]
        self.items.copy_(train[pick.to(train.device)])

    def sample_latent(self, n, generator):
        return torch.randint(self.m, (n,), generator=generator)

    def generate(self, z):
        return self.items[z]

    def facts(self):
        return {"support": self.m}


class GaussianMemorizer(Memorizer):
    name = "gaussian-memorizer"
    description = "uniform mixture of m Gaussians on memorised training items (Arora et al. 2017, Theorem 2)"
    Config = GaussianMemorizerConfig

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.register_buffer("bandwidth", torch.tensor(config.bandwidth))

    def construct(self, train, seed):
        super().construct(train, seed)
        if self.config.bandwidth <= 0:
            flat = self.items.flatten(1)
            distances = torch.cdist(flat, flat).fill_diagonal_(math.inf)
            nearest = distances.min(dim=1).values
            self.bandwidth.fill_(nearest[nearest.isfinite()].median().item() / 4 if self.m > 1 else 0.0)

    def sample_latent(self, n, generator):
        """Per item: the component's index, then its standard normal noise."""
        index = torch.randint(self.m, (n, 1), generator=generator).float()
        return torch.cat([index, torch.randn(n, self.spec.dim, generator=generator)], dim=1)

    def generate(self, z):
        centres = self.items[z[:, 0].long()]
        return centres + self.bandwidth * z[:, 1:].view_as(centres)

    def facts(self):
        return {"support": None, "components": self.m, "bandwidth": self.bandwidth.item()}


@hookimpl
def register_families(register):
    register(Memorizer)
    register(GaussianMemorizer)
