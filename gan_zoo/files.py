"""Writing results safely, and recording what produced them."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gan_zoo.errors import UserError


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()  # what open() would give; mkstemp's 0600 would hide results from other users
# Every temporary file gan-zoo writes is named .NAME.<random>.gan-zoo-partial: cleanup after a killed run removes
# only those, never a user's own .*.tmp files.
TEMPORARY_SUFFIX = ".gan-zoo-partial"
TEMPORARY_GLOB = f".*{TEMPORARY_SUFFIX}"
MAX_IMAGE_PIXELS = 2**24  # 4096 x 4096: larger images are refused from their header, before they are decoded


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def refuse_overwriting_inputs(outputs: Iterable[tuple[str, Path | None]], inputs: Iterable[Path | None]) -> None:
    """Raise UserError when an output (named by what sets it) is an input, or lies inside an input folder.

    Paths are compared after resolving links (hard links too, by inode), so no spelling of a path lets a command
    write over what it reads; no --force overrides this.
    """
    sources = [(Path(p), Path(p).resolve()) for p in inputs if p is not None and Path(p).exists()]
    for label, output in outputs:
        if output is None:
            continue
        target = Path(output).resolve()
        for given, source in sources:
            same = target == source or (target.exists() and os.path.samefile(target, source))
            if same or (source.is_dir() and source in target.parents):
                where, what = ("is", "over") if same else ("is inside", "into")
                name = "" if str(given) == str(output) else f" {given},"  # the input by another spelling
                raise UserError(f"{label} {output} {where}{name} an input of this command; inputs are never "
                                f"written {what}: choose another path")


@contextmanager
def open_image(path: Path, formats=("PNG", "JPEG")):
    """Image.open, refusing images over MAX_IMAGE_PIXELS from the header alone (a decompression bomb decodes a
    few kilobytes into gigabytes) with its own message."""
    from PIL import Image

    fix = "resize the images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=list(formats))
        except Image.DecompressionBombError:
            bomb = 2 * Image.MAX_IMAGE_PIXELS  # type: ignore[operator]  # never None here: PIL raises only when set
            raise UserError(f"{path}: its header declares over {bomb} pixels (a decompression "
                            f"bomb?), at most {MAX_IMAGE_PIXELS} are read; {fix}") from None
    with image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS or not width or not height:
            raise UserError(f"{path}: {width}x{height} pixels (at most {MAX_IMAGE_PIXELS} pixels); {fix}")
        yield image


def versions() -> dict:
    """The versions a result was produced with."""
    found: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("gan-zoo", "torch", "numpy", "safetensors", "pluggy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found
