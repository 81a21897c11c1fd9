"""What a long command needs around its work: a lock on its output folder, and progress a person can see.

- `folder_lock(path)`: an exclusive lock (fcntl) on OUT/.gan-zoo.lock for as long as a command writes into OUT, so
  two runs into one folder never overwrite each other; the second is refused with the first one's pid. The
  kernel drops the lock when its holder dies, however it dies, so a killed run never leaves a stale lock.
- `Progress`: a live bar on a terminal (tqdm), periodic plain lines when stderr is not a terminal (a pipe, a
  log file, CI), nothing with --quiet; `SuiteEta`, a suite's time left from its finished jobs' measured rates.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from gan_zoo.errors import UserError
from gan_zoo.files import TEMPORARY_GLOB

LOCK_NAME = ".gan-zoo.lock"


@contextlib.contextmanager
def folder_lock(folder: Path):
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    except OSError as exc:
        raise UserError(f"{folder}: cannot write here ({exc.strerror}); choose another --out") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"{folder} is in use by another gan-zoo run ({holder}); wait for it, or choose another --out") \
            from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def remove_stale_temporaries(folder: Path) -> int:
    """Half-written files a killed run left (atomic writes go through TEMPORARY_GLOB, a name no user file has):
    safe to delete under the lock."""
    removed = 0
    for path in Path(folder).rglob(TEMPORARY_GLOB):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


class Progress:
    """Steps of one task: a tqdm bar on a terminal, a plain line every `every` seconds otherwise.

    The ETA is the steps left at the average rate so far, or, given `eta(now) -> seconds or None`, that estimate
    (a suite's jobs differ too much in length for one rate: SuiteEta)."""

    def __init__(self, what: str, total: int, *, initial: int = 0, quiet: bool = False, every: float = 10.0,
                 unit: str = "step", stream=None, eta: Callable[[float], float | None] | None = None):
        self.what, self.total, self.done, self.unit = what, total, initial, unit
        self.stream = stream or sys.stderr
        self.quiet, self.every, self.eta = quiet, every, eta
        self.terminal = not quiet and self.stream.isatty()
        # with its own estimate, the bar shows that in its postfix instead of tqdm's rate-based remaining time
        bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]" if eta else None
        self.bar = tqdm(total=total, initial=initial, desc=what, unit=unit, leave=False, file=self.stream,
                        dynamic_ncols=True, bar_format=bar_format) if self.terminal else None
        self.started = self.last = time.monotonic()
        self.started_at = initial

    def update(self, done: int, detail: str = "") -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
            postfix = ", ".join(part for part in (detail, self.eta and self._eta()[2:]) if part)
            if postfix:
                self.bar.set_postfix_str(postfix, refresh=False)
        self.done = done
        now = time.monotonic()
        if not self.terminal and not self.quiet and (now - self.last >= self.every or done == self.total):
            self.last = now
            self.line(detail)

    def _eta(self) -> str:
        if self.done >= self.total:
            return ""
        now = time.monotonic()
        if self.eta is not None:
            left = self.eta(now)
        else:
            rate = (self.done - self.started_at) / (now - self.started) if now > self.started else 0
            left = (self.total - self.done) / rate if rate > 0 else None
        return "" if left is None else f", ETA {left:.0f} s"

    def line(self, detail: str = "") -> None:
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        print(f"{self.what}: {self.unit} {self.done}/{self.total}{share}{', ' + detail if detail else ''}"
              f"{self._eta()}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """A one-off line (a phase starting), kept on screen above a bar."""
        if self.quiet:
            return
        (self.bar.write if self.bar is not None else lambda t: print(t, file=self.stream, flush=True))(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class SuiteEta:
    """Seconds left in a suite's jobs, from the measured rates of its finished jobs.

    A job is predicted as its evaluation overhead plus its training steps at the seconds per step measured on
    finished jobs, each taken from the most alike finished jobs (same family and data set, else same data set,
    else all); a running job counts what is left of its prediction. Between finishes the estimate falls with the
    clock; at a finish it moves only by what the new measurement changes, so on a steady run it never rises by
    more than the jobs' own noise. None until a job has finished.

    jobs: (key, family, dataset, steps) of the jobs to run; workers: how many run at once.
    """

    def __init__(self, jobs: list[tuple[str, str, str, int]], workers: int = 1):
        self.jobs = {key: (family, dataset, steps) for key, family, dataset, steps in jobs}
        self.workers = max(1, workers)
        self.started: dict[str, float] = {}
        self.measured: list[tuple[str, str, int, float, float]] = []  # family, dataset, steps, train s, other s

    def start(self, key: str, now: float) -> None:
        self.started.setdefault(key, now)

    def finish(self, key: str, train_seconds: float | None, seconds: float) -> None:
        """A job ended; a failed one (no training time) is dropped without a measurement."""
        family, dataset, steps = self.jobs.pop(key)
        self.started.pop(key, None)
        if train_seconds is not None:
            self.measured.append((family, dataset, steps, train_seconds, max(seconds - train_seconds, 0.0)))

    def _alike(self, family: str, dataset: str, keep) -> list[tuple]:
        for match in (lambda m: m[:2] == (family, dataset), lambda m: m[1] == dataset, lambda m: True):
            found = [m for m in self.measured if match(m) and keep(m)]
            if found:
                return found
        return []

    def predict(self, family: str, dataset: str, steps: int) -> float | None:
        overheads = self._alike(family, dataset, lambda m: True)
        if not overheads:
            return None
        seconds = sum(m[4] for m in overheads) / len(overheads)
        trained = self._alike(family, dataset, lambda m: m[2] > 0)
        if steps and not trained:
            return None  # no training measured yet: an estimate without it would only rise later
        if steps:
            seconds += steps * sum(m[3] for m in trained) / sum(m[2] for m in trained)
        return seconds

    def remaining(self, now: float) -> float | None:
        left = 0.0
        for key, (family, dataset, steps) in self.jobs.items():
            predicted = self.predict(family, dataset, steps)
            if predicted is None:
                return None
            left += max(predicted - (now - self.started[key]), 0.0) if key in self.started else predicted
        return left / self.workers


@contextlib.contextmanager
def heartbeat(beat, every: float):
    """Call beat() every `every` seconds from a background thread while the body runs (for work that blocks)."""
    stop = threading.Event()

    def loop():
        while not stop.wait(every):
            beat()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
