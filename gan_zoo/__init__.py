"""gan-zoo: a pluggable GAN zoo with an adversarial evaluation harness.

The names a plugin author or a notebook needs, in one place::

    from gan_zoo import hookimpl, GanModel, Metric, evaluate
"""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("gan-zoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from gan_zoo.hookspecs import hookimpl  # noqa: E402  (plugins write `from gan_zoo import hookimpl`)

# Imported on first use (PEP 562), so that `from gan_zoo import hookimpl` stays light and import cycles cannot form.
_EXPORTS = {
    "UserError": "gan_zoo.errors",
    # the checks a Config runs in __post_init__, each refusing a bad value in one line naming the field
    "whole": "gan_zoo.config", "number": "gan_zoo.config", "choice": "gan_zoo.config", "text": "gan_zoo.config",
    "wholes": "gan_zoo.config",
    "GanModel": "gan_zoo.family", "DataSpec": "gan_zoo.family",
    "AdversarialGAN": "gan_zoo.adversarial",
    "Data": "gan_zoo.datasets", "DatasetSource": "gan_zoo.datasets", "LoadedDataset": "gan_zoo.datasets",
    "open_dataset": "gan_zoo.datasets",
    "DiscriminatorClass": "gan_zoo.discriminators",
    "SuiteFile": "gan_zoo.suites",
    "Metric": "gan_zoo.metrics", "Column": "gan_zoo.metrics", "EvalContext": "gan_zoo.metrics",
    "Shortcut": "gan_zoo.metrics", "Rank": "gan_zoo.metrics",
    "FeatureSpace": "gan_zoo.features", "Extractor": "gan_zoo.features",
    "SampleSource": "gan_zoo.sources", "TensorSource": "gan_zoo.sources", "ModelSource": "gan_zoo.sources",
    "CallableSource": "gan_zoo.sources",
    "Adversary": "gan_zoo.adversaries",  # a gauntlet adversary's base, for plugins that add one
    # the vanilla GAN, for a family that changes only its losses (the example plugin's LSGAN)
    "VanillaGAN": "gan_zoo.plugins.vanilla", "VanillaConfig": "gan_zoo.plugins.vanilla",
    "evaluate": "gan_zoo.harness.api",
    "Tracker": "gan_zoo.app.tracking",
}

__all__ = ["__version__", "hookimpl", *_EXPORTS]

if TYPE_CHECKING:  # the same names, for type checkers, which cannot follow __getattr__ (tests/test_example_plugin.py
    # checks that the two lists agree)
    from gan_zoo.adversarial import AdversarialGAN
    from gan_zoo.adversaries import Adversary
    from gan_zoo.app.tracking import Tracker
    from gan_zoo.config import choice, number, text, whole, wholes
    from gan_zoo.datasets import Data, DatasetSource, LoadedDataset, open_dataset
    from gan_zoo.discriminators import DiscriminatorClass
    from gan_zoo.errors import UserError
    from gan_zoo.family import DataSpec, GanModel
    from gan_zoo.features import Extractor, FeatureSpace
    from gan_zoo.harness.api import evaluate
    from gan_zoo.metrics import Column, EvalContext, Metric, Rank, Shortcut
    from gan_zoo.plugins.vanilla import VanillaConfig, VanillaGAN
    from gan_zoo.sources import CallableSource, ModelSource, SampleSource, TensorSource
    from gan_zoo.suites import SuiteFile
else:
    def __getattr__(name: str):
        if name in _EXPORTS:
            import importlib

            return getattr(importlib.import_module(_EXPORTS[name]), name)
        raise AttributeError(f"module 'gan_zoo' has no attribute {name!r}")
