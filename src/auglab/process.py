"""How this process stops and ends, decided here alone: signals, the sweep's stop file,
exit statuses, the one-line ends (interrupted, failed jobs, a full disk) and the quick exit.

Ctrl-C and SIGTERM stop a sweep at a resumable point, whatever runs its jobs. The sweep's
process catches the first signal, says how it stops, and writes a stop file in the sweep
dir; each job (in this process, a joblib worker, a submitit or SLURM job on another node)
polls that file between batches, and also catches the signal itself when it reaches it
(Ctrl-C reaches the whole process group). A job that sees either stops before its next
batch: its last epoch checkpoint is where a rerun resumes. A second signal ends the
process at once. A job that finds the disk full writes the same file, so the whole sweep
stops rather than failing job after job.

The stop file is named by a token the sweeper hands each job through
``hydra.job.env_set`` (``AUGLAB_STOP``), so stopping one sweep never stops another sweep
that shares its directory. The token starts with the sweep process's host and pid: the
end-of-sweep callback, in the same process, reads from its stop file how the sweep ended.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from auglab.ddp import rank
from auglab.errors import root_cause
from auglab.slurm import requeue_signal, under_submitit
from auglab.wandb_runs import finish_wandb

if TYPE_CHECKING:
    from auglab.record import JobRecord

log = logging.getLogger(__name__)

STOP_ENV = "AUGLAB_STOP"
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How often a job looks for the stop file (a stat per call at most this often).
POLL_S = 0.5
#: What a job writes into the sweep's stop file when the disk is full or unwritable.
DISK_STOP = "disk"
#: Errors that mean "this dir cannot be written now": the fix is the user's, not a rerun's.
DISK_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}


def stop_file(sweep_dir: Path, token: str) -> Path:
    return Path(sweep_dir) / f".stop-{token}"


def exit_status(signum: int) -> int:
    """The shell's status for a process ended by ``signum``: 130 for Ctrl-C, 143 for TERM."""
    return 128 + int(signum)


def end_now(status: int, flush: bool = True) -> NoReturn:
    """End the process without Python's own teardown (the one ``os._exit``). ``flush``:
    logs and the standard streams first (not from a signal handler, which may have
    interrupted a write)."""
    if flush:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


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
            end_now(exit_status(signum), flush=False)
        self.signum = signum
        self.on_first(signum)
        previous = self._previous.get(signum)
        # A job run in the sweep's own process (basic launcher) tells the sweep too.
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)


