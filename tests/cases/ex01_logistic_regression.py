from . import Case

SIGMOID = ("test_sigmoid", "test_sigmoid_hidden")
LOGIT = ("test_logit", "test_logit_hidden")
PREDICT = ("test_predict_prob", "test_predict_prob_hidden")
P_FAKE = ("test_p_fake", "test_p_fake_hidden")
BOUNDARY = ("test_decision_boundary", "test_decision_boundary_hidden")
BOUNDARY_AT = ("test_boundary_at", "test_boundary_at_hidden")
RAISE_IF_VERTICAL = "    if w2 == 0:\n        raise ValueError('w2 = 0')\n"

MISTAKES = [
    # A constant answer earns nothing, in the public tests and in the hidden ones. The constants are the public
    # tests' own expected values where one is a natural guess (0.5, the worked example's boundary).
    # predict_prob calls sigmoid and boundary_at calls logit: they fall with them.
    Case("sigmoid_constant", {"sigmoid": "def sigmoid(z):\n    return np.full(np.shape(z), 0.5)\n"},
         frozenset({*SIGMOID, *PREDICT})),
    Case("logit_constant", {"logit": "def logit(p):\n    return np.zeros(np.shape(p))\n"},
         frozenset({*LOGIT, *BOUNDARY_AT})),
    Case("predict_prob_constant", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return 0.5\n"},
         frozenset(PREDICT)),
    Case("p_fake_constant", {"p_fake": "p_fake = 0.5\n"}, frozenset(P_FAKE)),
    Case("decision_boundary_constant", {"decision_boundary": (
        "def decision_boundary(b, w1, w2):\n" + RAISE_IF_VERTICAL + "    return (-2.0, -4.0)\n")},
         frozenset(BOUNDARY)),
    Case("boundary_at_constant", {"boundary_at": (
        "def boundary_at(p, b, w1, w2):\n" + RAISE_IF_VERTICAL + "    return (-2.0, -4.0)\n")},
         frozenset(BOUNDARY_AT)),
    # sigmoid without the minus sign; predict_prob calls sigmoid, so its tests fall too
    Case("sigmoid_no_minus", {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"},
         frozenset({*SIGMOID, *PREDICT})),
    # the textbook formula overflows (a RuntimeWarning) at z = -1000; predict_prob's hidden test feeds it such scores
    Case("sigmoid_overflows", {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))\n"},
         frozenset({*SIGMOID, "test_predict_prob_hidden"})),
    # the np.where the hint warns about: both branches are computed for every element, so exp(1000) overflows
    Case("sigmoid_where_both_branches", {"sigmoid": (
        "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n"
        "    return np.where(z < 0, np.exp(z) / (1 + np.exp(z)), 1 / (1 + np.exp(-z)))\n")},
         frozenset({*SIGMOID, "test_predict_prob_hidden"})),
    Case("logit_inverted", {"logit": "def logit(p):\n    return np.log((1 - p) / p)\n"},
         frozenset({*LOGIT, *BOUNDARY_AT})),
    # boundary_at calls logit; log(0.5) != 0 moves even its p = 0.5 boundary
    Case("logit_no_ratio", {"logit": "def logit(p):\n    return np.log(p)\n"},
         frozenset({*LOGIT, *BOUNDARY_AT})),
    # the lecture's Colab one-liner: right for its example, but np.exp overflows (a RuntimeWarning) at a score of -1000
    Case("predict_prob_lecture_one_liner", {"predict_prob": (
        "def predict_prob(x1, x2, w1, w2, b):\n    return 1/(1+np.exp(-(w1*x1 + w2*x2 + b)))\n")},
         frozenset({"test_predict_prob_hidden"})),
    Case("predict_no_bias", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return sigmoid(w1 * x1 + w2 * x2)\n"},
         frozenset(PREDICT)),
    # the score, not a probability
    Case("predict_no_sigmoid", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return w1 * x1 + w2 * x2 + b\n"},
         frozenset(PREDICT)),
    Case("predict_swapped_weights", {"predict_prob": "def predict_prob(x1, x2, w1, w2, b):\n    return sigmoid(w2 * x1 + w1 * x2 + b)\n"},
         frozenset(PREDICT)),
    Case("p_fake_notebook_w2", {"p_fake": "p_fake = 0.8507\n"}, frozenset({"test_p_fake_hidden"})),
    Case("p_fake_logit_not_prob", {"p_fake": "p_fake = 1.52\n"}, frozenset(P_FAKE)),
    # sigma(-z): the sign of the exponent lost on paper
    Case("p_fake_sign", {"p_fake": "p_fake = 0.1795\n"}, frozenset(P_FAKE)),
    Case("boundary_slope_w2_over_w1", {"decision_boundary": (
        "def decision_boundary(b, w1, w2):\n    if w2 == 0:\n        raise ValueError('w2 = 0')\n"
        "    return (-b / w2, -w2 / w1)\n")},
         frozenset(BOUNDARY)),
    Case("boundary_no_valueerror", {"decision_boundary": (
        "def decision_boundary(b, w1, w2):\n    return (-b / w2, -w1 / w2)\n")},
         frozenset(BOUNDARY)),
    # the p = 0.5 line for every p
    Case("boundary_at_ignores_p", {"boundary_at": (
        "def boundary_at(p, b, w1, w2):\n" + RAISE_IF_VERTICAL + "    return (-b / w2, -w1 / w2)\n")},
         frozenset(BOUNDARY_AT)),
    Case("boundary_at_sign", {"boundary_at": (
        "def boundary_at(p, b, w1, w2):\n" + RAISE_IF_VERTICAL + "    return ((b - np.log(p / (1 - p))) / w2, -w1 / w2)\n")},
         frozenset(BOUNDARY_AT)),
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
        "decision_boundary": ("def decision_boundary(b, w1, w2):\n    if not w2:\n        raise ValueError('vertical')\n"
                              "    return -b / w2, -w1 / w2\n"),
        "p_fake": "p_fake = round(1 / (1 + 2.718281828 ** -1.52), 4)\n",
    }),
    # the sigmoid hint's first way: clip z, then the textbook formula
    Case("sigmoid_hint_clip", {
        "sigmoid": "def sigmoid(z):\n    z = np.clip(z, -500, 500)\n    return 1 / (1 + np.exp(-z))\n",
        # a hand calculation with e^-1.52 rounded to 0.219: within the hidden test's tolerance
        "p_fake": "p_fake = 0.8203\n",
    }),
    # the hint's second way: the negative entries through a boolean mask
    Case("sigmoid_hint_mask", {
        "sigmoid": ("def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    out = np.empty_like(z)\n    neg = z < 0\n"
                    "    out[~neg] = 1 / (1 + np.exp(-z[~neg]))\n    e = np.exp(z[neg])\n    out[neg] = e / (1 + e)\n"
                    "    return out\n"),
    }),
    # ... or both forms with exp(-|z|), written without np.where
    Case("sigmoid_hint_abs", {
        "sigmoid": ("def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(-np.abs(z))\n"
                    "    return (z >= 0) / (1 + e) + (z < 0) * e / (1 + e)\n"),
        "boundary_at": ("def boundary_at(p, b, w1, w2):\n    intercept, slope = decision_boundary(b - logit(p), w1, w2)\n"
                        "    return intercept, slope\n"),
    }),
]
