"""What a user reads on the console while a job runs: one line per event.

Lightning adds its own ``INFO: ...`` handler (on stderr) to the ``lightning`` logger at
import, on top of the timestamped console handler Hydra gives the root logger (on
stdout), so each of its lines printed twice; it advertises a cloud logger (the "💡 Tip")
at every Trainer start; and it hints at ``srun`` on any machine where SLURM is installed,
even outside a SLURM job, where the hint cannot apply. ``quiet_console`` is called in
each process that runs a job, once Lightning is imported (a joblib worker never imports
``train.py``: the task arrives pickled).

Lightning's lines stay on stderr, where they always were (a SLURM task's ``*_log.err``
holds DDP's start-up lines), now in the root's timestamped format; the root's console
handler leaves them to it, and the job's log file (``train.log``) still gets them.
"""

from __future__ import annotations

import logging
import os
import warnings

#: Lightning's advertisement, logged through its rank-zero logger at every Trainer start.
TIP_PREFIX = "💡 Tip"
#: Lightning's hint, given wherever ``srun`` exists; it applies only inside a SLURM job.
SRUN_HINT = r"The `srun` command is available on your system but is not used"


def _not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(TIP_PREFIX)


def _not_lightning(record: logging.LogRecord) -> bool:
    """For the root's console: Lightning's own handler prints these lines already."""
    return not (record.name == "lightning" or record.name.startswith("lightning."))


def quiet_console() -> None:
    """One line per Lightning event, no tip, the ``srun`` hint only inside a SLURM job, and
    no "--- Logging error ---" traceback per line when ``train.log`` cannot be written (a
    full disk: the job's end says so in one line). Idempotent: jobs run one after another
    in the same process call it again."""
    logging.raiseExceptions = False
    root_consoles = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    lightning = logging.getLogger("lightning").handlers
    if root_consoles and lightning:
        for handler in lightning:
            handler.setFormatter(root_consoles[0].formatter)
        for handler in root_consoles:
            if _not_lightning not in handler.filters:
                handler.addFilter(_not_lightning)
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if _not_a_tip not in rank_zero.filters:
        rank_zero.addFilter(_not_a_tip)
    if "SLURM_JOB_ID" not in os.environ:
        warnings.filterwarnings("ignore", message=SRUN_HINT)
