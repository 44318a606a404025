"""Stop a job between batches when its sweep is stopped (``auglab.process``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L

from auglab.process import Interrupted


class StopCheck(L.Callback):
    """Raises ``Interrupted`` before the next batch once ``reason()`` names one.

    Raising before a batch (not ``trainer.should_stop``) leaves no checkpoint of a half
    epoch: the last epoch checkpoint stays the resumable point, and a rerun continues
    to the same results as a run never stopped.
    """

    def __init__(self, reason: Callable[[], str | None]) -> None:
        self.reason = reason

    def _check(self, *args: Any) -> None:
        why = self.reason()
        if why is not None:
            raise Interrupted(why)

    on_train_batch_start = _check
    on_validation_batch_start = _check
    on_test_batch_start = _check
