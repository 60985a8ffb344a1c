"""Tests of the domain-adversarial network: masking of target labels, the reversed gradient, training, saving."""

import json

import keras
import numpy as np
import pytest

from keras_transfer import callbacks as kt_callbacks
from keras_transfer import schedules as kt_schedules
from keras_transfer.models import dann

pytestmark = pytest.mark.multibackend

IMAGE_SHAPE = (6, 6, 3)


def tiny_dann(strength=1.0, seed=0):
    """A small DANN whose weights depend only on `seed`."""
    keras.utils.set_random_seed(seed)
    features = keras.Sequential(
        [keras.Input(IMAGE_SHAPE), keras.layers.Flatten(), keras.layers.Dense(8, activation="tanh")]
    )
    labels = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
    domains = keras.Sequential([keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2, activation="softmax")])
    return dann.build_dann(features, labels, domains, strength=strength)


def toy_domains(count=32, seed=0):
    rng = np.random.default_rng(seed)
    x_source = rng.integers(0, 256, (count, *IMAGE_SHAPE)).astype("uint8")
    y_source = rng.integers(0, 3, count)
    x_target = rng.integers(0, 256, (count, *IMAGE_SHAPE)).astype("uint8")
    y_target = rng.integers(0, 3, count)
    return (x_source, y_source), (x_target, y_target)


def weights_after_one_epoch(model, dataset, learning_rate=0.1):
    dann.compile_dann(model, keras.optimizers.SGD(learning_rate))
    model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    return [np.array(w) for w in model.get_weights()]


def sub_weights(model, part):
    return [keras.ops.convert_to_numpy(w) for w in model.get_layer(part).weights]


def first_batch(dataset):
    for x, y, w in dataset.as_numpy_iterator():
        return x, y, w
    raise AssertionError("empty dataset")


def test_pair_domains_batches_are_half_source_half_target():
    (x_source, y_source), (x_target, _) = toy_domains(count=20)
    dataset = dann.pair_domains((x_source, y_source), x_target[:12], batch_size=8, seed=0)
    assert int(dataset.cardinality()) == 20 // 4  # one pass over the larger set
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 5
    for x, y, w in batches:
        assert x.shape == (8, *IMAGE_SHAPE) and x.dtype == np.uint8
        # interleaved, s, t, s, t, ...: every even slice is half source (data-parallel replicas: test_distribute.py)
        np.testing.assert_array_equal(y["domain"], [0, 1, 0, 1, 0, 1, 0, 1])
        np.testing.assert_array_equal(w["label"], [1, 0, 1, 0, 1, 0, 1, 0])
        np.testing.assert_array_equal(w["domain"], np.ones(8))
        # source samples carry their own labels; target images come from the target set
        for image, label in zip(x[0::2], y["label"][0::2]):
            index = np.flatnonzero((x_source == image).all(axis=(1, 2, 3)))[0]
            assert label == y_source[index]
        for image in x[1::2]:
            assert (x_target[:12] == image).all(axis=(1, 2, 3)).any()
    # one epoch visits every source image exactly once
    seen = np.concatenate([x[0::2] for x, _, _ in batches])
    assert sorted(map(bytes, seen)) == sorted(map(bytes, x_source))


def test_pair_domains_evaluation_visits_every_sample_once():
    (x_source, y_source), (x_target, y_target) = toy_domains(count=10)
    dataset = dann.pair_domains((x_source, y_source), (x_target, y_target), 4, label_weights=(0, 1), training=False)
    x = np.concatenate([b[0] for b in dataset.as_numpy_iterator()])
    d = np.concatenate([b[1]["domain"] for b in dataset.as_numpy_iterator()])
    w = np.concatenate([b[2]["label"] for b in dataset.as_numpy_iterator()])
    assert len(x) == 20 and d.sum() == 10
    np.testing.assert_array_equal(d[:4], [0, 1, 0, 1])  # interleaved evenly
    np.testing.assert_array_equal(w, d)  # label weight on target samples only
    np.testing.assert_array_equal(x[d == 0], x_source)
    np.testing.assert_array_equal(x[d == 1], x_target)


