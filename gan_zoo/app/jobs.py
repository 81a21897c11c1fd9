"""Benchmark suites: a TOML file naming families, data sets, seeds and the evaluation, expanded into jobs.

A suite file (every table but [[family]] is optional)::

    [suite]
    description = "what this suite answers"
    datasets = ["ring8", "digits"]   # each family runs on each, unless the family names its own
    seeds = [0, 1, 2]

    [resources]
    cpus = 1                         # torch threads per job, and what a Ray task asks for
    gpus = 0                         # GPUs per job (Ray); jobs run on CUDA only with --device cuda|auto

    [eval]                           # gan_zoo.harness.evaluate.EvalConfig; its parts as sub-tables
    metrics = ["nn_distance", "modes"]
    capacities = [1e3, 1e4, 1e5]
    [eval.ensemble]
    members = 4

    [[family]]
    name = "vanilla"
    steps = 600                      # or {ring8 = 600, digits = 300}; default: the family's own
    set = {lr = 5e-4}                # config overrides, typed like the family's Config
    datasets = ["ring8"]             # default: the suite's
    seeds = [0]                      # default: the suite's
    eval = {metrics = ["birthday"]}  # changes to the suite's [eval] for this family
    label = "vanilla, lr 5e-4"       # the leaderboard row; default: the display name and the overrides

Each (family entry, data set, seed) is one job. A job's key is a hash of everything its numbers depend on:
the family, its full config, the data set's fingerprint and split seed, the training steps, the evaluation
config, the threads it runs with and the gan-zoo version. Same key, same numbers; so a finished job is never
run twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import types
import typing
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import tomllib

import gan_zoo
from gan_zoo.datasets import default_root, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.evaluate import EvalConfig
from gan_zoo.registry import Registry

SUITE_KEYS = {"suite", "resources", "eval", "family"}
FAMILY_KEYS = {"name", "steps", "set", "datasets", "label", "seeds", "eval"}


@dataclass(frozen=True)
class SuiteFile:
    """A suite a plugin ships: its name and the TOML file holding it."""

    name: str
    path: Path

    @property
    def description(self) -> str:
        return _read_toml(self.path).get("suite", {}).get("description", "")


@dataclass
class Resources:
    cpus: int = 1  # torch threads per job: results depend on it in the last bits, so it is part of the job
    gpus: float = 0  # per job, for Ray's scheduler


@dataclass(frozen=True)
class Job:
    family: str
    overrides: dict  # what the suite set, for the row label; `config` holds the full config
    config: dict
    dataset: str
    fingerprint: str
    seed: int  # the training and evaluation seed, and the data split's seed
    steps: int
    eval: dict  # dataclasses.asdict(EvalConfig)
    threads: int
    gpus: float
    label: str = ""  # the leaderboard row; empty: the display name and the overrides
    data_root: str = ""  # where a file-backed data set's files are, resolved when the suite was read

    @cached_property  # hashed once per job (a frozen dataclass still has a __dict__ to cache in)
    def key(self) -> str:
        identity = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("overrides", "label", "data_root",
                                                                                   "gpus")}
        identity["gan_zoo"] = gan_zoo.__version__
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def title(self) -> str:
        return f"{self.label or self.family} on {self.dataset}, seed {self.seed}"

    def to_json(self) -> dict:
        return {"key": self.key, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Job:
        return cls(**{k: v for k, v in data.items() if k != "key"})


@dataclass
class Suite:
    name: str
    path: Path
    description: str
    jobs: list[Job]


def load_suite(name_or_path: str, registry: Registry) -> Suite:
    """A suite by registered name (`quick`) or by path (`my-suite.toml`), expanded into its jobs."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        path = registry.suite(name_or_path).path
    elif not path.is_file():
        raise UserError(f"{path}: no such suite file; give a TOML file or a suite name (`gan-zoo suites` lists them)")
    return expand(path, registry)


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the suite: {exc}") from None


def _read_toml(path: Path, text: str | None = None) -> dict:
    try:
        return tomllib.loads(_read_text(path) if text is None else text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}; fix the syntax there") from None


