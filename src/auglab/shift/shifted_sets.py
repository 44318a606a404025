"""The corruption suite as test sets: which suite (``SuiteSpec``), and each corruption's
images made from a datamodule's test split, or taken from MNIST-C's files where present.

Why a spec: shifted accuracies of two jobs compare only over the same corruptions,
severities and seed, and a rerun of ``auglab.evaluate`` skips a job only when its record
holds results of exactly that suite. Why from the raw test split: MNIST-C corrupts 28x28
digits, so the corruptions run on the images as ``read_split`` gives them and are then
padded as the datamodule pads its test set (E1's 32x32); the released files get the same
padding, and the two sources give images of one form.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from omegaconf import DictConfig, OmegaConf

from auglab.errors import ConfigError
from auglab.resolvers import repo_root
from auglab.shift import mnist_c
from auglab.shift.registry import CORRUPTIONS, Corruption, get

if TYPE_CHECKING:
    from auglab.data import ImageDataModule

#: The suite ``auglab.evaluate`` runs unless told otherwise (``shift=mnist_c`` in a job).
DEFAULT_SUITE = "mnist_c"
GENERATED, FILES, MIXED = "generated", "mnist_c files", "mixed"
Source = Literal["generated", "mnist_c files"]


def suite_config(name: str = DEFAULT_SUITE) -> DictConfig:
    """``conf/shift/<name>.yaml``: the suites a job can run at its end are the ones here."""
    folder = repo_root() / "conf" / "shift"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "none"
        raise ConfigError(f"no corruption suite {name!r} in {folder}: choose from {known}")
    cfg = OmegaConf.load(path)
    assert isinstance(cfg, DictConfig)
    return cfg


@dataclass(frozen=True)
class SuiteSpec:
    """A suite by name, seed and each corruption's severity (resolved: MNIST-C's where the
    config says null), in the order the results are listed."""

    name: str
    seed: int
    severity: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        cfg: Mapping[str, Any] | DictConfig | None = None,
        corruptions: Sequence[str] | None = None,
        severity: int | None = None,
        seed: int | None = None,
    ) -> SuiteSpec:
        """From a ``conf/shift`` config (default: ``mnist_c.yaml``), narrowed to
        ``corruptions``, with every corruption of several levels at ``severity`` and the
        draws seeded by ``seed`` where given. A bad name or severity is a ConfigError."""
        cfg = suite_config() if cfg is None else cfg
        configured = dict(cfg.get("corruptions") or dict.fromkeys(CORRUPTIONS))
        if corruptions is not None:
            for name in corruptions:
                get(name)  # an unknown name is refused here, naming the valid ones
            configured = {name: configured.get(name) for name in corruptions}
        if not configured:
            raise ConfigError("the corruption suite is empty: name at least one corruption")
        resolved = {}
        for name, level in configured.items():
            if severity is not None and len(get(name).levels) > 1:
                level = severity
            corruption = get(name).at(None if level is None else _int(level, f"{name} severity"))
            resolved[name] = corruption.severity or corruption.default
        chosen_seed = cfg.get("seed", 0) if seed is None else seed
        return cls(str(cfg.get("name") or DEFAULT_SUITE), _int(chosen_seed, "shift seed"), resolved)

    def corruptions(self) -> dict[str, Corruption]:
        return {name: get(name).at(level) for name, level in self.severity.items()}

    def done_in(self, results: Mapping[str, Any] | None) -> bool:
        """Whether ``results`` (a record's ``shift``) are of this very suite."""
        return (
            results is not None
            and results.get("suite") == self.name
            and results.get("seed") == self.seed
            and dict(results.get("severity") or {}) == self.severity
        )

    def describe(self) -> str:
        return f"{len(self.severity)} corruptions of {self.name}, seed {self.seed}"


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{what}={value!r} must be a whole number")
    return int(value)


@dataclass(frozen=True)
class ShiftedSet:
    """One corruption's test set, as the datamodule's test split holds images (padded)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    source: Source


class ShiftedSets:
    """Makes (and keeps, across the jobs of a sweep that share a test set) each
    corruption's test set: a sweep's jobs are corrupted once, not once each."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self._key: str | None = None
        self._sets: dict[tuple[str, int, int], ShiftedSet] = {}

    def of(self, datamodule: ImageDataModule, spec: SuiteSpec) -> Iterator[ShiftedSet]:
        """Each corruption of ``spec`` on ``datamodule``'s test split, in the suite's order."""
        raw, labels = datamodule.read_split("test")
        key = _identity(datamodule, raw, labels)
        if key != self._key:
            self._key, self._sets = key, {}
        files = set(release_files(datamodule, raw, spec))
        for name, corruption in spec.corruptions().items():
            slot = (name, spec.severity[name], spec.seed if name not in files else -1)
            found = self._sets.get(slot)
            if found is None:
                if name in files:
                    images, file_labels = mnist_c.load(datamodule.data_dir, name)
                    found = ShiftedSet(name, datamodule.pad(images), file_labels, FILES)
                else:
                    images = corruption(np.ascontiguousarray(raw), seed=spec.seed)
                    found = ShiftedSet(name, datamodule.pad(images), labels, GENERATED)
                if self.keep:
                    self._sets[slot] = found
            yield found


def release_files(datamodule: ImageDataModule, raw: np.ndarray, spec: SuiteSpec) -> list[str]:
    """The corruptions whose released MNIST-C files stand in for generated ones: MNIST's
    28x28 test set only, and only at MNIST-C's own severity (the one the files hold)."""
    if not datamodule.mnist_c_release or raw.shape[1:] != (28, 28, 1):
        return []
    at_release = [n for n, level in spec.severity.items() if level == CORRUPTIONS[n].default]
    return mnist_c.available(Path(datamodule.data_dir), at_release)


def overall_source(sources: Mapping[str, str]) -> str:
    found = set(sources.values())
    return found.pop() if len(found) == 1 else MIXED


def _identity(datamodule: ImageDataModule, raw: np.ndarray, labels: np.ndarray) -> str:
    """The test split's identity: its bytes, its padding and its data dir (for the files)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(raw).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    digest.update(f"{raw.shape}/{datamodule.pad_to}/{datamodule.data_dir}".encode())
    return digest.hexdigest()
