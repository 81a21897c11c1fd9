"""photos32: 32x32 colour crops of the two photos that ship inside scikit-learn. Nothing is downloaded.

scikit-learn's wheel carries china.jpg and flower.jpg (427x640 RGB, read by `load_sample_images`); scikit-image,
whose wheel bundles more photos, is not a dependency. Crops are cut at sides of 32 to 128 pixels on a grid whose
step is an eighth of the side, so two crops of one side differ by at least 1/8 of their width (never a one-pixel
shift that would read as a near-copy), and are resized to 32x32 with antialiasing: 99,050 distinct crops. A fixed
seed picks N of them without replacement, so the data set holds no copies, and the same N always gives the same
items. The label says which photo a crop comes from (0 china, 1 flower).
"""

import torch
import torch.nn.functional as F

from gan_zoo import hookimpl
from gan_zoo.datasets import Data, DatasetSource
from gan_zoo.errors import UserError

SIDE = 32  # items are (3, SIDE, SIDE)
CROP_SIDES = tuple(range(32, 129, 8))  # larger crops, resized down, add scale variety
SEED = 0  # which crops: part of the data set's identity, never a run's seed
HEIGHT, WIDTH = 427, 640  # both photos' size (checked when they are read)


def _photos() -> list[torch.Tensor]:
    """The two photos as (3, 427, 640) float32 tensors of 0..255."""
    from sklearn.datasets import load_sample_images  # imported late: sklearn is slow to import

    try:
        images = load_sample_images().images
    except (OSError, ImportError) as exc:  # the JPEGs are read with PIL from inside the sklearn wheel
        raise UserError(f"data set photos32 cannot read scikit-learn's sample photos ({exc}); "
                        f"reinstall scikit-learn (pip install --force-reinstall scikit-learn)") from None
    if any(image.shape != (HEIGHT, WIDTH, 3) for image in images):
        raise UserError(f"data set photos32: scikit-learn's sample photos are not {HEIGHT}x{WIDTH} RGB here; "
                        f"reinstall scikit-learn (pip install --force-reinstall scikit-learn)")
    return [torch.tensor(image).permute(2, 0, 1).float() for image in images]


def _grid(height: int, width: int, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners of every crop of this side on its grid (step side // 8), row-major."""
    step = side // 8
    ys = torch.arange(0, height - side + 1, step)
    xs = torch.arange(0, width - side + 1, step)
    return ys.repeat_interleave(len(xs)), xs.repeat(len(ys))


def crop_boxes(n: int, height: int = HEIGHT, width: int = WIDTH) -> torch.Tensor:
    """The n crops of the data set as (n, 4) rows of (photo, side, top, left), in the data set's order."""
    boxes = torch.cat([torch.stack([torch.full_like(ys, photo), torch.full_like(ys, side), ys, xs], 1)
                       for photo in range(2) for side in CROP_SIDES for ys, xs in [_grid(height, width, side)]])
    if not 1 <= n <= len(boxes):
        raise UserError(f"photos32: n = {n} crops asked, the two photos give {len(boxes)} distinct ones; "
                        f"choose n from 1 to {len(boxes)}")
    return boxes[torch.randperm(len(boxes), generator=torch.Generator().manual_seed(SEED))[:n]]


def load_photos32(n: int) -> Data:
    """n distinct crops as (n, 3, 32, 32) float32 in [-1, 1], labels 0 (china) / 1 (flower), in a seeded order."""
    boxes = crop_boxes(n)
    photos = _photos()
    x = torch.empty(n, 3, SIDE, SIDE)
    for photo, side in boxes[:, :2].unique(dim=0).tolist():  # one batched cut and resize per photo and side
        slots = ((boxes[:, 0] == photo) & (boxes[:, 1] == side)).nonzero().squeeze(1)
        rows = boxes[slots, 2, None] + torch.arange(side)  # (k, side) pixel rows of each crop
        cols = boxes[slots, 3, None] + torch.arange(side)
        crops = photos[photo][:, rows[:, :, None], cols[:, None, :]].transpose(0, 1)  # (k, 3, side, side)
        if side != SIDE:
            crops = F.interpolate(crops, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
        x[slots] = (crops / 127.5 - 1.0).clamp(-1.0, 1.0)
    return Data(x, boxes[:, 0].clone())


@hookimpl
def register_datasets(register):
    register(DatasetSource("photos32", "12000 32x32 colour crops of scikit-learn's two sample photos (2 labels)",
                           lambda root: load_photos32(12_000), latent_dim=64))
    register(DatasetSource("photos32-60k", "60000 32x32 colour crops of the same photos, for 50k-sample runs",
                           lambda root: load_photos32(60_000), latent_dim=64))
