"""The corruption suite: named, seeded, deterministic, any channels and size; MNIST-C's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from auglab.errors import ConfigError
from auglab.shift import CORRUPTIONS, corrupt, mnist_c, suite
from tests.helpers import REPO

NAMES = list(CORRUPTIONS)
RANDOM = [name for name, c in CORRUPTIONS.items() if c.random]


def digits(n: int, size: int = 28, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Stroke-like bright bars on black (grey) or on a colour gradient (colour), uint8 NHWC."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, channels), np.uint8)
    if channels == 3:
        ramp = np.linspace(20, 160, size).astype(np.uint8)
        images[..., 0], images[..., 1], images[..., 2] = ramp[None, :], ramp[:, None], 90
    for i in range(n):
        top, left = rng.integers(size // 5, size // 2, 2)
        images[i, top : top + size // 2, left : left + size // 7] = 255
        images[i, top : top + size // 10, left : left + size // 3] = 200
    return images


GREY, COLOUR = digits(8), digits(8, size=32, channels=3)


@pytest.mark.slow
@pytest.mark.parametrize("images", [GREY, COLOUR], ids=["grey28", "colour32"])
@pytest.mark.parametrize("name", NAMES)
def test_corruption_is_deterministic_and_keeps_the_form(name, images):
    out = corrupt(images, name, seed=0)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(out, corrupt(images, name, seed=0))
    assert not np.array_equal(out, images), f"{name} left the images as they were"
    assert np.array_equal(images, GREY if images.shape[3] == 1 else COLOUR)  # input untouched
    if name in RANDOM:
        assert not np.array_equal(out, corrupt(images, name, seed=1))
    else:
        assert np.array_equal(out, corrupt(images, name, seed=1))


@pytest.mark.parametrize("name", NAMES)
def test_larger_images_work(name):
    images = digits(2, size=64)
    out = corrupt(images, name)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert not np.array_equal(out, images)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_an_image_does_not_depend_on_its_batch_or_order(name):
    whole = corrupt(GREY, name, seed=3)
    assert np.array_equal(corrupt(GREY[5:], name, seed=3, indices=range(5, 8)), whole[5:])
    backwards = corrupt(GREY[::-1], name, seed=3, indices=range(7, -1, -1))
    assert np.array_equal(backwards, whole[::-1])


@pytest.mark.parametrize("name", NAMES)
def test_float_arrays_and_torch_tensors_come_back_in_their_own_form(name):
    expected = corrupt(COLOUR, name)
    floats = corrupt(COLOUR.astype(np.float32) / 255, name)
    assert floats.dtype == np.float32 and floats.min() >= 0 and floats.max() <= 1
    assert np.array_equal(np.rint(floats * 255).astype(np.uint8), expected)
    tensor = torch.from_numpy(COLOUR).permute(0, 3, 1, 2)
    out = corrupt(tensor, name)
    assert out.dtype == torch.uint8 and out.shape == tensor.shape
    assert np.array_equal(out.permute(0, 2, 3, 1).numpy(), expected)
    out = corrupt(tensor.float() / 255, name)
    assert out.dtype == torch.float32 and np.allclose(
        out.permute(0, 2, 3, 1).numpy() * 255, expected, atol=1e-3
    )


@pytest.mark.slow
def test_every_severity_runs_and_they_differ():
    for name, c in CORRUPTIONS.items():
        outs = [corrupt(GREY[:4], name, severity=s) for s in range(1, len(c.levels) + 1)]
        assert all(not np.array_equal(a, b) for a, b in zip(outs, outs[1:], strict=False)), name
        assert np.array_equal(outs[c.default - 1], corrupt(GREY[:4], name))


def test_pixelwise_corruptions_do_what_mnist_c_does():
    x = GREY
    stripe = corrupt(x, "stripe")
    assert np.array_equal(stripe[:, :, :7], 255 - x[:, :, :7])
    assert np.array_equal(stripe[:, :, 21:], 255 - x[:, :, 21:])
    assert np.array_equal(stripe[:, :, 7:21], x[:, :, 7:21])
    bright = corrupt(x, "brightness", severity=5)  # +0.5 of full scale, saturating
    assert np.array_equal(bright, np.minimum(x.astype(int) + 128, 255))
    moved = corrupt(x, "translate", severity=1)  # one pixel each way, exactly
    shifts = [
        (dy, dx)
        for dy in (-1, 1)
        for dx in (-1, 1)
        if np.array_equal(np.roll(x[0], (dy, dx), axis=(0, 1))[1:-1, 1:-1], moved[0][1:-1, 1:-1])
    ]
    assert len(shifts) == 1


def test_unknown_names_and_severities_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="unknown corruption 'gaussian_blur'") as err:
        corrupt(GREY, "gaussian_blur")
    assert "\n" not in str(err.value) and all(name in str(err.value) for name in NAMES)
    with pytest.raises(ConfigError, match="unknown corruption 'nope'"):
        suite(["rotate", "nope"])
    with pytest.raises(ConfigError, match="rotate severity=6 must be 1-5"):
        corrupt(GREY, "rotate", severity=6)
    with pytest.raises(ConfigError, match="stripe severity=2 must be null or 1"):
        suite({"stripe": 2})


def test_suite_defaults_to_mnist_c_and_the_config_lists_it():
    assert list(suite()) == NAMES and len(NAMES) == 15
    chosen = suite({"fog": 2, "rotate": None})
    assert list(chosen) == ["fog", "rotate"] and chosen["fog"].severity == 2
    assert np.array_equal(chosen["fog"](GREY, seed=4), corrupt(GREY, "fog", seed=4, severity=2))
    cfg = OmegaConf.load(REPO / "conf" / "shift" / "mnist_c.yaml")
    configured = suite(cfg.corruptions)
    assert list(configured) == NAMES
    assert all((c.severity or 1) == CORRUPTIONS[n].default for n, c in configured.items())


def write_release(root: Path, name: str, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """One corruption's test split in the release's layout and types."""
    folder = root / "mnist_c" / name
    folder.mkdir(parents=True)
    images = digits(n)
    labels = np.arange(n, dtype=np.uint8)
    np.save(folder / "test_images.npy", images)
    np.save(folder / "test_labels.npy", labels)
    return images, labels


def test_mnist_c_files_are_found_and_read_as_released(tmp_path):
    assert mnist_c.available(tmp_path) == []
    images, labels = write_release(tmp_path, "zigzag")
    write_release(tmp_path, "fog")
    (tmp_path / "mnist_c" / "stripe").mkdir()
    np.save(tmp_path / "mnist_c" / "stripe" / "test_images.npy", images)  # no labels
    assert mnist_c.available(tmp_path) == ["fog", "zigzag"]  # suite order
    assert mnist_c.available(tmp_path, split="train") == []
    got_images, got_labels = mnist_c.load(tmp_path, "zigzag")
    assert got_images.dtype == np.uint8 and np.array_equal(got_images, images)
    assert got_labels.dtype == np.uint8 and np.array_equal(got_labels, labels)
    with pytest.raises(ConfigError, match="no MNIST-C file .*stripe/test_labels.npy"):
        mnist_c.load(tmp_path, "stripe")
    with pytest.raises(ConfigError, match="MNIST-C has no corruption 'blur'"):
        mnist_c.load(tmp_path, "blur")


def test_mnist_c_files_of_another_shape_are_refused(tmp_path):
    write_release(tmp_path, "fog")
    np.save(tmp_path / "mnist_c" / "fog" / "test_images.npy", np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(ConfigError, match=r"not MNIST-C's uint8 \(N, 28, 28, 1\)"):
        mnist_c.load(tmp_path, "fog")
    (tmp_path / "mnist_c" / "fog" / "test_images.npy").write_bytes(b"not numpy")
    with pytest.raises(ConfigError, match="cannot read MNIST-C fog"):
        mnist_c.load(tmp_path, "fog")
