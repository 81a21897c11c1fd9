"""gan-zoo: a pluggable GAN zoo with an adversarial evaluation harness.

The names a plugin author or a notebook needs, in one place::

    from gan_zoo import hookimpl, GanModel, Metric, evaluate
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gan-zoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from gan_zoo.hookspecs import hookimpl  # noqa: E402  (plugins write `from gan_zoo import hookimpl`)

# Imported on first use (PEP 562), so that `from gan_zoo import hookimpl` stays light and import cycles cannot form.
_EXPORTS = {
    "UserError": "gan_zoo.errors",
    "GanModel": "gan_zoo.family", "DataSpec": "gan_zoo.family",
    "AdversarialGAN": "gan_zoo.adversarial",
    "Data": "gan_zoo.datasets", "DatasetSource": "gan_zoo.datasets", "LoadedDataset": "gan_zoo.datasets",
    "DiscriminatorClass": "gan_zoo.discriminators",
    "SuiteFile": "gan_zoo.suites",
    "Metric": "gan_zoo.metrics", "Column": "gan_zoo.metrics", "EvalContext": "gan_zoo.metrics",
    "Shortcut": "gan_zoo.metrics", "Rank": "gan_zoo.metrics",
    "FeatureSpace": "gan_zoo.features", "Extractor": "gan_zoo.features",
    "SampleSource": "gan_zoo.sources", "TensorSource": "gan_zoo.sources", "ModelSource": "gan_zoo.sources",
    "CallableSource": "gan_zoo.sources",
    "evaluate": "gan_zoo.harness.api",
    "Tracker": "gan_zoo.app.tracking",
}

__all__ = ["__version__", "hookimpl", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gan_zoo' has no attribute {name!r}")
