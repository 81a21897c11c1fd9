"""Loads plugins from installed entry points and collects what they register.

Each entry point is loaded on its own, so one broken plugin is recorded (and shown by `gan-zoo plugins`)
instead of taking the whole tool down. A plugin is all or nothing: if one of its hooks raises, registers
something that does not meet its contract (gan_zoo.contracts), or reuses a name another plugin registered
first, none of its registrations are kept and the reason is recorded. Environment switches, in the manner of
pytest and llm:

- GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD=1  load no entry points at all (not even the built-ins)
- GAN_ZOO_PLUGINS=a,b                load only the entry points with these names
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from gan_zoo import hookspecs
from gan_zoo.contracts import contract_problem
from gan_zoo.errors import UserError

if TYPE_CHECKING:  # for the annotations only: the registry loads before any plugin, and these pull in torch
    from gan_zoo.adversaries import Adversary
    from gan_zoo.datasets import DatasetSource
    from gan_zoo.discriminators import DiscriminatorClass
    from gan_zoo.family import GanModel
    from gan_zoo.features import FeatureSpace
    from gan_zoo.metrics import Metric
    from gan_zoo.suites import SuiteFile

ENTRY_POINT_GROUP = "gan_zoo"
KINDS = ("families", "datasets", "discriminators", "suites", "metrics", "feature_spaces", "adversaries")
SINGULAR = {"families": "family", "datasets": "dataset", "discriminators": "discriminator", "suites": "suite",
            "metrics": "metric", "feature_spaces": "feature space", "adversaries": "adversary"}
LISTING = {"families": "families", "datasets": "datasets", "discriminators": "discriminators", "suites": "suites",
           "metrics": "metrics", "feature_spaces": "features", "adversaries": "plugins --json"}  # the `gan-zoo`
# command that lists each kind


@dataclass
class Plugin:
    name: str  # the entry point's name
    distribution: str
    version: str
    error: str | None = None  # why it could not be loaded; None when it works
    registered: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    @property
    def label(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"

    def to_json(self) -> dict:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "error": self.error, "registers": self.registered}


@dataclass
class Registry:
    plugins: list[Plugin]
    families: dict[str, type[GanModel]] = field(default_factory=dict)
    datasets: dict[str, DatasetSource] = field(default_factory=dict)
    discriminators: dict[str, DiscriminatorClass] = field(default_factory=dict)
    suites: dict[str, SuiteFile] = field(default_factory=dict)
    metrics: dict[str, type[Metric]] = field(default_factory=dict)
    feature_spaces: dict[str, type[FeatureSpace]] = field(default_factory=dict)
    adversaries: dict[str, type[Adversary]] = field(default_factory=dict)  # the gauntlet's
    provider: dict[tuple[str, str], Plugin] = field(default_factory=dict)  # (kind, name) -> its plugin

    def family(self, name: str) -> type[GanModel]:
        return self.lookup("families", name)

    def dataset(self, name: str) -> DatasetSource:
        return self.lookup("datasets", name)

    def discriminator(self, name: str) -> DiscriminatorClass:
        return self.lookup("discriminators", name)

    def suite(self, name: str) -> SuiteFile:
        return self.lookup("suites", name)

    def metric(self, name: str) -> type[Metric]:
        return self.lookup("metrics", name)

    def feature_space(self, name: str) -> type[FeatureSpace]:
        """A feature space by name; `timm:ARCH` names the `timm` space with option ARCH."""
        return self.lookup("feature_spaces", name.partition(":")[0])

    def adversary(self, name: str) -> type[Adversary]:
        return self.lookup("adversaries", name)

    def plugin_of(self, kind: str, name: str) -> Plugin:
        return self.provider[(kind, name)]

    def lookup(self, kind: str, name: str) -> Any:  # the typed accessors above say what each kind holds
        items = getattr(self, kind)
        if name in items:
            return items[name]
        near = difflib.get_close_matches(name, list(items), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(n) for n in near)}? " if near else ""
        known = sorted(items)
        listed = ", ".join(known) if len(known) <= 8 else f"{len(known)} of them"
        raise UserError(f"unknown {SINGULAR[kind]} {name!r}; {hint}known: {listed or 'none'} "
                        f"(`gan-zoo {LISTING[kind]}` lists them)")


def _selected_entry_points():
    if os.environ.get("GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD", "").strip() not in ("", "0"):
        return []
    allow = {n.strip() for n in os.environ.get("GAN_ZOO_PLUGINS", "").split(",") if n.strip()}
    selected = entry_points(group=ENTRY_POINT_GROUP)
    if allow:
        selected = [ep for ep in selected if ep.name in allow]
    # Several copies of one distribution on sys.path show the same entry point twice; keep the first.
    unique = {}
    for ep in selected:
        unique.setdefault(ep.name, ep)
    # gan-zoo's own plugins first: a third party reusing a built-in name is the one reported, never the built-in
    return sorted(unique.values(), key=lambda ep: (ep.dist is None or ep.dist.name != "gan-zoo", ep.name))


def load_registry(local_plugins: dict[str, object] | None = None) -> Registry:
    """Load every selected entry point and collect what each registers (not cached: see registry()).

    local_plugins: {name: module} of plugins that are not installed (a notebook's, a doc's, a plugin's own tests),
    loaded after the entry points exactly as one would be, contract checks included; their distribution is
    "local". A module is any object with `@hookimpl` functions, e.g. `sys.modules[__name__]`."""
    manager = pluggy.PluginManager("gan_zoo")
    manager.add_hookspecs(hookspecs)
    plugins: dict[str, Plugin] = {}
    modules = {}
    loaders = [(Plugin(ep.name, ep.dist.name if ep.dist else "?", ep.dist.version if ep.dist else "?"), ep.load)
               for ep in _selected_entry_points()]
    for name, local in (local_plugins or {}).items():
        if name in {plugin.name for plugin, _ in loaders}:
            raise UserError(f"local plugin {name!r}: an installed plugin has that name; give the local one another")
        loaders.append((Plugin(name, "local", "-"), lambda local=local: local))
    for plugin, load in loaders:
        name = plugin.name
        plugins[name] = plugin
        try:
            module = load()
            manager.register(module, name=name)
        except Exception as exc:  # a plugin's own bug: record it, keep the rest working
            plugin.error = f"{type(exc).__name__}: {exc}"
            continue
        unknown = [caller.name for caller in manager.get_hookcallers(module) or [] if caller.spec is None]
        if unknown:  # pluggy accepts a misspelt hook silently; say so instead of ignoring the plugin's work
            manager.unregister(module)
            plugin.error = f"unknown hook {unknown[0]}; the hooks are {', '.join('register_' + k for k in KINDS)}"
            continue
        modules[name] = module

    registry = Registry(list(plugins.values()))
    for name, module in modules.items():
        _collect(registry, plugins[name], manager, module)
    for plugin in registry.plugins:
        if plugin.error:
            print(f"gan-zoo: warning: plugin {plugin.label} was skipped: {plugin.error}"[:300], file=sys.stderr)
    return registry


def _collect(registry: Registry, plugin: Plugin, manager: pluggy.PluginManager, module) -> None:
    """Everything one plugin registers, kept only if all of it is sound."""
    found: dict[str, list] = {}
    for kind in KINDS:
        impls = [i for i in getattr(manager.hook, f"register_{kind}").get_hookimpls() if i.plugin is module]
        items = found[kind] = []
        for impl in impls:
            try:
                impl.function(register=items.append)
            except Exception as exc:
                plugin.error = f"register_{kind} raised {type(exc).__name__}: {exc}"
                return
        for item in items:
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name:
                plugin.error = f"register_{kind} got {item!r}, which has no string `name`"
                return
            problem = contract_problem(kind, item)
            if problem:
                plugin.error = f"{SINGULAR[kind]} {name!r} {problem}"
                return
            taken = getattr(registry, kind).get(name)
            if taken is not None or [i.name for i in items].count(name) > 1:
                other = registry.provider[(kind, name)].label if taken is not None else "itself"
                plugin.error = (f"{SINGULAR[kind]} {name!r} is already registered by {other}; uninstall one, or "
                                f"choose with GAN_ZOO_PLUGINS=name,...")
                return
    for kind, items in found.items():
        for item in items:
            getattr(registry, kind)[item.name] = item
            registry.provider[(kind, item.name)] = plugin
            plugin.registered[kind].append(item.name)


_registry: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, loaded once (loading again would re-import nothing and change nothing)."""
    global _registry
    if _registry is None:
        _registry = load_registry()
    return _registry
