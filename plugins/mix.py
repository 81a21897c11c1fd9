"""MIX+GAN (Arora, Ge, Liang, Ma, Zhang 2017) over any trained base family.

k generators and k discriminators of the base's architecture, each with its own parameters, and two learned
mixtures: w = softmax(logits), one over generators, one over discriminators (logits start equal). The payoff
is sum_i wG_i sum_j wD_j L(G_i, D_j) with the base's own losses (and penalties, and clipping). The logits are
learned by the base's optimizer together with their side's players, as in the reference code (the blog
describes exponentiated-gradient steps on log-weights; Adam on logits is the practical equivalent). Both sides
add the entropy regulariser sum_i -(1/k) log(w_i + 1e-6), weight 0.1 by default, which keeps a mixture from
collapsing onto one component. Sampling picks generator i with probability wG_i.

Pitfalls of public ports avoided here: the discriminator mixture has k weights of its own (not sized by the
generator count), and the weights are Parameters created once, in __init__, so they are really learned.
"""

from dataclasses import dataclass

import torch
from torch import nn

from gan_zoo import hookimpl
from gan_zoo.adversarial import AdversarialGAN
from gan_zoo.config import apply_overrides, number, text, whole
from gan_zoo.errors import UserError
from gan_zoo.registry import registry

MAX_K = 1024  # k copies of the base's players, k^2 pairs a step


@dataclass
class MixConfig:
    base: str = "vanilla"  # any trained family built on the adversarial game (vanilla, wgan, wgan-gp, bigan, ...)
    k: int = 3  # generators and discriminators; the paper often used 5, which costs 25 pairs a step, not 9
    entropy_weight: float = 0.1  # strength of the pull towards uniform mixture weights
    base_settings: str = ""  # the base's config overrides, e.g. "width=64,lr=5e-4"

    def __post_init__(self):
        self.base = text("base", self.base)  # checked against the registry when the family is built
        self.k = whole("k", self.k, 1, MAX_K)
        self.entropy_weight = number("entropy_weight", self.entropy_weight, 0)
        if not isinstance(self.base_settings, str):
            raise UserError(f"base_settings = {self.base_settings!r}: must be a string like \"width=64,lr=5e-4\"")
        bad = next((s for s in self.base_settings.split(",") if s.strip() and "=" not in s), None)
        if bad is not None:
            raise UserError(f"base_settings = {self.base_settings!r}: {bad.strip()!r} is not key=value; "
                            f"use comma-separated settings like \"width=64,lr=5e-4\"")


def entropy_penalty(weights: torch.Tensor) -> torch.Tensor:
    return -(weights + 1e-6).log().mean()


def cat_views(views: list[tuple]) -> tuple:
    return tuple(torch.cat(parts) for parts in zip(*views, strict=True))


