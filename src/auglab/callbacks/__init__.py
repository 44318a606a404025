"""Lightning callbacks that auglab adds to every run."""

from auglab.callbacks.timing import TrainTimer

__all__ = ["TrainTimer"]
