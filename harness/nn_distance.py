"""The neural-net distance per discriminator capacity (Arora et al. 2017; REFERENCE section 4).

d_F(P, Q) = sup over D in F of |E_P phi(D(x)) - E_Q phi(D(x))|, F = discriminators of capacity p. Estimated by
training an ensemble of fresh capacity-p discriminators on real training data against generated batch A, then
measuring them on held-out real data against a fresh generated batch B. The training gap shows what the
discriminators can find; the held-out gap is the estimate (a discriminator that memorised its training items
scores high on them and not on new ones). The sup is taken as the best member, chosen on validation data (below);
a bootstrap over held-out items gives its confidence interval. The same call with real data in place of
generated data gives the noise floor.

Early stopping (config.select = "best_validation", the default): a `config.validation` share (20%) of each side
of the training data, real and generated, is cut off as a validation split (a permutation fixed by the seed, the
same for every capacity); the members train on the rest. Every `config.validate_every` steps (and before the
first and after the last) each member's validation gap is computed, and each member ends at the weights of its
largest validation gap (ensemble.py). The member reported is the one with the largest validation gap too: the
held-out data is never touched until both the weights and the member are fixed, so the held-out gap stays an
honest estimate (the member with the largest held-out gap, the choice before, is a maximum of K noisy held-out
readings: it leaned the noise floor up by 0.001-0.003). Without early stopping, discriminators of p ~ 1e5
trained for a fixed number of steps on ~700 real items memorise them and are confidently wrong on new real
items: the held-out gap of real data against itself went to -0.3 on digits, and a generator emitting 25% noise
read as no distance at all.
config.select = "last" is the estimator before early stopping (all training data, the last weights, the member
with the largest held-out gap: there is no validation split to choose it on).

Estimator-limited capacities (`flag_estimator_limited`): d_F can only grow with the class F, so a larger capacity
whose held-out gap falls below a smaller capacity's beyond noise (by more than the two 95% intervals' half-widths
combined in quadrature) is reading the estimator's failure (too few real items to train p parameters), not the
distance. Such entries are flagged, not corrected: the raw estimates are reported.

Read against the floor (`against_floor`): the source is detected at a capacity when two things hold. Its
held-out gap's 95% interval lies above 0: the kept discriminator, chosen before the held-out data was read, tells
the source from real data on fresh items, and since each discriminator's gap is a lower bound of the distance over
its class, that proves the distance positive. And the gap exceeds the floor's by more than the two intervals'
half-widths in quadrature (the same reading as the estimator-limited rule): it is beyond what real data scores
against itself. Otherwise the discriminators of that capacity are fooled, within the noise. Both are needed: on
data with many held-out items the intervals are narrow, and a floor a hair below 0 (-0.004 on ring8) would make a
gap of -0.001 "detected" by the floor alone. The price: where discriminators overfit (the floor far below 0, -0.3
without early stopping) a real difference can read as not detected; the estimator-limited flag says when.

What a verdict could have seen (`reading`): a result that is not detected is not yet a result that the
discriminators are fooled; with few held-out items the test cannot see a gap that matters. Every entry carries:
- min_detectable_gap (MDG): the excess over the floor that the rule above detects with probability ~80% at these
  sizes. The two 95% intervals give standard errors s = half-width / 1.96 (bootstrap percentiles, read as
  normal); the excess is measured with s_d = hypot(s_gap, s_floor), and a true excess D reads above 1.96 s_d with
  probability 0.8 when D = (1.96 + 0.84) s_d. The gap's interval clears 0 with probability 0.8 when the floor
  plus D reaches (1.96 + 0.84) s_gap. MDG is the larger of the two (each condition's own 80%; both together a
  little less). Approximate where the floor's bias moves with n too (overfitting discriminators).
- verdict: "detected" (the rule above); "fooled" when not detected, the excess's 95% interval lies below the
  margin (`margin`, the smallest excess over the floor that counts as a difference: 0.02 by default, about 1.4% of
  the largest gap 2 log 2 for phi = log; a digits generator with a tenth of its items noise reaches ~0.07) and
  MDG <= margin: the test could see a difference that matters and finds the difference smaller (an equivalence
  test, excess < margin at 97.5% one-sided, with the power to make it). Otherwise "cannot tell": too few held-out
  items to tell at this capacity, not "fooled".
  The MDG is the power of the held-out test given the kept discriminators; it says nothing of discriminators that
  barely trained. Early stopping keeps a member near its initialisation when its validation gap never grows (real
  data against itself, or a difference too small for the training items to show), and a near-constant
  discriminator scores every item alike: a narrow interval, a small MDG, and a "fooled" that certifies nothing.
  So "fooled" also needs the reported member of the source's ensemble and of the floor's to have been kept at
  step UNTRAINED_SHARE x steps or later; otherwise the verdict is "cannot tell" with `untrained` saying which.
  Measured on digits (tests/test_like_with_like.py): real data against itself, 143 held-out items a side, read
  "fooled" with members kept at steps 10-35 of 200 and an MDG of 0.012, while 10% noise items (a real excess of
  0.02-0.07) read "cannot tell" with MDGs of 0.067-0.081 at other seeds.
- n_needed (for "cannot tell", else null): held-out items a side at which the verdict settles with ~80%
  probability if the observed excess e is the truth. Standard errors shrink as 1/sqrt(n), so the MDG at n' is
  MDG sqrt(n / n'); the entry is detected once MDG' reaches e, and reads fooled once MDG' reaches the margin and
  e + 1.96 s_d' falls below it, that is once MDG' <= margin - e. Whichever comes first:
  n_needed = n (MDG / max(e, min(margin, margin - e)))^2, rounded up. It is always above n for a "cannot tell".

Entry keys: p, target_p, width, members, mode (vmap|loop), select, train_gap, train_gap_mean (on the items
the members trained on), validation_gap, validation_gap_mean (at the kept weights; null when select = "last"),
heldout_gap, heldout_gap_mean, ci [low, high], best_member (the member reported: largest validation gap, or
largest held-out gap when select = "last"), chosen_on ("validation" | "heldout"), kept_step (its optimizer step
kept, 0 = initialisation), kept_steps (every member's), steps (each member's optimizer steps), items_per_side {train,
validation, heldout} (real items), estimator_limited, reason (null unless flagged); against the floor
(`against_floor`): noise_floor, noise_floor_ci, noise_floor_estimator_limited, noise_floor_kept_step, over_floor,
over_floor_ci, detected, margin, min_detectable_gap, verdict, n_needed, untrained.
"""

