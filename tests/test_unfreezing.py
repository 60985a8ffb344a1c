"""Tests for `keras_transfer.callbacks.ChainThaw` and `GradualUnfreezing` (both in `callbacks/unfreezing.py`).

A tiny functional model holds a nested "base" sub-model (Dense, BatchNormalization, Dense, Dense, the last two of
the same shape, which would expose a stale compiled function on JAX) and a two-layer head. A recorder callback
snapshots every layer's weights and the optimizer's variables at the start
and the end of every epoch, so each test can check what really trained.
"""

import json

import keras
import numpy as np
import pytest

from keras_transfer.callbacks import ChainThaw
from keras_transfer.callbacks import GradualUnfreezing
from conftest import mirrored_strategy

BASE_LAYERS = ["b1", "bn", "b2", "b3"]
HEAD_LAYERS = ["head1", "out"]
ALL_LAYERS = BASE_LAYERS + HEAD_LAYERS


def _tiny_model(batch_norm=True, base_training=None):
    base_inputs = keras.Input((6,))
    x = keras.layers.Dense(5, activation="tanh", name="b1")(base_inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dense(5, activation="tanh", name="b2")(x)
    x = keras.layers.Dense(5, activation="tanh", name="b3")(x)
    base = keras.Model(base_inputs, x, name="base")
    inputs = keras.Input((6,))
    x = base(inputs) if base_training is None else base(inputs, training=base_training)
    x = keras.layers.Dense(4, activation="tanh", name="head1")(x)
    outputs = keras.layers.Dense(3, name="out")(x)
    return keras.Model(inputs, outputs, name="tiny")


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.tanh(x[:, :3] + 0.5 * x[:, 3:]).astype("float32")
    return x, y


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return model.get_layer("base").get_layer(name)


def _numpy(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


class _Recorder(keras.callbacks.Callback):
    """Snapshots weights, trainable layers and optimizer state at the start and the end of each epoch."""

    def __init__(self, names):
        super().__init__()
        self.names = names
        self.records = []

    def _weights(self):
        return {name: _numpy(_layer(self.model, name).weights) for name in self.names}

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self._current = {
            "epoch": epoch,
            "trainable": {name for name in self.names if _layer(self.model, name).trainable_weights},
            "begin": self._weights(),
            "optimizer": optimizer,
            "optimizer_begin": {v.path: keras.ops.convert_to_numpy(v) for v in optimizer.variables},
            "learning_rate": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
        }

    def on_epoch_end(self, epoch, logs=None):
        self._current["end"] = self._weights()
        self._current["optimizer_end"] = {
            v.path: keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables
        }
        self.records.append(self._current)


def _check_only_trainable_changed(records):
    for record in records:
        for name in record["begin"]:
            unchanged = _same(record["begin"][name], record["end"][name])
            if name in record["trainable"]:
                assert not unchanged, f"epoch {record['epoch']}: {name} should have trained"
            else:
                assert unchanged, f"epoch {record['epoch']}: frozen {name} changed"


def _slots(state, layer_name):
    """The optimizer variables (paths) that belong to the weights of one layer."""
    return [path for path in state if path.split("/")[-1].startswith(f"{layer_name}_")]


def _check_fresh_optimizer(record):
    for path, value in record["optimizer_begin"].items():
        if not path.endswith("learning_rate"):
            assert not np.any(value), f"epoch {record['epoch']}: optimizer variable {path} not reset"


@pytest.mark.multibackend
def test_chain_thaw_steps_freeze_reset_and_stop():
    model = _tiny_model()
    x, y = _data()
    recorder = _Recorder(ALL_LAYERS)
    chain_thaw = ChainThaw(new_layers=HEAD_LAYERS, epochs_per_step=2, patience=5, verbose=0)
    expected = [set(HEAD_LAYERS), {"b1"}, {"bn"}, {"b2"}, {"b3"}, set(ALL_LAYERS)]
    assert [set(names) for _, names in chain_thaw.plan(model)[:-1]] == expected[:-1]
    assert all(layer.trainable for layer in [model, *(_layer(model, name) for name in ALL_LAYERS)])  # untouched
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")

    history = model.fit(
        x, y, validation_data=_data(16, seed=1), epochs=100, batch_size=8, verbose=0,
        callbacks=[recorder, chain_thaw],
    )

    # Six steps of two epochs each, then the callback stops fit() although it asked for 100 epochs.
    assert history.history["chain_thaw_step"] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [(s, first, last) for s, _, first, last, _ in chain_thaw.step_epochs] == [
        (i, 2 * i, 2 * i + 1) for i in range(6)
    ]
    assert chain_thaw.step_epochs[0][1] == "new layers: head1, out"
    assert [entry["learning_rate"] for entry in chain_thaw.steps_log] == [1e-3] + [1e-4] * 5
    for step, record in enumerate(recorder.records):
        assert record["trainable"] == expected[step // 2]
    # Bit-identical frozen layers (BatchNormalization's moving statistics included), trained layers change.
    _check_only_trainable_changed(recorder.records)
    # A fresh optimizer at the start of each step (zero moments, iteration 0), kept within the step.
    for step in range(6):
        first, second = recorder.records[2 * step], recorder.records[2 * step + 1]
        _check_fresh_optimizer(first)
        assert first["optimizer"] is second["optimizer"]
        assert int(second["optimizer_begin"][f"{second['optimizer'].name}/iteration"]) == 4
        np.testing.assert_allclose(first["learning_rate"], 1e-3 if step == 0 else 1e-4, rtol=1e-6)
    # After chain-thaw the whole model is trainable and the model's optimizer knows all its variables.
    assert len(model.trainable_weights) == len(model.optimizer.variables[2:]) // 2


@pytest.mark.multibackend
def test_chain_thaw_early_stopping_restores_best_weights():
    model = _tiny_model(batch_norm=False)
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    x, y = _data()
    # Validation targets are the opposite of the training targets: the better the fit, the worse val_loss.
    recorder = _Recorder(["b1", "b2", "b3", "head1", "out"])
    chain_thaw = ChainThaw(
        new_layers=["out"], layers=["head1", "b3"], epochs_per_step=4, patience=1, learning_rates=(0.2, 0.2),
        verbose=0,
    )
    model.fit(x, y, validation_data=(x, -y), epochs=50, batch_size=8, verbose=0, callbacks=[recorder, chain_thaw])

    assert [entry["description"] for entry in chain_thaw.steps_log] == ["new layers: out", "head1", "b3", "all layers"]
    restored = 0
    by_epoch = {record["epoch"]: record for record in recorder.records}
    for entry in chain_thaw.steps_log:
        last = entry["last_epoch"]
        epochs_run = last - entry["first_epoch"] + 1
        assert epochs_run == 4 or (entry["stopped_early"] and last - entry["best_epoch"] == 1)
        # After the step, the model holds the weights of the step's best epoch.
        after = by_epoch[last + 1]["begin"] if last + 1 in by_epoch else {
            name: _numpy(_layer(model, name).weights) for name in recorder.names
        }
        best = by_epoch[entry["best_epoch"]]["end"]
        for name in recorder.names:
            assert _same(after[name], best[name]), f"step {entry['step']}: {name} not restored to best epoch"
        restored += entry["restored_best"]
        assert entry["restored_best"] == (entry["best_epoch"] != last)
    assert restored >= 1
    final_val_loss = model.evaluate(x, -y, verbose=0)
    np.testing.assert_allclose(final_val_loss, chain_thaw.steps_log[-1]["best_monitor"], rtol=1e-5)


@pytest.mark.multibackend
def test_freeze_batch_norm_keeps_batch_norm_frozen_in_every_step():
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    x, y = _data()
    bn = _layer(model, "bn")
    initial = _numpy(bn.weights)
    recorder = _Recorder(ALL_LAYERS)
    chain_thaw = ChainThaw(new_layers=["out"], layers=None, epochs_per_step=1, freeze_batch_norm=True, verbose=0)
    assert [names for _, names in chain_thaw.plan(model)[1:-1]] == [["b1"], ["b2"], ["b3"], ["head1"]]
    history = model.fit(
        x, y, validation_split=0.25, epochs=10, batch_size=8, verbose=0, callbacks=[recorder, chain_thaw]
    )

    assert history.history["chain_thaw_step"] == [0, 1, 2, 3, 4, 5]
    assert recorder.records[-1]["trainable"] == {"b1", "b2", "b3", "head1", "out"}
    _check_only_trainable_changed(recorder.records)
    # gamma, beta and the moving statistics never moved, also while the rest of the base trained with it.
    assert _same(initial, _numpy(bn.weights))
    with pytest.raises(ValueError, match="freeze_batch_norm=True"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChainThaw(["out"], layers=[bn], freeze_batch_norm=True)])


@pytest.mark.multibackend
def test_gradual_unfreezing_schedule_and_frozen_groups():
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x, y = _data()
    recorder = _Recorder(ALL_LAYERS)
    # b1 is in no group: it stays frozen.
    unfreezing = GradualUnfreezing([["bn"], [_layer(model, "b2"), "b3"], HEAD_LAYERS], every=2, verbose=0)
    # The recorder comes after GradualUnfreezing, which changes the model in on_epoch_begin.
    history = model.fit(x, y, epochs=7, batch_size=8, verbose=0, callbacks=[unfreezing, recorder])

    assert history.history["unfrozen_groups"] == [1, 1, 2, 2, 3, 3, 3]
    assert unfreezing.unfreeze_log == [(0, 1), (2, 2), (4, 3)]
    expected = [set(HEAD_LAYERS)] * 2 + [{"b2", "b3", *HEAD_LAYERS}] * 2 + [{"bn", "b2", "b3", *HEAD_LAYERS}] * 3
    assert [record["trainable"] for record in recorder.records] == expected
    _check_only_trainable_changed(recorder.records)
    # At an unfreezing the new optimizer takes over the iteration count and the state of the groups that trained.
    for epoch in (2, 4):
        before, after = recorder.records[epoch - 1], recorder.records[epoch]
        assert after["optimizer"] is not before["optimizer"]
        new_state = after["optimizer_begin"]
        iteration = f"{after['optimizer'].name}/iteration"
        assert int(new_state[iteration]) == 4 * epoch
        head_slots, b2_slots = _slots(new_state, "head1") + _slots(new_state, "out"), _slots(new_state, "b2")
        assert (len(head_slots), len(b2_slots)) == (8, 4)  # Adam: momentum and velocity of kernel and bias
        assert all(np.any(new_state[path]) for path in head_slots)
        if epoch == 2:  # b2 was just unfrozen: fresh moments
            assert not any(np.any(new_state[path]) for path in b2_slots)
        else:  # b2 trained in epochs 2 and 3: its moments carry over
            assert all(np.any(new_state[path]) for path in b2_slots)
    # The epoch's last optimizer state of the head is exactly what the next optimizer starts from.
    old_state, new_state = recorder.records[3]["optimizer_end"], recorder.records[4]["optimizer_begin"]
    for path in _slots(old_state, "head1") + [f"{recorder.records[4]['optimizer'].name}/iteration"]:
        np.testing.assert_array_equal(old_state[path], new_state[path])


@pytest.mark.multibackend
def test_bad_arguments_raise_value_error_naming_them():
    with pytest.raises(ValueError, match=r"new_layers=\[\]"):
        ChainThaw(new_layers=[])
    with pytest.raises(ValueError, match="epochs_per_step=0"):
        ChainThaw(new_layers=["out"], epochs_per_step=0)
    with pytest.raises(ValueError, match="patience=-1"):
        ChainThaw(new_layers=["out"], patience=-1)
    with pytest.raises(ValueError, match=r"learning_rates=\(0.001, -0.0001\)"):
        ChainThaw(new_layers=["out"], learning_rates=(1e-3, -1e-4))
    with pytest.raises(ValueError, match="learning_rates=0.001"):
        ChainThaw(new_layers=["out"], learning_rates=1e-3)
    with pytest.raises(ValueError, match="mode='up'"):
        ChainThaw(new_layers=["out"], mode="up")
    with pytest.raises(ValueError, match="twice"):
        ChainThaw(new_layers=["out", "out"])
    with pytest.raises(ValueError, match="every=0"):
        GradualUnfreezing([["out"]], every=0)
    with pytest.raises(ValueError, match=r"layer_groups=\[\]"):
        GradualUnfreezing([])
    with pytest.raises(ValueError, match="more than one group"):
        GradualUnfreezing([["b1", "out"], ["out"]])

    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    x, y = _data(8)
    # A name that is not in the model: the error names it and lists the valid names, nested ones included.
    with pytest.raises(ValueError, match=r"'headX'.*'b1'.*'bn'.*'head1'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChainThaw(new_layers=["head1", "headX"], verbose=0)])
    with pytest.raises(ValueError, match="'nope'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradualUnfreezing([["nope"], ["out"]], verbose=0)])
    # A layer without weights.
    with pytest.raises(ValueError, match="no weights"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChainThaw(new_layers=[model.layers[0]], verbose=0)])
    # The monitored quantity is missing (no validation data).
    with pytest.raises(ValueError, match="'val_loss'.*validation_data"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChainThaw(new_layers=HEAD_LAYERS, verbose=0)])
    # A learning-rate schedule cannot be set per step.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.5)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChainThaw(new_layers=HEAD_LAYERS, verbose=0)])


@pytest.mark.multibackend
def test_config_round_trip_and_short_fit_warning():
    chain_thaw = ChainThaw(new_layers=[keras.layers.Dense(2, name="head")], layers=["b1"], learning_rates=None)
    config = chain_thaw.get_config()
    assert config["new_layers"] == ["head"]
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(chain_thaw))
    assert isinstance(restored, ChainThaw)
    assert json.dumps(restored.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    unfreezing = GradualUnfreezing([["b1"], ["out"]], every=3)
    again = GradualUnfreezing.from_config(unfreezing.get_config())
    assert json.dumps(again.get_config(), sort_keys=True) == json.dumps(unfreezing.get_config(), sort_keys=True)

    # fit() with too few epochs: a warning, and the unfinished step still ends with its best weights.
    model = _tiny_model(batch_norm=False)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    x, y = _data(16)
    chain_thaw = ChainThaw(new_layers=HEAD_LAYERS, epochs_per_step=3, patience=3, verbose=0)
    with pytest.warns(UserWarning, match="not run"):
        model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=[chain_thaw])
    assert [(s, first, last) for s, _, first, last, _ in chain_thaw.step_epochs] == [(0, 0, 1)]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's jit_compile switch")
@pytest.mark.parametrize("jit_compile", [True, False])
def test_chain_thaw_with_and_without_jit_compile_on_tensorflow(jit_compile):
    model = _tiny_model(batch_norm=False)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse", jit_compile=jit_compile)
    assert model.jit_compile == jit_compile
    x, y = _data()
    recorder = _Recorder(["b1", "b2", "b3", "head1", "out"])
    chain_thaw = ChainThaw(new_layers=HEAD_LAYERS, layers=["b3", "b1"], epochs_per_step=1, verbose=0)
    history = model.fit(
        x, y, validation_data=(x, y), epochs=20, batch_size=8, verbose=0, callbacks=[recorder, chain_thaw]
    )
    assert history.history["chain_thaw_step"] == [0, 1, 2, 3]
    expected = [set(HEAD_LAYERS), {"b3"}, {"b1"}, {"b1", "b2", "b3", *HEAD_LAYERS}]
    assert [record["trainable"] for record in recorder.records] == expected
    _check_only_trainable_changed(recorder.records)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_chain_thaw_under_mirrored_strategy_matches_one_device():
    import tensorflow as tf

    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    assert len(devices) >= 2, "tests/conftest.py should have split the CPU into two logical devices"
    x, y = _data()
    initial = _tiny_model(batch_norm=False).get_weights()

    def train(strategy):
        with strategy.scope():
            model = _tiny_model(batch_norm=False)
            model.set_weights(initial)
            model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
        chain_thaw = ChainThaw(
            new_layers=HEAD_LAYERS, layers=["b2"], epochs_per_step=2, learning_rates=(0.05, 0.02), verbose=0
        )
        model.fit(
            x, y, validation_data=(x, y), epochs=30, batch_size=8, shuffle=False, verbose=0, callbacks=[chain_thaw]
        )
        return model, chain_thaw

    mirrored, mirrored_chain_thaw = train(mirrored_strategy(devices[:2]))
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    single, single_chain_thaw = train(tf.distribute.get_strategy())
    steps = [entry[:4] for entry in single_chain_thaw.step_epochs]
    assert [entry[:4] for entry in mirrored_chain_thaw.step_epochs] == steps
    assert [entry[1] for entry in single_chain_thaw.step_epochs] == ["new layers: head1, out", "b2", "all layers"]
    for a, b in zip(mirrored.get_weights(), single.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not all(np.array_equal(a, b) for a, b in zip(initial, single.get_weights()))


@pytest.mark.multibackend
def test_fit_cut_short_leaves_the_model_as_compiled():
    x, y = _data()
    # ChainThaw stopped after two of its six steps: the original flags, and a fresh optimizer at the compiled rate.
    model = _tiny_model()
    _layer(model, "b3").trainable = False  # frozen by the user before fit()
    flags = {name: _layer(model, name).trainable for name in ALL_LAYERS}
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="mse")
    chain_thaw = ChainThaw(new_layers=HEAD_LAYERS, epochs_per_step=1, verbose=0)
    with pytest.warns(UserWarning, match="not run"):
        model.fit(x, y, validation_data=(x, y), epochs=2, batch_size=8, verbose=0, callbacks=[chain_thaw])
    assert {name: _layer(model, name).trainable for name in ALL_LAYERS} == flags
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(5e-3)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0
    recorder = _Recorder(ALL_LAYERS)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[recorder])
    assert recorder.records[0]["trainable"] == {"b1", "bn", "b2", "head1", "out"}
    _check_only_trainable_changed(recorder.records)

    # GradualUnfreezing stopped with one group of three unfrozen: the optimizer keeps its state, as at an unfreezing.
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="mse")
    unfreezing = GradualUnfreezing([["b1", "bn"], ["b2", "b3"], HEAD_LAYERS], verbose=0)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[unfreezing])
    assert all(_layer(model, name).trainable for name in ALL_LAYERS)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4
    recorder = _Recorder(ALL_LAYERS)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[recorder])
    assert recorder.records[0]["trainable"] == set(ALL_LAYERS)
    _check_only_trainable_changed(recorder.records)


