"""GradientReversal: exact identity forward, `-strength * upstream` backward, a strength that changes in training."""

import json

import keras
import numpy as np
import pytest

from keras_transfer.layers import GradientReversal

BACKEND = keras.backend.backend()


def _value_and_gradient(function, x):
    """`function(x)` (a scalar) and its gradient with respect to `x`, on the current backend."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = function(x)
        return float(value), tape.gradient(value, x).numpy()
    if BACKEND == "jax":
        import jax

        value, gradient = jax.value_and_grad(function)(x)
        return float(value), np.asarray(gradient)
    if BACKEND == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        value = function(x)
        value.backward()
        return float(value.detach()), x.grad.detach().cpu().numpy()
    raise NotImplementedError(f"No gradient helper for backend {BACKEND!r}")


@pytest.mark.multibackend
def test_forward_is_exactly_the_input():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 33)) * rng.choice([1e-30, 1e-3, 1.0, 1e3, 1e30], size=(64, 33))).astype("float32")
    layer = GradientReversal(strength=0.3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    # inside a compiled model as well
    inputs = keras.Input((33,))
    model = keras.Model(inputs, GradientReversal(strength=0.7)(inputs))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.multibackend
def test_gradient_is_minus_strength_times_upstream():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4)).astype("float32")
    w = rng.standard_normal((5, 4)).astype("float32")  # upstream gradient of sum(w * y) is w
    layer = GradientReversal(strength=0.3)

    def loss(inputs):
        return keras.ops.sum(w * layer(inputs))

    value, gradient = _value_and_gradient(loss, x)
    np.testing.assert_allclose(value, np.sum(w * x), rtol=1e-5)
    np.testing.assert_allclose(gradient, -0.3 * w, rtol=1e-6)

    layer.strength.assign(2.5)
    _, gradient = _value_and_gradient(loss, x)
    np.testing.assert_allclose(gradient, -2.5 * w, rtol=1e-6)

    layer.strength.assign(0.0)
    _, gradient = _value_and_gradient(loss, x)
    np.testing.assert_array_equal(gradient, np.zeros_like(w))

    layer.strength.assign(-0.5)  # a negative strength passes the gradient on un-reversed
    _, gradient = _value_and_gradient(loss, x)
    np.testing.assert_allclose(gradient, 0.5 * w, rtol=1e-6)

    # a non-linear upstream: d/dx sum(sin(y)) reversed is -strength * cos(x)
    layer.strength.assign(0.8)
    _, gradient = _value_and_gradient(lambda inputs: keras.ops.sum(keras.ops.sin(layer(inputs))), x)
    np.testing.assert_allclose(gradient, -0.8 * np.cos(x), rtol=1e-5, atol=1e-6)


class ReversedLinear(keras.Model):
    """features (Dense) -> GradientReversal -> head (Dense), written as a subclassed model."""

    def __init__(self, w1, w2, strength, **kwargs):
        super().__init__(**kwargs)
        self.features = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w1))
        self.reversal = GradientReversal(strength=strength)
        self.head = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w2))

    def call(self, inputs):
        return self.head(self.reversal(self.features(inputs)))


def _reversed_linear(kind, w1, w2, strength):
    if kind == "subclassed":
        model = ReversedLinear(w1, w2, strength)
        model(np.zeros((1, w1.shape[0]), dtype="float32"))  # creates the weights
        return model, model.features, model.reversal, model.head
    inputs = keras.Input((w1.shape[0],))
    features = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w1))
    reversal = GradientReversal(strength=strength)
    head = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w2))
    return keras.Model(inputs, head(reversal(features(inputs)))), features, reversal, head


class _Recorder(keras.callbacks.Callback):
    """Sets a new strength at the start of epoch 1 and records the state before every batch and at the end."""

    def __init__(self, features, reversal, head, new_strength):
        super().__init__()
        self.features, self.reversal, self.head, self.new_strength = features, reversal, head, new_strength
        self.states, self.train_functions = [], []

    def _record(self):
        self.model  # on JAX this attaches the training state to the variables
        self.states.append(
            (
                float(keras.ops.convert_to_numpy(self.reversal.strength)),
                keras.ops.convert_to_numpy(self.features.kernel).copy(),
                keras.ops.convert_to_numpy(self.head.kernel).copy(),
            )
        )

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            _ = self.model
            self.reversal.strength.assign(self.new_strength)

    def on_train_batch_begin(self, batch, logs=None):
        self._record()
        self.train_functions.append(self.model.train_function)

    def on_train_end(self, logs=None):
        self._record()


@pytest.mark.multibackend
@pytest.mark.parametrize("kind", ["functional", "subclassed"])
def test_fit_updates_follow_the_reversed_gradient_and_a_strength_assigned_mid_fit(kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    w1 = rng.standard_normal((3, 1)).astype("float32")
    w2 = np.array([[1.7]], dtype="float32")
    learning_rate, batch_size = 0.05, 4
    model, features, reversal, head = _reversed_linear(kind, w1, w2, strength=0.5)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    recorder = _Recorder(features, reversal, head, new_strength=2.0)
    model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])

    assert len(recorder.states) == 5  # before each of the 4 batches, and at the end
    assert [state[0] for state in recorder.states[:4]] == pytest.approx([0.5, 0.5, 2.0, 2.0])
    assert all(function is recorder.train_functions[0] for function in recorder.train_functions)  # one traced function
    for step in range(4):
        strength, kernel1, kernel2 = recorder.states[step]
        _, next_kernel1, next_kernel2 = recorder.states[step + 1]
        xb = x[(step % 2) * batch_size : (step % 2 + 1) * batch_size].astype("float64")
        yb = y[(step % 2) * batch_size : (step % 2 + 1) * batch_size].astype("float64")
        hidden = xb @ kernel1
        d_output = 2.0 * (hidden @ kernel2 - yb) / batch_size  # d mean((output - y)^2) / d output
        gradient2 = hidden.T @ d_output
        gradient1 = xb.T @ (-strength * d_output @ kernel2.T)  # the reversal multiplies by -strength
        np.testing.assert_allclose(next_kernel2, kernel2 - learning_rate * gradient2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(next_kernel1, kernel1 - learning_rate * gradient1, rtol=1e-5, atol=1e-6)
    # the first kernel moved against the direction plain gradient descent would take
    strength, kernel1, kernel2 = recorder.states[0]
    plain = x[:batch_size].T @ (2.0 * (x[:batch_size] @ kernel1 @ kernel2 - y[:batch_size]) / batch_size @ kernel2.T)
    assert np.sum((recorder.states[1][1] - kernel1) * plain) > 0


@pytest.mark.multibackend
def test_config_round_trip_and_shapes():
    layer = GradientReversal(strength=0.25, name="reversal")
    layer.strength.assign(0.625)
    config = layer.get_config()
    assert config["strength"] == 0.625 and isinstance(config["strength"], float)
    clone = GradientReversal.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert float(keras.ops.convert_to_numpy(clone.strength)) == 0.625
    assert not clone.strength.trainable
    assert layer.compute_output_shape((None, 7, 3)) == (None, 7, 3)
    symbolic = keras.Input((7, 3))
    assert clone(symbolic).shape == (None, 7, 3)
    assert clone.trainable_weights == [] and len(clone.non_trainable_weights) == 1
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "keras_transfer>GradientReversal"


@pytest.mark.multibackend
@pytest.mark.parametrize("strength", [float("nan"), float("inf"), "1.0", True, None])
def test_invalid_strength_is_rejected(strength):
    with pytest.raises(ValueError, match="strength"):
        GradientReversal(strength=strength)


@pytest.mark.multibackend
def test_one_rule_for_constructor_assignment_and_loading(tmp_path):
    # Any finite number: what the constructor takes, an assignment may set and a saved model loads with.
    assert float(keras.ops.convert_to_numpy(GradientReversal(strength=-1.0).strength)) == -1.0
    inputs = keras.Input((3,))
    layer = GradientReversal(name="reversal")
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    layer.strength.assign(-0.5)
    path = tmp_path / "negative.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert float(keras.ops.convert_to_numpy(loaded.get_layer("reversal").strength)) == -0.5
    # A value no constructor takes fails when saving, naming the layer, not when loading.
    layer.strength.assign(float("nan"))
    with pytest.raises(ValueError, match="'reversal'.*finite number.*nan"):
        model.save(tmp_path / "nan.keras")
