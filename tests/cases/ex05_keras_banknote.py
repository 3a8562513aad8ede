from . import Case

LOGISTIC = ("test_build_logistic_model", "test_build_logistic_model_hidden")
SEQ = ("test_build_fcnn_sequential", "test_build_fcnn_sequential_hidden")
FUNC = ("test_build_fcnn_functional", "test_build_fcnn_functional_hidden")
TRAIN = ("test_train", "test_train_hidden")
MODEL = ("test_model", "test_model_hidden")

# The reference train(), with marked parts that some mistakes replace.
TRAIN_SOURCE = """def train(model, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model.fit(X_train, y_train, validation_data=(X_val, y_val),
                     epochs=epochs, batch_size=batch_size, verbose=0)
"""


def train_with(old: str, new: str) -> str:
    assert TRAIN_SOURCE.count(old) == 1, old
    return TRAIN_SOURCE.replace(old, new)


# The reference model cell (40 epochs of 14 mini-batches on the standardised training part).
MODEL_SOURCE = """keras.utils.set_random_seed(0)
model = build_fcnn_sequential(hidden_units=(16,), activation="relu")
history = train(model, X_train, y_train, X_val, y_val, epochs=40, batch_size=64, learning_rate=0.02)
"""


def model_with(old: str, new: str) -> str:
    assert MODEL_SOURCE.count(old) == 1, old
    return MODEL_SOURCE.replace(old, new)


# A constant answer: the asked layers, then a layer that outputs 0.5 whatever comes in. Parameter count, weight shapes and
# output shape are all right; only what the network computes gives it away.
CONSTANT = "keras.layers.Lambda(lambda p: 0 * p + 0.5)"

