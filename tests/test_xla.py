"""The core pieces and each experiment's models under XLA (`jit_compile=True`), as Keras compiles them on a GPU by
default (`"auto"`).

Our machines have no GPU, so XLA on the CPU stands in: each piece trains a few steps of a small model compiled
with `jit_compile=True` on TensorFlow, and what it promises still holds (a reversed gradient, the schedule's rate,
per-layer rates, thawing in steps). Then one training step of each experiment's models, built by the experiment's
own builders and compiled with its own optimizer and losses (Models 1-4, the Pet box regressor, DANN through
`train_dann`, Yosinski's transferred network, the multitask network, the zero-shot feature network), checking that
Keras kept XLA on (it falls back with only a warning) and that the step trained. An XLA compile costs about 4
CPU-seconds on the CPU, so each model compiles once. TensorFlow only (not marked `multibackend`): `make unit-tf`
runs it.
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


# --- one training step of each experiment's models under XLA: built by the experiment's own builders, compiled with
# its own optimizer and losses. One compiled step per model keeps this cheap: XLA compiles on the CPU cost seconds.


def _images(count, size=32, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, size, size, 3)).astype("float32"), rng.integers(0, classes, count)


def _boxes(count, seed=1):
    corners = np.sort(np.random.default_rng(seed).uniform(0.1, 0.9, (count, 2, 2)), axis=1)  # min < max
    return np.concatenate([corners[:, 0], corners[:, 1]], axis=1).astype("float32")  # xmin, ymin, xmax, ymax


def _one_xla_step(model, x, y, *, frozen=(), **compile_kwargs):
    """Compiles `model` with `jit_compile=True`, trains one batch and checks that XLA stayed on and it trained."""
    model.compile(**compile_kwargs, jit_compile=True)
    assert model.jit_compile is True, f"Keras fell back from XLA for {model.name}"  # it does so with a warning only
    before = {weight.path: keras.ops.convert_to_numpy(weight) for weight in model.weights}
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"]), logs
    changed = {weight.path for weight in model.weights
               if not np.array_equal(before[weight.path], keras.ops.convert_to_numpy(weight))}
    assert {weight.path for weight in model.trainable_weights} <= changed | {
        w.path for w in model.trainable_weights if "bias" in w.path}  # a bias may get a zero gradient (ReLU)
    for layer in frozen:
        assert not {weight.path for weight in layer.weights} & changed, f"frozen {layer.name} changed"
    return logs


def _small_source():
    return kt.models.build_source_network(5, filters=(4, 4, 4), fc_units=8)


def test_models_1_4_models_train_a_step_under_xla():
    from keras_transfer.experiments import models_1_4

    config = models_1_4.CONFIGS["smoke"]
    source = _small_source()
    built = {name: models_1_4.build_model(name, config, source, num_classes=3, seed=0) for name in models_1_4.MODELS}
    # one graph for Models 1, 3, 4 and ULMFiT once their base trains (the rates differ, not the compiled step)
    layouts = {name: [layer.name for layer in model.layers] for name, model in built.items()}
    assert all(layout == layouts["scratch"] for layout in layouts.values())
    x, y = _images(4, classes=3)
    fine_tuned = built["fine_tuned"]
    kt.models.base_layer(fine_tuned).trainable = True  # Model 3's second stage, chain-thaw's last step
    _one_xla_step(fine_tuned, x, y, optimizer=models_1_4._fine_tune_optimizer(
        fine_tuned, config["fine_tune_learning_rates"][0], {**config, "fine_tune_decay": 2.6}),  # per-block rates
        loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # Model 2 (and the head-first stage of 3 and 4) trains its head alone on the frozen base's features
    frozen = built["frozen"]
    head = kt.models.classifier_head(frozen)
    features = keras.ops.convert_to_numpy(kt.models.base_layer(frozen)(x, training=False))
    _one_xla_step(head, features, y, optimizer=models_1_4._adam(config["learning_rate"], config),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def test_pet_heads_box_regressor_trains_a_step_under_xla():
    from keras_transfer.experiments import pet_heads
    from keras_transfer.models import box_evaluation

    config = pet_heads.CONFIGS["smoke"]
    model = pet_heads._build("adapted", config, 0, _small_source())  # upper block + new head train, BoxCorners out
    frozen = [layer for layer in kt.models.base_layer(model).layers if layer.weights and not layer.trainable]
    assert frozen  # the lower blocks stay frozen
    x, _ = _images(4)
    logs = _one_xla_step(
        model, x, _boxes(4), frozen=frozen,
        optimizer=keras.optimizers.Adam(config["learning_rates"]["adapted"], clipnorm=config["clipnorm"]),
        loss=box_evaluation.box_loss(config["main_loss"]), metrics=[kt.metrics.BoxIoU(name="iou")],
    )
    assert 0.0 <= logs["iou"] <= 1.0


def test_dann_trains_under_xla(monkeypatch):
    from keras_transfer.models import dann

    compiled = []
    compile_dann = dann.compile_dann
    monkeypatch.setattr(dann.training, "compile_dann", lambda model, optimizer, **kwargs: compiled.append(
        compile_dann(model, optimizer, **kwargs, jit_compile=True)))  # train_dann compiles through compile_dann
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (8, 28, 28, 3)).astype("float32"), rng.integers(0, 10, 8)
    model = dann.build_mnist_dann()
    before = model.get_weights()
    history = dann.train_dann(model, (images, labels), images[::-1], steps=1, batch_size=8, seed=0)
    assert compiled == [model] and model.jit_compile is True
    assert np.all(np.isfinite(history["loss"])) and len(history["grl_strength_per_batch"]) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_yosinski_transferred_network_trains_a_step_under_xla():
    from keras_transfer.experiments import transferability
    from keras_transfer.models import transfer, yosinski

    config = transferability.CONFIGS["smoke"]
    base = yosinski.build_network(config, 2, (28, 28, 1), seed=0)
    model = transfer.transfer_layers(base, yosinski.build_network(config, 2, (28, 28, 1), seed=1), 3)  # AnB, n = 3
    x, y = _images(4, size=28, classes=2)
    frozen = [layer for layer in model.layers if layer.weights and not layer.trainable]
    assert len(frozen) == 3
    _one_xla_step(model, x[..., :1], y, frozen=frozen, optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # train_network's compile


def test_multitask_network_trains_a_step_under_xla(monkeypatch):
    from keras_transfer.experiments import multitask as multitask_experiment
    from keras_transfer.models import multitask

    config = multitask_experiment.CONFIGS["smoke"]
    model = multitask.build_multitask_network((32, 32, 3), 3, filters=(4, 4), head_units=8)
    compile_model = model.compile
    monkeypatch.setattr(model, "compile", lambda **kwargs: compile_model(**kwargs, jit_compile=True))
    multitask.compile_multitask(model, box_weight=config["box_weight"], learning_rate=config["learning_rate"])
    assert model.jit_compile is True
    x, y = _images(4, classes=3)
    weights = {"class": np.array([2.0, 0.0, 2.0, 0.0], "float32"), "box": np.ones(4, "float32")}  # half labelled
    logs = model.train_on_batch(x, {"class": y, "box": _boxes(4)}, sample_weight=weights, return_dict=True)
    assert np.isfinite(logs["loss"])


def test_zero_shot_feature_network_trains_a_step_under_xla():
    from keras_transfer.experiments import zero_shot
    from keras_transfer.models import source

    config = {**zero_shot.CONFIGS["smoke"], "filters": (4, 4, 4), "fc_units": 8}
    model = source.build_source_network(3, filters=config["filters"], fc_units=config["fc_units"], dropout=0.3)
    x, y = _images(4, size=28, classes=3)
    _one_xla_step(model, source.to_source_input(x[..., 0]), y, loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config["learning_rate"], 4)))
