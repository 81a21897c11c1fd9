"""The encoder-decoder construction of Arora, Risteski and Zhang (2018), seed 002 section 3 and Theorem 3.

Noise model: an item x~ with d coordinates and a code z ~ N(0, I) with d~ < d coordinates make the noised item
x = x~ (*) z, whose coordinates j*s (s = floor(d / d~), j < d~) are replaced by z_j. Real data for this
construction is noised the same way (`noise`), as the theorem assumes.

- Encoder E(x) = those d~ coordinates: the code is pure white noise, and E(G(z)) = z exactly.
- Generator: R^d~ is split into m blocks of equal Gaussian measure; m training items x*_1..x*_m are memorised;
  G(z) = x*_ind(z) (*) z. Its support, counting the noised coordinates out, is exactly m.

The partition: m is factored into radices k_1 * ... * k_d~ = m, as even as its prime factors allow (m = k^d~
gives k everywhere, the paper's case; a prime m puts all m blocks on one coordinate). Coordinate j is cut into
k_j intervals of |z_j| with equal half-normal mass, at tau_l = Phi^-1((1 + l / k_j) / 2); ind(z) reads the
interval numbers as a mixed-radix number. Coordinates are independent, so every block has measure exactly 1/m.

`relu-memorizer` is the same generator as an explicit network of Linear and ReLU layers only (Theorem 3):
|z_j| by two ReLUs, step selectors of sharpness A at each threshold, the mixed-radix index, a one-hot over the m
blocks, a fan-out holding x*_i in its weights, and the (*) wiring. A step is exact except within 1/A below its
threshold; A = 2 phi(0) S / delta over S thresholds makes the chance of landing there at most delta, so the
network's output distribution is within total variation delta of the exact generator.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from gan_zoo import hookimpl
from gan_zoo.config import number, whole
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel
from gan_zoo.plugins.memorizer import Memorizer, check_items_memory, distinct_rows

MAX_BLOCKS = 10**8  # ed-memorizer's m: the partition is arithmetic, but m items are memorised
MAX_CODE = 2**20
MAX_RELU_BLOCKS = 8192  # the one-hot layers are stored dense: memory grows as m^2 (nonzeros only as m)


@dataclass
class EDMemorizerConfig:
    m: int = 1024  # blocks of the code space, one memorised item each: the support
    latent_dim: int = 0  # d~, the code size; 0: d // 64, at least 1 (the paper noises about every 100th pixel)

    def __post_init__(self):
        self.m = whole("m", self.m, 1, MAX_BLOCKS)
        self.latent_dim = whole("latent_dim", self.latent_dim, 0, MAX_CODE)  # below the item size: checked on build


@dataclass
class ReLUMemorizerConfig(EDMemorizerConfig):
    delta: float = 1e-3  # allowed total-variation distance from the exact generator; smaller needs sharper steps

    def __post_init__(self):
        super().__post_init__()
        if self.m > MAX_RELU_BLOCKS:
            raise UserError(f"m = {self.m}: must be a whole number from 1 to {MAX_RELU_BLOCKS} for relu-memorizer, "
                            f"whose dense one-hot layers would need {8 * self.m**2 / 2**30:.1f} GiB; use ed-memorizer "
                            f"for large m")
        self.delta = number("delta", self.delta, 0, 1, low_open=True, high_open=True)


def prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors + ([n] if n > 1 else [])


def radices(m: int, code_dim: int) -> list[int]:
    """k_1..k_d~ with product m, as even as m's prime factors allow (largest factors placed first)."""
    ks = [1] * code_dim
    for factor in sorted(prime_factors(m), reverse=True):
        smallest = min(range(code_dim), key=ks.__getitem__)
        ks[smallest] *= factor
    return ks


def half_normal_thresholds(k: int) -> torch.Tensor:
    """tau_1..tau_{k-1}: |z| for z ~ N(0, 1) falls in each of the k intervals with probability 1/k."""
    levels = torch.arange(1, k, dtype=torch.float64) / k
    return torch.special.ndtri((1 + levels) / 2)


