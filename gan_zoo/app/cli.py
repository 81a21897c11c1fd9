"""The `gan-zoo` command line: the group, and the commands that list what is registered. The commands that do the
work live beside it: train_command (train, sample), eval_command (eval), bench_command (bench, report)."""

from __future__ import annotations

import json
import sys
import traceback

import click

from gan_zoo.app.bench_command import bench, report
from gan_zoo.app.eval_command import evaluate_command
from gan_zoo.app.options import print_table
from gan_zoo.app.train_command import sample, train
from gan_zoo.errors import UserError
from gan_zoo.registry import registry


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
    print_table(rows, ["plugin", "distribution", "version", "registers"])


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
    print_table([cells(f) for f in found], header)

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
    print_table(rows, ["dataset", "space", "items", "shape", "size", "damaged"])
    total = sum(e["bytes"] for e in entries)
    click.echo(f"{len(entries)} entries, {total / 2**20:.1f} MB in {feature_cache.features_dir()}")


for command in (train, sample, evaluate_command, bench, report):
    main.add_command(command)
