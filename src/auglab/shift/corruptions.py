"""MNIST-C's 15 corruptions (Mu & Gilmer 2019) as named, seeded transforms of a whole test set.

Why: a model's accuracy under distribution shift is a second yardstick for augmentation.
MNIST-C ships files for MNIST only; this suite makes the same kinds of shift for any
dataset here (grey or colour, 28 to 128 pixels), reproducibly, from the test split.

- Deterministic: image ``i``'s draw is seeded from (seed, corruption name, ``i``) alone, so
  a corrupted image does not depend on the batch it came in or on the rest of the set.
- Faithful where it can be: severities 1-5 take MNIST-C's parameters
  (``corruptions.py`` of google-research/mnist-c) and the default severity is the one its
  functions default to. The work is done by the image libraries already used for
  augmentation (albumentations, OpenCV, torchvision), so some effects differ in detail
  from MNIST-C's skimage/ImageMagick code (noted per corruption).
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
from torchvision.transforms.v2 import functional as TF

from auglab.shift.plasma import plasma_fractal


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

    def signs(self, k: int) -> np.ndarray:
        """(N, k) of -1 or +1."""
        return np.where(self.uniform(k) < 0.5, -1, 1)


# ---- helpers -----------------------------------------------------------------------------
_MUD = 63  # MNIST-C's mud grey


def _scale(images: np.ndarray) -> float:
    """Image size in MNIST's 28-pixel units: the factor MNIST-C's lengths are multiplied by."""
    return min(images.shape[1:3]) / 28.0


def _each(transform: A.BasicTransform, images: np.ndarray, draws: Draws) -> np.ndarray:
    """An albumentations transform on each image, reseeded from that image's draw."""
    out = np.empty_like(images)
    for i, (image, seed) in enumerate(zip(images, draws.seeds, strict=True)):
        transform.set_random_seed(int(seed))
        out[i] = transform(image=image)["image"].reshape(image.shape)
    return out