MISTAKES = [
    Case("build_logistic_model_constant", {"build_logistic_model": (
        "def build_logistic_model():\n"
        "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation='sigmoid'), " + CONSTANT + "])\n")},
         frozenset(LOGISTIC)),
    # the graded model is built with it: it predicts 0.5 for every note
    Case("build_fcnn_sequential_constant", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    layers = [keras.Input(shape=(2,))] + [keras.layers.Dense(u, activation=activation) for u in hidden_units]\n"
        "    return keras.Sequential(layers + [keras.layers.Dense(1, activation='sigmoid'), " + CONSTANT + "])\n")},
         frozenset({*SEQ, *MODEL})),
    Case("build_fcnn_functional_constant", {"build_fcnn_functional": (
        "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
        "    inputs = keras.Input(shape=(2,))\n    x = inputs\n"
        "    for units in hidden_units:\n        x = keras.layers.Dense(units, activation=activation)(x)\n"
        "    return keras.Model(inputs, " + CONSTANT + "(keras.layers.Dense(1, activation='sigmoid')(x)))\n")},
         frozenset(FUNC)),
    # an empty History, no training: the graded model stays untrained
    Case("train_constant", {"train": (
        "def train(model, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):\n"
        "    return keras.callbacks.History()\n")},
         frozenset({*TRAIN, *MODEL})),
    Case("model_constant", {"model": (
        "model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Lambda(lambda x: 0 * x[:, :1] + 0.5)])\n")},
         frozenset(MODEL)),
    # a linear output is not a probability
    Case("logistic_no_sigmoid", {"build_logistic_model": (
        "def build_logistic_model():\n    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])\n")},
         frozenset(LOGISTIC)),
    # a ReLU output: the outputs differ from sigmoid(x w + b) with the model's own weights
    Case("logistic_relu_output", {"build_logistic_model": (
        "def build_logistic_model():\n"
        "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1), keras.layers.ReLU()])\n")},
         frozenset(LOGISTIC)),
    # the Keras 2 way: works, but deprecated in Keras 3 (a warning); only the hidden test checks for it
    Case("logistic_input_shape", {"build_logistic_model": (
        "def build_logistic_model():\n"
        "    return keras.Sequential([keras.layers.Dense(1, activation='sigmoid', input_shape=(2,))])\n")},
         frozenset({"test_build_logistic_model_hidden"})),
    # two softmax outputs: the same probabilities, but 6 parameters and not the asked-for model
    Case("logistic_two_softmax", {"build_logistic_model": (
        "def build_logistic_model():\n"
        "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2, activation='softmax')])\n")},
         frozenset(LOGISTIC)),
    # one hidden layer of 8 whatever hidden_units says; the graded model (built with (16,)) still learns
    Case("sequential_ignores_hidden_units", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(8, activation=activation),\n"
        "                             keras.layers.Dense(1, activation='sigmoid')])\n")},
         frozenset({"test_build_fcnn_sequential_hidden"})),
    Case("sequential_ignores_activation", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    layers = [keras.Input(shape=(2,))] + [keras.layers.Dense(u, activation='relu') for u in hidden_units]\n"
        "    return keras.Sequential(layers + [keras.layers.Dense(1, activation='sigmoid')])\n")},
         frozenset({"test_build_fcnn_sequential_hidden"})),
    # the Keras 2 way again, in the first hidden layer
    Case("sequential_input_shape", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    layers = [keras.layers.Dense(u, activation=activation, input_shape=(2,)) if i == 0 else\n"
        "              keras.layers.Dense(u, activation=activation) for i, u in enumerate(hidden_units)]\n"
        "    return keras.Sequential((layers or [keras.Input(shape=(2,))]) + [keras.layers.Dense(1, activation='sigmoid')])\n")},
         frozenset({"test_build_fcnn_sequential_hidden"})),
    # the graded model is built with it: its outputs are no probabilities and its test NLL is bad
    Case("sequential_linear_output", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    layers = [keras.Input(shape=(2,))] + [keras.layers.Dense(u, activation=activation) for u in hidden_units]\n"
        "    return keras.Sequential(layers + [keras.layers.Dense(1)])\n")},
         frozenset({*SEQ, *MODEL})),
    # two softmax outputs (the wrong width): 42 parameters, and the graded model built with it predicts two columns
    Case("sequential_two_softmax_outputs", {"build_fcnn_sequential": (
        "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
        "    layers = [keras.Input(shape=(2,))] + [keras.layers.Dense(u, activation=activation) for u in hidden_units]\n"
        "    return keras.Sequential(layers + [keras.layers.Dense(2, activation='softmax')])\n")},
         frozenset({*SEQ, *MODEL})),
    # the lecture's sigmoid hidden units whatever `activation` says, as separate Activation layers: a wrong activation
    # is caught by what the network computes, however it is written
    Case("functional_sigmoid_hidden", {"build_fcnn_functional": (
        "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
        "    inputs = keras.Input(shape=(2,))\n    x = inputs\n"
        "    for units in hidden_units:\n        x = keras.layers.Activation('sigmoid')(keras.layers.Dense(units)(x))\n"
        "    return keras.Model(inputs, keras.layers.Dense(1, activation='sigmoid')(x))\n")},
         frozenset(FUNC)),
    # every hidden layer is applied to the input: only the last one ends up in the model
    Case("functional_not_chained", {"build_fcnn_functional": (
        "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
        "    inputs = keras.Input(shape=(2,))\n    x = inputs\n"
        "    for units in hidden_units:\n        x = keras.layers.Dense(units, activation=activation)(inputs)\n"
        "    return keras.Model(inputs, keras.layers.Dense(1, activation='sigmoid')(x))\n")},
         frozenset({"test_build_fcnn_functional_hidden"})),
    Case("functional_linear_output", {"build_fcnn_functional": (
        "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
        "    inputs = keras.Input(shape=(2,))\n    x = inputs\n"
        "    for units in hidden_units:\n        x = keras.layers.Dense(units, activation=activation)(x)\n"
        "    return keras.Model(inputs, keras.layers.Dense(1)(x))\n")},
         frozenset(FUNC)),
    # the right network, but not built with the Functional API
    Case("functional_is_sequential", {"build_fcnn_functional": (
        "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
        "    return build_fcnn_sequential(hidden_units, activation)\n")},
         frozenset(FUNC)),
    # MSE instead of the Bernoulli NLL: the validation loss is not the binary cross-entropy (the model itself still learns)
    Case("train_mse_loss", {"train": train_with('loss="binary_crossentropy"', 'loss="mse"')},
         frozenset(TRAIN)),
    # Keras' default learning rate 0.001: the graded model is undertrained after 40 epochs
    Case("train_ignores_learning_rate", {"train": train_with(
        "optimizer=keras.optimizers.Adam(learning_rate=learning_rate)", 'optimizer="adam"')},
         frozenset({"test_train_hidden", *MODEL})),
    # validation cut from the training data: fewer steps per epoch, another validation loss
    Case("train_validation_split", {"train": train_with(
        "validation_data=(X_val, y_val)", "validation_split=0.2")},
         frozenset(TRAIN)),
    Case("train_no_return", {"train": train_with(
        "    return model.fit(", "    model.fit(")},
         frozenset(TRAIN)),
    # batch_size not passed on: Keras' default 32 gives other steps per epoch
    Case("train_ignores_batch_size", {"train": train_with(
        "epochs=epochs, batch_size=batch_size, verbose=0", "epochs=epochs, verbose=0")},
         frozenset(TRAIN)),
    Case("model_untrained", {"model": (
        "keras.utils.set_random_seed(0)\nmodel = build_fcnn_sequential(hidden_units=(16,))\n")},
         frozenset(MODEL)),
    # logistic regression cannot bend its boundary: test NLL about 0.50
    Case("model_logistic_regression", {"model": (
        "keras.utils.set_random_seed(0)\nmodel = build_logistic_model()\n"
        "history = train(model, X_train, y_train, X_val, y_val, epochs=40, batch_size=64, learning_rate=0.05)\n")},
         frozenset(MODEL)),
    # trained on the raw features, graded on standardised ones
    Case("model_raw_features", {"model": model_with(
        "train(model, X_train, y_train,", "train(model, split.X_train, split.y_train,")},
         frozenset(MODEL)),
    Case("model_one_epoch", {"model": model_with("epochs=40", "epochs=1")},
         frozenset(MODEL)),
]

