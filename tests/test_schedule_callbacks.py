"""The SlantedTriangular and GradientReversalSchedule callbacks set what the formulas say before every batch of a
real fit(), and the batch trains with it."""

import math
import warnings

import keras
import numpy as np
import pytest

from keras_transfer.callbacks import GradientReversalSchedule
from keras_transfer.callbacks import SlantedTriangular
from keras_transfer.layers import GradientReversal
from keras_transfer.schedules import SlantedTriangular as SlantedTriangularSchedule
from conftest import mirrored_strategy


def _stlr(t, total_steps, max_learning_rate, cut_frac, ratio):
    """ULMFiT's formula (Howard & Ruder, 2018) with t clamped to total_steps and p clipped at 0 (documented behaviour)."""
    t = min(t, total_steps)
    cut = math.floor(total_steps * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_learning_rate * (1 + max(p, 0.0) * (ratio - 1)) / ratio


def _dann_strength(p, gamma, max_strength):
    return max_strength * (2 / (1 + np.exp(-gamma * p)) - 1)


def _numpy(variable):
    return keras.ops.convert_to_numpy(variable).copy()


def _data(samples, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((samples, features)), rng.standard_normal((samples, 1))
    return x.astype("float32"), y.astype("float32")


class _KernelRecorder(keras.callbacks.Callback):
    """Records the given kernels before training and after every batch, and the learning rate each batch used."""

    def __init__(self, layers):
        super().__init__()
        self.layers = layers
        self.learning_rates, self.kernels = [], []

    def on_train_begin(self, logs=None):
        self.kernels.append([_numpy(layer.kernel) for layer in self.layers])

    def on_train_batch_end(self, batch, logs=None):
        self.learning_rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        self.kernels.append([_numpy(layer.kernel) for layer in self.layers])


def _linear_model(features=3):
    inputs = keras.Input((features,))
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="glorot_uniform")
    model = keras.Model(inputs, dense(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    return model, dense


def _check_sgd_steps(recorder, x, y, batch_size, learning_rates):
    """Each recorded update of a linear least-squares model equals -learning_rates[t] * gradient of batch t."""
    steps_per_epoch = math.ceil(len(x) / batch_size)
    assert len(recorder.kernels) == len(learning_rates) + 1
    for t, learning_rate in enumerate(learning_rates):
        index = t % steps_per_epoch
        xb = x[index * batch_size : (index + 1) * batch_size].astype("float64")
        yb = y[index * batch_size : (index + 1) * batch_size].astype("float64")
        (kernel,), (next_kernel,) = recorder.kernels[t], recorder.kernels[t + 1]
        gradient = xb.T @ (2 * (xb @ kernel - yb) / len(xb))
        np.testing.assert_allclose(next_kernel, kernel - learning_rate * gradient, rtol=2e-5, atol=1e-7)


def _simulate_sgd(kernel, x, y, batch_size, learning_rates):
    """The kernel of a linear least-squares model after SGD steps with the given rates, batches in order."""
    steps_per_epoch = math.ceil(len(x) / batch_size)
    kernel = kernel.astype("float64")
    for t, learning_rate in enumerate(learning_rates):
        index = t % steps_per_epoch
        xb = x[index * batch_size : (index + 1) * batch_size].astype("float64")
        yb = y[index * batch_size : (index + 1) * batch_size].astype("float64")
        kernel = kernel - learning_rate * xb.T @ (2 * (xb @ kernel - yb) / len(xb))
    return kernel


@pytest.mark.multibackend
@pytest.mark.parametrize(
    ("samples", "batch_size", "epochs", "cut_frac", "ratio", "probe"),
    [(16, 4, 3, 0.25, 8, True), (37, 1, 1, 0.1, 32, False)],
    ids=["T=12-probe", "T=37"],
)
def test_slanted_triangular_callback_trains_batch_t_with_lr_t(samples, batch_size, epochs, cut_frac, ratio, probe):
    x, y = _data(samples)
    total_steps = epochs * math.ceil(samples / batch_size)
    model, dense = _linear_model()
    initial_kernel = _numpy(dense.kernel)
    callback = SlantedTriangular(max_learning_rate=0.05, cut_frac=cut_frac, ratio=ratio)  # total_steps from fit()
    # The probe reads the state after every batch (on JAX that re-attaches it to the variables); without it the
    # callback alone must make the new rate reach the train step.
    recorder = _KernelRecorder([dense])
    callbacks = [callback, recorder] if probe else [callback]
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    expected = [_stlr(t, total_steps, 0.05, cut_frac, ratio) for t in range(total_steps)]
    assert callback.history == pytest.approx(expected, rel=1e-12)
    if probe:
        np.testing.assert_allclose(recorder.learning_rates, expected, rtol=1e-6)  # what the optimizer holds
        _check_sgd_steps(recorder, x, y, batch_size, expected)  # and what each step trained with
    simulated = _simulate_sgd(initial_kernel, x, y, batch_size, expected)
    np.testing.assert_allclose(_numpy(dense.kernel), simulated, rtol=1e-5, atol=1e-6)
    assert not np.allclose(simulated, _simulate_sgd(initial_kernel, x, y, batch_size, expected[1:] + expected[-1:]))
    steps_per_epoch = total_steps // epochs
    expected_logged = [expected[(epoch + 1) * steps_per_epoch - 1] for epoch in range(epochs)]
    assert history.history["learning_rate"] == pytest.approx(expected_logged, rel=1e-12)
    # the callback and the schedule compute the same rates
    schedule = SlantedTriangularSchedule(0.05, total_steps, cut_frac=cut_frac, ratio=ratio)
    np.testing.assert_allclose(
        [float(keras.ops.convert_to_numpy(schedule(t))) for t in range(total_steps + 3)],
        [_stlr(t, total_steps, 0.05, cut_frac, ratio) for t in range(total_steps + 3)],
        rtol=1e-6,
    )


@pytest.mark.multibackend
def test_slanted_triangular_callback_with_steps_inferred_from_a_dataset():
    import tensorflow as tf

    x, y = _data(20, seed=1)
    # known cardinality: fit() infers 5 steps per epoch
    model, dense = _linear_model()
    initial_kernel = _numpy(dense.kernel)
    callback = SlantedTriangular(0.05, cut_frac=0.2)
    known = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model.fit(known, epochs=2, shuffle=False, verbose=0, callbacks=[callback])
    expected = [_stlr(t, 10, 0.05, 0.2, 32) for t in range(10)]
    assert callback.history == pytest.approx(expected, rel=1e-12)
    simulated = _simulate_sgd(initial_kernel, x, y, 4, expected)
    np.testing.assert_allclose(_numpy(dense.kernel), simulated, rtol=1e-5, atol=1e-6)

    # unknown cardinality: the callback needs total_steps ...
    unknown = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda *_: True).batch(4)
    assert unknown.cardinality() == tf.data.UNKNOWN_CARDINALITY
    model, dense = _linear_model()
    with pytest.raises(ValueError, match="total_steps"):
        model.fit(unknown, epochs=2, shuffle=False, verbose=0, callbacks=[SlantedTriangular(0.05, cut_frac=0.2)])

    # ... and with it, a Python generator trains batch t with lr(t) as well
    def generator():
        for start in range(0, 20, 4):
            yield x[start : start + 4], y[start : start + 4]

    model, dense = _linear_model()
    initial_kernel = _numpy(dense.kernel)
    callback = SlantedTriangular(0.05, total_steps=5, cut_frac=0.2)
    model.fit(generator(), epochs=1, shuffle=False, verbose=0, callbacks=[callback])
    expected = [_stlr(t, 5, 0.05, 0.2, 32) for t in range(5)]
    assert callback.history == pytest.approx(expected, rel=1e-12)
    simulated = _simulate_sgd(initial_kernel, x, y, 4, expected)
    np.testing.assert_allclose(_numpy(dense.kernel), simulated, rtol=1e-5, atol=1e-6)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(expected[-1], rel=1e-6)


@pytest.mark.multibackend
def test_slanted_triangular_callback_errors():
    x, y = _data(8)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(SlantedTriangularSchedule(0.01, 20)), loss="mse")
    with pytest.raises(TypeError, match="LearningRateSchedule `SlantedTriangular`") as error:
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[SlantedTriangular(0.01)])
    assert "keras_transfer" not in str(error.value)  # a copier of the file alone has no such package

    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    with pytest.raises(ValueError, match="total_steps"):  # 2 steps: floor(2 * 0.1) = 0, no warm-up
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[SlantedTriangular(0.01)])

    for arguments, name in [
        ({"cut_frac": 0.0}, "cut_frac"),
        ({"cut_frac": 1.0}, "cut_frac"),
        ({"ratio": 0.9}, "ratio"),
        ({"max_learning_rate": -1.0}, "max_learning_rate"),
        ({"total_steps": 0}, "total_steps"),
        ({"total_steps": 5}, "total_steps"),  # floor(5 * 0.1) = 0
    ]:
        with pytest.raises(ValueError, match=name):
            SlantedTriangular(**{"max_learning_rate": 0.01, **arguments})
    config = SlantedTriangular(0.01, total_steps=100, ratio=10).get_config()
    assert SlantedTriangular.from_config(config).get_config() == config


