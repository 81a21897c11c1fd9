"""The `gan-zoo` command line."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import traceback
from pathlib import Path

import click
import torch

from gan_zoo.app import gauntlet_report
from gan_zoo.app.bench import (
    EXECUTORS,
    phase_of,
    plan,
    read_results,
    run_jobs,
    store,
    write_artifacts,
    write_suite_record,
)
from gan_zoo.app.checks import image_samples_failed
from gan_zoo.app.jobs import load_suite
from gan_zoo.app.plots import write_samples_png
from gan_zoo.app.report import FORMATS, print_summary, table_lines, write_report
from gan_zoo.app.running import Progress, SuiteEta, folder_lock, heartbeat, remove_stale_temporaries
from gan_zoo.app.tracking import TrainTracking, onset_lines
from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.config import Text, apply_overrides
from gan_zoo.datasets import LoadedDataset, default_root, open_dataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes, atomic_write_json, refuse_overwriting_inputs, versions
from gan_zoo.harness.api import is_checkpoint, resolve
from gan_zoo.harness.discriminators import parse_capacities
from gan_zoo.harness.evaluate import DEFAULT_METRICS, EvalConfig, evaluate
from gan_zoo.harness.modes import mode_coverage
from gan_zoo.harness.sources import RANGES
from gan_zoo.registry import registry
from gan_zoo.training import fmt_losses, run

DEVICE = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                      help="Where to compute; auto picks CUDA when present.")
THREADS = click.option("--threads", type=click.IntRange(min=1, max=1024), default=1, show_default=True,
                       help="Torch threads; 1 is fastest for gan-zoo's small models on a shared 2-core machine "
                            "(benchmarks/RESULTS.md), and recorded in every result.")
QUIET = click.option("--quiet", is_flag=True, help="No progress output (errors and warnings still show).")
DATA_ROOT = click.option("--data-root", type=click.Path(path_type=Path), default=None,
                         help="Folder with the data set's files (default: $GAN_ZOO_DATA/NAME or ./data/NAME).")


class Group(click.Group):
    """Turns UserError (and, without --debug, any error) into one line on stderr and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"gan-zoo: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("gan-zoo: interrupted; checkpoints and results written so far are kept", err=True)
            sys.exit(130)
        except click.UsageError as exc:  # an option's value, parsed by click: one line too, with where to look
            command = f" {exc.ctx.info_name}" if exc.ctx is not None and exc.ctx.parent is not None else ""
            click.echo(f"gan-zoo: error: {exc.format_message()} (gan-zoo{command} --help)", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # the file system said no: a read-only folder, a full disk
            if ctx.obj and ctx.obj.get("debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"gan-zoo: error: {where}{exc.strerror or exc}; check the path, its permissions and free space",
                       err=True)
            sys.exit(1)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"gan-zoo: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                       f"traceback)", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="gan-zoo")
@click.pass_context
def main(ctx, debug):
    """gan-zoo: a pluggable GAN zoo with an adversarial evaluation harness.

    \b
    Example:
      gan-zoo bench quick                     # every built-in family, evaluated; writes a leaderboard
      gan-zoo train vanilla --dataset ring8 --out runs/ring8
      gan-zoo sample runs/ring8/model.safetensors -n 2500 --out runs/ring8/samples.png
    """
    ctx.obj = {"debug": debug}


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    for line in table_lines(rows, header):
        click.echo(line)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json):
    """List installed plugins, their versions, what they register, and any load errors.

    \b
    Example:
      gan-zoo plugins --json
    """
    found = [p.to_json() for p in registry().plugins]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    rows = [[p["name"], p["distribution"], p["version"],
             f"ERROR: {p['error']}" if p["error"] else
             "; ".join(f"{k}: {', '.join(v)}" for k, v in p["registers"].items() if v)] for p in found]
    _print_table(rows, ["plugin", "distribution", "version", "registers"])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def families(as_json):
    """List the registered families.

    \b
    Example:
      gan-zoo families --json
    """
    _list_registered("families", as_json, lambda cls: cls.summary(),
                     ["family", "kind", "players", "plugin", "description"],
                     lambda f: [f["name"], f["kind"], "+".join(f["players"]), f["plugin"], f["description"]])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def datasets(as_json):
    """List the registered data sets (and the files the file-backed ones expect).

    \b
    Example:
      gan-zoo datasets
    """
    _list_registered("datasets", as_json, lambda source: source.summary(), ["dataset", "plugin", "description"],
                     lambda d: [d["name"], d["plugin"], d["description"] + (f" [files: {d['files']}]" if d["files"]
                                                                            else "")])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def metrics(as_json):
    """List the registered metrics: what each measures, which way is worse, what it needs, its settings.

    \b
    Example:
      gan-zoo metrics --json
    """
    _list_registered("metrics", as_json, lambda cls: cls.summary_json(),
                     ["metric", "worse", "needs", "plugin", "description"],
                     lambda m: [m["name"], m["worse"], "+".join(m["needs"]), m["plugin"], m["description"]])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def features(as_json):
    """List the registered feature spaces metrics can measure in.

    \b
    Example:
      gan-zoo features
    """
    _list_registered("feature_spaces", as_json, lambda cls: cls.summary(), ["feature space", "plugin", "description"],
                     lambda f: [f["name"], f["plugin"], f["description"]])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def discriminators(as_json):
    """List the registered evaluation discriminator classes (for the neural-net distance).

    \b
    Example:
      gan-zoo discriminators
    """
    _list_registered("discriminators", as_json,
                     lambda d: {"name": d.name, "description": d.description, "fixed_capacity": d.fixed_capacity},
                     ["discriminator", "plugin", "description"], lambda d: [d["name"], d["plugin"], d["description"]])


