"""DigitsCSVDataModule: E2's 60/20/20 split of Kaggle's train.csv, and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from auglab.aug import build_augmentation
from auglab.data import DigitsCSVDataModule
from auglab.data.digits_csv import read_digits_csv
from auglab.errors import ConfigError
from tests.data.formats import digit_rows, write_digits_csv
from tests.helpers import REPO, train


@pytest.fixture(scope="module")
def kaggle_csv(tmp_path_factory):
    """A full-size 42,000-row train.csv, as Kaggle ships it."""
    path = tmp_path_factory.mktemp("kaggle") / "train.csv"
    images, labels = write_digits_csv(path, 42_000, seed=0)
    return path, images, labels


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "digit-recognizer" / "train.csv"
    images, labels = write_digits_csv(path, 1_000, seed=1)
    return path, images, labels


def loaded(path, **kwargs) -> DigitsCSVDataModule:
    dm = DigitsCSVDataModule(data_dir=path.parent, path=path, **kwargs)
    dm.prepare_data()
    dm.setup()
    return dm


@pytest.mark.slow
def test_42000_rows_split_into_e2s_25200_8400_8400_disjoint_parts(kaggle_csv):
    path, _, _ = kaggle_csv
    dm = loaded(path)
    parts = [digit_rows(s.images) for s in (dm.train_set, dm.val_set, dm.test_set)]
    assert [len(p) for p in parts] == [25_200, 8_400, 8_400]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(42_000))


def test_images_and_labels_are_the_file_rows(small_csv):
    path, images, labels = small_csv
    dm = loaded(path)
    for part in (dm.train_set, dm.val_set, dm.test_set):
        rows = digit_rows(part.images)
        assert np.array_equal(part.images[..., 0], images[rows])
        assert np.array_equal(part.labels.numpy(), labels[rows])


def test_split_is_fixed_by_split_seed_not_by_the_run_seed(small_csv):
    path, _, _ = small_csv
    a, b = loaded(path, seed=1), loaded(path, seed=2)
    c = loaded(path, split_seed=5)
    for part in ("train_set", "val_set", "test_set"):
        assert np.array_equal(
            digit_rows(getattr(a, part).images), digit_rows(getattr(b, part).images)
        )
    assert not np.array_equal(digit_rows(a.test_set.images), digit_rows(c.test_set.images))


def test_training_part_keeps_file_order_and_size_takes_its_first_n(small_csv):
    path, _, _ = small_csv
    full = digit_rows(loaded(path).train_set.images)
    assert np.all(np.diff(full) > 0)
    dm = loaded(path, size=50, subset="first")
    assert np.array_equal(digit_rows(dm.train_set.images), full[:50])


def test_stratified_size_is_class_balanced(small_csv):
    path, _, _ = small_csv
    dm = loaded(path, size=100, subset="stratified")
    assert np.bincount(dm.train_set.labels.numpy(), minlength=10).tolist() == [10] * 10


def test_size_larger_than_the_training_part_is_refused(small_csv):
    path, _, _ = small_csv
    with pytest.raises(ConfigError, match=r"data.size=601 is larger than the 600 training images"):
        loaded(path, size=601)


def test_shapes_and_class_names_flow_out_and_pad_to_32(small_csv):
    path, _, _ = small_csv
    dm = loaded(path)
    assert dm.input_shape == (1, 28, 28)
    assert dm.num_classes == 10 and list(dm.class_names) == [str(d) for d in range(10)]
    assert loaded(path, pad_to=32).input_shape == (1, 32, 32)


def test_only_training_images_are_augmented(small_csv):
    path, _, _ = small_csv
    preset = OmegaConf.load(REPO / "conf" / "aug" / "on.yaml")
    dm = loaded(path, size=32, augment=build_augmentation(preset))
    assert dm.train_set.transform is not None and dm.val_set.transform is None
    x, _ = dm.train_set.__getitems__(list(range(8)))
    assert x.shape == (8, 1, 28, 28)
    assert not np.allclose(x.numpy()[:, 0], dm.train_set.images[:8, ..., 0] / 255)


def test_default_path_is_under_data_dir(small_csv):
    path, _, _ = small_csv
    dm = DigitsCSVDataModule(data_dir=path.parent.parent)
    assert dm.path == path
    dm.setup("test")
    assert len(dm.test_set) == 200


def _mutated(tmp_path, edit) -> object:
    """A 10-row CSV with ``edit(lines)`` applied (lines[0] is the header, line 1 of the file)."""
    path = tmp_path / "train.csv"
    write_digits_csv(path, 10)
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def _set_cell(line: int, column: int, value: str):
    def edit(lines):
        cells = lines[line - 1].split(",")
        cells[column - 1] = value
        lines[line - 1] = ",".join(cells)

    return edit


def _drop_last_cell(line: int):
    def edit(lines):
        lines[line - 1] = lines[line - 1].rsplit(",", 1)[0]

    return edit


def _rename_label(lines):
    lines[0] = lines[0].replace("label", "digit")


def _clear(lines):
    lines.clear()


def _header_only(lines):
    del lines[1:]


def _short_header(lines):
    lines[0] = lines[0].rsplit(",", 1)[0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_rename_label, "has no `label` column"),
        (_drop_last_cell(4), "line 4 has 784 columns, not 785"),
        (_set_cell(3, 10, "256"), "line 3, column 10 (pixel8): 256 is outside 0-255"),
        (_set_cell(5, 2, "-1"), "line 5, column 2 (pixel0): -1 is outside 0-255"),
        (_set_cell(6, 1, "10"), "line 6, column 1 (label): 10 is outside 0-9"),
        (_set_cell(7, 300, "abc"), "line 7, column 300 (pixel298): 'abc' is not a whole number"),
        (_set_cell(8, 20, ""), "line 8, column 20 (pixel18): '' is not a whole number"),
        (_clear, "is empty"),
        (_header_only, "has a header but no rows"),
        (_short_header, "has 784 columns in its header, not 785"),
    ],
    ids=[
        "no-label-column",
        "short-row",
        "pixel-over-255",
        "negative-pixel",
        "label-over-9",
        "non-numeric",
        "empty-cell",
        "empty-file",
        "header-only",
        "short-header",
    ],
)
def test_malformed_file_is_refused_naming_the_place(tmp_path, edit, message):
    path = _mutated(tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        loaded(path)
    text = str(err.value)
    assert message in text and str(path) in text
    assert "\n" not in text


def test_label_column_is_found_by_name_not_position(tmp_path):
    path = tmp_path / "train.csv"
    images, labels = write_digits_csv(path, 10)
    rows = [line.split(",") for line in path.read_text().splitlines()]
    moved = [",".join([*cells[1:], cells[0]]) for cells in rows]
    path.write_text("\n".join(moved) + "\n")
    read = read_digits_csv(path)
    assert np.array_equal(read[0][..., 0], images) and np.array_equal(read[1], labels)


def test_missing_file_names_where_it_looked_and_the_key(tmp_path):
    dm = DigitsCSVDataModule(data_dir=tmp_path)
    with pytest.raises(ConfigError) as err:
        dm.prepare_data()
    assert str(tmp_path / "digit-recognizer" / "train.csv") in str(err.value)
    assert "data.path" in str(err.value)


@pytest.mark.slow
def test_train_py_runs_lenet5_on_the_csv(small_csv, run_env, tmp_path):
    path, _, _ = small_csv
    out = tmp_path / "run"
    train(
        "data=digits_csv",
        f"data.path={path}",
        "data.pad_to=32",
        "model=lenet5",
        "debug=fast_dev_run",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_size"] == 600
    assert 0.0 <= metrics["test_acc"] <= 1.0
