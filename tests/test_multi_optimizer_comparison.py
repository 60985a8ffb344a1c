"""`Discriminative` measured against `keras.optimizers.MultiOptimizer` (Keras >= 3.15).

The same model, data and starting weights are trained by `fit()` with `Discriminative(inner, multipliers)` and with
a `MultiOptimizer` holding one copy of `inner` per group at `factor * learning_rate`. Each test prints its figure
(`pytest -s`): the largest absolute difference between the two models' weights after `STEPS` steps, next to the
largest distance a weight moved.
"""

import keras
import numpy as np
import pytest

from keras_transfer.callbacks import SlantedTriangular
from keras_transfer.optimizers import Discriminative

LEARNING_RATE = 0.01
FACTORS = {"fc1": 0.1, "fc2": 0.5}  # "head" keeps 1.0
EPOCHS, BATCH, SAMPLES = 2, 8, 32
STEPS = EPOCHS * SAMPLES // BATCH


def _model():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh", name="fc1"),
            keras.layers.Dense(8, activation="tanh", name="fc2"),
            keras.layers.Dense(3, name="head"),
        ]
    )


def _data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(SAMPLES, 6)).astype("float32"), rng.normal(size=(SAMPLES, 3)).astype("float32")


def _multi(make, learning_rate=LEARNING_RATE):
    mapping = {f".*{layer}/.*": make(learning_rate * factor) for layer, factor in FACTORS.items()}
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(default_optimizer=make(learning_rate), optimizer_map=mapping)
    )


def _train(optimizer, callbacks=()):
    model = _model()
    x, y = _data()
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=list(callbacks))
    return model


def _difference(make, **kwargs):
    """(max |Discriminative - MultiOptimizer|, max |weight moved|) after STEPS steps of `fit()`."""
    start = _model().get_weights()
    wrapped = _train(Discriminative(make(LEARNING_RATE), FACTORS), **kwargs).get_weights()
    multi = _train(_multi(make), **kwargs).get_weights()
    difference = max(float(np.abs(a - b).max()) for a, b in zip(wrapped, multi))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(wrapped, start))
    print(f"\n{make(LEARNING_RATE).__class__.__name__}: after {STEPS} steps max |Discriminative - MultiOptimizer| = "
          f"{difference:.3g}, max weight moved = {moved:.3g}")
    return difference, moved


CONSTANT = {
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "adamw": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.5),
    "sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, weight_decay=0.1),
    "adam_clipnorm_accumulation": lambda lr: keras.optimizers.Adam(lr, clipnorm=0.1, gradient_accumulation_steps=2),
}


@pytest.mark.multibackend
@pytest.mark.parametrize("kind", list(CONSTANT))
def test_constant_factors_give_the_same_weights_as_multi_optimizer(kind):
    difference, moved = _difference(CONSTANT[kind])
    assert moved > 1e-3
    assert difference <= 1e-6  # float rounding: `factor * lr` is multiplied in float32 here, in Python there


@pytest.mark.multibackend
def test_global_clipnorm_differs_multi_optimizer_clips_each_group_alone():
    difference, moved = _difference(lambda lr: keras.optimizers.SGD(lr, global_clipnorm=0.05))
    assert difference > 1e-2 * moved  # a different update, not rounding


@pytest.mark.multibackend
def test_learning_rate_of_multi_optimizer_cannot_be_read_or_set_and_callbacks_treat_groups_apart():
    multi = _multi(keras.optimizers.Adam)
    with pytest.raises(AttributeError):
        _ = multi.learning_rate
    with pytest.raises(AttributeError):
        multi.learning_rate = 0.1
    wrapped = Discriminative(keras.optimizers.Adam(LEARNING_RATE), FACTORS)

    def rates(optimizer):
        groups = optimizer.optimizers if optimizer is multi else list(optimizer.group_optimizers.values())
        return sorted(round(float(keras.ops.convert_to_numpy(group.learning_rate)), 10) for group in groups)

    for optimizer in (multi, wrapped):
        model = _model()
        model.compile(optimizer=optimizer, loss="mse")
        optimizer.build(model.trainable_variables)
        # A LearningRateScheduler function that returns a rate: every MultiOptimizer group gets that same rate.
        scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.002)
        scheduler.set_model(model)
        scheduler.on_epoch_begin(0)
    print(f"\nLearningRateScheduler(lambda epoch: 0.002): MultiOptimizer rates {rates(multi)}, "
          f"Discriminative rates {rates(wrapped)}")
    assert rates(multi) == pytest.approx([0.002, 0.002, 0.002])
    assert rates(wrapped) == pytest.approx([0.0002, 0.001, 0.002])

    # ReduceLROnPlateau with min_lr: MultiOptimizer bounds each group's rate, so the ratios change.
    multi = _multi(keras.optimizers.Adam, learning_rate=0.002)
    wrapped = Discriminative(keras.optimizers.Adam(0.002), FACTORS)
    for optimizer in (multi, wrapped):
        model = _model()
        model.compile(optimizer=optimizer, loss="mse")
        optimizer.build(model.trainable_variables)
        reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=4e-4)
        reduce.set_model(model)
        reduce.on_train_begin()
        for epoch in range(4):
            reduce.on_epoch_end(epoch, logs={"loss": 1.0})
    print(f"ReduceLROnPlateau(factor=0.5, min_lr=4e-4) from 0.002, 0.001, 0.0002 (3 reductions): MultiOptimizer "
          f"rates {rates(multi)}, Discriminative rates {rates(wrapped)}")
    assert rates(multi) == pytest.approx([0.0002, 0.0004, 0.0004])  # 0.1 : 0.5 : 1 became 0.5 : 1 : 1
    assert rates(wrapped) == pytest.approx([0.00004, 0.0002, 0.0004])  # the ratios hold

    # A callback that sets `model.optimizer.learning_rate` works on one and fails on the other.
    _train(Discriminative(keras.optimizers.Adam(LEARNING_RATE), FACTORS), callbacks=[SlantedTriangular(0.01, cut_frac=0.25)])
    with pytest.raises(AttributeError, match="MultiOptimizer"):
        _train(_multi(keras.optimizers.Adam), callbacks=[SlantedTriangular(0.01, cut_frac=0.25)])


@pytest.mark.multibackend
def test_one_schedule_here_equals_one_scaled_schedule_per_multi_optimizer_group():
    decay = {"initial_learning_rate": LEARNING_RATE, "decay_steps": 1, "decay_rate": 0.7}

    def scaled(factor):
        return keras.optimizers.schedules.ExponentialDecay(**{**decay, "initial_learning_rate": LEARNING_RATE * factor})

    start = _model().get_weights()
    wrapped = _train(Discriminative(keras.optimizers.Adam(scaled(1.0)), FACTORS)).get_weights()
    mapping = {f".*{layer}/.*": keras.optimizers.Adam(scaled(factor)) for layer, factor in FACTORS.items()}
    multi = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(default_optimizer=keras.optimizers.Adam(scaled(1.0)), optimizer_map=mapping)
    )
    multi_weights = _train(multi).get_weights()
    difference = max(float(np.abs(a - b).max()) for a, b in zip(wrapped, multi_weights))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(wrapped, start))
    print(f"\nExponentialDecay: after {STEPS} steps max |Discriminative - MultiOptimizer| = {difference:.3g}, "
          f"max weight moved = {moved:.3g}")
    assert moved > 1e-3 and difference <= 1e-6
