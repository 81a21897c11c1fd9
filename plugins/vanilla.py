"""The GAN of Goodfellow et al. (2014): a generator and a discriminator in a two-player game.

The discriminator maximises E log D(x) + E log(1 - D(G(z))). The generator either minimises
log(1 - D(G(z))) (minimax, the game as stated; its gradient vanishes while D wins easily) or maximises
log D(G(z)) (non-saturating, the paper's practical advice and the default).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_zoo import hookimpl
from gan_zoo.adversarial import AdversarialGAN
from gan_zoo.errors import UserError
from gan_zoo.nets import players_for


@dataclass
class VanillaConfig:
    loss: str = "non-saturating"  # or "minimax"
    latent_dim: int = 0  # 0: the data set's suggestion
    width: int = 128  # MLP hidden units (vector data)
    depth: int = 3  # MLP hidden layers
    channels: int = 16  # first conv layer's channels (image data); doubled at each resolution step
    lr: float = 1e-3
    beta1: float = 0.5  # Adam's momentum; DCGAN found 0.9 oscillates
    lr_schedule: str = "auto"  # linear to 0 on vectors (sharper modes), constant on images; or set either
    batch_size: int = 0  # 0: 256 for vectors, 64 for images


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class VanillaGAN(AdversarialGAN):
    name = "vanilla"
    description = "Goodfellow et al. GAN, non-saturating or minimax loss"
    Config = VanillaConfig
    # Vectors: 10000 steps (under 1.5 min) took the grid from 20 modes at 3000 to 22-24, high quality from 24% to 80%
    default_steps = {"vectors": 10000, "images": 3000}
    losses = ("non-saturating", "minimax")  # the values config.loss may take

    def __init__(self, config: VanillaConfig, spec):
        super().__init__(config, spec)
        if config.loss not in self.losses:
            raise UserError(f"{self.name}: loss must be one of {', '.join(self.losses)}, not {config.loss!r}")
        self.build_players()

    def build_players(self):
        self.generator, self.discriminator = players_for(self.spec, self.latent_dim, self.config)

    def discriminator_loss(self, real_out, fake_out):
        return bce(real_out, 1.0) + bce(fake_out, 0.0)

    def generator_loss(self, fake_out, real_out):
        # An encoder (BiGAN, ALI) plays on the generator's side: it wants its real pairs called fake.
        if self.config.loss == "non-saturating":
            return bce(fake_out, 1.0) + (0.0 if real_out is None else bce(real_out, 0.0))
        return -bce(fake_out, 0.0) - (0.0 if real_out is None else bce(real_out, 1.0))


@hookimpl
def register_families(register):
    register(VanillaGAN)
