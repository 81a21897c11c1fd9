"""Benchmark suites: a TOML file naming families (or external sources), data sets, seeds and the evaluation,
expanded into jobs.

A suite file (every table but one [[family]] or [[source]] is optional)::

    [suite]
    description = "what this suite answers"
    datasets = ["ring8", "digits"]   # each entry runs on each, unless it names its own
    seeds = [0, 1, 2]

    [resources]
    cpus = 1                         # torch threads per job, and what a Ray task asks for
    gpus = 0                         # GPUs per job (Ray); jobs run on CUDA only with --device cuda|auto

    [eval]
    metrics = ["nn_distance", "birthday", "modes"]   # `gan-zoo metrics` lists them
    [eval.nn_distance]               # a metric's settings, checked against its Config
    capacities = [1e3, 1e4, 1e5]
    [eval.nn_distance.ensemble]
    members = 4
    [eval.features.classifier]       # a feature space's settings
    steps = 600

    [[family]]
    name = "vanilla"
    steps = 600                      # or {ring8 = 600, digits = 300}; default: the family's own
    set = {lr = 5e-4}                # config overrides, typed like the family's Config
    datasets = ["ring8"]             # default: the suite's
    seeds = [0]                      # default: the suite's
    eval = {metrics = ["birthday"]}  # changes to the suite's [eval] for this entry
    label = "vanilla, lr 5e-4"       # the leaderboard row; default: the display name and the overrides
    track = {metrics = ["ct", "authpct"], every = 100}   # metrics along training (README); optional n = items
                                     # per point, and a metric's settings by its name: ct = {features = "pixels"}

    [[source]]                       # a generator trained elsewhere, ranked beside the zoo's families
    source = "samples/mygan.npz"     # a folder, an array file, a samples .safetensors, file.py:function or
                                     # package.module:function; relative paths are read from the suite's folder
    label = "my GAN"                 # the leaderboard row
    range = "auto"                   # image range rule (harness.sources): auto, 0,1, -1,1, 0,255
    resize = false                   # resize images to the data set's shape
    datasets = ["digits"]
    seeds = [0]
    eval = {}

A gauntlet suite has [gauntlet] and [[adversary]] tables instead of entries (README, "The gauntlet"; the protocol
is harness.gauntlet's): each control seed and each (adversary, strength, seed) on each data set is one job.

Each (entry, data set, seed) is one job. A job's key is a hash of everything its numbers depend on: the family
and its full config (or the source and its checksum), the data set's fingerprint and split seed, the training
steps, the evaluation config with every setting, the threads it runs with and the gan-zoo version. Same key,
same numbers; so a finished job is never run twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import gan_zoo
from gan_zoo.config import typed
from gan_zoo.datasets import LoadedDataset, default_root, open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.evaluate import EvalConfig
from gan_zoo.harness.gauntlet import CONTROL, DAMAGES, GauntletConfig, damage_strength
from gan_zoo.harness.gauntlet import label as gauntlet_label
from gan_zoo.harness.sources import RANGES, fingerprint_reference
from gan_zoo.harness.tracking import merged_settings
from gan_zoo.registry import Registry
from gan_zoo.seeds import SCHEME as SEED_SCHEME

GAUNTLET_READING = ("level", "familywise")  # a gauntlet job's settings that only judge its results
SUITE_KEYS = {"suite", "resources", "eval", "family", "source", "gauntlet", "adversary"}
ENTRY_KEYS = {"datasets", "label", "seeds", "eval"}
FAMILY_KEYS = ENTRY_KEYS | {"name", "steps", "set", "track"}
SOURCE_KEYS = ENTRY_KEYS | {"source", "range", "resize"}
ADVERSARY_KEYS = {"family", "vary", "set", "damage", "name", "strengths", "datasets"}


@dataclass
class Resources:
    cpus: int = 1  # torch threads per job: results depend on it in the last bits, so it is part of the job
    gpus: float = 0  # per job, for Ray's scheduler

    def __post_init__(self):
        if not 1 <= self.cpus <= 1024:
            raise UserError(f"cpus = {self.cpus}: give a whole number of threads from 1 to 1024")
        if not 0 <= self.gpus <= 64:
            raise UserError(f"gpus = {self.gpus}: give a number of GPUs from 0 to 64")


@dataclass(frozen=True)
class Job:
    family: str  # "" for an external source
    overrides: dict  # what the suite set, for the row label; `config` holds the full config
    config: dict
    dataset: str
    fingerprint: str
    seed: int  # the training and evaluation seed, and the data split's seed
    steps: int
    eval: dict  # EvalConfig.to_json: every metric's settings
    threads: int
    gpus: float
    label: str = ""  # the leaderboard row; empty: the display name and the overrides
    data_root: str = ""  # where a file-backed data set's files are, resolved when the suite was read
    source: str = ""  # an external source (absolute path or callable reference); "" for a family
    source_sha256: str = ""  # its content when the suite was read
    image_range: str = "auto"
    resize: bool = False
    gauntlet: dict = dataclasses.field(default_factory=dict)  # a gauntlet job: its adversary (harness.gauntlet)
    track: dict = dataclasses.field(default_factory=dict)  # metrics along training: {metrics, every, n, settings}

    @cached_property  # hashed once per job (a frozen dataclass still has a __dict__ to cache in)
    def key(self) -> str:
        identity = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("overrides", "label", "data_root",
                                                                                   "gpus", "source")}
        if not self.gauntlet:
            del identity["gauntlet"]  # the keys of jobs from before gauntlets existed stay what they were
        else:  # how runs are read is not what they compute: a new level or familywise re-reads, never re-runs
            identity["gauntlet"] = {k: v for k, v in self.gauntlet.items() if k not in GAUNTLET_READING}
        if not self.track:
            del identity["track"]  # likewise for jobs from before tracking
        identity["gan_zoo"] = gan_zoo.__version__
        identity["seeds"] = SEED_SCHEME  # every draw at the job's seed follows it
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def title(self) -> str:
        return f"{self.label or self.family or self.source} on {self.dataset}, seed {self.seed}"

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


def _read_toml(path: Path, text: str) -> dict:
    try:
        return tomllib.loads(text)
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
            pattern = re.compile(rf"(^|[{{,\s.\[]){re.escape(key)}\s*(=|\])")
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
    resources = _checked(lambda: typed(Resources, raw.get("resources", {}), lambda key: where("resources", key=key)),
                         where("resources"))
    suite_eval = raw.get("eval", {})
    _eval_config(suite_eval, registry, lambda key: where("eval", key=key.split(".")[-1]))  # errors at [eval]
    entries = [("family", e) for e in _tables(raw, "family", path)] + [("source", e) for e in
                                                                       _tables(raw, "source", path)]
    jobs = []
    if "gauntlet" in raw or "adversary" in raw:
        if entries:
            raise UserError(f"{path}: a gauntlet suite has [[adversary]] tables, not [[family]] or [[source]]; put "
                            f"the families to rank in a suite of their own")
        jobs = _gauntlet_jobs(raw, path, head, registry, suite_eval, resources, where)
    elif not entries:
        raise UserError(f"{path}: a suite needs at least one [[family]] table with a name (or a [[source]]), e.g. "
                        f"[[family]] name = \"vanilla\"")
    opened: dict[tuple[str, int], LoadedDataset] = {}  # (data set, seed) -> its split, opened once for all entries
    counters: Counter[str] = Counter()
    for kind, entry in entries:
        index = counters[kind]
        counters[kind] += 1
        jobs.extend(_entry_jobs(kind, entry, index, path, head, registry, suite_eval, resources, where, opened))
    counts = Counter(job.key for job in jobs)
    repeated = next((job for job in jobs if counts[job.key] > 1), None)
    if repeated:
        raise UserError(f"{path}: {repeated.title} appears twice with the same settings; remove one entry")
    name = head.get("name", Path(path).stem)  # a file's name is a valid folder name, whatever its letters
    if "name" in head and (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name)):
        raise UserError(f"{where('suite', key='name')}: name {name!r}: use letters, digits, '.', '_' and '-' "
                        f"(it names the results folder)")
    return Suite(name, Path(path), str(head.get("description", "")), jobs)


def _tables(raw: dict, key: str, path: Path) -> list:
    tables = raw.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UserError(f"{path}: [[{key}]] must be an array of tables, e.g. [[{key}]] on its own line")
    return tables


def _checked(build, where: str):
    """Run build(), naming the place in the file when a value is refused by its own validation."""
    try:
        return build()
    except UserError as exc:
        message = str(exc)
        raise UserError(message if message.startswith(str(where).split(" line")[0]) else f"{where}: {message}") \
            from None


def _eval_config(values: dict, registry: Registry, where) -> EvalConfig:
    if not isinstance(values, dict):
        raise UserError(f"{where('eval')}: expected a table of settings")
    settings = {k: v for k, v in values.items() if k not in ("metrics", "features")}
    return EvalConfig.build(registry, values.get("metrics"), settings, values.get("features"), where=where,
                            strict=False)


def _entry_jobs(kind, entry, index, path, head, registry, suite_eval, resources, where, opened) -> list[Job]:
    def at(key=None):
        return where(kind, index, key)

    _no_unknown(entry, FAMILY_KEYS if kind == "family" else SOURCE_KEYS, at())
    eval_config = _eval_config(_merged(suite_eval, entry.get("eval", {})), registry, lambda key: at(key.split(".")[-1]))
    family, config, source, digest = None, None, "", ""
    if kind == "family":
        if "name" not in entry:
            raise UserError(f"{at()}: this [[family]] has no name; add name = \"vanilla\" (see `gan-zoo families`)")
        try:
            family = registry.family(entry["name"])
        except UserError as exc:
            raise UserError(f"{at('name')}: {exc}") from None
        config = _checked(lambda: typed(family.Config, entry.get("set", {}), lambda key: at(key.split(".")[-1])),
                          at("set"))
    else:
        if not isinstance(entry.get("source"), str) or not entry["source"]:
            raise UserError(f"{at()}: this [[source]] has no source; add source = \"samples.npz\" (a folder, an array "
                            f"file, or file.py:function)")
        source, digest = _checked(lambda: fingerprint_reference(entry["source"], Path(path).parent), at("source"))
        if entry.get("range", "auto") not in RANGES:
            raise UserError(f"{at('range')}: range must be one of {', '.join(RANGES)}")
        if not isinstance(entry.get("resize", False), bool):
            raise UserError(f"{at('resize')}: resize takes true or false")
    datasets_at = at("datasets") if "datasets" in entry else where("suite", key="datasets")
    datasets = _string_list(entry.get("datasets", head.get("datasets")), datasets_at, "datasets")
    seeds = _seeds(entry.get("seeds", head.get("seeds", [0])), at("seeds"))
    label = entry.get("label", "")
    if not isinstance(label, str):
        raise UserError(f"{at('label')}: label takes a string")
    jobs = []
    for dataset in datasets:
        for seed in seeds:
            if (dataset, seed) not in opened:
                try:
                    opened[dataset, seed] = open_dataset(registry.dataset(dataset), seed=seed)
                except UserError as exc:
                    raise UserError(f"{datasets_at}: {exc}") from None
            data = opened[dataset, seed]
            steps = _steps(entry.get("steps"), data, family, at("steps")) if family else 0
            jobs.append(Job(
                family=family.name if family else "", overrides=dict(entry.get("set", {})),
                config=dataclasses.asdict(config) if config else {}, dataset=dataset, fingerprint=data.fingerprint,
                seed=seed, steps=steps,
                eval=eval_config.to_json(registry), threads=resources.cpus, gpus=resources.gpus, label=label,
                data_root=str(default_root(dataset).resolve()), source=source, source_sha256=digest,
                image_range=entry.get("range", "auto"), resize=entry.get("resize", False),
                track=_track(entry["track"], registry, steps, at("track")) if "track" in entry else {}))
    return jobs


def _track(table, registry: Registry, steps: int, where: str) -> dict:
    """A family entry's `track = {metrics = [...], every = N}` (n and metric settings optional), checked now."""
    _no_unknown(table, {"metrics", "every", "n", *registry.metrics}, where)
    metrics = _string_list(table.get("metrics"), where, "metrics")
    settings = {k: v for k, v in table.items() if k in registry.metrics}
    _checked(lambda: EvalConfig.build(registry, metrics, merged_settings(metrics, settings)), where)
    every, n = table.get("every"), table.get("n")
    if every is not None and (not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= max(steps, 1)):
        raise UserError(f"{where}: every must be a whole number of steps from 1 to the run's {steps}, e.g. every = "
                        f"{max(1, steps // 10)}")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 2):
        raise UserError(f"{where}: n must be a whole number of items from 2, e.g. n = 200")
    return {"metrics": metrics, "every": every, "n": n, "settings": settings}


