"""FLD, the feature likelihood divergence (Jiralerspong et al. 2023, "Feature likelihood divergence: evaluating
the generalization of generative models using samples"; reference code marcojira/fld, fld/metrics/FLD.py and
fld/MoG.py), as a metric plugin.

What the reference code computes (and this follows it step by step):
- every feature set is normalised by the held-out ("test") features' per-dimension mean and standard deviation;
- a mixture of isotropic Gaussians is centred on the generated features, one per item, equal weights; each
  Gaussian's variance is fitted to the training features by full-batch Adam (learning rate 0.5, at most 50
  epochs, stopping once the loss moved less than 5e-4 over five epochs, the variances' logs clamped to [-40,
  40]), starting at (its nearest training item's squared distance + 1e-3) / dim, with one extra component at the
  training mean (distances scaled by 0.9^2) in the fitting loss only;
- the score is the held-out features' negative log-likelihood under that mixture, per dimension, minus the same
  for a baseline mixture centred on half of the training split (as many items as generated ones, at most half)
  and fitted to the other half, times 100.
Memorised items sit on training items, so the fit shrinks their Gaussians and the held-out data, which is not
near them, gets a low likelihood: FLD grows. Higher is worse; about 0 is the baseline's generalisation.

Where this differs from the reference: a feature dimension with no spread in the held-out split (a pixel that
is always background) is left unscaled instead of divided by zero; the baseline's shuffle uses the evaluation's
seed. The issue describing FLD said the mixture is centred on training features; the authors' code centres it
on the generated ones, and this follows the code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_zoo import hookimpl
from gan_zoo.config import number, whole
from gan_zoo.plugins.sample_metrics import AUTO, SampleMetric, _features
from gan_zoo.seeds import derive

ORIGIN_SHRINK = (1 - 0.1) ** 2  # the reference's ORIGIN_DIST_PROP = 0.1


@dataclass
class FLDConfig:
    samples: int = 10000  # generated items (the reference's GEN_SIZE), at most what the source holds
    epochs: int = 50  # Adam steps fitting the variances (the reference: 50 epochs of one batch here)
    lr: float = 0.5
    features: str = AUTO  # "": classifier for labelled images, else pixels; or any space (inception, timm:ARCH)

    def __post_init__(self):
        self.samples, self.epochs = whole("samples", self.samples, 2), whole("epochs", self.epochs, 1, 100000)
        self.lr = number("lr", self.lr, 0, 10, low_open=True)
        self.features = _features(self.features)


def _pairwise_lls(distances: torch.Tensor, log_var: torch.Tensor, dim: int) -> torch.Tensor:
    """log N(x_i | mu_j, exp(log_var_j) I) from squared distances (n, m)."""
    return -0.5 * distances / log_var.exp() - (dim / 2) * log_var - (dim / 2) * math.log(2 * math.pi)


def fit_variances(centres: torch.Tensor, items: torch.Tensor, epochs: int = 50, lr: float = 0.5) -> torch.Tensor:
    """The log variance of each Gaussian centred on `centres`, fitted to maximise the likelihood of `items`."""
    dim = centres.shape[1]
    distances = torch.cdist(items, centres) ** 2
    log_var = ((distances.min(0).values + 1e-3) / dim).log().requires_grad_(True)
    origin_log_var = torch.zeros((), dtype=centres.dtype, requires_grad=True)
    origin = ORIGIN_SHRINK * (torch.cdist(items, items.mean(0, keepdim=True)) ** 2)
    optimiser = torch.optim.Adam([log_var, origin_log_var], lr=lr)
    losses = []
    for epoch in range(epochs):
        optimiser.zero_grad()
        lls = torch.cat([_pairwise_lls(distances, log_var, dim) - math.log(len(centres)),
                         _pairwise_lls(origin, origin_log_var.view(1), dim)], 1)
        loss = -torch.logsumexp(lls, 1).mean() / dim
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            log_var.clamp_(-40, 40)  # identical items would drive a variance to 0
        losses.append(loss.item())
        if epoch > 5 and max(abs(losses[-1] - old) for old in losses[-5:]) < 5e-4:  # the reference's early stop
            break
    return log_var.detach()


def mixture_nll(centres: torch.Tensor, log_var: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Each item's negative log-likelihood under the equal-weight mixture, divided by the dimension."""
    dim = centres.shape[1]
    lls = _pairwise_lls(torch.cdist(items, centres) ** 2, log_var, dim) - math.log(len(centres))
    return -torch.logsumexp(lls, 1) / dim


def fld(train: torch.Tensor, heldout: torch.Tensor, generated: torch.Tensor, *, epochs: int = 50, lr: float = 0.5,
        seed: int = 0) -> dict:
    """FLD of generated features against training and held-out ones (the reference's compute_metric, "test")."""
    train, heldout, generated = (x.double().flatten(1) for x in (train, heldout, generated))
    mean, std = heldout.mean(0), heldout.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a constant dimension: left as it is

    def scaled(x):
        return (x - mean) / std

    train, heldout, generated = scaled(train), scaled(heldout), scaled(generated)
    nll = mixture_nll(generated, fit_variances(generated, train, epochs, lr), heldout).mean().item()
    shuffled = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))]
    split = min(len(generated), len(train) // 2)
    base = shuffled[:split]
    baseline = mixture_nll(base, fit_variances(base, shuffled[split:], epochs, lr), heldout).mean().item()
    return {"value": 100 * (nll - baseline), "nll": nll, "baseline_nll": baseline, "baseline_size": split}


class FLD(SampleMetric):
    name = "fld"
    label = "FLD"
    description = "feature likelihood divergence: held-out data's likelihood under Gaussians on generated items"
    Config = FLDConfig
    worse = "higher"
    reference = "Jiralerspong et al. 2023 (Feature likelihood divergence); marcojira/fld"
    headline_key = "value"

    def compute(self, ctx, config):
        space = self.space(ctx, config)
        n, cut = self.size(ctx, config.samples, 2)
        result = fld(self.train(ctx, space), self.heldout(ctx, space), self.fake(ctx, space, n),
                     epochs=config.epochs, lr=config.lr, seed=derive(ctx.seed, "fld.baseline"))
        return {**result, "n_fake": n, "n_train": len(ctx.data.train), "n_real": len(ctx.data.heldout),
                "cut": cut, **self.protocol(ctx, space)}

    def columns(self, result, record):
        return self.headline_column(result, f"{result['value']:.3g} (nll {result['nll']:.3g} against "
                                            f"{result['baseline_nll']:.3g})")

    def summary(self, result):
        return (f"fld {result['value']:.3g}: held-out nll {result['nll']:.4g} per dimension under Gaussians on "
                f"{result['n_fake']} generated items, against {result['baseline_nll']:.4g} on "
                f"{result['baseline_size']} training items ({result['features']} space; 0: as good as training "
                f"data, higher: memorised)")


@hookimpl
def register_metrics(register):
    register(FLD)
