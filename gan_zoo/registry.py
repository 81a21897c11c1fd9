"""Loads plugins from installed entry points and collects what they register.

Each entry point is loaded on its own, so one broken plugin is recorded (and shown by `gan-zoo plugins`)
instead of taking the whole tool down. Environment switches, in the manner of pytest and llm:

- GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD=1  load no entry points at all (not even the built-ins)
- GAN_ZOO_PLUGINS=a,b                load only the entry points with these names
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from gan_zoo import hookspecs
from gan_zoo.errors import UserError

ENTRY_POINT_GROUP = "gan_zoo"
KINDS = ("families", "datasets", "discriminators", "suites")


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
    families: dict[str, type]  # name -> GanModel subclass
    datasets: dict[str, object]  # name -> DatasetSource
    discriminators: dict[str, object]
    suites: dict[str, object]  # name -> SuiteFile
    provider: dict[tuple[str, str], Plugin]  # (kind, name) -> the plugin that registered it

    def family(self, name: str) -> type:
        return self._lookup("families", name)

    def dataset(self, name: str):
        return self._lookup("datasets", name)

    def discriminator(self, name: str):
        return self._lookup("discriminators", name)

    def suite(self, name: str):
        return self._lookup("suites", name)

    def plugin_of(self, kind: str, name: str) -> Plugin:
        return self.provider[(kind, name)]

    def _lookup(self, kind: str, name: str):
        items = getattr(self, kind)
        if name in items:
            return items[name]
        singular = {"families": "family", "datasets": "dataset", "discriminators": "discriminator",
                    "suites": "suite"}[kind]
        near = difflib.get_close_matches(name, list(items), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(n) for n in near)}? " if near else ""
        loaded = ", ".join(p.label for p in self.plugins if p.error is None) or "none"
        raise UserError(f"unknown {singular} {name!r}; {hint}known: {', '.join(sorted(items)) or 'none'} "
                        f"(plugins loaded: {loaded}; `gan-zoo plugins` lists them)")


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
    return sorted(unique.values(), key=lambda ep: ep.name)


def load_registry() -> Registry:
    """Load every selected entry point and collect what each registers (not cached: see registry())."""
    manager = pluggy.PluginManager("gan_zoo")
    manager.add_hookspecs(hookspecs)
    plugins: dict[str, Plugin] = {}
    for ep in _selected_entry_points():
        dist = ep.dist
        plugin = Plugin(ep.name, dist.name if dist else "?", dist.version if dist else "?")
        plugins[ep.name] = plugin
        try:
            module = ep.load()
            manager.register(module, name=ep.name)
        except Exception as exc:  # a plugin's own bug: record it, keep the rest working
            plugin.error = f"{type(exc).__name__}: {exc}"
            continue
        unknown = [caller.name for caller in manager.get_hookcallers(module) or [] if caller.spec is None]
        if unknown:  # pluggy accepts a misspelt hook silently; say so instead of ignoring the plugin's work
            manager.unregister(module)
            plugin.error = f"unknown hook {unknown[0]}; the hooks are {', '.join('register_' + k for k in KINDS)}"

    registry = Registry(list(plugins.values()), {}, {}, {}, {}, {})
    for kind in KINDS:
        for impl in getattr(manager.hook, f"register_{kind}").get_hookimpls():
            _collect(registry, kind, plugins[impl.plugin_name], impl.function)
    for plugin in registry.plugins:
        if plugin.error:
            print(f"gan-zoo: warning: plugin {plugin.label} is broken and was skipped: {plugin.error}",
                  file=sys.stderr)
    return registry


def _collect(registry: Registry, kind: str, plugin: Plugin, hook) -> None:
    found = []
    try:
        hook(register=found.append)
        for item in found:
            if not isinstance(getattr(item, "name", None), str):
                raise TypeError(f"register_{kind} got {item!r}, which has no string `name`")
    except Exception as exc:
        plugin.error = f"register_{kind}: {type(exc).__name__}: {exc}"
        return
    items = getattr(registry, kind)
    for item in found:
        if item.name in items:
            other = registry.provider[(kind, item.name)]
            raise UserError(f"{kind} entry {item.name!r} is registered by two plugins: {other.label} and "
                            f"{plugin.label}; uninstall one, or choose with GAN_ZOO_PLUGINS=name,...")
        items[item.name] = item
        registry.provider[(kind, item.name)] = plugin
        plugin.registered[kind].append(item.name)


_registry: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, loaded once (loading again would re-import nothing and change nothing)."""
    global _registry
    if _registry is None:
        _registry = load_registry()
    return _registry
