"""Data sets read from local files in their standard formats. Nothing is ever downloaded.

- mnist, fashion-mnist: the IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, and optionally the
  t10k-* pair), gzipped or not. Labels must be 0..9.
- cifar10: the binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin; 1 label byte and 3072
  pixel bytes per record). The pickled "python version" is refused: unpickling files is never safe.
- image-folder: PNG/JPEG files of one size; when they sit in subfolders, the subfolder names are the labels.
  Every image becomes 8-bit RGB (kept as one channel when all are gray): palette images take their palette's
  colours; transparency (an alpha channel, or a palette's or PNG's transparent colour) is composited onto
  black; 16-bit grayscale PNGs are scaled to 8 bits (value / 257, rounded; their transparent colour, if any, is
  ignored), 16-bit colour PNGs keep their high byte (Pillow's reading). Only the PNG and JPEG decoders are ever
  tried. A PNG cut short after its complete pixel data (in its last checksum or end marker) is read as is.

Every reader checks sizes against the bytes actually present before allocating, and turns any damaged,
truncated or foreign file into a one-line UserError naming the file.
"""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource
from gan_zoo.errors import UserError
from gan_zoo.files import open_image

IDX_FILES = "the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte (optionally t10k-* too; .gz or not)"
CIFAR_FILES = "data_batch_1.bin .. data_batch_5.bin and/or test_batch.bin (the CIFAR-10 binary version)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CIFAR_RECORD = 1 + 3 * 32 * 32
MAX_ITEMS = 2**31  # more items than any data set this tool trains on: a header claiming more is damaged
NUM_CLASSES = 10  # MNIST, Fashion-MNIST and CIFAR-10 labels are 0..9
CHUNK = 1 << 20


def _to_unit_range(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0)


