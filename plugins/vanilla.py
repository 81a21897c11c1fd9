"""The GAN of Goodfellow et al. (2014): a generator and a discriminator in a two-player game.

The discriminator maximises E log D(x) + E log(1 - D(G(z))). The generator either minimises
log(1 - D(G(z))) (minimax, the game as stated; its gradient vanishes while D wins easily) or maximises
log D(G(z)) (non-saturating, the paper's practical advice and the default).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_zoo import hookimpl
from gan_zoo.errors import UserError
from gan_zoo.family import GanModel
from gan_zoo.nets import discriminator_for, generator_for


@dataclass
class VanillaConfig:
    loss: str = "non-saturating"  # or "minimax"
    latent_dim: int = 0  # 0: the data set's suggestion
    width: int = 128  # MLP hidden units (vector data)
    depth: int = 3  # MLP hidden layers
    channels: int = 32  # first conv layer's channels (image data); doubled at each resolution step
    lr: float = 1e-3
    beta1: float = 0.5  # Adam's momentum; DCGAN found 0.9 oscillates
    batch_size: int = 256


class VanillaGAN(GanModel):
    name = "vanilla"
    description = "Goodfellow et al. GAN, non-saturating or minimax loss"
    Config = VanillaConfig
    default_steps = 3000
    losses = ("non-saturating", "minimax")  # the values config.loss may take

    def __init__(self, config: VanillaConfig, spec):
        super().__init__(config, spec)
        if config.loss not in self.losses:
            raise UserError(f"{self.name}: loss must be one of {', '.join(self.losses)}, not {config.loss!r}")
        self.generator = generator_for(spec, self.latent_dim, config.width, config.depth, config.channels)
        self.discriminator = discriminator_for(spec, config.width, config.depth, config.channels)

    def generate(self, z):
        return self.generator(z)

    def configure_optimizers(self):
        betas = (self.config.beta1, 0.999)
        return {"generator": torch.optim.Adam(self.generator.parameters(), self.config.lr, betas=betas),
                "discriminator": torch.optim.Adam(self.discriminator.parameters(), self.config.lr, betas=betas)}

    def training_step(self, real, optimizers):
        z = torch.randn(len(real), self.latent_dim, device=real.device)
        fake = self.generator(z)

        d_loss = self.discriminator_loss(self.discriminator(real), self.discriminator(fake.detach()))
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["discriminator"].step()

        g_loss = self.generator_loss(self.discriminator(fake))
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    # Subclasses change the game by overriding these two (see examples/gan-zoo-lsgan).
    def discriminator_loss(self, real_logits, fake_logits):
        return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))

    def generator_loss(self, fake_logits):
        if self.config.loss == "non-saturating":
            return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


@hookimpl
def register_families(register):
    register(VanillaGAN)
