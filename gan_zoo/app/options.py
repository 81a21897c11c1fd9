"""What the `gan-zoo` commands share: common options, and the helpers that guard their inputs and outputs."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from gan_zoo.app.report import table_lines
from gan_zoo.datasets import LoadedDataset, default_root, open_dataset
from gan_zoo.registry import registry

DEVICE = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                      help="Where to compute; auto picks CUDA when present.")
THREADS = click.option("--threads", type=click.IntRange(min=1, max=1024), default=1, show_default=True,
                       help="Torch threads; 1 is fastest for gan-zoo's small models on a shared 2-core machine "
                            "(benchmarks/RESULTS.md), and recorded in every result.")
QUIET = click.option("--quiet", is_flag=True, help="No progress output (errors and warnings still show).")
DATA_ROOT = click.option("--data-root", type=click.Path(path_type=Path), default=None,
                         help="Folder with the data set's files (default: $GAN_ZOO_DATA/NAME or ./data/NAME).")


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def print_table(rows: list[list[str]], header: list[str]) -> None:
    for line in table_lines(rows, header):
        click.echo(line)


def open_data(name: str, seed: int, root: Path | None) -> LoadedDataset:
    return open_dataset(registry().dataset(name), seed=seed, root=root)


def read_path(reference: str) -> Path:
    """The file or folder a source reference reads: a callable's code file, or the path itself."""
    target, _, attribute = reference.rpartition(":")
    if ":" in reference and not Path(reference).exists() and attribute.isidentifier() and target.endswith(".py"):
        return Path(target)
    return Path(reference)


def data_files(reg, name: str | None, root: Path | None, picture: Path | None = None) -> list[Path]:
    """The files a file-backed data set may read that an output could land on: those in its folder, and `picture`
    when it already exists below it (image folders are read recursively). Listing only these, not the whole tree,
    lets a run keep its outputs under a data folder (--data-root .) and resume there."""
    source = reg.datasets.get(name) if name else None
    folder = (root or default_root(name)) if name and source is not None and source.needs_files else None
    if folder is None or not folder.is_dir():
        return []
    files = [path for path in folder.iterdir() if path.is_file()]
    if picture is not None and picture.is_file() and folder.resolve() in picture.resolve().parents:
        files.append(picture)
    return files
