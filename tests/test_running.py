"""Progress and the suite's ETA, on fake clock readings (nothing here is timed)."""

import io

import pytest

from gan_zoo.app.running import Progress, SuiteEta

# a suite like quick's: trained families of different step costs and constructions, on two data sets
PLAN = [("vanilla", "ring8", 3000), ("wgan", "ring8", 1500), ("memorizer", "ring8", 0), ("vanilla", "digits", 1500),
        ("wgan", "digits", 800), ("memorizer", "digits", 0)]
STEP_SECONDS = {"vanilla": 0.006, "wgan": 0.016, "memorizer": 0.0}
EVAL_SECONDS = {"ring8": 20.0, "digits": 45.0}


def simulate(seeds: int, noise=lambda index: 1.0, tick: float = 5.0):
    """Run the plan `seeds` times on one worker with a fake clock: (time, ETA, job index, at a finish) every tick
    and at every finish, and the true end."""
    jobs = [(f"{family}-{dataset}-{seed}", family, dataset, steps)
            for seed in range(seeds) for family, dataset, steps in PLAN]
    eta = SuiteEta(jobs, workers=1)
    now, readings = 0.0, []
    for index, (key, family, dataset, steps) in enumerate(jobs):
        eta.start(key, now)
        train = steps * STEP_SECONDS[family] * noise(index)
        total = train + EVAL_SECONDS[dataset] * noise(index + 1)
        end = now + total
        while now + tick < end:
            now += tick
            readings.append((now, eta.remaining(now), index, False))
        now = end
        eta.finish(key, train, total)
        readings.append((now, eta.remaining(now), index, True))
    return readings, now


def rises(readings):
    """How much the ETA went up from each reading to the next, where it did: (rise, the later reading)."""
    known = [r for r in readings if r[1] is not None]
    return [(later[1] - earlier[1], later) for earlier, later in zip(known, known[1:], strict=False)
            if later[1] > earlier[1]]


def test_on_a_steady_run_the_eta_falls_with_the_clock_and_ends_on_time():
    readings, end = simulate(seeds=3)
    assert readings[0][1] is None  # nothing measured yet: no guess
    # it rises only when a kind of job (family, data set) finishes for the first time and its rate becomes known;
    # never while a job runs (the complaint: 1712 s to 5138 s within one job), never once every kind is measured
    assert all(finish and index < len(PLAN) for _, (_, _, index, finish) in rises(readings))
    for t, left, index, _ in readings:
        if index >= len(PLAN):
            assert left == pytest.approx(end - t, abs=1e-6)


def test_with_noisy_jobs_it_rises_no_more_than_the_noise():
    spread = [0.95, 1.05, 1.0, 0.97, 1.03]  # +-5% on each job's training and evaluation
    readings, end = simulate(seeds=3, noise=lambda index: spread[index % len(spread)])
    later = [rise for rise, (_, left, index, _) in rises(readings) if index >= len(PLAN)]
    # each estimate is a mean over the jobs of its kind, so a job 5% off moves what is left by at most 5%
    assert all(rise <= 0.05 * left for rise, (_, left, index, _) in rises(readings) if index >= len(PLAN)), later
    assert readings[-1][1] == 0.0


def test_a_finished_job_without_training_time_is_dropped_and_workers_share_the_rest():
    eta = SuiteEta([("a", "vanilla", "ring8", 100), ("b", "vanilla", "ring8", 100), ("c", "vanilla", "ring8", 100)],
                   workers=2)
    eta.start("a", 0.0)
    eta.start("b", 0.0)
    eta.finish("a", 10.0, 15.0)  # 0.1 s a step, 5 s of evaluation: 15 s a job
    assert eta.remaining(15.0) == pytest.approx((15.0 - 15.0 + 15.0) / 2)  # b is due now; c still to run
    eta.finish("b", None, 3.0)  # failed: measures nothing
    assert eta.remaining(15.0) == pytest.approx(15.0 / 2)


def test_progress_lines_carry_the_given_estimate():
    stream = io.StringIO()
    progress = Progress("bench quick", 20, quiet=False, every=0.0, unit="job", stream=stream,
                        eta=lambda now: 42.4)
    progress.update(3, "running vanilla on ring8")
    assert stream.getvalue() == "bench quick: job 3/20 (15%), running vanilla on ring8, ETA 42 s\n"


def test_the_python_api_is_quiet_unless_asked_and_reports_the_classifier_training(capsys, isolated_cache):
    from gan_zoo import evaluate

    heard = []
    # 23 steps: a classifier no other test trains, so it is trained here, not read from the session's cache
    evaluate("memorizer", dataset="digits", metrics=["fd"], family_settings=["m=50"],
             features={"classifier": {"steps": 23}}, progress=heard.append)
    assert heard[:2] == ["overlap: the source's items against the data set's splits", "fd (1/1)"]
    assert "training the domain classifier of digits: step 0/23 (once; cached after)" in heard
    assert any(line.startswith("training the domain classifier of digits: step 20/23, ETA ") for line in heard)
    evaluate("memorizer", dataset="digits", metrics=["fd"], family_settings=["m=50"],
             features={"classifier": {"steps": 23}})
    evaluate("memorizer", dataset="digits", metrics=["fd"], family_settings=["m=50"],
             features={"classifier": {"steps": 23}}, progress=True)
    overlap, line = capsys.readouterr().err.splitlines()  # the second call said nothing; the classifier is cached
    assert overlap.startswith("gan-zoo evaluate: overlap: ") and overlap.endswith(" s]")
    assert line.startswith("gan-zoo evaluate: fd (1/1) [") and line.endswith(" s]")
