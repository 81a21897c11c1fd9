"""Whether a model's samples look like a failed training run, each number against real data measured the same way.

One rule serves the leaderboard (the `fd` and `prdc` metrics flag a result by it: FD and coverage in the
classifier's space on labelled images) and `gan-zoo train` on images (in pixel space, right after training): FD
over FD_FAILED times real data's own, or coverage below COVERAGE_FAILED times real data's own. On digits
(benchmarks/RESULTS.md) vanilla scores FD 8.05 and coverage 0.75 and wgan-gp 15.1 and 0.45 against real data's
3.14 and 0.96; the quick suite's wgan after 800 steps scored 53.6 and 0.014.
"""

from __future__ import annotations

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