def _brief(exc: BaseException, limit: int = 60) -> str:
    """An exception as one short printable line, for a message that names the file."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _find(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_dir():
            raise UserError(f"{candidate}: a folder, but an MNIST-format IDX file belongs here; remove or rename it")
        if candidate.exists():
            return candidate
    return None


def _read_up_to(f, n: int) -> bytes:
    """Up to n bytes, read in chunks: memory grows with the bytes actually present, never with n."""
    parts, size = [], 0
    while size < n:
        part = f.read(min(CHUNK, n - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def read_idx(path: Path, expected_dims: int) -> np.ndarray:
    """An IDX array of unsigned bytes (magic 0x0000080N with N dimensions), gzipped when named *.gz."""
    path = Path(path)
    gz = path.suffix == ".gz"
    fix = "replace it with an intact copy"
    try:
        with (gzip.open if gz else open)(path, "rb") as f:
            magic = _read_up_to(f, 4)
            if magic[:2] == b"\x1f\x8b" and not gz:
                raise UserError(f"{path}: a gzipped file without the .gz suffix; rename it to {path.name}.gz")
            if len(magic) < 4 or magic[:3] != b"\x00\x00\x08" or magic[3] != expected_dims:
                what = "images" if expected_dims == 3 else "labels"
                raise UserError(f"{path}: not an IDX file of unsigned bytes with {expected_dims} dimensions; "
                                f"expected an MNIST-format {what} file")
            header = 4 + 4 * expected_dims
            sizes = _read_up_to(f, 4 * expected_dims)
            if len(sizes) < 4 * expected_dims:
                raise UserError(f"{path}: its IDX header is cut short ({4 + len(sizes)} of {header} bytes); {fix}")
            shape = struct.unpack(f">{expected_dims}I", sizes)
            if shape[0] == 0:
                raise UserError(f"{path}: its header says it holds no items; {fix}")
            if 0 in shape[1:]:
                raise UserError(f"{path}: its header says the items are {'x'.join(map(str, shape[1:]))}; {fix}")
            if shape[0] > MAX_ITEMS:
                raise UserError(f"{path}: its header claims {shape[0]} items (at most {MAX_ITEMS}); {fix}")
            size = math.prod(shape)  # Python ints: no overflow, whatever the header says
            if not gz:  # the bytes present are known before anything is read
                present = path.stat().st_size - header
                if present != size:
                    raise UserError(f"{path}: holds {present} data bytes but its header says {shape} "
                                    f"(truncated?); {fix}")
            data = _read_up_to(f, size + 1)  # one more: a longer file is as wrong as a shorter one
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile is an OSError; truncated: EOFError
        kind = "a damaged or truncated gzip file" if gz and not isinstance(exc, PermissionError) else "unreadable"
        raise UserError(f"{path}: {kind} ({_brief(exc)}); {fix}") from None
    if len(data) != size:
        raise UserError(f"{path}: holds {len(data)}{'+' if len(data) > size else ''} data bytes but its header "
                        f"says {shape} (truncated?); {fix}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def load_idx_folder(root: Path) -> Data:
    root = Path(root)
    images, labels = [], []
    for prefix in ("train", "t10k"):
        image_file = _find(root, f"{prefix}-images-idx3-ubyte")
        label_file = _find(root, f"{prefix}-labels-idx1-ubyte")
        if image_file is None and prefix == "t10k":
            continue
        if image_file is None or label_file is None:
            missing = f"{prefix}-{'images-idx3' if image_file is None else 'labels-idx1'}-ubyte[.gz]"
            raise UserError(f"{root}: no file {missing}; expected the MNIST-format IDX files there "
                            f"(set --data-root DIR)")
        x, y = read_idx(image_file, 3), read_idx(label_file, 1)
        if len(x) != len(y):
            raise UserError(f"{image_file} has {len(x)} images but {label_file} has {len(y)} labels; "
                            f"use the matching pair of files")
        if y.max() >= NUM_CLASSES:
            item = int(np.argmax(y >= NUM_CLASSES))
            raise UserError(f"{label_file}: label {y[item]} at item {item}, but MNIST labels are 0..9; "
                            f"is it a labels file of another data set? Use the MNIST-format labels")
        images.append(x)
        labels.append(y)
    pixels = _to_unit_range(np.concatenate(images)).unsqueeze(1)
    return Data(pixels, torch.from_numpy(np.concatenate(labels).astype(np.int64)))


def _read_cifar_file(path: Path) -> np.ndarray:
    fix = "expected the CIFAR-10 binary version"
    if path.is_dir():
        raise UserError(f"{path}: a folder, but a CIFAR-10 binary batch file belongs here; remove or rename it")
    try:
        size = path.stat().st_size
        if size == 0:
            raise UserError(f"{path}: an empty file; replace it with an intact copy ({fix})")
        if size % CIFAR_RECORD:
            raise UserError(f"{path}: {size} bytes is not a whole number of {CIFAR_RECORD}-byte records "
                            f"(truncated?); {fix}")
        with open(path, "rb") as f:
            raw = _read_up_to(f, size + 1)
    except OSError as exc:
        raise UserError(f"{path}: unreadable ({_brief(exc)}); check the file and its permissions") from None
    if len(raw) != size:  # the file changed while it was read
        raise UserError(f"{path}: read {len(raw)} bytes, but it has {size}; is it being written? {fix}")
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    if table[:, 0].max() >= NUM_CLASSES:
        record = int(np.argmax(table[:, 0] >= NUM_CLASSES))
        raise UserError(f"{path}: label byte {table[record, 0]} in record {record} (labels are 0..9); "
                        f"{fix}, not CIFAR-100 or another file")
    return table


def load_cifar10_binary(root: Path) -> Data:
    root = Path(root)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    files = [root / name for name in names if (root / name).exists()]
    if not files:
        if (root / "data_batch_1").exists():
            raise UserError(f"{root}: found the pickled python version, which is never unpickled; use the CIFAR-10 "
                            f"binary version (data_batch_1.bin ...)")
        raise UserError(f"{root}: no CIFAR-10 binary files; expected {CIFAR_FILES} (set --data-root DIR)")
    table = np.concatenate([_read_cifar_file(path) for path in files])
    x = _to_unit_range(table[:, 1:].reshape(-1, 3, 32, 32))
    return Data(x, torch.from_numpy(table[:, 0].astype(np.int64)))


def _rgb(image, path: Path) -> np.ndarray:
    """8-bit RGB pixels (H, W, 3) of a PIL image, converted as the module docstring says."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit grayscale PNG
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise UserError(f"{path}: pixel values outside 0..65535; save it as an 8- or 16-bit PNG")
        gray = np.rint(values.astype(np.float64) / 257).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("F", "I;32", "I;32B", "I;32L"):
        raise UserError(f"{path}: {image.mode} pixels (floating-point or 32-bit); save it as an 8-bit PNG or JPEG")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def load_image_folder(root: Path) -> Data:
    from PIL import UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder; expected a folder of PNG/JPEG images (set --data-root DIR)")
    try:
        files = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as exc:
        raise UserError(f"{root}: cannot list the folder ({_brief(exc)}); check its permissions") from None
    paths = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not paths:
        found = f" (found {len(files)} other files, e.g. {files[0].name[:40]!r})" if files else " (it is empty)"
        raise UserError(f"{root}: no .png, .jpg or .jpeg files{found}; expected a folder of images")
    class_names = sorted({p.parent.relative_to(root).as_posix() for p in paths})
    labelled = class_names != ["."]
    if labelled and "." in class_names:
        raise UserError(f"{root}: images both in the folder itself and in subfolders (labels); put every image "
                        f"in a subfolder named by its label, or none")
    images: list[np.ndarray] = []
    first_size = None
    for path in paths:
        try:
            with open_image(path) as image:  # PNG and JPEG only: no other decoder is ever tried
                width, height = image.size
                if first_size is not None and image.size != first_size:
                    raise UserError(f"{path}: {width}x{height} pixels, but {paths[0]} is {first_size[0]}x"
                                    f"{first_size[1]}; resize the images to one size")
                image.load()  # decoding happens here: a truncated or corrupt file fails inside this try
                pixels = _rgb(image, path)
        except UserError:
            raise
        except UnidentifiedImageError:
            raise UserError(f"{path}: not a readable PNG or JPEG image (another format, or damaged); convert, "
                            f"replace or remove it") from None
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ... on damaged files
            raise UserError(f"{path}: not a readable PNG or JPEG image ({_brief(exc, 50)}); replace or remove "
                            f"it") from None
        first_size = first_size or (width, height)
        if pixels.shape != (height, width, 3):
            raise UserError(f"{path}: decoded to {pixels.shape} pixels instead of {height}x{width}x3; "
                            f"replace or remove it")
        images.append(pixels)
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
