"""The on-disk cache: trained domain classifiers and the features of reference items, under the user cache.

Features are keyed by content, never by name: the SHA-256 of the items' bytes, shape and dtype, together with the
extractor's identity (its weights' checksum and preprocessing, `Extractor.identity`). Judging ten checkpoints
against one data set computes the reference features once; a changed item, weight or resize is a new key, so a
stale entry can never be read. Entries are written atomically (files.atomic_write_bytes: a temporary file, then
a rename), so concurrent jobs never see half an entry, and an entry that cannot be read or does not fit its key
is recomputed and rewritten, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

from gan_zoo.files import atomic_write_bytes

FORMAT = "gan-zoo-features/1"


def cache_dir() -> Path:
    """$GAN_ZOO_CACHE, else $XDG_CACHE_HOME/gan-zoo, else ~/.cache/gan-zoo."""
    root = os.environ.get("GAN_ZOO_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "gan-zoo")
    return Path(root).expanduser()


def features_dir() -> Path:
    return cache_dir() / "features"


def content_key(identity: str, items: torch.Tensor) -> str:
    digest = hashlib.sha256(f"{FORMAT}|{identity}|{tuple(items.shape)}|{items.dtype}|".encode())
    digest.update(items.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                  if items.numel() else b"")
    return digest.hexdigest()


def cached_features(identity: str, items: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor],
                    describe: dict) -> tuple[torch.Tensor, str]:
    """compute(items), read from the cache when an entry for this identity and content exists.

    Returns the features and where they came from: "computed", "cache", or "recomputed: <why>" when the entry
    was damaged. `describe` (space, items, n) is stored beside the features for `gan-zoo cache list`."""
    from safetensors.torch import load_file, save

    key = content_key(identity, items)
    path = features_dir() / f"{key[:40]}.safetensors"
    status = "computed"
    if path.exists():
        try:
            features = load_file(str(path))["features"]
            if features.dim() != 2 or len(features) != len(items) or not torch.isfinite(features).all():
                raise ValueError(f"holds features of shape {tuple(features.shape)} for {len(items)} items")
            return features, "cache"
        except Exception as exc:  # a damaged or foreign file is recomputed, never trusted
            status = f"recomputed: damaged cache entry {path.name} ({type(exc).__name__})"
    features = compute(items)
    try:
        atomic_write_bytes(path, save({"features": features.contiguous()},
                                      metadata={"format": FORMAT, "key": key, "describe": json.dumps(describe)}))
    except OSError:  # a full or read-only cache costs speed, never the evaluation
        pass
    return features, status


def list_entries() -> list[dict]:
    """Every feature entry: file, size in bytes, rows and dims, and what it holds."""
    from safetensors import safe_open

    entries = []
    for path in sorted(features_dir().glob("*.safetensors")):
        entry = {"file": str(path), "bytes": path.stat().st_size}
        try:
            with safe_open(str(path), "pt") as f:
                entry.update(json.loads(f.metadata().get("describe", "{}")), shape=list(f.get_slice("features")
                                                                                            .get_shape()))
        except Exception as exc:
            entry["damaged"] = type(exc).__name__
        entries.append(entry)
    return entries


def clear() -> int:
    """Remove every feature entry; returns how many went. (An interrupted write leaves no file: atomic_write_bytes
    removes its temporary file on any exception.)"""
    removed = 0
    for path in features_dir().glob("*.safetensors"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
