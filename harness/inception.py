"""The domain classifier (and a local InceptionV3) behind the `classifier` and `inception` feature spaces, and the
Inception Score from class logits (REFERENCE section 3); the Frechet distance is gan_zoo.harness.functional.fd.

The standard Inception network needs downloaded weights, so by default the "Inception" network is a domain
classifier: a timm architecture trained here, on the CPU, on the data set's labelled training split, and cached
as safetensors under the user cache directory, keyed by the data fingerprint and the classifier config. Its
held-out accuracy is recorded with every score. With a local InceptionV3 weights file, the standard network is
used instead and the file's checksum is recorded: pytorch-fid's FID network (the 1008-class TF port published FID
numbers are computed in; harness/fid_inception.py) or timm's 1000-class inception_v3, whichever the file holds.
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save
from torch import nn

from gan_zoo.cache import cache_dir
from gan_zoo.config import number, text, whole
from gan_zoo.datasets import LoadedDataset
from gan_zoo.errors import UserError
from gan_zoo.files import atomic_write_bytes
from gan_zoo.harness.resize import clean_fid_resize
from gan_zoo.seeds import generator, manual_seed


@dataclass
class ClassifierConfig:
    arch: str = "test_resnet"  # a small timm architecture: trains in a minute or two on the CPU
    steps: int = 600  # optimizer steps
    batch_size: int = 64
    lr: float = 2e-3  # AdamW
    min_size: int = 32  # smaller images are upsampled to this, since timm stems downsample 4-32x
    seed: int = 0

    def __post_init__(self):
        self.arch = text("arch", self.arch)  # timm names it when it does not know it
        self.steps = whole("steps", self.steps, 1)
        self.batch_size = whole("batch_size", self.batch_size, 1, 2**16)
        self.lr = number("lr", self.lr, 0, low_open=True)
        self.min_size = whole("min_size", self.min_size, 1, 4096)  # batch_size images of min_size^2 pixels
        self.seed = whole("seed", self.seed, 0)


RECIPE = 3  # part of the cache key: bumped when training changes (2: initial weights seeded too; 3: gan_zoo.seeds)


class Classifier(nn.Module):
    """A timm network on upsampled images; logits() for the Inception Score, features() for the distance."""

    def __init__(self, network: nn.Module, size: int, channels: int | None = None):
        super().__init__()
        self.network, self.size, self.channels = network, size, channels
        self.num_features = network.num_features

    def prepare(self, x):
        if self.channels and x.shape[1] != self.channels:  # gray -> RGB for a network trained on RGB
            x = x.expand(-1, self.channels, -1, -1)
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return x

    def forward(self, x):
        return self.network(self.prepare(x))

    def features(self, x):
        return self.network.forward_head(self.network.forward_features(self.prepare(x)), pre_logits=True)


def _timm(arch: str, **kwargs) -> nn.Module:
    import timm  # imported late: timm pulls in torchvision

    try:
        return timm.create_model(arch, pretrained=False, **kwargs)
    except RuntimeError as exc:
        raise UserError(f"classifier architecture {arch!r}: {exc}") from None


@torch.no_grad()
def accuracy(classifier: Classifier, x: torch.Tensor, labels: torch.Tensor, device) -> float:
    classifier.eval()
    predictions = torch.cat([classifier(chunk.to(device)).argmax(1).cpu() for chunk in x.split(512)])
    return (predictions == labels).double().mean().item()


def domain_classifier(data: LoadedDataset, config: ClassifierConfig, device: torch.device,
                      report: Callable[[str], None] | None = None) -> tuple[Classifier, dict]:
    """The data set's classifier: from the cache when it was trained before, else trained now and cached;
    report(text) hears the training's progress (a tenth of the steps at a time: minutes on a CPU)."""
    if data.spec.num_classes is None or not data.spec.is_image:
        raise UserError(f"{data.name}: a domain classifier needs labelled images")
    split = data.seed if data.control is None else [data.seed, len(data.control)]  # trained on what train holds
    key = hashlib.sha256(json.dumps([RECIPE, data.fingerprint, split, asdict(config)], sort_keys=True).encode())
    path = cache_dir() / "classifiers" / f"{data.name}-{key.hexdigest()[:16]}.safetensors"
    size = max(config.min_size, data.spec.shape[-1])
    manual_seed(config.seed, "classifier.init")  # the initial weights too: nothing may depend on what ran before
    classifier = Classifier(_timm(config.arch, num_classes=data.spec.num_classes, in_chans=data.spec.shape[0]), size)
    if path.exists():
        try:
            classifier.load_state_dict(load_file(path))
            with safe_open(str(path), framework="pt") as f:
                info = json.loads(f.metadata()["info"])
            return classifier.to(device).eval(), {**info, "cached": str(path)}
        except Exception:  # a damaged cache entry is retrained, never trusted
            path.unlink(missing_ok=True)
    started = time.perf_counter()
    classifier.to(device).train()
    optimizer = torch.optim.AdamW(classifier.parameters(), config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.steps)
    x, labels = data.train.x, data.train.labels
    assert labels is not None and data.heldout.labels is not None  # num_classes is set: the data set is labelled
    report = report or (lambda text: None)
    every = max(1, config.steps // 10)
    for step in range(config.steps):
        if step % every == 0:
            elapsed = time.perf_counter() - started
            eta = f", ETA {elapsed * (config.steps - step) / step:.0f} s" if step else " (once; cached after)"
            report(f"training the domain classifier of {data.name}: step {step}/{config.steps}{eta}")
        index = torch.randint(len(x), (config.batch_size,),
                              generator=generator(config.seed, "classifier.step", step))
        loss = F.cross_entropy(classifier(x[index].to(device)), labels[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    info = {"arch": config.arch, "heldout_accuracy": accuracy(classifier, data.heldout.x, data.heldout.labels,
                                                              device),
            "train_seconds": round(time.perf_counter() - started, 1), "config": asdict(config)}
    state = {k: v.detach().cpu().contiguous() for k, v in classifier.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={"info": json.dumps(info)}))
    return classifier.eval(), {**info, "cached": str(path)}


class FIDNetwork(nn.Module):
    """pytorch-fid's FID InceptionV3 behind the data set's items: [-1, 1] to the [0, 1] it takes, gray to RGB."""

    def __init__(self, network: nn.Module, resize: str = "pytorch-fid"):
        super().__init__()
        self.network, self.num_features, self.resize = network, network.num_features, resize

    def prepare(self, x):
        x = ((x.float() + 1) / 2).expand(-1, 3, -1, -1)
        # clean-fid's 299x299 images pass the network's own bilinear resize unchanged (same size: weights 1 and 0)
        return clean_fid_resize(x) if self.resize == "clean-fid" else x

    def forward(self, x):
        return self.network(self.prepare(x))

    def features(self, x):
        return self.network.features(self.prepare(x))


# The architecture a weights file is for, by the shape of its classifier's weight
INCEPTION_ARCHS: dict[tuple[int, ...], str] = {(1008, 2048): "fid_inception_v3", (1000, 2048): "inception_v3"}
ARCH_NAMES = {"fid_inception_v3": "pytorch-fid's fid_inception_v3", "inception_v3": "timm's inception_v3"}


def inception_v3(weights: Path, device: torch.device, resize: str = "pytorch-fid") -> tuple[nn.Module, dict]:
    """The standard InceptionV3 from a local weights file, its checksum recorded: pytorch-fid's FID network when
    the file's fc.weight is [1008, 2048], timm's inception_v3 when it is [1000, 2048]. resize: how images reach
    299x299 (harness/resize.py), for the FID network."""
    weights = Path(weights)
    if not weights.is_file():
        raise UserError(f"InceptionV3 weights {weights}: no such file; give a local InceptionV3 weights file")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    try:
        state = (load_file(weights) if weights.suffix == ".safetensors"
                 else torch.load(weights, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise UserError(f"InceptionV3 weights {weights}: not a readable weights file ({type(exc).__name__}); "
                        f"use .safetensors or a torch state dict") from None
    head = state.get("fc.weight") if isinstance(state, dict) else None
    shape = tuple(head.shape) if isinstance(head, torch.Tensor) else None
    arch = INCEPTION_ARCHS.get(shape) if shape is not None else None
    if arch is None:
        found = f"its fc.weight is {list(shape)}" if shape else "it has no fc.weight"
        raise UserError(f"{weights}: not InceptionV3 weights ({found}); expected pytorch-fid's fid_inception_v3 "
                        f"(fc.weight [1008, 2048]) or timm's inception_v3 (fc.weight [1000, 2048])")
    if arch == "fid_inception_v3":
        from gan_zoo.harness.fid_inception import FIDInceptionV3  # imported late: torchvision takes seconds

        network: nn.Module = FIDInceptionV3()
    else:
        network = _timm("inception_v3", num_classes=1000)
    try:  # strict: every tensor present and used, checked below for a one-line message
        missing, unexpected = network.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        lines = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line] or ["?"]
        raise UserError(f"{weights}: not InceptionV3 weights for {ARCH_NAMES[arch]} ({lines[0]})") from None
    if missing or unexpected:
        raise UserError(f"{weights}: not InceptionV3 weights for {ARCH_NAMES[arch]} ({len(missing)} missing, "
                        f"{len(unexpected)} unexpected tensors, e.g. {(missing or unexpected)[0]!r})")
    if resize != "pytorch-fid" and arch != "fid_inception_v3":
        raise UserError(f"{weights}: resize = {resize} applies to the FID weights (pytorch-fid's fid_inception_v3); "
                        f"timm's inception_v3 resizes itself: leave resize at pytorch-fid")
    info = {"arch": arch, "sha256": digest, "weights": str(weights)}
    if arch == "fid_inception_v3":
        return FIDNetwork(network, resize).to(device).eval(), {**info, "logits": "pool3 @ fc.weight.T, no bias",
                                                                 "resize": resize}
    return Classifier(network, 299, channels=3).to(device).eval(), info


def inception_score(logits: torch.Tensor, splits: int = 10) -> dict:
    """IS = exp(E_x KL(p(y|x) || p(y))) per split of the items, mean and std over splits (torchmetrics'
    InceptionScore; items are shuffled into splits by a fixed permutation, so the score is deterministic)."""
    if len(logits) < splits:
        raise UserError(f"Inception Score: {len(logits)} items cannot fill {splits} splits; use fewer splits")
    logits = logits.double()[torch.randperm(len(logits), generator=torch.Generator().manual_seed(0))]
    scores = []
    for part in logits.chunk(splits):
        log_p = part.log_softmax(dim=1)
        log_marginal = log_p.exp().mean(0, keepdim=True).log()
        scores.append((log_p.exp() * (log_p - log_marginal)).sum(1).mean().exp())
    split_scores = torch.stack(scores)
    return {"mean": split_scores.mean().item(), "std": split_scores.std().item() if splits > 1 else 0.0,
            "n": len(logits), "splits": splits}
