"""Layer-tapping feature extraction and the Full-Network Embedding: the pooling checked against a hand computation,
the cache, standardisation with the training statistics only, the exact thresholds, and a scikit-learn Pipeline."""

import warnings

import keras
import numpy as np
import pytest
import sklearn.base
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from keras_transfer import embeddings
from keras_transfer.models import build_source_network

INPUT_SHAPE = (8, 8, 3)


def _tiny_vgg(seed=0):
    keras.utils.set_random_seed(seed)
    # block1_conv1, block1_conv2, block1_pool, block2_conv1, block2_conv2, block2_pool, flatten, fc1, fc2, predictions
    return build_source_network(3, input_shape=INPUT_SHAPE, filters=(4, 6), fc_units=5, name="tiny_vgg")


def _images(count, seed=0, brightness=0.0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(0, 255, size=(count, *INPUT_SHAPE)) + brightness, 0, 255).astype("float32")


def _colour_images(count_per_class, seed=0):
    """Three classes: class k has a bright channel k, plus noise (separable by pooled features of any network)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(3):
        pixels = rng.uniform(0, 60, size=(count_per_class, *INPUT_SHAPE))
        pixels[..., label] += 180
        images.append(pixels)
        labels += [label] * count_per_class
    return np.concatenate(images).astype("float32"), np.array(labels)


@pytest.mark.multibackend
def test_default_layers_are_the_convolutions_and_the_hidden_dense_layers():
    model = _tiny_vgg()
    assert embeddings.default_layers(model) == [
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "fc1", "fc2"
    ]
    sequential = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, name="conv"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, name="hidden"),
            keras.layers.Dense(2, name="output"),
        ]
    )
    assert embeddings.default_layers(sequential) == ["conv", "hidden"]
    slices = embeddings.feature_slices(model)
    assert [(part.start, part.stop) for part in slices.values()] == [(0, 4), (4, 8), (8, 14), (14, 20), (20, 25),
                                                                      (25, 30)]


@pytest.mark.multibackend
def test_pooled_features_equal_a_hand_computation_for_one_image():
    model = _tiny_vgg()
    images = _images(7, seed=1)
    features = embeddings.extract_layer_features(model, images, ["block1_conv1", "block2_conv2", "fc2"],
                                                 batch_size=3)
    assert list(features) == ["block1_conv1", "block2_conv2", "fc2"]
    assert features["block1_conv1"].shape == (7, 4) and features["fc2"].shape == (7, 5)

    # block1_conv1 by hand with NumPy: rescale to [0, 1], 3x3 convolution with zero padding ("same"), ReLU, mean over
    # the 8x8 positions.
    kernel, bias = [np.asarray(w) for w in model.get_layer("block1_conv1").get_weights()]
    image = np.pad(images[4] / 255.0, ((1, 1), (1, 1), (0, 0)))
    conv = np.zeros((8, 8, 4))
    for row in range(8):
        for col in range(8):
            conv[row, col] = np.tensordot(image[row : row + 3, col : col + 3, :], kernel, axes=3) + bias
    np.testing.assert_allclose(features["block1_conv1"][4], np.maximum(conv, 0).mean(axis=(0, 1)), rtol=1e-4,
                               atol=1e-5)

    # deeper layers: the layer's full activation map, averaged over its positions (conv) or as is (dense)
    maps = keras.Model(model.input, [model.get_layer("block2_conv2").output, model.get_layer("fc2").output])
    block2, fc2 = [keras.ops.convert_to_numpy(t) for t in maps(images[4:5])]
    assert block2.shape == (1, 4, 4, 6)
    np.testing.assert_allclose(features["block2_conv2"][4], block2[0].mean(axis=(0, 1)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(features["fc2"][4], fc2[0], rtol=1e-4, atol=1e-6)
    # the batch size changes nothing
    again = embeddings.extract_layer_features(model, images, ["block1_conv1", "block2_conv2", "fc2"], batch_size=64)
    for name in features:
        np.testing.assert_allclose(again[name], features[name], rtol=1e-5, atol=1e-6)


@pytest.mark.multibackend
def test_features_are_cached_by_weights_layers_and_data(data_dir, monkeypatch):
    model = _tiny_vgg()
    images = _images(6)
    first = embeddings.extract_layer_features(model, images, ["block1_conv2", "fc1"], cache=True)
    cached = sorted((data_dir / "features").glob("*.npy"))
    assert len(cached) == 1 and not list((data_dir / "features").glob(".*partial*"))

    def no_forward_pass(*args, **kwargs):
        raise AssertionError("the cached features should have been read back")

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "predict", no_forward_pass)
        second = embeddings.extract_layer_features(model, images, ["block1_conv2", "fc1"], cache=True)
    for name in first:
        np.testing.assert_array_equal(second[name], first[name])
    embeddings.extract_layer_features(model, images, ["fc1"], cache=True)  # other layers
    embeddings.extract_layer_features(model, images[:5], ["block1_conv2", "fc1"], cache=True)  # other data
    layer = model.get_layer("fc1")
    layer.set_weights([w + 1.0 for w in layer.get_weights()])  # other weights
    changed = embeddings.extract_layer_features(model, images, ["block1_conv2", "fc1"], cache=True)
    assert len(list((data_dir / "features").glob("*.npy"))) == 4
    assert not np.allclose(changed["fc1"], first["fc1"])
    np.testing.assert_array_equal(changed["block1_conv2"], first["block1_conv2"])


@pytest.mark.multibackend
def test_extractor_rejects_bad_layers_and_inputs():
    model = _tiny_vgg()
    with pytest.raises(ValueError, match="layers=.*fc9"):
        embeddings.extract_layer_features(model, _images(2), ["fc1", "fc9"])
    with pytest.raises(ValueError, match="layers="):
        embeddings.extract_layer_features(model, _images(2), "fc1")
    with pytest.raises(ValueError, match=r"x with shape \(2, 9, 9, 3\)"):
        embeddings.extract_layer_features(model, np.zeros((2, 9, 9, 3), "float32"))
    with pytest.raises(ValueError, match="model="):
        embeddings.extract_layer_features("vgg19", _images(2))


@pytest.mark.multibackend
def test_layer_features_and_the_embedding_raise_no_warning():
    """Issue 26: the frozen-feature paths of notebooks 01 and 02 (a tapping model called on bare arrays, in batches
    with a short last one) print nothing on stderr."""
    model = _tiny_vgg()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features = embeddings.extract_layer_features(model, _images(5), ["block1_conv1", "fc2"], batch_size=2)
        embedding = embeddings.FullNetworkEmbedding(model, batch_size=2).fit(_images(4), np.array([0, 1, 2, 0]))
        codes = embedding.transform(_images(3))
    assert features["fc2"].shape == (5, 5) and codes.shape == (3, embedding.n_features_out_)


@pytest.mark.multibackend
def test_check_layers_picks_the_defaults_and_names_the_argument():
    from keras_transfer.embeddings import extractor

    model = _tiny_vgg()
    assert extractor.check_layers(model, None) == embeddings.default_layers(model)
    assert extractor.check_layers(model, ("fc2", "block1_conv1")) == ["fc2", "block1_conv1"]
    with pytest.raises(ValueError, match=r"must not repeat a name\. Received: layers=\['fc1', 'fc1'\]"):
        extractor.check_layers(model, ["fc1", "fc1"])
    with pytest.raises(ValueError, match="non-empty list"):
        extractor.check_layers(model, [])
    with pytest.raises(ValueError, match="model="):
        extractor.check_layers("vgg19", ["fc1"])


def test_discretize_uses_the_thresholds_exactly():
    values = np.array([-7.0, -0.2500001, -0.25, -0.1, 0.0, 0.15, 0.1500001, 2.0])
    np.testing.assert_array_equal(embeddings.discretize(values), [-1, -1, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(embeddings.discretize(values, thresholds=(-1.0, 0.0)), [-1, 0, 0, 0, 0, 1, 1, 1])
    assert embeddings.discretize(values).dtype == np.float32
    assert embeddings.DEFAULT_THRESHOLDS == (-0.25, 0.15)


@pytest.mark.parametrize("thresholds", [(0.15, -0.25), (0.1, 0.1), (0.2,), "low-high", (float("nan"), 1.0), None])
def test_bad_thresholds_raise_a_value_error_naming_the_argument(thresholds):
    model = _tiny_vgg()
    with pytest.raises(ValueError, match="thresholds") as error:
        embeddings.FullNetworkEmbedding(model, thresholds=thresholds)
    assert repr(thresholds) in str(error.value)
    with pytest.raises(ValueError, match="thresholds"):
        embeddings.discretize(np.zeros(3), thresholds=thresholds)


@pytest.mark.multibackend
def test_standardisation_uses_only_the_training_statistics():
    model = _tiny_vgg()
    train, test = _images(12, seed=2), _images(9, seed=3, brightness=60.0)  # the test images are brighter
    pooled_train = embeddings.FullNetworkEmbedding(model).pooled_features(train)
    pooled_test = embeddings.FullNetworkEmbedding(model).pooled_features(test)
    assert pooled_train.shape == (12, 30)
    mean, std = pooled_train.mean(axis=0), pooled_train.std(axis=0)
    std_safe = np.where(std > 0, std, 1.0)

    standardised = embeddings.FullNetworkEmbedding(model, discretize=False).fit(train)
    np.testing.assert_allclose(standardised.scaler_.mean_, mean, rtol=1e-5, atol=1e-6)
    expected = (pooled_test - mean) / std_safe
    np.testing.assert_allclose(standardised.transform(test), expected, rtol=1e-4, atol=1e-4)
    # Standardising the test set with its own statistics would centre it: ours must not.
    own = (pooled_test - pooled_test.mean(axis=0)) / np.where(pooled_test.std(axis=0) > 0, pooled_test.std(axis=0), 1)
    assert np.abs(standardised.transform(test) - own).max() > 0.5
    # the training set itself is standardised to mean 0 and std 1 (on the features that vary)
    on_train = standardised.transform(train)
    varying = std > 1e-6
    np.testing.assert_allclose(on_train[:, varying].mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(on_train[:, varying].std(axis=0), 1.0, atol=1e-3)

    full = embeddings.FullNetworkEmbedding(model).fit(train)
    embedded = full.transform(test)
    assert set(np.unique(embedded)) <= {-1.0, 0.0, 1.0} and embedded.shape == (9, 30)
    np.testing.assert_array_equal(embedded, embeddings.discretize(standardised.transform(test)))
    assert len(np.unique(embedded)) == 3
    np.testing.assert_array_equal(embeddings.FullNetworkEmbedding(model).fit_transform(train), full.transform(train))
    pooling_only = embeddings.FullNetworkEmbedding(model, standardize=False, discretize=False).fit(train)
    np.testing.assert_allclose(pooling_only.transform(test), pooled_test, rtol=1e-6)
    assert list(full.get_feature_names_out()[:5]) == [f"block1_conv1_{i}" for i in range(4)] + ["block1_conv2_0"]
    assert full.feature_slices_["fc2"] == slice(25, 30) and full.layers_[-1] == "fc2"


@pytest.mark.multibackend
def test_full_network_embedding_in_a_pipeline_with_a_linear_svm():
    model = _tiny_vgg()
    x_train, y_train = _colour_images(10, seed=0)
    x_test, y_test = _colour_images(10, seed=1)
    pipeline = make_pipeline(embeddings.FullNetworkEmbedding(model, batch_size=16), LinearSVC())
    pipeline.fit(x_train, y_train)
    assert pipeline.score(x_test, y_test) >= 0.9
    assert pipeline.named_steps["fullnetworkembedding"].n_features_out_ == 30

    params = pipeline.get_params()
    assert params["fullnetworkembedding__thresholds"] == (-0.25, 0.15)
    pipeline.set_params(fullnetworkembedding__layers=["fc1", "fc2"], fullnetworkembedding__standardize=False)
    pipeline.fit(x_train, y_train)
    assert pipeline.named_steps["fullnetworkembedding"].n_features_out_ == 10
    copy = sklearn.base.clone(pipeline.named_steps["fullnetworkembedding"])
    assert copy.get_params()["layers"] == ["fc1", "fc2"] and not hasattr(copy, "n_features_out_")
    pipeline.set_params(fullnetworkembedding__thresholds=(0.5, -0.5))
    with pytest.raises(ValueError, match=r"thresholds=\(0.5, -0.5\)"):
        pipeline.fit(x_train, y_train)


def test_nearest_neighbours_and_precision_at_k_by_hand():
    # gallery on the unit circle at 0, 10, 80, 90, 180 degrees; labels 0 0 1 1 2
    angles = np.deg2rad([0, 10, 80, 90, 180])
    gallery = np.stack([np.cos(angles), np.sin(angles)], axis=1) * np.array([[1], [3], [2], [5], [1]])  # norms vary
    labels = np.array([0, 0, 1, 1, 2])
    queries = np.stack([np.cos(np.deg2rad([2, 87])), np.sin(np.deg2rad([2, 87]))], axis=1)
    neighbors = embeddings.nearest_neighbors(gallery, queries, 3)
    np.testing.assert_array_equal(neighbors, [[0, 1, 2], [3, 2, 1]])  # cosine ignores the norms
    assert embeddings.nearest_neighbors(gallery, queries, 50).shape == (2, 5)  # k is capped at the gallery size
    precision = embeddings.precision_at_k(labels[neighbors], np.array([0, 1]), (1, 2, 3))
    assert precision == {1: 1.0, 2: 1.0, 3: pytest.approx(4 / 6)}
    with pytest.raises(ValueError, match="ks"):
        embeddings.precision_at_k(labels[neighbors], np.array([0, 1]), (4,))


def test_retrieval_queries_cycle_through_the_classes():
    labels = np.array([2, 0, 0, 1, 2, 0, 1])
    assert embeddings.retrieval_queries(labels, 4) == [1, 3, 0, 2]  # first of class 0, 1, 2, then second of 0
    assert embeddings.retrieval_queries(labels, 6) == [1, 3, 0, 2, 6, 4]
    assert sorted(embeddings.retrieval_queries(labels, 100)) == list(range(7))


def test_svm_and_softmax_are_scored_and_an_unconverged_solver_is_reported():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(3, 1, (20, 4))])
    y = np.repeat([0, 1], 20)
    for classifier in (embeddings.linear_svm(c=1.0, seed=0), embeddings.softmax_classifier(c=1.0)):
        scores = embeddings.fit_and_score(classifier, x, y, x[::2], y[::2])
        assert scores["converged"] and scores["test_accuracy"] >= 0.9 and scores["train_accuracy"] >= 0.9
        assert classifier.steps[0][0] == "standardscaler"  # standardised with the training statistics
    noisy = rng.normal(0, 1, (40, 30))
    scores = embeddings.fit_and_score(embeddings.linear_svm(c=100.0, max_iter=2), noisy, y, noisy, y)
    assert not scores["converged"]
