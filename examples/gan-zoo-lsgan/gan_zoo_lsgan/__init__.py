"""Least-squares GAN (Mao et al. 2017): the vanilla game with squared errors in place of log losses.

The discriminator regresses real items to 1 and generated ones to 0; the generator pulls its items' scores
towards 1. Everything else (players, optimizers, training loop, checkpoints) comes from gan-zoo. The plugin also ships a
benchmark suite, `lsgan-vs-vanilla` (`gan-zoo bench lsgan-vs-vanilla`), a metric, `nearest_train`
(nearest_train.py), an evaluation discriminator class, `maxout` (maxout.py), and a feature space,
`random-projection` (random_projection.py), to show every kind of hook but data sets in one place.
"""

from dataclasses import dataclass
from pathlib import Path

from gan_zoo import SuiteFile, VanillaConfig, VanillaGAN, hookimpl

from .maxout import MAXOUT
from .nearest_train import NearestTrain
from .random_projection import RandomProjection


@dataclass
class LSGANConfig(VanillaConfig):
    loss: str = "least-squares"  # targets (a, b, c) = (0, 1, 1): fake 0, real 1, generator aims at 1


class LSGAN(VanillaGAN):
    name = "lsgan"
    description = "least-squares GAN (Mao et al. 2017), an example third-party plugin"
    Config = LSGANConfig
    losses = ("least-squares",)

    def discriminator_loss(self, real_scores, fake_scores):
        return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()

    def generator_loss(self, fake_scores, real_scores):
        # real_scores is None unless an encoder plays on the generator's side
        encoder_term = 0.0 if real_scores is None else 0.5 * (real_scores**2).mean()
        return 0.5 * ((fake_scores - 1) ** 2).mean() + encoder_term


@hookimpl
def register_families(register):
    register(LSGAN)


@hookimpl
def register_suites(register):
    register(SuiteFile("lsgan-vs-vanilla", Path(__file__).with_name("lsgan-vs-vanilla.toml")))


@hookimpl
def register_metrics(register):
    register(NearestTrain)


@hookimpl
def register_discriminators(register):
    register(MAXOUT)


@hookimpl
def register_feature_spaces(register):
    register(RandomProjection)