def test_pair_domains_rejects_bad_arguments():
    (x_source, y_source), (x_target, y_target) = toy_domains(count=8)
    with pytest.raises(ValueError, match="batch_size=7"):
        dann.pair_domains((x_source, y_source), x_target, batch_size=7)
    with pytest.raises(ValueError, match="Target labels are needed"):
        dann.pair_domains((x_source, y_source), x_target, batch_size=4, label_weights=(0, 1))
    with pytest.raises(ValueError, match="same shape"):
        dann.pair_domains((x_source, y_source), x_target[:, :5], batch_size=4)
    with pytest.raises(ValueError, match="labels must be a 1-D integer array"):
        dann.pair_domains((x_source, y_source[:3]), x_target, batch_size=4)
    with pytest.raises(ValueError, match="must be a tuple"):
        dann.pair_domains(x_source, x_target, batch_size=4)


def test_label_loss_ignores_target_labels():
    (x_source, y_source), (x_target, y_target) = toy_domains()
    other_target_labels = (y_target + 1) % 3
    after = []
    for target in ((x_target, y_target), (x_target, other_target_labels), x_target):
        model = tiny_dann(seed=0)  # sets the global seed, so the batches come in the same order
        dataset = dann.pair_domains((x_source, y_source), target, batch_size=16, seed=3)
        after.append(weights_after_one_epoch(model, dataset))
    for weights in after[1:]:
        for w0, w1 in zip(after[0], weights):
            np.testing.assert_array_equal(w0, w1)
    # the control: the same change on the *source* labels does change the training
    model = tiny_dann(seed=0)
    dataset = dann.pair_domains((x_source, (y_source + 1) % 3), (x_target, y_target), batch_size=16, seed=3)
    changed = weights_after_one_epoch(model, dataset)
    assert any(not np.allclose(w0, w1) for w0, w1 in zip(after[0], changed))


def test_label_loss_is_the_mean_over_source_samples_only():
    (x_source, y_source), (x_target, _) = toy_domains(count=8)
    model = tiny_dann()
    dann.compile_dann(model, keras.optimizers.SGD(0.1))
    x, y, w = first_batch(dann.pair_domains((x_source, y_source), x_target, batch_size=16, seed=0))
    probabilities = model.predict(x, verbose=0)
    expected = -np.mean(np.log(probabilities["label"][np.arange(0, 16, 2), y["label"][0::2]]))
    logs = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["label_loss"], expected, rtol=1e-5)


@pytest.mark.parametrize("strength", [0.5, 2.0])
def test_feature_extractor_receives_the_reversed_domain_gradient(strength):
    """One plain-SGD step on the domain loss alone: the DANN's features move by -strength times the update the
    same network without the reversal makes; with strength 0 they do not move; the heads move alike."""
    (x_source, y_source), (x_target, _) = toy_domains(count=16)
    x, y, w = first_batch(dann.pair_domains((x_source, y_source), x_target, batch_size=32, seed=0))

    def one_step(model):
        model.compile(
            optimizer=keras.optimizers.SGD(0.5),
            loss={"label": "sparse_categorical_crossentropy", "domain": "sparse_categorical_crossentropy"},
            loss_weights={"label": 0.0, "domain": 1.0},
        )
        before = {part: sub_weights(model, part) for part in ("feature_extractor", "domain_classifier")}
        model.train_on_batch(x, y, sample_weight=w)
        return {part: [a - b for a, b in zip(sub_weights(model, part), before[part])] for part in before}

    copy = tiny_dann(seed=0)  # the same parts, joined without the reversal layer
    inputs = keras.Input(IMAGE_SHAPE)
    features = copy.get_layer("feature_extractor")(inputs)
    plain = keras.Model(
        inputs,
        {
            "label": copy.get_layer("label_classifier")(features),
            "domain": copy.get_layer("domain_classifier")(features),
        },
    )
    plain_step = one_step(plain)
    reversed_step = one_step(tiny_dann(strength=strength, seed=0))
    zero_step = one_step(tiny_dann(strength=0.0, seed=0))

    assert max(np.abs(d).max() for d in plain_step["feature_extractor"]) > 1e-4
    for got, plain_delta in zip(reversed_step["feature_extractor"], plain_step["feature_extractor"]):
        np.testing.assert_allclose(got, -strength * plain_delta, rtol=1e-4, atol=1e-7)
    for got in zero_step["feature_extractor"]:
        np.testing.assert_allclose(got, 0.0, atol=1e-8)
    for got, plain_delta in zip(reversed_step["domain_classifier"], plain_step["domain_classifier"]):
        np.testing.assert_allclose(got, plain_delta, rtol=1e-4, atol=1e-7)


