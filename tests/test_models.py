"""Tests of keras_transfer.models: classifier builders, cached features, the source network."""

import json

import keras
import numpy as np
import pytest

from keras_transfer import models


def _tiny_backbone(name="tiny_backbone", with_dropout=False):
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    if with_dropout:
        x = keras.layers.Dropout(0.5, name="block1_dropout")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="block2_conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="block2_pool")(x)
    return keras.Model(inputs, x, name=name)


def _count(weights):
    return sum(int(np.prod(weight.shape)) for weight in weights)


@pytest.mark.multibackend
def test_classifier_layout_names_and_parameter_counts():
    backbone = _tiny_backbone()
    backbone_parameters = backbone.count_params()
    model = models.build_classifier(backbone, 5, head_units=(7, 3), dropout=0.25, base_trainable=False)
    assert models.base_layer(model) is backbone
    assert [layer.name for layer in models.head_layers(model)] == ["head_dense_1", "head_dense_2", "predictions"]
    assert [layer.name for layer in models.backbone_layers(model)] == ["block1_conv1", "block2_conv1"]
    names = [layer.name for layer in model.layers]
    assert names == [
        "image", "tiny_backbone", "head_flatten", "head_dense_1", "head_dropout_1", "head_dense_2",
        "head_dropout_2", "predictions",
    ]
    head_parameters = (2 * 2 * 6 * 7 + 7) + (7 * 3 + 3) + (3 * 5 + 5)
    assert models.parameter_counts(model) == {"trainable": head_parameters, "frozen": backbone_parameters}
    assert model.output_shape == (None, 5)
    backbone.trainable = True
    assert models.parameter_counts(model) == {"trainable": head_parameters + backbone_parameters, "frozen": 0}
    pooled = models.build_classifier(_tiny_backbone(), 3, head_units=(), dropout=0.0, pooling="avg")
    assert [layer.name for layer in pooled.layers][2:] == ["head_pooling", "predictions"]
    assert models.parameter_counts(pooled)["trainable"] == _count(pooled.trainable_weights)


@pytest.mark.multibackend
def test_frozen_base_keeps_batch_normalization_in_inference_mode():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="block1_conv1")(inputs)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    backbone = keras.Model(inputs, x, name="bn_backbone")
    model = models.build_classifier(backbone, 3, head_units=(4,), dropout=0.0, base_trainable=False)
    (layer_config,) = [layer for layer in model.get_config()["layers"] if layer["name"] == "bn_backbone"]
    assert layer_config["inbound_nodes"][0]["kwargs"]["training"] is False  # as in the keras-io guide
    batch_norm = backbone.get_layer("block1_bn")
    before = [keras.ops.convert_to_numpy(w).copy() for w in batch_norm.weights]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(5, 3, (32, 8, 8, 3)).astype("float32"), rng.integers(0, 3, 32), epochs=2, verbose=0)
    for old, new in zip(before, batch_norm.weights):  # moving statistics and gamma/beta unchanged
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


