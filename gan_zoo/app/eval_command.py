"""`gan-zoo eval`: judge a source against a data set. Click builds one EvalRequest from the command line and
`run_eval` takes it; the metrics' shortcut options (Metric.shortcuts, e.g. --capacities) come from the registry."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from gan_zoo.app.bench import write_artifacts
from gan_zoo.app.options import DATA_ROOT, DEVICE, QUIET, THREADS, data_files, read_path, set_threads
from gan_zoo.config import Text
from gan_zoo.devices import resolve_device
from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_json, refuse_overwriting_inputs
from gan_zoo.harness.api import resolve
from gan_zoo.harness.evaluate import DEFAULT_METRICS, EvalConfig, evaluate
from gan_zoo.harness.sources import RANGES
from gan_zoo.metrics import Shortcut
from gan_zoo.registry import registry


@dataclass
class EvalRequest:
    """What `gan-zoo eval` was asked: one object instead of a parameter per option."""

    target: str  # the source: a checkpoint, a family's name, a folder, an array file, a callable
    dataset_name: str | None = None
    metrics: str = ",".join(DEFAULT_METRICS)
    options: tuple[str, ...] = ()  # -o METRIC.KEY=VALUE
    shortcuts: dict[str, object] = field(default_factory=dict)  # "METRIC.SETTING" -> value, from the metrics' options
    inception_weights: Path | None = None
    image_range: str = "auto"
    resize: bool = False
    assignments: tuple[str, ...] = ()  # --set, for a constructed family built on the fly
    seed: int = 0
    json_out: Path | None = None
    montage: Path | None = None
    force: bool = False
    device: str = "auto"
    threads: int = 1
    quiet: bool = False
    data_root: Path | None = None


class ParsedBy(click.ParamType):
    """An option's text through a shortcut's parse; its error becomes click's one-line usage error."""

    name = "value"

    def __init__(self, parse):
        self.parse = parse

    def convert(self, value, param, ctx):
        try:
            return self.parse(value)
        except (UserError, ValueError) as exc:
            self.fail(str(exc), param, ctx)


class WithShortcuts(click.Command):
    """A command whose options include every registered metric's shortcuts, built when its command line is read
    (not at import), so a plugin's shortcut shows up with no change here. Their values reach the callback as one
    `shortcuts` dict, "METRIC.SETTING" -> value."""

    @staticmethod
    def _shortcuts() -> dict[str, tuple[str, Shortcut]]:
        found = [(name, shortcut) for name, cls in sorted(registry().metrics.items()) for shortcut in cls.shortcuts]
        return {f"shortcut_{index}": entry for index, entry in enumerate(found)}

    def get_params(self, ctx):
        made = [click.Option([shortcut.flag, key], default=None, help=f"{metric}: {shortcut.help}",
                             type=click.Choice(shortcut.choices) if shortcut.choices else ParsedBy(shortcut.parse))
                for key, (metric, shortcut) in self._shortcuts().items()]
        help_option = self.get_help_option(ctx)
        return [*self.params, *made, *([help_option] if help_option else [])]

    def invoke(self, ctx):
        ctx.params["shortcuts"] = {f"{metric}.{shortcut.setting}": value
                                   for key, (metric, shortcut) in self._shortcuts().items()
                                   if (value := ctx.params.pop(key, None)) is not None}
        return super().invoke(ctx)


@click.command(name="eval", cls=WithShortcuts)
@click.argument("target", metavar="SOURCE")
@click.option("--dataset", "dataset_name", default=None,
              help="The registered data set to judge against (default: a checkpoint's own; required otherwise).")
@click.option("--metrics", default=",".join(DEFAULT_METRICS), show_default=True,
              help="Comma-separated metrics (`gan-zoo metrics` lists them); those that do not apply are skipped.")
@click.option("-o", "--option", "options", multiple=True, metavar="METRIC.KEY=VALUE",
              help="A metric's or feature space's setting, e.g. -o birthday.trials=5 -o features.classifier.steps=300.")
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
              help="Where the metrics' pictures go, the birthday test's montage of closest pairs (default: beside "
                   "--json); a picture of another kind goes beside it as STEM-KIND.png.")
@click.option("--force", is_flag=True, help="Overwrite --json and --montage files that exist.")
@DEVICE
@THREADS
@QUIET
@DATA_ROOT
def evaluate_command(**request):
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
    run_eval(EvalRequest(**request))


def run_eval(request: EvalRequest) -> None:
    set_threads(request.threads)
    reg = registry()
    json_out = request.json_out
    montage = request.montage or (json_out.with_suffix(".montage.png") if json_out else None)
    settings, feature_settings = eval_settings(request.options, request.shortcuts)
    if request.inception_weights is not None:
        feature_settings.setdefault("inception", {})["weights"] = str(request.inception_weights)
    # checked before any work: never write over what this command reads, nor over a file unasked
    weights = [Path(table["weights"]) for table in feature_settings.values()
               if isinstance(table, dict) and isinstance(table.get("weights"), str)]
    refuse_overwriting_inputs([("--json", json_out), ("--montage", montage)],
                              [read_path(request.target),
                               *data_files(reg, request.dataset_name, request.data_root, montage), *weights])
    for path in (json_out, montage):
        if path is not None and path.exists() and not request.force:
            raise UserError(f"{path} exists; choose another path, or pass --force to overwrite it")
        if path is not None and path.parent.exists() and not path.parent.is_dir():
            raise UserError(f"{path.parent} is a file, not a folder; choose another path")
    config = EvalConfig.build(reg, request.metrics, settings, feature_settings,
                              where=lambda key: f"--metrics/-o {key}")
    torch_device = resolve_device(request.device)
    started = time.monotonic()
    name = str(request.target)  # the source's own name once it is open

    def report(text):
        if not request.quiet:
            click.echo(f"eval {name}: {text} [{time.monotonic() - started:.0f} s]", err=True)

    source, data = resolve(request.target, dataset=request.dataset_name, reg=reg, device=torch_device,
                           seed=request.seed, data_root=request.data_root, assignments=request.assignments,
                           image_range=request.image_range, resize=request.resize, report=report)
    name = source.name

    evaluation = evaluate(source, data, reg, config, seed=request.seed, device=torch_device, report=report)
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


def eval_settings(options, shortcuts: dict[str, object] | None = None) -> tuple[dict, dict]:
    """Metric and feature-space settings from -o METRIC.KEY=VALUE and the metrics' shortcut options (which win)."""
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
    for key, value in (shortcuts or {}).items():
        *path, last = key.split(".")
        table = settings
        for part in path:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):  # -o gave a value where the shortcut sets a sub-table
                raise UserError(f"{key}: set by -o and by its option; give it once")
        table[last] = value
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