def _list_registered(kind: str, as_json: bool, summary, header: list[str], cells) -> None:
    """What is registered of one kind, with the plugin of each: as JSON, or as a table of `cells(summary)`."""
    reg = registry()
    found = [{**summary(item), "plugin": reg.plugin_of(kind, name).label}
             for name, item in sorted(getattr(reg, kind).items())]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    _print_table([cells(f) for f in found], header)


def _open(name: str, seed: int, root: Path | None) -> LoadedDataset:
    return open_dataset(registry().dataset(name), seed=seed, root=root)


def _known_modes(data: LoadedDataset, model, n: int, seed: int) -> dict | None:
    if data.heldout.modes is None:
        return None
    return mode_coverage(model.sample(n, seed=seed), data.heldout.modes, data.heldout.mode_std)


@main.command()
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
def train(family, dataset_name, steps, seed, device, threads, quiet, out, assignments, checkpoint_every, data_root,
          track, track_every, track_n, track_budget, keep_tracked, track_options):
    """Train (or construct) FAMILY on a data set; writes OUT/model.safetensors and OUT/run.json.

    Running the same command again resumes an interrupted run from its last checkpoint (and its trajectory).

    \b
    Example:
      gan-zoo train vanilla --dataset ring8 --steps 3000 --set lr=5e-4 --out runs/ring8
      gan-zoo train vanilla --dataset digits --track ct,authpct,fd --track-every 500 --out runs/d
    """
    set_threads(threads)
    reg = registry()
    family_cls = reg.family(family)
    config = apply_overrides(family_cls.Config(), assignments)
    data = _open(dataset_name, seed, data_root)
    steps = family_cls.steps_for(data.spec) if steps is None else steps
    out = out or Path("runs") / f"{family}-{dataset_name}-seed{seed}"
    refuse_overwriting_inputs([("--out", out / "model.safetensors"), ("--out", out / "run.json")],
                              _data_files(reg, dataset_name, data_root))
    torch_device = resolve_device(device)
    if track is None and (track_every or track_n or keep_tracked or track_options):
        raise UserError("--track-every, --track-n, --keep-tracked and -o go with --track METRICS; name the metrics")
    with folder_lock(out):
        tracking = None if track is None else TrainTracking(
            track, track_every, steps, family_cls.kind == "trained", data=data, out=out, n=track_n,
            budget=track_budget, keep=keep_tracked, seed=seed, device=torch_device,
            options=_eval_settings(track_options, *[None] * 7),
            run={"family": family, "config": dataclasses.asdict(config), "seed": seed, "steps": steps})
        progress = Progress(f"train {family} on {dataset_name}", steps if family_cls.kind == "trained" else 0,
                            quiet=quiet)

        def on_step(step, total, losses):
            if step % 25 == 0 or step == total:
                progress.update(step, fmt_losses(losses))

        try:
            result = run(reg, family, config, data, out=out, seed=seed, steps=steps, device=torch_device,
                         checkpoint_every=checkpoint_every, on_step=on_step,
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
                  "facts": result.model.facts(), "modes": _known_modes(data, result.model, 2500, seed)}
        if tracking:
            record["tracking"] = tracking.summary()
        atomic_write_json(out / "run.json", record)
    click.echo(f"checkpoint: {result.checkpoint}")
    if record["modes"]:
        m = record["modes"]
        click.echo(f"modes captured: {m['modes_captured']}/{m['n_modes']}  high quality: "
                   f"{m['high_quality_fraction']:.1%}  reverse KL: {m['reverse_kl']}")
    for line in onset_lines(tracking.tracker) if tracking else []:
        click.echo(line)
    for warning in suspicious(result, data, record["modes"]):
        click.echo(f"gan-zoo: warning: {warning}", err=True)