def test_classifier_head_shares_weights_and_cached_features_train_the_same(data_dir):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (48, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 3, 48).astype("int32")

    def build():
        keras.utils.set_random_seed(3)
        return models.build_classifier(_tiny_backbone(), 3, head_units=(8,), dropout=0.0, base_trainable=False)

    plain = build()
    cached = build()
    for left, right in zip(plain.get_weights(), cached.get_weights()):
        np.testing.assert_array_equal(left, right)
    base = models.base_layer(cached)
    head = models.classifier_head(cached)
    assert head.input_shape == (None, 2, 2, 6)
    features = models.extract_features(base, x, batch_size=16)
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(base(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(head(features)), keras.ops.convert_to_numpy(cached(x)), rtol=1e-5, atol=1e-6
    )
    backbone_before = [w.copy() for w in base.get_weights()]
    for model, inputs in ((plain, x), (head, features)):
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
        keras.utils.set_random_seed(7)
        model.fit(inputs, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    # Training the head on cached features is the same training as the plain way, and it trained `cached` in place.
    for left, right in zip(plain.get_weights(), cached.get_weights()):
        np.testing.assert_allclose(left, right, rtol=1e-4, atol=1e-5)
    for left, right in zip(backbone_before, base.get_weights()):
        np.testing.assert_array_equal(left, right)
    assert not np.allclose(plain.get_weights()[-1], build().get_weights()[-1])  # it did train


@pytest.mark.multibackend
def test_full_batches_train_exactly_as_the_short_batch():
    from keras_transfer.models import features as features_module

    rng = np.random.default_rng(4)
    x = rng.normal(size=(21, 5)).astype("float32")  # a batch of 16 and a short one of 5
    y = rng.integers(0, 3, 21).astype("int32")

    def build(loss="sparse_categorical_crossentropy"):
        keras.utils.set_random_seed(6)
        head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)])
        head.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
        return head

    batches = [(x[:16], y[:16]), (x[16:], y[16:])]
    full = list(features_module._full_batches(iter(batches), 16))
    assert [len(batch[0]) for batch in full] == [16, 16] and [len(batch[2]) for batch in full] == [16, 16]
    np.testing.assert_array_equal(full[0][2], np.ones(16))
    np.testing.assert_allclose(full[1][2], [16 / 5] * 5 + [0] * 11)
    # the padding rows are real examples of the batch (a loss may be NaN on made-up ones, and NaN * 0 is NaN)
    np.testing.assert_array_equal(full[1][0][:5], x[16:])
    for row, label in zip(full[1][0][5:], full[1][1][5:]):
        match = np.flatnonzero((x[16:] == row).all(axis=1))
        assert len(match) and y[16 + match[0]] == label
    for loss in (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
    ):
        short, padded = build(loss), build(loss)
        for (inputs, labels), (padded_inputs, padded_labels, weights) in zip(batches, full):
            short_loss = short.train_on_batch(inputs, labels)
            padded_loss = padded.train_on_batch(padded_inputs, padded_labels, sample_weight=weights)
            np.testing.assert_allclose(padded_loss, short_loss, rtol=1e-5)
        for left, right in zip(short.get_weights(), padded.get_weights()):
            np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)
    # A trainable BatchNormalization computes over the batch: zero rows would change it, so no padding there.
    assert not features_module._mixes_examples(build())
    normalised = keras.Sequential([keras.Input((5,)), keras.layers.BatchNormalization(), keras.layers.Dense(3)])
    assert features_module._mixes_examples(keras.Sequential([keras.Input((5,)), normalised]))
    normalised.layers[0].trainable = False
    assert not features_module._mixes_examples(normalised)


