"""Turning what a user has into a sample source (gan_zoo.sources): the harness judges any generator.

`open_source(thing, data, registry, ...)` accepts:
- a gan-zoo checkpoint (`model.safetensors`) or a constructed family's name (built on the fly from `data`);
- a folder of PNG/JPEG images (searched recursively, in sorted path order);
- an array file: `.npy`, or `.npz` holding one array (or one named samples, x, images or arr_0), never unpickled;
- a samples `.safetensors` as `gan-zoo sample` writes it (the tensor `samples`, or its only tensor);
- a Python callable `path/to/file.py:function` or `package.module:function`, called as function(n, seed) and
  returning n items (a tensor, or anything numpy.asarray takes); or a torch.nn.Module there with a
  `sample(n, seed)` method, or with `latent_dim` and `forward(z)` (z ~ N(0, I) drawn from the seed). The seed is
  the evaluation's, or one gan_zoo.seeds derived from it: any whole number below 2^63, so seed with
  torch.Generator().manual_seed(seed) or numpy.random.default_rng(seed) (numpy.random.seed takes 32 bits only);
- in Python: a tensor or array of items, a function, a module, a GanModel, or a SampleSource.

Items are brought to the data set's layout and range by one documented rule (`conform`): images may come as
N,C,H,W or N,H,W,C (or N,H,W for one channel), uint8 0..255 or float; a float range is detected as [-1, 1] when
any value is negative, else [0, 1] when all lie in [0, 1], else 0..255 when all lie there (`image_range` forces
one); everything is scaled to [-1, 1]. A size or channel mismatch with the data set is refused, naming both
shapes, unless `resize` is on: then images are resized by antialiased bilinear interpolation and channels
converted (gray to RGB by repetition, RGB to gray by ITU-R 601 luma, alpha dropped), as the record states. An
RGB image whose three channels are equal is gray; it is taken as one channel without loss and without resize.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
import torch.nn.functional as F

from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel
from gan_zoo.files import open_image
from gan_zoo.sources import CallableSource, ModelSource, SampleSource, TensorSource, check_finite

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CONFORMING = "a value range and resizing apply to images read from folders, files or callables"
RANGES = {"auto": None, "0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0), "0,255": (0.0, 255.0)}
ARRAY_KEYS = ("samples", "x", "images", "arr_0")


# -- the conforming rule -----------------------------------------------------------------------------------------

class Conformer:
    """Brings raw arrays to the data set's layout and range; the range rule is fixed by the first batch seen."""

    def __init__(self, spec, what: str, image_range: str = "auto", resize: bool = False):
        if image_range not in RANGES:
            raise UserError(f"image range {image_range!r}: use one of {', '.join(RANGES)}")
        if not spec.is_image and (RANGES[image_range] is not None or resize):
            raise UserError(f"{what}: the data set holds vectors; {CONFORMING}")
        self.spec, self.what, self.resize = spec, what, resize
        self.range = RANGES[image_range]
        self.range_rule = None if self.range is None else f"given: [{image_range}]"
        self.notes: list[str] = []

    def __call__(self, raw) -> torch.Tensor:
        array = _as_array(raw, self.what)
        if array.dtype != np.uint8 and len(array):
            check_finite(torch.from_numpy(array.reshape(len(array), -1)), self.what)
        if not self.spec.is_image:
            return self._vectors(array)
        return self._images(array)

    def _vectors(self, array: np.ndarray) -> torch.Tensor:
        items = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        d = self.spec.dim
        if items.dim() < 2 or math.prod(items.shape[1:]) != d:
            raise UserError(f"{self.what}: items of shape {tuple(items.shape[1:])}, but the data set's items are "
                            f"vectors of {d}; give an array of shape (N, {d})")
        return items.reshape(len(items), *self.spec.shape)

    def _images(self, array: np.ndarray) -> torch.Tensor:
        channels, height, width = self.spec.shape
        if array.ndim == 3:  # N,H,W: one channel
            array = array[:, None]
        if array.ndim == 2 and array.shape[1] == channels * height * width:
            array = array.reshape(len(array), channels, height, width)
        if array.ndim != 4:
            raise UserError(f"{self.what}: an array of shape {array.shape} is not a set of images; the data set's "
                            f"images are {channels}x{height}x{width} (N,C,H,W or N,H,W,C)")
        if array.shape[1:] != (channels, height, width) and (array.shape[3] in (1, 3, 4) or
                                                              array.shape[1:3] == (height, width)):
            if array.shape[1] not in (1, 3, 4) or array.shape[1:] == (height, width, channels):
                array = array.transpose(0, 3, 1, 2)  # N,H,W,C -> N,C,H,W
        x = torch.from_numpy(np.ascontiguousarray(array)).float()
        x = self._scale(x, array.dtype)
        if x.shape[1] == 4:
            x = x[:, :3]
            self._note("alpha channel dropped")
        if x.shape[1] == 3 and channels == 1 and bool((x[:, 0] == x[:, 1]).all() and (x[:, 0] == x[:, 2]).all()):
            x = x[:, :1]
            self._note("gray images stored as RGB taken as one channel")
        if tuple(x.shape[1:]) != self.spec.shape:
            if not self.resize:
                raise UserError(f"{self.what}: images of shape {tuple(x.shape[1:])} (C,H,W), but the data set's are "
                                f"{self.spec.shape}; give images of that shape, or opt into resizing (--resize)")
            x = self._resized(x)
        return x

    def _scale(self, x: torch.Tensor, dtype) -> torch.Tensor:
        if self.range is None:
            low, high = (x.min().item(), x.max().item()) if x.numel() else (0.0, 0.0)
            if dtype == np.uint8:
                self.range, self.range_rule = (0.0, 255.0), "uint8: 0..255"
            elif low >= -1 and high <= 1:
                self.range = (-1.0, 1.0) if low < 0 else (0.0, 1.0)
                self.range_rule = f"detected [{self.range[0]:g}, {self.range[1]:g}] from values in [{low:.3g}, " \
                                  f"{high:.3g}]"
            elif low >= 0 and high <= 255:
                self.range, self.range_rule = (0.0, 255.0), f"detected 0..255 from values in [{low:.3g}, {high:.3g}]"
            else:
                raise UserError(f"{self.what}: values span [{low:.4g}, {high:.4g}], which is no image range; images "
                                f"are uint8 0..255 or float in [0, 1] or [-1, 1] (--range forces one)")
        low, high = self.range
        if x.numel() and (x.min().item() < low - 1e-6 or x.max().item() > high + 1e-6):
            raise UserError(f"{self.what}: values outside [{low:g}, {high:g}] ({self.range_rule}); every batch must "
                            f"use one range")
        return (x - low) / (high - low) * 2 - 1

    def _resized(self, x: torch.Tensor) -> torch.Tensor:
        channels, height, width = self.spec.shape
        if x.shape[1] != channels:
            self._note(f"channels converted {x.shape[1]}->{channels}")
            if x.shape[1] == 1:
                x = x.expand(-1, channels, -1, -1)
            elif x.shape[1] == 3 and channels == 1:
                x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
            else:
                raise UserError(f"{self.what}: cannot convert {x.shape[1]} channels to {channels}")
        if x.shape[2:] != (height, width):
            self._note(f"resized {x.shape[2]}x{x.shape[3]} -> {height}x{width} (bilinear, antialiased)")
            x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
        return x.clamp(-1, 1).contiguous()

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def describe(self) -> dict:
        return {"range_rule": self.range_rule, "conversions": self.notes}