def suspicious(result, data: LoadedDataset, modes: dict | None) -> list[str]:
    """What about a finished run deserves a second look, each with what to try."""
    warnings = []
    model = result.model
    if modes is not None and modes["modes_captured"] == 0:
        hint = (" (its learning rate decays to 0 over the run, so a short run barely moves: train the default "
                "length, or --set lr_schedule=constant)" if model.kind == "trained" and model.lr_schedule == "linear"
                else "; train longer or check the learning rate")
        warnings.append(f"no mode captured{hint}")
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


@main.command()
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
    source = registry().datasets.get(name)
    return None if source is None or source.needs_files else source.load(None).modes


@main.command(name="eval")
@click.argument("target", metavar="SOURCE")
@click.option("--dataset", "dataset_name", default=None,
              help="The registered data set to judge against (default: a checkpoint's own; required otherwise).")
@click.option("--metrics", default=",".join(DEFAULT_METRICS), show_default=True,
              help="Comma-separated metrics (`gan-zoo metrics` lists them); those that do not apply are skipped.")
@click.option("-o", "--option", "options", multiple=True, metavar="METRIC.KEY=VALUE",
              help="A metric's or feature space's setting, e.g. -o birthday.trials=5 -o features.classifier.steps=300.")
@click.option("--capacities", default=None, help="nn_distance: discriminator capacities p, e.g. 1e3,1e4,1e5.")
@click.option("--discriminator", default=None,
              help="nn_distance: discriminator class (mlp, mlp:DEPTH, conv, timm:ARCH).")
@click.option("--ensemble", "members", type=click.IntRange(min=1, max=1024), default=None,
              help="nn_distance: discriminators per capacity (default 8).")
@click.option("--ensemble-steps", type=click.IntRange(min=1, max=10**6), default=None,
              help="nn_distance: optimizer steps per discriminator (default 300).")
@click.option("--phi", type=click.Choice(["log", "identity"]), default=None,
              help="nn_distance: log (D in (0,1), the GAN objective) or identity (the Wasserstein form).")
@click.option("--birthday-embedding", type=click.Choice(["pixels", "classifier"]), default=None,
              help="birthday: the space pair distances are measured in (default pixels).")
@click.option("--inception-weights", type=click.Path(path_type=Path), default=None,
              help="A local InceptionV3 weights file for the inception feature space (nothing is downloaded).")
@click.option("--range", "image_range", type=click.Choice(list(RANGES)), default="auto", show_default=True,
              help="The value range of image samples; auto detects uint8 0..255, float [0,1] or [-1,1].")
@click.option("--resize", is_flag=True, help="Resize images (and convert channels) to the data set's shape.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Config of a constructed family built on the fly.")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=0, show_default=True,
              help="Seeds every draw and discriminator (and a source's data split).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Write the record here.")
@click.option("--montage", type=click.Path(path_type=Path), default=None,
              help="Birthday montage PNG (default: beside --json).")