@pytest.mark.multibackend
def test_fit_on_features_epochs_are_whole_passes_and_match_fit_on_arrays():
    from keras_transfer.models import features as features_module

    rng = np.random.default_rng(2)
    x = rng.normal(size=(37, 5)).astype("float32")  # 37 = 2 batches of 16 + a short one
    y = rng.integers(0, 3, 37).astype("int32")
    # Each run of `steps` batches of the repeating pipeline is one whole pass, reshuffled, last batch short.
    # The same for the NumPy generator that feeds fit() outside TensorFlow, and with a mirror each example is drawn
    # from the original or the mirror, label with it.
    pipeline = features_module._feature_pipeline(x, y, 16, True, 0)
    generator = features_module._feature_batches(x, y, 16, 0)
    mirrored = features_module._feature_batches(x, y, 16, 0, mirror=(-x, y + 10))
    for batches in (
        [labels.numpy() for _, labels in pipeline.take(6)],
        [next(generator)[1] for _ in range(6)],
        [next(mirrored)[1] % 10 for _ in range(6)],
    ):
        assert [len(batch) for batch in batches] == [16, 16, 5, 16, 16, 5]
        first, second = np.concatenate(batches[:3]), np.concatenate(batches[3:])
        np.testing.assert_array_equal(np.sort(first), np.sort(y))
        np.testing.assert_array_equal(np.sort(second), np.sort(y))
        assert not np.array_equal(first, second)  # reshuffled every epoch
    inputs, labels = next(mirrored)
    flipped = labels >= 10
    assert 0 < flipped.sum() < len(labels)
    rows = np.where(flipped[:, None], -inputs, inputs)  # a mirrored example carries the mirror's features
    index = [np.flatnonzero((x == row).all(axis=1))[0] for row in rows]
    np.testing.assert_array_equal(y[index] + 10 * flipped, labels)

    def build():
        keras.utils.set_random_seed(5)
        head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
        head.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        return head

    # One batch per epoch: no shuffling can change the order, so the training equals fit() on the arrays.
    plain, fast = build(), build()
    plain.fit(x, y, batch_size=64, epochs=3, validation_data=(x[:9], y[:9]), verbose=0)
    history = models.fit_on_features(fast, (x, y), (x[:9], y[:9]), batch_size=64, epochs=3)
    for left, right in zip(plain.get_weights(), fast.get_weights()):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)
    # Several batches: every epoch logs a validation loss over exactly the validation set.
    head = build()
    history = models.fit_on_features(head, (x, y), (x[:9], y[:9]), batch_size=4, epochs=2)
    assert len(history.history["loss"]) == 2 == len(history.history["val_loss"])
    np.testing.assert_allclose(
        history.history["val_loss"][-1], head.evaluate(x[:9], y[:9], batch_size=4, verbose=0), rtol=1e-5
    )
    with pytest.raises(ValueError, match="train"):
        models.fit_on_features(head, (x, y[:5]))
    with pytest.raises(ValueError, match="epochs"):
        models.fit_on_features(head, (x, y), epochs=0)


def test_extract_features_disk_cache_and_datasets(data_dir):
    import tensorflow as tf

    base = _tiny_backbone()
    x = np.random.default_rng(1).uniform(0, 255, (10, 8, 8, 3)).astype("float32")
    first = models.extract_features(base, x, cache=True)
    files = list((data_dir / "features").glob("*.npy"))
    assert len(files) == 1 and not list((data_dir / "features").glob(".*partial*"))
    np.save(files[0], np.full_like(first, 7.0))  # a second call must read the cache, not recompute
    np.testing.assert_array_equal(models.extract_features(base, x, cache=True), 7.0)
    other = models.extract_features(base, x + 1.0, cache=True)  # other inputs: another key
    assert len(list((data_dir / "features").glob("*.npy"))) == 2 and not np.allclose(other, 7.0)
    labels = np.arange(10, dtype="int32")
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(4)
    features, got_labels = models.extract_features(base, dataset)
    np.testing.assert_allclose(features, first, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_labels, labels)
    with pytest.raises(ValueError, match="cache=True"):
        models.extract_features(base, dataset, cache=True)
    with pytest.raises(ValueError, match="batch_size"):
        models.extract_features(base, x, batch_size=0)


