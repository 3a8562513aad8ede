"""Trusted metrics on held-out labels, for the grader's ``check(..., transform=...)``.

A test cell probes only a model's predictions (plain numbers from the student's kernel);
the grader scores them here against labels it loads itself. NumPy only, so that the
grader never needs Keras or torch. Predictions of the wrong length are an error, not a
silent broadcast.
"""
from __future__ import annotations

import numpy as np

LOG_2PI = float(np.log(2 * np.pi))


def _column(values: object, n: int, what: str) -> np.ndarray:
    """``values`` as a float vector of length ``n``; shape (n,) and (n, 1) are both fine."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n,):
        raise ValueError(f"{what}: expected shape ({n},) or ({n}, 1), got {arr.shape}")
    return arr


def binary_nll(y: object, p: object, eps: float = 1e-7) -> float:
    """Mean Bernoulli NLL of probabilities ``p`` for labels ``y`` in {0, 1}; p clipped like Keras.

    Values outside [0, 1] (or NaN) are an error: clipping them, as Keras' loss does, would
    let a linear output that overshoots score well.
    """
    y = np.asarray(y, dtype=float).ravel()
    p = _column(p, len(y), "probabilities")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities must lie in [0, 1] (and not be NaN)")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def accuracy(y: object, p: object, threshold: float = 0.5) -> float:
    """Share of labels that ``p > threshold`` predicts correctly (NaN predictions count as wrong)."""
    y = np.asarray(y).ravel()
    p = _column(p, len(y), "probabilities")
    return float(np.mean((p > threshold).astype(int) == y))


def gaussian_nll(y: object, mu: object, sigma: object) -> float:
    """Mean Gaussian NLL, including the 0.5·log(2π) term."""
    y = np.asarray(y, dtype=float).ravel()
    mu, sigma = _column(mu, len(y), "mu"), _column(sigma, len(y), "sigma")
    return float(np.mean(np.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2 + 0.5 * LOG_2PI))


def hetero_nll(y: object, out: object) -> float:
    """Mean Gaussian NLL of a two-output network: mu = out[:, 0], sigma = exp(out[:, 1])."""
    y = np.asarray(y, dtype=float).ravel()
    out = np.asarray(out, dtype=float)
    if out.shape != (len(y), 2):
        raise ValueError(f"outputs: expected shape ({len(y)}, 2), got {out.shape}")
    mu, log_sigma = out[:, 0], out[:, 1]
    return float(np.mean(log_sigma + 0.5 * ((y - mu) * np.exp(-log_sigma)) ** 2 + 0.5 * LOG_2PI))


def _log_sigma_ratios(out: object) -> tuple[float, float]:
    out = np.asarray(out, dtype=float)
    if out.shape != (3, 2):
        raise ValueError(f"outputs at three inputs: expected shape (3, 2), got {out.shape}")
    log_sigma = out[:, 1]
    return float(log_sigma[0] - log_sigma[1]), float(log_sigma[2] - log_sigma[1])


def sigma_ratio(out: object) -> float:
    """For outputs at x = (-a, 0, a): the smaller of sigma(-a) / sigma(0) and sigma(a) / sigma(0)."""
    return float(np.exp(min(_log_sigma_ratios(out))))


def largest_sigma_ratio(out: object) -> float:
    """For outputs at x = (-a, 0, a): the larger of sigma(-a) / sigma(0) and sigma(a) / sigma(0)."""
    return float(np.exp(max(_log_sigma_ratios(out))))