@pytest.mark.multibackend
def test_slanted_triangular_callback_warns_when_total_steps_is_shorter_than_the_fit():
    x, y = _data(20)
    model, _ = _linear_model()
    # fit() knows its length (10 steps): the warning comes before training
    callback = SlantedTriangular(0.05, total_steps=6, cut_frac=0.5)
    with pytest.warns(UserWarning, match=r"total_steps=6, but fit\(\) runs 10 steps.*floor rate"):
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[callback])
    assert callback.history[6:] == [0.05 / 32] * 4

    # a generator: the warning comes once, after the first step past total_steps
    def generator():
        for start in range(0, 20, 4):
            yield x[start : start + 4], y[start : start + 4]

    model, _ = _linear_model()
    callback = SlantedTriangular(0.05, total_steps=4, cut_frac=0.5)
    with pytest.warns(UserWarning, match=r"total_steps=4, but fit\(\) has trained step 4") as record:
        model.fit(generator(), epochs=1, verbose=0, callbacks=[callback])
    assert len([w for w in record if "total_steps" in str(w.message)]) == 1
    # a fit() exactly as long as total_steps does not warn
    model, _ = _linear_model()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(generator(), epochs=1, verbose=0, callbacks=[SlantedTriangular(0.05, total_steps=5, cut_frac=0.2)])
    assert [w for w in record if "total_steps" in str(w.message)] == []