class _Where:
    """Names a place in a suite file by its line, for errors: `quick.toml line 12 (family 3, steps)`."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()

    def __call__(self, section: str, index: int | None = None, key: str | None = None) -> str:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}\s*[\].]")
        starts = [i for i, line in enumerate(self.lines) if header.match(line)]
        start = starts[index] if index is not None and index < len(starts) else (starts[0] if starts else 0)
        line = start
        if key is not None:
            pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
            line = next((i for i in range(start, len(self.lines)) if pattern.search(self.lines[i])), start)
        place = section if index is None else f"{section} {index + 1}"
        return f"{self.path} line {line + 1} ({place}{', ' + key if key else ''})"


def expand(path: Path, registry: Registry) -> Suite:
    text = _read_text(path)
    raw = _read_toml(path, text)
    where = _Where(path, text)
    unknown = sorted(set(raw) - SUITE_KEYS)
    if unknown:
        raise UserError(f"{where(unknown[0])}: unknown table {unknown[0]!r}; a suite has "
                        f"{', '.join(sorted(SUITE_KEYS))}")
    head = raw.get("suite", {})
    _no_unknown(head, {"name", "description", "datasets", "seeds"}, where("suite"))
    resources = typed(Resources, raw.get("resources", {}), lambda key: where("resources", key=key))
    suite_eval = raw.get("eval", {})
    typed(EvalConfig, suite_eval, lambda key: where("eval", key=key.split(".")[-1]))  # errors point at [eval]
    families = raw.get("family")
    if not isinstance(families, list) or not families:
        raise UserError(f"{path}: a suite needs at least one [[family]] table with a name, e.g. "
                        f"[[family]] name = \"vanilla\"")
    opened = {}
    jobs = []
    for index, entry in enumerate(families):
        jobs.extend(_family_jobs(entry, index, head, registry, suite_eval, resources, where, opened))
    counts = Counter(job.key for job in jobs)
    repeated = next((job for job in jobs if counts[job.key] > 1), None)
    if repeated:
        raise UserError(f"{path}: {repeated.title} appears twice with the same settings; remove one entry")
    return Suite(head.get("name", Path(path).stem), Path(path), head.get("description", ""), jobs)


def _family_jobs(entry, index, head, registry, suite_eval, resources, where, opened) -> list[Job]:
    def at(key=None):
        return where("family", index, key)

    _no_unknown(entry, FAMILY_KEYS, at())
    eval_config = typed(EvalConfig, _merged(suite_eval, entry.get("eval", {})), lambda key: at(key.split(".")[-1]))
    if "name" not in entry:
        raise UserError(f"{at()}: this [[family]] has no name; add name = \"vanilla\" (see `gan-zoo families`)")
    try:
        family = registry.family(entry["name"])
    except UserError as exc:
        raise UserError(f"{at('name')}: {exc}") from None
    config = typed(family.Config, entry.get("set", {}), lambda key: at(key.split(".")[-1]))
    datasets_at = at("datasets") if "datasets" in entry else where("suite", key="datasets")
    datasets = _string_list(entry.get("datasets", head.get("datasets")), datasets_at, "datasets")
    seeds = entry.get("seeds", head.get("seeds", [0]))
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise UserError(f"{at('seeds')}: seeds must be a list of integers, e.g. seeds = [0, 1, 2]")
    jobs = []
    for dataset in datasets:
        for seed in seeds:
            if (dataset, seed) not in opened:
                try:
                    opened[dataset, seed] = open_dataset(registry.dataset(dataset), seed=seed)
                except UserError as exc:
                    raise UserError(f"{datasets_at}: {exc}") from None
            data = opened[dataset, seed]
            jobs.append(Job(
                family=family.name, overrides=dict(entry.get("set", {})), config=dataclasses.asdict(config),
                dataset=dataset, fingerprint=data.fingerprint, seed=seed,
                steps=_steps(entry.get("steps"), data, family, at("steps")),
                eval=dataclasses.asdict(eval_config), threads=resources.cpus, gpus=resources.gpus,
                label=str(entry.get("label", "")), data_root=str(default_root(dataset).resolve())))
    return jobs


def _merged(base: dict, changes: dict) -> dict:
    """base with changes applied, sub-tables merged key by key."""
    if not isinstance(changes, dict):
        return changes  # typed() names the problem
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = _merged(base[key], value) if isinstance(base.get(key), dict) else value
    return merged


def _steps(value, data, family, where: str) -> int:
    if family.kind == "constructed":
        return 0
    if isinstance(value, dict):
        value = value.get(data.name)
    if value is None:
        return family.steps_for(data.spec)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UserError(f"{where}: steps must be a whole number >= 0 or a table by data set, "
                        f"e.g. steps = {{ring8 = 600, digits = 300}}")
    return value


def _string_list(value, where: str, name: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where}: {name} must be a non-empty list of names, e.g. {name} = [\"ring8\"]")
    return value


def _no_unknown(table, known: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")


def typed(cls: type, values: dict, where, prefix: str = ""):
    """A dataclass from TOML values, checked against its field types (nested dataclasses are sub-tables).

    `where(key)` names the place of a key for an error message.
    """
    if not isinstance(values, dict):
        raise UserError(f"{where(prefix or cls.__name__)}: expected a table of settings")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in hints:
            raise UserError(f"{where(dotted)}: no setting {dotted!r}; settings: {', '.join(names)}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            changes[key] = typed(hint, value, where, f"{dotted}.")
        else:
            changes[key] = _convert(value, hint, where(dotted), dotted)
    return dataclasses.replace(cls(), **changes)


def _convert(value, hint, where, name):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), where, name)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise UserError(f"{where}: {name} takes a list, e.g. {name} = [...]")
        return tuple(_convert(v, args[0], where, name) for v in value)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    if hint is float and not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value):
        return float(value)  # inf and nan are refused: results are strict JSON
    if hint is str and isinstance(value, str):
        return value
    if hint not in (bool, int, float, str):
        raise UserError(f"{where}: {name} cannot be set from a suite")
    kind = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}[hint]
    raise UserError(f"{where}: {name} takes {kind}, not {value!r}")
