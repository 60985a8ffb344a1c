"""LearningRateFinder: the rates and per-batch losses it records, the stop on divergence, everything restored after
the fit, the suggestion rules, bad arguments, serialization and the plot."""

import json
import math

import keras
import matplotlib
import numpy as np
import pytest

from keras_transfer.callbacks import LearningRateFinder
from keras_transfer.callbacks.lr_finder import suggestion_index
from keras_transfer.plotting.lr_finder import plot_learning_rate_finder

matplotlib.use("Agg")
pytestmark = pytest.mark.multibackend


def _numpy(variables):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in variables]


def _data(samples=64, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features)).astype("float32")
    return x, (x @ rng.normal(size=(features, 1)) + 0.1 * rng.normal(size=(samples, 1))).astype("float32")


def _model(optimizer, features=4, normalization=False):
    inputs = keras.Input((features,))
    hidden = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    if normalization:
        hidden = keras.layers.BatchNormalization(name="normalization")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(hidden))
    model.compile(optimizer=optimizer, loss="mse")
    return model


class _Recorder(keras.callbacks.Callback):
    """The learning rate of each batch and every variable at the end of the fit, before the finder restores them."""

    def __init__(self):
        super().__init__()
        self.learning_rates, self.final = [], None

    def on_train_batch_end(self, batch, logs=None):
        self.learning_rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_train_end(self, logs=None):
        self.final = _numpy(self.model.variables) + _numpy(self.model.optimizer.variables)


def test_restores_weights_optimizer_state_and_learning_rate():
    x, y = _data()
    model = _model(keras.optimizers.Adam(0.003), normalization=True)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # the optimizer has moments and a step count to restore
    weights, optimizer_state = _numpy(model.variables), _numpy(model.optimizer.variables)
    recorder = _Recorder()
    finder = LearningRateFinder(1e-4, 1.0, steps=20, skip_start=2, skip_end=2)
    finder.find(model, x, y, batch_size=16, callbacks=[recorder])
    assert len(finder.losses) == 20 and not finder.stopped_early
    # The range test trained (weights, moving statistics, Adam's moments and its step count all moved) ...
    unchanged = [a for a, b in zip(weights + optimizer_state, recorder.final) if np.array_equal(a, b)]
    assert len(recorder.final) == len(weights + optimizer_state) and unchanged == []
    # ... and every variable is back, the learning rate included.
    for before, after in zip(weights, _numpy(model.variables)):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(optimizer_state, _numpy(model.optimizer.variables)):
        np.testing.assert_array_equal(before, after)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.003)
    # The model trains on as if the finder had never run: the same as a copy of it fitted from the same state.
    twin = _model(keras.optimizers.Adam(0.003), normalization=True)
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0)  # builds its optimizer; then copy the state over
    for variable, value in zip(twin.variables + twin.optimizer.variables, weights + optimizer_state):
        variable.assign(value)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for ours, theirs in zip(_numpy(model.variables), _numpy(twin.variables)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_records_the_exponential_rates_and_each_batch_loss():
    x, y = _data(samples=40)
    model = _model(keras.optimizers.SGD(0.1))
    initial = [float(np.mean((model.predict(x[i:i + 8], verbose=0) - y[i:i + 8]) ** 2)) for i in range(0, 40, 8)]
    recorder = _Recorder()
    # Rates far too small to move the weights: every batch's loss is its loss under the initial weights. The fit
    # runs 12 batches over three epochs of 5 batches (the loss tracker restarts each epoch).
    finder = LearningRateFinder(1e-12, 1e-10, steps=12, smoothing=0.0, skip_start=0, skip_end=0)
    finder.find(model, x, y, batch_size=8, shuffle=False, callbacks=[recorder])
    expected_rates = [1e-12 * 100 ** (step / 11) for step in range(12)]
    assert finder.learning_rates == pytest.approx(expected_rates, rel=1e-12)
    assert recorder.learning_rates == pytest.approx(expected_rates, rel=1e-6)  # what the optimizer held
    assert finder.losses == pytest.approx([initial[step % 5] for step in range(12)], rel=1e-4)
    assert finder.smoothed_losses == pytest.approx(finder.losses)  # smoothing=0: the raw loss


def test_smoothing_is_the_bias_corrected_moving_average():
    x, y = _data(samples=40)
    finder = LearningRateFinder(1e-4, 1e-2, steps=10, smoothing=0.9, skip_start=0, skip_end=0)
    finder.find(_model(keras.optimizers.SGD(0.1)), x, y, batch_size=8)
    average = 0.0
    for step, loss in enumerate(finder.losses):
        average = 0.9 * average + 0.1 * loss
        assert finder.smoothed_losses[step] == pytest.approx(average / (1 - 0.9 ** (step + 1)), rel=1e-12)


def test_stops_when_the_loss_diverges_and_suggests_a_rate_inside_the_range():
    x, y = _data(samples=128)
    model = _model(keras.optimizers.SGD(0.01))
    weights = _numpy(model.variables)
    finder = LearningRateFinder(1e-5, 1e3, steps=100, rule="steepest")
    finder.find(model, x, y, batch_size=16)
    assert finder.stopped_early and 15 < len(finder.losses) < 100
    last = finder.smoothed_losses[-1]
    assert not math.isfinite(last) or last > 4 * min(finder.smoothed_losses[:-1])
    assert 1e-5 <= finder.suggestion <= finder.learning_rates[-1]
    assert 1e-5 <= finder.suggest("valley") <= finder.learning_rates[-1]
    for before, after in zip(weights, _numpy(model.variables)):
        np.testing.assert_array_equal(before, after)  # finite again: the blown-up weights are gone
    # The suggested rate trains: one epoch at it lowers the loss.
    start = model.evaluate(x, y, verbose=0)
    model.optimizer.learning_rate = finder.suggestion
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < start


def test_a_fit_shorter_than_steps_warns_and_is_restored_too():
    x, y = _data(samples=40)
    model = _model(keras.optimizers.SGD(0.01))
    weights = _numpy(model.variables)
    finder = LearningRateFinder(1e-4, 1.0, steps=20, skip_start=0, skip_end=0)
    with pytest.warns(UserWarning, match="fit\\(\\) runs 5 batches, fewer than steps=20"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[finder])
    assert len(finder.losses) == 5
    for before, after in zip(weights, _numpy(model.variables)):
        np.testing.assert_array_equal(before, after)


def test_the_rules_on_a_hand_made_curve():
    # A long gentle descent, then a cliff, then the blow-up; equal steps of log(rate).
    losses = [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 1.0, 3.0]
    log_rates = np.arange(9.0)
    # Steepest: the largest fall per step is 2.4 -> 1.0, from index 6.
    assert suggestion_index(losses, log_rates, "steepest") == 6
    # Valley: the longest decreasing subsequence is indices 0..7 (length 8); end - length = -1, and
    # -1 + floor(8 / 3) + floor(8 / 3 / 2) = 2, halfway down the valley rather than at the cliff.
    assert suggestion_index(losses, log_rates, "valley") == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"start_learning_rate": 0.0}, "`start_learning_rate`: expected a positive number"),
    ({"start_learning_rate": 1.0, "end_learning_rate": 0.1}, "`end_learning_rate`: expected a number greater"),
    ({"end_learning_rate": float("nan")}, "`end_learning_rate`"),
    ({"steps": 4}, "`steps`: expected an integer >= 5"),
    ({"steps": 10.0}, "`steps`"),
    ({"rule": "minimum"}, "`rule`: expected one of \\('valley', 'steepest'\\)"),
    ({"smoothing": 1.0}, "`smoothing`: expected a number in \\[0, 1\\)"),
    ({"divergence_factor": 1.0}, "`divergence_factor`"),
    ({"skip_start": -1}, "`skip_start`"),
    ({"steps": 10, "skip_start": 5, "skip_end": 3}, "`skip_start` and `skip_end`"),
])
def test_bad_arguments_raise_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LearningRateFinder(**kwargs)


