import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gan_zoo.registry import load_registry

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _small_cpu_budget(monkeypatch):
    torch.set_num_threads(1)  # tests run many tiny models: threads cost more than they give
    monkeypatch.delenv("GAN_ZOO_PLUGINS", raising=False)
    monkeypatch.delenv("GAN_ZOO_DISABLE_PLUGIN_AUTOLOAD", raising=False)


def make_distribution(site: Path, dist: str, version: str, modules: dict[str, str], entry_points: dict[str, str]):
    """Install a distribution the way pip would leave it: modules plus a .dist-info with entry points."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "[gan_zoo]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items()))


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """install_plugin(dist, version, modules, entry_points) -> the site folder, already on sys.path."""
    site = tmp_path / "site"

    def install(dist, version, modules, entry_points):
        make_distribution(site, dist, version, modules, entry_points)
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        return site

    return install


@pytest.fixture
def isolated_cache(tmp_path_factory, monkeypatch):
    """A cache folder of the test session's own: domain classifiers trained by tests never reach the user's cache."""
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def fresh_registry():
    return load_registry


def run_cli(*args, env_extra=None, cwd=None, check=True) -> subprocess.CompletedProcess:
    """Run the installed `gan-zoo` console script in a subprocess, as a user would."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    script = Path(sys.executable).with_name("gan-zoo")
    result = subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"gan-zoo {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
    return result
