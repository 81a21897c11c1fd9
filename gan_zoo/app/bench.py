"""Running a suite: each job trains (or constructs) one family on one data set, evaluates it, and is stored.

The results folder:
  suite.json            the suite as expanded (name, file, every job with its key)
  results/KEY.json      one per finished job, written atomically when it ends: status ok, failed or diverged
  jobs/KEY/             the job's checkpoint (an interrupted job resumes its training), samples.png, montage.png,
                        and a tracked family's trajectory.jsonl and trajectory-METRIC.png
  leaderboard.*         the report (gan_zoo.app.report), rewritten at the end of every run

Running again skips every job with a result (failed ones too, unless retry_failed), so an interrupted run loses
at most the jobs in flight. Executors differ only in where `execute` runs: in this process, in N worker
processes, or as Ray tasks; each job sets its own torch threads, so the numbers do not depend on the executor.
Result schema `gan-zoo-result/2`: schema, key, status, error, job (the Job), train {steps, seconds,
resumed_from} (families only), tracking (a tracked family's: file, every, onsets, cost), eval (a gan-zoo-eval/2
record), artifacts {samples, montage, trajectory (the tracked family's trajectory.jsonl), trajectory-METRIC (its
plots): paths relative to the folder}, host, executor, device, started, seconds (the whole job).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import torch

from gan_zoo.app.jobs import Job, Suite
from gan_zoo.app.plots import write_samples_png
from gan_zoo.app.tracking import TrainTracking
from gan_zoo.checkpoint import read_checkpoint
from gan_zoo.config import typed
from gan_zoo.datasets import open_dataset
from gan_zoo.devices import resolve_device
from gan_zoo.errors import Diverged, UserError
from gan_zoo.files import atomic_write_bytes, atomic_write_json
from gan_zoo.harness.evaluate import EvalConfig, Evaluation, evaluate
from gan_zoo.harness.gauntlet import adversary_source
from gan_zoo.harness.sources import fingerprint_reference, open_source
from gan_zoo.harness.tracking import FILE_NAME as TRAJECTORY
from gan_zoo.registry import registry
from gan_zoo.sources import ModelSource, SampleSource
from gan_zoo.training import CHECKPOINT_NAME, run

RESULT_SCHEMA = "gan-zoo-result/2"
SUITE_RUN_SCHEMA = "gan-zoo-suite-run/1"
EXECUTORS = ("local", "ray")


def execute(job: Job, out: str, device: str, executor: str = "local") -> dict:
    """Run one job here; returns {"record": ..., "artifacts": {file name: PNG bytes}}.

    A job's own failure is recorded, not raised, so one bad job never stops a suite. The artifacts travel back
    with the record because a Ray worker may not share the driver's disk.
    """
    torch.set_num_threads(job.threads)
    work = Path(out) / "jobs" / job.key
    started, clock = datetime.now(UTC), time.perf_counter()
    record: dict[str, Any] = {  # the job's JSON record: its values are strings, numbers and nested records
        "schema": RESULT_SCHEMA, "key": job.key, "status": "ok", "error": None, "job": job.to_json(),
        "host": platform.node(), "executor": executor, "started": started.isoformat(timespec="seconds")}
    artifacts = {}
    try:
        reg = registry()
        data = open_dataset(reg.dataset(job.dataset), seed=job.seed, root=Path(job.data_root),
                            control_fraction=job.gauntlet.get("control_fraction", 0.0))
        if data.fingerprint != job.fingerprint:
            raise UserError(f"{job.dataset} changed since the suite was read (fingerprint {data.fingerprint}, "
                            f"expected {job.fingerprint}); run the suite again to re-read it")
        torch_device = resolve_device(device)
        record["device"] = str(torch_device)
        eval_config = EvalConfig.from_json(job.eval, reg)
        source: SampleSource
        if job.gauntlet:
            source = adversary_source(job.gauntlet, data, reg, seed=job.seed, device=torch_device)
        elif job.source:
            source = _external(job, data, reg, torch_device)
        else:
            config = typed(reg.family(job.family).Config, job.config)
            record["damaged_checkpoint"] = _set_aside_if_damaged(work / CHECKPOINT_NAME)

            def on_step(step, total, losses):
                if step % 100 == 0:
                    _phase(work, f"training, step {step}/{total}")

            trains = reg.family(job.family).kind == "trained"
            tracking = None if not job.track else TrainTracking(
                job.track["metrics"], job.track["every"], job.steps, trains,
                data=data, out=work, run={"family": job.family, "config": job.config, "seed": job.seed,
                                          "steps": job.steps},
                n=job.track["n"], budget=None, keep=False, seed=job.seed, device=torch_device,
                options=(job.track["settings"], {}))
            trained = run(reg, job.family, config, data, out=work, seed=job.seed, steps=job.steps,
                          device=torch_device, on_step=on_step,
                          track=tracking.at_step if tracking and trains else None,
                          track_every=tracking.every if tracking else 0)
            if tracking:
                tracking.at_step(trained.step, trained.model, final=True)
                record["tracking"] = tracking.summary()
            record["train"] = {"steps": trained.step, "seconds": round(trained.seconds, 3),
                               "resumed_from": trained.resumed_from}
            source = ModelSource(trained.model, kind="family" if trained.model.kind == "constructed" else "checkpoint")
        evaluation = evaluate(source, data, reg, eval_config, seed=job.seed, device=torch_device,
                              report=lambda text: _phase(work, f"evaluating: {text.strip()}"))
        record["eval"] = evaluation.record
        for name, pictures in write_artifacts(evaluation, work / "montage.png", work).items():
            for kind, path in pictures.items():  # where the driver stores it, not where this worker wrote it
                record["eval"]["metrics"][name][kind] = str(Path("jobs") / job.key / path.name)
        if data.spec.is_image or data.spec.shape == (2,):  # what a picture can show: images, or 2-D points
            samples = source.draw(min(64 if data.spec.is_image else 2500, source.size or 2500), job.seed)
            write_samples_png(work / "samples.png", samples, f"{source.name} on {data.name}",
                              reference=data.heldout.modes)
        # every picture the job drew (samples, the metrics' pictures, a tracked family's plots) and its trajectory
        artifacts = {path.name: path.read_bytes() for path in sorted(work.glob("*.png"))}
        if (work / TRAJECTORY).exists():
            artifacts[TRAJECTORY] = (work / TRAJECTORY).read_bytes()
    except Diverged as exc:
        record.update(status="diverged", error=str(exc))
    except Exception as exc:  # any other failure of this job: recorded with its traceback, the suite goes on
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=-8))
    record["seconds"] = round(time.perf_counter() - clock, 3)
    return {"record": record, "artifacts": artifacts}


PHASE_NAME = ".phase"


def _phase(work: Path, text: str) -> None:
    """What a running job is doing, for the runner's progress line (a worker process cannot print into it)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / PHASE_NAME).write_text(text)


