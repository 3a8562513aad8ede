from . import Case

BERNOULLI = ("test_bernoulli_nll", "test_bernoulli_nll_hidden")
CATEGORICAL = ("test_categorical_nll", "test_categorical_nll_hidden")
GAUSSIAN = ("test_gaussian_nll", "test_gaussian_nll_hidden")
MSE = ("test_mse", "test_mse_hidden")
HETERO = ("test_hetero_nll", "test_hetero_nll_hidden")
OLS = ("test_ols_fit", "test_ols_fit_hidden")


def gaussian(per_obs: str, reduce: str = "np.mean") -> str:
    """A gaussian_nll whose per-observation term (or reduction) is written wrongly."""
    return (f"def gaussian_nll(y, mu, sigma):\n    y, mu, sigma = np.asarray(y, float), np.asarray(mu, float), np.asarray(sigma, float)\n"
            f"    return {reduce}({per_obs})\n")


RIGHT_GAUSSIAN_TERM = "0.5 * np.log(2 * np.pi) + np.log(sigma) + (y - mu) ** 2 / (2 * sigma ** 2)"

MISTAKES = [
    # A constant answer earns nothing, in the public tests and in the hidden ones: each returns its first public test's
    # expected value. hetero_nll (the solution's) calls gaussian_nll, so it falls with it.
    Case("bernoulli_nll_constant", {"bernoulli_nll": "def bernoulli_nll(y, p, eps=1e-7):\n    return 0.2797765635793423\n"},
         frozenset(BERNOULLI)),
    Case("categorical_nll_constant", {"categorical_nll": "def categorical_nll(y, probs, eps=1e-7):\n    return 0.4337502838523616\n"},
         frozenset(CATEGORICAL)),
    Case("gaussian_nll_constant", {"gaussian_nll": "def gaussian_nll(y, mu, sigma):\n    return 0.5 * np.log(2 * np.pi)\n"},
         frozenset({*GAUSSIAN, *HETERO})),
    Case("mse_constant", {"mse": "def mse(y, mu):\n    return 5 / 3\n"}, frozenset(MSE)),
    Case("hetero_nll_constant", {"hetero_nll": (
        "def hetero_nll(y, out):\n    return 0.5 * np.log(2 * np.pi) + (np.log(2.0) + 1 / 8) / 2\n")},
         frozenset(HETERO)),
    Case("ols_fit_constant", {"ols_fit": "def ols_fit(x, y):\n    return 1.4, 1.9, np.sqrt(0.05)\n"}, frozenset(OLS)),
    Case("bernoulli_sum", {"bernoulli_nll": (
        "def bernoulli_nll(y, p, eps=1e-7):\n    p = np.clip(p, eps, 1 - eps)\n"
        "    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))\n")},
         frozenset(BERNOULLI)),
    # log(0): inf, nan and divide-by-zero warnings at p = 0 or 1
    Case("bernoulli_no_clip", {"bernoulli_nll": (
        "def bernoulli_nll(y, p, eps=1e-7):\n    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n")},
         frozenset(BERNOULLI)),
    Case("bernoulli_ignores_eps", {"bernoulli_nll": (
        "def bernoulli_nll(y, p, eps=1e-7):\n    p = np.clip(p, 1e-7, 1 - 1e-7)\n"
        "    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n")},
         frozenset({"test_bernoulli_nll_hidden"})),
    Case("categorical_sum", {"categorical_nll": (
        "def categorical_nll(y, probs, eps=1e-7):\n"
        "    return -np.sum(np.log(np.clip(probs[np.arange(len(y)), y], eps, 1 - eps)))\n")},
         frozenset(CATEGORICAL)),
    # probs[:, y] is an (n, n) matrix: every example's probability of every observed label
    Case("categorical_column_indexing", {"categorical_nll": (
        "def categorical_nll(y, probs, eps=1e-7):\n    return -np.mean(np.log(np.clip(probs[:, y], eps, 1 - eps)))\n")},
         frozenset(CATEGORICAL)),
    Case("categorical_no_clip", {"categorical_nll": (
        "def categorical_nll(y, probs, eps=1e-7):\n    return -np.mean(np.log(probs[np.arange(len(y)), y]))\n")},
         frozenset(CATEGORICAL)),
    # hetero_nll (the solution's) calls gaussian_nll, so it falls with it
    Case("gaussian_no_constant", {"gaussian_nll": gaussian("np.log(sigma) + (y - mu) ** 2 / (2 * sigma ** 2)")},
         frozenset({*GAUSSIAN, *HETERO})),
    Case("gaussian_log_variance", {"gaussian_nll": gaussian(
        "0.5 * np.log(2 * np.pi) + np.log(sigma ** 2) + (y - mu) ** 2 / (2 * sigma ** 2)")},
         frozenset({*GAUSSIAN, *HETERO})),
    Case("gaussian_no_half", {"gaussian_nll": gaussian(
        "0.5 * np.log(2 * np.pi) + np.log(sigma) + (y - mu) ** 2 / sigma ** 2")},
         frozenset({*GAUSSIAN, *HETERO})),
    Case("gaussian_sum", {"gaussian_nll": gaussian(RIGHT_GAUSSIAN_TERM, "np.sum")},
         frozenset({*GAUSSIAN, *HETERO})),
    Case("mse_root", {"mse": "def mse(y, mu):\n    return np.sqrt(np.mean((y - mu) ** 2))\n"}, frozenset(MSE)),
    Case("mse_sum", {"mse": "def mse(y, mu):\n    return np.sum((y - mu) ** 2)\n"}, frozenset(MSE)),
    Case("mse_absolute", {"mse": "def mse(y, mu):\n    return np.mean(np.abs(y - mu))\n"}, frozenset(MSE)),
    # log sigma used as sigma: log(0) and negative scales
    Case("hetero_no_exp", {"hetero_nll": "def hetero_nll(y, out):\n    return gaussian_nll(y, out[:, 0], out[:, 1])\n"},
         frozenset(HETERO)),
    Case("hetero_swapped_columns", {"hetero_nll": (
        "def hetero_nll(y, out):\n    return gaussian_nll(y, out[:, 1], np.exp(out[:, 0]))\n")},
         frozenset(HETERO)),
    Case("hetero_sum", {"hetero_nll": (
        "def hetero_nll(y, out):\n    return len(y) * gaussian_nll(y, out[:, 0], np.exp(out[:, 1]))\n")},
         frozenset(HETERO)),
    Case("ols_n_minus_1", {"ols_fit": (
        "def ols_fit(x, y):\n    slope, intercept = np.polyfit(x, y, 1)\n"
        "    return slope, intercept, np.std(y - intercept - slope * x, ddof=1)\n")},
         frozenset(OLS)),
    Case("ols_variance_not_sd", {"ols_fit": (
        "def ols_fit(x, y):\n    slope, intercept = np.polyfit(x, y, 1)\n"
        "    return slope, intercept, np.mean((y - intercept - slope * x) ** 2)\n")},
         frozenset(OLS)),
    # np.polyfit returns the highest power first
    Case("ols_polyfit_order", {"ols_fit": (
        "def ols_fit(x, y):\n    intercept, slope = np.polyfit(x, y, 1)\n"
        "    return slope, intercept, np.std(y - intercept - slope * x)\n")},
         frozenset(OLS)),
    # np.cov divides by n - 1, np.var by n: the slope is n / (n - 1) too steep
    Case("ols_mixed_ddof", {"ols_fit": (
        "def ols_fit(x, y):\n    slope = np.cov(x, y)[0, 1] / np.var(x)\n    intercept = np.mean(y) - slope * np.mean(x)\n"
        "    return slope, intercept, np.std(y - intercept - slope * x)\n")},
         frozenset(OLS)),
]

