"""Which suite a job is tested on (``SuiteSpec``), and its test sets made once per sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from auglab.data import (
    CIFAR10DataModule,
    DigitsCSVDataModule,
    FingersDataModule,
    MNISTDataModule,
)
from auglab.errors import ConfigError
from auglab.shift import CORRUPTIONS, corrupt
from auglab.shift.shifted_sets import ShiftedSets, SuiteSpec


def test_the_default_suite_is_mnist_c_at_its_own_severities():
    spec = SuiteSpec.from_config()
    assert (spec.name, spec.seed) == ("mnist_c", 0)
    assert spec.severity == {name: c.default for name, c in CORRUPTIONS.items()}


def test_a_suite_narrowed_and_at_another_severity():
    spec = SuiteSpec.from_config(None, ["fog", "stripe"], severity=3, seed=9)
    assert spec.severity == {"fog": 3, "stripe": 1} and spec.seed == 9  # stripe has one level
    with pytest.raises(ConfigError, match="fog severity=6 must be 1-5"):
        SuiteSpec.from_config(None, ["fog"], severity=6)
    with pytest.raises(ConfigError, match="unknown corruption 'blur'"):
        SuiteSpec.from_config({"corruptions": {"blur": 1}})


def test_a_record_of_the_same_suite_is_done_whatever_its_key_order():
    spec = SuiteSpec.from_config(None, ["stripe", "fog"])
    stored = json.loads(
        json.dumps({"suite": "mnist_c", "seed": 0, "severity": spec.severity}, sort_keys=True)
    )
    assert spec.done_in(stored)
    assert not spec.done_in({**stored, "seed": 1}) and not spec.done_in(None)
    assert not SuiteSpec.from_config(None, ["fog"]).done_in(stored)


@pytest.mark.slow
def test_test_sets_are_corrupted_before_padding_and_made_once(mnist_root):
    datamodule = MNISTDataModule(mnist_root, download=False)  # pads to 32, as E1
    datamodule.prepare_data()
    spec = SuiteSpec.from_config(None, ["stripe", "rotate"], seed=4)
    sets = ShiftedSets()
    first = list(sets.of(datamodule, spec))
    raw, labels = datamodule.read_split("test")
    assert [(s.name, s.source, s.images.shape[1:]) for s in first] == [
        ("stripe", "generated", (32, 32, 1)),
        ("rotate", "generated", (32, 32, 1)),
    ]
    expected = datamodule.pad(corrupt(np.ascontiguousarray(raw), "rotate", seed=4, severity=2))
    assert np.array_equal(first[1].images, expected) and np.array_equal(first[1].labels, labels)
    assert all(a is b for a, b in zip(first, sets.of(datamodule, spec), strict=True))  # cached


def test_only_mnist_and_its_subclasses_take_mnist_c_files():
    assert MNISTDataModule.mnist_c_release
    assert not any(
        m.mnist_c_release for m in (CIFAR10DataModule, DigitsCSVDataModule, FingersDataModule)
    )
