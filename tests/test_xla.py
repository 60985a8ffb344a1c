"""The core pieces under XLA (`jit_compile=True`), as Keras compiles them on a GPU by default (`"auto"`).

Our machines have no GPU, so XLA on the CPU stands in: each piece trains a few steps of a small model compiled
with `jit_compile=True` on TensorFlow, and what it promises still holds (a reversed gradient, the schedule's rate,
per-layer rates, thawing in steps). TensorFlow only (not marked `multibackend`): `make unit-tf` runs it.
"""

import keras
import numpy as np
import pytest

import keras_transfer as kt


def _data(count=32, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, features)).astype("float32"), rng.integers(0, classes, count)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", name="base_1")(inputs)
    x = keras.layers.Dense(8, activation="relu", name="base_2")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def test_gradient_reversal_reverses_under_xla():
    layer = kt.layers.GradientReversal(strength=0.5)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(layer(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse", jit_compile=True)
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[kt.callbacks.GradientReversalSchedule()])
    assert np.all(np.isfinite(model.get_weights()[0]))
    # the layer's gradient: -strength times the upstream gradient
    import tensorflow as tf

    probe = tf.Variable(np.ones((2, 4), "float32"))
    compiled = tf.function(lambda: layer(probe), jit_compile=True)
    with tf.GradientTape() as tape:
        value = compiled()
    gradient = tape.gradient(value, probe)
    np.testing.assert_allclose(value.numpy(), probe.numpy())
    np.testing.assert_allclose(gradient.numpy(), -float(layer.strength.numpy()) * np.ones((2, 4)), rtol=1e-6)


def test_schedules_and_discriminative_rates_under_xla():
    x, y = _data()
    model = _model()
    schedule = kt.schedules.SlantedTriangular(1e-2, total_steps=8, cut_frac=0.25)
    optimizer = kt.optimizers.Discriminative(keras.optimizers.Adam(schedule), multipliers={"base_1": 0.0})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", jit_compile=True)
    frozen_by_rate = model.get_layer("base_1").get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for before, after in zip(frozen_by_rate, model.get_layer("base_1").get_weights()):
        np.testing.assert_array_equal(before, after)  # a multiplier of 0: no update, also under XLA
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 8
    decay = kt.schedules.InverseProgressDecay(0.01, total_steps=100)
    assert float(keras.ops.convert_to_numpy(decay(50))) < 0.01


@pytest.mark.parametrize("kind", ["chain_thaw", "gradual_unfreezing"])
def test_unfreezing_callbacks_under_xla(kind):
    x, y = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", jit_compile=True)
    start = [layer.get_weights() for layer in model.layers[1:]]
    if kind == "chain_thaw":
        callback = kt.callbacks.ChainThaw(new_layers=["head"], epochs_per_step=1, monitor="loss", verbose=0)
        epochs = 4  # head, base_1, base_2, all
    else:
        callback = kt.callbacks.GradualUnfreezing([["base_1"], ["base_2"], ["head"]], verbose=0)
        epochs = 3
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0, callbacks=[callback])
    for layer, before in zip(model.layers[1:], start):
        changed = any(not np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
        assert changed, f"{kind} under XLA never trained {layer.name}"
