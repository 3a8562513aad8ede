from . import Case

GD = ("test_gd_step", "test_gd_step_hidden")
GRAD = ("test_logistic_nll_grad", "test_logistic_nll_grad_hidden")
AUTO = ("test_autodiff_grad", "test_autodiff_grad_hidden")
FIT = ("test_fit_logistic_gd", "test_fit_logistic_gd_hidden")

# The reference fit_logistic_gd, with a marked line that some mistakes replace.
FIT_SOURCE = """def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(y)
    size = n if batch_size is None else int(batch_size)
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, size):
            batch = order[start:start + size]
            grad_w, grad_b = logistic_nll_grad(w, b, X[batch], y[batch])
            w, b = gd_step(w, grad_w, lr), gd_step(b, grad_b, lr)
        history.append(mean_nll(w, b, X, y))
    return w, float(b), np.array(history)
"""


def fit_with(old: str, new: str) -> str:
    assert FIT_SOURCE.count(old) == 1, old
    return FIT_SOURCE.replace(old, new)


AUTODIFF_SOURCE = """def autodiff_grad(w, b, X, y):
    w_t = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    b_t = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float64))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(X_t @ w_t + b_t, y_t)
    loss.backward()
    return w_t.grad.numpy(), b_t.grad.item()
"""


def autodiff_with(old: str, new: str) -> str:
    assert AUTODIFF_SOURCE.count(old) == 1, old
    return AUTODIFF_SOURCE.replace(old, new)


MISTAKES = [
    # constant answers, each equal to the expected value of one public check: the other checks of the cell catch them
    Case("gd_step_constant", {"gd_step": "def gd_step(w, grad, lr):\n    return 3.5\n"}, frozenset({*GD, *FIT})),
    # fit_logistic_gd steps along a constant gradient: its one small step is right, the banknote fit is not
    Case("logistic_nll_grad_constant", {"logistic_nll_grad": (
        "def logistic_nll_grad(w, b, X, y):\n    return np.array([-2 / 3, -2 / 3]), -1 / 6\n")},
         frozenset({*GRAD, *FIT})),
    Case("autodiff_grad_constant", {"autodiff_grad": (
        "def autodiff_grad(w, b, X, y):\n    return np.array([-0.36421064, -0.58084319]), -0.0314245351\n")},
         frozenset(AUTO)),
    # the optimum, hard-coded (it passed the public test before the one-step check on small data)
    Case("fit_logistic_gd_constant", {"fit_logistic_gd": (
        "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0):\n"
        "    w, b = np.array([-0.3293, -0.5270]), -0.1790\n"
        "    return w, b, np.full(epochs, mean_nll(w, b, X, y))\n")},
         frozenset(FIT)),
    # the solution's fit_logistic_gd calls gd_step: climbing uphill (or a step of size 1) ruins the fit too
    Case("gd_step_adds", {"gd_step": "def gd_step(w, grad, lr):\n    return w + lr * grad\n"},
         frozenset({*GD, *FIT})),
    Case("gd_step_ignores_lr", {"gd_step": "def gd_step(w, grad, lr):\n    return w - grad\n"},
         frozenset({*GD, *FIT})),
    # updates the caller's array (and fails on integer arrays); the fit does not notice, it rebinds w
    Case("gd_step_in_place", {"gd_step": "def gd_step(w, grad, lr):\n    w -= lr * grad\n    return w\n"},
         frozenset({"test_gd_step_hidden"})),
    # fit_logistic_gd calls logistic_nll_grad: gradient ascent and an n-times too large step break it
    Case("grad_wrong_sign", {"logistic_nll_grad": (
        "from scipy.special import expit\n\ndef logistic_nll_grad(w, b, X, y):\n"
        "    r = y - expit(X @ w + b)\n    return X.T @ r / len(y), float(np.mean(r))\n")},
         frozenset({*GRAD, *FIT})),
    Case("grad_sum_not_mean", {"logistic_nll_grad": (
        "from scipy.special import expit\n\ndef logistic_nll_grad(w, b, X, y):\n"
        "    r = expit(X @ w + b) - y\n    return X.T @ r, float(np.sum(r))\n")},
         frozenset({*GRAD, *FIT})),
    Case("autodiff_returns_tensors", {"autodiff_grad": autodiff_with(
        "return w_t.grad.numpy(), b_t.grad.item()", "return w_t.grad, b_t.grad")},
         frozenset(AUTO)),
    # b_t.grad stays None
    Case("autodiff_b_without_requires_grad", {"autodiff_grad": autodiff_with(
        "b_t = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)",
        "b_t = torch.tensor(float(b), dtype=torch.float64)")},
         frozenset(AUTO)),
    Case("autodiff_sum_loss", {"autodiff_grad": autodiff_with(
        "(X_t @ w_t + b_t, y_t)", "(X_t @ w_t + b_t, y_t, reduction='sum')")},
         frozenset(AUTO)),
    # float32 X times a float64 w: torch refuses; only the hidden test has float32 features
    Case("autodiff_keeps_float32", {"autodiff_grad": autodiff_with(
        "X_t = torch.as_tensor(np.asarray(X, dtype=np.float64))", "X_t = torch.as_tensor(np.asarray(X))")},
         frozenset({"test_autodiff_grad_hidden"})),
    # always full batch: too few steps at the mini-batch learning rate, and the seed changes nothing
    Case("fit_ignores_batch_size", {"fit_logistic_gd": fit_with(
        "size = n if batch_size is None else int(batch_size)", "size = n")},
         frozenset({"test_fit_logistic_gd_hidden"})),
    # the data are sorted by class, so unshuffled mini-batches end each epoch on fake notes only
    Case("fit_no_shuffle", {"fit_logistic_gd": fit_with(
        "order = rng.permutation(n)", "order = np.arange(n)")},
         frozenset({"test_fit_logistic_gd_hidden"})),
    # one entry per mini-batch: the full-batch public test cannot tell, the mini-batch hidden one can
    Case("fit_history_per_batch", {"fit_logistic_gd": fit_with(
        "            w, b = gd_step(w, grad_w, lr), gd_step(b, grad_b, lr)\n"
        "        history.append(mean_nll(w, b, X, y))\n",
        "            w, b = gd_step(w, grad_w, lr), gd_step(b, grad_b, lr)\n"
        "            history.append(mean_nll(w, b, X, y))\n")},
         frozenset({"test_fit_logistic_gd_hidden"})),
    # records the loss before the epoch's steps: history[-1] is not the loss of the returned parameters
    Case("fit_history_before_steps", {"fit_logistic_gd": fit_with(
        "        order = rng.permutation(n)\n",
        "        history.append(mean_nll(w, b, X, y))\n        order = rng.permutation(n)\n").replace(
        "        history.append(mean_nll(w, b, X, y))\n    return", "    return")},
         frozenset(FIT)),
]