def _as_array(raw, what: str) -> np.ndarray:
    """Real numbers only: booleans and complex numbers would be judged as something they are not (True as 1.0, a
    complex value as its real part), so they are refused in every container, as is a single number."""
    if torch.is_tensor(raw):
        raw = raw.detach().cpu()
        if raw.dtype == torch.bool or raw.is_complex():
            _refuse_kind(what, "booleans" if raw.dtype == torch.bool else "complex numbers")
        array = raw.numpy() if raw.dtype == torch.uint8 else raw.float().numpy()
    else:
        try:
            array = np.asarray(raw)
        except Exception as exc:
            raise UserError(f"{what}: not an array of items ({type(exc).__name__}: {exc})") from None
        if array.dtype == bool or np.issubdtype(array.dtype, np.complexfloating):
            _refuse_kind(what, "booleans" if array.dtype == bool else "complex numbers")
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            raise UserError(f"{what}: an array of {array.dtype} is not numbers; give numeric items")
    if array.ndim == 0:
        raise UserError(f"{what}: a single number (a 0-d array), not a set of items; give an array of shape (N, ...)")
    return array if array.dtype == np.uint8 else array.astype(np.float32)


def _refuse_kind(what: str, kind: str) -> NoReturn:
    raise UserError(f"{what}: an array of {kind}, which cannot be judged as samples; give real-valued items "
                    f"(uint8 or float)")


