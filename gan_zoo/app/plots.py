"""Pictures of samples: an image grid, or a scatter plot for 2-D data."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from PIL import Image

from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes


def image_grid(images: torch.Tensor, scale: int = 4, columns: int | None = None) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> one PNG-able picture (about square unless `columns`), pixels scale x scale."""
    n, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = torch.ones(channels, rows * (height + 1) + 1, columns * (width + 1) + 1)
    for i, image in enumerate(images.clamp(-1, 1)):
        r, c = divmod(i, columns)
        top, left = 1 + r * (height + 1), 1 + c * (width + 1)
        grid[:, top:top + height, left:left + width] = image
    pixels = ((grid + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


def pyplot():
    """matplotlib.pyplot on the file-only backend (imported late: it is slow to import, and no screen is assumed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
    pyplot().close(figure)
    return buffer.getvalue()


def scatter_png(points: torch.Tensor, title: str, reference: torch.Tensor | None = None) -> bytes:
    figure, axes = pyplot().subplots(figsize=(5, 5), dpi=100)
    axes.scatter(*points.T.numpy(), s=2, alpha=0.4, color="tab:blue", label="samples")
    if reference is not None:
        axes.scatter(*reference.T.numpy(), s=60, marker="x", color="tab:red", label="modes")
    axes.set_aspect("equal")
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize=8)
    return figure_png(figure)


def write_samples_png(path: Path, samples: torch.Tensor, title: str, reference: torch.Tensor | None = None):
    if samples.dim() == 4:
        buffer = io.BytesIO()
        image_grid(samples).save(buffer, format="PNG")
        atomic_write_bytes(path, buffer.getvalue())
    elif samples.dim() == 2 and samples.shape[1] == 2:
        atomic_write_bytes(path, scatter_png(samples, title, reference))
    else:
        shape = "x".join(map(str, samples.shape[1:]))
        raise UserError(f"{path}: a PNG shows images or 2-D points, not items of shape {shape}; "
                        f"write a .safetensors file instead")



def write_pairs_png(path: Path, items: torch.Tensor, pairs: torch.Tensor, distances: torch.Tensor, threshold: float):
    """The birthday test's montage: one row per closest pair, its distance beside it (starred if a duplicate)."""
    from PIL import ImageDraw

    tiles = items[pairs.flatten()]  # a0, b0, a1, b1, ...
    scale = max(2, 64 // items.shape[-1])
    grid = image_grid(tiles, scale=scale, columns=2).convert("RGB")
    row_height = grid.height / len(pairs)
    canvas = Image.new("RGB", (grid.width + 110, grid.height), "white")
    canvas.paste(grid, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for row, distance in enumerate(distances.tolist()):
        mark = " *dup" if distance < threshold else ""
        draw.text((grid.width + 6, int(row * row_height + row_height / 2) - 5), f"{distance:.3g}{mark}", fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