def _affine(images: np.ndarray, params: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """torchvision's affine warp about the centre (bilinear, black fill as MNIST-C), one
    batched call per distinct row of ``params``: (N, 4) angle, x shear (degrees), x, y shift."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    out = torch.empty_like(x)
    rows, which = np.unique(params, axis=0, return_inverse=True)
    for j, (angle, shear, tx, ty) in enumerate(rows):
        sel = torch.from_numpy(np.flatnonzero(which.ravel() == j))
        out[sel] = TF.affine(
            x[sel],
            angle=float(angle),
            translate=[float(tx), float(ty)],
            scale=scale,
            shear=[float(shear), 0.0],
            interpolation=TF.InterpolationMode.BILINEAR,
            fill=0,
        )
    return out.permute(0, 2, 3, 1).contiguous().numpy()


def _add_strokes(images: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """White strokes (N, H, W) uint8 added to every channel, saturating as MNIST-C."""
    total = images.astype(np.uint16) + strokes[..., None]
    return np.minimum(total, 255).astype(np.uint8)


def _thickness(s: float) -> int:
    # MNIST-C's lines hold ~1.9 pixels of ink across (1 at the centre, 0.43 a pixel off);
    # an anti-aliased cv2 line of thickness 1 holds 1.35, of thickness 2 already 3.4.
    return max(1, round(s))


# ---- the corruptions ---------------------------------------------------------------------
# Each takes uint8 (N, H, W, C) images, their draws and the severity's parameters.
def shot_noise(images: np.ndarray, draws: Draws, c: float) -> np.ndarray:
    """Poisson noise with ``c`` photons at full white (albumentations ``ShotNoise``). It adds
    the noise in linear light, MNIST-C in pixel values: the same on black and on white."""
    return _each(A.ShotNoise(scale_range=(1 / c, 1 / c), p=1), images, draws)


def impulse_noise(images: np.ndarray, draws: Draws, amount: float) -> np.ndarray:
    """Salt and pepper on a fraction ``amount`` of pixels (albumentations ``SaltAndPepper``)."""
    return _each(
        A.SaltAndPepper(amount=(amount, amount), salt_vs_pepper=(0.5, 0.5), p=1), images, draws
    )


def glass_blur(images: np.ndarray, draws: Draws, c: tuple[float, int, int]) -> np.ndarray:
    """Blur, shuffle pixels locally, blur (albumentations ``GlassBlur``; MNIST-C swaps each
    pixel with probability 1/2, albumentations always)."""
    s = _scale(images)
    sigma, delta, iterations = c
    blur = A.GlassBlur(
        sigma=sigma * s, max_delta=max(1, round(delta * s)), iterations=iterations, p=1
    )
    return _each(blur, images, draws)


def motion_blur(images: np.ndarray, draws: Draws, c: tuple[float, float]) -> np.ndarray:
    """A one-sided streak at a random angle in [-45, 45] degrees (albumentations ``MotionBlur``).

    MNIST-C used ImageMagick's motion blur (radius, sigma): a one-sided Gaussian streak
    whose mean shift, 0.8 sigma, is matched here by a uniform streak of 1.6 sigma + 1 pixels.
    """
    length = 1 + round(1.6 * c[1] * _scale(images))
    blur = A.MotionBlur(
        blur_limit=(2 * length - 1, 2 * length - 1),  # one-sided: ``length`` pixels of it
        # Backwards from 135-225 degrees is forwards at -45 to 45 (the range must be in 0-360).
        angle_range=(135, 225),
        direction_range=(-1.0, -1.0),
        allow_shifted=False,
        p=1,
    )
    return _each(blur, images, draws)


def shear(images: np.ndarray, draws: Draws, radians: float) -> np.ndarray:
    """Horizontal shear by ``radians`` either way, about the centre (torchvision affine)."""
    params = np.zeros((len(images), 4))
    params[:, 1] = math.degrees(radians) * draws.signs(1)[:, 0]
    return _affine(images, params)


def scale(images: np.ndarray, draws: Draws, factor: float) -> np.ndarray:
    """Shrink by ``factor`` about the centre, black around (torchvision affine)."""
    return _affine(images, np.zeros((len(images), 4)), scale=factor)


def rotate(images: np.ndarray, draws: Draws, radians: float) -> np.ndarray:
    """Rotate by ``radians`` either way about the centre (torchvision affine)."""
    params = np.zeros((len(images), 4))
    params[:, 0] = math.degrees(radians) * draws.signs(1)[:, 0]
    return _affine(images, params)


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
    """Shift by ``pixels`` (in 28ths of the image) left or right and up or down (torchvision)."""
    params = np.zeros((len(images), 4))
    params[:, 2:] = round(pixels * _scale(images)) * draws.signs(2)
    return _affine(images, params)


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
    """Add ``c[0]`` x a plasma fractal, then rescale to the image's maximum (MNIST-C's formula).

    The fractal is diamond-square (``auglab.shift.plasma``, roughness 1 / MNIST-C's
    ``wibbledecay``); it spans the image, where MNIST-C crops 28 pixels of a
    256-pixel one. Not ``RandomFog``: it refuses grey images, takes ~9 ms a 28x28 image, and
    whitens a disc in the centre, where a digit is, rather than laying a haze.
    """
    strength, decay = c
    n, h, w, _ = images.shape
    plasma = np.empty((n, h, w, 1), np.float32)
    for i, seed in enumerate(draws.seeds):
        rng = np.random.default_rng(int(seed))
        plasma[i, ..., 0] = plasma_fractal((h, w), 1 / decay, rng)
    x = images.astype(np.float32) / 255
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    out = (x + strength * plasma) * (peak / (peak + strength))
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)


def spatter(images: np.ndarray, draws: Draws, c: tuple[float, float, float, float]) -> np.ndarray:
    """Grey mud blobs (MNIST-C's mud, 63) drawn by albumentations ``Spatter`` (mode "mud").

    The blobs are drawn on a blank canvas at MNIST's 28-pixel scale and resized to the
    images: their size and share of the image depend on the noise's blur and std together,
    and albumentations caps the std at 1, too low to scale the blur for 128-pixel images.
    """
    mean, std, sigma, threshold = c
    n, h, w, _ = images.shape
    s = _scale(images)
    small = (max(1, round(h / s)), max(1, round(w / s)))
    mud = A.Spatter(
        mean=(mean, mean),
        std=(std, std),
        gauss_sigma=(sigma, sigma),
        cutout_threshold=(threshold, threshold),
        intensity=(1.0, 1.0),
        mode="mud",
        color=(255, 255, 255),  # on black: the canvas is the mud's weight
        p=1,
    )
    canvas = _each(mud, np.zeros((n, *small, 3), np.uint8), draws)[..., :1]
    weight = torch.from_numpy(canvas).permute(0, 3, 1, 2).float().div_(255)
    if small != (h, w):
        weight = torch.nn.functional.interpolate(weight, size=(h, w), mode="bilinear")
    weight = weight.permute(0, 2, 3, 1).numpy()
    return np.rint(images * (1 - weight) + _MUD * weight).astype(np.uint8)


def dotted_line(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """A white dashed line from the left edge to the right edge at random heights.

    Hand-written pattern (no library has it), drawn with ``cv2.line`` (anti-aliased);
    dashes are MNIST-C's: columns in 2-pixel blocks, every other one blank.
    """
    n, h, w, _ = images.shape
    rows = draws.integers(0, h - 1, 2)
    strokes = np.zeros((n, h, w), np.uint8)
    thickness = _thickness(_scale(images))
    for i, (r0, r1) in enumerate(rows):
        cv2.line(strokes[i], (0, int(r0)), (w - 1, int(r1)), 255, thickness, cv2.LINE_AA)
    dashes = (np.arange(w) * 28 // w) // 2 % 2 == 1
    return _add_strokes(images, strokes * dashes)


def zigzag(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """A white zigzag (2-pixel legs, 2 pixels high) across the image, slightly tilted.

    Hand-written pattern (no library has it), drawn with ``cv2.polylines`` (anti-aliased);
    geometry as MNIST-C: from column 2 to 25, starting at a random row, rising or falling
    up to 5 rows.
    """
    n, h, w, _ = images.shape
    s = _scale(images)
    u = draws.uniform(2)
    r0 = np.floor(u[:, 0] * 27)
    r1 = r0 + np.floor(u[:, 1] * 10) - 5
    c0, c1, a, b = 2.0, 25.0, 2.0, 2.0
    theta = np.arctan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / np.cos(theta)
    # Along the line: 0, a, 3a, 5a ... then the end; across it: 0, b, -b, b ... then 0.
    k = int((length.max() - a) // (2 * a)) + 1
    along = np.concatenate([[0.0], (2 * np.arange(k) + 1) * a])
    across = np.concatenate([[0.0], b * (-1.0) ** np.arange(k)])
    t = np.minimum(along[None], length[:, None])
    off = np.where(along[None] < length[:, None], across[None], 0.0)
    t, off = np.concatenate([t, length[:, None]], 1), np.pad(off, ((0, 0), (0, 1)))
    cols = c0 + t * np.cos(theta)[:, None] - off * np.sin(theta)[:, None]
    rows = r0[:, None] + t * np.sin(theta)[:, None] + off * np.cos(theta)[:, None]
    points = np.rint(np.stack([cols, rows], -1) * s * 16).astype(np.int32)  # 4 fraction bits
    strokes = np.zeros((n, h, w), np.uint8)
    thickness = _thickness(s)
    for i in range(n):
        cv2.polylines(strokes[i], [points[i]], False, 255, thickness, cv2.LINE_AA, shift=4)
    return _add_strokes(images, strokes)


def canny_edges(images: np.ndarray, draws: Draws, _: None) -> np.ndarray:
    """White edges on black (OpenCV Canny after a Gaussian blur).

    skimage's ``canny`` defaults, as MNIST-C: sigma 1 (in 28ths), thresholds 0.1 and 0.2 of
    the unnormalised Sobel magnitude of a [0, 1] image, i.e. 25.5 and 51 on 0-255, L2 norm.
    Colour images: OpenCV takes each pixel's strongest channel gradient.
    """
    sigma = _scale(images)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        blurred = cv2.GaussianBlur(image, (0, 0), sigma)
        out[i] = cv2.Canny(blurred, 25.5, 51, L2gradient=True)[..., None]
    return out
