"""The plugin contract: one hook per kind of thing, each given a `register` function to call per item.

A plugin is a module with functions marked `@gan_zoo.hookimpl`, made known through an entry point in the
`gan_zoo` group. Example::

    from gan_zoo import GanModel, hookimpl

    @hookimpl
    def register_families(register):
        register(MyGAN)          # a GanModel subclass with name, description, Config

Every registered item has a string `name`; two plugins registering one name is an error naming both. Each kind
has a page in docs/ (docs/index.md lists them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # for the annotations only: importing these pulls in torch, and plugins import hookimpl first
    from gan_zoo.adversaries import Adversary
    from gan_zoo.datasets import DatasetSource
    from gan_zoo.discriminators import DiscriminatorClass
    from gan_zoo.family import GanModel
    from gan_zoo.features import FeatureSpace
    from gan_zoo.metrics import Metric
    from gan_zoo.suites import SuiteFile

hookspec = pluggy.HookspecMarker("gan_zoo")
hookimpl = pluggy.HookimplMarker("gan_zoo")


@hookspec
def register_families(register: Callable[[type[GanModel]], None]) -> None:
    """Call register(cls) for each family: a gan_zoo.GanModel subclass (name, description, kind, players, Config)."""


@hookspec
def register_datasets(register: Callable[[DatasetSource], None]) -> None:
    """Call register(source) for each data set: a gan_zoo.DatasetSource(name, description, load, latent_dim)."""


@hookspec
def register_discriminators(register: Callable[[DiscriminatorClass], None]) -> None:
    """Call register(cls) for each evaluation discriminator class: a gan_zoo.DiscriminatorClass(name, description,
    build), where build(spec, code_dim, width, option) returns a module scoring each item."""


@hookspec
def register_suites(register: Callable[[SuiteFile], None]) -> None:
    """Call register(suite) for each benchmark suite: a gan_zoo.SuiteFile(name, path to a TOML file)."""


@hookspec
def register_metrics(register: Callable[[type[Metric]], None]) -> None:
    """Call register(cls) for each evaluation metric: a gan_zoo.Metric subclass (name, description, Config,
    worse, needs, compute)."""


@hookspec
def register_feature_spaces(register: Callable[[type[FeatureSpace]], None]) -> None:
    """Call register(cls) for each feature space metrics can measure in: a gan_zoo.FeatureSpace subclass
    (name, description, load)."""


@hookspec
def register_adversaries(register: Callable[[type[Adversary]], None]) -> None:
    """Call register(cls) for each gauntlet adversary: a gan_zoo.Adversary subclass (name, description, strength,
    low, high, harder, make)."""