CORRECT = [
    # loops and math.exp; a fit that shuffles with rng.shuffle and steps without gd_step
    Case("loops_and_shuffle", {
        "gd_step": "def gd_step(w, grad, lr):\n    return np.subtract(w, np.multiply(lr, grad))\n",
        "logistic_nll_grad": (
            "import math\n\ndef logistic_nll_grad(w, b, X, y):\n"
            "    n, p = np.shape(X)\n    gw = [0.0] * p\n    gb = 0.0\n"
            "    for i in range(n):\n"
            "        z = sum(float(X[i][j]) * float(w[j]) for j in range(p)) + b\n"
            "        prob = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))\n"
            "        r = prob - float(y[i])\n"
            "        for j in range(p):\n            gw[j] += r * float(X[i][j]) / n\n"
            "        gb += r / n\n"
            "    return np.array(gw), gb\n"),
        "fit_logistic_gd": (
            "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    n, p = X.shape\n    bs = batch_size if batch_size else n\n"
            "    w = np.zeros(p)\n    b = 0.0\n    history = []\n    idx = np.arange(n)\n"
            "    for epoch in range(epochs):\n"
            "        rng.shuffle(idx)\n        start = 0\n"
            "        while start < n:\n"
            "            rows = idx[start:start + bs]\n"
            "            gw, gb = logistic_nll_grad(w, b, X[rows], y[rows])\n"
            "            w = w - lr * gw\n            b = b - lr * gb\n            start += bs\n"
            "        history.append(mean_nll(w, b, X, y))\n"
            "    return w, b, history\n"),
    }),
    # torch.func.grad on a hand-written loss; expit and the vectorised formula; another way to draw permutations
    Case("torch_func_and_expit", {
        "logistic_nll_grad": (
            "import scipy.special\n\ndef logistic_nll_grad(w, b, X, y):\n"
            "    X = np.asarray(X, dtype=np.float64)\n"
            "    r = scipy.special.expit(np.dot(X, w) + b) - y\n"
            "    return np.mean(r[:, None] * X, axis=0), r.mean()\n"),
        "autodiff_grad": (
            "from torch.func import grad\n\ndef autodiff_grad(w, b, X, y):\n"
            "    Xt = torch.tensor(X, dtype=torch.float64)\n    yt = torch.tensor(y, dtype=torch.float64)\n"
            "    def loss(wt, bt):\n        z = Xt @ wt + bt\n"
            "        return torch.mean(torch.nn.functional.softplus(z) - yt * z)\n"
            "    gw, gb = grad(loss, argnums=(0, 1))(torch.tensor(w, dtype=torch.float64),\n"
            "                                          torch.tensor(b, dtype=torch.float64))\n"
            "    return gw.detach().numpy(), float(gb)\n"),
        "fit_logistic_gd": (
            "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0):\n"
            "    rng = np.random.default_rng(seed)\n    n = len(y)\n"
            "    w, b = np.zeros(X.shape[1]), 0.0\n    history = np.empty(epochs)\n"
            "    for e in range(epochs):\n"
            "        if batch_size is None:\n            batches = [np.arange(n)]\n"
            "        else:\n            perm = rng.choice(n, size=n, replace=False)\n"
            "            batches = [perm[i:i + batch_size] for i in range(0, n, batch_size)]\n"
            "        for rows in batches:\n"
            "            gw, gb = logistic_nll_grad(w, b, X[rows], y[rows])\n"
            "            w, b = gd_step(w, gw, lr), gd_step(b, gb, lr)\n"
            "        z = X @ w + b\n"
            "        history[e] = np.mean(np.logaddexp(0, z) - y * z)\n"
            "    return w, b, history\n"),
    }),
]
