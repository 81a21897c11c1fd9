"""The `gan-zoo` command line."""

from __future__ import annotations

import dataclasses
import json
import sys
import traceback
from pathlib import Path

import click
from tqdm import tqdm

from gan_zoo.bench import EXECUTORS, plan, read_results, run_jobs, store, write_suite_record
from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.datasets import LoadedDataset, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.family import apply_overrides
from gan_zoo.files import atomic_write_bytes, atomic_write_json, versions
from gan_zoo.harness.discriminators import parse_capacities
from gan_zoo.harness.ensemble import EnsembleConfig
from gan_zoo.harness.evaluate import METRICS, EvalConfig, evaluate
from gan_zoo.harness.modes import mode_coverage
from gan_zoo.plots import write_samples_png
from gan_zoo.registry import registry
from gan_zoo.report import FORMATS, text_tables, write_report
from gan_zoo.suites import load_suite
from gan_zoo.training import construct, resolve_device, run

DEVICE = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                      help="Where to compute; auto picks CUDA when present.")
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
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
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


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


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
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Training steps (default: the family's own default).")
@click.option("--seed", type=int, default=0, show_default=True)
@DEVICE
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: runs/FAMILY-DATASET-seedS).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a config setting.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=500, show_default=True)
@DATA_ROOT
def train(family, dataset_name, steps, seed, device, out, assignments, checkpoint_every, data_root):
    """Train (or construct) FAMILY on a data set; writes OUT/model.safetensors and OUT/run.json.

    Running the same command again resumes an interrupted run from its last checkpoint.

    \b
    Example:
      gan-zoo train vanilla --dataset ring8 --steps 3000 --set lr=5e-4 --out runs/ring8
    """
    reg = registry()
    family_cls = reg.family(family)
    config = apply_overrides(family_cls.Config(), assignments)
    data = _open(dataset_name, seed, data_root)
    steps = family_cls.steps_for(data.spec) if steps is None else steps
    out = out or Path("runs") / f"{family}-{dataset_name}-seed{seed}"
    torch_device = resolve_device(device)
    result = run(reg, family, config, data, out=out, seed=seed, steps=steps, device=torch_device,
                 checkpoint_every=checkpoint_every)
    if result.resumed_from:
        click.echo(f"resumed from step {result.resumed_from}", err=True)
    record = {"family": family, "plugin": reg.plugin_of("families", family).label, "dataset": data.to_json(),
              "seed": seed, "steps": result.step, "config": dataclasses.asdict(config),
              "device": str(torch_device), "checkpoint": str(result.checkpoint),
              "seconds": round(result.seconds, 3), "versions": versions(), "facts": result.model.facts(),
              "modes": _known_modes(data, result.model, 2500, seed)}
    atomic_write_json(out / "run.json", record)
    click.echo(f"checkpoint: {result.checkpoint}")
    if record["modes"]:
        m = record["modes"]
        click.echo(f"modes captured: {m['modes_captured']}/{m['n_modes']}  high quality: "
                   f"{m['high_quality_fraction']:.1%}  reverse KL: {m['reverse_kl']}")


@main.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), default=64, show_default=True, help="How many samples.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="FILE.png (image grid, or scatter for 2-D data) or FILE.safetensors (the samples).")
@click.option("--seed", type=int, default=0, show_default=True)
@DEVICE
def sample(checkpoint, n, out, seed, device):
    """Draw N samples from a checkpoint into a PNG or a .safetensors file.

    \b
    Example:
      gan-zoo sample runs/ring8/model.safetensors -n 2500 --out samples.png
    """
    if out.suffix not in (".png", ".safetensors"):
        raise UserError(f"--out {out}: write a .png (picture) or a .safetensors (the samples)")
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


def _builtin_modes(name: str | None):
    """Mode centres to draw beside 2-D samples, for data sets that need no files."""
    source = registry().datasets.get(name)
    return None if source is None or source.needs_files else source.load(None).modes


