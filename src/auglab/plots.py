"""The figures a run and a sweep leave behind, drawn headless.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot on
an Agg canvas: nothing is shown, no global figure state is touched (importing
this module in a notebook does not change its backend), and ``save_png``
writes a file of exactly ``figsize * dpi`` pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator, ScalarFormatter

from auglab import atomic

if TYPE_CHECKING:  # not imported at run time: `python -m auglab.report` needs no torch
    from torch import Tensor
    from torchmetrics.classification import MulticlassConfusionMatrix

#: Resolution of every saved picture.
DPI = 100
#: Beyond this many classes the per-cell counts would overlap: the colours alone are drawn.
MAX_ANNOTATED_CLASSES = 30


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas, laid out so titles and labels are never clipped."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG of ``figsize * DPI`` pixels (no tight bbox: stable sizes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    return path


def confusion_matrix_figure(
    confmat: MulticlassConfusionMatrix, class_names: Sequence[str]
) -> Figure:
    """Counts per (true, predicted) class, annotated in each cell, class names on both axes.

    Drawn by torchmetrics' own ``plot`` (which annotates the counts and labels the
    axes "True class" / "Predicted class") onto a figure sized for the class count.
    """
    n = len(class_names)
    side = min(4.0 + 0.45 * n, 16.0)
    fig = new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    confmat.plot(ax=ax, labels=list(class_names), add_text=n <= MAX_ANNOTATED_CLASSES)
    for text in ax.texts:  # torchmetrics' 15 pt suits a handful of classes only
        text.set_fontsize(max(6, min(12, 120 // max(n, 1))))
    ax.tick_params(axis="y", labelrotation=0)
    total = int(confmat.compute().sum())
    ax.set_title(f"Test confusion matrix ({total} images)")
    return fig


def _as_hwc(image: Tensor | np.ndarray) -> np.ndarray:
    """(H, W, C) floats in [0, 1] from a CHW float tensor or an HWC uint8 array."""
    if not isinstance(image, np.ndarray):  # a torch tensor
        return image.detach().float().cpu().permute(1, 2, 0).numpy()
    return image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image


def image_grid_figure(
    images: Sequence[Tensor | np.ndarray] | Tensor,
    titles: Sequence[str],
    ncols: int = 6,
    suptitle: str | None = None,
    cell: float = 1.6,
) -> Figure:
    """Images in a grid of ``cell`` x ``1.25 cell`` inch cells, each with its title above it.

    The images are pasted into one array shown by a single ``imshow``: one axes
    instead of one per image makes a 36-image grid several times faster to draw.
    """
    arrays = [_as_hwc(image) for image in images]
    if len({a.shape for a in arrays}) > 1:
        raise ValueError(
            f"images of one grid must share a shape, got {sorted({a.shape for a in arrays})}"
        )
    h, w, c = arrays[0].shape
    ncols = max(1, min(ncols, len(arrays)))
    nrows = -(-len(arrays) // ncols)
    pad = max(2, w // 16)
    title_px = round(0.25 * (w + pad))  # cell height = 1.25 x cell width
    cell_h, cell_w = h + pad + title_px, w + pad
    mosaic = np.ones((nrows * cell_h, ncols * cell_w, c), dtype=np.float32)  # white gaps
    for k, array in enumerate(arrays):
        row, col = divmod(k, ncols)
        top, left = row * cell_h + title_px, col * cell_w + pad // 2
        mosaic[top : top + h, left : left + w] = array
    header = 0.4 if suptitle else 0.0
    height = 1.25 * cell * nrows + header
    fig = Figure(figsize=(cell * ncols, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - header / height))
    gray = c == 1
    ax.imshow(mosaic[..., 0] if gray else mosaic, cmap="gray" if gray else None, vmin=0, vmax=1)
    ax.set_axis_off()
    for k, title in enumerate(titles):
        row, col = divmod(k, ncols)
        x, y = col * cell_w + cell_w / 2 - 0.5, row * cell_h + title_px - 1
        ax.text(x, y, title, ha="center", va="bottom", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, y=1.0 - 0.08 / height, va="top")
    return fig


def misclassified_figure(
    images: Tensor, targets: Tensor, preds: Tensor, class_names: Sequence[str], ncols: int = 6
) -> Figure:
    """Misclassified test images, each titled "true / predicted" with class names."""
    titles = [
        f"{class_names[int(t)]} / {class_names[int(p)]}"
        for t, p in zip(targets.tolist(), preds.tolist(), strict=True)
    ]
    if not titles:
        fig = new_figure(4.0, 1.5)
        fig.text(0.5, 0.5, "No misclassified test image", ha="center", va="center")
        return fig
    return image_grid_figure(
        images, titles, ncols=ncols, suptitle="Misclassified: true / predicted"
    )


def augmented_samples_figure(
    originals: Sequence[np.ndarray], draws: Sequence[Tensor], labels: Sequence[str]
) -> Figure:
    """One row per training image: the original (HWC uint8), then its augmented draws (CHW)."""
    ndraws = len(draws[0])
    images: list[Tensor | np.ndarray] = []
    titles: list[str] = []
    for row, (original, batch, label) in enumerate(zip(originals, draws, labels, strict=True)):
        images += [original, *batch]
        titles.append(f"original, class {label}" if row == 0 else f"class {label}")
        titles += [f"draw {k}" if row == 0 else "" for k in range(1, ndraws + 1)]
    return image_grid_figure(
        images,
        titles,
        ncols=ndraws + 1,
        cell=1.4,
        suptitle="Training augmentation: each original, then independent draws",
    )


def learning_curves_figure(
    epochs: Mapping[str, Sequence[tuple[int, float]]], step_losses: Sequence[float]
) -> Figure:
    """Per-epoch train/val loss and accuracy, and the per-batch training loss on a log-x axis.

    ``epochs`` maps a metric name (``train/loss``, ``val/acc``...) to (epoch, value)
    pairs, epochs counted from 1; a metric may miss epochs (validation every n epochs).
    """
    fig = new_figure(15.0, 4.2)
    loss_ax, acc_ax, step_ax = fig.subplots(1, 3)
    for ax, kind in ((loss_ax, "loss"), (acc_ax, "acc")):
        for split, style in (("train", "o-"), ("val", "s--")):
            points = epochs.get(f"{split}/{kind}", ())
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, label=split, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if kind == "acc" else "cross-entropy")
        ax.set_title("Accuracy per epoch" if kind == "acc" else "Loss per epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
            ax.xaxis.get_major_locator().set_params(integer=True)
    if len(step_losses):
        steps = np.arange(1, len(step_losses) + 1)
        step_ax.plot(steps, step_losses, linewidth=0.8)
        step_ax.set_xscale("log")
        step_ax.xaxis.set_major_formatter(ScalarFormatter())
    step_ax.set_xlabel("training batch")
    step_ax.set_ylabel("cross-entropy")
    step_ax.set_title("Training loss per batch")
    step_ax.grid(alpha=0.3, which="both")
    return fig


def learning_rate_figure(points: Sequence[tuple[int, float]]) -> Figure:
    """The learning rate in use during each epoch (log y: schedules act by factors)."""
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    if points:
        xs, ys = zip(*points, strict=True)
        ax.step(xs, ys, where="post", marker="o", markersize=4)
        ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate per epoch")
    ax.grid(alpha=0.3, which="both")
    return fig


def sweep_report_figure(
    lines: Mapping[str, Sequence[tuple[float, float, float | None]]],
    exchange: Mapping[str, Sequence[tuple[float, float, str | None]]] | None = None,
    shifted: Mapping[str, Sequence[tuple[float, float, float | None]]] | None = None,
    curves: Mapping[str, tuple[Sequence[tuple[float, float]], Sequence[tuple[float, float]]]]
    | None = None,
) -> Figure:
    """Test accuracy against training-set size (log x), one line per setting.

    ``lines`` maps a setting label to (train_size, mean, std or None) points; a
    shaded band of ±1 std is drawn where several seeds ran. With ``exchange``, a
    second panel: the real un-augmented images each setting is worth at each size
    (see ``auglab.report.exchange_fit``), from (train_size, real images, mark) points:
    mark None is read within ``off``'s sizes, ``"extrapolated"`` draws a hollow marker,
    ``"unreachable"`` a triangle at ``off``'s largest size (no size reaches it). With
    ``curves``, a panel of ``off``'s learning curve: per label, the jobs' (size, test error)
    points and the fitted curve's, log-log. With ``shifted``, a last panel: the accuracy
    over the corruption suite, as ``lines`` (same colours).
    """
    panels = 1 + (exchange is not None) + (shifted is not None) + (curves is not None)
    fig = new_figure(8.0 + 7.0 * (panels - 1), 5.0)
    axes = list(np.atleast_1d(fig.subplots(1, panels)))
    ax = axes.pop(0)
    rate_ax = axes.pop(0) if exchange is not None else None
    curve_ax = axes.pop(0) if curves is not None else None
    shift_ax = axes.pop(0) if shifted is not None else None
    colors = _accuracy_panel(ax, lines)
    sizes = sorted({p[0] for points in lines.values() for p in points})
    _size_axis(ax, sizes)
    ax.set_ylabel("test accuracy")
    ax.set_title("Test accuracy by training-set size (mean ± std over subsets and seeds)")
    if ax.lines:
        ax.legend(title="setting")
    if rate_ax is not None:
        _exchange_panel(rate_ax, exchange, colors, sizes)
    if curve_ax is not None:
        _curve_panel(curve_ax, curves)
    if shift_ax is not None:
        _accuracy_panel(shift_ax, shifted, colors)
        _size_axis(shift_ax, sorted({p[0] for points in shifted.values() for p in points}))
        shift_ax.set_ylabel("mean accuracy over the corruption suite")
        shift_ax.set_title("Under shift: accuracy over the corruptions by size")
        if shift_ax.lines:
            shift_ax.legend(title="setting")
    return fig


def _accuracy_panel(
    ax,
    lines: Mapping[str, Sequence[tuple[float, float, float | None]]],
    colors: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """One line per setting with a ±1 std band; returns each setting's colour (``colors``
    keeps the ones given, so a setting looks the same in every panel)."""
    colors = dict(colors or {})
    for label, points in lines.items():
        points = sorted(points)
        xs = np.array([p[0] for p in points], dtype=float)
        means = np.array([p[1] for p in points], dtype=float)
        stds = np.array([np.nan if p[2] is None else p[2] for p in points], dtype=float)
        (line,) = ax.plot(xs, means, "o-", label=label, color=colors.get(label))
        colors[label] = line.get_color()
        if np.isfinite(stds).any():
            ax.errorbar(
                xs, means, yerr=np.nan_to_num(stds), fmt="none", ecolor=line.get_color(), capsize=3
            )
            ax.fill_between(
                xs,
                means - np.nan_to_num(stds),
                means + np.nan_to_num(stds),
                color=line.get_color(),
                alpha=0.15,
                linewidth=0,
            )
    return colors


def _size_axis(ax, sizes: Sequence[float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{int(x):,}" for x in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training images (real)")
    ax.grid(alpha=0.3, which="both")


def _exchange_panel(
    ax,
    exchange: Mapping[str, Sequence[tuple[float, float, str | None]]],
    colors: Mapping[str, str],
    sizes: Sequence[float],
) -> None:
    ax.set_title("Exchange rate: real un-augmented images each setting is worth")
    if not exchange:
        ax.text(
            0.5,
            0.5,
            "No exchange rate: needs aug=off and another setting",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return
    if sizes:
        ax.plot(sizes, sizes, ":", color="gray", label="off (x1)")
    for label, points in exchange.items():
        points = sorted(points)
        color = colors.get(label)
        read = [(x, y) for x, y, mark in points if mark is None]
        if read:
            xs, ys = zip(*read, strict=True)
            (line,) = ax.plot(xs, ys, "o-", color=color, label=label)
            color = line.get_color()
        for marker, kind in (("o", "extrapolated"), ("^", "unreachable")):
            marked = [(x, y) for x, y, mark in points if mark == kind]
            if marked:
                xs, ys = zip(*marked, strict=True)
                (line,) = ax.plot(
                    xs, ys, marker, color=color, markersize=9, linestyle="none",
                    fillstyle="none", label=None if read else label,
                )  # fmt: skip
                color = line.get_color()
    _size_axis(ax, sizes)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("equivalent real images (○ extrapolated, △ beyond reach)")
    ax.legend(title="setting")


def _curve_panel(
    ax,
    curves: Mapping[str, tuple[Sequence[tuple[float, float]], Sequence[tuple[float, float]]]],
) -> None:
    """Each ``off`` curve's per-job test errors (dots) and its fitted curve (line), log-log."""
    ax.set_title("Learning curve of off: test error by size, fitted")
    for label, (points, fitted) in curves.items():
        xs, ys = zip(*points, strict=True)
        (dots,) = ax.plot(xs, ys, ".", alpha=0.5, label=f"{label} (jobs)")
        fx, fy = zip(*fitted, strict=True)
        ax.plot(fx, fy, "-", color=dots.get_color(), label=f"{label} (fit)")
    sizes = sorted({p[0] for points, _ in curves.values() for p in points})
    _size_axis(ax, sizes)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.set_ylabel("test error")
    if ax.lines:
        ax.legend()
