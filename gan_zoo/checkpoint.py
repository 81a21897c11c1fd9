"""Checkpoints: one .safetensors file with the weights (and optimizer state) and JSON metadata.

Metadata keys (all strings, JSON where structured): format, gan_zoo_version, family, plugin, config, spec,
dataset, seed, step, optimizers, facts (what the model knows exactly about itself, e.g. a construction's
support). Loading rebuilds the model through the registered family; nothing is ever unpickled.

A file is distrusted until checked: `read_checkpoint` checks the metadata's structure and types (NaN and
infinity are refused anywhere), and that every floating-point tensor is finite; `load_model` checks the config
against the family's Config field types, and the tensor names, shapes and dtypes against a model built on the
meta device (no memory), before the real model is built; `restore_optimizers` checks the optimizer state
against the optimizers it restores. Every failure is a one-line UserError naming the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from gan_zoo import __version__
from gan_zoo.config import SettingError, typed
from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec, GanModel, config_to_json
from gan_zoo.files import atomic_write_bytes
from gan_zoo.registry import Registry

FORMAT = "gan-zoo-checkpoint/1"
JSON_KEYS = ("plugin", "config", "spec", "dataset", "optimizers", "facts")
SPEC_KEYS = {field.name for field in dataclasses.fields(DataSpec)}
# optimizer state that is never negative (Adam's, RMSprop's): a negative value would only show up as NaN later
NON_NEGATIVE_STATE = {"step", "exp_avg_sq", "max_exp_avg_sq", "square_avg"}


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


# -- reading ---------------------------------------------------------------------------------------------------

def _damaged(path: Path, what: str) -> UserError:
    return UserError(f"{path}: damaged gan-zoo checkpoint metadata: {what}; retrain or use another file")


def _show(value, limit: int = 24) -> str:
    """A value for a one-line message: its repr, printable only, cut short."""
    text = repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _brief(value: object, limit: int = 40) -> str:
    """Free text (an exception's message, a name from the file) as one short printable line."""
    text = " ".join(str(value).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refuse_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {text[:12]}")
    return value


def _parse_json(text: str):
    """Strict JSON: NaN, Infinity and numbers that overflow to infinity are refused."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(path: Path, key: str, text: str, minimum: int | None) -> int:
    if not re.fullmatch(r"-?[0-9]{1,30}", text):
        raise _damaged(path, f"{key} is {_show(text)}, not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise _damaged(path, f"{key} is {value}, below {minimum}")
    return value


def _check_mapping(path: Path, key: str, value, required: dict[str, str] | None = None) -> None:
    """value must be a JSON object; required maps each required key to a check name (see _CHECKS)."""
    if not isinstance(value, dict):
        raise _damaged(path, f"{key} is a JSON {type(value).__name__}, not an object")
    for name, check in (required or {}).items():
        if name not in value:
            raise _damaged(path, f"{key} has no {name!r}")
        if not _CHECKS[check][0](value[name]):
            raise _damaged(path, f"{key}.{name} is {_show(value[name])}, not {_CHECKS[check][1]}")


_CHECKS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "name": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "int": (_is_int, "a whole number"),
    "count": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    "positive": (lambda v: _is_int(v) and v >= 1, "a whole number >= 1"),
    "optional_positive": (lambda v: v is None or (_is_int(v) and v >= 1), "null or a whole number >= 1"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "shape": (lambda v: isinstance(v, list) and len(v) in (1, 3) and all(_is_int(d) and d >= 1 for d in v),
              "1 or 3 sizes >= 1"),
    "groups": (lambda v: isinstance(v, list) and all(isinstance(g, dict) for g in v), "a list of objects"),
    "object": (lambda v: isinstance(v, dict), "an object"),
}


def _check_metadata(path: Path, meta: dict) -> None:
    """The decoded metadata's structure and types; raises a one-line UserError at the first problem."""
    _check_mapping(path, "plugin", meta["plugin"], {"name": "name", "distribution": "name", "version": "str"})
    _check_mapping(path, "config", meta["config"])
    spec = meta["spec"]
    _check_mapping(path, "spec", spec, {"shape": "shape", "latent_dim": "positive"})
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise _damaged(path, f"spec has an unknown key {_show(unknown[0])}")
    _check_mapping(path, "spec", spec, {key: check for key, check in
                                        (("num_classes", "optional_positive"), ("bounded", "bool")) if key in spec})
    dataset = meta["dataset"]
    _check_mapping(path, "dataset", dataset, {"name": "name", "fingerprint": "str", "split_seed": "int"})
    _check_mapping(path, "dataset", dataset, {key: "count" for key in ("n_train", "n_heldout") if key in dataset})
    _check_mapping(path, "facts", meta["facts"])
    _check_mapping(path, "optimizers", meta["optimizers"])
    for name, saved in meta["optimizers"].items():
        _check_mapping(path, f"optimizers.{_brief(name, 20)}", saved, {"param_groups": "groups", "scalars": "object"})
    if meta["total_steps"] and meta["step"] > meta["total_steps"]:
        raise _damaged(path, f"step {meta['step']} is beyond the run's total_steps {meta['total_steps']}")


def read_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file; `gan-zoo train` writes one as OUT/model.safetensors")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UserError(f"{path}: cannot read this checkpoint ({exc.strerror}); check its permissions") from None
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
    for key in ("gan_zoo_version", "family", *JSON_KEYS, "seed", "step"):
        if key not in raw:
            raise _damaged(path, f"no {key!r}")
    if not raw["family"]:
        raise _damaged(path, "an empty family name")
    metadata = {key: raw[key] for key in ("format", "gan_zoo_version", "family")}
    for key in JSON_KEYS:
        try:
            metadata[key] = _parse_json(raw[key])
        except (ValueError, RecursionError) as exc:
            raise _damaged(path, f"{key} is not valid JSON ({_brief(exc)})") from None
    metadata["seed"] = _whole(path, "seed", raw["seed"], None)
    metadata["step"] = _whole(path, "step", raw["step"], 0)
    metadata["total_steps"] = _whole(path, "total_steps", raw.get("total_steps", "0"), 0)  # 0: constructed
    try:  # training time up to this step, over resumptions
        metadata["seconds"] = _finite_float(raw.get("seconds", "0"))
    except ValueError:
        raise _damaged(path, f"seconds is {_show(raw['seconds'])}, not a finite number") from None
    if metadata["seconds"] < 0:
        raise _damaged(path, f"seconds is {metadata['seconds']}, below 0")
    _check_metadata(path, metadata)
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(f"{path}: tensor {_show(key, 60)} holds NaN or infinite values; the file is damaged "
                            f"(or the run diverged): retrain or use another file")
    return Checkpoint(path, metadata, tensors)


# -- loading ---------------------------------------------------------------------------------------------------

def _config(path: Path, family: type[GanModel], values: dict):
    """The family's Config from the checkpoint's values, each checked against its field's type as written."""
    try:
        return typed(family.Config, values, exact=True)
    except SettingError as exc:
        if exc.wanted is None:  # no field has that name
            hint = f" (did you mean {exc.near!r}?)" if exc.near else ""
            raise _damaged(path, f"config has a key {_show(exc.key)} that {family.name} does not know{hint}") from None
        raise _damaged(path, f"config {exc.key}={_show(exc.value)} is not {exc.wanted}") from None
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    except Exception as exc:  # a __post_init__ refusing the values
        raise _damaged(path, f"{family.name} refuses its config ({_brief(exc)})") from None


def _build(path: Path, family: type[GanModel], config, spec: DataSpec, device: str | None = None) -> GanModel:
    try:
        if device is None:
            return family(config, spec)
        with torch.random.fork_rng(devices=[]), torch.device(device):
            return family(config, spec)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    except Exception as exc:
        raise _damaged(path, f"{family.name} cannot be built from it ({_brief(exc, 32)})") from None


def _compare(path: Path, family: type[GanModel], weights: dict[str, torch.Tensor],
             expected: dict[str, torch.Tensor]) -> None:
    for key in sorted(set(expected) | set(weights)):
        if key not in weights or key not in expected:
            where = "the model" if key in expected else "the file"
            raise UserError(f"{path}: tensor {_show(key, 60)} is only in {where}; the checkpoint does not "
                            f"match family {family.name!r} as installed (plugin version changed?)")
        if weights[key].shape != expected[key].shape:
            raise UserError(f"{path}: tensor {key!r} has shape {tuple(weights[key].shape)} in the "
                            f"file but {tuple(expected[key].shape)} in family {family.name!r} with its config")
        if weights[key].dtype != expected[key].dtype:
            raise UserError(f"{path}: tensor {key!r} is {weights[key].dtype} in the file but "
                            f"{expected[key].dtype} in family {family.name!r}; the file is damaged")


def _clean(text, pattern: str = r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,60}") -> str | None:
    """A name from the file, if it looks like a distribution name or version (it goes into a command)."""
    return text if isinstance(text, str) and re.fullmatch(pattern, text) else None


def _missing_family(path: Path, name: str, plugin: dict, registry: Registry) -> UserError:
    """The family is not installed: name the plugin the checkpoint records, and how to get it."""
    dist, version = _clean(plugin["distribution"]), _clean(plugin["version"])
    label = f"{_brief(plugin['name'], 30)} ({_brief(plugin['distribution'], 30)} {_brief(plugin['version'], 20)})"
    near = difflib.get_close_matches(name, list(registry.families), n=1, cutoff=0.6)
    did_you_mean = f"; did you mean {near[0]!r}?" if near else ""
    loaded = [p for p in registry.plugins if p.distribution == plugin["distribution"] and p.name == plugin["name"]]
    start = f"{path}: family {_show(name, 30)} is not installed"
    if loaded and loaded[0].error:
        return UserError(f"{start}; its plugin {label} is broken here: `gan-zoo plugins` shows why")
    if loaded and loaded[0].version != plugin["version"] and dist and version:
        return UserError(f"{start}; it came from plugin {label}, {loaded[0].version} is installed: "
                         f"pip install '{dist}=={version}'")
    if loaded:
        return UserError(f"{start}; its plugin {label} has no such family{did_you_mean or ' (a damaged file?)'}")
    if dist and _installed(dist):
        return UserError(f"{start}; it came from plugin {label}, which is installed but not loaded: "
                         f"check GAN_ZOO_PLUGINS and GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD")
    return UserError(f"{start}; it came from plugin {label}: {f'pip install {dist}' if dist else 'install it'}")


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def load_model(checkpoint: Checkpoint, registry: Registry, device: torch.device | str = "cpu") -> GanModel:
    """Rebuild the model through its registered family and load the weights.

    The config is checked against the family's Config types, and the model is first built on the meta device
    (no memory) to compare tensor names, shapes and dtypes, so a damaged config or spec claiming huge sizes is
    refused before anything is allocated.
    """
    meta, path = checkpoint.metadata, checkpoint.path
    if meta["family"] not in registry.families:
        raise _missing_family(path, meta["family"], meta["plugin"], registry)
    family = registry.family(meta["family"])
    config = _config(path, family, meta["config"])
    spec = DataSpec.from_json(meta["spec"])
    weights = {k.removeprefix("model."): v for k, v in checkpoint.tensors.items() if k.startswith("model.")}
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            sketch = family(config, spec)
    except Exception:  # a family that cannot be built on the meta device (it calls .item(), say)
        sketch = None
    if sketch is not None:
        _compare(path, family, weights, sketch.state_dict())
    model = _build(path, family, config, spec)
    _compare(path, family, weights, model.state_dict())
    model.load_state_dict(weights)
    return model.to(device)


# -- resuming --------------------------------------------------------------------------------------------------

def _same_kind(saved, current) -> bool:
    """Whether a saved optimizer setting can stand in for the current one (JSON turns tuples into lists)."""
    if current is None or isinstance(current, bool):
        return saved is None or isinstance(saved, bool)
    if isinstance(current, int | float):
        return _is_number(saved)
    if isinstance(current, tuple | list):
        return (isinstance(saved, list) and len(saved) == len(current)
                and all(_same_kind(s, c) for s, c in zip(saved, current, strict=True)))
    if isinstance(current, str):
        return isinstance(saved, str)
    return True


def _optimizer_state(path: Path, name: str, saved: dict, optimizer: torch.optim.Optimizer,
                     tensors: dict[str, torch.Tensor]) -> dict:
    """The state dict to load into optimizer, checked against it; raises a one-line UserError."""
    groups = saved["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        raise _damaged(path, f"optimizer {name!r} has {len(groups)} parameter groups, not "
                             f"{len(optimizer.param_groups)}")
    params: dict[int, torch.Tensor] = {}
    for i, (group, current) in enumerate(zip(groups, optimizer.param_groups, strict=True)):
        ids = group.get("params")
        if (not isinstance(ids, list) or len(ids) != len(current["params"]) or not all(map(_is_int, ids))
                or len(set(ids)) != len(ids) or set(ids) & set(params)):
            raise _damaged(path, f"optimizer {name!r} group {i} does not list its {len(current['params'])} "
                                 f"parameters")
        params.update(zip(ids, current["params"], strict=True))
        for key, value in group.items():
            if key != "params" and key in current and not _same_kind(value, current[key]):
                raise _damaged(path, f"optimizer {name!r} setting {_show(key)} is {_show(value)}")
    state: dict[int, dict] = {}
    for key, value in saved["scalars"].items():
        index, _, field = key.partition(".")
        if not re.fullmatch(r"[0-9]{1,9}", index) or not field or int(index) not in params:
            raise _damaged(path, f"optimizer {name!r} has state {_show(key)} for no parameter")
        if not (value is None or isinstance(value, bool) or _is_number(value)):
            raise _damaged(path, f"optimizer {name!r} state {_show(key)} is {_show(value)}")
        state.setdefault(int(index), {})[field] = value
    prefix = f"optim.{name}."
    for key, tensor in tensors.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix):].partition(".")
        if not re.fullmatch(r"[0-9]{1,9}", index) or not field or int(index) not in params:
            raise _damaged(path, f"tensor {_show(key, 40)} is state for no parameter")
        param = params[int(index)]
        if tensor.dim() and tensor.shape != param.shape:
            raise UserError(f"{path}: tensor {_show(key, 40)} has shape {tuple(tensor.shape)} but its parameter "
                            f"{tuple(param.shape)}; the checkpoint does not match its model")
        if tensor.dim() and not tensor.is_floating_point():
            raise UserError(f"{path}: tensor {_show(key, 40)} is {tensor.dtype}; the file is damaged")
        if field in NON_NEGATIVE_STATE and bool((tensor < 0).any()):
            raise UserError(f"{path}: tensor {_show(key, 40)} is negative; the file is damaged: retrain or use "
                            f"another file")
        state.setdefault(int(index), {})[field] = tensor
    return {"state": state, "param_groups": groups}


def restore_optimizers(checkpoint: Checkpoint, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    saved = checkpoint.metadata["optimizers"]
    path = checkpoint.path
    for name, optimizer in optimizers.items():
        if name not in saved:
            raise UserError(f"{path}: no state for optimizer {name!r}; cannot resume from it")
        state = _optimizer_state(path, name, saved[name], optimizer, checkpoint.tensors)
        try:
            optimizer.load_state_dict(state)
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as exc:
            raise _damaged(path, f"optimizer {name!r} state does not load ({_brief(exc)})") from None