CORRECT = [
    # .add and explicit layers; binary_accuracy and a loss object; a deeper functional network as the model
    Case("add_and_loss_object", {
        "build_logistic_model": (
            "def build_logistic_model():\n    net = keras.Sequential()\n    net.add(keras.Input(shape=(2,)))\n"
            "    net.add(keras.layers.Dense(units=1, activation=keras.activations.sigmoid))\n    return net\n"),
        "build_fcnn_sequential": (
            "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
            "    net = keras.Sequential()\n    net.add(keras.Input(shape=(2,)))\n"
            "    for n in hidden_units:\n        net.add(keras.layers.Dense(n, activation))\n"
            "    net.add(keras.layers.Dense(1, 'sigmoid'))\n    return net\n"),
        "train": (
            "def train(model, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):\n"
            "    opt = keras.optimizers.Adam(learning_rate)\n"
            "    model.compile(opt, loss=keras.losses.BinaryCrossentropy(), metrics=['binary_accuracy'])\n"
            "    history = model.fit(x=X_train, y=y_train, batch_size=batch_size, epochs=epochs,\n"
            "                        validation_data=[X_val, y_val], shuffle=True, verbose=0)\n"
            "    return history\n"),
        "model": (
            "keras.utils.set_random_seed(7)\nmodel = build_fcnn_functional(hidden_units=(16, 16))\n"
            "history = train(model, X_train, y_train, X_val, y_val, epochs=40, batch_size=64, learning_rate=0.01)\n"),
    }),
    # activations as layers of their own (Activation, ReLU): the same networks as Dense(..., activation=...);
    # the graded model built by hand with the Functional API
    Case("activation_layers", {
        "build_logistic_model": (
            "def build_logistic_model():\n"
            "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1), keras.layers.Activation('sigmoid')])\n"),
        "build_fcnn_sequential": (
            "def build_fcnn_sequential(hidden_units=(8,), activation='relu'):\n"
            "    net = keras.Sequential([keras.Input(shape=(2,))])\n"
            "    for units in hidden_units:\n"
            "        net.add(keras.layers.Dense(units))\n        net.add(keras.layers.Activation(activation))\n"
            "    net.add(keras.layers.Dense(1))\n    net.add(keras.layers.Activation('sigmoid'))\n    return net\n"),
        "build_fcnn_functional": (
            "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
            "    inputs = keras.Input(shape=(2,))\n    x = inputs\n"
            "    for units in hidden_units:\n        x = keras.layers.Dense(units)(x)\n"
            "        x = keras.layers.ReLU()(x) if activation == 'relu' else keras.layers.Activation(activation)(x)\n"
            "    return keras.Model(inputs, keras.layers.Activation('sigmoid')(keras.layers.Dense(1)(x)))\n"),
        "model": (
            "keras.utils.set_random_seed(0)\n"
            "inputs = keras.Input(shape=(2,))\n"
            "hidden = keras.layers.ReLU()(keras.layers.Dense(16)(inputs))\n"
            "model = keras.Model(inputs, keras.layers.Dense(1, activation='sigmoid')(hidden))\n"
            "history = train(model, X_train, y_train, X_val, y_val, epochs=40, batch_size=64, learning_rate=0.02)\n"),
    }),
    # functools.reduce over the layers, named layers, a loss function; a smaller network with another seed
    Case("reduce_and_loss_function", {
        "build_fcnn_functional": (
            "from functools import reduce\n\n"
            "def build_fcnn_functional(hidden_units=(8,), activation='relu'):\n"
            "    inp = keras.Input(shape=(2,), name='features')\n"
            "    hidden = reduce(lambda t, u: keras.layers.Dense(u, activation=activation)(t), hidden_units, inp)\n"
            "    out = keras.layers.Dense(1, activation='sigmoid', name='p_fake')(hidden)\n"
            "    return keras.Model(inp, out, name='fcnn')\n"),
        "train": (
            "def train(model, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):\n"
            "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),\n"
            "                  loss=keras.losses.binary_crossentropy, metrics=['accuracy'])\n"
            "    return model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size,\n"
            "                     validation_data=(X_val, y_val), verbose=0)\n"),
        "model": (
            "keras.utils.set_random_seed(3)\nmodel = build_fcnn_sequential()\n"
            "history = train(model, X_train, y_train, X_val, y_val, epochs=40, batch_size=64, learning_rate=0.02)\n"),
    }),
]
