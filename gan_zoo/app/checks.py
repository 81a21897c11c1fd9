"""Whether a model's samples look like a failed training run, each number against real data measured the same way.

One rule serves the leaderboard (FD and coverage from the evaluation, in the classifier's space on labelled
images) and `gan-zoo train` on images (in pixel space, right after training): FD over FD_FAILED times
real data's own, or coverage below COVERAGE_FAILED times real data's own. On digits (benchmarks/RESULTS.md)
vanilla scores FD 8.05 and coverage 0.75 and wgan-gp 15.1 and 0.45 against real data's 3.14 and 0.96; the quick
suite's wgan after 800 steps scored 53.6 and 0.014.
"""

from __future__ import annotations

from gan_zoo.harness.functional import fd, prdc

FD_FAILED = 10.0
COVERAGE_FAILED = 0.1


def failure_reasons(fd: float | None = None, fd_real: float | None = None, coverage: float | None = None,
                    coverage_real: float | None = None) -> list[str]:
    """What says the samples are far from the data, from whichever of the numbers were measured."""
    reasons = []
    if fd is not None and fd_real and fd > FD_FAILED * fd_real:
        reasons.append(f"FD {fd:.3g} is {fd / fd_real:.0f}x real data's {fd_real:.3g}")
    if coverage is not None and coverage_real is not None and coverage < COVERAGE_FAILED * coverage_real:
        reasons.append(f"coverage {coverage:.3g} against real data's {coverage_real:.3g}")
    return reasons


def image_samples_failed(model, data, n: int = 1000, seed: int = 0) -> str | None:
    """After training on images: FD and coverage (k = 5) of the samples against held-out items in pixel space,
    beside training items' own at the same n, or None when neither is far off. On digits the quick suite's wgan
    (800 steps) scores FD 8.7 and coverage 0.22 against real data's 0.77 and 0.95; vanilla (1500 steps) 2.0 and
    0.67."""
    n = min(n, len(data.heldout), len(data.train))
    real, control = data.heldout.x[:n].flatten(1), data.train.x[:n].flatten(1)
    fake = model.sample(n, seed=seed).flatten(1)
    reasons = failure_reasons(fd(real, fake), fd(real, control), prdc(real, fake)["coverage"],
                              prdc(real, control)["coverage"])
    return f"the samples are far from the data: {'; '.join(reasons)} (pixels, n={n})" if reasons else None