@pytest.mark.multibackend
def test_builders_refuse_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="num_classes"):
        models.build_classifier(_tiny_backbone(), 1)
    with pytest.raises(ValueError, match="backbone"):
        models.build_classifier("vgg19", 3)
    with pytest.raises(ValueError, match="dropout"):
        models.build_classifier(_tiny_backbone(), 3, dropout=1.0)
    with pytest.raises(ValueError, match="pooling"):
        models.build_classifier(_tiny_backbone(), 3, pooling="mean")
    with pytest.raises(ValueError, match="head_units"):
        models.build_classifier(_tiny_backbone(), 3, head_units=(0,))
    with pytest.raises(ValueError, match="names no file"):
        models.build_vgg19_classifier(17, weights=str(tmp_path / "missing.weights.h5"), input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="input_shape"):
        models.vgg19_backbone(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="exactly one nested model"):
        models.base_layer(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_vgg19_classifier_nests_keras_vgg19():
    model = models.build_vgg19_classifier(17, weights=None, input_shape=(32, 32, 3), base_trainable=False)
    base = models.base_layer(model)
    assert base.name == "vgg19" and base.output_shape == (None, 1, 1, 512)
    conv_layers = models.backbone_layers(model)
    assert [layer.name for layer in conv_layers][:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    assert len(conv_layers) == 16
    counts = models.parameter_counts(model)
    assert counts["frozen"] == 20024384  # VGG19 without top
    assert counts["trainable"] == (512 * 256 + 256) + (256 * 256 + 256) + (256 * 17 + 17)


@pytest.mark.multibackend
def test_source_network_layout_and_backbone():
    model = models.build_source_network(5)
    names = [layer.name for layer in model.layers if layer.weights]
    assert names == [
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2",
        "fc1", "fc2", "predictions",
    ]
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 5)
    backbone = models.source_backbone(model)
    assert backbone.layers[-1].name == "block3_pool" and backbone.output_shape == (None, 4, 4, 64)
    assert backbone.layers[1].name == "rescaling"
    for left, right in zip(backbone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(left, right)
    backbone.get_layer("block1_conv1").kernel.assign(np.zeros((3, 3, 3, 16), "float32"))
    assert np.abs(keras.ops.convert_to_numpy(model.get_layer("block1_conv1").kernel)).sum() > 0  # a copy
    fresh = models.source_backbone(model, pretrained=False)
    assert not np.allclose(fresh.get_weights()[0], model.get_weights()[0])
    vgg = keras.applications.VGG19(weights=None, input_shape=(32, 32, 3), include_top=False)
    assert models.source_backbone(vgg).layers[-1].name == "block5_pool"
    first, second = keras.Input((4, 4, 3)), keras.Input((4, 4, 3))
    pooled = keras.layers.MaxPooling2D(2, name="block1_pool")(keras.layers.Add()([first, second]))
    with pytest.raises(ValueError, match="one input"):
        models.source_backbone(keras.Model([first, second], pooled))


@pytest.mark.multibackend
def test_to_source_input():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = models.to_source_input(images)
    assert out.shape == (3, 32, 32, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 2:30, 2:30, 1], images)
    assert out[:, :2].max() == 0 and out[:, :, 30:].max() == 0
    np.testing.assert_array_equal(models.to_source_input(np.repeat(images[..., None], 3, -1)), out)
    with pytest.raises(ValueError, match="28x28"):
        models.to_source_input(np.zeros((3, 32, 32)))


def test_pretrained_source_network_is_trained_once_and_cached(fresh_data_dir, monkeypatch, capsys):
    data_dir = fresh_data_dir
    monkeypatch.setenv("KT_PROGRESS", "text")
    model = models.pretrained_source_network("smoke", verbose=1)
    # one progress bar over the epochs, closed with the test accuracy; no Keras epoch lines
    printed = capsys.readouterr()
    assert printed.out.count("Source network (smoke, black)") >= 1 and "1/1" in printed.out
    assert "test accuracy" in printed.out and "Epoch" not in printed.out and "/step" not in printed.out
    assert "Warning" not in printed.err
    path = models.source_network_path("smoke")
    assert path.exists() and path.parent == data_dir / "models"
    assert not [p for p in path.parent.iterdir() if "partial" in p.name]
    info = models.source_network_info("smoke")
    assert info["classes"] == ["Pullover", "Dress", "Coat", "Shirt", "Sneaker"]
    assert info["train_images"] == 300 and 0.0 <= info["test_accuracy"] <= 1.0
    assert json.loads(path.with_suffix(".json").read_text()) == info
    x = models.to_source_input(np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8))
    expected = keras.ops.convert_to_numpy(model(x))

    def no_training(*args, **kwargs):
        raise AssertionError("the cached source network was trained again")

    monkeypatch.setattr(models.source, "build_source_network", no_training)
    again = models.pretrained_source_network("smoke", verbose=0)
    assert again is not model
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), expected, rtol=1e-5, atol=1e-6)
    assert models.source_network_path("quick") != path  # another profile, another key
    with pytest.raises(ValueError, match="profile"):
        models.pretrained_source_network("medium")
    with pytest.raises(ValueError, match="seed"):
        models.pretrained_source_network("smoke", seed=-1)
