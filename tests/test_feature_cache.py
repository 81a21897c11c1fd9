"""The on-disk feature cache: reference features computed once, keyed by content, safe to share and to damage."""

import json
import multiprocessing

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gan_zoo import cache
from gan_zoo.app.cli import main
from gan_zoo.harness.api import evaluate

TIMM = {"timm": {"random_init": True}}  # a real network's space, with no weights file: knowingly random


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / "cache"))


def fd_record(source, seed=0):
    return evaluate(source, dataset="digits", metrics=["fd"], seed=seed, device="cpu", features=TIMM,
                    fd={"features": "timm:test_vit"})


def items(n=40, seed=0):
    return torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))


def doubled(x):
    return torch.cat([x, 2 * x], 1)


def test_miss_then_hit_gives_the_same_numbers_and_says_where_they_came_from(monkeypatch):
    x = torch.rand(200, 1, 8, 8) * 2 - 1  # a finite source: its features are cached too
    first = fd_record(x)
    assert set(first["features_cache"].values()) == {"computed"}
    assert any(key.endswith("real-all") for key in first["features_cache"])
    second = fd_record(x.clone())
    assert set(second["features_cache"].values()) == {"cache"}
    assert second["features_cache"].keys() == first["features_cache"].keys()
    assert second["metrics"]["fd"] == first["metrics"]["fd"]


def test_a_generator_s_fresh_draws_are_not_cached():
    record = fd_record("memorizer")
    assert record["features_cache"] and all(key.split(" ")[1].startswith("real") for key in record["features_cache"])


def test_content_keyed_one_changed_item_or_identity_is_a_miss():
    x = items()
    cache.cached_features("net-a", x, doubled, {})
    changed = x.clone()
    changed[7, 2] += 1e-6
    assert cache.cached_features("net-a", changed, doubled, {})[1] == "computed"
    assert cache.cached_features("net-b", x, doubled, {})[1] == "computed"
    features, status = cache.cached_features("net-a", x, lambda _: pytest.fail("recomputed a cached entry"), {})
    assert status == "cache" and torch.equal(features, doubled(x))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_rows", "non_finite"])
def test_a_damaged_entry_is_recomputed_with_a_warning_and_repaired(damage):
    from safetensors.torch import save_file

    x = items()
    cache.cached_features("net", x, doubled, {})
    [path] = cache.features_dir().glob("*.safetensors")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "garbage":
        path.write_bytes(b"not a safetensors file")
    elif damage == "wrong_rows":
        save_file({"features": torch.zeros(3, 12)}, str(path))
    else:
        save_file({"features": torch.full((40, 12), float("nan"))}, str(path))
    features, status = cache.cached_features("net", x, doubled, {})
    assert status.startswith("recomputed: damaged cache entry") and torch.equal(features, doubled(x))
    assert cache.cached_features("net", x, doubled, {})[1] == "cache"  # rewritten whole


def _write_concurrently(root):
    import os

    os.environ["GAN_ZOO_CACHE"] = root
    x = torch.randn(2000, 64, generator=torch.Generator().manual_seed(1))
    for _ in range(5):
        cache.clear()  # racing removals too: a reader must never see half a file
        features, _ = cache.cached_features("net", x, doubled, {})
        assert torch.equal(features, doubled(x))


def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_write_concurrently, [str(tmp_path / "shared")] * 4)
    assert not [p for p in (tmp_path / "shared" / "features").iterdir() if not p.name.endswith(".safetensors")]


def test_cli_lists_and_clears():
    cache.cached_features("net", items(), doubled, {"space": "timm:test_vit", "items": "real-all",
                                                     "dataset": "digits"})
    listed = CliRunner().invoke(main, ["cache", "list", "--json"])
    [entry] = json.loads(listed.output)
    assert entry["dataset"] == "digits" and entry["items"] == "real-all" and entry["shape"] == [40, 12]
    assert "1 entries" in CliRunner().invoke(main, ["cache", "list"]).output
    cleared = CliRunner().invoke(main, ["cache", "clear"])
    assert cleared.exit_code == 0 and "removed 1" in cleared.output and cache.list_entries() == []


def test_eval_warns_in_one_line_when_a_damaged_entry_was_replaced(tmp_path):
    x = tmp_path / "samples.npy"
    np.save(x, (torch.rand(60, 1, 8, 8) * 2 - 1).numpy())
    args = ["eval", str(x), "--dataset", "digits", "--metrics", "fd", "-o", "fd.features=timm:test_vit",
            "-o", "features.timm.random_init=true", "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    for path in cache.features_dir().glob("*.safetensors"):
        path.write_bytes(b"damaged")
    result = CliRunner().invoke(main, args)
    warnings = [line for line in result.stderr.splitlines() if "damaged cache entry" in line]
    assert result.exit_code == 0 and warnings and all(line.startswith("gan-zoo: warning: features of") for line in
                                                      warnings)
