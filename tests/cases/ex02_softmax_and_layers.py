from . import Case

SOFTMAX = ("test_softmax", "test_softmax_hidden")
PREDICT = ("test_predict_hidden", "test_predict_hidden_hidden")
COLLAPSE = ("test_collapse_linear", "test_collapse_linear_hidden")
COUNT = ("test_count_params", "test_count_params_hidden")

# No function calls another one, so every mistake loses only its own function's tests.
MISTAKES = [
    # A constant answer earns nothing, in the public tests and in the hidden ones: for collapse_linear and
    # count_params the constant is the first public test's expected value.
    Case("softmax_constant", {"softmax": (
        "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    return np.full(z.shape, 1 / z.shape[-1])\n")},
         frozenset(SOFTMAX)),
    Case("predict_hidden_constant", {"predict_hidden": (
        "def predict_hidden(X, weights, biases):\n    return np.full((len(X), len(biases[-1])), 0.5)\n")},
         frozenset(PREDICT)),
    Case("collapse_linear_constant", {"collapse_linear": (
        "def collapse_linear(W1, b1, W2, b2):\n    return np.array([[3.0], [1.0]]), np.array([3.5])\n")},
         frozenset(COLLAPSE)),
    Case("count_params_constant", {"count_params": "def count_params(layer_sizes):\n    return 33\n"}, frozenset(COUNT)),
    # the textbook formula: exp(1000) overflows (inf / inf = nan, with warnings)
    Case("softmax_no_max_subtraction", {"softmax": (
        "def softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=-1, keepdims=True)\n")},
         frozenset(SOFTMAX)),
    # normalises the columns of a batch: 1-D input still works, 2-D does not
    Case("softmax_wrong_axis", {"softmax": (
        "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max(axis=0, keepdims=True))\n"
        "    return e / e.sum(axis=0, keepdims=True)\n")},
         frozenset(SOFTMAX)),
    # one maximum for the whole batch: right for 1-D, but rows far below it underflow to 0 / 0
    Case("softmax_global_max", {"softmax": (
        "def softmax(z):\n    z = np.asarray(z, dtype=float)\n    e = np.exp(z - z.max())\n"
        "    return e / e.sum(axis=-1, keepdims=True)\n")},
         frozenset({"test_softmax_hidden"})),
    # subtracts the maximum in place: the caller's logits change
    Case("softmax_in_place", {"softmax": (
        "def softmax(z):\n    z -= z.max(axis=-1, keepdims=True)\n    e = np.exp(z)\n"
        "    return e / e.sum(axis=-1, keepdims=True)\n")},
         frozenset({"test_softmax_hidden"})),
    # the last layer's scores, not probabilities
    Case("predict_no_last_sigmoid", {"predict_hidden": (
        "def predict_hidden(X, weights, biases):\n    a = X\n    for W, b in zip(weights[:-1], biases[:-1]):\n"
        "        a = sigmoid(a @ W + b)\n    return a @ weights[-1] + biases[-1]\n")},
         frozenset(PREDICT)),
    Case("predict_no_biases", {"predict_hidden": (
        "def predict_hidden(X, weights, biases):\n    a = X\n    for W in weights:\n        a = sigmoid(a @ W)\n    return a\n")},
         frozenset(PREDICT)),
    # hard-wires the lecture's two hidden layers (three weight matrices)
    Case("predict_three_layers_only", {"predict_hidden": (
        "def predict_hidden(X, weights, biases):\n    W1, W2, W3 = weights\n    b1, b2, b3 = biases\n"
        "    return sigmoid(sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2) @ W3 + b3)\n")},
         frozenset(PREDICT)),
    # returns shape (n,): fine for one output, wrong shape everywhere
    Case("predict_flattened", {"predict_hidden": (
        "def predict_hidden(X, weights, biases):\n    a = X\n    for W, b in zip(weights, biases):\n"
        "        a = sigmoid(a @ W + b)\n    return a.ravel()\n")},
         frozenset(PREDICT)),
    Case("collapse_forgets_b1_W2", {"collapse_linear": (
        "def collapse_linear(W1, b1, W2, b2):\n    return W1 @ W2, b2\n")},
         frozenset(COLLAPSE)),
    Case("collapse_adds_biases", {"collapse_linear": (
        "def collapse_linear(W1, b1, W2, b2):\n    return W1 @ W2, b1 + b2\n")},
         frozenset(COLLAPSE)),
    Case("collapse_wrong_order", {"collapse_linear": (
        "def collapse_linear(W1, b1, W2, b2):\n    return W2.T @ W1.T, W2.T @ b1 + b2\n")},
         frozenset(COLLAPSE)),
    Case("count_forgets_biases", {"count_params": (
        "def count_params(layer_sizes):\n    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))\n")},
         frozenset(COUNT)),
    # one bias per input unit instead of per output unit
    Case("count_biases_of_inputs", {"count_params": (
        "def count_params(layer_sizes):\n    return sum(a * b + a for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))\n")},
         frozenset(COUNT)),
    # counts an input layer's "bias" too; [5] gives 5, not 0
    Case("count_sum_of_sizes", {"count_params": (
        "def count_params(layer_sizes):\n    s = list(layer_sizes)\n"
        "    return sum(a * b for a, b in zip(s[:-1], s[1:])) + sum(s)\n")},
         frozenset(COUNT)),
]