@main.command(name="eval")
@click.argument("target", metavar="CHECKPOINT_OR_FAMILY")
@click.option("--dataset", "dataset_name", default=None,
              help="Data set (default: the checkpoint's own; required for a constructed family).")
@click.option("--metrics", default=",".join(METRICS), show_default=True, help="Comma-separated metrics.")
@click.option("--capacities", default="1e3,1e4,1e5", show_default=True,
              help="Discriminator capacities p (parameter counts) for the neural-net distance.")
@click.option("--discriminator", default="mlp", show_default=True,
              help="Evaluation discriminator class: mlp, mlp:DEPTH, conv, timm:ARCH.")
@click.option("--ensemble", "members", type=click.IntRange(min=1), default=8, show_default=True,
              help="Discriminators per capacity.")
@click.option("--ensemble-steps", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--phi", type=click.Choice(["log", "identity"]), default="log", show_default=True,
              help="log: D in (0,1), the GAN objective; identity: the Wasserstein form.")
@click.option("--birthday-embedding", type=click.Choice(["pixels", "classifier"]), default="pixels",
              show_default=True)
@click.option("--inception-weights", type=click.Path(path_type=Path), default=None,
              help="A local InceptionV3 weights file; default: a domain classifier trained here.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Config of a constructed family built on the fly.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Write the record here.")
@click.option("--montage", type=click.Path(path_type=Path), default=None,
              help="Birthday montage PNG (default: beside --json).")
@DEVICE
@DATA_ROOT
def evaluate_command(target, dataset_name, metrics, capacities, discriminator, members, ensemble_steps, phi,
                     birthday_embedding, inception_weights, assignments, seed, json_out, montage, device, data_root):
    """Measure a checkpoint, or a constructed family built on the fly, against its data set.

    Reports the neural-net distance per capacity (train and held-out, with the noise floor), the Inception
    Score and Frechet distance in a domain classifier's space, birthday-paradox support estimates, mode coverage
    and, for encoders, a linear probe: whatever applies to the data.

    \b
    Example:
      gan-zoo eval memorizer --dataset digits --set m=400 --json runs/memo.json
      gan-zoo eval runs/ring8/model.safetensors --metrics nn_distance,modes --capacities 1e3,1e4
    """
    reg = registry()
    torch_device = resolve_device(device)
    model, data, plugin = _model_to_evaluate(reg, target, dataset_name, assignments, seed, data_root, torch_device)
    config = EvalConfig(
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()), discriminator=discriminator,
        capacities=tuple(parse_capacities(capacities)),
        ensemble=EnsembleConfig(members=members, steps=ensemble_steps, phi=phi),
        birthday_embedding=birthday_embedding,
        inception_weights=str(inception_weights) if inception_weights else None)
    montage = montage or (json_out.with_suffix(".montage.png") if json_out else None)
    record = evaluate(model, data, reg, config, seed=seed, device=torch_device, plugin=plugin, montage=montage)
    if json_out:
        atomic_write_json(json_out, record)
    click.echo(summary_table(record))
    if json_out:
        click.echo(f"record: {json_out}")


def _model_to_evaluate(reg, target, dataset_name, assignments, seed, data_root, device):
    path = Path(target)
    if path.suffix == ".safetensors" or path.exists():
        checkpoint = read_checkpoint(path)
        meta = checkpoint.metadata
        data = _open(dataset_name or meta["dataset"]["name"], meta["dataset"].get("split_seed", 0), data_root)
        if data.fingerprint != meta["dataset"].get("fingerprint"):
            raise UserError(f"{path}: built on data with fingerprint {meta['dataset'].get('fingerprint')} but "
                            f"{data.name} now has {data.fingerprint}; point --data-root at the same files")
        return load_model(checkpoint, reg, device), data, meta["plugin"]
    family = reg.family(target)
    if family.kind != "constructed":
        raise UserError(f"{target} is a trained family: train it first (gan-zoo train {target} --dataset NAME) "
                        f"and evaluate its checkpoint")
    if not dataset_name:
        raise UserError(f"eval {target}: a constructed family needs --dataset NAME")
    data = _open(dataset_name, seed, data_root)
    model = construct(family, apply_overrides(family.Config(), assignments), data, seed, device)
    return model, data, reg.plugin_of("families", target).to_json()