def phase_of(out: Path, key: str) -> str:
    try:
        return (Path(out) / "jobs" / key / PHASE_NAME).read_text().strip()
    except OSError:
        return "starting"


def _set_aside_if_damaged(path: Path) -> str | None:
    """A checkpoint cut short (a kill mid-write of an older version, a full disk) would fail the job on every
    rerun; it is renamed aside, never deleted, and the job starts over. Returns where it went."""
    if not path.exists():
        return None
    try:
        read_checkpoint(path)
        return None
    except UserError:
        aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
        path.rename(aside)
        return str(aside)


def _external(job: Job, data, reg, device) -> SampleSource:
    """The job's external source, refused if it changed since the suite was read (its numbers would too)."""
    digest = fingerprint_reference(job.source, Path("/"))[1]
    if digest != job.source_sha256:
        raise UserError(f"{job.source} changed since the suite was read; run the suite again to re-read it")
    return open_source(job.source, data, reg, device=device, seed=job.seed, image_range=job.image_range,
                       resize=job.resize)


def write_artifacts(evaluation: Evaluation, montage: Path, others: Path | None = None) -> dict[str, dict[str, Path]]:
    """Draw what the metrics left (Metric.picture: the birthday test's closest pairs, say) and note each file in its
    metric's result, under the picture's kind. A picture of kind "montage" goes to `montage` (what `gan-zoo eval
    --montage` names), one of another kind into the folder `others` as KIND.png (default: beside the montage, as
    STEM-KIND.png). Returns the files written, by metric and kind."""
    written: dict[str, dict[str, Path]] = {}
    for name, artifact in evaluation.artifacts.items():
        metric = registry().metrics.get(name)
        if metric is None or name not in evaluation.record["metrics"]:
            continue
        for kind, payload in metric().picture(artifact).items():
            path = montage if kind == "montage" else (others / f"{kind}.png" if others else
                                                      montage.with_name(f"{montage.stem}-{kind}{montage.suffix}"))
            atomic_write_bytes(path, payload)
            evaluation.record["metrics"][name][kind] = str(path)
            written.setdefault(name, {})[kind] = path
    return written


