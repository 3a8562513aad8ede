from . import Case

LOSS = ("test_gaussian_nll_loss", "test_gaussian_nll_loss_hidden")
BUILD = ("test_build_hetero_model", "test_build_hetero_model_hidden")
MODEL = ("test_model", "test_model_hidden")

# The reference loss, with marked parts that some mistakes replace.
LOSS_SOURCE = """def gaussian_nll_loss(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    mu, log_sigma = y_pred[:, 0], y_pred[:, 1]
    z = (y_true - mu) * ops.exp(-log_sigma)
    return ops.mean(log_sigma + 0.5 * ops.square(z) + 0.5 * np.log(2 * np.pi))
"""


def loss_with(old: str, new: str) -> str:
    assert LOSS_SOURCE.count(old) == 1, old
    return LOSS_SOURCE.replace(old, new)


BUILD_SOURCE = """def build_hetero_model(hidden_units=(20, 20)):
    inputs = keras.Input(shape=(1,))
    h = inputs
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    outputs = keras.layers.Dense(2)(h)
    return keras.Model(inputs=inputs, outputs=outputs)
"""


def build_with(old: str, new: str) -> str:
    assert BUILD_SOURCE.count(old) == 1, old
    return BUILD_SOURCE.replace(old, new)


MODEL_SOURCE = """keras.utils.set_random_seed(0)
model = build_hetero_model()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss=gaussian_nll_loss)
history = model.fit(x_train[:, None], y_train, epochs=150, batch_size=1000, verbose=0)
"""


def model_with(old: str, new: str) -> str:
    assert MODEL_SOURCE.count(old) == 1, old
    return MODEL_SOURCE.replace(old, new)


