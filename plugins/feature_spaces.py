"""The built-in feature spaces metrics measure in.

- `pixels`: the items themselves, flattened.
- `classifier`: a domain classifier (a small timm network trained here on the data set's labelled training split,
  cached under ~/.cache/gan-zoo; harness/inception.py); its class logits serve the Inception Score. The default
  for labelled images.
- `inception`: the standard InceptionV3 from a local weights file (`[eval.features.inception] weights = PATH`,
  its SHA-256 recorded); nothing is downloaded. The file decides the network: the standard FID weights
  (pytorch-fid's pt_inception-2015-12-05-6726825d.pth, the 1008-class TF port published FID numbers are computed
  in) load into a port of pytorch-fid's network (harness/fid_inception.py; images resized to 299x299 as
  pytorch-fid does, 2048-d pool3 features, logits for the Inception Score without the fc bias as the original
  code takes them); timm's 1000-class inception_v3 weights load into timm's network. (No download option: no
  full SHA-256 of the FID weights is published by their authors to pin a download to.)
- `timm:ARCH`: any timm model's pooled features (forward_features + forward_head(pre_logits=True)), the images
  resized to the model's default input size and normalised by its pretrained mean and std, gray repeated to RGB.
  Weights from a local file (SHA-256 recorded), from timm's hub only when `allow_download = true`, or random
  only when `random_init = true`: a randomly initialised space silently used would give plausible wrong numbers.
"""

import difflib
import hashlib
import json
import socket
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_zoo import hookimpl
from gan_zoo.errors import UserError
from gan_zoo.features import Extractor, FeatureSpace
from gan_zoo.harness.inception import ClassifierConfig, domain_classifier, inception_v3
from gan_zoo.harness.resize import RESIZES

FEATURES_RECIPE = 1  # part of every cached feature's key: bump it when a network's code changes what it computes


class Pixels(Extractor):
    def features(self, items):
        return items.reshape(len(items), -1).float()


class Network(Extractor):
    """Features (and logits) of a classifier network (features(), forward() and num_features, as Classifier
    has them), computed in chunks on its device."""

    def __init__(self, name: str, network: nn.Module, info: dict, device: torch.device, chunk: int = 512):
        # num_features: an int the network sets (Classifier, FIDNetwork, TimmNetwork), which nn.Module's typing of
        # attributes (Tensor | Module) cannot know
        super().__init__(name, network.num_features, info)  # type: ignore[arg-type]
        self.network, self.device, self.chunk = network.eval(), device, chunk
        self._identity: str | None = None

    def identity(self) -> str:
        """The weights as loaded, the network's plain settings (resize, channels, mode), the chunk and the device
        type: what the features depend on, bit for bit."""
        if self._identity is None:
            settings = {key: value for key, value in vars(self.network).items()
                        if not key.startswith("_") and isinstance(value, bool | int | float | str | tuple)}
            self._identity = json.dumps({"space": self.name, "network": type(self.network).__qualname__,
                                         "recipe": FEATURES_RECIPE, "weights": state_sha256(self.network.state_dict()),
                                         "settings": settings, "chunk": self.chunk, "device": self.device.type},
                                        sort_keys=True, default=str)
        return self._identity

    @torch.no_grad()
    def _map(self, function, items: torch.Tensor) -> torch.Tensor:
        return torch.cat([function(chunk.to(self.device)).float().cpu() for chunk in items.split(self.chunk)]) \
            if len(items) else torch.empty(0, self.dim)

    def features(self, items):
        return self._map(self.network.features, items)

    def logits(self, items):
        return self._map(self.network, items)


class PixelSpace(FeatureSpace):
    name = "pixels"
    description = "the items themselves, flattened"

    def load(self, data, option, config, device):
        return Pixels("pixels", data.spec.dim)


class ClassifierSpace(FeatureSpace):
    name = "classifier"
    description = "a domain classifier trained here on the labelled training split (timm test_resnet), cached"
    Config = ClassifierConfig

    def applies(self, data, option):
        if not (data.spec.is_image and data.spec.num_classes is not None):
            return f"{data.name} has no labelled images to train a domain classifier on"
        return None

    def load(self, data, option, config, device):
        network, info = domain_classifier(data, config, device, report=self.report)
        return Network("classifier", network, info, device)


def rgb_images(data, network: str) -> str | None:
    """Why a network that takes RGB images cannot measure this data set (gray images are repeated to RGB)."""
    if not data.spec.is_image:
        return f"{data.name} is not a set of images"
    if data.spec.shape[0] not in (1, 3):
        return f"{data.name} has {data.spec.shape[0]} channels; {network} takes RGB (gray is repeated)"
    return None


