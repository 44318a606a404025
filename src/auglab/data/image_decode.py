"""Image files of any common format as one ``uint8`` (N, S, S, C) array, with Pillow.

What the image-folder datamodule needs of a pile of user files: PNG, JPEG, BMP and WebP,
greyscale or colour, 8 or 16 bits, any size, some perhaps broken. Each file is opened
once, turned upright by its EXIF orientation (phone photos), converted to the channels
asked for and resized to a square:

- ``crop``: the short side is scaled to ``image_size`` and the long side centre-cropped
  (Pillow's ``ImageOps.fit``): no borders, the edges of wide images are lost;
- ``pad``: the long side is scaled to ``image_size`` keeping the aspect ratio, and the
  rest is filled with zeros, centred (``ImageOps.pad``): the whole image, with black bars.

Both resample with Pillow's bilinear filter, which averages over the footprint when it
shrinks (no aliasing), and interpolates when it enlarges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from auglab.errors import ConfigError

#: File suffixes read as images (any case); every other file is ignored.
EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".png", ".webp")
RESIZE_MODES = ("crop", "pad")
RESAMPLE = Image.Resampling.BILINEAR
#: Pillow modes whose first band is a grey level (``LA`` is grey with alpha).
GREY_BANDS = {"1", "L", "I", "F"}
#: What Pillow raises for a file that is not, or no longer, a readable image.
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def is_image_file(path: Path) -> bool:
    """A visible file whose suffix is one of ``EXTENSIONS`` (hidden files are never images)."""
    return path.suffix.lower() in EXTENSIONS and not path.name.startswith(".") and path.is_file()


@dataclass
class Decoded:
    """The images that decoded, which of the files they are, and the files left out."""

    images: np.ndarray
    kept: np.ndarray
    skipped: list[str] = field(default_factory=list)


def decode_images(
    files: list[Path],
    image_size: int | None,
    resize: str = "crop",
    channels: int | None = None,
    skip_bad: bool = False,
) -> Decoded:
    """``files`` as ``uint8`` (N, H, W, C); C is ``channels`` or, for None, what the files
    are (all greyscale: 1, all colour: 3, mixed: a ConfigError). A file that does not
    decode is a ConfigError naming it, or with ``skip_bad`` left out (``Decoded.skipped``)."""
    arrays: list[np.ndarray] = []
    kept: list[int] = []
    skipped: list[str] = []
    first: tuple[Path, bool] | None = None  # the first decoded file and whether it is grey
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                grey = is_grey(im)
                array = np.asarray(_square(_converted(im, grey, channels), image_size, resize))
        except DECODE_ERRORS as err:
            if not skip_bad:
                raise ConfigError(
                    f"{f} does not decode as an image ({err}): replace or remove it, or set "
                    "data.skip_bad_files=true to leave such files out"
                ) from None
            skipped.append(str(f))
            continue
        if first is None:
            first = (f, grey)
        elif channels is None and grey != first[1]:
            raise ConfigError(_mixed_channels(first, (f, grey)))
        if arrays and array.shape[:2] != arrays[0].shape[:2]:
            (h, w), (h0, w0) = array.shape[:2], arrays[0].shape[:2]
            raise ConfigError(
                f"{f} is {h}x{w} but {first[0]} is {h0}x{w0}: data.image_size=null needs "
                "images of one size; set data.image_size (e.g. 32) to resize them"
            )
        arrays.append(array if array.ndim == 3 else array[..., None])
        kept.append(i)
    if not arrays:
        raise ConfigError(f"none of the {len(files)} files decodes as an image (first: {files[0]})")
    return Decoded(np.stack(arrays), np.array(kept, dtype=np.int64), skipped)


def is_grey(im: Image.Image) -> bool:
    """Whether ``im`` is stored greyscale: by its mode; a palette of greys counts as grey,
    and so does a WebP whose three channels are equal (WebP has no greyscale mode)."""
    if im.mode in ("P", "PA"):
        return _all_grey(np.array(im.getpalette() or [0, 0, 0]).reshape(-1, 3))
    if im.format == "WEBP":
        return _all_grey(np.asarray(im.convert("RGB")).reshape(-1, 3))
    return im.getbands()[0] in GREY_BANDS


def _all_grey(rgb: np.ndarray) -> bool:
    return bool((rgb == rgb[:, :1]).all())


def _converted(im: Image.Image, grey: bool, channels: int | None) -> Image.Image:
    """``im`` upright, as 8-bit ``L`` or ``RGB`` (alpha dropped; 16-bit scaled to 8)."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        levels = np.asarray(im, dtype=np.float64)
        wide = im.mode.startswith("I;16") or levels.max(initial=0) > 255
        im = Image.fromarray(
            np.clip(np.rint(levels / (257 if wide else 1)), 0, 255).astype(np.uint8)
        )
    one = channels == 1 or (channels is None and grey)
    return im.convert("L" if one else "RGB")


def _square(im: Image.Image, image_size: int | None, resize: str) -> Image.Image:
    if image_size is None or im.size == (image_size, image_size):
        return im
    if resize == "crop":
        return ImageOps.fit(im, (image_size, image_size), RESAMPLE)
    return ImageOps.pad(im, (image_size, image_size), RESAMPLE, color=0)


def _mixed_channels(a: tuple[Path, bool], b: tuple[Path, bool]) -> str:
    (grey_file,), (colour_file,) = ([f for f, g in (a, b) if g is kind] for kind in (True, False))
    return (
        f"the images mix greyscale ({grey_file}) and colour ({colour_file}): set "
        "data.channels=1 to read all as greyscale or data.channels=3 to read all as colour"
    )
