"""`gan-zoo bench` and `gan-zoo report`: run a suite into a results folder, and write its leaderboard."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from gan_zoo.app import gauntlet_report
from gan_zoo.app.bench import EXECUTORS, as_asked, phase_of, plan, read_results, run_jobs, store, write_suite_record
from gan_zoo.app.jobs import load_suite
from gan_zoo.app.options import DEVICE, QUIET, print_table, read_path
from gan_zoo.app.report import FORMATS, print_summary, write_report
from gan_zoo.app.running import Progress, SuiteEta, folder_lock, heartbeat, remove_stale_temporaries
from gan_zoo.errors import UserError
from gan_zoo.files import refuse_overwriting_inputs
from gan_zoo.registry import registry


@click.command()
@click.argument("suite_name", metavar="SUITE_OR_PATH")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: runs/bench-SUITE). Running again resumes it.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
              help="local: this machine; ray: Ray tasks (pip install 'gan-zoo[ray]').")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for the local executor (each job uses the suite's [resources] cpus threads).")
@click.option("--address", default=None, help="Ray cluster to join, e.g. auto or ray://HOST:10001 "
              "(default: start a local Ray instance).")
@click.option("--retry-failed", is_flag=True, help="Run failed and diverged jobs again.")
@click.option("--force", is_flag=True, help="Write into an --out that holds another suite's results.")
@QUIET
@DEVICE
def bench(suite_name, out, executor, jobs, address, retry_failed, force, quiet, device):
    """Run a benchmark suite (a built-in name or a TOML file) and write its leaderboard.

    Each job's result is written as soon as it finishes; running the same command again skips finished jobs,
    so an interrupted run resumes. See `gan-zoo suites` for the built-in suites.

    \b
    Example:
      gan-zoo bench quick
      gan-zoo bench my-suite.toml --out runs/mine --jobs 2
      gan-zoo bench paper --executor ray --address auto
    """
    reg = registry()
    suite = load_suite(suite_name, reg)
    out = out or Path("runs") / f"bench-{suite.name}"
    refuse_overwriting_inputs([("--out", out)], [suite.path, *(read_path(job.source) for job in suite.jobs
                                                               if job.source)])
    with folder_lock(out):
        recorded = out / "suite.json"
        if recorded.exists() and not force:
            try:
                other = json.loads(recorded.read_text()).get("name")
            except (OSError, ValueError, AttributeError):
                other = "(unreadable)"
            if other != suite.name:
                raise UserError(f"{out} holds the results of suite {other!r}, not {suite.name!r}; choose another "
                                f"--out, or pass --force to add this suite's results there")
        removed = remove_stale_temporaries(out)
        if removed:
            click.echo(f"removed {removed} half-written file(s) an interrupted run left", err=True)
        _run_suite(suite, out, executor, jobs, address, retry_failed, quiet, device)


def _run_suite(suite, out, executor, jobs, address, retry_failed, quiet, device):
    click.echo(f"leaderboard: {out / 'leaderboard.html'} (and .md, .json; written when the suite ends)")
    pending, results = plan(suite, out, retry_failed)
    write_suite_record(suite, out)
    click.echo(f"suite {suite.name}: {len(suite.jobs)} jobs, {len(results)} finished before, {len(pending)} to run "
               f"({executor}{f', {jobs} workers' if executor == 'local' and jobs > 1 else ''})", err=True)
    workers = jobs if executor == "local" else len(pending)
    eta = SuiteEta([(job.key, job.family or job.source, job.dataset, job.steps) for job in pending], workers)
    progress = Progress(f"bench {suite.name}", len(suite.jobs), initial=len(results), quiet=quiet, unit="job",
                        every=30.0, eta=eta.remaining)
    waiting = list(pending)
    started = time.monotonic()
    for job in waiting[:workers]:
        eta.start(job.key, started)

    def status() -> str:  # jobs start in suite order, so the first waiting ones are those running
        if executor == "ray":
            return f"{len(waiting)} on Ray"
        running = "; ".join(f"{job.title}: {phase_of(out, job.key)}" for job in waiting[:jobs])
        return f"running {running} ({time.monotonic() - started:.0f} s)" if waiting else ""

    try:
        with heartbeat(lambda: progress.update(progress.done, status()), every=5.0):
            for outcome in run_jobs(pending, out, executor=executor, jobs=jobs, address=address, device=device):
                record = store(out, outcome)
                results[record["key"]] = record
                finished = next(job for job in waiting if job.key == record["key"])
                waiting.remove(finished)
                started = time.monotonic()
                eta.finish(finished.key, (record.get("train") or {}).get("seconds"), record["seconds"])
                for job in waiting[:workers]:
                    eta.start(job.key, started)
                detail = f": {record['error']}" if record["error"] else ""
                progress.note(f"[{len(results)}/{len(suite.jobs)}] {record['status']:8} {finished.title} "
                              f"({record['seconds']:.0f} s){detail}")
                progress.update(len(results), status())
    finally:
        progress.close()
    ordered = as_asked(results, [job.to_json() for job in suite.jobs])
    board, written = write_report(out, ordered, suite=suite.name)
    gauntlet = gauntlet_report.build(ordered, registry())
    if gauntlet:
        for name, header, rows in gauntlet_report.text_tables(gauntlet):
            click.echo(f"\n{name}")
            print_table(rows, header)
    else:
        print_summary(board, written["html"])
    click.echo(f"leaderboard: {written['html']} (and {written['md']}, {written['json']})")
    failed = [r for r in ordered if r["status"] == "failed"]
    if failed:
        click.echo(f"gan-zoo: {len(failed)} job(s) failed (listed in the leaderboard); fix the cause and run "
                   f"again with --retry-failed", err=True)
        sys.exit(1)


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True,
              help="Comma-separated: md, html, json.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the leaderboard (default: RESULTS_DIR).")
def report(results_dir, formats, out):
    """Write the leaderboard of a results folder (what `gan-zoo bench --out` wrote).

    \b
    Example:
      gan-zoo report runs/bench-quick --format html --out site/
    """
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown or not chosen:
        raise UserError(f"--format {formats}: choose from {', '.join(FORMATS)}")
    if not (results_dir / "results").is_dir():
        raise UserError(f"{results_dir}: no results/ folder here; give the --out folder of a `gan-zoo bench` run")
    results = read_results(results_dir)
    suite, ordered = None, list(results.values())
    if (results_dir / "suite.json").exists():  # report the suite as it now stands, not results of older versions
        recorded = json.loads((results_dir / "suite.json").read_text())
        suite = recorded["name"]
        left_out = len(set(results) - {job["key"] for job in recorded["jobs"]})
        if left_out:
            click.echo(f"{left_out} result(s) of jobs no longer in the suite left out", err=True)
        ordered = as_asked(results, recorded["jobs"])
    if not ordered:
        raise UserError(f"{results_dir}: no job results yet; run `gan-zoo bench` with --out {results_dir}")
    _, written = write_report(results_dir, ordered, suite=suite, out=out, formats=chosen)
    for path in written.values():
        click.echo(f"wrote {path}")
