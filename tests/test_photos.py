"""photos32: colour crops of scikit-learn's sample photos, a 32x32x3 data set that needs no download."""

import pytest
import torch

import gan_zoo.plugins.photo_data as photo_data
from gan_zoo.datasets import open_dataset
from gan_zoo.errors import UserError
from gan_zoo.harness.knn import nearest
from gan_zoo.registry import load_registry
from gan_zoo.testing import check_family


@pytest.fixture(scope="module")
def small():
    return photo_data.load_photos32(1500)


def test_registered_and_split():
    reg = load_registry()
    assert reg.plugin_of("datasets", "photos32").name == "photo-data"
    data = open_dataset(reg.dataset("photos32"))
    assert (len(data.train), len(data.heldout)) == (9600, 2400)
    assert data.spec.shape == (3, 32, 32) and data.spec.num_classes == 2 and data.spec.bounded
    assert set(data.heldout.labels.tolist()) == {0, 1}


def test_items_are_distinct_crops_in_range(small):
    assert small.x.shape == (1500, 3, 32, 32) and small.x.dtype == torch.float32
    assert -1.0 <= small.x.min().item() and small.x.max().item() <= 1.0
    flat = small.x.reshape(len(small.x), -1)
    distances, _ = nearest(flat, flat, k=1, exclude_self=True)
    assert distances.min().item() > 0.1  # no copies, and no one-pixel shifts of one another


def test_each_item_is_its_box_cut_from_the_photo_and_resized(small):
    photos = photo_data._photos()
    boxes = photo_data.crop_boxes(1500)
    assert torch.equal(small.labels, boxes[:, 0])
    assert len(boxes.unique(dim=0)) == 1500 and set(boxes[:, 1].tolist()) == set(photo_data.CROP_SIDES)
    for i in [int((boxes[:, 1] == 32).nonzero()[0]), int((boxes[:, 1] == 128).nonzero()[0])]:
        photo, side, top, left = boxes[i].tolist()
        crop = photos[photo][None, :, top:top + side, left:left + side]
        if side != 32:
            crop = torch.nn.functional.interpolate(crop, size=(32, 32), mode="bilinear", antialias=True)
        torch.testing.assert_close(small.x[i], crop[0] / 127.5 - 1.0)


def test_same_items_for_the_same_n_and_a_prefix_for_a_smaller_n(small):
    again = photo_data.load_photos32(1500)
    fewer = photo_data.load_photos32(300)
    assert torch.equal(small.x, again.x) and torch.equal(small.labels, again.labels)
    assert torch.equal(fewer.x, small.x[:300])


@pytest.mark.parametrize("n", [0, 99_051])
def test_impossible_size_is_one_line(n):
    with pytest.raises(UserError, match="99050 distinct"):
        photo_data.load_photos32(n)


@pytest.mark.slow
def test_image_family_trains_at_32x32x3(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_data, "load_photos32", lambda n, real=photo_data.load_photos32: real(400))
    check_family(load_registry(), "vanilla", tmp_path, "photos32")