def _seeds(seeds, where: str) -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           and 0 <= s < 2**31 for s in seeds):
        raise UserError(f"{where}: seeds must be a list of whole numbers from 0 to 2^31-1, e.g. seeds = [0, 1]")
    return seeds


def _gauntlet_jobs(raw, path, head, registry, suite_eval, resources, where) -> list[Job]:
    """A gauntlet suite: the control at its seeds, and every [[adversary]] at each strength and each of the
    suite's seeds, on each data set (the protocol is harness.gauntlet's)."""
    settings = _checked(lambda: typed(GauntletConfig, raw.get("gauntlet", {}), lambda key: where("gauntlet", key=key)),
                        where("gauntlet"))
    adversaries = _tables(raw, "adversary", path)
    if not adversaries:
        raise UserError(f"{path}: a gauntlet needs at least one [[adversary]], e.g. [[adversary]] family = "
                        f"\"memorizer\", vary = \"m\", strengths = [25, 100]")
    if "metrics" not in suite_eval:  # every registered metric, a plugin's included: the gauntlet tests them all
        suite_eval = {**suite_eval, "metrics": sorted(registry.metrics)}
    eval_settings = _eval_config(suite_eval, registry, lambda key: where("eval", key=key.split(".")[-1])).to_json(
        registry)
    datasets_at = where("suite", key="datasets")
    seeds = _seeds(head.get("seeds", [0]), where("suite", key="seeds"))
    common = {"n": settings.n, "control_fraction": settings.control_fraction, "level": settings.level,
              "familywise": settings.familywise}
    jobs: list[Job] = []
    for dataset in _string_list(head.get("datasets"), datasets_at, "datasets"):
        try:
            data = open_dataset(registry.dataset(dataset), seed=0, control_fraction=settings.control_fraction)
        except UserError as exc:
            raise UserError(f"{datasets_at}: {exc}") from None
        if data.control is None or len(data.control) < settings.n:
            raise UserError(f"{where('gauntlet', key='n')}: n = {settings.n} exceeds the "
                            f"{0 if data.control is None else len(data.control)} control items of {dataset}; lower "
                            f"n or raise control_fraction")

        def job(spec, seed, data=data):
            return Job(family="", overrides={}, config={}, dataset=data.name, fingerprint=data.fingerprint, seed=seed,
                       steps=0, eval=eval_settings, threads=resources.cpus, gpus=resources.gpus,
                       label=gauntlet_label(spec), data_root=str(default_root(data.name).resolve()),
                       gauntlet={**spec, **common})

        jobs.extend(job({"kind": CONTROL, "adversary": CONTROL, "strength": None}, s) for s in settings.control_seeds)
        for index, table in enumerate(adversaries):
            for spec in _adversary_specs(table, lambda key=None, i=index: where("adversary", i, key), data, registry,
                                         settings.n):
                jobs.extend(job(spec, seed) for seed in seeds)
    return jobs


