"""An example feature space: `random-projection`, a fixed Gaussian random projection of the flattened items.

By Johnson and Lindenstrauss, a random linear map to k dimensions keeps the distances between n items within a
factor 1 +- eps once k is of order log(n) / eps^2, whatever the items are. So it is a space that needs no
training, no weights and no download, in which the distance-based metrics (prdc, kid, mifid, ct, authpct, vendi,
birthday, nearest_train) measure large items at the cost of small ones: `-o prdc.features=random-projection`,
with its size and seed set by `-o features.random-projection.dim=32` or a suite's [eval.features.random-projection]
table. The matrix depends only on (item size, dim, seed): evaluations with the same settings share one space.
"""

from dataclasses import dataclass

import torch

from gan_zoo import Extractor, FeatureSpace, UserError, whole


@dataclass
class RandomProjectionConfig:
    dim: int = 64  # features per item
    seed: int = 0  # the projection's seed: the same seed gives the same matrix

    def __post_init__(self):
        self.dim = whole("dim", self.dim, 1, 65536)
        self.seed = whole("seed", self.seed, 0, 2**63 - 1)


class Projection(Extractor):
    """The flattened items times the fixed matrix, on the CPU: one small matrix product, and where features go."""

    def __init__(self, matrix: torch.Tensor, seed: int):
        super().__init__("random-projection", matrix.shape[1], {"dim": matrix.shape[1], "seed": seed})
        self.matrix = matrix

    def features(self, items):
        return items.flatten(1).float().cpu() @ self.matrix


class RandomProjection(FeatureSpace):
    name = "random-projection"
    description = "a fixed, seeded Gaussian random projection of the flattened items (no weights, any data)"
    Config = RandomProjectionConfig

    def load(self, data, option, config, device):
        if option:
            raise UserError(f"feature space random-projection:{option}: it takes no option; set its size with "
                            "features.random-projection.dim=N")
        generator = torch.Generator().manual_seed(config.seed)
        # entries N(0, 1/dim): squared distances are kept in expectation
        matrix = torch.randn(data.spec.dim, config.dim, generator=generator) / config.dim**0.5
        return Projection(matrix, config.seed)