@dataclass
class InceptionConfig:
    weights: str = ""  # a local InceptionV3 weights file (.safetensors or a torch state dict): FID's or timm's
    resize: str = "pytorch-fid"  # or clean-fid (uint8, PIL bicubic): the two conventions give different FIDs

    def __post_init__(self):
        if self.resize not in RESIZES:
            raise UserError(f"resize = {self.resize!r}: choose one of {', '.join(RESIZES)}")


class InceptionSpace(FeatureSpace):
    name = "inception"
    description = ("the standard InceptionV3 (2048-d pool features) from a local weights file, nothing downloaded: "
                   "the standard FID weights (pytorch-fid's 1008-class network) or timm's inception_v3")
    Config = InceptionConfig

    def applies(self, data, option):
        return rgb_images(data, "InceptionV3")

    def load(self, data, option, config, device):
        if not config.weights:
            raise UserError("feature space inception needs a local weights file: set its `weights` (CLI: "
                            "--inception-weights PATH); nothing is downloaded")
        network, info = inception_v3(Path(config.weights), device, config.resize)
        return Network("inception", network, info, device)


# -- any timm model -------------------------------------------------------------------------------------------

@dataclass
class TimmConfig:
    weights: str = ""  # a local weights file: .safetensors, or a torch state dict (read with weights_only=True)
    allow_download: bool = False  # only then may timm fetch the architecture's pretrained weights from its hub
    random_init: bool = False  # no weights: measure in a randomly initialised network, knowingly (tests, baselines)
    seed: int = 0  # the random initialisation's seed (random_init only): the same seed gives the same network
    batch_size: int = 64  # items per forward pass, after resizing to the model's input size

    def __post_init__(self):
        if not isinstance(self.weights, str):
            raise UserError(f"weights = {self.weights!r}: must be the path of a local weights file, or \"\"")
        for name, low in (("seed", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"{name} = {value!r}: must be a whole number >= {low}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_sha256(state: dict) -> str:
    """A checksum of a network's weights as loaded (names, dtypes, shapes, bytes), whatever file they came from."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def read_state_dict(path: Path, what: str) -> dict:
    """Tensors from a .safetensors file or a torch state dict, never unpickling arbitrary objects."""
    if not path.is_file():
        raise UserError(f"{what}: weights file {path} does not exist; give a local weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: object = load_file(str(path))  # what the file holds, checked below
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{what}: {path} is not a readable weights file ({type(exc).__name__}); use .safetensors or "
                        f"a torch state dict") from None
    for wrapper in ("state_dict", "model"):  # training checkpoints often nest the weights one level down
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not (isinstance(state, dict) and state and all(isinstance(v, torch.Tensor) for v in state.values())):
        raise UserError(f"{what}: {path} holds no state dict of tensors; save one with model.state_dict()")
    return state


class TimmNetwork(nn.Module):
    """A timm model behind the data set's items: [-1, 1] to [0, 1], gray to RGB, resize, normalise, pool."""

    def __init__(self, model: nn.Module, in_chans: int, size: tuple[int, int], mean, std, interpolation: str):
        super().__init__()
        self.model, self.in_chans, self.size = model, in_chans, tuple(size)
        self.num_features = model.num_features
        self.mode = interpolation if interpolation in ("bilinear", "bicubic") else "bilinear"
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def prepare(self, x):
        x = (x.float() + 1) / 2  # items are in [-1, 1]; timm's mean and std are for [0, 1]
        if x.shape[1] == 1 and self.in_chans != 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        if tuple(x.shape[-2:]) != self.size:
            shrink = x.shape[-2] > self.size[0] or x.shape[-1] > self.size[1]
            x = F.interpolate(x, size=self.size, mode=self.mode, align_corners=False, antialias=shrink)
        return (x - self.mean) / self.std

    def forward(self, x):
        return self.model(self.prepare(x))

    def features(self, x):
        return self.model.forward_head(self.model.forward_features(self.prepare(x)), pre_logits=True)


class TimmExtractor(Network):
    def __init__(self, *args, has_logits: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_logits = has_logits

    def logits(self, items):
        # a random head's logits would score an Inception Score that means nothing
        return super().logits(items) if self.has_logits else None


class TimmSpace(FeatureSpace):
    name = "timm"
    description = ("timm:ARCH, any timm model's pooled features (DINOv2: timm:vit_small_patch14_dinov2); weights "
                   "from a file, a download you allow, or knowingly random")
    Config = TimmConfig

    def applies(self, data, option):
        return rgb_images(data, "a timm model")

    def load(self, data, option, config, device):
        import timm  # imported late: timm pulls in torchvision

        what = f"feature space timm:{option}"
        if not option:
            raise UserError("feature space timm needs an architecture: timm:ARCH, e.g. timm:vit_small_patch14_dinov2")
        if not timm.is_model(option):
            near = difflib.get_close_matches(option, timm.list_models(), n=3)
            raise UserError(f"{what}: timm has no architecture {option!r}"
                            + (f"; did you mean {', '.join(near)}?" if near else "; timm.list_models() lists them"))
        if config.weights and config.random_init:
            raise UserError(f"{what}: both a weights file and random_init are set; keep one")
        kwargs, info = {"pretrained": False}, {"arch": option}
        if config.weights:
            path = Path(config.weights).expanduser()
            state = read_state_dict(path, what)
            info.update(weights="file", path=str(path), sha256=sha256_file(path))
        elif config.allow_download:
            reach_weights(timm.models.get_pretrained_cfg(option), what)
            kwargs["pretrained"] = True
            info["weights"] = "downloaded"
        elif config.random_init:
            info.update(weights="random", seed=config.seed)
        else:
            raise UserError(f"{what} has no weights: set features.timm.weights=PATH (a local file), or "
                            f"features.timm.allow_download=true to let timm fetch them, or "
                            f"features.timm.random_init=true to measure in a random network knowingly")
        with torch.random.fork_rng(devices=[]):  # the same seed gives the same network, whatever ran before
            torch.manual_seed(config.seed)
            try:
                model = timm.create_model(option, **kwargs)
            except Exception as exc:  # a failed download, a hub error, an architecture that needs arguments
                lines = str(exc).strip().splitlines()
                raise UserError(f"{what}: {type(exc).__name__}: {lines[0] if lines else ''}") from None
        if config.weights:
            heads = model.pretrained_cfg.get("classifier") or ()
            head = f"{heads if isinstance(heads, str) else (list(heads) or [''])[0]}.weight"
            classes = state[head].shape[0] if head in state else 0  # the file's head, or none: features only
            if classes != getattr(model, "num_classes", classes):
                model.reset_classifier(classes)
            try:
                missing, unexpected = model.load_state_dict(state, strict=False)
            except RuntimeError as exc:  # a tensor of the wrong shape
                lines = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line] or ["?"]
                raise UserError(f"{what}: {path} does not fit {option}: {lines[0]}") from None
            if missing or unexpected:
                first = (missing or unexpected)[0]
                raise UserError(f"{what}: {path} does not fit {option} ({len(missing)} missing, {len(unexpected)} "
                                f"unexpected tensors, e.g. {first!r}); save the weights with model.state_dict()")
        cfg = model.pretrained_cfg
        if kwargs["pretrained"]:
            info.update(source=cfg.get("hf_hub_id") or cfg.get("url"), tag=cfg.get("tag"))
        try:
            in_chans, height, width = cfg["input_size"]
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{what}: its pretrained config has no input size") from None
        mean, std = cfg.get("mean") or (0.5,) * in_chans, cfg.get("std") or (0.5,) * in_chans
        if data.spec.shape[0] not in (1, in_chans):
            raise UserError(f"{what}: takes {in_chans} channels, {data.name} has {data.spec.shape[0]}")
        info.update(state_sha256=state_sha256(model.state_dict()), input_size=[in_chans, height, width],
                    mean=list(mean), std=list(std), interpolation=cfg.get("interpolation"),
                    num_features=model.num_features)
        network = TimmNetwork(model, in_chans, (height, width), mean, std, cfg.get("interpolation", "bilinear"))
        has_logits = info["weights"] != "random" and getattr(model, "num_classes", 0) > 0
        return TimmExtractor(f"timm:{option}", network.to(device), info, device, chunk=config.batch_size,
                             has_logits=has_logits)


def reach_weights(cfg, what: str, timeout: float = 5.0) -> None:
    """One connection attempt, with a short timeout, to where timm would fetch the weights from: offline, timm's
    hub client retries for about a minute, a line of noise each time, before failing."""
    from huggingface_hub import constants

    if cfg is None or constants.HF_HUB_OFFLINE:  # no weights to fetch, or the user chose the local cache
        return
    if cfg.hf_hub_id:
        url, file = constants.ENDPOINT, f"{cfg.hf_hub_id}/{cfg.hf_hub_filename or 'model.safetensors'}"
    elif cfg.url:
        url, file = cfg.url, cfg.url.rsplit("/", 1)[-1]
    else:
        return
    parts = urllib.parse.urlsplit(urllib.request.getproxies().get("https") or url)
    try:
        socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"{what}: cannot reach {parts.hostname} to download {file} ({exc.strerror or exc}); "
                        f"download it by hand and set features.timm.weights=PATH") from None


@hookimpl
def register_feature_spaces(register):
    register(PixelSpace)
    register(ClassifierSpace)
    register(InceptionSpace)
    register(TimmSpace)
