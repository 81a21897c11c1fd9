"""The built-in benchmark suites, registered like any plugin's: `quick` (the README's main job) and `paper`."""

from pathlib import Path

from gan_zoo import hookimpl
from gan_zoo.suites import SuiteFile

FOLDER = Path(__file__).with_name("suites")


@hookimpl
def register_suites(register):
    for path in sorted(FOLDER.glob("*.toml")):
        register(SuiteFile(path.stem, path))
