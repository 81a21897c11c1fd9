"""An example metric plugin: how close generated items come to the training items, against fresh real data.

A generator that copies its training set puts its items right on top of training items; fresh real items sit
about as far from the training set as training items sit from each other. The metric reports the median
distance from generated items to their nearest training item, beside the same median for held-out real items at
the same n (the like-with-like reference), and their ratio as the headline: well below 1 means copying.
"""

from dataclasses import dataclass

import torch

from gan_zoo import Column, Metric, UserError


@dataclass
class NearestTrainConfig:
    samples: int = 1000  # generated items measured (a finite source: at most what it holds)
    features: str = "pixels"  # the space distances are measured in (`gan-zoo features` lists them)


def median_nearest(items: torch.Tensor, reference: torch.Tensor) -> float:
    nearest = torch.cat([torch.cdist(chunk, reference).min(dim=1).values for chunk in items.split(1024)])
    return nearest.median().item()


class NearestTrain(Metric):
    name = "nearest_train"
    description = "median distance to the nearest training item, over held-out real data's (< 1: copying)"
    Config = NearestTrainConfig
    worse = "lower"
    reference = "an example plugin; cf. Meehan et al. 2020 for a test with cells"

    def compute(self, ctx, config):
        n = min(ctx.available(config.samples), len(ctx.data.heldout))  # the reference's n at most: like with like
        if n < 1:
            raise UserError("nearest_train: no items to measure")
        train = ctx.features(config.features, "real-train", ctx.data.train.x)
        fake = ctx.features(config.features, f"fake:{n}", ctx.samples(n))
        real = ctx.features(config.features, f"real-heldout:{n}", ctx.data.heldout.x[:n])
        generated, fresh = median_nearest(fake, train), median_nearest(real, train)
        return {"value": generated / fresh, "generated": generated, "heldout": fresh, "n": n,
                "features": config.features}

    def columns(self, result, record):
        return [Column(self.name, "nearest train item (vs real)", result["value"], f"{result['value']:.2f}")]