def _adversary_specs(table, at, data, registry, n: int) -> list[dict]:
    """One [[adversary]] table's adversaries on one data set: a spec per strength, each checked now."""
    _no_unknown(table, ADVERSARY_KEYS, at())
    if sum(key in table for key in ("family", "damage", "name")) != 1:
        raise UserError(f"{at()}: an [[adversary]] names a constructed family (family = \"memorizer\", vary = \"m\"), "
                        f"a damage (damage = {' or '.join(map(repr, DAMAGES))}) or a registered adversary (name = "
                        f"\"partial-copy\"), one of them")
    if "datasets" in table and data.name not in _string_list(table["datasets"], at("datasets"), "datasets"):
        return []
    strengths = table.get("strengths")
    if isinstance(strengths, dict):
        strengths = strengths.get(data.name, [])  # a table by data set: none here, no adversary here
        if not strengths:
            return []
    if not isinstance(strengths, list) or not strengths:
        raise UserError(f"{at('strengths')}: strengths must be a non-empty list, e.g. strengths = [25, 100, 400], or "
                        f"a table by data set, e.g. strengths = {{digits = [0.1, 0.3]}}")
    if "damage" in table:
        damage = table["damage"]
        if damage not in DAMAGES:
            raise UserError(f"{at('damage')}: damage = {damage!r}: use one of {', '.join(DAMAGES)}")
        return [{"kind": damage, "adversary": damage,
                 "strength": _checked(lambda s=s: damage_strength(damage, s, data), at("strengths"))}
                for s in strengths]
    if "name" in table:
        return _registered_specs(table, strengths, at, data, registry, n)
    try:
        family = registry.family(table["family"])
    except UserError as exc:
        raise UserError(f"{at('family')}: {exc}") from None
    if family.kind != "constructed":
        raise UserError(f"{at('family')}: {family.name} is trained, not constructed; an adversary is built from the "
                        f"training split (a constructed family, e.g. memorizer)")
    names = [f.name for f in dataclasses.fields(family.Config)]
    vary, overrides = table.get("vary"), table.get("set", {})
    if vary not in names:
        raise UserError(f"{at('vary')}: vary names the setting the strengths set, one of {', '.join(names)}")
    specs = []
    for strength in strengths:
        value = len(data.train) if strength == "all" else strength  # "all": every training item
        config = _checked(lambda v=value: typed(family.Config, {**overrides, vary: v},
                                                lambda key: at(key.split(".")[-1])), at("strengths"))
        specs.append({"kind": "family", "adversary": family.name, "vary": vary, "set": dict(overrides),
                      "strength": getattr(config, vary)})
    return specs


def _registered_specs(table, strengths, at, data, registry, n: int) -> list[dict]:
    """A registered adversary's specs, one per strength, each checked against its range and the data set."""
    try:
        adversary = registry.adversary(table["name"])
    except UserError as exc:
        raise UserError(f"{at('name')}: {exc}") from None
    if "vary" in table:
        raise UserError(f"{at('vary')}: {adversary.name} is graded by its own strength ({adversary.strength}); "
                        f"drop vary")
    overrides = table.get("set", {})
    _checked(lambda: typed(adversary.Config, overrides, lambda key: at(key.split(".")[-1])), at("set"))
    return [{"kind": "adversary", "adversary": adversary.name, "vary": adversary.strength, "set": dict(overrides),
             "harder": adversary.harder, "group": adversary.group,
             "strength": _checked(lambda s=s: adversary().check(s, data, n), at("strengths"))} for s in strengths]


def _merged(base: dict, changes: dict) -> dict:
    """base with changes applied, sub-tables merged key by key."""
    if not isinstance(changes, dict):
        return changes  # the config check names the problem
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
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10**9:
        raise UserError(f"{where}: steps must be a whole number from 1 to 10^9, or a table by data set, "
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
