"""Drawing helpers shared by the app and by metrics that draw their own plots and pictures (gan_zoo.Metric.plots,
Metric.picture): in the contracts layer, so that a metric plugin draws like the app without importing it."""

from __future__ import annotations

import io
import math

import torch
from PIL import Image

MARKERS = "osD^v<>px*h"
LINES = ("-", "--", "-.", ":")


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


def picture_png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


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
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


def row_style(index: int, count: int) -> dict:
    """A marker, a line style and a small sideways offset per leaderboard row, so that lines on top of each other
    still show."""
    return {"marker": MARKERS[index % len(MARKERS)], "linestyle": LINES[index // len(MARKERS) % len(LINES)],
            "dodge": 1.0 + 0.04 * (index - (count - 1) / 2)}


def line_plot(title: str, xlabel: str, ylabel: str, draw) -> bytes:
    """A log-x line plot with the legend beside it, as PNG bytes; draw(axes) adds the lines."""
    figure, axes = pyplot().subplots(figsize=(7, 4.5))
    draw(axes)
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_png(figure)
