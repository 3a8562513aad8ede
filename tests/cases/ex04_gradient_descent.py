from . import Case

GD = ("test_gd_step", "test_gd_step_hidden")
GRAD = ("test_logistic_nll_grad", "test_logistic_nll_grad_hidden")
AUTO = ("test_autodiff_grad", "test_autodiff_grad_hidden")
FIT = ("test_fit_logistic_gd", "test_fit_logistic_gd_hidden")

# The reference fit_logistic_gd, with a marked line that some mistakes replace.
FIT_SOURCE = """def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0, alpha=0.0):
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
            grad_w, grad_b = logistic_nll_grad(w, b, X[batch], y[batch], alpha)
            w, b = gd_step(w, grad_w, lr), gd_step(b, grad_b, lr)
        history.append(penalised_nll(w, b, X, y, alpha))
    return w, float(b), np.array(history)
"""


def fit_with(old: str, new: str) -> str:
    assert FIT_SOURCE.count(old) == 1, old
    return FIT_SOURCE.replace(old, new)


AUTODIFF_SOURCE = """def autodiff_grad(w, b, X, y, alpha=0.0):
    w_t = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    b_t = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float64))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(X_t @ w_t + b_t, y_t)
    loss = loss + 0.5 * alpha * torch.sum(w_t ** 2)
    loss.backward()
    return w_t.grad.numpy(), b_t.grad.item()
"""


def autodiff_with(old: str, new: str) -> str:
    assert AUTODIFF_SOURCE.count(old) == 1, old
    return AUTODIFF_SOURCE.replace(old, new)


GRAD_SOURCE = """from scipy.special import expit

def logistic_nll_grad(w, b, X, y, alpha=0.0):
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    r = expit(X @ w + b) - np.asarray(y, dtype=float)
    return X.T @ r / len(r) + alpha * w, float(np.mean(r))
"""


def grad_with(old: str, new: str) -> str:
    assert GRAD_SOURCE.count(old) == 1, old
    return GRAD_SOURCE.replace(old, new)


MISTAKES = [
    # constant answers, each equal to the expected value of one public check: the other checks of the cell catch them
    Case("gd_step_constant", {"gd_step": "def gd_step(w, grad, lr):\n    return 3.5\n"}, frozenset({*GD, *FIT})),
    # fit_logistic_gd steps along a constant gradient: its one small step is right, the banknote fit is not
    Case("logistic_nll_grad_constant", {"logistic_nll_grad": (
        "def logistic_nll_grad(w, b, X, y, alpha=0.0):\n    return np.array([-2 / 3, -2 / 3]), -1 / 6\n")},
         frozenset({*GRAD, *FIT})),
    Case("autodiff_grad_constant", {"autodiff_grad": (
        "def autodiff_grad(w, b, X, y, alpha=0.0):\n"
        "    return np.array([-0.26421064, -0.63084319]), -0.0314245351\n")},
         frozenset(AUTO)),
    # the minimum, hard-coded: the one-step check on small data catches it
    Case("fit_logistic_gd_constant", {"fit_logistic_gd": (
        "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0, alpha=0.0):\n"
        "    w, b = np.array([-2.6538, -2.1994, -1.9324, 0.1375]), -0.5714\n"
        "    return w, b, np.full(epochs, penalised_nll(w, b, X, y, alpha))\n")},
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
    Case("grad_wrong_sign", {"logistic_nll_grad": grad_with(
        "r = expit(X @ w + b) - np.asarray(y, dtype=float)", "r = np.asarray(y, dtype=float) - expit(X @ w + b)")},
         frozenset({*GRAD, *FIT})),
    Case("grad_sum_not_mean", {"logistic_nll_grad": grad_with(
        "return X.T @ r / len(r) + alpha * w, float(np.mean(r))", "return X.T @ r + alpha * w, float(np.sum(r))")},
         frozenset({*GRAD, *FIT})),
    # the book's formula without the penalty's term: the fit heads for the unpenalised maximum likelihood
    Case("grad_without_penalty", {"logistic_nll_grad": grad_with(
        "return X.T @ r / len(r) + alpha * w,", "return X.T @ r / len(r),")},
         frozenset({*GRAD, *FIT})),
    # the derivative of alpha * ||w||^2, not of alpha / 2 * ||w||^2: the fit minimises another loss
    Case("grad_penalty_twice", {"logistic_nll_grad": grad_with(
        "return X.T @ r / len(r) + alpha * w,", "return X.T @ r / len(r) + 2 * alpha * w,")},
         frozenset({*GRAD, *FIT})),
    # the bias penalised too: the public fit (b near -0.57, alpha = 0.01) stays under the threshold, the hidden
    # reference trajectory (alpha = 0.3) does not
    Case("grad_penalises_bias", {"logistic_nll_grad": grad_with(
        "float(np.mean(r))", "float(np.mean(r) + alpha * b)")},
         frozenset({*GRAD, "test_fit_logistic_gd_hidden"})),
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
    Case("autodiff_without_penalty", {"autodiff_grad": autodiff_with(
        "    loss = loss + 0.5 * alpha * torch.sum(w_t ** 2)\n", "")},
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
        "        history.append(penalised_nll(w, b, X, y, alpha))\n",
        "            w, b = gd_step(w, grad_w, lr), gd_step(b, grad_b, lr)\n"
        "            history.append(penalised_nll(w, b, X, y, alpha))\n")},
         frozenset({"test_fit_logistic_gd_hidden"})),
    # records the loss before the epoch's steps: history[-1] is not the loss of the returned parameters
    Case("fit_history_before_steps", {"fit_logistic_gd": fit_with(
        "        order = rng.permutation(n)\n",
        "        history.append(penalised_nll(w, b, X, y, alpha))\n        order = rng.permutation(n)\n").replace(
        "        history.append(penalised_nll(w, b, X, y, alpha))\n    return", "    return")},
         frozenset(FIT)),
    # the history without the penalty: not the loss that is minimised
    Case("fit_history_unpenalised", {"fit_logistic_gd": fit_with(
        "history.append(penalised_nll(w, b, X, y, alpha))", "history.append(mean_nll(w, b, X, y))")},
         frozenset(FIT)),
    # alpha not passed on to the gradient: the fit minimises the unpenalised loss
    Case("fit_forgets_alpha", {"fit_logistic_gd": fit_with(
        "logistic_nll_grad(w, b, X[batch], y[batch], alpha)", "logistic_nll_grad(w, b, X[batch], y[batch])")},
         frozenset(FIT)),
]

