"""The built-in feature spaces metrics measure in.

- `pixels`: the items themselves, flattened.
- `classifier`: a domain classifier (a small timm network trained here on the data set's labelled training split,
  cached under ~/.cache/gan-zoo; harness/inception.py); its class logits serve the Inception Score. The default
  for labelled images.
- `inception`: the standard InceptionV3 from a local weights file (`[eval.features.inception] weights = PATH`,
  its SHA-256 recorded); nothing is downloaded.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from gan_zoo import hookimpl
from gan_zoo.errors import UserError
from gan_zoo.features import Extractor, FeatureSpace
from gan_zoo.harness.inception import Classifier, ClassifierConfig, domain_classifier, inception_v3


class Pixels(Extractor):
    def features(self, items):
        return items.reshape(len(items), -1).float()


class Network(Extractor):
    """Features (and logits) of a classifier network, computed in chunks on its device."""

    def __init__(self, name: str, network: Classifier, info: dict, device: torch.device):
        super().__init__(name, network.num_features, info)
        self.network, self.device = network.eval(), device

    @torch.no_grad()
    def _map(self, function, items: torch.Tensor) -> torch.Tensor:
        return torch.cat([function(chunk.to(self.device)).float().cpu() for chunk in items.split(512)]) \
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
        network, info = domain_classifier(data, config, device)
        return Network("classifier", network, info, device)


@dataclass
class InceptionConfig:
    weights: str = ""  # a local InceptionV3 weights file (.safetensors or a torch state dict); nothing downloads


class InceptionSpace(FeatureSpace):
    name = "inception"
    description = "the standard InceptionV3 (2048-d pool features), from a local weights file"
    Config = InceptionConfig

    def applies(self, data, option):
        return None if data.spec.is_image else f"{data.name} is not a set of images"

    def load(self, data, option, config, device):
        if not config.weights:
            raise UserError("feature space inception needs a local weights file: set its `weights` (CLI: "
                            "--inception-weights PATH); nothing is downloaded")
        network, info = inception_v3(Path(config.weights), device)
        return Network("inception", network, info, device)


@hookimpl
def register_feature_spaces(register):
    register(PixelSpace)
    register(ClassifierSpace)
    register(InceptionSpace)