def test_trains_with_the_paper_schedules():
    (x_source, y_source), (x_target, y_target) = toy_domains(count=32)
    model = tiny_dann(strength=0.0)
    train = dann.pair_domains((x_source, y_source), x_target, batch_size=16, seed=0)
    steps = int(train.cardinality()) * 2
    schedule = kt_callbacks.GradientReversalSchedule()
    optimizer = keras.optimizers.SGD(kt_schedules.InverseProgressDecay(0.01, total_steps=steps), momentum=0.9)
    dann.compile_dann(model, optimizer)
    validation = dann.pair_domains((x_source, y_source), (x_target, y_target), 16, label_weights=(0, 1), training=False)
    history = model.fit(train, epochs=2, validation_data=validation, callbacks=[schedule], verbose=0, shuffle=False)
    for key in ("label_accuracy", "domain_accuracy", "val_label_accuracy", "val_domain_accuracy", "grl_strength"):
        assert len(history.history[key]) == 2, key
    assert np.isfinite(history.history["loss"]).all()
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == steps
    # the strength of the last batch is the paper's λ_p at p = (steps - 1) / steps
    progress = (steps - 1) / steps
    assert dann.gradient_reversal_strength(model) == pytest.approx(2 / (1 + np.exp(-10 * progress)) - 1, rel=1e-5)
    scores = dann.evaluate_domains(model, (x_source, y_source), (x_target, y_target))
    assert scores["target_accuracy"] == pytest.approx(history.history["val_label_accuracy"][-1], abs=1e-6)
    assert scores["domain_accuracy"] == pytest.approx(history.history["val_domain_accuracy"][-1], abs=1e-6)


def test_train_dann_follows_the_paper_recipe():
    """`train_dann`: SGD with μ_p, λ_p per batch when adapting, the strength left alone otherwise, evaluations spread
    evenly over the steps, the validation target accuracy in the history."""
    (x_source, y_source), (x_target, y_target) = toy_domains(count=32)
    validation = ((x_source, y_source), (x_target, y_target))
    model = tiny_dann(strength=0.0)
    history = dann.train_dann(model, (x_source, y_source), x_target, steps=6, evaluations=3, batch_size=8,
                              validation=validation, seed=0)
    assert history["step"] == [2, 4, 6]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 6
    np.testing.assert_allclose(history["learning_rate"], [0.01 / (1 + 10 * step / 6) ** 0.75 for step in (2, 4, 6)],
                               rtol=1e-5)
    assert len(history["grl_strength_per_batch"]) == 6 and history["grl_strength_per_batch"][0] == 0.0
    assert history["grl_strength"][-1] == pytest.approx(2 / (1 + np.exp(-10 * 5 / 6)) - 1, rel=1e-5)
    scores = dann.evaluate_domains(model, *validation)
    assert history["val_label_accuracy"][-1] == pytest.approx(scores["target_accuracy"], abs=1e-6)

    observer = tiny_dann(strength=0.0)
    history = dann.train_dann(observer, (x_source, y_source), (x_target, y_target), steps=4, batch_size=8,
                              adapt=False, label_weights=(0.0, 1.0), seed=0)
    assert history["grl_strength"] == [0.0] and "grl_strength_per_batch" not in history
    with pytest.raises(ValueError, match="multiple of `evaluations`"):
        dann.train_dann(observer, (x_source, y_source), x_target, steps=5, evaluations=2, batch_size=8)
    with pytest.raises(ValueError, match="steps=0"):
        dann.train_dann(observer, (x_source, y_source), x_target, steps=0, batch_size=8)


def test_domain_classifier_fails_in_the_end():
    """Two domains that differ only in an offset of every pixel: the domain classifier separates the source-only
    features, while DANN's feature extractor learns to remove the offset and brings the domain classifier to chance."""
    rng = np.random.default_rng(0)
    count = 128
    signal = rng.normal(size=(2 * count, 4)).astype("float32")
    labels = (signal[:, 0] > 0).astype("int32")
    x = np.concatenate([signal, np.zeros((2 * count, 1), "float32")], axis=1)
    x[count:, 4] = 3.0  # the target domain's shift
    source, target = (x[:count], labels[:count]), (x[count:], labels[count:])

    def train(strength):
        keras.utils.set_random_seed(2)
        model = dann.build_dann(
            keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)]),
            keras.Sequential([keras.layers.Dense(2, activation="softmax")]),
            keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")]),
            strength=strength,
        )
        dann.compile_dann(model, keras.optimizers.SGD(0.05))
        model.fit(dann.pair_domains(source, target[0], 64, seed=0), epochs=40, verbose=0, shuffle=False)
        return dann.evaluate_domains(model, source, target)

    source_only, adapted = train(0.0), train(1.0)
    assert source_only["domain_accuracy"] > 0.8
    assert abs(adapted["domain_accuracy"] - 0.5) < 0.15
    assert adapted["target_accuracy"] > 0.9


