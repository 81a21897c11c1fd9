"""The data set contract: a DatasetSource loads all items; open_dataset splits them by seed.

Items are float32 tensors, one row per item: (N, d) for vectors, (N, C, H, W) for images scaled to [-1, 1].
Every loaded data set carries a content fingerprint, recorded with every checkpoint and result.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.seeds import SCHEME, generator


@dataclass
class Data:
    x: torch.Tensor  # (N, *shape) float32
    labels: torch.Tensor | None = None  # (N,) int64
    modes: torch.Tensor | None = None  # (M, d) known mode centres, for mode coverage
    mode_std: float | None = None  # the std of each mode

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: torch.Tensor) -> Data:
        labels = None if self.labels is None else self.labels[index]
        return Data(self.x[index], labels, self.modes, self.mode_std)


@dataclass(frozen=True)
class DatasetSource:
    name: str
    description: str
    load: Callable[[Path | None], Data]  # given the data folder (None for built-in data)
    latent_dim: int  # suggested latent size for families that do not set their own
    files: str = ""  # for data read from disk: the expected files, shown in errors and listings

    @property
    def needs_files(self) -> bool:
        return bool(self.files)

    def summary(self) -> dict:
        return {"name": self.name, "description": self.description, "files": self.files or None}


@dataclass
class LoadedDataset:
    name: str
    fingerprint: str  # sha256 of the items and labels before splitting
    spec: DataSpec
    train: Data
    heldout: Data
    seed: int  # the split seed
    control: Data | None = None  # a third split for the gauntlet: real items no model or metric has seen

    def to_json(self) -> dict:
        # the scheme too: the same split seed drew another split before gan_zoo.seeds
        split = {"name": self.name, "fingerprint": self.fingerprint, "split_seed": self.seed, "seed_scheme": SCHEME,
                 "n_train": len(self.train), "n_heldout": len(self.heldout)}
        return split if self.control is None else {**split, "n_control": len(self.control)}


def fingerprint(data: Data) -> str:
    digest = hashlib.sha256()
    digest.update(str(tuple(data.x.shape)).encode())
    digest.update(data.x.contiguous().numpy().tobytes())
    if data.labels is not None:
        digest.update(data.labels.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def default_root(name: str) -> Path:
    """Where a file-backed data set is looked for: $GAN_ZOO_DATA/<name>, else ./data/<name>."""
    return Path(os.environ.get("GAN_ZOO_DATA", "data")) / name


def open_dataset(source: DatasetSource, *, seed: int = 0, root: Path | None = None,
                 heldout_fraction: float = 0.2, control_fraction: float = 0.0) -> LoadedDataset:
    """Load a data set and split it into train and held-out parts, deterministically by seed.

    control_fraction > 0 carves a third part out of what would be training items (the held-out split stays the
    same): real data that neither a model built on the training split nor a metric's reference has seen."""
    root = (root or default_root(source.name)) if source.needs_files else None
    data = source.load(root)
    if len(data) < 2:
        raise UserError(f"data set {source.name}{f' ({root})' if root else ''}: holds {len(data)} item(s), too few "
                        f"to split into training and held-out items; give it at least 2 (10 for the birthday test)")
    order = torch.randperm(len(data), generator=generator(seed, "split"))
    n_heldout = max(1, int(len(data) * heldout_fraction))
    n_control = int(len(data) * control_fraction)
    num_classes = None if data.labels is None else int(data.labels.max()) + 1
    spec = DataSpec(tuple(data.x.shape[1:]), source.latent_dim, num_classes, bounded=data.x.dim() == 4)
    control = data.subset(order[n_heldout:n_heldout + n_control]) if n_control else None
    return LoadedDataset(source.name, fingerprint(data), spec, data.subset(order[n_heldout + n_control:]),
                         data.subset(order[:n_heldout]), seed, control)
