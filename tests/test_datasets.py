import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.registry import registry


def load(name, root=None, seed=0):
    return open_dataset(registry().dataset(name), seed=seed, root=root)


@pytest.mark.parametrize("name, n_modes, std, radius", [("ring8", 8, 0.01, 1.0), ("grid25", 25, 0.05, 4 * 2**0.5)])
def test_gaussian_mixtures_match_the_protocol(name, n_modes, std, radius):
    data = load(name)
    assert data.spec.shape == (2,) and len(data.train.modes) == n_modes and data.train.mode_std == std
    assert data.train.modes.norm(dim=1).max().item() == pytest.approx(radius)
    offsets = data.train.x - data.train.modes[data.train.labels].float()
    assert offsets.std().item() == pytest.approx(std, rel=0.05)
    assert torch.bincount(data.train.labels, minlength=n_modes).min() > 0


def test_split_is_deterministic_by_seed_and_disjoint():
    a, b, c = load("digits", seed=1), load("digits", seed=1), load("digits", seed=2)
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x, c.train.x)
    assert len(a.train) + len(a.heldout) == 1797
    train_rows = {tuple(r) for r in a.train.x.flatten(1).tolist()}
    assert a.fingerprint == c.fingerprint  # the content, not the split
    assert sum(tuple(r) in train_rows for r in a.heldout.x.flatten(1).tolist()) < 5  # only true duplicates


def test_digits_and_stacked_digits():
    digits = load("digits")
    assert digits.spec.shape == (1, 8, 8) and digits.spec.num_classes == 10 and digits.spec.bounded
    assert digits.train.x.min() == -1 and digits.train.x.max() == 1
    stacked = load("stacked-digits")
    assert stacked.spec.shape == (3, 8, 8) and stacked.spec.num_classes == 1000
    assert len(torch.unique(torch.cat([stacked.train.labels, stacked.heldout.labels]))) == 1000


