"""What a long command needs around its work: a lock on its output folder, and progress a person can see.

- `folder_lock(path)`: an exclusive lock (fcntl) on OUT/.gan-zoo.lock for as long as a command writes into OUT, so
  two runs into one folder never overwrite each other; the second is refused with the first one's pid. The
  kernel drops the lock when its holder dies, however it dies, so a killed run never leaves a stale lock.
- `Progress`: a live bar on a terminal (tqdm), periodic plain lines when stderr is not a terminal (a pipe, a
  log file, CI), nothing with --quiet.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
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
    """Steps of one task: a tqdm bar on a terminal, a plain line every `every` seconds otherwise."""

    def __init__(self, what: str, total: int, *, initial: int = 0, quiet: bool = False, every: float = 10.0,
                 unit: str = "step", stream=None):
        self.what, self.total, self.done, self.unit = what, total, initial, unit
        self.stream = stream or sys.stderr
        self.quiet, self.every = quiet, every
        self.terminal = not quiet and self.stream.isatty()
        self.bar = tqdm(total=total, initial=initial, desc=what, unit=unit, leave=False, file=self.stream,
                        dynamic_ncols=True) if self.terminal else None
        self.started = self.last = time.monotonic()
        self.started_at = initial

    def update(self, done: int, detail: str = "") -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
            if detail:
                self.bar.set_postfix_str(detail, refresh=False)
        self.done = done
        now = time.monotonic()
        if not self.terminal and not self.quiet and (now - self.last >= self.every or done == self.total):
            self.last = now
            self.line(detail)

    def line(self, detail: str = "") -> None:
        elapsed = time.monotonic() - self.started
        rate = (self.done - self.started_at) / elapsed if elapsed > 0 else 0
        eta = f", ETA {(self.total - self.done) / rate:.0f} s" if rate > 0 and self.done < self.total else ""
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        print(f"{self.what}: {self.unit} {self.done}/{self.total}{share}{', ' + detail if detail else ''}"
              f"{eta}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """A one-off line (a phase starting), kept on screen above a bar."""
        if self.quiet:
            return
        (self.bar.write if self.bar is not None else lambda t: print(t, file=self.stream, flush=True))(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
