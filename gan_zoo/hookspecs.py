"""The plugin contract: four callback-style hooks, each given a `register` function.

A plugin is a module (or object) with functions marked `@gan_zoo.hookimpl`, made known through an entry
point in the `gan_zoo` group. Example::

    from gan_zoo import hookimpl

    @hookimpl
    def register_families(register):
        register(MyGAN)          # a GanModel subclass with name, description, Config
"""

import pluggy

hookspec = pluggy.HookspecMarker("gan_zoo")
hookimpl = pluggy.HookimplMarker("gan_zoo")


@hookspec
def register_families(register):
    """Call register(model_class) for each family: a gan_zoo.family.GanModel subclass."""


@hookspec
def register_datasets(register):
    """Call register(dataset) for each data set: a gan_zoo.datasets.DatasetSource."""


@hookspec
def register_discriminators(register):
    """Call register(name, builder) for each evaluation discriminator class (used by the harness)."""


@hookspec
def register_suites(register):
    """Call register(suite) for each benchmark suite: a gan_zoo.suites.SuiteFile (a name and a TOML file)."""