class ReversedBranch(keras.layers.Layer):
    """A plain layer that holds a GradientReversal layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reversal = GradientReversal(strength=0.3)

    def call(self, inputs):
        return self.reversal(inputs)


class TwoBranchModel(keras.Model):
    """h = x w1; output = head(GRL(h)) + side(GRL(h)), one GRL in a nested functional model, one in a plain layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        kernel = keras.initializers.Constant
        self.features = keras.layers.Dense(1, use_bias=False, kernel_initializer=kernel([[0.4], [-0.7], [0.2]]))
        inner_input = keras.Input((1,))
        self.inner = keras.Model(inner_input, GradientReversal(strength=0.9)(inner_input), name="inner")
        self.branch = ReversedBranch()
        self.head = keras.layers.Dense(1, use_bias=False, kernel_initializer=kernel([[1.3]]))
        self.side = keras.layers.Dense(1, use_bias=False, kernel_initializer=kernel([[-0.6]]))

    def call(self, inputs):
        hidden = self.features(inputs)
        return self.head(self.inner(hidden)) + self.side(self.branch(hidden))


class _StrengthRecorder(keras.callbacks.Callback):
    """Records the kernels before training and after every batch, and the strengths each batch used."""

    def __init__(self, layers):
        super().__init__()
        self.layers = layers
        self.strengths, self.kernels = [], []

    def _kernels(self):
        model = self.model  # on JAX this attaches the training state to the variables
        return [_numpy(model.features.kernel), _numpy(model.head.kernel), _numpy(model.side.kernel)]

    def on_train_begin(self, logs=None):
        self.kernels.append(self._kernels())

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(self._kernels())
        self.strengths.append([float(keras.ops.convert_to_numpy(layer.strength)) for layer in self.layers])