@click.option("--force", is_flag=True, help="Overwrite --json and --montage files that exist.")
@DEVICE
@THREADS
@QUIET
@DATA_ROOT
def evaluate_command(target, dataset_name, metrics, options, capacities, discriminator, members, ensemble_steps, phi,
                     birthday_embedding, inception_weights, image_range, resize, assignments, seed, json_out, montage,
                     force, device, threads, quiet, data_root):
    """Judge SOURCE against a data set with every metric that applies.

    SOURCE is a gan-zoo checkpoint, a constructed family's name, a folder of PNG/JPEG images, an array file
    (.npy, .npz), a samples .safetensors, or a Python callable (path/to/file.py:function or
    package.module:function) called as function(n, seed). A folder or an array file holds a finite set of
    samples: each metric draws distinct items and cuts its protocol to what fits, and says so.

    \b
    Example:
      gan-zoo eval memorizer --dataset digits --set m=400 --json runs/memo.json
      gan-zoo eval samples.npz --dataset digits --metrics birthday,fd
      gan-zoo eval mygen.py:sample --dataset ring8 --metrics nn_distance,modes --capacities 1e3,1e4
    """
    set_threads(threads)
    reg = registry()
    montage = montage or (json_out.with_suffix(".montage.png") if json_out else None)
    settings, feature_settings = _eval_settings(options, capacities, discriminator, members, ensemble_steps, phi,
                                                birthday_embedding, inception_weights)
    # checked before any work: never write over what this command reads, nor over a file unasked
    weights = [Path(table["weights"]) for table in feature_settings.values()
               if isinstance(table, dict) and isinstance(table.get("weights"), str)]
    refuse_overwriting_inputs([("--json", json_out), ("--montage", montage)],
                              [_read_path(target), *_data_files(reg, dataset_name, data_root, montage), *weights])
    for path in (json_out, montage):
        if path is not None and path.exists() and not force:
            raise UserError(f"{path} exists; choose another path, or pass --force to overwrite it")
        if path is not None and path.parent.exists() and not path.parent.is_dir():
            raise UserError(f"{path.parent} is a file, not a folder; choose another path")
    config = EvalConfig.build(reg, metrics, settings, feature_settings, where=lambda key: f"--metrics/-o {key}")
    torch_device = resolve_device(device)
    source, data = resolve(target, dataset=dataset_name, reg=reg, device=torch_device, seed=seed,
                           data_root=data_root, assignments=assignments, image_range=image_range, resize=resize)
    started = time.monotonic()

    def report(text):
        if not quiet:
            click.echo(f"eval {source.name}: {text} [{time.monotonic() - started:.0f} s]", err=True)

    evaluation = evaluate(source, data, reg, config, seed=seed, device=torch_device, report=report)
    if montage is not None:
        write_artifacts(evaluation, montage)
    record = evaluation.record
    if json_out:
        atomic_write_json(json_out, record)
    click.echo(summary_table(record, reg))
    if record["overlap"].get("warning"):  # the source holds held-out items (harness/overlap.py)
        click.echo(f"gan-zoo: warning: {record['overlap']['warning']}", err=True)
    for items, status in record["features_cache"].items():  # gan_zoo/cache.py: a damaged entry was replaced
        if status.startswith("recomputed"):
            click.echo(f"gan-zoo: warning: features of {items} {status}", err=True)
    if json_out:
        click.echo(f"record: {json_out}")
    if record["errors"]:
        sys.exit(1)


def _read_path(reference: str) -> Path:
    """The file or folder a source reference reads: a callable's code file, or the path itself."""
    target, _, attribute = reference.rpartition(":")
    if ":" in reference and not Path(reference).exists() and attribute.isidentifier() and target.endswith(".py"):
        return Path(target)
    return Path(reference)


def _data_files(reg, name: str | None, root: Path | None, picture: Path | None = None) -> list[Path]:
    """The files a file-backed data set may read that an output could land on: those in its folder, and `picture`
    when it already exists below it (image folders are read recursively). Listing only these, not the whole tree,
    lets a run keep its outputs under a data folder (--data-root .) and resume there."""
    source = reg.datasets.get(name) if name else None
    folder = (root or default_root(name)) if source is not None and source.needs_files else None
    if folder is None or not folder.is_dir():
        return []
    below = picture is not None and picture.is_file() and folder.resolve() in picture.resolve().parents
    return [path for path in folder.iterdir() if path.is_file()] + ([picture] if below else [])


def _eval_settings(options, capacities, discriminator, members, steps, phi, embedding, weights):
    """Metric and feature-space settings from -o METRIC.KEY=VALUE and the shortcut options."""
    settings: dict = {}
    features: dict = {}
    for option in options:
        key, sep, text = option.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise UserError(f"-o {option!r}: expected METRIC.KEY=VALUE, e.g. -o birthday.trials=5")
        table = features if parts[0] == "features" else settings
        parts = parts[1:] if parts[0] == "features" else parts
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise UserError(f"-o {option!r}: {part} is set twice")
        table[parts[-1]] = Text(text.strip())  # parsed by the setting's type when the settings are checked
    nn = settings.setdefault("nn_distance", {}) if any(v is not None for v in (capacities, discriminator, members,
                                                                              steps, phi)) else {}
    if capacities is not None:
        nn["capacities"] = parse_capacities(capacities)
    if discriminator is not None:
        nn["discriminator"] = discriminator
    ensemble = {k: v for k, v in (("members", members), ("steps", steps), ("phi", phi)) if v is not None}
    if ensemble:
        nn.setdefault("ensemble", {}).update(ensemble)
    if embedding is not None:
        settings.setdefault("birthday", {})["features"] = embedding
    if weights is not None:
        features.setdefault("inception", {})["weights"] = str(weights)
    return settings, features