from __future__ import annotations

import math
from functools import partial

import torch

from gan_zoo.errors import UserError
from gan_zoo.family import DataSpec
from gan_zoo.harness.discriminators import DiscriminatorClass, at_capacity, unbuildable
from gan_zoo.harness.ensemble import Ensemble, EnsembleConfig, gap
from gan_zoo.seeds import derive, generator

BOOTSTRAP_REPS = 200
UNTRAINED_SHARE = 0.25  # a member kept before this share of its steps has not trained enough to certify "fooled"
MARGIN = 0.02  # the smallest excess over the floor that counts as a difference (phi = log units; `reading`)
Z_TEST, Z_POWER = 1.96, 0.84  # the detection rule's two-sided 95% threshold; the normal quantile of 80% power


def bootstrap_ci(real_scores: torch.Tensor, fake_scores: torch.Tensor, phi: str, seed: int,
                 level: float = 0.95) -> list[float]:
    """Percentile interval of the largest held-out gap over the members given (rows), resampling held-out items.

    Pass one member's row when the member was chosen before the held-out data was seen; pass every row when the
    choice is the held-out maximum itself, so the interval carries that selection too.
    """
    g = generator(seed, "nn_distance.bootstrap")
    n_real, n_fake = real_scores.shape[1], fake_scores.shape[1]
    values = []
    for _ in range(BOOTSTRAP_REPS):
        r = real_scores[:, torch.randint(n_real, (n_real,), generator=g)]
        f = fake_scores[:, torch.randint(n_fake, (n_fake,), generator=g)]
        values.append(gap(phi, r, f).max().item())
    low, high = torch.tensor(values).quantile(torch.tensor([(1 - level) / 2, (1 + level) / 2])).tolist()
    return [low, high]


def validation_split(inputs: tuple, share: float, seed: int) -> tuple[tuple, tuple]:
    """(fit, validation): a random `share` of the items (at least one, never all) set aside, aligned tensors alike."""
    n = len(inputs[0])
    if n < 2:
        raise ValueError(f"a validation split needs at least 2 items, got {n}")
    n_validation = min(n - 1, max(1, round(n * share)))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    fit, held = order[n_validation:], order[:n_validation]
    return tuple(t[fit] for t in inputs), tuple(t[held] for t in inputs)


