"""The job record: the one contract between a run and everything that reads runs.

Every job of a sweep (and every single run) leaves ``metrics.json`` in its
directory, written here and read back here only. The summary, the report, the
sweeper's resume and ``train.py``'s own "already finished?" check read it through
``read_record``; nothing else parses the file. ``status`` says how the job ended:

- ``running``: written when the job starts; left behind by a process that died.
- ``finished``: trained and tested; the metrics are filled in.
- ``failed``: ``stage`` (config, data, fit, test) and the one-line ``error``.
- ``diverged``: the training loss became non-finite or exploded; ``error`` says where.
- ``interrupted``: stopped by Ctrl-C or SIGTERM at a resumable point; a rerun resumes it.

Files are strict JSON (``NaN``/``Infinity`` become ``null``) written atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypedDict

from auglab import atomic
from auglab.errors import ConfigError

RECORD_FILE = "metrics.json"

Status = Literal["running", "finished", "failed", "diverged", "interrupted"]
Stage = Literal["config", "data", "fit", "test"]
STATUSES: tuple[Status, ...] = ("running", "finished", "failed", "diverged", "interrupted")
#: Statuses a rerun of the sweep leaves alone.
DONE: tuple[Status, ...] = ("finished",)

#: Keys written by auglab before the record existed, and the field each became.
_LEGACY_KEYS = {"test/acc": "test_acc", "test/loss": "test_loss", "val/acc_best": "val_acc_best"}


class ShiftResults(TypedDict):
    """``JobRecord.shift``: the tested checkpoint on the corruption suite (``auglab.shift``).

    ``suite``, ``seed`` and ``severity`` (each corruption's, resolved: never None) say which
    suite it was; a rerun of ``auglab.evaluate`` for the same three skips the job.
    ``corruptions``: the names in the suite's order (JSON keys are sorted). ``source`` is
    ``"generated"`` (``auglab.shift.corrupt`` of the test split), ``"mnist_c files"`` (the
    released files, MNIST only) or ``"mixed"``; ``sources`` says which per corruption.
    ``acc``/``loss`` per corruption; ``mean_acc`` their mean, the report's shifted accuracy
    (None if any is missing); ``clean_acc`` the clean test set in the same evaluation (the
    recorded ``test_acc``); ``images`` the clean test images; ``checkpoint`` the one tested.
    """

    suite: str
    seed: int
    corruptions: list[str]
    severity: dict[str, int]
    source: str
    sources: dict[str, str]
    acc: dict[str, float | None]
    loss: dict[str, float | None]
    mean_acc: float | None
    clean_acc: float | None
    images: int
    checkpoint: str


class OtherTest(TypedDict):
    """One entry of ``JobRecord.other_tests``, keyed by its label (``fingers data.path=/x``):
    the tested checkpoint on another dataset's test split of the same shape."""

    dataset: str
    overrides: list[str]
    acc: float | None
    loss: float | None
    images: int
    checkpoint: str


@dataclass
class JobRecord:
    """What one job did. Field names are also the JSON keys and the summary's columns."""

    status: Status
    overrides: list[str] = field(default_factory=list)
    job_num: int | None = None
    seed: int | None = None
    stage: Stage | None = None
    error: str | None = None
    # The composed config's hash (auglab.plan.fingerprint): a record is only ever read back
    # for the config it was made by. None in records written before it existed.
    fingerprint: str | None = None
    # ---- results (finished jobs) ------------------------------------------------------------
    test_acc: float | None = None
    test_loss: float | None = None
    val_acc_best: float | None = None
    # Test accuracy of each class, in class-index order (None: no test image of that class),
    # and the datamodule's class names; both None in records written before they existed.
    test_class_acc: list[float | None] | None = None
    class_names: list[str] | None = None
    # ---- what was trained: the one size number is train_size, real images after subsetting ----
    train_size: int | None = None
    # data.subset_seed: which seeded draw of train_size images it trained on; None: the fixed
    # slices of data.subset. Taken from the overrides where the writer (or an older record)
    # left it out, so the report pairs jobs by (subset_seed, seed) either way.
    subset_seed: int | None = None
    synthetic_size: int | None = None
    samples_per_epoch: int | None = None
    aug: str | None = None
    aug_strength: float | None = None
    # reg=weight_decay|dropout|label_smoothing (conf/reg): a regularisation setting, scaled by
    # reg.strength as aug.strength scales a preset; None in records from before it (no reg).
    reg: str | None = None
    reg_strength: float | None = None
    # data.val_size: the validation images the job chose its epoch on (E1's split: 5,000)
    val_size: int | None = None
    epochs: int | None = None
    optimizer_steps: int | None = None
    train_images_seen: int | None = None
    # ---- how it ran --------------------------------------------------------------------------
    fit_seconds: float | None = None
    train_images_per_second: float | None = None
    threads: int | None = None  # torch threads the job trained with (see `threads` in train.yaml)
    attempts: int = 1
    resumed_from: str | None = None  # "epoch 12 (checkpoints/last.ckpt)"; None: from scratch
    tested_checkpoint: str | None = None
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None
    # ---- evaluations of the tested checkpoint on other test sets (auglab.evaluate) ---------
    # Added after training (or at its end with `shift=mnist_c`), never changing the fields
    # above; None until evaluated. See ShiftResults and OtherTest for their keys.
    shift: ShiftResults | None = None
    other_tests: dict[str, OtherTest] | None = None

    def __post_init__(self) -> None:
        if self.subset_seed is None:
            self.subset_seed = _override_int(self.overrides or [], SUBSET_SEED_OVERRIDE)

    @property
    def draws(self) -> tuple[int | None, int | None]:
        """(subset_seed, seed): two settings' jobs with the same draws trained on the same
        images from the same initial weights, so their difference is the settings' alone."""
        return self.subset_seed, self.seed

    @property
    def ended(self) -> bool:
        return self.status != "running"

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def metric(self, name: str) -> float | None:
        """A recorded metric by its logged name (``val/acc_best``) or field name."""
        key = name.replace("/", "_")
        if key not in METRIC_FIELDS:
            raise KeyError(name)
        return getattr(self, key)

    def failure_line(self) -> str:
        """``job 3 (data.size=0): failed at config: data.size=0 must be positive ...``."""
        where = f"job {self.job_num}" if self.job_num is not None else "run"
        shown = " ".join(o for o in self.overrides if not o.startswith("hydra."))
        label = f"{where} ({shown})" if shown else where
        if self.status == "diverged" and self.error:
            return f"{label}: {self.error}"  # "diverged at epoch E step S (loss nan): ..."
        stage = f" at {self.stage}" if self.stage else ""
        return f"{label}: {self.status}{stage}: {self.error or 'no reason recorded'}"


#: The override that sets ``JobRecord.subset_seed``.
SUBSET_SEED_OVERRIDE = "data.subset_seed"

#: The logged name of one class's test accuracy (``test/class_acc/3``): the classifier logs
#: it, ``train.py`` reads it back from ``trainer.test`` into ``JobRecord.test_class_acc``.
CLASS_ACC_METRIC = "test/class_acc/{}"

#: Float results a sweep can optimise or a summary can show, by logged name.
METRIC_FIELDS = ("test_acc", "test_loss", "val_acc_best")
METRIC_NAMES = tuple(f.replace("_", "/", 1) for f in METRIC_FIELDS)
_FIELDS = {f.name for f in fields(JobRecord)}


def selection_metric(metric: str | None) -> str | None:
    """The recorded validation metric to tune on (``val/acc_best``); None for no tuning.

    A test metric is refused: choosing a learning rate on the test set makes the
    test accuracy of the choice an optimistic estimate (Brigato et al. 2022 tune
    every baseline on validation data for this reason).
    """
    if metric is None or str(metric).lower() in ("", "none", "null"):
        return None
    name = str(metric) if "/" in str(metric) else str(metric).replace("_", "/", 1)
    if name not in METRIC_NAMES:
        raise ConfigError(f"select={metric!r} is not a recorded metric: use val/acc_best (or none)")
    if not name.startswith("val/"):
        raise ConfigError(
            f"select={metric!r} would choose on the test set: use val/acc_best, "
            "so the test accuracy of each choice stays unbiased"
        )
    return name


def write_record(record: JobRecord, job_dir: Path) -> Path:
    """Atomically (temporary file, then rename): a reader never sees half a record."""
    data = {k: _finite(v) for k, v in asdict(record).items()}
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic.write_text(Path(job_dir) / RECORD_FILE, text)


def read_record(job_dir: Path) -> JobRecord | None:
    """The record in ``job_dir``; None when there is none or it cannot be read."""
    path = Path(job_dir) / RECORD_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    for old, new in _LEGACY_KEYS.items():
        if old in data:
            data.setdefault(new, data.pop(old))
    data.setdefault("status", "finished")  # files from before statuses were finished runs
    if data["status"] not in STATUSES:
        return None
    return JobRecord(**{k: v for k, v in data.items() if k in _FIELDS})


def sweep_records(sweep_dir: Path) -> Iterator[tuple[Path, JobRecord]]:
    """Each job dir directly under ``sweep_dir`` that holds a record, in job order."""
    found = []
    for path in Path(sweep_dir).glob(f"*/{RECORD_FILE}"):
        record = read_record(path.parent)
        if record is not None:
            found.append((path.parent, record))
    found.sort(key=lambda item: (item[1].job_num is None, item[1].job_num or 0, item[0].name))
    yield from found


def _override_int(overrides: list[str], key: str) -> int | None:
    """The whole number ``key=N`` (or ``+key=N``) in ``overrides`` sets; None if none does."""
    for override in overrides:
        name, _, value = str(override).partition("=")
        if name.lstrip("+~") == key:
            try:
                return int(value)
            except ValueError:
                return None  # null, or a value the job refused
    return None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):  # per-class accuracies: a class absent from the test set is NaN
        return [_finite(v) for v in value]
    if isinstance(value, dict):  # shift and other test results
        return {k: _finite(v) for k, v in value.items()}
    return value