def summary_table(record: dict, reg) -> str:
    source = record["source"]
    size = f"{source['size']} items" if source["finite"] else "a distribution"
    lines = [f"{record['display_name']} ({source['kind']}, {size}) on {record['dataset']['name']}"]
    for name, result in record["metrics"].items():
        metric = reg.metrics.get(name)
        text = metric().summary(result) if metric else f"{name}: (plugin not installed)"
        lines.extend("  " + line for line in text.splitlines())
    for name, reason in record["skipped"].items():
        lines.append(f"  {name}: skipped, {reason}")
    for name, reason in record["errors"].items():
        lines.append(f"  {name}: refused, {reason}")
    return "\n".join(lines)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def suites(as_json):
    """List the registered benchmark suites (run one with `gan-zoo bench NAME`).

    \b
    Example:
      gan-zoo suites
    """
    _list_registered("suites", as_json,
                     lambda suite: {"name": suite.name, "path": str(suite.path), "description": suite.description},
                     ["suite", "plugin", "description"], lambda s: [s["name"], s["plugin"], s["description"]])


@main.command()
@click.argument("suite_name", metavar="SUITE_OR_PATH")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: runs/bench-SUITE). Running again resumes it.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="local: this machine; ray: Ray tasks (pip install 'gan-zoo[ray]').")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for the local executor (each job uses the suite's [resources] cpus threads).")
@click.option("--address", default=None, help="Ray cluster to join, e.g. auto or ray://HOST:10001 "
              "(default: start a local Ray instance).")
@click.option("--retry-failed", is_flag=True, help="Run failed and diverged jobs again.")
@click.option("--force", is_flag=True, help="Write into an --out that holds another suite's results.")
@QUIET
@DEVICE
def bench(suite_name, out, executor, jobs, address, retry_failed, force, quiet, device):
    """Run a benchmark suite (a built-in name or a TOML file) and write its leaderboard.

    Each job's result is written as soon as it finishes; running the same command again skips finished jobs,
    so an interrupted run resumes. See `gan-zoo suites` for the built-in suites.

    \b
    Example:
      gan-zoo bench quick
      gan-zoo bench my-suite.toml --out runs/mine --jobs 2
      gan-zoo bench paper --executor ray --address auto
    """
    reg = registry()
    suite = load_suite(suite_name, reg)
    out = out or Path("runs") / f"bench-{suite.name}"
    refuse_overwriting_inputs([("--out", out)], [suite.path, *(_read_path(job.source) for job in suite.jobs
                                                               if job.source)])
    with folder_lock(out):
        recorded = out / "suite.json"
        if recorded.exists() and not force:
            try:
                other = json.loads(recorded.read_text()).get("name")
            except (OSError, ValueError, AttributeError):
                other = "(unreadable)"
            if other != suite.name:
                raise UserError(f"{out} holds the results of suite {other!r}, not {suite.name!r}; choose another "
                                f"--out, or pass --force to add this suite's results there")
        removed = remove_stale_temporaries(out)
        if removed:
            click.echo(f"removed {removed} half-written file(s) an interrupted run left", err=True)
        _run_suite(suite, out, executor, jobs, address, retry_failed, quiet, device)


def _run_suite(suite, out, executor, jobs, address, retry_failed, quiet, device):
    click.echo(f"leaderboard: {out / 'leaderboard.html'} (and .md, .json; written when the suite ends)")
    pending, results = plan(suite, out, retry_failed)
    write_suite_record(suite, out)
    click.echo(f"suite {suite.name}: {len(suite.jobs)} jobs, {len(results)} finished before, {len(pending)} to run "
               f"({executor}{f', {jobs} workers' if executor == 'local' and jobs > 1 else ''})", err=True)
    workers = jobs if executor == "local" else len(pending)
    eta = SuiteEta([(job.key, job.family or job.source, job.dataset, job.steps) for job in pending], workers)
    progress = Progress(f"bench {suite.name}", len(suite.jobs), initial=len(results), quiet=quiet, unit="job",
                        every=30.0, eta=eta.remaining)
    waiting = list(pending)
    started = time.monotonic()
    for job in waiting[:workers]:
        eta.start(job.key, started)

    def status() -> str:  # jobs start in suite order, so the first waiting ones are those running
        if executor == "ray":
            return f"{len(waiting)} on Ray"
        running = "; ".join(f"{job.title}: {phase_of(out, job.key)}" for job in waiting[:jobs])
        return f"running {running} ({time.monotonic() - started:.0f} s)" if waiting else ""

    try:
        with heartbeat(lambda: progress.update(progress.done, status()), every=5.0):
            for outcome in run_jobs(pending, out, executor=executor, jobs=jobs, address=address, device=device):
                record = store(out, outcome)
                results[record["key"]] = record
                finished = next(job for job in waiting if job.key == record["key"])
                waiting.remove(finished)
                started = time.monotonic()
                eta.finish(finished.key, (record.get("train") or {}).get("seconds"), record["seconds"])
                for job in waiting[:workers]:
                    eta.start(job.key, started)
                detail = f": {record['error']}" if record["error"] else ""
                progress.note(f"[{len(results)}/{len(suite.jobs)}] {record['status']:8} {finished.title} "
                              f"({record['seconds']:.0f} s){detail}")
                progress.update(len(results), status())
    finally:
        progress.close()
    ordered = [results[job.key] for job in suite.jobs if job.key in results]
    board, written = write_report(out, ordered, suite=suite.name)
    gauntlet = gauntlet_report.build(ordered, registry())
    if gauntlet:
        for name, header, rows in gauntlet_report.text_tables(gauntlet):
            click.echo(f"\n{name}")
            _print_table(rows, header)
    else:
        print_summary(board, written["html"])
    click.echo(f"leaderboard: {written['html']} (and {written['md']}, {written['json']})")
    failed = [r for r in ordered if r["status"] == "failed"]
    if failed:
        click.echo(f"gan-zoo: {len(failed)} job(s) failed (listed in the leaderboard); fix the cause and run "
                   f"again with --retry-failed", err=True)
        sys.exit(1)


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True,
              help="Comma-separated: md, html, json.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the leaderboard (default: RESULTS_DIR).")