def _two_branch_step(kernels, xb, yb, strength, learning_rate):
    """One SGD step of TwoBranchModel in numpy: d output / d h = -strength * (w_head + w_side)."""
    w1, w_head, w_side = (kernel.astype("float64") for kernel in kernels)
    hidden = xb @ w1
    d_output = 2 * (hidden @ (w_head + w_side) - yb) / len(xb)
    gradient1 = xb.T @ (-strength * d_output @ (w_head + w_side).T)
    gradient_head = gradient_side = hidden.T @ d_output
    return [
        w1 - learning_rate * gradient1,
        w_head - learning_rate * gradient_head,
        w_side - learning_rate * gradient_side,
    ]


def _two_branch_model():
    model = TwoBranchModel()
    model(np.zeros((1, 3), "float32"))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


@pytest.mark.multibackend
def test_gradient_reversal_schedule_sets_every_layer_and_training_uses_it():
    x, y = _data(12, seed=2)
    batches = [(x[i : i + 4].astype("float64"), y[i : i + 4].astype("float64")) for i in range(0, 12, 4)]
    expected = [_dann_strength(t / 6, 10.0, 0.8) for t in range(6)]
    assert expected[0] == 0.0

    # with a probe that records both layers' strengths and the kernels around every batch
    model = _two_branch_model()
    layers = [model.inner.layers[-1], model.branch.reversal]
    schedule = GradientReversalSchedule(gamma=10.0, max_strength=0.8)
    recorder = _StrengthRecorder(layers)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[schedule, recorder])
    assert schedule.history == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(recorder.strengths, np.array([expected, expected]).T, rtol=1e-6, atol=1e-7)
    assert history.history["grl_strength"] == pytest.approx([expected[2], expected[5]], rel=1e-12)
    for t, strength in enumerate(expected):
        step = _two_branch_step(recorder.kernels[t], *batches[t % 3], strength, 0.1)
        for actual, simulated in zip(recorder.kernels[t + 1], step):
            np.testing.assert_allclose(actual, simulated, rtol=1e-5, atol=1e-7)

    # without a probe (nothing else re-attaches the JAX state): the whole run matches the simulation
    model = _two_branch_model()
    kernels = [_numpy(model.features.kernel), _numpy(model.head.kernel), _numpy(model.side.kernel)]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[schedule])
    for t, strength in enumerate(expected):
        kernels = _two_branch_step(kernels, *batches[t % 3], strength, 0.1)
    for actual, simulated in zip([model.features.kernel, model.head.kernel, model.side.kernel], kernels):
        np.testing.assert_allclose(_numpy(actual), simulated, rtol=1e-5, atol=1e-7)

    # state is reset by each fit(); a resumed fit (initial_epoch=1) continues the schedule
    model.fit(x, y, batch_size=4, epochs=2, initial_epoch=1, shuffle=False, verbose=0, callbacks=[schedule])
    assert schedule.history == pytest.approx(expected[3:], rel=1e-12)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[schedule])
    assert schedule.history == pytest.approx([_dann_strength(t / 3, 10.0, 0.8) for t in range(3)], rel=1e-12)


