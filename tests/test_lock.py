"""One writer per job: the lock names its holder, refuses a second process while fresh,
and is taken over once its holder is dead or silent."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

from auglab import lock as lock_module
from auglab.lock import JobLock, read_holder


def test_a_held_lock_names_its_holder_and_refuses_another(tmp_path):
    path = tmp_path / ".lock"
    first, second = JobLock(path, "job 0"), JobLock(path, "job 0")
    assert first.acquire() is None
    holder = second.acquire()
    assert holder is not None and holder.pid == os.getpid() and holder.fresh
    assert "pid" in holder.describe()
    first.release()
    assert not path.exists()
    assert second.acquire() is None
    second.release()


def test_a_lock_left_by_a_sigkilled_holder_is_taken_over(tmp_path, caplog):
    path = tmp_path / ".lock"
    code = (
        "import sys, time; from auglab.lock import JobLock\n"
        f"assert JobLock({str(path)!r}, 'job 0').acquire() is None\n"
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert JobLock(path, "job 0").acquire() is not None  # alive: refused
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    taker = JobLock(path, "job 0")
    with caplog.at_level(logging.WARNING, logger="auglab.lock"):
        assert taker.acquire() is None
    assert "taking over a stale lock" in caplog.text and "its process is gone" in caplog.text
    assert read_holder(path).token == taker.token
    taker.release()


def test_a_lock_of_another_host_is_stale_only_once_its_heartbeat_stops(tmp_path):
    path = tmp_path / ".lock"
    path.write_text(json.dumps({"host": "node7", "pid": 1, "started": "x", "token": "t"}))
    assert JobLock(path, "job 0").acquire().host == "node7"  # fresh: left alone
    old = time.time() - lock_module.STALE_S - 5
    os.utime(path, (old, old))
    taker = JobLock(path, "job 0")
    assert taker.acquire() is None
    taker.release()


def test_the_heartbeat_keeps_the_lock_fresh_and_notices_a_takeover(tmp_path, monkeypatch):
    monkeypatch.setattr(lock_module, "HEARTBEAT_S", 0.05)
    path = tmp_path / ".lock"
    held = JobLock(path, "job 0")
    assert held.acquire() is None
    old = time.time() - 1000
    os.utime(path, (old, old))
    time.sleep(0.3)
    assert read_holder(path).age < 5  # refreshed
    path.write_text(json.dumps({"host": "h", "pid": 1, "started": "x", "token": "other"}))
    assert held.lost.wait(2)
    held.release()
    assert read_holder(path).token == "other"  # another's lock is never removed


def test_a_lock_file_that_holds_nothing_is_no_holder_and_is_taken_over_at_once(tmp_path, caplog):
    """What a full disk leaves: the file made, its write failed (empty or cut short)."""
    path = tmp_path / ".lock"
    for left in ("", '{"host": "vm", "pi'):
        path.write_text(left)  # just written: as fresh as a file can be
        holder = read_holder(path)
        assert holder is not None and holder.empty and not holder.fresh
        assert lock_module.job_holder(tmp_path) is None  # the sweeper runs the job
        taker = JobLock(path, "job 1")
        with caplog.at_level(logging.WARNING, logger="auglab.lock"):
            assert taker.acquire() is None
        assert "it names no holder (its write failed)" in caplog.text
        assert read_holder(path).token == taker.token
        taker.release()
        assert not path.exists()


def test_a_lock_whose_write_fails_leaves_no_lock_file(tmp_path, monkeypatch):
    import errno

    def full(fd, text):
        os.close(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock_module, "_write_synced", full)
    path = tmp_path / ".lock"
    try:
        JobLock(path, "job 1").acquire()
    except OSError as err:
        assert err.errno == errno.ENOSPC
    else:
        raise AssertionError("a failed write must not be taken for a held lock")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock, no temporary file


def test_a_lock_is_made_whole_where_hard_links_are_refused(tmp_path, monkeypatch):
    import errno

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(lock_module.os, "link", no_links)
    path = tmp_path / ".lock"
    first = JobLock(path, "job 0")
    assert first.acquire() is None
    assert read_holder(path).token == first.token
    assert JobLock(path, "job 0").acquire().token == first.token  # refused while held
    first.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
