"""The neural-net distance per discriminator capacity (Arora et al. 2017; REFERENCE section 4).

d_F(P, Q) = sup over D in F of |E_P phi(D(x)) - E_Q phi(D(x))|, F = discriminators of capacity p. Estimated by
training an ensemble of fresh capacity-p discriminators on real training data against generated batch A, then
measuring them on held-out real data against a fresh generated batch B. The training gap shows what the
discriminators can find; the held-out gap is the estimate (a discriminator that memorised its training items
scores high on them and not on new ones). The sup is taken as the best member; a bootstrap over held-out items
gives its confidence interval. The same call with real data in place of generated data gives the noise floor.
"""

from __future__ import annotations

import torch

from gan_zoo.family import DataSpec
from gan_zoo.harness.discriminators import DiscriminatorClass, at_capacity
from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig, gap

BOOTSTRAP_REPS = 200


def bootstrap_ci(real_scores: torch.Tensor, fake_scores: torch.Tensor, phi: str, seed: int,
                 level: float = 0.95) -> list[float]:
    """Percentile interval of the best member's held-out gap, resampling held-out items with replacement."""
    g = torch.Generator().manual_seed(seed)
    n_real, n_fake = real_scores.shape[1], fake_scores.shape[1]
    values = []
    for _ in range(BOOTSTRAP_REPS):
        r = real_scores[:, torch.randint(n_real, (n_real,), generator=g)]
        f = fake_scores[:, torch.randint(n_fake, (n_fake,), generator=g)]
        values.append(gap(phi, r, f).max().item())
    low, high = torch.tensor(values).quantile(torch.tensor([(1 - level) / 2, (1 + level) / 2])).tolist()
    return [low, high]


def nn_distance(cls: DiscriminatorClass, option: str, spec: DataSpec, code_dim: int, capacities: list[int],
                train: tuple[tuple, tuple], heldout: tuple[tuple, tuple], config: EnsembleConfig, seed: int,
                device: torch.device) -> list[dict]:
    """One entry per capacity. train and heldout are (real inputs, generated inputs), each a tuple of tensors."""
    entries = []
    for index, target in enumerate(capacities):
        capacity = at_capacity(cls, option, spec, code_dim, target)
        ensemble = Ensemble(lambda c=capacity: cls.build(spec, code_dim, c.width, option), config,
                            seed=seed * 1000 + index, device=device)
        ensemble.fit(*train)
        train_gaps = gap(config.phi, ensemble.scores(train[0]), ensemble.scores(train[1]))
        real_scores, fake_scores = ensemble.scores(heldout[0]), ensemble.scores(heldout[1])
        heldout_gaps = gap(config.phi, real_scores, fake_scores)
        entries.append({
            "p": capacity.p, "target_p": target, "width": capacity.width, "members": config.members,
            "mode": ensemble.mode,
            "train_gap": train_gaps.max().item(), "train_gap_mean": train_gaps.mean().item(),
            "heldout_gap": heldout_gaps.max().item(), "heldout_gap_mean": heldout_gaps.mean().item(),
            "ci": bootstrap_ci(real_scores, fake_scores, config.phi, seed),
        })
    return entries
