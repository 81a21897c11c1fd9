"""FD against a reference statistics file (pytorch-fid / clean-fid .npz), and clean-fid's resize convention."""

import numpy as np
import pytest
import torch
from torch import nn

from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.api import evaluate
from gan_zoo.harness.functional import fd
from gan_zoo.harness.inception import FIDNetwork
from gan_zoo.harness.resize import clean_fid_resize, to_uint8
from gan_zoo.plugins.feature_spaces import InceptionConfig
from gan_zoo.registry import registry


@pytest.fixture(scope="module")
def digits():
    return open_dataset(registry().dataset("digits"))


def write_stats(path, x):
    x = x.reshape(len(x), -1).double().numpy()
    np.savez(path, mu=x.mean(0), sigma=np.cov(x, rowvar=False))  # what pytorch-fid's save_fid_stats writes
    return path


def test_fd_to_a_statistics_file_equals_fd_to_the_items_it_was_computed_from(digits, tmp_path):
    stats = write_stats(tmp_path / "real.npz", digits.heldout.x)
    fake = digits.train.x[:300]
    record = evaluate(fake, dataset="digits", metrics=["fd"], device="cpu",
                      fd={"features": "pixels", "reference_stats": str(stats), "stats_samples": 1000})
    result = record["metrics"]["fd"]
    expected = fd(digits.heldout.x.reshape(len(digits.heldout.x), -1), fake.reshape(300, -1))
    assert result["n"] == 300 and result["real_floor"] is None and "statistics file" in result["note"]
    assert result["value"] == pytest.approx(expected, rel=1e-6)  # np.cov sums in another order
    assert len(result["reference"]["sha256"]) == 64 and result["reference"]["d"] == 64


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file"),
    ("garbage", "not a readable .npz"),
    ("keys", "holds m, s, not mu and sigma"),
    ("shapes", "do not fit"),
    ("asymmetric", "not a covariance"),
    ("nan", "NaN or inf"),
    ("pickled", "not a readable .npz"),
])
def test_a_bad_statistics_file_is_one_line_before_anything_is_drawn(case, message, tmp_path, monkeypatch):
    path = tmp_path / "stats.npz"
    sigma = np.eye(4)
    if case == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif case == "keys":
        np.savez(path, m=np.zeros(4), s=sigma)
    elif case == "shapes":
        np.savez(path, mu=np.zeros(4), sigma=np.eye(3))
    elif case == "asymmetric":
        sigma[0, 1] = 0.5
        np.savez(path, mu=np.zeros(4), sigma=sigma)
    elif case == "nan":
        np.savez(path, mu=np.array([0, np.nan, 0, 0]), sigma=sigma)
    elif case == "pickled":
        np.savez(path, mu=np.array([{"a": 1}], dtype=object), sigma=sigma)
    drawn = []
    monkeypatch.setattr("gan_zoo.sources.TensorSource.draw", lambda *args: drawn.append(args))
    with pytest.raises(UserError, match=message) as info:
        evaluate(torch.zeros(10, 1, 8, 8), dataset="digits", metrics=["fd"], device="cpu",
                 fd={"features": "pixels", "reference_stats": str(path)})
    assert "\n" not in str(info.value) and str(path) in str(info.value) and not drawn


def test_statistics_of_another_space_are_refused_at_compute(digits, tmp_path):
    stats = tmp_path / "wide.npz"
    np.savez(stats, mu=np.zeros(2048), sigma=np.eye(2048))
    record = evaluate(digits.train.x[:50], dataset="digits", metrics=["fd"], device="cpu",
                      fd={"features": "pixels", "reference_stats": str(stats)})
    assert "2048" in record["errors"]["fd"] and "64-d" in record["errors"]["fd"]


def test_clean_fid_resize_is_pil_bicubic_on_uint8_per_channel():
    u8 = torch.randint(0, 256, (3, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    x01 = u8.float() / 255
    assert np.array_equal(to_uint8(x01), u8.permute(0, 2, 3, 1).numpy())  # quantising saved images loses nothing
    resized = clean_fid_resize(x01)
    assert resized.shape == (3, 3, 299, 299)
    # an independent bicubic (Keys, a = -0.5, as PIL's) on the uint8 values: torch's antialiased path
    oracle = torch.nn.functional.interpolate(u8.float(), size=(299, 299), mode="bicubic", antialias=True,
                                             align_corners=False)
    assert (resized * 255 - oracle).abs().max() < 0.01  # of 255 levels: float rounding only
    pytorch_fid = torch.nn.functional.interpolate(x01, size=(299, 299), mode="bilinear", align_corners=False)
    assert (pytorch_fid - resized).abs().mean() > 1e-3  # the two conventions really differ


class Pool3Stub(nn.Module):
    num_features = 3

    def features(self, x):
        return x.mean((2, 3))


def test_the_fid_network_takes_clean_fid_images_when_asked():
    items = torch.rand(2, 3, 32, 32) * 2 - 1
    seen = FIDNetwork(Pool3Stub(), "clean-fid").prepare(items)
    torch.testing.assert_close(seen, clean_fid_resize((items + 1) / 2))
    assert FIDNetwork(Pool3Stub()).prepare(items).shape == (2, 3, 32, 32)  # pytorch-fid resizes inside


def test_an_unknown_resize_is_refused():
    with pytest.raises(UserError, match="choose one of pytorch-fid, clean-fid"):
        InceptionConfig(resize="nearest")