CORRECT = [
    Case("scipy_and_einsum", {
        "softmax": "from scipy.special import softmax as _softmax\n\ndef softmax(z):\n    return _softmax(z, axis=-1)\n",
        "predict_hidden": ("from functools import reduce\n\ndef predict_hidden(X, weights, biases):\n"
                           "    return reduce(lambda a, wb: sigmoid(np.dot(a, wb[0]) + wb[1]), zip(weights, biases), X)\n"),
        "collapse_linear": ("def collapse_linear(W1, b1, W2, b2):\n"
                            "    return np.einsum('ph,hk->pk', W1, W2), np.einsum('h,hk->k', b1, W2) + b2\n"),
        "count_params": ("def count_params(layer_sizes):\n    s = np.array(layer_sizes)\n"
                         "    return int(np.sum((s[:-1] + 1) * s[1:]))\n"),
    }),
    Case("logsumexp_and_loops", {
        "softmax": ("from scipy.special import logsumexp\n\ndef softmax(z):\n"
                    "    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))\n"),
        "predict_hidden": ("def predict_hidden(X, weights, biases):\n    out = []\n    for x in np.asarray(X, dtype=float):\n"
                           "        a = x\n        for i in range(len(weights)):\n"
                           "            W, b = weights[i], biases[i]\n"
                           "            a = np.array([1 / (1 + np.exp(-(a @ W[:, j] + b[j]))) for j in range(W.shape[1])])\n"
                           "        out.append(a)\n    return np.array(out)\n"),
        "collapse_linear": ("def collapse_linear(W1, b1, W2, b2):\n    V = np.zeros((W1.shape[0], W2.shape[1]))\n"
                            "    c = np.array(b2, dtype=float)\n    for h in range(W2.shape[0]):\n"
                            "        V += np.outer(W1[:, h], W2[h])\n        c = c + b1[h] * W2[h]\n    return V, c\n"),
        "count_params": ("def count_params(layer_sizes):\n    total = 0\n    for i in range(1, len(layer_sizes)):\n"
                         "        total += (layer_sizes[i - 1] + 1) * layer_sizes[i]\n    return total\n"),
    }),
    # row by row, 1-D handled as a batch of one
    Case("softmax_rows", {
        "softmax": ("import math\n\ndef softmax(z):\n    a = np.atleast_2d(np.asarray(z, dtype=float))\n    rows = []\n"
                    "    for row in a:\n        m = max(row)\n        e = [math.exp(v - m) for v in row]\n"
                    "        rows.append([v / sum(e) for v in e])\n"
                    "    return np.array(rows).reshape(np.shape(z))\n"),
    }),
]
