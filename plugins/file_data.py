"""Data sets read from local files in their standard formats. Nothing is ever downloaded.

- mnist, fashion-mnist: the IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, and optionally the
  t10k-* pair), gzipped or not.
- cifar10: the binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin; 1 label byte and 3072
  pixel bytes per record). The pickled "python version" is refused: unpickling files is never safe.
- image-folder: PNG/JPEG files of one size; when they sit in subfolders, the subfolder names are the labels.
"""

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource
from gan_zoo.errors import UserError

IDX_FILES = "the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte (optionally t10k-* too; .gz or not)"
CIFAR_FILES = "data_batch_1.bin .. data_batch_5.bin and/or test_batch.bin (the CIFAR-10 binary version)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CIFAR_RECORD = 1 + 3 * 32 * 32


def _to_unit_range(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0)


def _find(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path, expected_dims: int) -> np.ndarray:
    """An IDX array of unsigned bytes (magic 0x0000080N with N dimensions)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read ({exc}); expected an IDX file, gzipped or not") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != expected_dims:
        raise UserError(f"{path}: not an IDX file of unsigned bytes with {expected_dims} dimensions; "
                        f"expected the standard MNIST format ({IDX_FILES})")
    header = 4 + 4 * expected_dims
    shape = struct.unpack(f">{expected_dims}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise UserError(f"{path}: holds {len(raw) - header} data bytes but its header says {shape} "
                        f"(truncated?); expected the standard MNIST IDX format")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx_folder(root: Path) -> Data:
    images, labels = [], []
    for prefix in ("train", "t10k"):
        image_file = _find(root, f"{prefix}-images-idx3-ubyte")
        label_file = _find(root, f"{prefix}-labels-idx1-ubyte")
        if image_file is None and prefix == "t10k":
            continue
        if image_file is None or label_file is None:
            missing = f"{prefix}-{'images-idx3' if image_file is None else 'labels-idx1'}-ubyte[.gz]"
            raise UserError(f"{root}: no file {missing}; expected {IDX_FILES} (set --data-root DIR)")
        x, y = read_idx(image_file, 3), read_idx(label_file, 1)
        if len(x) != len(y):
            raise UserError(f"{image_file} has {len(x)} images but {label_file} has {len(y)} labels")
        images.append(x)
        labels.append(y)
    x = _to_unit_range(np.concatenate(images)).unsqueeze(1)
    return Data(x, torch.from_numpy(np.concatenate(labels).astype(np.int64)))


def load_cifar10_binary(root: Path) -> Data:
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    files = [root / name for name in names if (root / name).is_file()]
    if not files:
        pickled = (root / "data_batch_1").exists()
        hint = " (found the pickled python version, which is never unpickled)" if pickled else ""
        raise UserError(f"{root}: no CIFAR-10 binary files{hint}; expected {CIFAR_FILES} (set --data-root DIR)")
    records = []
    for path in files:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % CIFAR_RECORD:
            raise UserError(f"{path}: {raw.size} bytes is not a whole number of {CIFAR_RECORD}-byte records; "
                            f"expected the CIFAR-10 binary version")
        records.append(raw.reshape(-1, CIFAR_RECORD))
    table = np.concatenate(records)
    if table[:, 0].max() > 9:
        raise UserError(f"{root}: a label byte above 9; expected the CIFAR-10 binary version")
    x = _to_unit_range(table[:, 1:].reshape(-1, 3, 32, 32))
    return Data(x, torch.from_numpy(table[:, 0].astype(np.int64)))


def load_image_folder(root: Path) -> Data:
    from PIL import Image, UnidentifiedImageError

    if not root.is_dir():
        raise UserError(f"{root}: no such folder; expected a folder of PNG/JPEG images (set --data-root DIR)")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserError(f"{root}: no .png, .jpg or .jpeg files; expected a folder of images")
    class_names = sorted({p.parent.relative_to(root).as_posix() for p in paths})
    labelled = class_names != ["."]
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("RGB")))
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"{path}: not a readable PNG or JPEG image ({exc})") from None
        if images[-1].shape != images[0].shape:
            raise UserError(f"{path}: {images[-1].shape[1]}x{images[-1].shape[0]} pixels, but {paths[0]} is "
                            f"{images[0].shape[1]}x{images[0].shape[0]}; resize the images to one size")
    pixels = np.stack(images).transpose(0, 3, 1, 2)
    if all((pixels[:, 0] == pixels[:, c]).all() for c in (1, 2)):
        pixels = pixels[:, :1]  # grayscale images stay one channel
    labels = None
    if labelled:
        index = {name: i for i, name in enumerate(class_names)}
        labels = torch.tensor([index[p.parent.relative_to(root).as_posix()] for p in paths])
    return Data(_to_unit_range(np.ascontiguousarray(pixels)), labels)


@hookimpl
def register_datasets(register):
    register(DatasetSource("mnist", "MNIST from local IDX files", load_idx_folder, latent_dim=64,
                           files=IDX_FILES))
    register(DatasetSource("fashion-mnist", "Fashion-MNIST from local IDX files", load_idx_folder,
                           latent_dim=64, files=IDX_FILES))
    register(DatasetSource("cifar10", "CIFAR-10 from its local binary version", load_cifar10_binary,
                           latent_dim=128, files=CIFAR_FILES))
    register(DatasetSource("image-folder", "PNG/JPEG images of one size from a folder; subfolders are labels",
                           load_image_folder, latent_dim=64, files="*.png, *.jpg, *.jpeg (subfolders: labels)"))