# -- files ---------------------------------------------------------------------------------------------------

def sha256_of(paths: list[Path], root: Path | None = None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if root is not None:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _check_npy_header(stream, size: int, where: str) -> None:
    """An .npy header's shape times its item size must match the bytes that follow it, checked before np.load
    allocates: a 144-byte file may declare terabytes."""
    try:
        version = np.lib.format.read_magic(stream)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(stream)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise UserError(f"{where}: not a readable .npy array ({type(exc).__name__}: {str(exc)[:60]})") from None
    if dtype.hasobject:
        return  # np.load refuses it as pickled, with its own message
    declared = math.prod(shape) * dtype.itemsize
    present = size - stream.tell()
    if declared != present:
        raise UserError(f"{where}: its header declares {shape} {dtype} ({declared} bytes) over {present} bytes; "
                        f"damaged or cut short, save it again")


def read_array_file(path: Path) -> np.ndarray:
    try:
        if path.suffix == ".npy":
            with open(path, "rb") as stream:
                _check_npy_header(stream, path.stat().st_size, str(path))
        else:
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if member.filename.endswith(".npy"):
                        with archive.open(member) as stream:
                            _check_npy_header(stream, member.file_size, f"{path} (array {member.filename[:-4]!r})")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise UserError(f"{path}: not a readable .npy/.npz file ({type(exc).__name__}: {exc})") from None
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UserError(f"{path}: holds Python objects, which are never unpickled; save a numeric array "
                            f"(np.save of a float or uint8 array)") from None
        raise UserError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: not a readable .npy/.npz file ({type(exc).__name__}: {exc})") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        keys = list(loaded.files)
        key = keys[0] if len(keys) == 1 else next((k for k in ARRAY_KEYS if k in keys), None)
        if key is None:
            raise UserError(f"{path}: holds arrays {', '.join(keys) or '(none)'}; keep one, or name it samples")
        try:
            return loaded[key]
        except ValueError:
            raise UserError(f"{path}: array {key!r} holds Python objects, which are never unpickled; save a "
                            f"numeric array") from None
        except Exception as exc:
            raise UserError(f"{path}: array {key!r} is unreadable ({type(exc).__name__}: {exc})") from None


def image_paths(root: Path) -> list[Path]:
    """The PNG/JPEG files under root, recursively, in sorted relative-path order."""
    paths = sorted((p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                   key=lambda p: p.relative_to(root).as_posix())
    if not paths:
        raise UserError(f"{root}: no .png, .jpg or .jpeg files in this folder or below; give a folder of images")
    return paths


PROGRESS_SECONDS = 2.0  # how often a long read reports how far it got


def read_image_folder(root: Path, report: Callable[[str], None] | None = None) -> tuple[np.ndarray, list[Path]]:
    """Every PNG/JPEG under root (recursively, sorted by path) as uint8 N,H,W,C; one size, one channel count.
    Read into one array allocated from the first image (50 000 32x32 colour images: 150 MB, never twice); report,
    if given, hears how far the read got every PROGRESS_SECONDS and at the end."""
    paths = image_paths(root)
    first = _read_image(paths[0])
    stacked = np.empty((len(paths), *first.shape), dtype=np.uint8)
    stacked[0] = first
    last_report = time.monotonic()
    for index, path in enumerate(paths[1:], start=1):
        image = _read_image(path)
        if image.shape != first.shape:
            raise UserError(f"{path}: {image.shape[1]}x{image.shape[0]}{'' if image.ndim == 2 else ' RGB'} pixels, "
                            f"but {paths[0]} is {first.shape[1]}x{first.shape[0]}{'' if first.ndim == 2 else ' RGB'}; "
                            f"give images of one size and kind")
        stacked[index] = image
        if report is not None and time.monotonic() - last_report >= PROGRESS_SECONDS:
            report(f"reading {root}: {index + 1}/{len(paths)} images")
            last_report = time.monotonic()
    if report is not None:
        report(f"reading {root}: {len(paths)}/{len(paths)} images")
    return (stacked[..., None] if stacked.ndim == 3 else stacked), paths


def _read_image(path: Path) -> np.ndarray:
    """One PNG/JPEG as uint8 H,W (grey) or H,W,3."""
    from PIL import UnidentifiedImageError

    try:
        with open_image(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I", "F"):
                raise UserError(f"{path}: a {image.mode} (16-bit or float) image; save 8-bit PNG/JPEG images")
            mode = "L" if image.mode in ("L", "1", "LA") else "RGB"
            return np.asarray(image.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: not a readable PNG or JPEG image ({type(exc).__name__})") from None


def _safetensors_kind(path: Path) -> str:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:
        raise UserError(f"{path}: not a readable safetensors file (truncated, or another format); give a "
                        f"checkpoint or a samples file written by gan-zoo") from None
    return "checkpoint" if meta.get("format", "").startswith("gan-zoo-checkpoint") else "samples"


def read_samples_file(path: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception:
        raise UserError(f"{path}: not a readable safetensors file") from None
    if "samples" in tensors:
        return tensors["samples"]
    if len(tensors) == 1:
        return next(iter(tensors.values()))
    raise UserError(f"{path}: holds tensors {', '.join(sorted(tensors))}; name the samples tensor `samples`")


# -- callables -----------------------------------------------------------------------------------------------

def load_attribute(reference: str):
    """`path/to/file.py:name` or `package.module:name` -> the object."""
    target, _, attribute = reference.rpartition(":")
    if not target or not attribute.isidentifier():
        raise UserError(f"{reference}: name a callable as path/to/file.py:function or package.module:function")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise UserError(f"{reference}: no such file {path}")
        name = "gan_zoo_source_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        folder = str(path.resolve().parent)
        if folder not in sys.path:  # its siblings import as they would when it runs as a script
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None  # a .py file always gets a source loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:
            sys.modules.pop(name, None)
            raise _exited_at_import(reference, target, exc) from None
        except Exception as exc:
            sys.modules.pop(name, None)
            raise UserError(f"{reference}: importing {path} raised {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(target)
        except SystemExit as exc:
            raise _exited_at_import(reference, target, exc) from None
        except Exception as exc:
            raise UserError(f"{reference}: cannot import {target} ({type(exc).__name__}: {exc})") from None
    if not hasattr(module, attribute):
        raise UserError(f"{reference}: {target} has no attribute {attribute!r}")
    return getattr(module, attribute)


def _exited_at_import(reference: str, target: str, exc: SystemExit) -> UserError:
    return UserError(f"{reference}: importing {target} called sys.exit({exc.code!r}); run its script code only "
                     f"under if __name__ == '__main__'")


def _source_hash(obj) -> str | None:
    """A checksum of the code a callable comes from, so that a suite notices when it changes."""
    try:
        return hashlib.sha256(Path(inspect.getfile(obj)).read_bytes()).hexdigest()
    except (TypeError, OSError):
        return None


def callable_source(obj, name: str, data: LoadedDataset, image_range: str, resize: bool,
                    details: dict | None = None) -> CallableSource:
    """A function draw(n, seed), or a module with sample(n, seed) or latent_dim + forward(z), as a source."""
    if isinstance(obj, type):
        raise UserError(f"{name}: is a class; give a function, or an nn.Module instance")
    if isinstance(obj, torch.nn.Module):
        module = obj
        if callable(sample := getattr(module, "sample", None)):
            function, how = sample, "module.sample(n, seed)"
        elif isinstance(latent_dim := getattr(module, "latent_dim", None), int) and latent_dim > 0:
            def function(n, seed):
                z = torch.randn(n, module.latent_dim, generator=torch.Generator().manual_seed(seed))
                return module(z.to(next(module.parameters(), torch.empty(0)).device))
            how = f"forward(z), z ~ N(0, I) of {module.latent_dim} from the seed"
        else:
            raise UserError(f"{name}: an nn.Module needs a sample(n, seed) method, or an int latent_dim and "
                            f"forward(z)")
        module.eval()
    elif callable(obj):
        function, how = obj, "function(n, seed)"
    else:
        raise UserError(f"{name}: is a {type(obj).__name__}, not a callable")
    conform = Conformer(data.spec, name, image_range, resize)
    first_shape: list[tuple[int, ...]] = []  # the first call's item shape, once made

    def draw(n, seed):
        try:
            with torch.no_grad():
                raw = function(n, seed)
        except UserError:
            raise
        except SystemExit as exc:  # a script's habit, not the end of the evaluation
            raise UserError(f"{name}({n}, {seed}) called sys.exit({exc.code!r}); return the samples "
                            f"instead") from None
        except Exception as exc:
            raise UserError(f"{name}({n}, {seed}) raised {type(exc).__name__}: {exc}") from None
        shape = tuple(np.shape(raw.detach().cpu() if torch.is_tensor(raw) else raw))
        if not shape or shape[0] != n:
            raise UserError(f"{name}({n}, {seed}) returned shape {shape}; return {n} items (first axis n)")
        if first_shape and shape[1:] != first_shape[0]:
            raise UserError(f"{name}: returned items of shape {first_shape[0]}, then {shape[1:]}; every call must "
                            f"give items of one shape")
        first_shape[:1] = [shape[1:]]
        return conform(raw)

    return ConformedCallable(draw, name, data.spec.shape, conform,
                             kind="module" if isinstance(obj, torch.nn.Module) else "callable",
                             details={"called_as": how, **(details or {})})


class ConformedCallable(CallableSource):
    """A user's callable: its record says how its items were conformed (fixed by its first call)."""

    def __init__(self, draw, name, shape, conformer: Conformer, **kwargs):
        super().__init__(draw, name, shape, **kwargs)
        self.conformer = conformer

    def describe(self):
        return {**super().describe(), **self.conformer.describe()}


# -- the entry point -----------------------------------------------------------------------------------------

def open_source(thing, data: LoadedDataset, registry, *, device: torch.device, seed: int = 0,
                config=None, image_range: str = "auto", resize: bool = False,
                report: Callable[[str], None] | None = None) -> SampleSource:
    """A sample source from what the user named or handed over (see the module docstring). report, if given,
    hears how far reading a folder of images got.

    `config` is a constructed family's config (from --set). A checkpoint is not opened here: load it with
    gan_zoo.checkpoint.load_model and pass the model (gan_zoo.harness.api.resolve does, for gan_zoo.evaluate).
    """
    if isinstance(thing, SampleSource):
        return thing
    if isinstance(thing, GanModel):
        refuse_conforming("a model", image_range, resize)
        return ModelSource(thing.to(device), kind="model")
    if torch.is_tensor(thing) or isinstance(thing, np.ndarray):
        conform = Conformer(data.spec, "the given items", image_range, resize)
        return _finite(conform(thing), "array in memory", "tensor", conform, {})
    if callable(thing) and not isinstance(thing, str | Path):
        name = getattr(thing, "__qualname__", None) or type(thing).__name__
        return callable_source(thing, name, data, image_range, resize, {"code_sha256": _source_hash(thing)})
    text = str(thing)
    path = Path(text)
    if path.is_dir():
        pixels, paths = read_image_folder(path, report)
        conform = Conformer(data.spec, str(path), image_range, resize)
        return _finite(conform(pixels.transpose(0, 3, 1, 2)), str(path), "folder", conform,
                       {"path": str(path), "sha256": sha256_of(paths, path), "files": len(paths)})
    if path.suffix in (".npy", ".npz") and path.is_file():
        conform = Conformer(data.spec, str(path), image_range, resize)
        return _finite(conform(read_array_file(path)), str(path), "array", conform,
                       {"path": str(path), "sha256": sha256_of([path])})
    if path.suffix == ".safetensors" and path.is_file():
        if _safetensors_kind(path) == "checkpoint":
            raise UserError(f"{path}: a gan-zoo checkpoint, judged as its model: pass the path to gan_zoo.evaluate, "
                            f"or the model gan_zoo.checkpoint.load_model(read_checkpoint(path), registry) returns")
        conform = Conformer(data.spec, str(path), image_range, resize)
        return _finite(conform(read_samples_file(path)), str(path), "samples", conform,
                       {"path": str(path), "sha256": sha256_of([path])})
    if ":" in text and not path.exists():
        obj = load_attribute(text)
        file = text.rpartition(":")[0]
        details = {"reference": text, "code_sha256": sha256_of([Path(file)]) if file.endswith(".py")
                   else _source_hash(obj)}
        return callable_source(obj, text, data, image_range, resize, details)
    if text in registry.families:
        from gan_zoo.training import construct

        family = registry.family(text)
        refuse_conforming(f"{text} (a family)", image_range, resize)
        if family.kind != "constructed":
            raise UserError(f"{text} is a trained family: train it first (gan-zoo train {text} --dataset NAME) and "
                            f"evaluate its checkpoint")
        model = construct(family, config or family.Config(), data, seed, device)
        return ModelSource(model, kind="family")
    if path.exists():
        raise UserError(f"{path}: not a source gan-zoo reads; give a folder of images, a .npy/.npz/.safetensors file, "
                        f"a checkpoint, a callable (file.py:function) or a family name")
    refuse_missing(text)
    registry.family(text)  # an unknown name: its error suggests near family names
    raise AssertionError("unreachable")


def refuse_missing(thing) -> None:
    """A path that names nothing is refused as such, before anything else is asked of it (a data set, say)."""
    text = str(thing)
    target, _, attribute = text.rpartition(":")
    if Path(text).exists():
        return
    if ":" in text and attribute.isidentifier():
        if target.endswith(".py") and not Path(target).is_file():
            raise UserError(f"{text}: no such file {target}")
    elif Path(text).suffix or "/" in text:
        raise UserError(f"{text}: no such file or folder")


def refuse_conforming(what: str, image_range: str, resize: bool) -> None:
    """A model draws in its data set's own layout and range: a value range or resizing would be silently ignored."""
    if RANGES.get(image_range) is not None or resize:
        raise UserError(f"{what} draws its own items: {CONFORMING}")


def _finite(items: torch.Tensor, name: str, kind: str, conform: Conformer, details: dict) -> TensorSource:
    if len(items) == 0:
        raise UserError(f"{name}: holds no items")
    return TensorSource(items, name, kind, {**details, **conform.describe()})


def fingerprint_reference(reference: str, base: Path) -> tuple[str, str]:
    """(the reference made absolute, a SHA-256 of what it names): a file, a folder, or a callable's code file.

    Relative paths are read from `base` (a suite file's folder). A callable's checksum covers its file only.
    """
    path = Path(reference)
    target, _, attribute = reference.rpartition(":")
    if ":" in reference and not path.exists() and attribute.isidentifier():
        if target.endswith(".py"):
            file = Path(target) if Path(target).is_absolute() else base / target
            if not file.is_file():
                raise UserError(f"{reference}: no such file {file}")
            return f"{file.resolve()}:{attribute}", sha256_of([file])
        try:
            spec = importlib.util.find_spec(target)
        except (ImportError, ValueError) as exc:
            raise UserError(f"{reference}: cannot find module {target} ({exc})") from None
        if spec is None or not spec.origin or not Path(spec.origin).is_file():
            raise UserError(f"{reference}: cannot find module {target}; is it installed?")
        return reference, sha256_of([Path(spec.origin)])
    path = path if path.is_absolute() else base / path
    if path.is_dir():
        return str(path.resolve()), sha256_of(image_paths(path), path)
    if path.is_file():
        return str(path.resolve()), sha256_of([path])
    raise UserError(f"{reference}: no such file or folder (relative paths are read from {base})")
