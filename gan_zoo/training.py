"""The training loop shared by every trained family, and the one way a run (trained or constructed) is made.

Each step seeds its own randomness from (seed, "train.step", step) (gan_zoo.seeds) and sets its learning rates
from (step, steps), so a run resumed from a checkpoint at step k continues exactly as the uninterrupted run would
have: nothing but the weights, the optimizer state and the planned length needs saving.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from gan_zoo.checkpoint import Checkpoint, load_model, read_checkpoint, restore_optimizers, save_checkpoint
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import Diverged, UserError
from gan_zoo.family import GanModel
from gan_zoo.registry import Registry
from gan_zoo.seeds import SCHEME, derive, manual_seed

CHECKPOINT_NAME = "model.safetensors"




# The learning rate's multiplier at a fraction of the run done. A linear decay to 0 lets a generator settle
# onto the modes at the end instead of jittering around them (measured on ring8 and grid25, RESULTS.md).
LR_SCHEDULES = {
    "constant": lambda done: 1.0,
    "linear": lambda done: 1.0 - done,
}


def lr_multiplier(model: GanModel):
    if model.lr_schedule not in LR_SCHEDULES:
        raise UserError(f"{model.name}: lr_schedule must be one of auto, {', '.join(LR_SCHEDULES)}, "
                        f"not {model.lr_schedule!r}")
    return LR_SCHEDULES[model.lr_schedule]


@dataclass
class RunResult:
    model: GanModel
    checkpoint: Path
    step: int
    resumed_from: int  # 0 for a fresh run
    seconds: float  # training (or construction) time, including the runs this one resumed
    first_losses: dict | None = None  # of this session's first and last steps (None: nothing trained now)
    last_losses: dict | None = None


def run(registry: Registry, family_name: str, config, data: LoadedDataset, *, out: Path, seed: int,
        steps: int, device: torch.device, checkpoint_every: int = 500,
        on_step: Callable[[int, int, dict], None] | None = None,
        track: Callable[[int, GanModel], None] | None = None, track_every: int = 0) -> RunResult:
    """Train (or construct) a family on a data set, writing out/model.safetensors; resumes a matching run.

    on_step(step, steps, losses) is called after every step (progress reports throttle it themselves).
    track(step, model) is called at every track_every-th step, after that step's checkpoint is written; a run
    resumed at such a step calls it again first, since a kill may have cut that call short."""
    family = registry.family(family_name)
    if family.kind == "trained" and steps < 1:
        raise UserError(f"{family_name}: train at least 1 step (steps = {steps})")
    if track is not None and not 1 <= track_every <= max(steps, 1):
        raise UserError(f"track every {track_every} steps: choose from 1 to the run's {steps} steps")
    path = Path(out) / CHECKPOINT_NAME
    plugin = registry.plugin_of("families", family_name).to_json()
    save = partial(save_checkpoint, path, plugin={k: plugin[k] for k in ("name", "distribution", "version")},
                   dataset=data.to_json(), seed=seed)
    previous = _previous_run(path, family_name, config, data, seed)
    started = time.perf_counter()
    manual_seed(seed, "train.init")  # initial weights (and a construction's choices) follow the seed

    if family.kind == "constructed":
        if previous is not None:
            return RunResult(load_model(previous, registry, device), path, 0, 0, previous.metadata["seconds"])
        model = construct(family, config, data, seed, device)
        seconds = time.perf_counter() - started
        save(model, step=0, seconds=seconds)
        return RunResult(model, path, 0, 0, seconds)

    model = load_model(previous, registry, device) if previous else family(config, data.spec).to(device)
    multiplier = lr_multiplier(model)
    optimizers = model.configure_optimizers()
    # the configured rates, read before restore_optimizers loads a resumed run's decayed ones
    base_rates = {name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()}
    start, earlier_seconds = 0, 0.0
    if previous is not None:
        if model.lr_schedule != "constant" and previous.metadata["total_steps"] != steps:
            raise UserError(f"{path} holds a run planned for {previous.metadata['total_steps']} steps, and with "
                            f"lr_schedule={model.lr_schedule} its learning rates follow that length; train it "
                            f"with --steps {previous.metadata['total_steps']}, or choose another --out")
        restore_optimizers(previous, optimizers)
        start, earlier_seconds = previous.step, previous.metadata["seconds"]
    model.train()
    if track is not None and previous is not None and start < steps and start % track_every == 0:
        track(start, model)
    last_saved = start if previous is not None else None
    real_items = data.train.x.to(device)
    first_losses = losses = None
    for step in range(start, steps):
        manual_seed(seed, "train.step", step)
        factor = multiplier(step / steps)
        for name, optimizer in optimizers.items():
            for group, rate in zip(optimizer.param_groups, base_rates[name], strict=True):
                group["lr"] = rate * factor
        index = torch.randint(len(real_items), (model.real_items_per_step(),)).to(device)
        losses = model.training_step(real_items[index], optimizers)
        first_losses = first_losses or losses
        if not all(math.isfinite(v) for v in losses.values()) or not _finite(model):
            kept = (f"kept the last good checkpoint {path} (step {last_saved})" if last_saved is not None
                    else "no checkpoint had been written yet")
            raise Diverged(f"diverged at step {step + 1} (losses {fmt_losses(losses)}); {kept}; "
                           f"try a lower learning rate with --set lr=...")
        tracked = track is not None and (step + 1) % track_every == 0
        if tracked or (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            save(model, step=step + 1, total_steps=steps, optimizers=optimizers,
                 seconds=earlier_seconds + time.perf_counter() - started)
            last_saved = step + 1
        if tracked and track is not None:  # (tracked implies it, which mypy cannot see through a variable)
            track(step + 1, model)
        if on_step is not None:
            on_step(step + 1, steps, losses)
    return RunResult(model, path, max(steps, start), start, earlier_seconds + time.perf_counter() - started,
                     first_losses, losses)


def construct(family: type, config, data: LoadedDataset, seed: int, device: torch.device) -> GanModel:
    """Build a constructed family from the training split (its choices follow the seed)."""
    manual_seed(seed, "train.init")
    model = family(config, data.spec).to(device)
    model.construct(data.train.x.to(device), derive(seed, "construct"))
    return model


def _previous_run(path: Path, family_name: str, config, data: LoadedDataset, seed: int) -> Checkpoint | None:
    """The checkpoint to resume from, or None; a checkpoint of a different run is never overwritten."""
    if not path.exists():
        return None
    previous = read_checkpoint(path)
    meta = previous.metadata
    same = (meta["family"] == family_name and meta["config"] == dataclasses.asdict(config) and meta["seed"] == seed
            and meta["dataset"].get("fingerprint") == data.fingerprint
            and meta["dataset"].get("split_seed") == data.seed and meta["dataset"].get("seed_scheme") == SCHEME)
    if not same:
        raise UserError(f"{path} holds a different run ({meta['family']} on {meta['dataset'].get('name')}, "
                        f"seed {meta['seed']}, another config, or an older seed scheme); choose another --out or "
                        f"remove that file")
    return previous


def _finite(model: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


def fmt_losses(losses: dict) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in losses.items())