class MixGAN(AdversarialGAN):
    name = "mix"
    description = "MIX+GAN: learned mixtures of k generators and k discriminators over a base family"
    Config = MixConfig
    default_steps = {"vectors": 4000, "images": 1200}  # k^2 pairs a step: within 3 minutes on 2 CPU cores

    def __init__(self, config, spec):
        super().__init__(config, spec)
        base = registry().family(config.base)
        if not issubclass(base, AdversarialGAN) or base is MixGAN:
            raise UserError(f"mix: base {config.base!r} is not a trained adversarial family; use vanilla, wgan, "
                            f"wgan-gp, bigan or ali")
        settings = [s for s in config.base_settings.split(",") if s.strip()]
        try:
            base_config = apply_overrides(base.Config(), settings)
        except UserError as exc:
            raise UserError(f"mix base_settings: {exc}") from None
        self.members = nn.ModuleList(base(base_config, spec) for _ in range(config.k))
        self.game = self.members[0]  # the losses are the base's, the same for every member
        self.generator_logits = nn.Parameter(torch.zeros(config.k))
        self.discriminator_logits = nn.Parameter(torch.zeros(config.k))

    @property
    def display_name(self) -> str:
        return f"MIX+{self.config.base}"

    @property
    def latent_dim(self) -> int:
        return self.game.latent_dim

    @property
    def critic_steps(self) -> int:
        return self.game.critic_steps

    @property
    def lr_schedule(self) -> str:
        return self.game.lr_schedule

    def real_items_per_step(self) -> int:
        return self.game.real_items_per_step()

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.generator_logits.softmax(0), self.discriminator_logits.softmax(0)

    # -- sampling: a generator by its weight, then its sample -------------------------------------------------
    def sample_latent(self, n, generator):
        choice = torch.multinomial(self.weights()[0].detach().cpu(), n, replacement=True, generator=generator)
        return torch.cat([choice.unsqueeze(1).float(), torch.randn(n, self.latent_dim, generator=generator)], 1)

    def generate(self, z):
        choice, codes = z[:, 0].long(), z[:, 1:]
        out = torch.empty(len(z), *self.spec.shape, device=z.device)
        for i, member in enumerate(self.members):
            picked = choice == i
            if picked.any():
                out[picked] = member.generate(codes[picked])
        return out

    # -- training: the weighted payoff over all k x k pairs ---------------------------------------------------
    def configure_optimizers(self):
        generator_side = [p for member in self.members for module in member.generator_side()
                          for p in module.parameters()]
        discriminators = [p for member in self.members for p in member.discriminator.parameters()]
        return {"generator": self.game.make_optimizer([*generator_side, self.generator_logits]),
                "discriminator": self.game.make_optimizer([*discriminators, self.discriminator_logits])}

    def _views(self, batch: torch.Tensor, with_grad: bool) -> tuple[list[tuple], list[tuple]]:
        """Per generator i: what the discriminators see of the real batch and of G_i's fresh samples."""
        with torch.set_grad_enabled(with_grad):
            fake = [m.fake_view(torch.randn(len(batch), self.latent_dim, device=batch.device)) for m in self.members]
            if "encoder" in self.game.players:  # each generator's encoder pairs the real items differently
                real = [m.real_view(batch) for m in self.members]
            else:
                real = [self.game.real_view(batch)] * len(self.members)
        return real, fake

    def _scores(self, views: list[tuple]) -> list[list[torch.Tensor]]:
        """scores[j][i]: discriminator j on view i, one batched forward per discriminator."""
        joined = cat_views(views)
        return [list(m.discriminator(*joined).chunk(len(views))) for m in self.members]

    def training_step(self, real, optimizers):
        k, game = self.config.k, self.game
        d_losses = []
        for batch in real.chunk(self.critic_steps):
            w_g, w_d = self.weights()
            real_in, fake_in = self._views(batch, with_grad=False)
            real_scores, fake_scores = self._scores(real_in), self._scores(fake_in)
            payoff = sum(w_g[i].detach() * w_d[j] * (game.discriminator_loss(real_scores[j][i], fake_scores[j][i])
                                                     + game.penalty(self.members[j].discriminator, real_in[i],
                                                                    fake_in[i]))
                         for i in range(k) for j in range(k))
            d_loss = payoff + self.config.entropy_weight * entropy_penalty(w_d)
            optimizers["discriminator"].zero_grad(set_to_none=True)
            d_loss.backward()
            optimizers["discriminator"].step()
            for member in self.members:
                game.after_discriminator_step(member.discriminator)
            d_losses.append(payoff.item())

        w_g, w_d = self.weights()
        real_in, fake_in = self._views(batch, with_grad=True)
        fake_scores = self._scores(fake_in)
        real_scores = self._scores(real_in) if "encoder" in game.players else None
        payoff = sum(w_g[i] * w_d[j].detach() * game.generator_loss(
            fake_scores[j][i], None if real_scores is None else real_scores[j][i])
            for i in range(k) for j in range(k))
        g_loss = payoff + self.config.entropy_weight * entropy_penalty(w_g)
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        return {"d_loss": sum(d_losses) / len(d_losses), "g_loss": payoff.item()}

    def facts(self):
        w_g, w_d = self.weights()
        return {"display_name": self.display_name, "generator_weights": w_g.tolist(),
                "discriminator_weights": w_d.tolist()}


@hookimpl
def register_families(register):
    register(MixGAN)
