"""Your own images, in the layout torchvision's ``ImageFolder`` reads: one folder per class.

``data.root`` holds either

- ``train/<class>/*`` and ``test/<class>/*``: the test set is yours; or
- ``<class>/*`` alone: a seeded, class-stratified ``test_fraction`` of each class is the
  test set, drawn by ``test_split_seed`` alone, so it never changes with the training seed.

Class names are the sorted folder names (hidden folders are ignored, nested folders are
not read). PNG, JPEG, BMP and WebP files are read (suffix in any case); other files are
ignored. Validation is the base's stratified ``val_fraction`` of train. Images are
decoded once (``auglab.data.image_decode``) and cached in ``<root>/.auglab_cache_*.npz``
(``auglab.data.image_cache``), rebuilt when a file or a decoding knob changes.

``channel_stats`` are the per-channel mean and std of the images the run trains on (the
subset drawn by ``size``, before any synthetic expansion, after ``pad_to``): with
``normalize`` the job standardises the network's inputs with them. MNIST-C's corruptions
(``shift=mnist_c``) are generated for a folder's test set, grey or colour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auglab.checks import check_fraction, check_int
from auglab.data.base import ImageDataModule
from auglab.data.image_cache import PREFIX, files_key, read_cache, write_cache
from auglab.data.image_decode import EXTENSIONS, RESIZE_MODES, decode_images, is_image_file
from auglab.errors import ConfigError

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the cached layout changes
LAYOUT = "one folder of images per class, or train/ and test/ with one each"
SHOWN_SKIPPED = 3  # names of files left out shown in the warning


@dataclass(frozen=True)
class Split:
    """One folder of class folders: its image files and their class indices."""

    folder: Path
    files: list[Path]
    labels: np.ndarray


class ImageFolderDataModule(ImageDataModule):
    """Images in ``<root>/<class>/`` or ``<root>/{train,test}/<class>/``, any common format."""

    def __init__(
        self,
        data_dir: str | Path,
        root: str | Path | None = None,
        image_size: int | None = 32,
        resize: str = "crop",
        channels: int | None = None,
        test_fraction: float = 0.2,
        test_split_seed: int = 0,
        normalize: bool = True,
        skip_bad_files: bool = False,
        cache: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(data_dir, **kwargs)
        self.root = Path(root) if root is not None else self.data_dir / "images"
        self.image_size = check_int(
            image_size,
            "data.image_size",
            1,
            allow_none=True,
            hint="the side in pixels such as 32, or null when all images share one size",
        )
        if resize not in RESIZE_MODES:
            raise ConfigError(
                f"data.resize={resize!r} is unknown: use crop (fill the square, cut the long "
                "side) or pad (keep the whole image, zero borders)"
            )
        if channels not in (None, 1, 3) or isinstance(channels, bool):
            raise ConfigError(
                f"data.channels={channels!r} must be 1 (greyscale), 3 (colour) or null (as the "
                "files are)"
            )
        self.resize, self.channels = resize, channels
        self.test_fraction = check_fraction(
            test_fraction, "data.test_fraction", hint="the share of each class held out as test"
        )
        self.test_split_seed = check_int(test_split_seed, "data.test_split_seed", 0)
        self.normalize, self.skip_bad_files = bool(normalize), bool(skip_bad_files)
        self.cache = bool(cache)
        self._decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # ---- files ----------------------------------------------------------------------------
    def prepare_data(self) -> None:
        self._layout()

    def _layout(self) -> dict[str, Split]:
        """``{"train": ..., "test": ...}`` or ``{"all": ...}``; any bad layout is one line."""
        if not self.root.is_dir():
            raise ConfigError(
                f"image folder data.root={self.root} not found: set data.root to a folder "
                f"holding {LAYOUT}"
            )
        folders = _subfolders(self.root)
        names = {f.name for f in folders}
        if not {"train", "test"} & names:
            self.class_names = _classes(self.root, folders)
            return {"all": _split(self.root, folders)}
        if names != {"train", "test"}:
            if {"train", "test"} <= names:
                others = ", ".join(sorted(names - {"train", "test"}))
                found = f"train/ and test/ beside other folders ({others})"
            else:
                found = "train/ but no test/" if "train" in names else "test/ but no train/"
            raise ConfigError(
                f"data.root={self.root} holds {found}: use train/<class>/ and test/<class>/ "
                "only, or class folders only (a seeded data.test_fraction of each class is "
                "then the test set)"
            )
        train, test = (self.root / s for s in ("train", "test"))
        classes = _classes(train, _subfolders(train))
        test_classes = _classes(test, _subfolders(test))
        if classes != test_classes:
            only_train = sorted(set(classes) - set(test_classes)) or ["-"]
            only_test = sorted(set(test_classes) - set(classes)) or ["-"]
            raise ConfigError(
                f"train/ and test/ in data.root={self.root} hold different classes (only in "
                f"train: {', '.join(only_train)}; only in test: {', '.join(only_test)}): give "
                "both the same class folders"
            )
        self.class_names = classes
        return {s: _split(self.root / s, _subfolders(self.root / s)) for s in ("train", "test")}

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Both splits are decoded and checked at the first call (``load``, before training),
        so a bad test file stops the run before it trains, not after."""
        if not self._decoded:
            self._decoded = self._read_splits(self._layout())
        return self._decoded[split]

    def _read_splits(self, layout: dict[str, Split]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if "all" in layout:
            images, labels = self._decode("all", layout["all"])
            self._check_counts(labels, layout["all"].folder, self._fractions(test=True))
            test = self._test_rows(labels)
            train = np.setdiff1d(np.arange(len(labels)), test)
            return {"train": (images[train], labels[train]), "test": (images[test], labels[test])}
        splits = {}
        for split, fractions in (("train", self._fractions(test=False)), ("test", [])):
            images, labels = self._decode(split, layout[split])
            self._check_counts(labels, layout[split].folder, fractions)
            splits[split] = (images, labels)
        (h, w, c), (th, tw, tc) = (splits[s][0].shape[1:] for s in ("train", "test"))
        if c != tc:
            raise ConfigError(
                f"the images of train/ have {c} channels but those of test/ {tc}: set "
                "data.channels=1 to read all as greyscale or data.channels=3 to read all as colour"
            )
        if (h, w) != (th, tw):
            raise ConfigError(
                f"the images of train/ are {h}x{w} but those of test/ {th}x{tw}: data.image_size="
                "null needs images of one size; set data.image_size (e.g. 32) to resize them"
            )
        return splits

    def cache_file(self, split: str) -> Path:
        """``<root>/.auglab_cache_<split>_<size>_<resize>_<channels>.npz``; split ``all`` is
        the single-tree layout before its test split."""
        knobs = f"{self.image_size or 'native'}_{self.resize}_{self.channels or 'auto'}"
        return self.root / f"{PREFIX}{split}_{knobs}.npz"

    def _decode(self, split: str, found: Split) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of one folder tree, from the cache when its files are unchanged."""
        header = (
            f"v{CACHE_VERSION} size={self.image_size} resize={self.resize} "
            f"channels={self.channels} skip_bad={bool(self.skip_bad_files)}"
        )
        key = files_key(header, found.files, root=found.folder)
        cache = self.cache_file(split)
        stored = read_cache(cache, key) if self.cache else None
        if stored is None:
            decoded = decode_images(
                found.files, self.image_size, self.resize, self.channels, self.skip_bad_files
            )
            stored = {
                "images": decoded.images,
                "kept": decoded.kept,
                "skipped": np.array(decoded.skipped, dtype=str),
            }
            if self.cache:
                write_cache(cache, key, **stored)
        skipped = stored["skipped"].tolist()
        if skipped:
            more = (
                f" and {len(skipped) - SHOWN_SKIPPED} more" if len(skipped) > SHOWN_SKIPPED else ""
            )
            log.warning(
                "data.skip_bad_files=true: left out %d files of %s that do not decode as "
                "images: %s%s",
                len(skipped),
                found.folder,
                ", ".join(skipped[:SHOWN_SKIPPED]),
                more,
            )
        return stored["images"], found.labels[stored["kept"]]

    # ---- splits ---------------------------------------------------------------------------
    def _test_rows(self, labels: np.ndarray) -> np.ndarray:
        """A class-stratified ``test_fraction`` of the single tree, seeded by
        ``test_split_seed`` alone: the same test images for every training seed."""
        rng = np.random.default_rng(self.test_split_seed)
        test = []
        for c in range(self.num_classes):
            members = rng.permutation(np.flatnonzero(labels == c))
            test.append(members[: round(len(members) * self.test_fraction)])
        return np.sort(np.concatenate(test))

    def _fractions(self, test: bool) -> list[tuple[str, float]]:
        """The stratified splits a class goes through, in order: test (single tree), validation."""
        fractions = [("data.test_fraction", self.test_fraction)] if test else []
        if not self.val_from_test and not isinstance(self.val_size_setting, int):
            fractions.append(("data.val_fraction", self.val_fraction))  # a count replaces it
        return fractions

    def _check_counts(
        self, labels: np.ndarray, folder: Path, fractions: list[tuple[str, float]]
    ) -> None:
        """Refuse a class too small for the stratified ``fractions`` ahead of it, by name."""
        need = _fewest(fractions)
        counts = np.bincount(labels, minlength=self.num_classes)
        for c in np.flatnonzero(counts < need):
            name = self.class_names[c]
            splits = " and ".join(f"{k}={v}" for k, v in fractions)
            why = f" for {splits}" if splits else ""
            fix = f", or lower {fractions[0][0]}" if fractions else ""
            raise ConfigError(
                f"class {name!r} has {counts[c]} readable images in {folder} but needs at least "
                f"{need}{why}: add images to {folder / name}{fix}"
            )

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.normalize and self.channel_stats is None and self.train_indices is not None:
            images, _ = self.read_split("train")
            self.channel_stats = channel_stats(self.pad(images[self.train_indices]))
            log.info(
                "Normalising inputs with the training images' per-channel mean %s and std %s",
                _rounded(self.channel_stats[0]),
                _rounded(self.channel_stats[1]),
            )


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of ``uint8`` (N, H, W, C) images scaled to [0, 1], as the
    network receives them; a constant channel's std is 1 (nothing to scale)."""
    total = np.zeros(images.shape[-1])
    squares = np.zeros(images.shape[-1])
    for start in range(0, len(images), 1024):  # float64 sums, a chunk at a time
        chunk = images[start : start + 1024].reshape(-1, images.shape[-1]).astype(np.float64)
        total += chunk.sum(axis=0)
        squares += np.square(chunk).sum(axis=0)
    count = max(1, images.size // images.shape[-1])
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 255.0)
    return tuple((mean / 255).tolist()), tuple((std / 255).tolist())


def _rounded(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _classes(folder: Path, subfolders: list[Path]) -> tuple[str, ...]:
    """The sorted class folder names; no class folders, or one, is refused."""
    if not subfolders:
        loose = sum(1 for p in folder.iterdir() if is_image_file(p))
        held = f" (it holds {loose} images directly)" if loose else ""
        raise ConfigError(
            f"{folder} holds no class folders{held}: data.root must hold {LAYOUT}, e.g. "
            f"{folder}/cat/1.png and {folder}/dog/2.jpg"
        )
    if len(subfolders) == 1:
        raise ConfigError(
            f"{folder} holds one class folder ({subfolders[0].name}): a classifier needs at "
            "least two classes, one folder each"
        )
    return tuple(p.name for p in subfolders)


def _split(folder: Path, class_folders: list[Path]) -> Split:
    """Every image file of each class folder, in name order; an empty class is refused."""
    files, labels = [], []
    for c, class_folder in enumerate(class_folders):
        found = sorted(p for p in class_folder.iterdir() if is_image_file(p))
        if not found:
            raise ConfigError(
                f"class folder {class_folder} holds no images ({', '.join(EXTENSIONS)}): add "
                "some or remove the folder"
            )
        files += found
        labels += [c] * len(found)
    return Split(folder, files, np.array(labels, dtype=np.int64))


def _fewest(fractions: list[tuple[str, float]]) -> int:
    """The fewest images a class needs so that each stratified split in turn leaves at
    least one image on both sides (rounded as ``validation_split`` rounds)."""
    for n in range(1, 10_000):
        left, ok = n, True
        for _, fraction in fractions:
            held = round(left * fraction)
            ok = ok and 1 <= held < left
            left -= held
        if ok:
            return n
    return 10_000