@pytest.mark.multibackend
def test_gradient_reversal_schedule_counts_the_first_epoch_when_steps_are_unknown():
    import tensorflow as tf

    x, y = _data(12, seed=3)
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1)(GradientReversal(name="reversal")(keras.layers.Dense(2)(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda *_: True).batch(4)  # unknown cardinality
    schedule = GradientReversalSchedule(gamma=5.0)
    history = model.fit(dataset, epochs=3, shuffle=False, verbose=0, callbacks=[schedule])
    # first epoch: 3 batches counted at p = 0; then total = 3 epochs * 3 batches = 9
    expected = [0.0, 0.0, 0.0] + [_dann_strength(t / 9, 5.0, 1.0) for t in range(3, 9)]
    assert schedule.history == pytest.approx(expected, rel=1e-12)
    assert history.history["grl_strength"] == pytest.approx([0.0, expected[5], expected[8]], rel=1e-12)
    final_strength = float(keras.ops.convert_to_numpy(model.get_layer("reversal").strength))
    assert final_strength == pytest.approx(expected[8], rel=1e-6)  # the last trained batch's, after fit()

    with pytest.warns(UserWarning, match="total_steps"):  # one epoch of unknown length: nothing to count ahead
        model.fit(dataset, epochs=1, shuffle=False, verbose=0, callbacks=[GradientReversalSchedule()])
    schedule = GradientReversalSchedule(total_steps=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(dataset, epochs=1, shuffle=False, verbose=0, callbacks=[schedule])
    assert not [warning for warning in caught if "GradientReversalSchedule" in str(warning.message)]
    assert schedule.history == pytest.approx([_dann_strength(t / 4, 10.0, 1.0) for t in range(3)], rel=1e-12)


@pytest.mark.multibackend
def test_gradient_reversal_schedule_errors():
    x, y = _data(8)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="no GradientReversal layer"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientReversalSchedule()])
    for arguments, name in [
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": -1.0}, "gamma"),
        ({"max_strength": -0.1}, "max_strength"),
        ({"max_strength": float("nan")}, "max_strength"),
        ({"total_steps": 0}, "total_steps"),
    ]:
        with pytest.raises(ValueError, match=name):
            GradientReversalSchedule(**arguments)
    config = GradientReversalSchedule(gamma=5.0, max_strength=0.5).get_config()
    assert GradientReversalSchedule.from_config(config).get_config() == config


def _dann_like_model():
    rng = np.random.default_rng(5)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(6, activation="tanh")(inputs)
    label = keras.layers.Dense(1)(hidden)
    domain = keras.layers.Dense(1)(GradientReversal(name="reversal")(hidden))
    model = keras.Model(inputs, keras.layers.Add()([label, domain]))
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5), loss="mse")
    return model


def test_training_under_mirrored_strategy_matches_one_device():
    import tensorflow as tf

    assert keras.backend.backend() == "tensorflow"
    x, y = _data(32, features=4, seed=4)

    def train(model):
        callbacks = [GradientReversalSchedule(), SlantedTriangular(0.1, cut_frac=0.25)]
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        return model.get_weights(), callbacks

    single_weights, single_callbacks = train(_dann_like_model())
    strategy = mirrored_strategy()
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored_model = _dann_like_model()
    mirrored_weights, mirrored_callbacks = train(mirrored_model)

    initial = _dann_like_model().get_weights()
    assert not np.allclose(single_weights[0], initial[0])  # it trained
    for single, mirrored in zip(single_weights, mirrored_weights):
        np.testing.assert_allclose(mirrored, single, rtol=1e-5, atol=1e-6)
    assert mirrored_callbacks[0].history == single_callbacks[0].history
    assert mirrored_callbacks[1].history == single_callbacks[1].history
    strength = mirrored_model.get_layer("reversal").strength
    assert float(strength.numpy()) == pytest.approx(_dann_strength(7 / 8, 10.0, 1.0), rel=1e-6)
    assert float(mirrored_model.optimizer.learning_rate.numpy()) == pytest.approx(_stlr(7, 8, 0.1, 0.25, 32), rel=1e-6)
