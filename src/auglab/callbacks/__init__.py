"""auglab's own Lightning callbacks: throughput timing, an epoch-counting progress bar,
pictures, and what makes a job stop (divergence, a stopped sweep) and resume exactly."""

from auglab.callbacks.pictures import RunPictures
from auglab.callbacks.progress import EpochLogLine, EpochProgressBar
from auglab.callbacks.resume import DivergenceGuard, RngCheckpoint
from auglab.callbacks.stop import StopCheck
from auglab.callbacks.timing import TrainTimer

__all__ = [
    "DivergenceGuard",
    "EpochLogLine",
    "EpochProgressBar",
    "RngCheckpoint",
    "RunPictures",
    "StopCheck",
    "TrainTimer",
]
