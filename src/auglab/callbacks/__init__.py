"""auglab's own Lightning callbacks: throughput timing, an epoch-counting progress bar, pictures."""

from auglab.callbacks.pictures import RunPictures
from auglab.callbacks.progress import EpochProgressBar
from auglab.callbacks.timing import TrainTimer

__all__ = ["EpochProgressBar", "RunPictures", "TrainTimer"]
