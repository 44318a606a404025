"""Stop requests: the first signal asks, a second ends the process at once; a job sees a
sweep's stop file, and only its own sweep's."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import textwrap

from auglab.process import STOP_ENV, JobStop, SweepStop, exit_status, stopped_by


def test_the_first_signal_asks_and_a_second_stops_the_process_at_once(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from auglab.process import SweepStop
        stop = SweepStop(Path({str(tmp_path)!r}))
        with stop.installed():
            print("ready", flush=True)
            while not stop.requested:
                time.sleep(0.01)
            print("asked", stop.path.exists(), flush=True)
            time.sleep(30)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline().strip() == "asked True"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == exit_status(signal.SIGINT) == 130
    assert "stopping every job at its next batch" in err and "stopped at once" in err
    assert "Traceback" not in err


def test_a_job_sees_its_own_sweeps_stop_file_only(tmp_path, monkeypatch):
    sweep = SweepStop(tmp_path)
    other = SweepStop(tmp_path)
    monkeypatch.setenv(STOP_ENV, sweep.token)
    job = JobStop(tmp_path)
    assert job.reason() is None
    other.path.touch()
    job._next_poll = 0.0
    assert job.reason() is None
    sweep.path.touch()
    job._next_poll = 0.0
    assert job.reason() == "the sweep was stopped"
    assert job.signum == signal.SIGINT


def test_a_job_stop_pickles_to_its_stop_file_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(STOP_ENV, "abc")
    job = JobStop(tmp_path)
    copy = pickle.loads(pickle.dumps(job))  # what ddp_spawn sends its processes
    assert copy.path == job.path and copy.lost is None
    job.path.touch()
    assert copy.reason() == "the sweep was stopped"


def test_submitits_requeue_signal_stops_the_job_first_and_requeues_after(monkeypatch):
    """Under submitit the preemption signal only asks the job to stop; submitit's handler
    (requeue and exit) runs when auglab.guard calls it, after the record is written."""
    import os

    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    calls = []
    submitits = signal.signal(signal.SIGUSR2, lambda signum, frame: calls.append(signum))
    try:
        stop = JobStop(None)
        with stop.requeue_deferred():
            assert stop.reason() is None
            os.kill(os.getpid(), signal.SIGUSR2)
            assert calls == [] and "submitit requeues it" in stop.reason()
        stop.requeue()
        assert calls == [signal.SIGUSR2]
        os.kill(os.getpid(), signal.SIGUSR2)  # submitit's handler is back in place
        assert calls == [signal.SIGUSR2] * 2
    finally:
        signal.signal(signal.SIGUSR2, submitits)


def test_outside_submitit_the_requeue_signal_is_left_alone(monkeypatch):
    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    before = signal.getsignal(signal.SIGUSR2)
    with JobStop(None).requeue_deferred():
        assert signal.getsignal(signal.SIGUSR2) is before


def test_the_sweeps_end_reads_how_its_own_sweep_stopped_from_the_stop_file(tmp_path):
    """No module global: the stop file this process left says which signal stopped it."""
    stop = SweepStop(tmp_path)
    with stop.installed():
        stop._signals._handle(signal.SIGTERM, None)  # the first SIGTERM
        stop._signals.restore()
    (tmp_path / ".stop-othernode-1-abcd").write_text("SIGINT")  # another sweep's
    assert stopped_by(tmp_path) == signal.SIGTERM
    assert not stop.path.exists() and (tmp_path / ".stop-othernode-1-abcd").exists()
    assert stopped_by(tmp_path) is None
    with SweepStop(tmp_path).installed():
        pass  # not stopped: no file left behind
    assert stopped_by(tmp_path) is None


def test_a_job_that_finds_the_disk_full_stops_its_whole_sweep(tmp_path, monkeypatch):
    sweep = SweepStop(tmp_path)
    monkeypatch.setenv(STOP_ENV, sweep.token)
    job, other = JobStop(tmp_path), JobStop(tmp_path)
    with sweep.installed():
        assert not sweep.requested and sweep.disk_full is None
        job.stop_sweep_for_disk("no space left on device (/s/1/last.ckpt)")
        assert sweep.requested
        assert sweep.disk_full == "no space left on device (/s/1/last.ckpt)"
        assert other.reason() == "the sweep was stopped"  # the next batch of every job
    assert not sweep.path.exists()  # the sweeper says the line; no file is left


def test_a_stop_file_left_empty_for_want_of_room_is_a_full_disk(tmp_path, monkeypatch):
    sweep = SweepStop(tmp_path)
    monkeypatch.setenv(STOP_ENV, sweep.token)
    with sweep.installed():
        sweep.path.write_text("")  # the job made the file; writing why failed (no room)
        assert sweep.requested
        assert sweep.disk_full == "no space left on device"
