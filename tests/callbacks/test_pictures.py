"""RunPictures: which PNGs a run leaves, in-process on a tiny dataset, and once end to end."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import albumentations as A
import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from auglab.callbacks import RunPictures
from auglab.data.base import ImageDataModule
from auglab.errors import ConfigError
from auglab.models import ImageClassifier
from auglab.models.nets import LeNet5
from tests.helpers import quiet_trainer, train

PICTURES = {
    "augmented_samples.png",
    "confusion_matrix.png",
    "learning_curves.png",
    "learning_rate.png",
    "misclassified.png",
}


class Bars(ImageDataModule):
    """Three classes of 32x32 images: a bright bar whose row is the class, on noise.

    A fifth of the test labels are wrong, so even a perfect model misclassifies some.
    """

    class_names = ("top", "middle", "bottom")

    def read_split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        n = 120 if split == "train" else 60
        rng = np.random.default_rng(0 if split == "train" else 1)
        labels = np.arange(n) % 3
        images = rng.integers(0, 60, size=(n, 32, 32, 1), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 6 + 9 * label : 9 + 9 * label, 6:26] = 255
        if split == "test":
            labels = np.where(np.arange(n) % 5 == 0, (labels + 1) % 3, labels)
        return images, labels


def fit_and_test(
    tmp_path: Path,
    callbacks: list[L.Callback],
    augment: bool = True,
    scheduler: bool = True,
    test: bool = True,
    **trainer_kwargs,
) -> tuple[L.Trainer, ImageClassifier]:
    L.seed_everything(0, workers=True)
    augmentation = A.Compose([A.Affine(rotate=(-30, 30), p=1.0)]) if augment else None
    data = Bars(tmp_path, batch_size=16, eval_batch_size=30, augment=augmentation)
    step_lr = partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    model = ImageClassifier(
        LeNet5(num_classes=3),
        partial(torch.optim.Adam, lr=3e-3),
        step_lr if scheduler else None,
        channels_last=False,
    )
    trainer = quiet_trainer(tmp_path, callbacks=callbacks, **trainer_kwargs)
    trainer.fit(model, datamodule=data)
    if test:
        trainer.test(model, datamodule=data, verbose=False)
    return trainer, model


def png(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image


@pytest.mark.slow
def test_a_run_leaves_every_picture_at_its_drawn_size(tmp_path):
    pictures = RunPictures(
        tmp_path / "pictures", max_misclassified=5, augmented_images=4, augmented_draws=3
    )
    fit_and_test(tmp_path, [pictures])
    assert {p.name for p in (tmp_path / "pictures").iterdir()} == PICTURES
    # Inches at 100 dpi. Grids: cells of 1.4 (samples) or 1.6 (misclassified) by 1.25 times
    # that, plus a 0.4 title: the original and 3 draws in 4 rows; 5 images in one row.
    # 3 classes: a 6.35 x 5.35 confusion matrix.
    sizes = {
        "augmented_samples.png": (560, 740),
        "confusion_matrix.png": (635, 535),
        "learning_curves.png": (1500, 420),
        "learning_rate.png": (600, 400),
        "misclassified.png": (800, 240),
    }
    for name, size in sizes.items():
        image = png(tmp_path / "pictures" / name)
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", size), name
    assert set(pictures.seconds) == PICTURES
    # Every 5th of the 60 test labels is wrong: at least 12 misclassified, the grid keeps 5.
    images, targets, preds = (torch.cat(parts) for parts in zip(*pictures._wrong, strict=True))
    assert images.shape == (5, 1, 32, 32)
    assert (targets != preds).all()
    assert int(pictures._confmat.compute().sum()) == 60


@pytest.mark.slow
def test_curves_hold_one_point_per_epoch_of_the_metrics_the_module_logged(tmp_path):
    pictures = RunPictures(tmp_path / "pictures")
    trainer, _ = fit_and_test(tmp_path, [pictures], test=False, max_epochs=3)
    epochs = {k: sorted(v) for k, v in pictures._epochs.items()}
    assert epochs == {k: [1, 2, 3] for k in ("train/loss", "train/acc", "val/loss", "val/acc")}
    # The last epoch's values are the ones Lightning reports at the end, not the previous epoch's.
    for key in ("train/loss", "train/acc", "val/loss", "val/acc"):
        assert pictures._epochs[key][3] == pytest.approx(float(trainer.callback_metrics[key]))
    assert pictures._epochs["train/loss"][1] != pictures._epochs["train/loss"][3]
    steps = torch.cat(pictures._step_losses)
    assert steps.shape == (3 * trainer.num_training_batches,)
    assert not steps.requires_grad
    # StepLR halves the rate after every epoch: the picture shows the rate each epoch used.
    assert pictures._lrs == pytest.approx({1: 3e-3, 2: 1.5e-3, 3: 7.5e-4})


@pytest.mark.slow
def test_drawing_augmented_samples_leaves_the_training_run_unchanged(tmp_path):
    quick = dict(test=False, limit_val_batches=0)
    _, without = fit_and_test(tmp_path / "a", [], **quick)
    pictures = RunPictures(tmp_path / "b" / "pictures", augmented_images=3, augmented_draws=5)
    _, with_pictures = fit_and_test(tmp_path / "b", [pictures], **quick)
    assert (tmp_path / "b" / "pictures" / "augmented_samples.png").exists()
    for a, b in zip(without.parameters(), with_pictures.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_without_augmentation_scheduler_or_validation_only_those_pictures_are_left_out(tmp_path):
    pictures = RunPictures(tmp_path / "pictures")
    fit_and_test(tmp_path, [pictures], augment=False, scheduler=False, limit_val_batches=0)
    names = {p.name for p in (tmp_path / "pictures").iterdir()}
    assert names == {"learning_curves.png", "confusion_matrix.png", "misclassified.png"}
    assert pictures._epochs["val/loss"] == {} and list(pictures._epochs["train/loss"]) == [1]


@pytest.mark.slow
def test_fast_dev_run_still_draws_its_pictures(tmp_path):
    fit_and_test(tmp_path, [RunPictures(tmp_path / "pictures")], fast_dev_run=True)
    assert {p.name for p in (tmp_path / "pictures").iterdir()} == PICTURES


@pytest.mark.slow
def test_disabled_pictures_write_nothing(tmp_path):
    fit_and_test(tmp_path, [RunPictures(tmp_path / "pictures", enabled=False)], fast_dev_run=True)
    assert not (tmp_path / "pictures").exists()


def test_a_negative_count_is_a_config_error_naming_the_fix():
    with pytest.raises(ConfigError, match=r"max_misclassified=-1 must be a whole number >= 0"):
        RunPictures("pictures", max_misclassified=-1)


@pytest.mark.slow
def test_end_to_end_pictures_reach_the_job_dir_wandb_and_tensorboard(run_env, tmp_path):
    out = tmp_path / "run"
    train(
        "trainer.max_epochs=1",
        "data.size=200",
        "aug=on",
        "scheduler=plateau",
        "logger=many",
        "callbacks.pictures.augmented_images=4",
        "callbacks.pictures.augmented_draws=5",
        f"hydra.run.dir={out}",
        env=run_env,
    )
    assert {p.name for p in (out / "pictures").iterdir()} == PICTURES
    # 10 MNIST classes: a 9.5 x 8.5 in confusion matrix; samples: 6 x 1.4 in by 4 x 1.75 + 0.4.
    assert png(out / "pictures" / "confusion_matrix.png").size == (950, 850)
    assert png(out / "pictures" / "augmented_samples.png").size == (840, 740)
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1

    (run,) = (out / "wandb").glob("offline-run-*")
    media = {p.name.rsplit("_", 2)[0] for p in (run / "files" / "media" / "images").rglob("*.png")}
    assert media == {n.removesuffix(".png") for n in PICTURES}

    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = set(events.Tags()["images"])
    assert tags == {f"pictures/{n.removesuffix('.png')}" for n in PICTURES}
    (cm,) = events.Images("pictures/confusion_matrix")
    assert (cm.width, cm.height) == (950, 850)
