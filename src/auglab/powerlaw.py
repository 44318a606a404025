"""A learning curve as a power law with an asymptote, err(n) = a * n^(-b) + c, fitted by
least squares in log error, and read backwards: the n at which the curve reaches an error.

Test error falls with the training-set size roughly as a power law towards an irreducible
error c (Hestness et al. 2017; Viering and Loog 2022 survey the shapes). Fitting the log of
the error weighs a point at 1% error as much as one at 20%: the relative fit is what the
exchange rate needs. Many curves are fitted at once (a bootstrap's resamples, ``R`` rows),
so the fit is vectorised numpy: a grid on ``c`` gives each row its start, Levenberg-
Marquardt refines (log a, b, c) with ``c >= 0``. Fewer than ``MIN_SIZES_FOR_ASYMPTOTE``
sizes cannot tell c from the slope: then c = 0 and the fit is a line in log-log.

Per-job points at one size share n, so least squares over the jobs equals least squares
over each size's mean log error weighted by its job count: rows carry those means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Three parameters need a fourth size to leave a residual to fit them against.
MIN_SIZES_FOR_ASYMPTOTE = 4
#: Errors of 0 (a perfect test score) have no log: clipped to this.
MIN_ERROR = 1e-6
#: Levenberg-Marquardt iterations: the grid start is close, 40 reach 1e-10 of the optimum.
ITERATIONS = 40
#: Starts for c, as fractions of the smallest mean error.
C_GRID = np.linspace(0.0, 0.95, 20)


@dataclass(frozen=True)
class PowerLaw:
    """err(n) = a * n^(-b) + c; ``asymptote``: c was fitted (else fixed at 0)."""

    a: float
    b: float
    c: float
    asymptote: bool

    def error(self, n: float | np.ndarray) -> float | np.ndarray:
        return self.a * np.power(n, -self.b) + self.c

    @property
    def form(self) -> str:
        return "err(n) = a·n^(−b) + c" if self.asymptote else "err(n) = a·n^(−b)"


def log_errors(errors: np.ndarray) -> np.ndarray:
    return np.log(np.clip(errors, MIN_ERROR, None))


def fit_rows(
    sizes: np.ndarray, mean_log_err: np.ndarray, weights: np.ndarray, asymptote: bool
) -> np.ndarray:
    """(R, 3) parameters (log a, b, c), one row per curve of ``mean_log_err`` (R, S) over
    ``sizes`` (S,), each size weighted by ``weights`` (R, S): its job count."""
    x = np.log(np.asarray(sizes, dtype=float))
    y = np.atleast_2d(np.asarray(mean_log_err, dtype=float))
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    if not asymptote:
        log_a, b = _line(x, y, w)
        return np.stack([log_a, b, np.zeros_like(b)], axis=1)
    theta = _grid_start(x, y, w)
    return _levenberg_marquardt(x, y, w, theta)


def fit(sizes: np.ndarray, errors: np.ndarray) -> PowerLaw:
    """The curve through per-job (size, test error) points; with c when there are enough
    distinct sizes (``MIN_SIZES_FOR_ASYMPTOTE``), else c = 0."""
    sizes, errors = np.asarray(sizes, dtype=float), np.asarray(errors, dtype=float)
    distinct = np.unique(sizes)
    logs = log_errors(errors)
    means = np.array([logs[sizes == s].mean() for s in distinct])
    counts = np.array([(sizes == s).sum() for s in distinct], dtype=float)
    asymptote = len(distinct) >= MIN_SIZES_FOR_ASYMPTOTE
    (log_a, b, c), *_ = fit_rows(distinct, means[None], counts[None], asymptote)
    return PowerLaw(float(np.exp(log_a)), float(b), float(c), asymptote)


def invert(params: np.ndarray, error: np.ndarray) -> np.ndarray:
    """The n at which each curve (rows of (log a, b, c)) reaches ``error``: +inf when the
    error is at or below the asymptote c (no size reaches it), NaN when the curve does not
    fall (b <= 0)."""
    params = np.atleast_2d(params)
    log_a, b, c = params[:, 0], params[:, 1], params[:, 2]
    error = np.broadcast_to(np.asarray(error, dtype=float), b.shape)
    above = error - c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.exp((log_a - np.log(np.where(above > 0, above, 1.0))) / b)
    n = np.where(above > 0, n, np.inf)
    return np.where(b > 0, n, np.nan)


def _line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of y = log a - b x, per row."""
    sw = w.sum(axis=1)
    mx = (w * x).sum(axis=1) / sw
    my = (w * y).sum(axis=1) / sw
    sxx = (w * (x - mx[:, None]) ** 2).sum(axis=1)
    sxy = (w * (x - mx[:, None]) * (y - my[:, None])).sum(axis=1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    return my - slope * mx, -slope


def _model(x: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(a n^-b + c) per row and point, and a n^-b."""
    power = np.exp(theta[:, :1] - theta[:, 1:2] * x)
    return np.log(power + theta[:, 2:3]), power


def _sse(x: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return (w * (y - _model(x, theta)[0]) ** 2).sum(axis=1)


def _grid_start(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per row, the best of ``C_GRID`` starts: for each c, the line through log(err - c)."""
    floor = np.exp(y.min(axis=1))
    best = np.full(len(y), np.inf)
    theta = np.zeros((len(y), 3))
    for q in C_GRID:
        c = q * floor
        log_a, b = _line(x, np.log(np.exp(y) - c[:, None]), w)
        candidate = np.stack([log_a, b, c], axis=1)
        sse = _sse(x, y, w, candidate)
        better = sse < best
        best = np.where(better, sse, best)
        theta[better] = candidate[better]
    return theta


def _levenberg_marquardt(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Refine every row at once; a step that does not lower a row's error is refused and
    that row's damping raised. c is kept at or above 0 (projected)."""
    damping = np.full(len(y), 1e-3)
    sse = _sse(x, y, w, theta)
    for _ in range(ITERATIONS):
        g, power = _model(x, theta)
        f = np.exp(g)
        jac = np.stack([power / f, -x * power / f, 1.0 / f], axis=2)  # (R, S, 3)
        jtw = jac.transpose(0, 2, 1) * w[:, None, :]
        jtj = jtw @ jac
        grad = (jtw @ (y - g)[:, :, None])[:, :, 0]
        diag = np.einsum("rii->ri", jtj)
        lhs = jtj + (damping[:, None] * diag + 1e-12)[:, :, None] * np.eye(3)
        step = np.linalg.solve(lhs, grad[:, :, None])[:, :, 0]
        trial = theta + step
        trial[:, 2] = np.maximum(trial[:, 2], 0.0)
        trial_sse = _sse(x, y, w, trial)
        better = np.isfinite(trial_sse) & (trial_sse < sse)
        theta = np.where(better[:, None], trial, theta)
        sse = np.where(better, trial_sse, sse)
        damping = np.where(better, damping / 3, damping * 10)
    return theta
