"""One writer per job: a lock file that names its holder and is kept fresh while it trains.

``<job dir>/.lock`` is written whole under a temporary name and then hard-linked to its
name, which fails if the name exists: atomic on a local disk and on NFS (the classic NFS
lock), unlike ``flock``, which NFS clients may not share; a file system without hard
links gets ``O_CREAT | O_EXCL``. The file holds the holder's host, pid, start time and a
random token; a thread touches it every ``HEARTBEAT_S`` seconds. A lock file that holds
nothing readable (its write failed: a full disk) is no holder and is taken over at once. Another process that finds the lock leaves the job alone
while the lock is fresh. A lock is stale, and is taken over with a log line saying so,
when its holder is a dead process on this host (``kill -9``), or when nothing refreshed
it for ``STALE_S`` seconds (a lost node; clocks of the nodes must agree to well within
that, as NTP keeps them). The heartbeat also re-reads the token: a holder whose lock was
taken over (its node was cut off for minutes) learns it and stops writing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
#: ``os.link``'s errors on a file system without hard links.
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}
HEARTBEAT_S = 10.0
STALE_S = 90.0


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, read from its file."""

    host: str
    pid: int
    started: str  # ISO time, the holder's clock
    token: str
    age: float  # seconds since the holder last refreshed the file (this host's clock)

    @property
    def dead(self) -> bool:
        """A process of this host that no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return _zombie(self.pid)

    @property
    def empty(self) -> bool:
        """The file names no holder: its write failed (a full disk) or it was damaged."""
        return self.pid < 0

    @property
    def fresh(self) -> bool:
        return self.age < STALE_S and not self.dead and not self.empty

    def describe(self) -> str:
        return f"{self.host} pid {self.pid} since {self.started[11:19] or self.started}"


def _zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet (a container's init may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def read_holder(path: Path) -> Holder | None:
    """The lock's holder; None when there is no lock (or it vanished while being read)."""
    path = Path(path)
    try:
        text = path.read_text()
        age = time.time() - path.stat().st_mtime
    except OSError:
        return None
    try:
        data = json.loads(text)
        return Holder(
            str(data["host"]), int(data["pid"]), str(data["started"]), str(data["token"]), age
        )
    except (ValueError, KeyError, TypeError):
        # Never half written (``JobLock._create`` links a whole file): a write that failed.
        return Holder("?", -1, "?", "", age)


def job_holder(job_dir: Path) -> Holder | None:
    """The fresh holder of a job dir's lock, if another process is training it now."""
    holder = read_holder(Path(job_dir) / LOCK_FILE)
    return holder if holder is not None and holder.fresh else None


class JobLock:
    """``acquire()`` once; ``release()`` at the end (or use ``held()``)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self.token = secrets.token_hex(8)
        self.lost = threading.Event()  # set when another process took the lock over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> Holder | None:
        """Take the lock: None when taken, else the fresh holder that has it."""
        for _ in range(3):
            if self._create():
                self._start_heartbeat()
                return None
            holder = read_holder(self.path)
            if holder is None:  # released between our two looks: try again
                continue
            if holder.fresh:
                return holder
            if self._set_aside(holder):
                why = (
                    "it names no holder (its write failed)"
                    if holder.empty
                    else "its process is gone"
                    if holder.dead
                    else f"no heartbeat for {holder.age:.0f} s"
                )
                log.warning(
                    "%s: taking over a stale lock of %s (%s)", self.what, holder.describe(), why
                )
        return read_holder(self.path)

    @contextlib.contextmanager
    def held(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the lock for a block, waiting up to ``wait_s`` for a fresh holder to let go."""
        deadline = time.monotonic() + wait_s
        while (holder := self.acquire()) is not None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.what} is locked by {holder.describe()} ({self.path})")
            time.sleep(0.05)
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        holder = read_holder(self.path)
        if holder is not None and holder.token == self.token:
            self.path.unlink(missing_ok=True)

    def _create(self) -> bool:
        """Put a whole lock file at ``path`` unless one is there; a failed write (a full
        disk) raises and leaves no lock file behind."""
        info = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
            "token": self.token,
        }
        text = json.dumps(info) + "\n"
        tmp = self.path.with_name(f"{self.path.name}.new-{self.token}")
        try:
            _write_synced(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644), text)
            os.link(tmp, self.path)
        except FileExistsError:
            return False
        except OSError as err:
            if err.errno not in NO_HARD_LINKS:
                raise
            return self._create_in_place(text)  # no hard links here (FAT, some FUSE mounts)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _create_in_place(self, text: str) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            _write_synced(fd, text)
        except OSError:
            self.path.unlink(missing_ok=True)
            raise
        return True

    def _set_aside(self, stale: Holder) -> bool:
        """Move a stale lock out of the way; False when another process got there first."""
        aside = self.path.with_name(f"{self.path.name}.stale-{self.token}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        taken = read_holder(aside)
        if taken is not None and taken.token != stale.token and taken.fresh:
            # Another process replaced the stale lock between our read and the rename: give
            # its lock back (link fails if yet another one exists: then both are left alone).
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self.lost.clear()
        self._thread = threading.Thread(target=self._beat, name="auglab-lock", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            holder = read_holder(self.path)
            if holder is None or holder.token != self.token:
                log.error("%s: the lock was taken over by another process; stopping", self.what)
                self.lost.set()
                return
            with contextlib.suppress(OSError):
                os.utime(self.path)


def _write_synced(fd: int, text: str) -> None:
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