def test_bad_uses_raise():
    x, y = _data(samples=16)
    finder = LearningRateFinder(steps=10, skip_start=0, skip_end=0)
    with pytest.raises(ValueError, match="too few to suggest a rate"):
        finder.suggestion  # noqa: B018 (no run yet)
    with pytest.raises(ValueError, match="`epochs`"):
        finder.find(_model("sgd"), x, y, epochs=3)
    with pytest.raises(ValueError, match="`rule`"):
        finder.suggest("fastest")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        finder.find(_model(keras.optimizers.SGD(schedule)), x, y)


def test_config_is_json_and_round_trips_through_keras_serialization():
    finder = LearningRateFinder(1e-6, 3.0, steps=50, rule="steepest", smoothing=0.9, divergence_factor=5.0,
                                skip_start=3, skip_end=2)
    config = finder.get_config()
    assert json.loads(json.dumps(config)) == config
    assert keras.saving.get_registered_name(LearningRateFinder) == "keras_transfer>LearningRateFinder"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(finder))
    assert isinstance(restored, LearningRateFinder)
    assert json.dumps(restored.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)


def test_plot_marks_the_suggestions_on_a_log_axis():
    x, y = _data(samples=128)
    finder = LearningRateFinder(1e-5, 1e3, steps=60)
    finder.find(_model(keras.optimizers.SGD(0.01)), x, y, batch_size=16)
    figure = plot_learning_rate_finder(finder)
    (axis,) = figure.axes
    assert axis.get_xscale() == "log"
    labels = [text.get_text() for text in axis.get_legend().get_texts()]
    assert f"valley: {finder.suggest('valley'):.2g} (suggestion)" in labels
    assert f"steepest: {finder.suggest('steepest'):.2g}" in labels
    marked = {float(line.get_xdata()[0]) for line in axis.lines if len(line.get_xdata()) <= 2}
    assert {finder.suggest("valley"), finder.suggest("steepest")} <= marked
    with pytest.raises(ValueError, match="`finder`"):
        plot_learning_rate_finder(LearningRateFinder())
    matplotlib.pyplot.close("all")