class EDMemorizer(Memorizer):
    name = "ed-memorizer"
    description = "noise-extracting encoder + hash-partition memorising generator (Arora, Risteski, Zhang 2018)"
    expectation = ("Built to reach a near-optimal encoder-decoder objective: joint (x, z) discriminators barely "
                   "separate it, while its code is white noise (the linear probe sits at chance) and its support "
                   "is m. On 2-D data its noised coordinates are half the item, so its samples are spread out: a "
                   "large birthday support and few high-quality modes there are expected, not bugs.")
    players = ("generator", "encoder")
    Config = EDMemorizerConfig
    noise_positions: torch.Tensor  # (code_dim,) long, a buffer: the item coordinates the code replaces

    def __init__(self, config, spec):
        GanModel.__init__(self, config, spec)
        d = spec.dim
        self.code_dim = config.latent_dim or max(1, d // 64)
        if not 1 <= self.code_dim < d:
            raise UserError(f"{self.name}: the code size d~ = {self.code_dim} must be below the item size d = {d}")
        self.m = config.m
        check_items_memory(self.name, self.m, spec)
        self.support: int | None = None  # distinct memorised items, noised coordinates left out (construct)
        self.radices = radices(config.m, self.code_dim)
        self.places = [math.prod(self.radices[:j]) for j in range(self.code_dim)]
        stride = d // self.code_dim
        self.register_buffer("noise_positions", torch.arange(self.code_dim) * stride, persistent=False)
        self.register_buffer("items", torch.zeros(self.m, *spec.shape))

    @property
    def latent_dim(self) -> int:
        return self.code_dim

    def block_index(self, z: torch.Tensor) -> torch.Tensor:
        index = torch.zeros(len(z), dtype=torch.long, device=z.device)
        for j, (k, place) in enumerate(zip(self.radices, self.places, strict=True)):
            tau = half_normal_thresholds(k).to(z.device, z.dtype)
            index += torch.bucketize(z[:, j].abs(), tau, right=True) * place
        return index

    def sample_latent(self, n, generator):
        return torch.randn(n, self.code_dim, generator=generator)

    def noise(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x (*) z: the noised items of the theorem's data distribution."""
        flat = x.reshape(len(x), -1).clone()
        flat[:, self.noise_positions] = z.to(flat.dtype)
        return flat.view_as(x)

    def generate(self, z):
        return self.noise(self.items[self.block_index(z)], z)

    def encode_real(self, x, seed=0):
        """Real data as the theorem has it: noised with fresh codes, which the encoder then extracts."""
        noised = self.noise(x, torch.randn(len(x), self.code_dim, generator=torch.Generator().manual_seed(seed)))
        return noised, self.encode(noised)

    @torch.no_grad()
    def encode(self, x):
        return x.reshape(len(x), -1)[:, self.noise_positions.to(x.device)].cpu()

    def distinct_support(self) -> int:
        """Items that differ only in the noised coordinates give the same outputs: they count once."""
        keep = torch.ones(self.spec.dim, dtype=torch.bool)
        keep[self.noise_positions.cpu()] = False
        return distinct_rows(self.items.reshape(self.m, -1)[:, keep.to(self.items.device)])

    def facts(self):
        if self.support is None:
            self.support = self.distinct_support()
        return {"support": self.support, "rows": self.m, "code_dim": self.code_dim, "radices": self.radices,
                "noise_positions": self.noise_positions.tolist()}


class ReLUMemorizer(EDMemorizer):
    name = "relu-memorizer"
    description = "ed-memorizer's generator as an explicit Linear+ReLU network with O(m d) weights (Theorem 3)"
    Config = ReLUMemorizerConfig

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.network = self._wire()

    def _wire(self) -> nn.Sequential:
        """The layers, with every weight but the memorised items (set by construct) fixed by the partition."""
        D, m, d = self.code_dim, self.m, self.spec.dim
        thresholds = [(j, tau.item()) for j, k in enumerate(self.radices) for tau in half_normal_thresholds(k)]
        S = len(thresholds)
        sharpness = 2 * 0.3989422804014327 * max(S, 1) / self.config.delta  # 2 phi(0) S / delta
        eye = torch.eye(2 * D)

        def linear(weight, bias=None):
            layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
            layer.weight.data.copy_(weight)
            if bias is not None:
                layer.bias.data.copy_(bias)
            return layer

        def with_pass(rows, bias, width_in):
            """Stack `rows` with an identity that carries [z+, z-] (the last 2D inputs) through the layer."""
            carry = torch.zeros(2 * D, width_in)
            carry[:, width_in - 2 * D:] = eye
            return torch.cat([rows, carry]), torch.cat([bias, torch.zeros(2 * D)])

        # 1. [z+, z-] = ReLU([z, -z]); |z_j| = z+_j + z-_j
        abs_layer = linear(torch.cat([torch.eye(D), -torch.eye(D)]), torch.zeros(2 * D))
        # 2. u = ReLU(A (tau - |z_j|)) per threshold   3. step = ReLU(1 - u): exactly 1 when |z_j| >= tau
        u_rows, u_bias = torch.zeros(S, 2 * D), torch.zeros(S)
        for row, (j, tau) in enumerate(thresholds):
            u_rows[row, j] = u_rows[row, D + j] = -sharpness
            u_bias[row] = sharpness * tau
        gap = linear(*with_pass(u_rows, u_bias, 2 * D))
        step = linear(*with_pass(torch.cat([-torch.eye(S), torch.zeros(S, 2 * D)], 1), torch.ones(S), S + 2 * D))
        # 4. L = sum of steps times their coordinate's place value: the block index
        places = torch.tensor([float(self.places[j]) for j, _ in thresholds]).view(1, S)
        index = linear(*with_pass(torch.cat([places, torch.zeros(1, 2 * D)], 1), torch.zeros(1), S + 2 * D))
        # 5. a_i = ReLU(L - i), b_i = ReLU(i - L)   6. B_i = ReLU(1 - a_i - b_i): one-hot for integer L
        blocks = torch.arange(m, dtype=torch.float32)
        signed = torch.cat([torch.ones(m, 1), -torch.ones(m, 1)])
        distance = linear(*with_pass(torch.cat([signed, torch.zeros(2 * m, 2 * D)], 1),
                                     torch.cat([-blocks, blocks]), 1 + 2 * D))
        one_hot = linear(*with_pass(torch.cat([-torch.eye(m), -torch.eye(m), torch.zeros(m, 2 * D)], 1),
                                    torch.ones(m), 2 * m + 2 * D))
        # 7. fan-out: item coordinates from the one-hot (weights x*_i, set by construct); z_j = z+_j - z-_j
        fan_out = linear(torch.zeros(d, m + 2 * D))
        for j, position in enumerate(self.noise_positions.tolist()):
            fan_out.weight.data[position, m + j], fan_out.weight.data[position, m + D + j] = 1.0, -1.0
        relu = nn.ReLU
        return nn.Sequential(abs_layer, relu(), gap, relu(), step, relu(), index, relu(), distance, relu(),
                             one_hot, relu(), fan_out)

    def construct(self, train, seed):
        super().construct(train, seed)
        items = self.items.reshape(self.m, -1).T.clone()  # (d, m)
        items[self.noise_positions] = 0.0  # those outputs come from z alone
        self.network[-1].weight.data[:, : self.m] = items

    def generate(self, z):
        return self.network(z).view(len(z), *self.spec.shape)

    def nonzero_weights(self) -> int:
        return sum(int((layer.weight != 0).sum()) for layer in self.network if isinstance(layer, nn.Linear))

    def facts(self):
        return {**super().facts(), "nonzero_weights": self.nonzero_weights(), "m_times_d": self.m * self.spec.dim,
                "delta": self.config.delta}


@hookimpl
def register_families(register):
    register(EDMemorizer)
    register(ReLUMemorizer)
