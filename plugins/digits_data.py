"""The 8x8 handwritten digits that ship inside scikit-learn, and their stacked three-channel version."""

import torch

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource

N_STACKED = 30_000  # ~30 items per mode of the 1000


def load_digits() -> Data:
    """1797 real images, (1, 8, 8) in [-1, 1], labels 0-9."""
    from sklearn.datasets import load_digits as sklearn_digits  # imported late: sklearn is slow to import

    bunch = sklearn_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0  # pixel values are 0..16
    return Data(x, torch.tensor(bunch.target, dtype=torch.int64))


def load_stacked_digits(n: int = N_STACKED, seed: int = 0) -> Data:
    """Three random digits as the three channels: 1000 modes, labelled 100*a + 10*b + c (Stacked MNIST).

    The same real digit images appear in many stacks, so train and held-out stacks share digits, though
    never the same triple of images in the same order unless drawn twice by chance.
    """
    digits = load_digits()
    pick = torch.randint(len(digits), (n, 3), generator=torch.Generator().manual_seed(seed))
    x = digits.x[pick].squeeze(2)  # (n, 3, 8, 8)
    assert digits.labels is not None  # load_digits labels every image
    a, b, c = digits.labels[pick].unbind(1)
    return Data(x, 100 * a + 10 * b + c)


@hookimpl
def register_datasets(register):
    register(DatasetSource("digits", "8x8 handwritten digits from scikit-learn: 1797 images, 10 labels",
                           lambda root: load_digits(), latent_dim=16))
    register(DatasetSource("stacked-digits", "three 8x8 digits as RGB channels: 1000 known modes",
                           lambda root: load_stacked_digits(), latent_dim=32))
