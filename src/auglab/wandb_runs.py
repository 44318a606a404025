"""The one place W&B runs end: after each job, and before the process's quick exit.

wandb is never imported here: only a process whose job imported it has a run to finish.
"""

from __future__ import annotations

import sys


def finish_wandb(teardown: bool = False) -> None:
    """Finish this process's W&B run, if any; ``teardown`` (before the quick exit) also
    waits for the W&B service to write the offline run files."""
    wandb = sys.modules.get("wandb")
    if wandb is None:
        return
    if wandb.run is not None:
        wandb.run.finish()
    if teardown:
        wandb.teardown()
