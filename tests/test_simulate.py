"""pdl.simulate (the course's heteroscedastic data) and pdl.metrics (the grader's held-out metrics)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from pdl import metrics, simulate


def test_same_seed_same_data_other_seed_other_data():
    x1, y1 = simulate.hetero_data(50, 7)
    x2, y2 = simulate.hetero_data(50, 7)
    x3, _ = simulate.hetero_data(50, 8)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape == y1.shape == (50,) and x1.dtype == y1.dtype == np.float64


def test_matches_the_books_inline_generator():
    rng = np.random.default_rng(2024)
    x = rng.uniform(-1, 1, size=1000)
    y = 2 * x + rng.normal(size=1000) * (np.abs(x) + 0.1)
    got = simulate.hetero_data(1000, 2024)
    assert np.array_equal(got[0], x) and np.array_equal(got[1], y)


def test_distribution_mean_2x_and_sd_abs_x_plus_01():
    x, y = simulate.hetero_data(200_000, 0)
    assert x.min() >= -1 and x.max() < 1
    z = (y - 2 * x) / (np.abs(x) + 0.1)  # standard normal if the model is right
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    for lo, hi in [(-1.0, -0.8), (-0.05, 0.05), (0.8, 1.0)]:
        inside = (x >= lo) & (x < hi)
        assert np.std(y[inside] - 2 * x[inside]) == pytest.approx(np.sqrt(np.mean(simulate.true_sd(x[inside]) ** 2)), rel=0.03)


def test_split_is_fixed_and_train_and_test_differ():
    a, b = simulate.hetero_split(), simulate.hetero_split()
    assert a.x_train.shape == (simulate.N_TRAIN,) and a.x_test.shape == (simulate.N_TEST,)
    assert np.array_equal(a.y_test, b.y_test)
    assert not np.isin(a.x_test, a.x_train).any()
    assert np.array_equal(a.x_train, simulate.hetero_data(simulate.N_TRAIN, simulate.TRAIN_SEED)[0])


def test_negative_n_is_an_error():
    with pytest.raises(ValueError):
        simulate.hetero_data(-1, 0)


def test_binary_nll_and_accuracy():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.0])
    want = -np.mean([np.log(0.9), np.log(0.8), np.log(0.4), np.log(1 - 1e-7)])
    assert metrics.binary_nll(y, p) == pytest.approx(want)
    assert metrics.binary_nll(y, p[:, None]) == pytest.approx(want)  # Keras' (n, 1) predictions
    assert metrics.accuracy(y, p[:, None]) == 0.75
    with pytest.raises(ValueError, match="shape"):
        metrics.binary_nll(y, p[:3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.binary_nll(y, np.array([1.5, 0.2, 0.4, 0.1]))  # a linear output that overshoots
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.binary_nll(y, np.array([np.nan, 0.2, 0.4, 0.1]))


def test_gaussian_and_hetero_nll_agree_with_scipy():
    rng = np.random.default_rng(1)
    y, mu, log_sigma = rng.normal(size=30), rng.normal(size=30), rng.normal(scale=0.5, size=30)
    want = -np.mean(norm.logpdf(y, loc=mu, scale=np.exp(log_sigma)))
    assert metrics.gaussian_nll(y, mu, np.exp(log_sigma)) == pytest.approx(want)
    assert metrics.hetero_nll(y, np.column_stack([mu, log_sigma])) == pytest.approx(want)
    with pytest.raises(ValueError, match="shape"):
        metrics.hetero_nll(y, mu[:, None])  # one output is not (mu, log sigma)


def test_true_distribution_scores_best_on_the_test_set():
    s = simulate.hetero_split()
    true_out = np.column_stack([simulate.true_mean(s.x_test), np.log(simulate.true_sd(s.x_test))])
    const_out = np.column_stack([2 * s.x_test, np.full(len(s.x_test), np.log(np.sqrt(np.mean(simulate.true_sd(s.x_test) ** 2))))])
    assert metrics.hetero_nll(s.y_test, true_out) < metrics.hetero_nll(s.y_test, const_out) - 0.2


def test_sigma_ratio():
    out = np.array([[0.0, np.log(1.0)], [0.0, np.log(0.1)], [0.0, np.log(2.0)]])
    assert metrics.sigma_ratio(out) == pytest.approx(10.0)  # the smaller side
    assert metrics.largest_sigma_ratio(out) == pytest.approx(20.0)
    for ratio in (metrics.sigma_ratio, metrics.largest_sigma_ratio):
        with pytest.raises(ValueError):
            ratio(out[:2])
