"""Wasserstein GANs: the critic estimates the Wasserstein-1 distance, kept 1-Lipschitz by one of two means.

- `wgan` (Arjovsky et al. 2017): clip every critic weight to [-clip, clip]; RMSProp 5e-5; 5 critic steps.
- `wgan-gp` (Gulrajani et al. 2017): penalise (||grad D(x_hat)|| - 1)^2 at random interpolates x_hat of real and
  generated items, weight 10; Adam 1e-4, betas (0, 0.9); 5 critic steps (on vector data lambda 0.1 and lr 1e-3,
  decayed linearly: see the config). The critic has no batch norm, which would make the per-item
  gradient meaningless.

The critic maximises E D(x) - E D(G(z)); the generator maximises E D(G(z)).
"""

from dataclasses import dataclass
from typing import ClassVar

import torch

from gan_zoo import hookimpl
from gan_zoo.adversarial import AdversarialGAN
from gan_zoo.config import number
from gan_zoo.nets import players_for
from gan_zoo.plugins.vanilla import check_players


@dataclass
class WGANConfig:
    latent_dim: int = 0  # 0: the data set's suggestion
    width: int = 128  # MLP hidden units (vector data)
    depth: int = 3  # MLP hidden layers
    channels: int = 16  # first conv layer's channels (image data)
    lr: float = 5e-5  # the paper's RMSProp rate: momentum destabilised clipped critics
    lr_schedule: str = "constant"  # as in the paper; or "linear" (to 0 over the run)
    clip: float = 0.01  # critic weights are clipped to [-clip, clip]
    critic_steps: int = 5  # critic updates per generator update, each on its own real batch
    batch_size: int = 64  # 0: 256 for vectors, 64 for images

    def __post_init__(self):
        check_players(self)
        self.lr = number("lr", self.lr, 0, low_open=True)
        self.clip = number("clip", self.clip, 0, low_open=True)


@dataclass
class WGANGPConfig:
    latent_dim: int = 0
    width: int = 128
    depth: int = 3
    channels: int = 16
    # 0: 1e-4 on images (the paper); 1e-3 on vectors, where the authors' toy code ran 1e-4 for 100000 steps
    lr: float = 0.0
    lr_schedule: str = "auto"  # linear to 0 on vectors, constant on images; or set either
    beta1: float = 0.0  # the paper's Adam betas (0, 0.9)
    beta2: float = 0.9
    # lambda; 0: 10 for images (the paper) and 0.1 for vectors, as in the authors' own toy code (gan_toy.py):
    # with 10, no sample came within 3 std of a mode of the 0.01-std ring in 8000 steps
    gp_weight: float = 0.0
    critic_steps: int = 5
    batch_size: int = 64  # 0: 256 for vectors, 64 for images

    def __post_init__(self):
        check_players(self)
        self.lr = number("lr", self.lr, 0)  # 0: auto (see above)
        self.beta1 = number("beta1", self.beta1, 0, 1, high_open=True)
        self.beta2 = number("beta2", self.beta2, 0, 1, high_open=True)
        self.gp_weight = number("gp_weight", self.gp_weight, 0)  # 0: auto (see above)


class WGAN(AdversarialGAN):
    name = "wgan"
    description = "Wasserstein GAN with weight clipping (Arjovsky et al. 2017)"
    Config: ClassVar[type] = WGANConfig
    # x 5 critic steps; within 3 minutes on 2 CPU cores for every built-in data set
    default_steps: ClassVar[int | dict[str, int]] = 1500

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.generator, self.discriminator = players_for(spec, self.latent_dim, config)

    def discriminator_loss(self, real_out, fake_out):
        return fake_out.mean() - real_out.mean()

    def generator_loss(self, fake_out, real_out):
        # An encoder on the generator's side wants its real pairs scored low.
        return -fake_out.mean() + (0.0 if real_out is None else real_out.mean())

    def make_optimizer(self, params):
        return torch.optim.RMSprop(params, self.config.lr)

    def after_discriminator_step(self, discriminator):
        with torch.no_grad():
            for p in discriminator.parameters():
                p.clamp_(-self.config.clip, self.config.clip)


class WGANGP(WGAN):
    name = "wgan-gp"
    description = "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)"
    Config = WGANGPConfig
    default_steps = {"vectors": 6000, "images": 3000}  # x 5 critic steps: 55 s on toy data, 83 s on digits

    @property
    def lr(self) -> float:
        return self.config.lr or (1e-4 if self.spec.is_image else 1e-3)

    @property
    def gp_weight(self) -> float:
        return self.config.gp_weight or (10.0 if self.spec.is_image else 0.1)

    def make_optimizer(self, params):
        return torch.optim.Adam(params, self.lr, betas=(self.config.beta1, self.config.beta2))

    def after_discriminator_step(self, discriminator):
        pass  # the penalty, not clipping, keeps the critic Lipschitz

    def penalty(self, discriminator, real_in, fake_in):
        mix = torch.rand(len(real_in[0]), device=real_in[0].device)
        interpolates = tuple(
            (r + mix.view(-1, *[1] * (r.dim() - 1)) * (f - r)).requires_grad_(True)
            for r, f in zip(real_in, fake_in, strict=True))
        grads = torch.autograd.grad(discriminator(*interpolates).sum(), interpolates, create_graph=True)
        norms = torch.cat([g.flatten(1) for g in grads], dim=1).norm(dim=1)
        return self.gp_weight * ((norms - 1) ** 2).mean()


@hookimpl
def register_families(register):
    register(WGAN)
    register(WGANGP)
