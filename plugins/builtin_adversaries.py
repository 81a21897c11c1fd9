"""The built-in gauntlet adversaries, registered like any plugin's (gan_zoo/adversaries.py has the contract): the
copying modern generators are caught doing, partial and disguised; blends of training items; diversity lost
without copying; and a real network overfit to a small subset. Each is graded by a strength at which 0 (or, for
`repeat`, m = n) is the clean control, except `overfit-gan`, whose strength is the subset it trains on."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_zoo import hookimpl
from gan_zoo.adversaries import Adversary
from gan_zoo.config import number, whole
from gan_zoo.errors import UserError
from gan_zoo.harness.adversaries import copies_needed, jpeg_like, mix_in


class PartialCopy(Adversary):
    name = "partial-copy"
    description = "a share f of the items are exact copies of distinct training items, the rest fresh real items"

    def check(self, strength, data, n):
        fraction = super().check(strength, data, n)
        copies_needed(fraction, n, data, self.name)
        return fraction

    def disguise(self, copies, config, generator):
        """How the copies are changed before they are mixed in (here: not at all)."""
        return copies

    def make(self, fresh, data, strength, config, generator):
        k = copies_needed(strength, len(fresh), data, self.name)
        copies = data.train.x[torch.randperm(len(data.train), generator=generator)[:k]]
        return mix_in(fresh.x, self.disguise(copies, config, generator), generator), {"copies": k}


class FlippedCopy(PartialCopy):
    name = "copy-flip"
    description = "partial copying, each copy mirrored left to right"
    needs = ("images",)

    def disguise(self, copies, config, generator):
        return copies.flip(-1)


@dataclass
class ShiftConfig:
    pixels: int = 2  # each copy moved by up to this many pixels along each axis (never not at all)

    def __post_init__(self):
        self.pixels = whole("pixels", self.pixels, 1, 64)


class ShiftedCopy(PartialCopy):
    name = "copy-shift"
    description = "partial copying, each copy translated by up to `pixels` (wrapped round, so nothing is lost)"
    needs = ("images",)
    Config = ShiftConfig

    def disguise(self, copies, config, generator):
        reach = config.pixels
        moved = []
        for copy in copies:
            while True:  # a shift of (0, 0) would be an exact copy
                dy, dx = torch.randint(-reach, reach + 1, (2,), generator=generator).tolist()
                if dy or dx:
                    break
            moved.append(torch.roll(copy, (dy, dx), dims=(-2, -1)))
        return torch.stack(moved) if moved else copies


@dataclass
class CropConfig:
    keep: float = 0.75  # the side of the crop, as a share of the image's side

    def __post_init__(self):
        self.keep = number("keep", self.keep, 0, 1, low_open=True, high_open=True)


def crop_box(side: int, keep: float) -> int:
    """The crop's side in pixels: at least 1, and smaller than the image's."""
    return min(side - 1, max(1, round(keep * side)))


def crop_resize(image: torch.Tensor, top: int, left: int, size: int) -> torch.Tensor:
    """The size x size box at (top, left) of one (C, H, W) image, resized back to H x W (bilinear)."""
    box = image[:, top:top + size, left:left + size].unsqueeze(0)
    return F.interpolate(box, size=image.shape[-2:], mode="bilinear", align_corners=False)[0]


class CroppedCopy(PartialCopy):
    name = "copy-crop"
    description = "partial copying, each copy a random crop of `keep` of its side resized back (bilinear)"
    needs = ("images",)
    Config = CropConfig

    def disguise(self, copies, config, generator):
        side = copies.shape[-1]
        size = crop_box(side, config.keep)
        corners = torch.randint(0, side - size + 1, (len(copies), 2), generator=generator).tolist()
        return torch.stack([crop_resize(c, top, left, size) for c, (top, left) in zip(copies, corners, strict=True)]) \
            if len(copies) else copies


@dataclass
class JitterConfig:
    amount: float = 0.3  # contrast drawn from [1 - amount, 1] per channel, with a brightness shift that keeps range

    def __post_init__(self):
        self.amount = number("amount", self.amount, 0, 1, low_open=True)


class JitteredCopy(PartialCopy):
    name = "copy-jitter"
    description = "partial copying, each channel of each copy scaled in contrast and shifted in brightness"
    needs = ("images",)
    Config = JitterConfig

    def disguise(self, copies, config, generator):
        shape = (len(copies), copies.shape[1], 1, 1)
        contrast = 1 - config.amount * torch.rand(shape, generator=generator)
        room = 1 - contrast  # c x + b stays in [-1, 1] for x in [-1, 1] when |b| <= 1 - c: nothing clips
        shift = room * (2 * torch.rand(shape, generator=generator) - 1)
        return contrast * copies + shift


@dataclass
class QuantiseConfig:
    step: float = 0.5  # the DCT coefficients' quantisation step, in the pixel range [-1, 1]

    def __post_init__(self):
        self.step = number("step", self.step, 0, 8, low_open=True)


class QuantisedCopy(PartialCopy):
    name = "copy-jpeg"
    description = "partial copying, each copy JPEG-like: blockwise DCT coefficients rounded to a step"
    needs = ("images",)
    Config = QuantiseConfig

    def disguise(self, copies, config, generator):
        return jpeg_like(copies, config.step) if len(copies) else copies


@dataclass
class BlendConfig:
    weight: float = 0.5  # a blend is weight x a + (1 - weight) x b

    def __post_init__(self):
        self.weight = number("weight", self.weight, 0, 1, low_open=True, high_open=True)


class Blend(Adversary):
    name = "blend"
    description = "a share f of the items are convex mixes of two distinct training items, the rest fresh"
    group = "blends"
    Config = BlendConfig

    def check(self, strength, data, n):
        fraction = super().check(strength, data, n)
        if len(data.train) < 2:
            raise UserError(f"{self.name}: the training split holds {len(data.train)} items; a blend needs 2")
        return fraction

    def partners(self, train: torch.Tensor, first: torch.Tensor, generator) -> torch.Tensor:
        """For each training index in `first`, the index of the item it is blended with: any other one."""
        offset = torch.randint(1, len(train), (len(first),), generator=generator)
        return (first + offset) % len(train)

    def make(self, fresh, data, strength, config, generator):
        train = data.train.x
        k = round(strength * len(fresh))
        first = torch.randint(len(train), (k,), generator=generator)
        second = self.partners(train, first, generator)
        blends = config.weight * train[first] + (1 - config.weight) * train[second]
        return mix_in(fresh.x, blends, generator), {"blends": k}


class NeighbourBlend(Blend):
    name = "nn-blend"
    description = "a share f of the items are convex mixes of a training item and its nearest training neighbour"

    def partners(self, train, first, generator):
        flat = train.flatten(1)
        distances = torch.cdist(flat[first], flat)
        distances[torch.arange(len(first)), first] = float("inf")  # not itself
        return distances.argmin(1)


class PullToCentre(Adversary):
    name = "pull-to-centre"
    description = "every item moved a share s of the way to its class's training mean (a truncation-like knob)"
    strength = "s"
    group = "diversity loss"
    needs = ("labels",)

    def make(self, fresh, data, strength, config, generator):
        train = data.train
        classes = fresh.labels.unique().tolist()
        if not all((train.labels == c).any() for c in classes):
            raise UserError(f"{self.name}: a class of the control split has no training item to give its centre")
        centres = torch.zeros(int(fresh.labels.max()) + 1, *train.x.shape[1:])
        for c in classes:
            centres[c] = train.x[train.labels == c].mean(0)
        return (1 - strength) * fresh.x + strength * centres[fresh.labels]


class Repeat(Adversary):
    name = "repeat"
    description = "a finite file of m real items, each repeated n/m times (no training item among them)"
    strength = "m"
    low, high = 1, None
    harder = "higher"
    group = "diversity loss"

    def check(self, strength, data, n):
        m = whole(f"{self.name} (m)", strength, 1, n)
        if n % m:
            raise UserError(f"{self.name}: m = {m} does not divide n = {n}; each item repeats the same number of "
                            f"times, so give a divisor of n")
        return m

    def make(self, fresh, data, strength, config, generator):
        m = int(strength)
        return fresh.x[:m].repeat(len(fresh) // m, *([1] * (fresh.x.dim() - 1))), {"support": m}


@dataclass
class OverfitConfig:
    family: str = "vanilla"  # a trained zoo family (the registry checks the name when the suite is read)
    steps: int = 3000  # training steps on the small subset: long for m items, so the network can memorise them

    def __post_init__(self):
        self.steps = whole("steps", self.steps, 1, 10**7)
        if not isinstance(self.family, str) or not self.family:
            raise UserError(f"family = {self.family!r}: name a trained family, e.g. family = \"vanilla\"")


class OverfitGenerator(Adversary):
    name = "overfit-gan"
    description = "a zoo family trained for `steps` on m training items only: a real network's memorisation"
    strength = "m"
    low, high = 2, None
    harder = "higher"  # a larger subset leaves less to memorise
    group = "memorizers"
    Config = OverfitConfig

    def check(self, strength, data, n):
        m = whole(f"{self.name} (m)", strength, 2)
        if m > len(data.train):
            raise UserError(f"{self.name}: a subset of m = {m} is larger than the {len(data.train)} items of the "
                            f"training split; give at most {len(data.train)}")
        return m

    def make(self, fresh, data, strength, config, generator):
        from dataclasses import replace
        from pathlib import Path
        from tempfile import TemporaryDirectory

        from gan_zoo.registry import registry
        from gan_zoo.sources import ModelSource
        from gan_zoo.training import run

        reg = registry()
        family = reg.family(config.family)
        if family.kind != "trained":
            raise UserError(f"{self.name}: {family.name} is {family.kind}, not trained; name a trained family")
        m = int(strength)
        small = replace(data, train=data.train.subset(torch.randperm(len(data.train), generator=generator)[:m]))
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        with TemporaryDirectory() as out:  # the checkpoint is a by-product: the items are what the gauntlet keeps
            trained = run(reg, family.name, family.Config(), small, out=Path(out), seed=seed, steps=config.steps,
                          device=torch.device("cpu"))
        items = ModelSource(trained.model).draw(len(fresh), seed).cpu()
        return items, {"subset": m, "family": family.name, "steps": config.steps}


@hookimpl
def register_adversaries(register):
    for adversary in (PartialCopy, FlippedCopy, ShiftedCopy, CroppedCopy, JitteredCopy, QuantisedCopy, Blend,
                      NeighbourBlend, PullToCentre, Repeat, OverfitGenerator):
        register(adversary)
