"""The UCI banknote data: find it, check it, split it the same way everywhere.

Lookup order: ``$PDL_DATA_DIR``, then the user cache, then a download from UCI
into that cache. A copy is accepted by its content (shape, class counts, column
means), not its bytes, because copies differ in line endings.
"""
from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILENAME = "data_banknote_authentication.txt"
URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00267/" + FILENAME
CITATION = (
    "Banknote Authentication, UCI Machine Learning Repository (id 267), "
    "V. Lohweg and H. Dörksen, 2013, doi:10.24432/C55P57, CC BY 4.0"
)
FEATURES = ("skewness", "entropy")  # columns 1 and 3 of the raw file
SPLIT_SEED = 42
TEST_FRACTION = 0.2

# Content fingerprint from ../shared/README.md.
_SHAPE = (1372, 5)
_COUNTS = (762, 610)
_MEAN_SKEWNESS = 1.922353
_MEAN_ENTROPY = -1.191657


class DataError(RuntimeError):
    """The banknote data is missing or is not the expected content."""


@dataclass(frozen=True)
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pdl"


def candidates() -> list[Path]:
    """Where the data file is looked for, in order: ``$PDL_DATA_DIR``, then the user cache."""
    found = []
    if os.environ.get("PDL_DATA_DIR"):
        found.append(Path(os.environ["PDL_DATA_DIR"]) / FILENAME)
    found.append(cache_dir() / FILENAME)
    return found


def validate(raw: np.ndarray, source: str = "data") -> np.ndarray:
    """Return ``raw`` if it is the UCI banknote table, else raise DataError."""
    problems = []
    if raw.shape != _SHAPE:
        problems.append(f"shape {raw.shape} != {_SHAPE}")
    else:
        counts = (int((raw[:, 4] == 0).sum()), int((raw[:, 4] == 1).sum()))
        if counts != _COUNTS:
            problems.append(f"class counts {counts} != {_COUNTS}")
        if round(float(raw[:, 1].mean()), 6) != _MEAN_SKEWNESS:
            problems.append(f"mean skewness {raw[:, 1].mean():.6f} != {_MEAN_SKEWNESS}")
        if round(float(raw[:, 3].mean()), 6) != _MEAN_ENTROPY:
            problems.append(f"mean entropy {raw[:, 3].mean():.6f} != {_MEAN_ENTROPY}")
    if problems:
        raise DataError(f"{source} is not the UCI banknote data: " + "; ".join(problems))
    return raw


def _parse(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path} is not a comma-separated table of numbers: {exc}") from exc


def _download(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with urllib.request.urlopen(URL, timeout=30) as response:  # a fixed https URL
        tmp.write_bytes(response.read())
    validate(_parse(tmp), f"the download from {URL}")
    tmp.replace(target)


def load_raw(download: bool = True) -> np.ndarray:
    """All five columns, validated. Downloads into the cache only as a last resort."""
    for path in candidates():
        if path.is_file():
            return validate(_parse(path), str(path))
    target = cache_dir() / FILENAME
    if download:
        try:
            _download(target)
            return validate(_parse(target), str(target))
        except OSError as exc:
            reason = f"the download from {URL} failed ({exc})"
    else:
        reason = "downloading is switched off"
    raise DataError(
        f"The banknote data was not found and {reason}. Put {FILENAME} into the directory "
        f"named by PDL_DATA_DIR (now {os.environ.get('PDL_DATA_DIR', 'unset')!r}) or into {target.parent}."
    )


def load_banknote(download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``X`` = (skewness, entropy) as float64, shape (1372, 2); ``y`` = 1 for fake, 0 for genuine."""
    raw = load_raw(download)
    return raw[:, [1, 3]].copy(), raw[:, 4].astype(np.int64)


def banknote_split(download: bool = True) -> Split:
    """The one train/test split that every chapter and exercise uses (stratified, seeded)."""
    X, y = load_banknote(download)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(y), dtype=bool)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        test[rng.choice(idx, size=round(len(idx) * TEST_FRACTION), replace=False)] = True
    return Split(X[~test], y[~test], X[test], y[test])
