"""The shared training paths raise no warning and log no TensorFlow warning: a notebook's stderr stays empty.

Each test turns every warning into an error. The paths are those that filled the notebooks' stderr in the quick
profile (issue 26): frozen-feature extraction through the source network's backbone, training a head on the cached
features, evaluating and fitting a classifier. Keras warned "The structure of `inputs` doesn't match the expected
structure. Expected: ['image']" when a base built on the one-element list `model.inputs` was called with an array.
"""

import logging

import keras
import numpy as np
import pytest

from keras_transfer import models
from keras_transfer.models import training

# On JAX, Keras's own `Variable.numpy()` (behind `get_weights()`, e.g. EarlyStopping's best weights) makes NumPy 2
# warn that Keras's `__array__` takes no `copy` argument: a DeprecationWarning inside Keras, which Python hides
# outside `__main__` (no notebook shows it). Every other warning is an error.
KERAS_ARRAY_WARNING = "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
FILTERS = ("error", KERAS_ARRAY_WARNING) if keras.backend.backend() == "jax" else ("error",)
pytestmark = [pytest.mark.multibackend, pytest.mark.filterwarnings(*FILTERS)]


def _data(count=24, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (count, 32, 32, 3)).astype("float32")
    return images, (np.arange(count) % 3).astype("int32")


def _classifier(base_trainable=False):
    source = models.build_source_network(5, filters=(4, 4, 4), fc_units=8)
    backbone = models.source_backbone(source)
    return models.build_classifier(backbone, 3, head_units=(8,), dropout=0.0, base_trainable=base_trainable)


def _dataset(images, labels, batch_size=8):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)


def test_the_source_backbone_takes_a_bare_tensor_as_its_input():
    backbone = models.source_backbone(models.build_source_network(5, filters=(4, 4, 4), fc_units=8))
    assert isinstance(backbone.input, keras.KerasTensor)  # one tensor, not a one-element list
    images, _ = _data(4)
    assert keras.ops.convert_to_numpy(backbone(images)).shape == (4, 4, 4, 4)


def test_frozen_feature_extraction_raises_no_warning(data_dir):
    images, labels = _data()
    base = models.base_layer(_classifier())
    from_arrays = models.extract_features(base, images, batch_size=10, cache=True)
    assert from_arrays.shape == (24, 4, 4, 4)
    np.testing.assert_allclose(models.extract_features(base, images, cache=True), from_arrays)  # read back
    from_batches, got = models.extract_features(base, _dataset(images, labels))
    np.testing.assert_allclose(from_batches, from_arrays, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got, labels)
    mirrored = models.extract_mirrored_features(base, _dataset(images, labels), lambda y: y)
    assert mirrored["mirror_features"].shape == from_arrays.shape


def test_a_base_built_on_a_list_of_one_input_raises_no_warning():
    inputs = keras.Input((32, 32, 3), name="image")
    outputs = keras.layers.Conv2D(2, 3, name="block1_conv1")(inputs)
    base = keras.Model([inputs], outputs)  # what keras.Model(model.inputs, ...) builds
    images, _ = _data(5)
    assert models.extract_features(base, images, batch_size=2).shape == (5, 30, 30, 2)


def test_fitting_the_head_on_cached_features_and_evaluating_raise_no_warning(data_dir):
    images, labels = _data()
    for train, validation in (((images, labels), (images, labels)), (_dataset(images, labels), _dataset(images, labels))):
        model = _classifier()
        history, best_epoch = training.fit_head_on_frozen_base(
            model, train, validation, optimizer="adam", batch_size=8, epochs=2, patience=1
        )
        assert len(history["val_loss"]) == 2 and best_epoch in (1, 2)
        result = training.evaluate_classifier(model, validation, count=5)
        assert 0.0 <= result["accuracy"] <= 1.0 and len(result["predictions"]) == 5


def test_fitting_a_classifier_raises_no_warning(capsys):
    images, labels = _data()
    model = _classifier(base_trainable=True)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = training.fit_classifier(model, (images, labels), _dataset(images, labels), batch_size=8, epochs=2,
                                      verbose=1)
    assert len(history["val_accuracy"]) == 2
    assert capsys.readouterr().out == ""  # Keras's epoch lines only at verbose >= 2


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_training_one_model_after_another_logs_no_retracing_warning(data_dir):
    """Every new model traces its own functions; TensorFlow takes that for a loop of retracing and logs a warning."""
    handler = _Records()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        images, labels = _data(16)
        for _ in range(3):  # TensorFlow warns from the second model on (5 traces among its last calls)
            model = _classifier()
            training.fit_head_on_frozen_base(
                model, (images, labels), (images, labels), optimizer="adam", batch_size=8, epochs=1, patience=1
            )
            training.evaluate_classifier(model, (images, labels))
    finally:
        logger.removeHandler(handler)
    assert not [message for message in handler.messages if "retracing" in message], handler.messages
    assert logger.level == logging.NOTSET or logger.level <= logging.WARNING  # the level is restored
