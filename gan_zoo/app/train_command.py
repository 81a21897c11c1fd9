"""`gan-zoo train` and `gan-zoo sample`: train (or construct) a family on a data set, and draw from a checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import click
import torch

from gan_zoo.app.checks import image_samples_failed
from gan_zoo.app.eval_command import eval_settings
from gan_zoo.app.options import DATA_ROOT, DEVICE, QUIET, THREADS, data_files, open_data, set_threads
from gan_zoo.app.plots import write_samples_png
from gan_zoo.app.running import Progress, folder_lock
from gan_zoo.app.tracking import TrainTracking, onset_lines
from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.config import apply_overrides
from gan_zoo.datasets import LoadedDataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes, atomic_write_json, refuse_overwriting_inputs, versions
from gan_zoo.harness.api import is_checkpoint
from gan_zoo.metrics import EvalContext
from gan_zoo.registry import registry
from gan_zoo.sources import ModelSource
from gan_zoo.training import fmt_losses, run


@dataclass
class TrainRequest:
    """What `gan-zoo train` was asked: one object instead of a parameter per option."""

    family: str
    dataset_name: str
    steps: int | None = None  # None: the family's own default for this kind of data
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    quiet: bool = False
    out: Path | None = None  # None: runs/FAMILY-DATASET-seedS
    assignments: tuple[str, ...] = ()  # --set KEY=VALUE, the family's config
    checkpoint_every: int = 500
    data_root: Path | None = None
    track: str | None = None  # the metrics evaluated along training, comma-separated
    track_every: int | None = None
    track_n: int | None = None
    track_budget: float = 0.5
    keep_tracked: bool = False
    track_options: tuple[str, ...] = ()  # -o METRIC.KEY=VALUE, the tracked metrics' settings


@click.command()
@click.argument("family")
@click.option("--dataset", "dataset_name", required=True, help="A registered data set (see `gan-zoo datasets`).")
@click.option("--steps", type=click.IntRange(min=1, max=10**9), default=None,
              help="Training steps (default: the family's own default for this kind of data).")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=0, show_default=True,
              help="Seeds the initial weights, every step's batches, and the data split.")
@DEVICE
@THREADS
@QUIET
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: runs/FAMILY-DATASET-seedS); running again resumes the run there.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a config setting.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=500, show_default=True,
              help="Write the checkpoint every N steps (and at the end), so an interrupted run resumes from there.")
@DATA_ROOT
@click.option("--track", default=None, metavar="METRICS",
              help="Evaluate the generator along training with these metrics (comma-separated), into "
                   "OUT/trajectory.jsonl and OUT/trajectory-METRIC.png, against real-data control runs.")
@click.option("--track-every", type=click.IntRange(min=1), default=None,
              help="Track every N steps (and at the end)  [default: a tenth of the run]")
@click.option("--track-n", type=click.IntRange(min=2), default=None,
              help="Items judged per tracked point  [default: 500, or half the held-out split]")
@click.option("--track-budget", type=click.FloatRange(min=0, max=1, min_open=True), default=0.5, show_default=True,
              help="Most of the run's time tracking may take; a point that would exceed it is skipped (recorded).")
@click.option("--keep-tracked", is_flag=True, help="Keep the checkpoint of every tracked step in OUT/tracked/.")
@click.option("-o", "track_options", multiple=True, metavar="METRIC.KEY=VALUE",
              help="A tracked metric's setting, as in `gan-zoo eval`, e.g. -o ct.features=pixels.")
def train(**request):
    """Train (or construct) FAMILY on a data set; writes OUT/model.safetensors and OUT/run.json.

    Running the same command again resumes an interrupted run from its last checkpoint (and its trajectory).

    \b
    Example:
      gan-zoo train vanilla --dataset ring8 --steps 3000 --set lr=5e-4 --out runs/ring8
      gan-zoo train vanilla --dataset digits --track ct,authpct,fd --track-every 500 --out runs/d
    """
    run_train(TrainRequest(**request))


def run_train(request: TrainRequest) -> None:
    family, dataset_name, seed, track = request.family, request.dataset_name, request.seed, request.track
    set_threads(request.threads)
    reg = registry()
    family_cls = reg.family(family)
    config = apply_overrides(family_cls.Config(), request.assignments)
    data = open_data(dataset_name, seed, request.data_root)
    steps = family_cls.steps_for(data.spec) if request.steps is None else request.steps
    out = request.out or Path("runs") / f"{family}-{dataset_name}-seed{seed}"
    refuse_overwriting_inputs([("--out", out / "model.safetensors"), ("--out", out / "run.json")],
                              data_files(reg, dataset_name, request.data_root))
    torch_device = resolve_device(request.device)
    if track is None and (request.track_every or request.track_n or request.keep_tracked or request.track_options):
        raise UserError("--track-every, --track-n, --keep-tracked and -o go with --track METRICS; name the metrics")
    with folder_lock(out):
        tracking = None if track is None else TrainTracking(
            track, request.track_every, steps, family_cls.kind == "trained", data=data, out=out, n=request.track_n,
            budget=request.track_budget, keep=request.keep_tracked, seed=seed, device=torch_device,
            options=eval_settings(request.track_options),
            run={"family": family, "config": dataclasses.asdict(config), "seed": seed, "steps": steps})
        progress = Progress(f"train {family} on {dataset_name}", steps if family_cls.kind == "trained" else 0,
                            quiet=request.quiet)

        def on_step(step, total, losses):
            if step % 25 == 0 or step == total:
                progress.update(step, fmt_losses(losses))

        try:
            result = run(reg, family, config, data, out=out, seed=seed, steps=steps, device=torch_device,
                         checkpoint_every=request.checkpoint_every, on_step=on_step,
                         track=tracking.at_step if tracking and family_cls.kind == "trained" else None,
                         track_every=tracking.every if tracking else 0)
            if tracking:
                tracking.at_step(result.step, result.model, final=True)
        finally:
            progress.close()
        if result.resumed_from:
            click.echo(f"resumed from step {result.resumed_from}", err=True)
        record = {"family": family, "plugin": reg.plugin_of("families", family).label, "dataset": data.to_json(),
                  "seed": seed, "steps": result.step, "config": dataclasses.asdict(config),
                  "device": str(torch_device), "threads": torch.get_num_threads(),
                  "checkpoint": str(result.checkpoint), "seconds": round(result.seconds, 3), "versions": versions(),
                  "facts": result.model.facts()}
        measured = after_training(reg, result.model, data, seed, torch_device)
        # each under its metric's name (run.json's `modes`, as before), never over one of the run's own keys
        record.update({name: found for name, found in measured.items() if name not in record})
        if tracking:
            record["tracking"] = tracking.summary()
        atomic_write_json(out / "run.json", record)
    click.echo(f"checkpoint: {result.checkpoint}")
    problems = []
    for name, found in measured.items():
        metric = reg.metric(name)()
        click.echo(metric.training_line(found))
        problems += [problem] if (problem := metric.training_problem(found)) else []
    for line in onset_lines(tracking.tracker) if tracking else []:
        click.echo(line)
    for warning in suspicious(result, data, problems):
        click.echo(f"gan-zoo: warning: {warning}", err=True)


def after_training(reg, model, data: LoadedDataset, seed: int, device) -> dict[str, dict]:
    """The results of the metrics measured at the end of a training run (Metric.after_training) that apply to this
    data set, at their default settings, by name."""
    ctx = EvalContext(ModelSource(model), data, reg, seed=seed, device=device)
    found = {}
    for name, cls in reg.metrics.items():
        metric, config = cls(), cls.Config()
        if cls.after_training and metric.applies(ctx, config) is None:
            found[name] = metric.compute(ctx, config)
    return found


def suspicious(result, data: LoadedDataset, problems: list[str]) -> list[str]:
    """What about a finished run deserves a second look (the problems the metrics measured after training found,
    and the run's own), each with what to try."""
    warnings = []
    model = result.model
    hint = (" (its learning rate decays to 0 over the run, so a short run barely moves: train the default "
            "length, or --set lr_schedule=constant)" if model.kind == "trained" and model.lr_schedule == "linear"
            else "; train longer or check the learning rate")
    warnings += [f"{problem}{hint}" for problem in problems]
    first, last = result.first_losses, result.last_losses
    if first and last and result.step - result.resumed_from > 1 and all(
            abs(first[k] - last[k]) <= 1e-6 * max(1.0, abs(first[k])) for k in first):
        warnings.append("the losses never moved; check the learning rate (--set lr=...) and the data")
    samples = model.sample(1000, seed=0)
    low, high = data.train.x.min().item(), data.train.x.max().item()
    spread = high - low
    if samples.min().item() < low - spread or samples.max().item() > high + spread:
        warnings.append(f"samples reach [{samples.min().item():.3g}, {samples.max().item():.3g}], far outside the "
                        f"data's [{low:.3g}, {high:.3g}]; train longer or lower the learning rate")
    failed = image_samples_failed(model, data) if data.spec.is_image and model.kind == "trained" else None
    if failed:
        warnings.append(f"{failed}; train longer (the family's default length) or check the learning rate")
    return warnings


@click.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1, max=10**7), default=64, show_default=True,
              help="How many samples.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="FILE.png (image grid, or scatter for 2-D data) or FILE.safetensors (the samples).")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=0, show_default=True,
              help="The same seed draws the same samples.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists (never a checkpoint).")