@pytest.mark.multibackend
def test_a_switch_rebuilds_only_the_train_function_and_validation_uses_the_current_weights():
    # b2 and b3 have the same shapes and trade places between the trainable and the frozen variables at every step:
    # a test function that kept a stale partition would validate with swapped weights.
    model = _tiny_model(batch_norm=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x, y = _data()

    class Check(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.test_functions, self.train_functions, self.gaps = [], [], []

        def on_epoch_end(self, epoch, logs=None):
            self.test_functions.append(self.model.test_function)
            self.train_functions.append(self.model.train_function)
            expected = np.mean((keras.ops.convert_to_numpy(self.model(x)) - y) ** 2)
            self.gaps.append(abs(logs["val_loss"] - expected) / expected)

    check = Check()
    chain_thaw = ChainThaw(
        new_layers=HEAD_LAYERS, layers=["b2", "b3"], epochs_per_step=1, patience=1, verbose=0,
        learning_rates=(1e-2, 1e-2),
    )
    model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=8, verbose=0, callbacks=[check, chain_thaw])
    assert max(check.gaps) < 1e-5, check.gaps
    assert len({id(function) for function in check.test_functions}) == 1  # one test function for the whole fit
    assert len({id(function) for function in check.train_functions}) == 4  # a train function per step
    # After fit(), Keras's own functions for the restored flags: evaluate and predict agree with the model.
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), np.mean((model.predict(x, verbose=0) - y) ** 2),
                               rtol=1e-5)