MISTAKES = [
    # the value of the public check at y = mu = 0, sigma = 1, whatever comes in: no gradient, so the model is not trained
    Case("gaussian_nll_loss_constant", {"gaussian_nll_loss": (
        "def gaussian_nll_loss(y_true, y_pred):\n    return ops.convert_to_tensor(0.5 * np.log(2 * np.pi))\n")},
         frozenset({*LOSS, *MODEL})),
    # the asked layers, then a layer that outputs (0, 0): parameter count and shapes are right, the outputs are not; the
    # graded model built with it predicts N(0, 1) everywhere
    Case("build_hetero_model_constant", {"build_hetero_model": build_with(
        "outputs = keras.layers.Dense(2)(h)", "outputs = keras.layers.Lambda(lambda o: 0 * o)(keras.layers.Dense(2)(h))")},
         frozenset({*BUILD, *MODEL})),
    Case("model_constant", {"model": (
        "model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Lambda(lambda x: 0 * ops.concatenate([x, x], axis=1))])\n")},
         frozenset(MODEL)),
    # out[:, 1] read as sigma: log of negative numbers; the model trained with it diverges, machine-dependently (to NaN,
    # to sigma ratios above 100, or to ratios 0.02 and 0.59 with a test NLL of 2e21): every way outside [4, 25]
    Case("loss_sigma_without_exp", {"gaussian_nll_loss": (
        "def gaussian_nll_loss(y_true, y_pred):\n"
        "    y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))\n"
        "    mu, sigma = y_pred[:, 0], y_pred[:, 1]\n"
        "    return ops.mean(ops.log(sigma) + 0.5 * ops.square((y_true - mu) / sigma) + 0.5 * np.log(2 * np.pi))\n")},
         frozenset({*LOSS, *MODEL})),
    # the constant changes the value, not the gradient: the model trained with it is fine
    Case("loss_without_constant", {"gaussian_nll_loss": loss_with(" + 0.5 * np.log(2 * np.pi))", ")")},
         frozenset(LOSS)),
    # sigma comes out sqrt(2) too large: the test NLL (0.84) misses its threshold, the shape of sigma(x) is still right
    Case("loss_without_half", {"gaussian_nll_loss": loss_with("0.5 * ops.square(z)", "ops.square(z)")},
         frozenset({*LOSS, "test_model"})),
    # (n, 1) labels minus (n,) means broadcast to (n, n); Keras passes (n,) here, so only the hidden test sees it
    Case("loss_no_reshape", {"gaussian_nll_loss": loss_with(
        "y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))", "y_true = ops.cast(y_true, y_pred.dtype)")},
         frozenset({"test_gaussian_nll_loss_hidden"})),
    # NumPy on the tensors: np.mean hands torch an `axis` keyword it does not take, and a tensor that requires a
    # gradient cannot become a NumPy array, so the model cannot be trained either
    Case("loss_numpy", {"gaussian_nll_loss": (
        "def gaussian_nll_loss(y_true, y_pred):\n"
        "    y = np.reshape(y_true, -1)\n"
        "    mu, log_sigma = y_pred[:, 0], y_pred[:, 1]\n"
        "    return np.mean(log_sigma + 0.5 * ((y - mu) / np.exp(log_sigma)) ** 2 + 0.5 * np.log(2 * np.pi))\n")},
         frozenset({*LOSS, *MODEL})),
    # the sum over the batch: n times the mean (Adam barely notices, the model is fine)
    Case("loss_sum", {"gaussian_nll_loss": loss_with("return ops.mean(", "return ops.sum(")},
         frozenset(LOSS)),
    # always (20, 20): the graded model (the default) is unaffected
    Case("build_ignores_hidden_units", {"build_hetero_model": build_with(
        "for units in hidden_units:", "for units in (20, 20):")},
         frozenset({"test_build_hetero_model_hidden"})),
    # one output: no sigma; the loss cannot index out[:, 1], so the model stays untrained
    Case("build_one_output", {"build_hetero_model": build_with("keras.layers.Dense(2)(h)", "keras.layers.Dense(1)(h)")},
         frozenset({*BUILD, *MODEL})),
    # mu >= 0 and log sigma >= 0: neither negative means nor sigma < 1 possible
    Case("build_relu_output", {"build_hetero_model": build_with(
        "keras.layers.Dense(2)(h)", 'keras.layers.Dense(2, activation="relu")(h)')},
         frozenset({*BUILD, *MODEL})),
    # no non-linearity: mu and log sigma are straight lines, sigma cannot be V-shaped
    Case("build_linear_hidden", {"build_hetero_model": build_with(
        'keras.layers.Dense(units, activation="relu")(h)', "keras.layers.Dense(units)(h)")},
         frozenset({*BUILD, *MODEL})),
    # tanh hidden units: the network's outputs are not those of ReLU layers with its weights (the model trained with it is
    # fine: test NLL 0.737, sigma ratios 6.3 and 6.6)
    Case("build_tanh_hidden", {"build_hetero_model": build_with(
        'keras.layers.Dense(units, activation="relu")(h)', 'keras.layers.Dense(units, activation="tanh")(h)')},
         frozenset(BUILD)),
    # one hidden layer of hidden_units[0] units: 82 parameters instead of 502, and () fails; the graded model still
    # passes (test NLL 0.764, sigma ratios 5.2 and 5.4)
    Case("build_first_layer_only", {"build_hetero_model": build_with(
        "    for units in hidden_units:\n        h = keras.layers.Dense(units, activation=\"relu\")(h)\n",
        "    h = keras.layers.Dense(hidden_units[0], activation=\"relu\")(h)\n")},
         frozenset(BUILD)),
    Case("build_sequential", {"build_hetero_model": (
        "def build_hetero_model(hidden_units=(20, 20)):\n"
        "    layers = [keras.Input(shape=(1,))] + [keras.layers.Dense(u, activation='relu') for u in hidden_units]\n"
        "    return keras.Sequential(layers + [keras.layers.Dense(2)])\n")},
         frozenset(BUILD)),
    Case("model_untrained", {"model": "keras.utils.set_random_seed(0)\nmodel = build_hetero_model()\n"},
         frozenset(MODEL)),
    # a constant sigma in all but name: no hidden layer, so log sigma is linear in x
    Case("model_no_hidden_layer", {"model": model_with("build_hetero_model()", "build_hetero_model(hidden_units=())")},
         frozenset(MODEL)),
    # MSE trains the mean only; the sigma output stays where it started
    Case("model_mse", {"model": model_with("loss=gaussian_nll_loss", 'loss=lambda t, p: ops.mean(ops.square(ops.reshape(t, (-1,)) - p[:, 0]))')},
         frozenset(MODEL)),
    Case("model_five_epochs", {"model": model_with("epochs=150", "epochs=5")},
         frozenset(MODEL)),
]