@DEVICE
@THREADS
def sample(checkpoint, n, out, seed, force, device, threads):
    """Draw N samples from a checkpoint into a PNG or a .safetensors file.

    \b
    Example:
      gan-zoo sample runs/ring8/model.safetensors -n 2500 --out samples.png
    """
    set_threads(threads)
    if out.suffix not in (".png", ".safetensors"):
        raise UserError(f"--out {out}: write a .png (picture) or a .safetensors (the samples)")
    refuse_overwriting_inputs([("--out", out)], [checkpoint])
    if out.exists():
        if out.is_dir() or _holds_checkpoint(out):
            raise UserError(f"--out {out} is a checkpoint or a folder; it is never written over: choose another path")
        if not force:
            raise UserError(f"--out {out} exists; choose another path, or pass --force to overwrite it")
    ckpt = read_checkpoint(checkpoint)
    model = load_model(ckpt, registry(), resolve_device(device))
    samples = model.sample(n, seed=seed)
    meta = ckpt.metadata
    if out.suffix == ".png":
        title = f"{meta['family']} on {meta['dataset'].get('name')}, step {meta['step']}"
        write_samples_png(out, samples, title, reference=_builtin_modes(meta["dataset"].get("name")))
    else:
        from safetensors.torch import save

        atomic_write_bytes(out, save({"samples": samples.contiguous()}, metadata={
            "family": meta["family"], "checkpoint": str(checkpoint), "seed": str(seed)}))
    click.echo(f"wrote {n} samples to {out}")


def _holds_checkpoint(path: Path) -> bool:
    try:
        return is_checkpoint(path)
    except UserError:  # not even a readable safetensors file: not a checkpoint
        return False


def _builtin_modes(name: str | None):
    """Mode centres to draw beside 2-D samples, for data sets that need no files."""
    source = registry().datasets.get(name) if name else None
    return None if source is None or source.needs_files else source.load(None).modes
