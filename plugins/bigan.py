"""Encoder-decoder GANs: BiGAN (Donahue et al. 2017) and ALI (Dumoulin et al. 2017).

A generator G maps codes to items and an encoder E maps items to codes; the discriminator sees pairs and
tells real (x, E(x)) from fake (G(z), z), the objective of seed 002 equation (1), here with the vanilla GAN's
non-saturating loss. E plays on the generator's side. BiGAN's encoder is deterministic; ALI's is a Gaussian,
sampled with the reparameterisation trick, so gradients reach its mean and scale.

The harness exists partly because of these: Arora, Risteski and Zhang (2018) show the objective can be near
optimal with an encoder that outputs white noise (see the ed-memorizer family).
"""

import torch

from gan_zoo import hookimpl
from gan_zoo.nets import discriminator_for, encoder_for, generator_for
from gan_zoo.plugins.vanilla import VanillaConfig, VanillaGAN


class BiGAN(VanillaGAN):
    name = "bigan"
    description = "BiGAN: deterministic encoder, discriminator on (x, z) pairs (Donahue et al. 2017)"
    players = ("generator", "encoder", "discriminator")
    Config = VanillaConfig  # lr 1e-3: on ring8, 5e-4 caught 4.0 modes over 5 seeds and 1e-3 7.0 over 4
    code_outputs = 1  # encoder outputs per code dimension: 1 (the code) or 2 (ALI's mean and log-scale)

    def build_players(self):
        config, spec, latent = self.config, self.spec, self.latent_dim
        self.generator = generator_for(spec, latent, config.width, config.depth, config.channels)
        self.encoder = encoder_for(spec, latent * self.code_outputs, config.width, config.depth, config.channels)
        self.discriminator = discriminator_for(spec, config.width, config.depth, config.channels, code_dim=latent)

    def real_view(self, x):
        return (x, self.encoder(x))

    def fake_view(self, z):
        return (self.generator(z), z)

    @torch.no_grad()
    def encode(self, x):
        return self.encoder(x.to(self.device)).cpu()


class ALI(BiGAN):
    name = "ali"
    description = "ALI: stochastic Gaussian encoder, discriminator on (x, z) pairs (Dumoulin et al. 2017)"
    code_outputs = 2
    # On ring8, 10000 steps left 1 of 5 seeds collapsed onto one mode; 15000 (about 100 s) reached 8 in 5 of 5
    default_steps = {"vectors": 15000, "images": 3000}

    def real_view(self, x):
        mean, log_scale = self.encoder(x).chunk(2, dim=1)
        return (x, mean + log_scale.exp() * torch.randn_like(mean))

    @torch.no_grad()
    def encode(self, x):
        """The mean of the encoder's Gaussian: a deterministic code for each item."""
        return self.encoder(x.to(self.device)).chunk(2, dim=1)[0].cpu()


@hookimpl
def register_families(register):
    register(BiGAN)
    register(ALI)
