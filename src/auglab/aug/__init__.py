"""Augmentation presets are data (``conf/aug/*.yaml``); this turns one into a pipeline."""

from auglab.aug.pipeline import build_augmentation, preset_name

__all__ = ["build_augmentation", "preset_name"]
