"""The entry: ``python train.py [overrides]``, ``python -m auglab.train`` or ``auglab-train``.

The Hydra task hands the config to ``auglab.guard.run``, which wraps the train task
(``auglab.job.train``: build, fit, test) in the job dir's guard: lock, one config, record.
Every job leaves one record (``auglab.record``); ``auglab.process`` decides how the
process stops and ends. Only this light half is imported up front: Lightning and torch
load when a job trains, so a sweep's parent process and a skipped job start in a
fraction of a second.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from auglab import guard
from auglab.process import Ending
from auglab.process import cli as run_and_end
from auglab.resolvers import repo_root

#: How this process ends, handed explicitly to the job (read by ``cli`` alone).
_ending = Ending()


@hydra.main(version_base="1.3", config_path=str(repo_root() / "conf"), config_name="train")
def main(cfg: DictConfig) -> float:
    """Returns ``optimized_metric`` (validation by default) for sweepers; NaN for a failed job."""
    return guard.run(cfg, entry=__file__, ending=_ending)


def cli() -> None:
    run_and_end(main, _ending)


if __name__ == "__main__":
    cli()
