"""MNIST-C's 15 corruptions (Mu & Gilmer 2019) as named, seeded transforms of a whole test set.

Why: a model's accuracy under distribution shift is a second yardstick for augmentation.
MNIST-C ships files for MNIST only; this suite makes the same kinds of shift for any
dataset here (grey or colour, 28 to 128 pixels), reproducibly, from the test split.

- Deterministic: image ``i``'s draw is seeded from (seed, corruption name, ``i``) alone, so
  a corrupted image does not depend on the batch it came in or on the rest of the set.
- Faithful: severities 1-5 take MNIST-C's parameters (``corruptions.py`` of
  google-research/mnist-c) and the default severity is the one its functions default to.
  Each follows its algorithm step by step, written in numpy, scipy and OpenCV (motion
  and glass blur in ``blur``, dotted line and zigzag in ``strokes``, canny in
  ``edges``); impulse noise and brightness are albumentations' same operations. A fixed
  CNN's accuracy on each is within a point of its accuracy on MNIST-C's own images, and
  tests/shift/test_mnist_c_fidelity.py holds the authors' output statistics
  (bench/mnist_c_reference.py, docs/mnist_c_fidelity.md).
- Any size: MNIST-C's lengths are in 28-pixel units and scale with ``min(H, W) / 28``.

Each function here takes what the datamodules hold, ``uint8`` (N, H, W, C) numpy arrays
(``ArrayDataset``); ``auglab.shift.registry`` names them, holds their severities and also
takes float arrays in [0, 1] and torch tensors (N, C, H, W) as the network sees them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from auglab.shift.edges import canny_edges as find_edges
from auglab.shift.plasma import plasma_fractals


# ---- per-image random draws --------------------------------------------------------------
def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array: a counter-based hash, so draws vectorise."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True)
class Draws:
    """Random numbers for each image, a function of (seed, corruption name, image index)."""

    seeds: np.ndarray  # (N,) uint64

    @classmethod
    def of(cls, seed: int, name: str, indices: np.ndarray) -> Draws:
        digest = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
        key = np.uint64(int.from_bytes(digest, "little"))
        return cls(_mix(key ^ _mix(indices.astype(np.uint64))))

    def uniform(self, k: int) -> np.ndarray:
        """(N, k) floats in [0, 1)."""
        counters = self.seeds[:, None] + np.arange(1, k + 1, dtype=np.uint64)[None]
        return (_mix(counters) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def integers(self, low: int, high: int, k: int) -> np.ndarray:
        """(N, k) integers in [low, high)."""
        return low + np.floor(self.uniform(k) * (high - low)).astype(np.int64)

    def generators(self) -> list[np.random.Generator]:
        """A numpy generator for each image, seeded with its draw (for whole fields)."""
        return [np.random.default_rng(int(seed)) for seed in self.seeds]

    def signs(self, k: int) -> np.ndarray:
        """(N, k) of -1 or +1."""
        return np.where(self.uniform(k) < 0.5, -1, 1)


# ---- helpers -----------------------------------------------------------------------------
_MUD = 63  # MNIST-C's mud grey


def scale_of(images: np.ndarray) -> float:
    """Image size in MNIST's 28-pixel units: the factor MNIST-C's lengths are multiplied by
    (``images`` (N, H, W, C))."""
    return min(images.shape[1:3]) / 28.0


def _each(transform: A.BasicTransform, images: np.ndarray, draws: Draws) -> np.ndarray:
    """An albumentations transform on each image, reseeded from that image's draw."""
    out = np.empty_like(images)
    for i, (image, seed) in enumerate(zip(images, draws.seeds, strict=True)):
        transform.set_random_seed(int(seed))
        out[i] = transform(image=image)["image"].reshape(image.shape)
    return out


