"""The course's simulated heteroscedastic data: x ~ U(-1, 1), y = 2x + noise with sd |x| + 0.1.

One seeded generator, so that the book, the exercises and the grader all see the same
numbers. ``hetero_data(1000, 2024)`` is the data of the book's regression chapter;
``hetero_split()`` is the fixed train/test pair of exercise 6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SLOPE = 2.0
SD_OFFSET = 0.1
TRAIN_SEED, TEST_SEED = 2024, 2025
N_TRAIN, N_TEST = 1000, 2000  # a larger test set: its mean NLL varies less from set to set


@dataclass(frozen=True)
class HeteroSplit:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def true_mean(x: np.ndarray) -> np.ndarray:
    """E[Y | x] = 2x."""
    return SLOPE * np.asarray(x, dtype=float)


def true_sd(x: np.ndarray) -> np.ndarray:
    """sd(Y | x) = |x| + 0.1: the noise grows with the distance from 0."""
    return np.abs(np.asarray(x, dtype=float)) + SD_OFFSET


def hetero_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs (x, y) as float64 arrays of shape (n,); the same seed gives the same data.

    The draws come in this order (x first, then the standard normal noise), so that
    the book's inline ``rng.uniform`` / ``rng.normal`` code gives the same numbers.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=n)
    y = true_mean(x) + rng.normal(size=n) * true_sd(x)
    return x, y


def hetero_split() -> HeteroSplit:
    """The fixed training set (seed 2024, 1000 points) and test set (seed 2025, 2000 points)."""
    x_train, y_train = hetero_data(N_TRAIN, TRAIN_SEED)
    x_test, y_test = hetero_data(N_TEST, TEST_SEED)
    return HeteroSplit(x_train, y_train, x_test, y_test)
