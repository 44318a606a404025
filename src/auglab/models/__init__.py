"""One LightningModule for every experiment; networks are plain ``nn.Module`` s in ``nets``."""

from auglab.models.classifier import ImageClassifier

__all__ = ["ImageClassifier"]
