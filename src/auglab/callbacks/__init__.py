"""auglab's own Lightning callbacks: throughput timing and an epoch-counting progress bar."""

from auglab.callbacks.progress import EpochProgressBar
from auglab.callbacks.timing import TrainTimer

__all__ = ["EpochProgressBar", "TrainTimer"]
