"""Every registered evaluation discriminator and feature space through the checks a plugin author runs
(gan_zoo.testing), like timm's test_models: a plugin's classes installed here are tested by these same tests."""

import pytest

from gan_zoo.datasets import open_dataset
from gan_zoo.harness.inception import ClassifierConfig
from gan_zoo.registry import registry
from gan_zoo.testing import IMAGE, check_discriminator, check_feature_space

# What a class cannot take, and the option it needs: convolutions take images, timm's networks neither vectors nor
# codes (and a capacity of their own).
DISCRIMINATOR_SETTINGS = {"conv": {"specs": (IMAGE,), "capacities": (20_000,)},
                          "timm": {"option": "test_resnet", "specs": (IMAGE,), "code_dim": 0}}


@pytest.mark.parametrize("name", sorted(registry().discriminators))
def test_every_discriminator_class_meets_the_contract(name):
    check_discriminator(registry().discriminator(name), **DISCRIMINATOR_SETTINGS.get(name, {}))


# How each built-in space loads here with nothing downloaded: inception needs a weights file (written by
# tests/test_fid_inception.py); the classifier trains briefly; timm measures in a random network, knowingly.
SPACE_SETTINGS = {"classifier": ("digits", "", {"config": ClassifierConfig(steps=20)}),
                  "timm": ("digits", "test_resnet", {"config": None, "random_init": True})}


@pytest.mark.parametrize("name", sorted(set(registry().feature_spaces) - {"inception"}))
def test_every_feature_space_meets_the_contract(name, isolated_cache):
    space = registry().feature_space(name)
    dataset, option, settings = SPACE_SETTINGS.get(name, ("digits" if name != "pixels" else "ring8", "", {}))
    config = settings.get("config")
    if settings.get("random_init"):
        config = space.Config(random_init=True)
    check_feature_space(space, open_dataset(registry().dataset(dataset), seed=0), option=option, config=config)