def _inverse_affine(images: np.ndarray, linear: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """skimage's ``warp(image, inverse_map=AffineTransform(...))`` as MNIST-C calls it:
    output pixel ``p`` (x, y) reads the input at ``linear[i] @ p + t`` (bilinear, black
    beyond the border), ``t`` keeping the image centre fixed, plus ``shift`` (N, 2) pixels.
    ``linear``: (N, 2, 2) or (2, 2) for all."""
    n, h, w, _ = images.shape
    linear = np.broadcast_to(linear, (n, 2, 2))
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = centre - linear @ centre + shift
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = np.empty_like(images)
    for i, image in enumerate(images.astype(np.float32) / 255):
        m = np.concatenate([linear[i], offset[i][:, None]], 1)
        warped = cv2.warpAffine(image, m, (w, h), flags=flags, borderValue=0)
        out[i] = np.rint(np.clip(warped, 0, 1) * 255).reshape(image.shape)
    return out


def _skimage_affine(rotation: np.ndarray, shear: np.ndarray, zoom: float = 1.0) -> np.ndarray:
    """skimage's ``AffineTransform(scale=zoom, rotation=, shear=)`` linear part (N, 2, 2):
    its shear also shrinks y by ``cos(shear)``, so MNIST-C's sheared digits grow taller."""
    return zoom * np.stack(
        [
            np.stack([np.cos(rotation), -np.sin(rotation + shear)], -1),
            np.stack([np.sin(rotation), np.cos(rotation + shear)], -1),
        ],
        -2,
    )


# ---- the corruptions ---------------------------------------------------------------------
# Each takes uint8 (N, H, W, C) images, their draws and the severity's parameters.
def shot_noise(images: np.ndarray, draws: Draws, c: float) -> np.ndarray:
    """MNIST-C's shot noise: each pixel ``Poisson(v c) / c`` for its value ``v`` in [0, 1]
    (``c`` photons at full white), in pixel values as MNIST-C, not in linear light."""
    out = np.empty_like(images)
    for i, rng in enumerate(draws.generators()):
        photons = rng.poisson(images[i] / 255.0 * c) / c
        out[i] = np.rint(np.clip(photons, 0, 1) * 255)
    return out


def impulse_noise(images: np.ndarray, draws: Draws, amount: float) -> np.ndarray:
    """Salt and pepper on a fraction ``amount`` of pixels (albumentations ``SaltAndPepper``)."""
    return _each(
        A.SaltAndPepper(amount=(amount, amount), salt_vs_pepper=(0.5, 0.5), p=1), images, draws
    )


def shear(images: np.ndarray, draws: Draws, radians: float) -> np.ndarray:
    """MNIST-C's shear: skimage's ``AffineTransform(shear=c)`` about the centre, ``c`` =
    ``radians`` either way, as the inverse map (so it also stretches by 1 / cos c)."""
    c = radians * draws.signs(1)[:, 0].astype(np.float64)
    return _inverse_affine(images, _skimage_affine(np.zeros_like(c), c), np.zeros((len(c), 2)))


def scale(images: np.ndarray, draws: Draws, factor: float) -> np.ndarray:
    """Shrink by ``factor`` about the centre, black around (MNIST-C's inverse map scaling
    by ``1 / factor``)."""
    linear = _skimage_affine(np.zeros(1), np.zeros(1), 1 / factor)[0]
    return _inverse_affine(images, linear, np.zeros((len(images), 2)))


def rotate(images: np.ndarray, draws: Draws, radians: float) -> np.ndarray:
    """Rotate by ``radians`` either way about the centre (MNIST-C's inverse map)."""
    c = radians * draws.signs(1)[:, 0].astype(np.float64)
    return _inverse_affine(images, _skimage_affine(c, np.zeros_like(c)), np.zeros((len(c), 2)))


def brightness(images: np.ndarray, draws: Draws, shift: float) -> np.ndarray:
    """Raise HSV value by ``shift`` (albumentations ``HueSaturationValue``; grey: add ``shift``).

    Pixelwise, so the whole set runs as one tall image in one call.
    """
    v = round(shift * 255)
    hsv = A.HueSaturationValue(
        hue_shift_limit=(0, 0), sat_shift_limit=(0, 0), val_shift_limit=(v, v), p=1
    )
    n, h, w, c = images.shape
    return hsv(image=images.reshape(n * h, w, c))["image"].reshape(images.shape)


def translate(images: np.ndarray, draws: Draws, pixels: int) -> np.ndarray:
    """Shift by ``pixels`` (in 28ths of the image) left or right and up or down (MNIST-C's
    inverse map)."""
    shift = round(pixels * scale_of(images)) * draws.signs(2).astype(np.float64)
    return _inverse_affine(images, np.eye(2), shift)


def stripe(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """Invert the left and right quarters (MNIST-C's columns 0-6 and 21-27).

    Hand-written: no library has it (it is one line of numpy).
    """
    out = images.copy()
    q = images.shape[2] // 4
    out[:, :, :q] = 255 - out[:, :, :q]
    out[:, :, images.shape[2] - q :] = 255 - out[:, :, images.shape[2] - q :]
    return out


def fog(images: np.ndarray, draws: Draws, c: tuple[float, float]) -> np.ndarray:
    """MNIST-C's fog: add ``c[0]`` x the top-left corner of a 256-pixel plasma fractal
    (``auglab.shift.plasma``, ``wibbledecay`` ``c[1]``) rescaled to [0, 1] as a whole,
    then scale by ``peak / (peak + c[0])`` for the image's brightest value ``peak``.

    Larger images take the 28-pixel corner resized to them (a map grown to their scale
    would cost (256 x scale)^2 per image, and its extra detail is below a pixel of the
    28-pixel haze). Not ``RandomFog``: it refuses grey images and whitens a disc in the
    centre, where a digit is, rather than laying a haze.
    """
    strength, decay = c
    n, h, w, _ = images.shape
    small = _at_28(images)
    size = max(256, 2 ** math.ceil(math.log2(max(small))))
    plasma = np.empty((n, *small))
    rngs = draws.generators()
    for start in range(0, n, 8):  # 8 maps at a time: fastest, the arrays stay in cache
        maps = plasma_fractals(size, decay, rngs[start : start + 8])
        plasma[start : start + 8] = maps[:, : small[0], : small[1]]
    x = images / 255.0
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    out = (x + strength * _grow(plasma, (h, w))) * (peak / (peak + strength))
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)


def _at_28(images: np.ndarray) -> tuple[int, int]:
    """The images' (height, width) at MNIST's scale, 28 on the shorter side."""
    s = scale_of(images)
    return max(1, round(images.shape[1] / s)), max(1, round(images.shape[2] / s))


def _grow(fields: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(N, h, w) fields resized to (N, *shape, 1), bilinear (as they are if equal)."""
    if fields.shape[1:] != shape:
        grown = torch.nn.functional.interpolate(
            torch.from_numpy(fields[:, None]), size=shape, mode="bilinear"
        )
        fields = grown[:, 0].numpy()
    return fields[..., None]


def spatter(
    images: np.ndarray, draws: Draws, c: tuple[float, float, float, float, float]
) -> np.ndarray:
    """MNIST-C's mud spatter: noise ``N(c[0], c[1])``, Gaussian-blurred (sigma ``c[2]``),
    cut below ``c[3]``; the mask where it is above, blurred (sigma ``c[4]``) and cut below
    0.8, is the weight of mud grey 63 over the image (skimage's ``gaussian``: edges
    repeated, kernel to 4 sigma).

    The mud is made at MNIST's 28-pixel scale and resized to the images: the blobs' size
    and share depend on the noise's blur and spread together, so they keep their look.
    """
    mean, std, sigma, threshold, mask_sigma = c
    n, h, w, _ = images.shape
    small = _at_28(images)
    liquid = np.stack([rng.normal(mean, std, small) for rng in draws.generators()])
    liquid = gaussian_filter(liquid, (0, sigma, sigma), mode="nearest", truncate=4.0)
    mask = (liquid > threshold).astype(np.float64)
    weight = gaussian_filter(mask, (0, mask_sigma, mask_sigma), mode="nearest", truncate=4.0)
    weight[weight < 0.8] = 0
    weight = _grow(weight, (h, w))
    return np.rint(images * (1 - weight) + _MUD * weight).astype(np.uint8)


def canny_edges(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """White edges on black: skimage's ``canny`` with its defaults, as MNIST-C
    (``auglab.shift.edges``; sigma 1 in 28ths of the image)."""
    edges = find_edges(images / 255.0, sigma=scale_of(images))
    return np.repeat(edges[..., None], images.shape[3], axis=3).astype(np.uint8) * 255