def report(results_dir, formats, out):
    """Write the leaderboard of a results folder (what `gan-zoo bench --out` wrote).

    \b
    Example:
      gan-zoo report runs/bench-quick --format html --out site/
    """
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown or not chosen:
        raise UserError(f"--format {formats}: choose from {', '.join(FORMATS)}")
    if not (results_dir / "results").is_dir():
        raise UserError(f"{results_dir}: no results/ folder here; give the --out folder of a `gan-zoo bench` run")
    results = read_results(results_dir)
    suite = None
    if (results_dir / "suite.json").exists():  # report the suite as it now stands, not results of older versions
        recorded = json.loads((results_dir / "suite.json").read_text())
        suite = recorded["name"]
        keys = [job["key"] for job in recorded["jobs"]]
        left_out = len(set(results) - set(keys))
        if left_out:
            click.echo(f"{left_out} result(s) of jobs no longer in the suite left out", err=True)
        results = {key: results[key] for key in keys if key in results}
    if not results:
        raise UserError(f"{results_dir}: no job results yet; run `gan-zoo bench` with --out {results_dir}")
    _, written = write_report(results_dir, list(results.values()), suite=suite, out=out, formats=chosen)
    for path in written.values():
        click.echo(f"wrote {path}")


@main.command()
@click.argument("action", type=click.Choice(["list", "clear"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (list).")
def cache(action, as_json):
    """List or clear the feature cache: reference features kept on disk between runs, keyed by content.

    Features of a data set's splits (and of finite sources) in a network's space are computed once and read back
    by every later evaluation with the same items, weights and preprocessing. Trained domain classifiers live
    beside them ($GAN_ZOO_CACHE, else ~/.cache/gan-zoo) and are not cleared.

    \b
    Example:
      gan-zoo cache list
      gan-zoo cache clear
    """
    from gan_zoo import cache as feature_cache

    if action == "clear":
        click.echo(f"removed {feature_cache.clear()} feature entries from {feature_cache.features_dir()}")
        return
    entries = feature_cache.list_entries()
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    rows = [[e.get("dataset", "?"), e.get("space", "?"), e.get("items", "?"), "x".join(map(str, e.get("shape", []))),
             f"{e['bytes'] / 2**20:.1f} MB", e.get("damaged", "")] for e in entries]
    _print_table(rows, ["dataset", "space", "items", "shape", "size", "damaged"])
    total = sum(e["bytes"] for e in entries)
    click.echo(f"{len(entries)} entries, {total / 2**20:.1f} MB in {feature_cache.features_dir()}")
