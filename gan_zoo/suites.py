"""The suite contract: a benchmark suite a plugin ships is a name and a TOML file (the format is documented in
gan_zoo.app.jobs, which expands a suite into jobs)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SuiteFile:
    """A suite a plugin ships: its name and the TOML file holding it."""

    name: str
    path: Path

    @property
    def description(self) -> str:
        try:
            return tomllib.loads(Path(self.path).read_text()).get("suite", {}).get("description", "")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            return "(unreadable suite file)"
