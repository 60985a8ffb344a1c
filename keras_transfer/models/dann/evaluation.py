"""What a trained domain-adversarial network does on held-out data: its accuracies, and its features."""

import keras
import numpy as np

from keras_transfer.models.dann.batches import check_domain
from keras_transfer.models.dann.model import DOMAIN_OUTPUT
from keras_transfer.models.dann.model import FEATURE_EXTRACTOR
from keras_transfer.models.dann.model import LABEL_OUTPUT
from keras_transfer.models.dann.model import SOURCE_DOMAIN
from keras_transfer.models.dann.model import TARGET_DOMAIN


def evaluate_domains(model, source, target, batch_size=256):
    """Accuracies of a trained DANN on held-out data, computed exactly with `predict`.

    Args:
        model: keras.Model. A model from `build_dann`.
        source: tuple `(images, labels)`. Held-out source data.
        target: tuple `(images, labels)`. Held-out target data (labels used for measuring only).
        batch_size: int. The prediction batch size.

    Returns:
        A dict: floats `source_accuracy`, `target_accuracy` (label classifier), `domain_accuracy` (domain
        classifier on both sets together; 0.5 is chance when they have the same size).
    """
    x_source, y_source = check_domain(source, "source", labels_required=True)
    x_target, y_target = check_domain(target, "target", labels_required=True)
    outputs = {}
    for key, x in (("source", x_source), ("target", x_target)):
        prediction = _predict(model, x, batch_size)
        outputs[key] = (np.argmax(prediction[LABEL_OUTPUT], axis=-1), np.argmax(prediction[DOMAIN_OUTPUT], axis=-1))
    domain_hits = np.concatenate(
        [outputs["source"][1] == SOURCE_DOMAIN, outputs["target"][1] == TARGET_DOMAIN]
    )
    scores = {
        "source_accuracy": float(np.mean(outputs["source"][0] == y_source)),
        "target_accuracy": float(np.mean(outputs["target"][0] == y_target)),
        "domain_accuracy": float(np.mean(domain_hits)),
    }
    return scores


def dann_features(model, images, batch_size=256):
    """The feature extractor's output of a model from `build_dann` for `images`, as a 2-D NumPy array `(N, D)`."""
    features = _predict(model.get_layer(FEATURE_EXTRACTOR), np.asarray(images), batch_size)
    return np.reshape(features, (len(features), -1))


def _predict(model, x, batch_size):
    """`model(x)` in batches, outside `predict()`: no train/predict function is traced for a one-off pass."""
    batches = [
        keras.tree.map_structure(keras.ops.convert_to_numpy, model(x[start : start + batch_size], training=False))
        for start in range(0, len(x), batch_size)
    ]
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *batches)
