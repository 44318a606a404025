"""Ctrl-C and SIGTERM stop a sweep at a resumable point, whatever runs its jobs.

The sweep's process catches the first signal, says how it stops, and creates a stop
file in the sweep dir; each job (in this process, a joblib worker, a submitit or SLURM
job on another node) polls that file between batches, and also catches the signal
itself when it reaches it (Ctrl-C reaches the whole process group). A job that sees
either stops before its next batch: its last epoch checkpoint is where a rerun resumes.
A second signal ends the process at once.

The stop file is named by a token the sweeper hands each job through
``hydra.job.env_set`` (``AUGLAB_STOP``), so stopping one sweep never stops another
sweep that shares its directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

STOP_ENV = "AUGLAB_STOP"
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How often a job looks for the stop file (a stat per call at most this often).
POLL_S = 0.5


def stop_file(sweep_dir: Path, token: str) -> Path:
    return Path(sweep_dir) / f".stop-{token}"


def exit_status(signum: int) -> int:
    """The shell's status for a process ended by ``signum``: 130 for Ctrl-C, 143 for TERM."""
    return 128 + int(signum)


class _Signals:
    """The first SIGINT/SIGTERM calls ``on_first``; a second ends the process at once."""

    def __init__(
        self, on_first: Callable[[int], None], at_once: str, idle_ignores_sigint: bool = False
    ) -> None:
        self.on_first = on_first
        self.at_once = at_once
        self.idle_ignores_sigint = idle_ignores_sigint
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            idle = self.idle_ignores_sigint and handler is signal.default_int_handler
            if sig == signal.SIGINT and idle:
                # A sweep's worker process between jobs: Ctrl-C is the sweep's to handle;
                # a KeyboardInterrupt here would only kill the idle worker mid-cleanup.
                handler = signal.SIG_IGN
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            print(self.at_once, file=sys.stderr, flush=True)
            os._exit(exit_status(signum))
        self.signum = signum
        self.on_first(signum)
        previous = self._previous.get(signum)
        # A job run in the sweep's own process (basic launcher) tells the sweep too.
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)


class SweepStop:
    """The sweep's side: ``with SweepStop(sweep_dir).installed() as stop:`` around launching."""

    def __init__(self, sweep_dir: Path) -> None:
        self.token = secrets.token_hex(6)
        self.path = stop_file(sweep_dir, self.token)
        self._signals = _Signals(
            self._request,
            "auglab: stopped at once; rerun the same command to continue from each job's "
            "last checkpoint",
        )

    @property
    def signum(self) -> int | None:
        return self._signals.signum

    @property
    def requested(self) -> bool:
        return self._signals.signum is not None

    def _request(self, signum: int) -> None:
        name = signal.Signals(signum).name
        print(
            f"\nauglab: {name}: stopping every job at its next batch (press Ctrl-C again to "
            "stop at once)",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(OSError):
            self.path.touch()

    @contextlib.contextmanager
    def installed(self) -> Iterator[SweepStop]:
        self.path.unlink(missing_ok=True)
        self._signals.install()
        try:
            yield self
        finally:
            if not self.requested:  # once stopping, a second signal still means "at once"
                self._signals.restore()
            self.path.unlink(missing_ok=True)


class JobStop:
    """A job's side: ``reason()`` says why it must stop now (None: go on)."""

    def __init__(self, sweep_dir: Path | None, lost: threading.Event | None = None) -> None:
        token = os.environ.get(STOP_ENV)
        self.path = stop_file(sweep_dir, token) if sweep_dir is not None and token else None
        self.lost = lost
        self._signals = _Signals(
            lambda signum: None,
            "auglab: stopped at once",
            idle_ignores_sigint=self.path is not None,
        )
        self._next_poll = 0.0
        self._seen = False
        #: submitit's requeue handler, called by ``auglab.lifecycle`` once the job stopped.
        self.requeue: Callable[[], None] | None = None

    def reason(self) -> str | None:
        if self.requeue is not None:
            return "SLURM preempted it or its time limit is near; submitit requeues it"
        if self._signals.signum is not None:
            return signal.Signals(self._signals.signum).name
        if self.lost is not None and self.lost.is_set():
            return "its lock was taken over by another process"
        if self.path is not None and not self._seen:
            now = time.monotonic()
            if now >= self._next_poll:
                self._next_poll = now + POLL_S
                self._seen = self.path.exists()
        return "the sweep was stopped" if self._seen else None

    def __getstate__(self) -> dict[str, Any]:
        """Processes a strategy spawns (ddp_spawn) get the stop file only: signals and the
        lock's heartbeat stay with the process that installed them."""
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(None)
        self.path = state["path"]

    @property
    def signum(self) -> int | None:
        if self._signals.signum is not None:
            return self._signals.signum
        return signal.SIGINT if self._seen else None

    @contextlib.contextmanager
    def installed(self) -> Iterator[JobStop]:
        self._signals.install()
        try:
            yield self
        finally:
            self._signals.restore()

    @contextlib.contextmanager
    def requeue_deferred(self) -> Iterator[JobStop]:
        """Under submitit, its preemption signal stops the job between batches like a stop
        request; submitit's handler (requeue, exit) runs after the record is written
        (``auglab.slurm``). Installed for the whole job, imports included: a signal that
        reached submitit's handler there would end the job inside an import."""
        from auglab.runtime import rank
        from auglab.slurm import requeue_signal, under_submitit

        # submitit's handler leaves other ranks alone (DDP): so does this one.
        main = threading.current_thread() is threading.main_thread()
        if not under_submitit() or not main or rank() != 0:
            yield self
            return
        sig = requeue_signal()
        previous = signal.getsignal(sig)
        if not callable(previous):
            yield self
            return

        def deferred(signum: int, frame: FrameType | None) -> None:
            if self.requeue is None:
                log.warning("%s from SLURM: stopping before the next batch", sig.name)
                self.requeue = lambda: previous(signum, None)

        signal.signal(sig, deferred)
        try:
            yield self
        finally:
            signal.signal(sig, previous)


class Interrupted(Exception):
    """Raised between batches when a job must stop; the job is recorded ``interrupted``."""
