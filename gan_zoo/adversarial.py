"""The alternating two-player game shared by the trained families.

A subclass builds `self.generator` and `self.discriminator` (and `self.encoder` for encoder-decoder GANs) and
defines the losses; this class plays the game: `critic_steps` discriminator updates, each on its own real batch,
then one update of the generator side. MIX+GAN (plugins/mix.py) reuses the same pieces across k copies.

What the discriminator sees is a tuple of tensors: (x,) for plain GANs, (x, code) for encoder-decoder GANs
(the BiGAN objective: real (x, E(x)) against fake (G(z), z)).
"""

from __future__ import annotations

import torch
from torch import nn

from gan_zoo.family import GanModel


class AdversarialGAN(GanModel):
    generator: nn.Module
    discriminator: nn.Module
    encoder: nn.Module  # when "encoder" is among the players

    @property
    def critic_steps(self) -> int:
        return getattr(self.config, "critic_steps", 1)

    @property
    def batch_size(self) -> int:
        """config.batch_size, where 0 picks 256 for vectors and 64 for images (convolutions cost more per item)."""
        return self.config.batch_size or (64 if self.spec.is_image else 256)

    def real_items_per_step(self) -> int:
        return self.batch_size * self.critic_steps

    def generate(self, z):
        return self.generator(z)

    # -- what the discriminator sees --------------------------------------------------------------------------
    def real_view(self, x: torch.Tensor) -> tuple:
        return (x,)

    def fake_view(self, z: torch.Tensor) -> tuple:
        return (self.generator(z),)

    # -- the game: subclasses define the losses ---------------------------------------------------------------
    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None) -> torch.Tensor:
        """The generator side's loss; real_out is given (with gradient to the encoder) only with an encoder."""
        raise NotImplementedError

    def penalty(self, discriminator: nn.Module, real_in: tuple, fake_in: tuple) -> torch.Tensor | float:
        return 0.0

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        """Called after each discriminator update (WGAN clips weights here)."""

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, self.config.lr, betas=(self.config.beta1, 0.999))

    def generator_side(self) -> list[nn.Module]:
        return [self.generator] + ([self.encoder] if "encoder" in self.players else [])

    def configure_optimizers(self):
        generator_params = [p for module in self.generator_side() for p in module.parameters()]
        return {"generator": self.make_optimizer(generator_params),
                "discriminator": self.make_optimizer(self.discriminator.parameters())}

    def training_step(self, real, optimizers):
        d_losses = []
        for batch in real.chunk(self.critic_steps):
            z = torch.randn(len(batch), self.latent_dim, device=real.device)
            with torch.no_grad():
                real_in, fake_in = self.real_view(batch), self.fake_view(z)
            d_loss = (self.discriminator_loss(self.discriminator(*real_in), self.discriminator(*fake_in))
                      + self.penalty(self.discriminator, real_in, fake_in))
            optimizers["discriminator"].zero_grad(set_to_none=True)
            d_loss.backward()
            optimizers["discriminator"].step()
            self.after_discriminator_step(self.discriminator)
            d_losses.append(d_loss.item())

        z = torch.randn(len(batch), self.latent_dim, device=real.device)
        real_out = self.discriminator(*self.real_view(batch)) if "encoder" in self.players else None
        g_loss = self.generator_loss(self.discriminator(*self.fake_view(z)), real_out)
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        return {"d_loss": sum(d_losses) / len(d_losses), "g_loss": g_loss.item()}