def half_width(entry: dict, key: str = "ci") -> float:
    return (entry[key][1] - entry[key][0]) / 2


def flag_estimator_limited(entries: list[dict]) -> list[dict]:
    """Set `estimator_limited` and `reason` on every per-capacity entry (in place; also returned).

    Rule: an entry is limited when some entry of smaller p has a larger held-out gap by more than the two 95%
    intervals' half-widths combined in quadrature (the drop's own 95% interval, read as if normal and independent,
    excludes 0). The true distance cannot shrink as the class grows, so such a drop is the estimator's: too few
    real items to train p parameters. The larger capacity's own noise counts too, so a noisy estimate just under
    a tight interval is not flagged. The capacities share their held-out items, which correlates their errors and
    makes the rule conservative. Works on measured and noise-floor lists alike.
    """
    ordered = sorted(entries, key=lambda e: e["p"])
    for j, entry in enumerate(ordered):
        def drop(e, entry=entry):
            return (e["heldout_gap"] - entry["heldout_gap"]) - math.hypot(half_width(e), half_width(entry))

        below = [e for e in ordered[:j] if e["p"] < entry["p"] and drop(e) > 0]
        entry["estimator_limited"], entry["reason"] = bool(below), None
        if below:
            smaller = max(below, key=drop)
            items, p = entry.get("items_per_side", {}).get("train"), entry["p"]
            cause = (f"{items} real items a side to train on are too few for p = {p} parameters ({p / items:.0f} "
                     f"per item)" if items else f"too few real items for p = {p} parameters")
            entry["reason"] = (f"held-out gap {entry['heldout_gap']:.3f} [{entry['ci'][0]:.3f}, {entry['ci'][1]:.3f}] "
                               f"at p = {p} is below {smaller['heldout_gap']:.3f} [{smaller['ci'][0]:.3f}, "
                               f"{smaller['ci'][1]:.3f}] at the smaller p = {smaller['p']} beyond noise, and a larger "
                               f"class cannot have a smaller distance: {cause}")
    return entries


def against_floor(entries: list[dict], floor: list[dict], margin: float = MARGIN) -> list[dict]:
    """Add the noise floor (real against real, same capacities) to each entry and read the entry against it.

    Keys added: noise_floor, noise_floor_ci, noise_floor_estimator_limited, noise_floor_kept_step, over_floor
    (held-out gap minus the floor's), over_floor_ci (its 95% interval, half-widths in quadrature), detected
    (`detected`), and `reading`'s margin, min_detectable_gap, verdict, n_needed and untrained.
    """
    for entry, noise in zip(entries, floor, strict=True):
        entry.update(noise_floor=noise["heldout_gap"], noise_floor_ci=noise["ci"],
                     noise_floor_estimator_limited=noise.get("estimator_limited", False),
                     noise_floor_kept_step=noise.get("kept_step"))
        difference, spread = _over_floor(entry)
        entry.update(over_floor=difference, over_floor_ci=[difference - spread, difference + spread],
                     detected=detected(entry), margin=margin)
        entry.update(reading(entry))
    return entries


def _over_floor(entry: dict) -> tuple[float, float]:
    """(held-out gap minus the floor's, the two 95% intervals' half-widths in quadrature)."""
    return (entry["heldout_gap"] - entry["noise_floor"],
            math.hypot(half_width(entry), half_width(entry, "noise_floor_ci")))


def detected(entry: dict) -> bool:
    """Whether the discriminators of this capacity tell the source from real data (module docstring): the gap's
    interval above 0, and its excess over the floor beyond the two intervals' half-widths in quadrature. Reads
    any entry with heldout_gap, ci, noise_floor and noise_floor_ci, results written before the rule included."""
    difference, spread = _over_floor(entry)
    return entry["ci"][0] > 0 and difference > spread


def untrained(entry: dict) -> str | None:
    """Which of the entry's reported members was kept too early to certify "fooled" (module docstring), e.g.
    "the source's member kept at step 10 of 200"; None when both trained, or the entry predates the steps."""
    steps = entry.get("steps")
    if not steps:
        return None
    early = [f"{side} kept at step {step} of {steps}"
             for side, step in (("the source's member", entry.get("kept_step")),
                                ("the floor's member", entry.get("noise_floor_kept_step")))
             if step is not None and step < UNTRAINED_SHARE * steps]
    return "; ".join(early) or None


