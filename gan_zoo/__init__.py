"""gan-zoo: a pluggable GAN zoo with an adversarial evaluation harness."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gan-zoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from gan_zoo.hookspecs import hookimpl  # noqa: E402  (plugins write `from gan_zoo import hookimpl`)

__all__ = ["__version__", "hookimpl"]