def idx_bytes(array: np.ndarray) -> bytes:
    return b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx_folder(root, n=12, gz=False, size=28):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write = gzip.open if gz else open
    with write(root / f"train-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(idx_bytes(images))
    with write(root / f"train-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(idx_bytes(labels))
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_files_gzipped_or_not(tmp_path, name, gz):
    images, labels = write_idx_folder(tmp_path / name, gz=gz)
    data = load(name, root=tmp_path / name)
    assert data.spec.shape == (1, 28, 28) and len(data.train) + len(data.heldout) == 12
    everything = torch.cat([data.train.x, data.heldout.x])
    expected = torch.from_numpy(images).float().unsqueeze(1) / 127.5 - 1
    assert sorted(map(tuple, everything.flatten(1).tolist())) == sorted(map(tuple, expected.flatten(1).tolist()))
    assert sorted(torch.cat([data.train.labels, data.heldout.labels]).tolist()) == sorted(labels.tolist())


def test_idx_errors_name_the_file_and_format(tmp_path):
    with pytest.raises(UserError, match=r"no file train-images-idx3-ubyte\[\.gz\].*expected"):
        load("mnist", root=tmp_path)
    write_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0c\x01")  # 1 of 12
    with pytest.raises(UserError, match=r"train-labels-idx1-ubyte: holds 1 data bytes.*truncated"):
        load("mnist", root=tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"PK\x03\x04 a zip")
    with pytest.raises(UserError, match=r"not an IDX file"):
        load("mnist", root=tmp_path)


def test_cifar10_binary(tmp_path):
    rng = np.random.default_rng(0)
    records = rng.integers(0, 256, (7, 3073), dtype=np.uint8)
    records[:, 0] = np.arange(7)
    records.tofile(tmp_path / "data_batch_1.bin")
    data = load("cifar10", root=tmp_path)
    assert data.spec.shape == (3, 32, 32) and data.spec.num_classes == 7
    first = torch.cat([data.train.x, data.heldout.x])[torch.cat([data.train.labels, data.heldout.labels]) == 0]
    assert torch.equal(first[0], torch.from_numpy(records[0, 1:].reshape(3, 32, 32)).float() / 127.5 - 1)
    (tmp_path / "data_batch_1.bin").write_bytes(records.tobytes()[:-5])
    with pytest.raises(UserError, match="not a whole number of 3073-byte records"):
        load("cifar10", root=tmp_path)


def test_cifar10_pickled_version_is_refused(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04 a pickle")
    with pytest.raises(UserError, match="pickled python version, which is never unpickled"):
        load("cifar10", root=tmp_path)


def test_image_folder_with_labels_from_subfolders(tmp_path):
    for label, colour in (("cats", 10), ("dogs", 200)):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.new("RGB", (6, 6), (colour, i, 0)).save(tmp_path / label / f"{i}.png")
    data = load("image-folder", root=tmp_path)
    assert data.spec.shape == (3, 6, 6) and data.spec.num_classes == 2
    x = torch.cat([data.train.x, data.heldout.x])
    labels = torch.cat([data.train.labels, data.heldout.labels])
    red = ((x[:, 0, 0, 0] + 1) * 127.5).round()
    assert set(red[labels == 0].tolist()) == {10} and set(red[labels == 1].tolist()) == {200}


def test_image_folder_errors(tmp_path):
    with pytest.raises(UserError, match="no .png, .jpg or .jpeg files"):
        load("image-folder", root=tmp_path)
    Image.new("L", (6, 6)).save(tmp_path / "a.png")
    Image.new("L", (7, 6)).save(tmp_path / "b.png")
    with pytest.raises(UserError, match="7x6 pixels.*resize"):
        load("image-folder", root=tmp_path)
    (tmp_path / "b.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="not a readable PNG or JPEG"):
        load("image-folder", root=tmp_path)


def image_folder_pixels(root):
    data = load("image-folder", root=root)
    x = torch.cat([data.train.x, data.heldout.x])
    return ((x + 1) * 127.5).round().to(torch.int64)


def test_image_folder_alpha_is_composited_onto_black(tmp_path):
    for i in range(2):
        Image.new("RGBA", (2, 2), (200, 100, 50, 0 if i else 255)).save(tmp_path / f"{i}.png")
    pixels = image_folder_pixels(tmp_path)
    assert pixels.shape == (2, 3, 2, 2)
    assert sorted(pixels[:, :, 0, 0].tolist()) == [[0, 0, 0], [200, 100, 50]]  # transparent: black


def test_image_folder_half_transparent_gray_and_palettes(tmp_path):
    Image.new("LA", (2, 2), (200, 128)).save(tmp_path / "a.png")  # half transparent: 200 * 128 / 255
    palette = Image.new("P", (2, 2), 1)
    palette.putpalette([10, 20, 30, 40, 50, 60])
    palette.save(tmp_path / "b.png")
    palette.save(tmp_path / "c.png", transparency=1)  # the palette's transparent colour: black
    pixels = image_folder_pixels(tmp_path)[:, :, 0, 0].tolist()
    assert sorted(pixels) == sorted([[100, 100, 100], [40, 50, 60], [0, 0, 0]])


def test_image_folder_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 10], [257 * 128, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode == "I;16"
    Image.new("L", (2, 2), 7).save(tmp_path / "b.png")
    data = load("image-folder", root=tmp_path)
    assert data.spec.shape == (1, 2, 2)
    pixels = image_folder_pixels(tmp_path)[:, 0]
    assert sorted(pixels.flatten(1).tolist()) == [[0, 10, 128, 255], [7, 7, 7, 7]]


def test_idx_labels_above_9_and_gzip_damage_are_refused(tmp_path):
    write_idx_folder(tmp_path, n=4, size=3, gz=True)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04\x00\x01\x0b\x02"))
    with pytest.raises(UserError, match=r"label 11 at item 2, but MNIST labels are 0\.\.9"):
        load("mnist", root=tmp_path)
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04\x00\x01\x02\x03")[:-4])
    with pytest.raises(UserError, match="a damaged or truncated gzip file"):
        load("mnist", root=tmp_path)