def _this_process() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class SweepStop:
    """The sweep's side: ``with SweepStop(sweep_dir).installed() as stop:`` around launching."""

    def __init__(self, sweep_dir: Path) -> None:
        self.token = f"{_this_process()}-{secrets.token_hex(4)}"
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
        """A signal stopped the sweep, or a job found the disk full."""
        return self._signals.signum is not None or self.path.exists()

    @property
    def disk_full(self) -> str | None:
        """Why a job stopped the sweep: the disk is full or the dir unwritable (None: not).
        Only a job on a full disk leaves the file empty (its write failed); a signal's name is
        written by this process, which knows its own signal anyway."""
        if self._signals.signum is not None:
            return None
        said = _read(self.path)
        if said == "":  # a job made the file but had no room to write why
            return DISK_ERRNOS[errno.ENOSPC]
        return said.partition(": ")[2] or "unknown" if said and said.startswith(DISK_STOP) else None

    def _request(self, signum: int) -> None:
        name = signal.Signals(signum).name
        print(
            f"\nauglab: {name}: stopping every job at its next batch (press Ctrl-C again to "
            "stop at once)",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(OSError):
            self.path.write_text(name)

    @contextlib.contextmanager
    def installed(self) -> Iterator[SweepStop]:
        """The stop file outlives the block when a signal stopped the sweep: the sweep's end
        (``stopped_by``) reads it in this process."""
        self.path.unlink(missing_ok=True)
        self._signals.install()
        try:
            yield self
        finally:
            if self._signals.signum is None:  # once stopping, a second signal means "at once"
                self._signals.restore()
                self.path.unlink(missing_ok=True)


def stopped_by(sweep_dir: Path) -> int | None:
    """The signal that stopped this process's sweep in ``sweep_dir`` (its stop file, which
    this removes), or None when it was not stopped."""
    signum = None
    for path in Path(sweep_dir).glob(f".stop-{_this_process()}-*"):
        # Left only by a signal (``SweepStop.installed``); its name may have been written
        # over by a job that found the disk full, or not written for want of room.
        name = _read(path) or ""
        members = signal.Signals.__members__
        signum = members[name].value if name in members else signal.SIGINT.value
        path.unlink(missing_ok=True)
    return signum


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


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
        #: submitit's requeue handler, called by ``auglab.guard`` once the job stopped.
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

    def stop_sweep_for_disk(self, problem: str) -> None:
        """This job found the disk full: every other job of its sweep stops too, and the
        sweep ends with one line (``SweepStop.disk_full``)."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.write_text(f"{DISK_STOP}: {problem}")

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


# ---- the one-line ends ------------------------------------------------------------------------


def disk_problem(err: BaseException) -> str | None:
    """What makes ``err`` a full or unwritable disk ("no space left on device"), or None.

    The error may be wrapped (Lightning, Hydra) or, from torch's writer, only a message."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_ERRNOS:
            where = f" ({seen.filename})" if seen.filename else ""
            return f"{DISK_ERRNOS[seen.errno]}{where}"
        seen = seen.__cause__ or seen.__context__
    text = str(root_cause(err))
    return next((what for what in DISK_ERRNOS.values() if what in text.lower()), None)


#: What a sweep stopped by a full disk does once there is room.
RERUN_SWEEP = (
    "rerun the same command (finished jobs are skipped, stopped ones resume from their "
    "last checkpoint)"
)


def exit_disk_full(problem: str, then: str = RERUN_SWEEP) -> NoReturn:
    """The end of a run or a sweep on a full or unwritable disk: one line, cause and fix."""
    raise SystemExit(
        f"auglab: error: cannot write the output dir: {problem}. Make room (or set "
        f"hydra.sweep.dir or hydra.run.dir to a writable disk with room), then {then}"
    )


def exit_error(line: str) -> NoReturn:
    """The end of a run on an error the user fixes: ``auglab: error: <line>``, status 1."""
    raise SystemExit(f"auglab: error: {line}")


def exit_run_interrupted(signum: int | None, command: str) -> NoReturn:
    """The end of a single run stopped at a resumable point: the command that continues it."""
    print(f"auglab: interrupted; to continue, run: {command}", file=sys.stderr, flush=True)
    sys.exit(exit_status(signum or signal.SIGINT))


def exit_interrupted(signum: int, command: str) -> NoReturn:
    """The end of a sweep stopped by ``signum``: one line, the signal's exit status."""
    print(
        f"auglab: interrupted; every job stopped at its last checkpoint. To continue, "
        f"rerun the same command: {command}",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(exit_status(signum))


def exit_with_failures(records: Sequence[JobRecord]) -> NoReturn:
    """The end of a sweep some of whose jobs did not finish: a line each, status 1."""
    lines = [f"auglab: {r.failure_line()}" for r in records]
    lines.append(
        f"auglab: error: {len(records)} of the sweep's jobs did not finish; rerun the same "
        "command with the same hydra.sweep.dir to run them again (finished jobs are skipped)"
    )
    print("\n".join(lines), file=sys.stderr, flush=True)
    sys.exit(1)


# ---- the quick exit ---------------------------------------------------------------------------


class Ending:
    """How the process ends once its Hydra main returns; handed to the job explicitly."""

    def __init__(self) -> None:
        #: A multi-process DDP run: its other processes must never be cut short.
        self.other_ranks = False


def cli(main: Callable[[], Any], ending: Ending) -> NoReturn:
    """Run a Hydra main, then end the process at once.

    With torch and Lightning loaded, Python's own teardown takes about 1.3 s
    (``bench/startup.py``). Once the task has returned (or exited with a status), its
    files are written: the W&B service finishes writing, every log is flushed, and the
    process ends. Two cases end the usual way: a multi-process DDP run, so its other
    processes are never cut short, and a process whose worker processes are still alive
    (a joblib sweep's), which Python's exit shuts down cleanly (they hold the streams).
    """
    try:
        main()
        status: int | str | None = 0
    except SystemExit as stop:
        status = stop.code
    if ending.other_ranks or multiprocessing.active_children():
        sys.exit(status)
    finish_wandb(teardown=True)
    if isinstance(status, str):  # what sys.exit("message") prints
        print(status, file=sys.stderr)
        status = 1
    end_now(status or 0)
