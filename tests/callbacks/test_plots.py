"""The figures of auglab.plots (used by RunPictures and the sweep report): content and size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchmetrics.classification import MulticlassConfusionMatrix

from auglab import plots


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_confusion_matrix_annotates_each_count_and_names_both_axes():
    confmat = MulticlassConfusionMatrix(3)
    preds = torch.tensor([0, 0, 1, 2, 2, 2, 1])
    target = torch.tensor([0, 1, 1, 2, 2, 0, 1])
    confmat.update(preds, target)
    fig = plots.confusion_matrix_figure(confmat, ["cat", "dog", "fox"])
    (ax, *_) = fig.axes
    # rows = true, columns = predicted: [[1, 0, 1], [1, 2, 0], [0, 0, 2]]
    assert texts(fig)[:9] == ["1", "0", "1", "1", "2", "0", "0", "0", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "fox"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "fox"]
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"
    assert "7 images" in ax.get_title()


def test_many_classes_drop_the_unreadable_counts():
    confmat = MulticlassConfusionMatrix(40)
    confmat.update(torch.arange(40), torch.arange(40))
    fig = plots.confusion_matrix_figure(confmat, [f"c{i}" for i in range(40)])
    assert texts(fig) == []


def test_misclassified_titles_say_true_then_predicted_class():
    images = torch.rand(7, 1, 28, 28)
    fig = plots.misclassified_figure(
        images, torch.tensor([0, 1, 2, 0, 1, 2, 0]), torch.tensor([1, 2, 0, 2, 0, 1, 2]), "abc"
    )
    assert texts(fig) == ["a / b", "b / c", "c / a", "a / c", "b / a", "c / b", "a / c"]
    assert fig._suptitle.get_text().startswith("Misclassified")
    (shown,) = fig.axes[0].images
    assert shown.get_array().shape[:2] == (2 * (28 + 2 + 8), 6 * (28 + 2))  # 2 rows of 6


def test_no_misclassified_image_says_so():
    empty = torch.empty(0)
    fig = plots.misclassified_figure(empty, empty, empty, "abc")
    assert [t.get_text() for t in fig.texts] == ["No misclassified test image"]


def test_augmented_samples_put_each_original_before_its_draws():
    originals = [np.full((8, 8, 3), 255, dtype=np.uint8), np.zeros((8, 8, 3), dtype=np.uint8)]
    draws = [torch.full((2, 3, 8, 8), 0.5), torch.full((2, 3, 8, 8), 0.25)]
    fig = plots.augmented_samples_figure(originals, draws, ["big", "small"])
    assert [t for t in texts(fig) if t] == [
        "original, class big",
        "draw 1",
        "draw 2",
        "class small",
    ]
    mosaic = fig.axes[0].images[0].get_array()
    cell_h, cell_w = 8 + 2 + 2, 8 + 2  # pad 2, title band round(0.25 * 10)
    first = mosaic[2:10, 1:9]
    second_row_draw = mosaic[cell_h + 2 : cell_h + 10, cell_w + 1 : cell_w + 9]
    assert np.allclose(first, 1.0) and np.allclose(second_row_draw, 0.25)


def test_learning_curves_show_train_and_val_per_epoch_and_batches_on_log_x():
    epochs = {
        "train/loss": [(1, 2.0), (2, 1.0)],
        "val/loss": [(2, 1.5)],  # validated every other epoch
        "train/acc": [(1, 0.3), (2, 0.6)],
        "val/acc": [(2, 0.5)],
    }
    fig = plots.learning_curves_figure(epochs, [2.3, 2.0, 1.2, 0.9])
    loss_ax, acc_ax, step_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train", "val"]
    assert list(loss_ax.lines[1].get_xdata()) == [2]
    assert list(acc_ax.lines[0].get_ydata()) == [0.3, 0.6]
    assert step_ax.get_xscale() == "log"
    assert list(step_ax.lines[0].get_xdata()) == [1, 2, 3, 4]


def test_learning_rate_steps_per_epoch_on_log_y():
    fig = plots.learning_rate_figure([(1, 1e-3), (2, 1e-3), (3, 3e-4)])
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert list(ax.lines[0].get_ydata()) == [1e-3, 1e-3, 3e-4]


def test_sweep_figure_draws_a_line_per_setting_and_a_band_where_seeds_vary():
    fig = plots.sweep_report_figure(
        {"off": [(1000, 0.9, 0.01), (100, 0.7, 0.02)], "on": [(100, 0.8, None), (1000, 0.95, None)]}
    )
    (ax,) = fig.axes
    off, on = (line for line in ax.lines if line.get_label() in ("off", "on"))
    assert list(off.get_xdata()) == [100, 1000]  # sorted by size
    assert list(on.get_ydata()) == [0.8, 0.95]
    assert len(ax.collections) == 2  # error bars and band of "off" only
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize(("width", "height"), [(6.0, 4.0), (15.0, 4.2)])
def test_saved_png_is_figsize_times_dpi(tmp_path, width, height):
    path = plots.save_png(plots.new_figure(width, height), tmp_path / "a" / "fig.png")
    with Image.open(path) as image:
        assert image.size == (round(width * plots.DPI), round(height * plots.DPI))
