"""The torch device a name ("auto", "cpu", "cuda", "cuda:1", ...) means: one rule for the CLI, the Python API,
the harness and the training loop."""

from __future__ import annotations

import torch

from gan_zoo.errors import UserError


def resolve_device(name: str) -> torch.device:
    """"auto" is CUDA where a device is available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"device {name!r}: not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r}: no CUDA device is available here; use cpu or auto")
    return device