CORRECT = [
    # loops and math.exp; a fit that shuffles with rng.shuffle and steps without gd_step
    Case("loops_and_shuffle", {
        "gd_step": "def gd_step(w, grad, lr):\n    return np.subtract(w, np.multiply(lr, grad))\n",
        "logistic_nll_grad": (
            "import math\n\ndef logistic_nll_grad(w, b, X, y, alpha=0.0):\n"
            "    n, p = np.shape(X)\n    gw = [alpha * float(w[j]) for j in range(p)]\n    gb = 0.0\n"
            "    for i in range(n):\n"
            "        z = sum(float(X[i][j]) * float(w[j]) for j in range(p)) + b\n"
            "        prob = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))\n"
            "        r = prob - float(y[i])\n"
            "        for j in range(p):\n            gw[j] += r * float(X[i][j]) / n\n"
            "        gb += r / n\n"
            "    return np.array(gw), gb\n"),
        "fit_logistic_gd": (
            "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0, alpha=0.0):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    n, p = X.shape\n    bs = batch_size if batch_size else n\n"
            "    w = np.zeros(p)\n    b = 0.0\n    history = []\n    idx = np.arange(n)\n"
            "    for epoch in range(epochs):\n"
            "        rng.shuffle(idx)\n        start = 0\n"
            "        while start < n:\n"
            "            rows = idx[start:start + bs]\n"
            "            gw, gb = logistic_nll_grad(w, b, X[rows], y[rows], alpha=alpha)\n"
            "            w = w - lr * gw\n            b = b - lr * gb\n            start += bs\n"
            "        history.append(mean_nll(w, b, X, y) + alpha / 2 * float(w @ w))\n"
            "    return w, b, history\n"),
    }),
    # torch.func.grad on a hand-written loss; expit and the vectorised formula; another way to draw permutations
    Case("torch_func_and_expit", {
        "logistic_nll_grad": (
            "import scipy.special\n\ndef logistic_nll_grad(w, b, X, y, alpha=0.0):\n"
            "    X = np.asarray(X, dtype=np.float64)\n"
            "    r = scipy.special.expit(np.dot(X, w) + b) - y\n"
            "    return np.mean(r[:, None] * X, axis=0) + np.multiply(alpha, w), r.mean()\n"),
        "autodiff_grad": (
            "from torch.func import grad\n\ndef autodiff_grad(w, b, X, y, alpha=0.0):\n"
            "    Xt = torch.tensor(X, dtype=torch.float64)\n    yt = torch.tensor(y, dtype=torch.float64)\n"
            "    def loss(wt, bt):\n        z = Xt @ wt + bt\n"
            "        return torch.mean(torch.nn.functional.softplus(z) - yt * z) + alpha / 2 * wt.dot(wt)\n"
            "    gw, gb = grad(loss, argnums=(0, 1))(torch.tensor(w, dtype=torch.float64),\n"
            "                                          torch.tensor(b, dtype=torch.float64))\n"
            "    return gw.detach().numpy(), float(gb)\n"),
        "fit_logistic_gd": (
            "def fit_logistic_gd(X, y, lr, epochs, batch_size=None, seed=0, alpha=0.0):\n"
            "    rng = np.random.default_rng(seed)\n    n = len(y)\n"
            "    w, b = np.zeros(X.shape[1]), 0.0\n    history = np.empty(epochs)\n"
            "    for e in range(epochs):\n"
            "        if batch_size is None:\n            batches = [np.arange(n)]\n"
            "        else:\n            perm = rng.choice(n, size=n, replace=False)\n"
            "            batches = [perm[i:i + batch_size] for i in range(0, n, batch_size)]\n"
            "        for rows in batches:\n"
            "            gw, gb = logistic_nll_grad(w, b, X[rows], y[rows], alpha)\n"
            "            w, b = gd_step(w, gw, lr), gd_step(b, gb, lr)\n"
            "        z = X @ w + b\n"
            "        history[e] = np.mean(np.logaddexp(0, z) - y * z) + alpha * np.sum(w ** 2) / 2\n"
            "    return w, b, history\n"),
    }),
]
