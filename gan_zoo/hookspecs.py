"""The plugin contract: one hook per kind of thing, each given a `register` function to call per item.

A plugin is a module with functions marked `@gan_zoo.hookimpl`, made known through an entry point in the
`gan_zoo` group. Example::

    from gan_zoo import GanModel, hookimpl

    @hookimpl
    def register_families(register):
        register(MyGAN)          # a GanModel subclass with name, description, Config

Every registered item has a string `name`; two plugins registering one name is an error naming both.
"""

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("gan_zoo")
hookimpl = pluggy.HookimplMarker("gan_zoo")


@hookspec
def register_families(register: Callable[[type], None]) -> None:
    """Call register(cls) for each family: a gan_zoo.GanModel subclass (name, description, kind, players, Config)."""


@hookspec
def register_datasets(register: Callable[[object], None]) -> None:
    """Call register(source) for each data set: a gan_zoo.DatasetSource(name, description, load, latent_dim)."""


@hookspec
def register_discriminators(register: Callable[[object], None]) -> None:
    """Call register(cls) for each evaluation discriminator class: a gan_zoo.DiscriminatorClass(name, description,
    build), where build(spec, code_dim, width, option) returns a module scoring each item."""


@hookspec
def register_suites(register: Callable[[object], None]) -> None:
    """Call register(suite) for each benchmark suite: a gan_zoo.SuiteFile(name, path to a TOML file)."""


@hookspec
def register_metrics(register: Callable[[type], None]) -> None:
    """Call register(cls) for each evaluation metric: a gan_zoo.Metric subclass (name, description, Config,
    worse, needs, compute)."""


@hookspec
def register_feature_spaces(register: Callable[[type], None]) -> None:
    """Call register(cls) for each feature space metrics can measure in: a gan_zoo.FeatureSpace subclass
    (name, description, load)."""


@hookspec
def register_adversaries(register: Callable[[type], None]) -> None:
    """Call register(cls) for each gauntlet adversary: a gan_zoo.harness.adversaries.Adversary subclass (name,
    description, strength, low, high, harder, make)."""