def store(out: Path, outcome: dict) -> dict:
    """Write a finished job's artifacts, then its result (last, so a result never points at missing files)."""
    record = outcome["record"]
    record["artifacts"] = {}
    for name, payload in outcome["artifacts"].items():
        relative = Path("jobs") / record["key"] / name
        atomic_write_bytes(out / relative, payload)
        record["artifacts"][Path(name).stem] = str(relative)
    atomic_write_json(out / "results" / f"{record['key']}.json", record)
    return record


def read_results(out: Path) -> dict[str, dict]:
    """Every readable result in a results folder, by key; unreadable files are reported and left alone."""
    found = {}
    for path in sorted((Path(out) / "results").glob("*.json")):
        try:
            record = json.loads(path.read_text())
            found[record["key"]] = record
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"gan-zoo: warning: skipping unreadable result {path}: {exc}", file=sys.stderr)
    return found


def as_asked(results: dict[str, dict], jobs: list[dict]) -> list[dict]:
    """The results of these jobs (`Job.to_json`), in their order, each carrying its job as the suite asks it now:
    a result kept from an earlier run may carry another gauntlet level or familywise, which only judge it."""
    return [{**results[job["key"]], "job": job} for job in jobs if job["key"] in results]


def plan(suite: Suite, out: Path, retry_failed: bool) -> tuple[list[Job], dict[str, dict]]:
    """The jobs still to run, and the results already there for the suite's other jobs."""
    finished = read_results(out)
    keep = {job.key: finished[job.key] for job in suite.jobs
            if job.key in finished and (finished[job.key]["status"] == "ok" or not retry_failed)}
    return [job for job in suite.jobs if job.key not in keep], keep


def write_suite_record(suite: Suite, out: Path) -> None:
    atomic_write_json(out / "suite.json", {
        "schema": SUITE_RUN_SCHEMA, "name": suite.name, "path": str(suite.path), "description": suite.description,
        "suite_file": suite.path.read_text(), "jobs": [job.to_json() for job in suite.jobs]})


def run_jobs(pending: list[Job], out: Path, *, executor: str, jobs: int, address: str | None,
             device: str) -> Iterator[dict]:
    """Run the jobs on the chosen executor, yielding each outcome as it finishes (in any order)."""
    out = Path(out).resolve()
    if executor == "ray":
        return _on_ray(pending, out, device, address)
    if executor != "local":
        raise UserError(f"--executor {executor}: use one of {', '.join(EXECUTORS)}")
    if jobs <= 1:
        return (execute(job, str(out), device) for job in pending)
    threads = max((job.threads for job in pending), default=1)
    if jobs * threads > (os.cpu_count() or 1):
        print(f"gan-zoo: warning: {jobs} workers x {threads} threads a job oversubscribe {os.cpu_count()} cores; "
              f"use --jobs {max(1, (os.cpu_count() or 1) // threads)} or lower [resources] cpus", file=sys.stderr)
    return _on_worker_processes(pending, out, device, jobs)


def _worker_start(runner: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the pool
    _die_with_parent(runner)


def _die_with_parent(runner: int) -> None:
    """Ask Linux to SIGKILL this worker when the runner that started it dies, even by kill -9: an orphan would go
    on writing into the job folders a rerun is writing. The request only covers a death after it is made, so a
    worker whose runner died while it was still starting (importing torch takes seconds) leaves at once.
    Elsewhere there is no such call; the pool's own cleanup still runs on every ordinary exit."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except OSError:
            pass
    if os.getppid() != runner:  # re-parented: the runner is gone
        os._exit(1)


def _on_worker_processes(pending: list[Job], out: Path, device: str, jobs: int) -> Iterator[dict]:
    context = multiprocessing.get_context("spawn")  # fork after torch has started threads is unsafe
    pool = context.Pool(jobs, initializer=_worker_start, initargs=(os.getpid(),))
    try:
        yield from pool.imap_unordered(partial(execute, out=str(out), device=device), pending)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _on_ray(pending: list[Job], out: Path, device: str, address: str | None) -> Iterator[dict]:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'gan-zoo[ray]'") from None
    if address is None:
        cores = os.cpu_count() or 1
        too_big = next((job for job in pending if job.threads > cores), None)
        if too_big:
            raise UserError(f"{too_big.title} asks for {too_big.threads} CPUs and this machine has {cores}; "
                            f"lower [resources] cpus in the suite or join a cluster with --address")
    ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    task = ray.remote(execute)
    waiting = [task.options(num_cpus=job.threads, num_gpus=job.gpus).remote(job, str(out), device, "ray")
               for job in pending]
    try:
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in waiting:
            ray.cancel(ref, force=True)
        ray.shutdown()