CORRECT = [
    Case("scipy_and_polyfit", {
        "bernoulli_nll": ("from scipy import stats\n\ndef bernoulli_nll(y, p, eps=1e-7):\n"
                          "    return -np.mean(stats.bernoulli.logpmf(y, np.clip(p, eps, 1 - eps)))\n"),
        "categorical_nll": ("def categorical_nll(y, probs, eps=1e-7):\n"
                            "    picked = np.take_along_axis(np.asarray(probs), np.asarray(y, dtype=np.int64)[:, None], axis=1)\n"
                            "    return -np.mean(np.log(np.clip(picked, eps, 1 - eps)))\n"),
        "gaussian_nll": ("from scipy import stats\n\ndef gaussian_nll(y, mu, sigma):\n"
                         "    return -np.mean(stats.norm.logpdf(y, loc=mu, scale=sigma))\n"),
        "mse": "def mse(y, mu):\n    return np.mean(np.square(np.subtract(y, mu)))\n",
        "hetero_nll": ("def hetero_nll(y, out):\n    mu, log_sigma = out[:, 0], out[:, 1]\n"
                       "    return np.mean(0.5 * np.log(2 * np.pi) + log_sigma + 0.5 * (y - mu) ** 2 * np.exp(-2 * log_sigma))\n"),
        "ols_fit": ("def ols_fit(x, y):\n    slope, intercept = np.polyfit(x, y, 1)\n"
                    "    return slope, intercept, np.std(y - np.polyval([slope, intercept], x))\n"),
    }),
    Case("loops_and_math", {
        "bernoulli_nll": ("import math\n\ndef bernoulli_nll(y, p, eps=1e-7):\n    total, n = 0.0, 0\n"
                          "    for yi, pi in zip(np.ravel(y), np.ravel(p)):\n        pi = min(max(float(pi), eps), 1 - eps)\n"
                          "        total -= yi * math.log(pi) + (1 - yi) * math.log(1 - pi)\n        n += 1\n    return total / n\n"),
        "categorical_nll": ("def categorical_nll(y, probs, eps=1e-7):\n    onehot = np.eye(probs.shape[1])[y]\n"
                            "    return -np.mean(np.sum(onehot * np.log(np.clip(probs, eps, 1 - eps)), axis=1))\n"),
        "gaussian_nll": ("import math\n\ndef gaussian_nll(y, mu, sigma):\n    ys, ms, ss = np.broadcast_arrays(y, mu, sigma)\n"
                         "    terms = [0.5 * math.log(2 * math.pi) + math.log(s) + (a - m) ** 2 / (2 * s * s)\n"
                         "             for a, m, s in zip(ys.ravel(), ms.ravel(), ss.ravel())]\n    return sum(terms) / len(terms)\n"),
        "mse": "def mse(y, mu):\n    d = np.ravel(np.asarray(y, float) - mu)\n    return float(d @ d) / d.size\n",
        "ols_fit": ("import math\n\ndef ols_fit(x, y):\n    n = len(x)\n    sx, sy = sum(x), sum(y)\n"
                    "    sxx, sxy = sum(a * a for a in x), sum(a * b for a, b in zip(x, y))\n"
                    "    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)\n    intercept = (sy - slope * sx) / n\n"
                    "    sigma = math.sqrt(sum((b - intercept - slope * a) ** 2 for a, b in zip(x, y)) / n)\n"
                    "    return slope, intercept, sigma\n"),
    }),
    # Keras' own binary cross-entropy on probabilities (it clips at 1e-7; a larger eps is clipped first).
    # float(tensor), not keras.ops.convert_to_numpy: the latter emits a numpy-2 DeprecationWarning, which warns=False counts.
    Case("keras_binary_crossentropy", {
        "bernoulli_nll": ("import keras\n\ndef bernoulli_nll(y, p, eps=1e-7):\n"
                          "    y, p = np.atleast_1d(y).astype(float), np.clip(np.atleast_1d(p).astype(float), eps, 1 - eps)\n"
                          "    return float(keras.ops.mean(keras.losses.binary_crossentropy(y, p)))\n"),
    }),
]