def test_save_and_load_without_custom_objects(tmp_path):
    (x_source, y_source), (x_target, y_target) = toy_domains(count=16)
    model = tiny_dann(strength=0.0)
    schedule = kt_schedules.InverseProgressDecay(0.01, total_steps=10)
    dann.compile_dann(model, keras.optimizers.SGD(schedule, momentum=0.9))
    train = dann.pair_domains((x_source, y_source), x_target, batch_size=8, seed=0)
    model.fit(train, epochs=1, callbacks=[kt_callbacks.GradientReversalSchedule()], verbose=0, shuffle=False)
    path = tmp_path / "dann.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)

    assert dann.gradient_reversal_strength(loaded) == pytest.approx(dann.gradient_reversal_strength(model))
    assert dann.gradient_reversal_strength(loaded) > 0
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    expected, got = model.predict(x_target, verbose=0), loaded.predict(x_target, verbose=0)
    for key in ("label", "domain"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dann.dann_features(loaded, x_target), dann.dann_features(model, x_target),
                               rtol=1e-6, atol=1e-6)
    # the compiled losses come back too: evaluation agrees and training continues
    validation = dann.pair_domains((x_source, y_source), (x_target, y_target), 8, label_weights=(0, 1), training=False)
    np.testing.assert_allclose(loaded.evaluate(validation, verbose=0), model.evaluate(validation, verbose=0), rtol=1e-5)
    loaded.fit(train, epochs=1, verbose=0, shuffle=False)


def test_paper_architecture():
    model = dann.build_mnist_dann(input_shape=(28, 28, 3), num_classes=10)
    features = model.get_layer("feature_extractor")
    assert tuple(features.get_layer("conv1").kernel.shape) == (5, 5, 3, 32)
    assert tuple(features.get_layer("conv2").kernel.shape) == (5, 5, 32, 48)
    assert features.output_shape == (None, 4 * 4 * 48)
    assert [layer.units for layer in model.get_layer("label_classifier").layers] == [100, 100, 10]
    assert [layer.units for layer in model.get_layer("domain_classifier").layers] == [100, 2]
    outputs = model(np.zeros((2, 28, 28, 3), "uint8"))
    assert outputs["label"].shape == (2, 10) and outputs["domain"].shape == (2, 2)
    with pytest.raises(ValueError, match="num_classes=1"):
        dann.build_mnist_dann(num_classes=1)
    with pytest.raises(ValueError, match="input_shape"):
        dann.build_mnist_dann(input_shape=(28, 28))
    with pytest.raises(ValueError, match="strength=-1"):
        dann.build_mnist_dann(strength=-1.0)
    with pytest.raises(ValueError, match="feature_extractor"):
        dann.build_dann(keras.layers.Dense(3), keras.layers.Dense(2), keras.layers.Dense(2))
    with pytest.raises(ValueError, match="dict outputs"):
        dann.compile_dann(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), "sgd")


def test_evaluate_domains_in_batches_equals_predict():
    """The scores, computed in batches of 5 outside `predict()`, are the accuracies of `predict`'s outputs."""
    (x_source, y_source), (x_target, y_target) = toy_domains(count=12)
    model = tiny_dann()
    scores = dann.evaluate_domains(model, (x_source, y_source), (x_target, y_target), batch_size=5)
    source, target = model.predict(x_source, verbose=0), model.predict(x_target, verbose=0)
    assert scores["source_accuracy"] == pytest.approx(np.mean(source["label"].argmax(-1) == y_source))
    assert scores["target_accuracy"] == pytest.approx(np.mean(target["label"].argmax(-1) == y_target))
    hits = np.concatenate([source["domain"].argmax(-1) == dann.SOURCE_DOMAIN,
                           target["domain"].argmax(-1) == dann.TARGET_DOMAIN])
    assert scores["domain_accuracy"] == pytest.approx(hits.mean())
    assert set(scores) == {"source_accuracy", "target_accuracy", "domain_accuracy"}
    with pytest.raises(ValueError, match="target"):
        dann.evaluate_domains(model, (x_source, y_source), x_target)  # labels are needed to measure
