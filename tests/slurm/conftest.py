"""A real SLURM cluster on this machine (scripts/slurm_cluster.sh), started once if needed.

Only when asked (``pytest --slurm`` or ``AUGLAB_SLURM=1``, as .ci/run does): starting one
installs SLURM and MariaDB and leaves daemons running, which a plain ``pytest`` must not do;
unasked, the SLURM tests skip with one line. Where the machine cannot run one (no root or
apt), they skip with the script's one-line reason; with ``AUGLAB_SLURM_REQUIRED=1`` (set by
.ci/run) they fail instead.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "scripts" / "slurm_cluster.sh"
STATE = Path(os.environ.get("AUGLAB_SLURM_DIR", "/tmp/auglab-slurm"))


def _up(conf: Path) -> bool:
    if not conf.is_file():
        return False
    env = dict(os.environ, SLURM_CONF=str(conf))
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(s in out.stdout for s in ("idle", "mix", "alloc"))


NOT_ASKED = (
    "SLURM tests not asked for: run `pytest --slurm` (or AUGLAB_SLURM=1) to start a local "
    "cluster with scripts/slurm_cluster.sh (root and apt) and run them"
)


@pytest.fixture(scope="session")
def slurm_conf() -> Path:
    """The running cluster's slurm.conf: one already up, or one this fixture starts."""
    conf = Path(os.environ.get("SLURM_CONF", STATE / "slurm.conf"))
    if _up(conf):
        return conf
    with open(f"{STATE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one start, whichever test worker comes first
        if not _up(STATE / "slurm.conf"):
            proc = subprocess.run(
                ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600
            )
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            if proc.returncode == 3 and os.environ.get("AUGLAB_SLURM_REQUIRED") != "1":
                pytest.skip(f"no SLURM cluster: {reason}")
            assert proc.returncode == 0, f"scripts/slurm_cluster.sh start failed: {reason}"
    return STATE / "slurm.conf"


@pytest.fixture
def slurm_env(run_env, slurm_conf) -> dict[str, str]:
    """``run_env`` for jobs submitted to the cluster."""
    return dict(run_env, SLURM_CONF=str(slurm_conf))
