"""Pictures of samples: an image grid, or a scatter plot for 2-D data."""

from __future__ import annotations

from pathlib import Path

import torch

from gan_zoo.drawing import figure_png, image_grid, picture_png, pyplot
from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes


def scatter_png(points: torch.Tensor, title: str, reference: torch.Tensor | None = None) -> bytes:
    figure, axes = pyplot().subplots(figsize=(5, 5), dpi=100)
    axes.scatter(*points.T.numpy(), s=2, alpha=0.4, color="tab:blue", label="samples")
    if reference is not None:
        axes.scatter(*reference.T.numpy(), s=60, marker="x", color="tab:red", label="mode centres")
    axes.set_aspect("equal")
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize=8)
    return figure_png(figure)


def write_samples_png(path: Path, samples: torch.Tensor, title: str, reference: torch.Tensor | None = None):
    if samples.dim() == 4:
        atomic_write_bytes(path, picture_png(image_grid(samples)))
    elif samples.dim() == 2 and samples.shape[1] == 2:
        atomic_write_bytes(path, scatter_png(samples, title, reference))
    else:
        shape = "x".join(map(str, samples.shape[1:]))
        raise UserError(f"{path}: a PNG shows images or 2-D points, not items of shape {shape}; "
                        f"write a .safetensors file instead")