def reading(entry: dict) -> dict:
    """{min_detectable_gap, verdict, n_needed, untrained} of one entry (module docstring: what a verdict could have
    seen). Reads any entry `detected` reads; one without a margin (written before it) is read with MARGIN, one
    without items_per_side.heldout gets n_needed null, one without steps is not checked for untrained members."""
    margin = entry.get("margin", MARGIN)
    difference, spread = _over_floor(entry)
    power = (Z_TEST + Z_POWER) / Z_TEST  # a 95% half-width, turned into the 80%-power distance
    mdg = max(power * spread, power * half_width(entry) - entry["noise_floor"])
    early = None
    if detected(entry):
        verdict = "detected"
    elif difference + spread < margin and mdg <= margin:
        early = untrained(entry)
        verdict = "cannot tell" if early else "fooled"
    else:
        verdict = "cannot tell"
    n = entry.get("items_per_side", {}).get("heldout")
    settles = max(difference, min(margin, margin - difference))  # > 0 whenever margin > 0
    n_needed = (math.ceil(n * (mdg / settles) ** 2) if verdict == "cannot tell" and not early and n and settles > 0
                else None)  # more held-out items do not train a member that stopped early
    return {"min_detectable_gap": mdg, "verdict": verdict, "n_needed": n_needed, "untrained": early}


def nn_distance(cls: DiscriminatorClass, option: str, spec: DataSpec, code_dim: int, capacities: list[int],
                train: tuple[tuple, tuple], heldout: tuple[tuple, tuple], config: EnsembleConfig, seed: int,
                device: torch.device) -> list[dict]:
    """One entry per capacity that can be built (`unbuildable` says why the others cannot). train and heldout are
    (real inputs, generated inputs), each a tuple of tensors."""
    validating = config.select == "best_validation"
    if validating:
        (fit_real, validation_real), (fit_fake, validation_fake) = (
            validation_split(side, config.validation, derive(seed, "nn_distance.validation", i))
            for i, side in enumerate(train))
        fit, validation = (fit_real, fit_fake), (validation_real, validation_fake)
    else:
        fit, validation = train, None
    items = {"train": len(fit[0][0]), "validation": len(validation[0][0]) if validation is not None else 0,
             "heldout": len(heldout[0][0])}
    skipped = unbuildable(cls, option, spec, code_dim, capacities)
    if len(skipped) == len(capacities):
        raise UserError(f"no capacity can be built: {'; '.join(skipped.values())}")
    entries = []
    for index, target in enumerate(capacities):
        if target in skipped:
            continue  # the others keep the seeds of their place in the list
        capacity = at_capacity(cls, option, spec, code_dim, target)
        ensemble = Ensemble(partial(cls.build, spec, code_dim, capacity.width, option), config,
                            seed=derive(seed, "nn_distance.ensemble", index), device=device)
        ensemble.fit(*fit, validation=validation)
        train_gaps = gap(config.phi, ensemble.scores(fit[0]), ensemble.scores(fit[1]))
        real_scores, fake_scores = ensemble.scores(heldout[0]), ensemble.scores(heldout[1])
        heldout_gaps = gap(config.phi, real_scores, fake_scores)
        validation_gaps = ensemble.validation_gaps
        chosen_on = "heldout" if validation_gaps is None else "validation"
        best = int((heldout_gaps if validation_gaps is None else validation_gaps).argmax())
        rows = slice(None) if validation_gaps is None else slice(best, best + 1)
        entries.append({
            "p": capacity.p, "target_p": target, "width": capacity.width, "members": config.members,
            "mode": ensemble.mode, "select": config.select,
            "train_gap": train_gaps.max().item(), "train_gap_mean": train_gaps.mean().item(),
            "validation_gap": None if validation_gaps is None else validation_gaps.max().item(),
            "validation_gap_mean": None if validation_gaps is None else validation_gaps.mean().item(),
            "heldout_gap": heldout_gaps[best].item(), "heldout_gap_mean": heldout_gaps.mean().item(),
            "ci": bootstrap_ci(real_scores[rows], fake_scores[rows], config.phi, seed),
            "best_member": best, "chosen_on": chosen_on, "kept_step": int(ensemble.kept_steps[best]),
            "kept_steps": ensemble.kept_steps.tolist(), "steps": config.steps, "items_per_side": dict(items),
        })
    return flag_estimator_limited(entries)
