"""The GAN of Goodfellow et al. (2014): a generator and a discriminator in a two-player game.

The discriminator maximises E log D(x) + E log(1 - D(G(z))). The generator either minimises
log(1 - D(G(z))) (minimax, the game as stated; its gradient vanishes while D wins easily) or maximises
log D(G(z)) (non-saturating, the paper's practical advice and the default).
"""

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from gan_zoo import hookimpl
from gan_zoo.adversarial import AdversarialGAN
from gan_zoo.config import choice, number, whole
from gan_zoo.errors import UserError
from gan_zoo.nets import players_for

LOSSES = ("non-saturating", "minimax")
LR_SCHEDULES = ("auto", "constant", "linear")
MAX_WIDTH = 2**20  # hidden units, latent size
MAX_DEPTH = 1024
MAX_CHANNELS = 1024  # the top conv layer has up to 8x as many: 1024 already makes a 2 GB generator
MAX_HIDDEN_WEIGHTS = 2**32  # (depth - 1) width^2: 16 GiB of float32 in the hidden layers of one MLP
MAX_BATCH = 2**20
MAX_STEP_ITEMS = 2**24  # real items one training step draws (batch_size x critic_steps)


def check_players(config) -> None:
    """The shared player settings of the adversarial families, refused before any layer is allocated."""
    config.latent_dim = whole("latent_dim", config.latent_dim, 0, MAX_WIDTH)
    config.width = whole("width", config.width, 1, MAX_WIDTH)
    config.depth = whole("depth", config.depth, 0, MAX_DEPTH)  # 0: no hidden layer, a linear map
    config.channels = whole("channels", config.channels, 1, MAX_CHANNELS)
    if (config.depth - 1) * config.width**2 > MAX_HIDDEN_WEIGHTS:
        raise UserError(f"width = {config.width}: with depth = {config.depth} the hidden layers would hold "
                        f"{(config.depth - 1) * config.width**2:.3g} weights, above 2^32; lower width or depth")
    config.lr_schedule = choice("lr_schedule", config.lr_schedule, LR_SCHEDULES)
    config.batch_size = whole("batch_size", config.batch_size, 0, MAX_BATCH)  # 0: 256 for vectors, 64 for images
    critic_steps = whole("critic_steps", getattr(config, "critic_steps", 1), 1)
    batch = config.batch_size or 256  # the larger automatic size
    if batch * critic_steps > MAX_STEP_ITEMS:
        raise UserError(f"critic_steps = {critic_steps}: with batch_size = {batch} a step would draw "
                        f"{batch * critic_steps} real items, above 2^24; lower critic_steps or batch_size")
    if hasattr(config, "critic_steps"):
        config.critic_steps = critic_steps


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

    def __post_init__(self):
        # a subclass's own default loss (a plugin's game, e.g. LSGAN's) is known too; the family checks the value
        # against the losses it plays
        known = LOSSES + ((type(self).loss,) if type(self).loss not in LOSSES else ())
        self.loss = choice("loss", self.loss, known)
        check_players(self)
        self.lr = number("lr", self.lr, 0, low_open=True)
        self.beta1 = number("beta1", self.beta1, 0, 1, high_open=True)


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class VanillaGAN(AdversarialGAN):
    name = "vanilla"
    description = "Goodfellow et al. GAN, non-saturating or minimax loss"
    Config = VanillaConfig
    # Vectors: 10000 steps (under 1.5 min) took the grid from 20 modes at 3000 to 22-24, high quality from 24% to 80%
    default_steps = {"vectors": 10000, "images": 3000}
    losses: ClassVar[tuple[str, ...]] = LOSSES  # the values config.loss may take

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
