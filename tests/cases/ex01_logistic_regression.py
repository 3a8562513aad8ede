from . import Case

SIGMOID = ("test_sigmoid", "test_sigmoid_hidden")
PREDICT = ("test_predict_prob", "test_predict_prob_hidden")

MISTAKES = [
    # sigmoid without the minus sign; predict_prob calls sigmoid, so its hidden test falls too
    Case("sigmoid_no_minus", {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"},
         frozenset({*SIGMOID, "test_predict_prob_hidden"})),
    # the textbook formula overflows (a RuntimeWarning) at z = -1000
    Case("sigmoid_overflows", {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))\n"},
         frozenset(SIGMOID)),
    Case("logit_inverted", {"logit": "def logit(p):\n    return np.log((1 - p) / p)\n"},
         frozenset({"test_logit", "test_logit_hidden", "test_boundary_at_hidden"})),
    # boundary_at calls logit; log(0.5) != 0 moves even its p = 0.5 boundary
    Case("logit_no_ratio", {"logit": "def logit(p):\n    return np.log(p)\n"},
         frozenset({"test_logit", "test_logit_hidden", "test_boundary_at", "test_boundary_at_hidden"})),
    Case("predict_no_bias", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return sigmoid(w1 * x1 + w2 * x2)\n"},
         frozenset({"test_predict_prob_hidden"})),
    Case("predict_swapped_weights", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return sigmoid(w2 * x1 + w1 * x2 + b)\n"},
         frozenset(PREDICT)),
    Case("p_fake_notebook_w2", {"p_fake": "p_fake = 0.8507\n"}, frozenset({"test_p_fake_hidden"})),
    Case("p_fake_logit_not_prob", {"p_fake": "p_fake = 1.52\n"}, frozenset({"test_p_fake", "test_p_fake_hidden"})),
    Case("boundary_slope_b2_over_b1", {"decision_boundary": (
        "def decision_boundary(b0, b1, b2):\n    if b2 == 0:\n        raise ValueError('b2 = 0')\n"
        "    return (-b0 / b2, -b2 / b1)\n")},
         frozenset({"test_decision_boundary", "test_decision_boundary_hidden"})),
    Case("boundary_no_valueerror", {"decision_boundary": (
        "def decision_boundary(b0, b1, b2):\n    return (-b0 / b2, -b1 / b2)\n")},
         frozenset({"test_decision_boundary", "test_decision_boundary_hidden"})),
    Case("boundary_at_ignores_p", {"boundary_at": (
        "def boundary_at(p, b0, b1, b2):\n    if b2 == 0:\n        raise ValueError('b2 = 0')\n"
        "    return (-b0 / b2, -b1 / b2)\n")},
         frozenset({"test_boundary_at_hidden"})),
    Case("boundary_at_sign", {"boundary_at": (
        "def boundary_at(p, b0, b1, b2):\n    if b2 == 0:\n        raise ValueError('b2 = 0')\n"
        "    return ((b0 - np.log(p / (1 - p))) / b2, -b1 / b2)\n")},
         frozenset({"test_boundary_at", "test_boundary_at_hidden"})),
]

CORRECT = [
    Case("scipy_and_clip", {
        "sigmoid": "from scipy.special import expit\n\ndef sigmoid(z):\n    return expit(z)\n",
        "logit": "import scipy.special\n\ndef logit(p):\n    return scipy.special.logit(p)\n",
    }),
    Case("loops_and_math", {
        "sigmoid": ("import math\n\ndef sigmoid(z):\n    a = np.asarray(z, dtype=float)\n"
                    "    out = np.empty_like(a)\n    for i, x in np.ndenumerate(a):\n"
                    "        out[i] = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))\n"
                    "    return out if out.ndim else float(out)\n"),
        "predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    z = np.add(np.multiply(w1, x1), np.multiply(w2, x2)) + b\n    return sigmoid(z)\n",
        "decision_boundary": ("def decision_boundary(b0, b1, b2):\n    if not b2:\n        raise ValueError('vertical')\n"
                              "    return -b0 / b2, -b1 / b2\n"),
        "p_fake": "p_fake = round(1 / (1 + 2.718281828 ** -1.52), 4)\n",
    }),
]
