"""Memorising generators: the adversaries of Arora, Ge, Liang, Ma and Zhang (2017), built, not trained.

- `memorizer` (Theorem 1): the uniform distribution on m real training items. For every discriminator of
  capacity p it is within eps of the real distribution once m = C p log p / eps^2, yet its support is m.
- `gaussian-memorizer` (Theorem 2): a uniform mixture of m isotropic Gaussians centred on m training items,
  the finite mixture that approximates the data for capacity-p discriminators.

Both know their support, recorded in their checkpoints so the harness can check its support estimates against the
truth: the memorizer's is the number of DISTINCT items among its m rows (data with duplicate items gives fewer),
the Gaussian mixture's m components.
"""

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from gan_zoo import hookimpl
from gan_zoo.config import number, whole
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel

MAX_SUPPORT = 10**9  # more items than any data set holds, and a memorizer holds at most all of them
MAX_ITEMS_BYTES = 2**34  # the memorised rows are allocated when the family is built, before the data is seen


@dataclass
class MemorizerConfig:
    m: int = 1000  # how many training items to memorise (the support)
    capacity: int = 0  # p > 0: memorise m = ceil(C p log p / eps^2) items instead (Theorem 1)
    eps: float = 0.1  # the distance Theorem 1 guarantees against capacity-p discriminators
    C: float = 1.0  # Theorem 1's unspecified constant

    def __post_init__(self):
        self.m = whole("m", self.m, 1, MAX_SUPPORT)
        self.capacity = whole("capacity", self.capacity, 0)
        self.eps = number("eps", self.eps, 0, low_open=True)
        self.C = number("C", self.C, 0, low_open=True)
        if self.capacity > 0:
            m = theorem_m(self)
            if not 0 < m <= MAX_SUPPORT:
                raise UserError(f"capacity = {self.capacity}: must give 1 <= m = C p log p / eps^2 <= 10^9 (no data "
                                f"set holds more), but gives m = {m:.4g}; "
                                + ("use capacity >= 2, or 0 to set m directly" if m <= 0 else
                                   "lower capacity or C, or raise eps"))


@dataclass
class GaussianMemorizerConfig(MemorizerConfig):
    bandwidth: float = 0.0  # each coordinate's std; 0: a sample lies about a quarter of the median nearest-neighbour
    # distance from its centre (std = that quarter / sqrt(dim)), nearer its own item than any other

    def __post_init__(self):
        super().__post_init__()
        self.bandwidth = number("bandwidth", self.bandwidth, 0)


def theorem_m(config: MemorizerConfig) -> float:
    """C p log p / eps^2 for capacity p (inf when it overflows a float), before rounding up."""
    p = config.capacity
    try:
        return config.C * float(p) * math.log(p) / config.eps / config.eps
    except OverflowError:
        return math.inf


def support_size(config: MemorizerConfig) -> int:
    """The rows memorised: m, or ceil(C p log p / eps^2) for capacity p (the config has checked it is finite)."""
    if config.capacity > 0:
        return math.ceil(theorem_m(config))
    return config.m


def distinct_rows(items: torch.Tensor) -> int:
    """How many different items the rows hold: the support of the uniform distribution on them."""
    return len(torch.unique(items.reshape(len(items), -1), dim=0)) if len(items) else 0


def check_items_memory(name: str, m: int, spec) -> None:
    """Refuse, before allocating, m rows the size of spec's items that would not fit in memory."""
    size = 4 * m * spec.dim
    if size > MAX_ITEMS_BYTES:
        raise UserError(f"{name}: m = {m} items of {spec.dim} numbers would take {size / 2**30:.3g} GiB, above "
                        f"{MAX_ITEMS_BYTES / 2**30:.0f} GiB; lower m (or capacity, or raise eps)")


class Memorizer(GanModel):
    name = "memorizer"
    description = "uniform on m memorised training items (Arora et al. 2017, Theorem 1)"
    expectation = ("Built to fool finite discriminators: with m large enough for their capacity, its neural-net "
                   "distance sits at the noise floor and a classifier's Inception Score rewards it; the birthday "
                   "test should find a support near m, and copying checks should flag it.")
    kind = "constructed"
    players: ClassVar[tuple[str, ...]] = ("generator",)
    Config: ClassVar[type] = MemorizerConfig
    items: torch.Tensor  # (m, *shape), a buffer

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.m = support_size(config)
        check_items_memory(self.name, self.m, spec)
        self.register_buffer("items", torch.zeros(self.m, *spec.shape))
        self.support: int | None = None  # distinct memorised items, counted once construct has picked them

    def construct(self, train, seed):
        if self.m > len(train):
            raise UserError(f"{self.name}: m = {self.m} exceeds the {len(train)} training items; "
                            f"lower m (or capacity, or raise eps)")
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[: self.m]
        self.items.copy_(train[pick.to(train.device)])
        self.support = self.distinct_support()

    def distinct_support(self) -> int:
        return distinct_rows(self.items)

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self.support = None  # other rows: counted again when asked

    def sample_latent(self, n, generator):
        return torch.randint(self.m, (n,), generator=generator)

    def generate(self, z):
        return self.items[z]

    def facts(self):
        """The support is the count of distinct rows (duplicate training items give fewer than m); a model loaded
        from a checkpoint counts its rows anew."""
        if self.support is None:
            self.support = self.distinct_support()
        return {"support": self.support, "rows": self.m}


class GaussianMemorizer(Memorizer):
    name = "gaussian-memorizer"
    description = "uniform mixture of m Gaussians on memorised training items (Arora et al. 2017, Theorem 2)"
    expectation = ("Each sample is a memorised item plus small Gaussian noise: the support is not finite, so the "
                   "birthday test finds no exact duplicates, while the samples stay near m training items.")
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
            # noise of std s per coordinate moves a sample about s sqrt(dim) away: scaled so that is a quarter of
            # the distance to the nearest other item (unscaled, 64-pixel digits landed twice that far away)
            quarter = nearest[nearest.isfinite()].median().item() / 4 if self.m > 1 else 0.0
            self.bandwidth.fill_(quarter / math.sqrt(flat.shape[1]))

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
