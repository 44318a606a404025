"""What every dataset shares: subset by size, validation split, augmentation, loaders.

Also the two knobs that separate "more data" from "more training": offline
expansion to ``synthetic_size`` augmented images, and ``samples_per_epoch``.

A concrete datamodule only says how to read its files (``read_split``) and,
where a reference experiment fixes them, its validation split and subset slices.
The validation and test images are set apart before the training subset is drawn, so
neither ``size`` nor ``subset``/``subset_seed`` ever changes what a run is scored on
(unless ``val_size`` is a fraction, which holds out part of the subset itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from auglab.checks import check_fraction, check_int
from auglab.data.dataset import ArrayDataset, collate_prebatched
from auglab.data.device import DeviceBatches, check_device_batches, to_device
from auglab.data.subset import (
    check_size,
    check_subset_mode,
    check_subset_seed,
    resolve_size,
    select_subset,
)
from auglab.data.synthetic import check_synthetic_size, expand
from auglab.data.validation import check_val_size, draw_count, hold_out
from auglab.errors import ConfigError, one_line

if TYPE_CHECKING:
    import albumentations as A

log = logging.getLogger(__name__)


class ImageDataModule(L.LightningDataModule):
    """Base datamodule for small in-memory image classification datasets."""

    #: Class names in label order; ``num_classes`` is their count.
    class_names: Sequence[str] = ()
    #: ``size -> (start, stop)`` slices of the training pool fixed by a reference experiment.
    reference_slices: dict[int, tuple[int, int]] = {}
    #: Whether MNIST-C's released files are corruptions of this dataset's test split.
    mnist_c_release: bool = False
    #: Per-channel (mean, std) of the training images in [0, 1], set by a datamodule that
    #: asks the network to standardise its inputs with them (image_folder); None: as loaded.
    channel_stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    #: The count ``data.val_size`` takes to mean the dataset's own split (as null does):
    #: MNIST's 5,000, E1's fixed tail.
    default_val_size: int | None = None

    def __init__(
        self,
        data_dir: str | Path,
        size: int | None = None,
        subset: str = "reference",
        subset_seed: int | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        pad_to: int | None = None,
        val_fraction: float = 0.2,
        val_from_test: bool = False,
        val_size: int | float | None = None,
        split_seed: int | None = None,
        seed: int = 0,
        augment: A.Compose | None = None,
        synthetic_size: int | None = None,
        synthetic_dir: str | Path | None = None,
        samples_per_epoch: int | None = None,
        device_batches: bool | str = "auto",
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.size = check_size(size)
        self.subset = check_subset_mode(subset)
        #: Seeds a class-stratified draw of the training subset, apart from ``seed``: the
        #: images a run trains on vary with it, never with the training seed.
        self.subset_seed = check_subset_seed(subset_seed)
        self.batch_size = check_int(batch_size, "data.batch_size", 1)
        self.eval_batch_size = check_int(eval_batch_size, "data.eval_batch_size", 1)
        self.num_workers = check_int(
            num_workers, "data.num_workers", 0, hint="0 loads batches in the training process"
        )
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.pad_to = pad_to
        self.val_fraction = check_fraction(
            val_fraction, "data.val_fraction", hint="the share of train held out for validation"
        )
        self.val_from_test = bool(val_from_test)
        #: ``data.val_size`` as set (module ``auglab.data.validation``); None: the dataset's
        #: own split. The number of validation images is ``val_size``.
        self.val_size_setting = check_val_size(val_size, self.default_val_size, val_from_test)
        #: Seeds the validation split; None follows ``seed``. A fixed value keeps the
        #: validation images the same across training seeds.
        self.split_seed = split_seed
        self.seed = seed
        self.augment = augment
        self.synthetic_size = check_synthetic_size(synthetic_size, augment)
        self.synthetic_dir = None if synthetic_dir is None else Path(synthetic_dir)
        self.samples_per_epoch = check_int(
            samples_per_epoch,
            "data.samples_per_epoch",
            1,
            allow_none=True,
            hint="training samples drawn per epoch, or null for one pass over the training set",
        )
        self.device_batches = check_device_batches(device_batches)
        self._start_unloaded(seed)

    def _start_unloaded(self, seed: int) -> None:
        """What ``setup`` fills in, empty until then."""
        self._on_device: dict[str, tuple[torch.device, torch.Tensor, torch.Tensor]] = {}
        #: Real images the training set comes from (before any synthetic expansion).
        self.train_size: int | None = None
        #: Images of the training pool the subset is drawn from (validation set apart).
        self.pool_size: int | None = None
        #: Their rows in ``read_split("train")``: which images the subset took.
        self.train_indices: np.ndarray | None = None
        #: Draws the order of training samples (and the loader's worker seeds) apart from
        #: torch's global generator, so it is saved in checkpoints and a resumed run
        #: continues the same sequence of epochs (``state_dict``).
        self.order_generator = torch.Generator().manual_seed(int(seed))
        self.train_set: ArrayDataset | None = None
        self.val_set: ArrayDataset | None = None
        self.test_set: ArrayDataset | None = None

    # ---- what a concrete dataset provides -------------------------------------------------
    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``uint8`` images (N, H, W, C) and int labels of ``split`` ("train" or "test")."""
        raise NotImplementedError

    def validation_split(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(training pool, validation) indices; default: seeded stratified ``val_fraction``."""
        rng = np.random.default_rng(self.validation_seed())
        val = []
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            val.append(members[: round(len(members) * self.val_fraction)])
        val_idx = np.sort(np.concatenate(val))
        return np.setdiff1d(np.arange(len(labels)), val_idx), val_idx

    def validation_seed(self) -> int:
        """Seeds the validation split (``val_fraction``, or a count ``val_size``):
        ``split_seed``, or with it null the training ``seed``."""
        if self.split_seed is None and self.subset_seed is not None:
            # The pool would follow `seed`, and so would the images drawn from it.
            raise ConfigError(
                f"data.subset_seed={self.subset_seed} keeps the training images the same for "
                "every seed, but data.split_seed=null draws the validation split (and the pool "
                "left to train on) with each seed: set data.split_seed, e.g. data.split_seed=0"
            )
        return self.seed if self.split_seed is None else self.split_seed

    # ---- shared behaviour -----------------------------------------------------------------
    @property
    def val_size(self) -> int:
        """Images the run validates on (chooses its epoch on): the record's ``val_size``."""
        if self.val_set is None:
            raise RuntimeError("val_size is known after setup('fit')")
        return len(self.val_set)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images the network receives."""
        if self.train_set is None:
            raise RuntimeError("input_shape is known after setup('fit')")
        _, h, w, c = self.train_set.images.shape
        return (c, h, w)

    def load(self) -> None:
        """Read the files and build the splits, before any training: any way a file can be
        broken becomes one ConfigError naming the dataset folder and the fix."""
        try:
            self.prepare_data()
            self.setup("fit")
        except ConfigError:
            raise
        except Exception as err:
            raise ConfigError(
                f"cannot read {type(self).__name__.removesuffix('DataModule')} from {self.data_dir} "
                f"({one_line(err)}): a file there is damaged or truncated; replace it with an intact "
                "copy (or delete it and let data.download=true fetch it again)"
            ) from err

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None and stage in (None, "fit", "validate"):
            images, labels = self.read_split("train")
            images = self.pad(images)
            chosen, val = self._train_and_val(labels)
            self.train_set = ArrayDataset(images[chosen], labels[chosen], transform=self.augment)
            self.train_size, self.train_indices = len(chosen), chosen
            if self.synthetic_size is not None:
                # Trained on without online augmentation, as E1's synthetic run.
                self.train_set = ArrayDataset(
                    *expand(self.train_set, self.synthetic_size, self.seed, self.synthetic_dir)
                )
            if val is None:
                self.setup("test")
                self.val_set = self.test_set
            else:
                self.val_set = ArrayDataset(images[val], labels[val])
            if self.device_batches is True and self.train_set.augments_per_image:
                raise ConfigError(
                    "data.device_batches=true needs an augmentation that runs as one batched "
                    f"warp, but {_aug_names(self.train_set)} runs on the host (per image or as a "
                    "policy on uint8 batches): use "
                    "data.device_batches=auto"
                )
        if self.test_set is None and stage in (None, "test", "predict"):
            images, labels = self.read_split("test")
            self.test_set = ArrayDataset(self.pad(images), labels)

    def _train_and_val(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(training, validation) rows of the train split; validation None: the test set."""
        setting = self.val_size_setting
        if self.val_from_test:  # E4: all training images train; the test set validates
            pool, val = np.arange(len(labels)), None
        elif isinstance(setting, int):  # a drawn count; the pool is the rest
            pool, val = draw_count(labels, setting, self.validation_seed())
        else:
            pool, val = self.validation_split(labels)
        chosen = pool[self._subset(labels[pool])]
        if isinstance(setting, float):  # a share of the very subset a run without it trains on
            seed = self.seed if self.subset_seed is None else self.subset_seed
            keep, held = hold_out(labels[chosen], setting, seed)
            chosen, val = chosen[keep], chosen[held]
        return chosen, val

    def _subset(self, pool_labels: np.ndarray) -> np.ndarray:
        """Positions in the training pool (validation already set apart) the run trains on;
        a fractional ``size`` is resolved here, where the pool is known (``pool_size``)."""
        self.pool_size = len(pool_labels)
        size = resolve_size(self.size, self.pool_size)
        if isinstance(self.val_size_setting, int) and (size or 0) > self.pool_size:
            raise ConfigError(
                f"data.size={size} is larger than the {self.pool_size} images left to train on "
                f"after data.val_size={self.val_size_setting}: use data.size<={self.pool_size} "
                "or a smaller data.val_size"
            )
        if isinstance(self.size, float):
            log.info(
                "data.size=%g: %d of the %d pool images",
                self.size,
                size or self.pool_size,
                self.pool_size,
            )
        if self.subset_seed is not None and self.subset != "stratified" and size is not None:
            log.info(
                "data.subset_seed=%d: a class-stratified draw of %d images replaces "
                "data.subset=%s's fixed slice",
                self.subset_seed,
                size,
                self.subset,
            )
        return select_subset(
            pool_labels,
            size,
            self.subset,
            self.seed,
            self.reference_slices,
            subset_seed=self.subset_seed,
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"order_generator": self.order_generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        self.order_generator.set_state(state_dict["order_generator"])

    def train_dataloader(self) -> DataLoader | DeviceBatches:
        if self._batches_on_device():
            images, labels = self._device_split("train", self.train_set)
            return DeviceBatches(
                images,
                labels,
                self.batch_size,
                generator=self.order_generator,
                num_samples=self.samples_per_epoch,
                augment=self.train_set.batched_augment,
            )
        sampler = None
        if self.samples_per_epoch is not None and self.train_set is not None:
            # A fixed number of draws per epoch, so every data.size takes the same optimiser
            # steps; with replacement only when the set is smaller than an epoch.
            sampler = RandomSampler(
                self.train_set,
                replacement=len(self.train_set) < self.samples_per_epoch,
                num_samples=self.samples_per_epoch,
                generator=self.order_generator,
            )
        return self._loader(self.train_set, self.batch_size, train=True, sampler=sampler)

    def val_dataloader(self) -> DataLoader | DeviceBatches:
        if self._batches_on_device():
            return DeviceBatches(*self._device_split("val", self.val_set), self.eval_batch_size)
        return self._loader(self.val_set, self.eval_batch_size, train=False)

    def test_dataloader(self) -> DataLoader | DeviceBatches:
        if self._batches_on_device():
            return DeviceBatches(*self._device_split("test", self.test_set), self.eval_batch_size)
        return self._loader(self.test_set, self.eval_batch_size, train=False)

    def _batches_on_device(self) -> bool:
        """``device_batches``: true, false, or auto (on when one GPU trains and the
        augmentation, if any, is a batched warp that can run there too)."""
        if self.device_batches is not True and self.device_batches is not False:
            trainer = self.trainer
            return (
                trainer is not None
                and trainer.strategy.root_device.type != "cpu"
                and trainer.world_size == 1
                and self.train_set is not None
                and not self.train_set.augments_per_image
            )
        return self.device_batches

    def _device_split(
        self, split: str, dataset: ArrayDataset | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``dataset`` as uint8 (N, C, H, W) and labels on the training device, copied once."""
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        cached = self._on_device.get(split)
        if cached is None or cached[0] != device:
            cached = (device, *to_device(dataset.images, dataset.labels, device))
            self._on_device[split] = cached
        return cached[1], cached[2]

    def _loader(
        self,
        dataset: ArrayDataset | None,
        batch_size: int,
        train: bool,
        sampler: RandomSampler | None = None,
    ) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        workers = self.num_workers if train else 0  # evaluation sets need no augmentation
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=train and sampler is None,
            sampler=sampler,
            num_workers=workers,
            # Fresh workers each epoch, seeded from order_generator: a resumed run's
            # workers then draw what the uninterrupted run's drew.
            persistent_workers=False,
            pin_memory=self.pin_memory,
            collate_fn=collate_prebatched,
            generator=self.order_generator if train else None,
        )

    def replace_test_set(self, dataset: ArrayDataset | None) -> ArrayDataset | None:
        """Serve ``dataset`` (images as ``pad`` leaves them) as the test split from now on;
        returns the set it replaces. The corruption suite and other test sets go through the
        very test loader (batches, device, conversion) the job's own test set went through."""
        previous = self.test_set
        self.test_set = dataset
        self._on_device.pop("test", None)
        return previous

    def pad(self, images: np.ndarray) -> np.ndarray:
        """``read_split``'s images as the splits hold them: padded to ``pad_to``. Public so
        that test sets made elsewhere (MNIST-C's files) are padded as this test set was."""
        if self.pad_to is None:
            return images
        _, h, w, _ = images.shape
        if self.pad_to < max(h, w):
            raise ConfigError(
                f"data.pad_to={self.pad_to} is smaller than the {h}x{w} images: use data.pad_to=null or >= {max(h, w)}"
            )
        top, left = (self.pad_to - h) // 2, (self.pad_to - w) // 2
        pads = ((0, 0), (top, self.pad_to - h - top), (left, self.pad_to - w - left), (0, 0))
        return np.pad(images, pads)


def _aug_names(dataset: ArrayDataset) -> str:
    return "+".join(type(t).__name__ for t in dataset.transform.transforms)


def download_failed(err: BaseException) -> str:
    """The last line of a torchvision download error: the part that says why."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"and the download failed: {lines[-1] if lines else type(err).__name__}"
