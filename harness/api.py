"""The Python API: judge any generator against a registered data set in one call.

    from gan_zoo import evaluate

    def sample(n, seed):                      # your generator: n items for a seed
        g = torch.Generator().manual_seed(seed)
        return my_model(torch.randn(n, 64, generator=g))

    record = evaluate(sample, dataset="digits", metrics=["birthday", "fd"], seed=0,
                      birthday={"trials": 5})  # a metric's settings by its name
    print(record["metrics"]["birthday"]["support"])

`source` is anything `gan-zoo eval` takes (a checkpoint, a family name, a folder, an array file, a samples
.safetensors, "file.py:function") or an object: a tensor or array of items, a function, an nn.Module, a GanModel,
or a gan_zoo.SampleSource. The record is what `gan-zoo eval --json` writes (schema in gan_zoo.harness.evaluate).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from gan_zoo.checkpoint import load_model, read_checkpoint
from gan_zoo.config import apply_overrides
from gan_zoo.datasets import LoadedDataset, open_dataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import UserError
from gan_zoo.harness.evaluate import EvalConfig, Evaluation
from gan_zoo.harness.evaluate import evaluate as evaluate_source
from gan_zoo.harness.sources import _safetensors_kind, open_source, refuse_conforming, refuse_missing
from gan_zoo.registry import Registry, registry
from gan_zoo.seeds import SCHEME
from gan_zoo.sources import ModelSource, SampleSource


def is_checkpoint(thing) -> bool:
    if not isinstance(thing, str | Path):
        return False
    path = Path(thing)
    return path.suffix == ".safetensors" and path.is_file() and _safetensors_kind(path) == "checkpoint"


def resolve(thing, *, dataset: str | None, reg: Registry, device: torch.device, seed: int = 0,
            data_root: Path | None = None, assignments=(), image_range: str = "auto",
            resize: bool = False, report: Callable[[str], None] | None = None) -> tuple[SampleSource, LoadedDataset]:
    """The source and the data set it is judged against (a checkpoint's own data set unless one is named); report
    hears how far reading a folder of images got."""
    if isinstance(thing, str | Path):
        refuse_missing(thing)
    if is_checkpoint(thing):
        refuse_conforming(f"{thing} (a checkpoint)", image_range, resize)
        checkpoint = read_checkpoint(Path(thing))
        meta = checkpoint.metadata
        name = dataset or meta["dataset"]["name"]
        if meta["dataset"].get("seed_scheme") != SCHEME:
            raise UserError(f"{thing}: trained before the seed scheme {SCHEME}, whose split seed now draws another "
                            f"training split, so held-out items could be ones it trained on; train it again")
        data = open_dataset(reg.dataset(name), seed=meta["dataset"].get("split_seed", 0), root=data_root)
        if data.fingerprint != meta["dataset"].get("fingerprint"):
            raise UserError(f"{thing}: built on data with fingerprint {meta['dataset'].get('fingerprint')} but "
                            f"{data.name} now has {data.fingerprint}; point the data root at the same files")
        model = load_model(checkpoint, reg, device)
        return ModelSource(model, kind="checkpoint", details={"path": str(thing), "step": meta["step"]}), data
    if isinstance(thing, ModelSource):
        refuse_conforming("a model source", image_range, resize)
        if dataset is None:
            raise UserError("name the data set to judge against, e.g. dataset=\"digits\"")
    if not dataset:
        raise UserError(f"{thing if isinstance(thing, str | Path) else 'this source'}: name the data set to judge "
                        f"it against (--dataset NAME; `gan-zoo datasets` lists them)")
    data = open_dataset(reg.dataset(dataset), seed=seed, root=data_root)
    config = None
    if isinstance(thing, str) and thing in reg.families:
        config = apply_overrides(reg.family(thing).Config(), assignments)
    elif assignments:
        raise UserError("family settings (--set) apply to a constructed family named as the source")
    return open_source(thing, data, reg, device=device, seed=seed, config=config, image_range=image_range,
                       resize=resize, report=report), data


def reporter(progress: bool | Callable[[str], None]) -> Callable[[str], None] | None:
    """What hears the evaluation's phases: the caller's function, lines on stderr with the seconds so far (True), or
    nothing (False: the API is quiet unless asked)."""
    if callable(progress):
        return progress
    if not progress:
        return None
    started = time.monotonic()
    return lambda text: print(f"gan-zoo evaluate: {text} [{time.monotonic() - started:.0f} s]", file=sys.stderr,
                              flush=True)


def run(source, dataset: str | None = None, metrics=None, seed: int = 0, *, device: str = "auto",
        data_root: str | Path | None = None, image_range: str = "auto", resize: bool = False,
        features: dict | None = None, family_settings=(), settings: dict | None = None,
        progress: bool | Callable[[str], None] = False) -> Evaluation:
    """evaluate(), returning the record and the artifacts (e.g. the birthday test's closest pairs)."""
    reg = registry()
    config = EvalConfig.build(reg, metrics, settings, features)  # checked before anything is loaded or drawn
    torch_device = resolve_device(device)
    report = reporter(progress)
    resolved, data = resolve(source, dataset=dataset, reg=reg, device=torch_device, seed=seed,
                             data_root=Path(data_root) if data_root else None, assignments=family_settings,
                             image_range=image_range, resize=resize, report=report)
    evaluation = evaluate_source(resolved, data, reg, config, seed=seed, device=torch_device, report=report)
    if evaluation.record["overlap"].get("warning"):  # the source holds held-out items (harness/overlap.py)
        warnings.warn(evaluation.record["overlap"]["warning"], stacklevel=3)
    return evaluation


def evaluate(source, dataset: str | None = None, metrics=None, seed: int = 0, *, device: str = "auto",
             data_root: str | Path | None = None, image_range: str = "auto", resize: bool = False,
             features: dict | None = None, family_settings=(), progress: bool | Callable[[str], None] = False,
             **settings) -> dict:
    """Judge `source` against the data set `dataset` with `metrics` (default: every metric that applies).

    Keyword arguments named after a metric set its settings (e.g. nn_distance={"capacities": [1000]}); features
    sets feature spaces' (e.g. {"inception": {"weights": "pt_inception.pth"}}); family_settings are "key=value"
    strings for a constructed family named as the source. progress: quiet by default; True prints each phase
    (a metric starting, the domain classifier's training) on stderr, a function is called with each phase's text.
    Returns the record `gan-zoo eval --json` writes.
    """
    return run(source, dataset, metrics, seed, device=device, data_root=data_root, image_range=image_range,
               resize=resize, features=features, family_settings=family_settings, settings=settings,
               progress=progress).record