CORRECT = [
    # two Dense(1) heads joined by Concatenate; sigma via ops.exp and ops.log; mini-batch training
    Case("two_heads_and_log_sigma", {
        "gaussian_nll_loss": (
            "import math\n\n"
            "def gaussian_nll_loss(y_true, y_pred):\n"
            "    y = ops.reshape(y_true, (-1,))\n"
            "    mu = y_pred[:, 0]\n    sigma = ops.exp(y_pred[:, 1])\n"
            "    nll = ops.log(sigma) + ops.square(y - mu) / (2 * ops.square(sigma)) + 0.5 * math.log(2 * math.pi)\n"
            "    return ops.mean(nll)\n"),
        "build_hetero_model": (
            "def build_hetero_model(hidden_units=(20, 20)):\n"
            "    x_in = keras.Input(shape=(1,))\n    h = x_in\n"
            "    for i, n in enumerate(hidden_units):\n"
            "        h = keras.layers.Dense(n, activation='relu', name=f'hidden_{i}')(h)\n"
            "    mu = keras.layers.Dense(1, name='mu')(h)\n    log_sigma = keras.layers.Dense(1, name='log_sigma')(h)\n"
            "    return keras.Model(x_in, keras.layers.Concatenate()([mu, log_sigma]))\n"),
        "model": (
            "keras.utils.set_random_seed(1)\nmodel = build_hetero_model()\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=gaussian_nll_loss)\n"
            "model.fit(x_train.reshape(-1, 1), y_train, epochs=50, batch_size=100, verbose=0)\n"),
    }),
    # ReLU as layers of their own; the graded model a Sequential network built by hand (the same function)
    Case("relu_layers_and_sequential_model", {
        "build_hetero_model": (
            "def build_hetero_model(hidden_units=(20, 20)):\n"
            "    inputs = keras.Input(shape=(1,))\n    h = inputs\n"
            "    for units in hidden_units:\n        h = keras.layers.ReLU()(keras.layers.Dense(units)(h))\n"
            "    return keras.Model(inputs=inputs, outputs=keras.layers.Dense(2)(h))\n"),
        "model": (
            "keras.utils.set_random_seed(0)\n"
            "model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(20), keras.layers.Activation('relu'),\n"
            "                          keras.layers.Dense(20), keras.layers.Activation('relu'), keras.layers.Dense(2)])\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss=gaussian_nll_loss)\n"
            "model.fit(x_train[:, None], y_train, epochs=150, batch_size=1000, verbose=0)\n"),
    }),
    # ops.unstack and exp(-2 log sigma); a reduce-built network; the book's 250 full-batch epochs
    Case("unstack_and_reduce", {
        "gaussian_nll_loss": (
            "def gaussian_nll_loss(y_true, y_pred):\n"
            "    mu, log_sigma = ops.unstack(y_pred, num=2, axis=-1)\n"
            "    y = ops.squeeze(ops.convert_to_tensor(y_true, dtype=y_pred.dtype))\n"
            "    if ops.ndim(y) == 0:\n        y = ops.reshape(y, (1,))\n"
            "    per_point = log_sigma + 0.5 * ops.square(y - mu) * ops.exp(-2.0 * log_sigma)\n"
            "    return ops.mean(per_point) + 0.5 * ops.log(2.0 * np.pi)\n"),
        "build_hetero_model": (
            "from functools import reduce\n\n"
            "def build_hetero_model(hidden_units=(20, 20)):\n"
            "    inputs = keras.Input((1,))\n"
            "    last = reduce(lambda t, n: keras.layers.Dense(n, activation=keras.activations.relu)(t), hidden_units, inputs)\n"
            "    return keras.Model(inputs=inputs, outputs=keras.layers.Dense(2, activation=None)(last))\n"),
        "model": (
            "keras.utils.set_random_seed(2)\nmodel = build_hetero_model(hidden_units=(20, 20))\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss=gaussian_nll_loss)\n"
            "model.fit(x_train[:, None], y_train[:, None], epochs=250, batch_size=len(x_train), verbose=0)\n"),
    }),
]