def summary_table(record: dict) -> str:
    metrics, lines = record["metrics"], [f"{record['display_name']} on {record['dataset']['name']}"]
    for entry in metrics.get("nn_distance", []):
        low, high = entry["ci"]
        lines.append(f"  nn-distance p={entry['p']:>8}: train {entry['train_gap']:.4f}  held-out "
                     f"{entry['heldout_gap']:.4f} [{low:.4f}, {high:.4f}]  noise floor {entry['noise_floor']:.4f}")
    if "inception_score" in metrics:
        score = metrics["inception_score"]
        lines.append(f"  inception score {score['mean']:.3f} +- {score['std']:.3f} (real data "
                     f"{score['real_ceiling']:.3f}, classifier accuracy {score['classifier_accuracy']})")
    if "fd" in metrics:
        lines.append(f"  frechet distance {metrics['fd']['value']:.3f} (real halves {metrics['fd']['real_floor']:.3f})")
    if "birthday" in metrics:
        b = metrics["birthday"]
        if b["collisions"]:
            lines.append(f"  birthday: support ~{b['support_estimate']:.4g} (s50 {b['s50']}), collisions "
                         f"{b['collision_estimate']:.4g} [{b['ci'][0]:.4g}, {b['ci'][1]:.4g}]")
        else:
            lines.append(f"  birthday: no duplicates up to s = {b['no_duplicates_up_to']} "
                         f"(support > {b['ci'][0]:.4g})")
    if "modes" in metrics:
        m = metrics["modes"]
        lines.append(f"  modes {m['modes_captured']}/{m['n_modes']}, high quality {m['high_quality_fraction']:.1%}")
    if "probe" in metrics:
        probe = metrics["probe"]
        lines.append(f"  linear probe on E(x): {probe['accuracy']:.3f} (chance {probe['chance']:.3f})")
    for metric, reason in metrics.get("skipped", {}).items():
        lines.append(f"  {metric}: skipped, {reason}")
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
@DEVICE
def bench(suite_name, out, executor, jobs, address, retry_failed, device):
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
    click.echo(f"leaderboard: {out / 'leaderboard.html'} (and .md, .json; written when the suite ends)")
    pending, results = plan(suite, out, retry_failed)
    write_suite_record(suite, out)
    click.echo(f"suite {suite.name}: {len(suite.jobs)} jobs, {len(results)} finished before, {len(pending)} to run "
               f"({executor}{f', {jobs} workers' if executor == 'local' and jobs > 1 else ''})", err=True)
    bar = tqdm(total=len(suite.jobs), initial=len(results), unit="job", desc=suite.name, disable=None,
               dynamic_ncols=True)
    waiting = list(pending)

    def status() -> str:  # jobs start in suite order, so the first waiting ones are those running
        if executor == "ray":
            return f"{len(waiting)} on Ray"
        return "running " + "; ".join(job.title for job in waiting[:jobs]) if waiting else ""

    try:
        bar.set_postfix_str(status())
        for outcome in run_jobs(pending, out, executor=executor, jobs=jobs, address=address, device=device):
            record = store(out, outcome)
            results[record["key"]] = record
            finished = next(job for job in waiting if job.key == record["key"])
            waiting.remove(finished)
            bar.update(1)
            bar.set_postfix_str(status(), refresh=True)
            detail = f": {record['error']}" if record["error"] else ""
            tqdm.write(f"[{len(results)}/{len(suite.jobs)}] {record['status']:8} {finished.title} "
                       f"({record['seconds']:.0f} s){detail}", file=sys.stderr)
    finally:
        bar.close()
    ordered = [results[job.key] for job in suite.jobs if job.key in results]
    board, written = write_report(out, ordered, suite=suite.name)
    for name, header, rows in text_tables(board):
        click.echo(f"\n{name}")
        _print_table(rows, header)
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
