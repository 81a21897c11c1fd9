"""Checkpoints: one .safetensors file with the weights (and optimizer state) and JSON metadata.

Metadata keys (all strings, JSON where structured): format, gan_zoo_version, family, plugin, config, spec,
dataset, seed, step, optimizers, facts (what the model knows exactly about itself, e.g. a construction's
support). Loading rebuilds the model through the registered family; nothing is ever unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from gan_zoo import __version__
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec, GanModel, config_from_dict, config_to_json
from gan_zoo.files import atomic_write_bytes
from gan_zoo.registry import Registry

FORMAT = "gan-zoo-checkpoint/1"


@dataclass
class Checkpoint:
    path: Path
    metadata: dict  # decoded: JSON values parsed
    tensors: dict[str, torch.Tensor]

    @property
    def step(self) -> int:
        return self.metadata["step"]


def save_checkpoint(path: Path, model: GanModel, *, plugin: dict, dataset: dict, seed: int, step: int,
                    total_steps: int = 0, optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    seconds: float = 0.0) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    optimizer_meta = {}
    for name, optimizer in (optimizers or {}).items():
        state = optimizer.state_dict()
        scalars = {}
        for index, values in state["state"].items():
            for key, value in values.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{name}.{index}.{key}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars[f"{index}.{key}"] = value
        optimizer_meta[name] = {"param_groups": state["param_groups"], "scalars": scalars}
    metadata = {
        "format": FORMAT, "gan_zoo_version": __version__, "family": model.name, "plugin": json.dumps(plugin),
        "config": config_to_json(model.config), "spec": json.dumps(model.spec.to_json()),
        "dataset": json.dumps(dataset), "seed": str(seed), "step": str(step), "total_steps": str(total_steps),
        "seconds": f"{seconds:.3f}", "optimizers": json.dumps(optimizer_meta), "facts": json.dumps(model.facts()),
    }
    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))


def read_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file; `gan-zoo train` writes one as OUT/model.safetensors")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception:  # safetensors raises several types for truncated or foreign files
        raise UserError(f"{path}: not a readable safetensors file (truncated, or another format such as a "
                        f"pickle); use a checkpoint written by `gan-zoo train`") from None
    if raw.get("format") != FORMAT:
        raise UserError(f"{path}: a safetensors file but not a gan-zoo checkpoint (its metadata has no "
                        f"format {FORMAT!r}); use a checkpoint written by `gan-zoo train`")
    try:
        metadata = {key: raw[key] for key in ("format", "gan_zoo_version", "family")}
        for key in ("plugin", "config", "spec", "dataset", "optimizers", "facts"):
            metadata[key] = json.loads(raw[key])
        metadata["seed"], metadata["step"] = int(raw["seed"]), int(raw["step"])
        metadata["total_steps"] = int(raw.get("total_steps", 0))  # the run's planned length (0: constructed)
        metadata["seconds"] = float(raw.get("seconds", 0))  # training time up to this step, over resumptions
    except (KeyError, ValueError) as exc:
        raise UserError(f"{path}: damaged gan-zoo checkpoint metadata ({exc}); retrain or use another file") from None
    return Checkpoint(path, metadata, tensors)


def load_model(checkpoint: Checkpoint, registry: Registry, device: torch.device | str = "cpu") -> GanModel:
    """Rebuild the model through its registered family and load the weights."""
    meta = checkpoint.metadata
    family = registry.family(meta["family"])
    model = family(config_from_dict(family.Config, meta["config"]), DataSpec.from_json(meta["spec"]))
    weights = {k.removeprefix("model."): v for k, v in checkpoint.tensors.items() if k.startswith("model.")}
    expected = model.state_dict()
    for key in sorted(set(expected) | set(weights)):
        if key not in weights or key not in expected:
            where = "the model" if key in expected else "the file"
            raise UserError(f"{checkpoint.path}: tensor {key!r} is only in {where}; the checkpoint does not "
                            f"match family {family.name!r} as installed (plugin version changed?)")
        if weights[key].shape != expected[key].shape:
            raise UserError(f"{checkpoint.path}: tensor {key!r} has shape {tuple(weights[key].shape)} in the "
                            f"file but {tuple(expected[key].shape)} in family {family.name!r} with its config")
    model.load_state_dict(weights)
    return model.to(device)


def restore_optimizers(checkpoint: Checkpoint, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    saved = checkpoint.metadata["optimizers"]
    for name, optimizer in optimizers.items():
        if name not in saved:
            raise UserError(f"{checkpoint.path}: no state for optimizer {name!r}; cannot resume from it")
        state: dict[int, dict] = {}
        for key, value in saved[name]["scalars"].items():
            index, field = key.split(".", 1)
            state.setdefault(int(index), {})[field] = value
        prefix = f"optim.{name}."
        for key, tensor in checkpoint.tensors.items():
            if key.startswith(prefix):
                index, field = key[len(prefix):].split(".", 1)
                state.setdefault(int(index), {})[field] = tensor
        optimizer.load_state_dict({"state": state, "param_groups": saved[name]["param_groups"]})
