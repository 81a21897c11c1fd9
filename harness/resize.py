"""Resizing images for a feature network: the subtle step that moves FID most, isolated and named.

Two conventions give different FIDs for the same images (Parmar, Zhang, Zhu 2022, "On Aliased Resizing and
Surprising Subtleties in GAN Evaluation"):
- `pytorch-fid`: the float images resized to 299x299 by torch's bilinear interpolation without antialiasing
  (inside the network, as pytorch-fid and torch-fidelity do);
- `clean-fid`: the images quantised to uint8 first (as saved files are), then each channel resized by PIL's
  bicubic filter in 32-bit float mode, as clean-fid's default `clean` mode does (cleanfid/resize.py,
  make_resizer("PIL", False, "bicubic", (299, 299))).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

RESIZES = ("pytorch-fid", "clean-fid")


def to_uint8(x01: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] as the uint8 a PNG would hold: round half up, clipped (N, C, H, W) -> (N, H, W, C)."""
    return (x01.detach().cpu().float() * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def clean_fid_resize(x01: torch.Tensor, size: int = 299) -> torch.Tensor:
    """clean-fid's resize of (N, C, H, W) images in [0, 1]: uint8, then PIL bicubic per channel in float mode;
    returned in [0, 1] (clean-fid keeps 0..255 and its network divides by 255), on the input's device."""
    out = np.empty((len(x01), x01.shape[1], size, size), dtype=np.float32)
    for i, image in enumerate(to_uint8(x01)):
        for c in range(image.shape[2]):
            channel = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
            out[i, c] = np.asarray(channel.resize((size, size), resample=Image.Resampling.BICUBIC))
    return torch.from_numpy(out / 255.0).to(x01.device)
