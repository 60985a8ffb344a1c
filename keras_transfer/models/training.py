"""Training a classifier of `build_classifier` on arrays or tf.data pipelines: the steps every recipe shares.

- `fit_classifier`: `fit()` on `(x, y)` arrays or on batched pipelines, returning the per-epoch history.
- `fit_head_on_frozen_base`: the lecture's Model 2, the new head trained on the frozen base's outputs computed once
  (`extract_features`, on disk for arrays) instead of running the base every epoch.
- `choose_on_validation`: trains once per candidate setting from the same weights, keeps the best on validation.
- `evaluate_classifier`: test loss, accuracy and the first predictions.
- `EpochProgress`: a callback that advances a `keras_transfer.progress.bar` once per epoch (a bar with an ETA
  instead of Keras's epoch lines).
"""

import math

import keras
import numpy as np

from keras_transfer.models import backbones
from keras_transfer.models import features
from keras_transfer.models.features import quiet_retracing


class EpochProgress(keras.callbacks.Callback):
    """Advances a progress bar by one step per epoch, with the epoch's `monitor` as the bar's postfix.

    The bar (e.g. `keras_transfer.progress.bar(epochs, "Training", unit="epoch")`) belongs to the caller, who
    closes it; one bar can count the epochs of several `fit()` calls. Keras's own epoch lines are then not needed
    (`fit(..., verbose=0)`).

    Example:

    ```python
    with progress.bar(5, "Source network", unit="epoch") as bar:
        model.fit(x, y, epochs=5, validation_split=0.1, verbose=0, callbacks=[EpochProgress(bar)])
    ```

    Args:
        bar: A tqdm bar (`update(n)`, `set_postfix_str(text)`), e.g. from `keras_transfer.progress.bar`.
        monitor: str. The log shown after each epoch, as a percent if its name holds `"accuracy"`; when an epoch's
            logs lack it (no validation data), the training metric of the same name without `val_`.
    """

    def __init__(self, bar, monitor="val_accuracy"):
        super().__init__()
        if not callable(getattr(bar, "update", None)) or not callable(getattr(bar, "set_postfix_str", None)):
            raise ValueError(f"`bar` must be a progress bar with `update` and `set_postfix_str`. Received: bar={bar!r}")
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"`monitor` must be a non-empty string. Received: monitor={monitor!r}")
        self.bar = bar
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        name = self.monitor if self.monitor in logs else self.monitor.removeprefix("val_")
        if name in logs:
            value = float(logs[name])
            shown = f"{value:.1%}" if "accuracy" in name else f"{value:.4g}"
            self.bar.set_postfix_str(f"{name.replace('_', ' ')} {shown}", refresh=False)
        self.bar.update(1)


def early_stopping(patience, monitor="val_loss"):
    """Keras's `EarlyStopping` on `monitor` that keeps the best epoch's weights (a tie keeps the earlier epoch)."""
    return keras.callbacks.EarlyStopping(monitor=monitor, patience=int(patience), restore_best_weights=True)


def _is_arrays(data):
    return isinstance(data, tuple) and len(data) == 2


def fit_classifier(model, train, validation, batch_size, epochs, callbacks=(), verbose=0):
    """Fits `model` on `train` and validates on `validation` each epoch; returns `{metric: [float per epoch]}`.

    `train` and `validation` are both `(x, y)` arrays (shuffled by `fit()` in batches of `batch_size`) or both
    batched `tf.data` pipelines (they shuffle themselves). `verbose >= 2` prints Keras's epoch lines.
    """
    options = {"epochs": int(epochs), "callbacks": list(callbacks), "verbose": 2 if verbose >= 2 else 0}
    with quiet_retracing():
        if _is_arrays(train):
            history = model.fit(*train, batch_size=batch_size, validation_data=validation, shuffle=True, **options)
        else:
            history = model.fit(train, validation_data=validation, shuffle=False, **options)
    return {key: [float(value) for value in values] for key, values in history.history.items()}


def steps_per_epoch(train, batch_size):
    """Batches in one epoch of `train` (`(x, y)` arrays cut into `batch_size`, or a batched pipeline)."""
    if _is_arrays(train):
        return math.ceil(len(train[1]) / batch_size)
    return int(train.cardinality())


def _features(base, data):
    if _is_arrays(data):
        return features.extract_features(base, data[0], cache=True), data[1]
    return features.extract_features(base, data)


def fit_head_on_frozen_base(
    model, train, validation, *, optimizer, batch_size, epochs, patience, monitor="val_loss", verbose=0
):
    """Trains the head of `model` (built by `build_classifier`) in place on its frozen base's cached outputs.

    The base's outputs for `train` and `validation` are computed once (`extract_features`; for arrays also kept on
    disk, so the next run with the same base and images reads them back) and the head alone trains on them with
    early stopping on `monitor` (best epoch kept). The same training as fitting `model` with the base
    frozen, without running the base every epoch; `train` must not augment at random.

    Returns:
        `(history, best_epoch)`: the per-epoch history and the epoch (from 1) whose weights were kept.
    """
    base = backbones.base_layer(model)
    base.trainable = False
    head = backbones.classifier_head(model)
    head.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stopper = early_stopping(patience, monitor)
    history = features.fit_on_features(
        head, _features(base, train), _features(base, validation), batch_size=batch_size, epochs=epochs,
        callbacks=[stopper], verbose=2 if verbose >= 2 else 0,
    )
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    return per_epoch, stopper.best_epoch + 1


def choose_on_validation(model, candidates, train, monitor="val_loss"):
    """Trains `model` once per candidate, each time from the same weights; keeps the best `monitor` on validation.

    Args:
        model: keras.Model. Trained in place; ends with the chosen candidate's weights.
        candidates: sequence. The settings to try, e.g. learning rates.
        train: callable. `train(candidate)` trains `model` and returns `(history, best_epoch)`.
        monitor: str. The history's key compared at each candidate's best epoch: lowest wins for a name holding
            `"loss"`, highest otherwise (e.g. `"val_accuracy"`); the first candidate wins a tie.

    Returns:
        `{"chosen": candidate, "scores": [monitor of each], "chosen_result": what train returned}`.
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError(f"`candidates` must not be empty. Received: candidates={candidates!r}")
    start = model.get_weights() if len(candidates) > 1 else None
    sign = 1.0 if "loss" in monitor else -1.0
    best, scores = None, []
    for candidate in candidates:
        if start is not None:
            model.set_weights(start)
        history, best_epoch = train(candidate)
        scores.append(float(history[monitor][best_epoch - 1]))
        if best is None or sign * scores[-1] < sign * best[0]:
            weights = model.get_weights() if start is not None else None
            best = (scores[-1], candidate, (history, best_epoch), weights)
    if best[3] is not None:
        model.set_weights(best[3])
    return {"chosen": best[1], "scores": scores, "chosen_result": best[2]}


def evaluate_classifier(model, test, count=0):
    """`{"loss", "accuracy", "predictions", "labels"}` of `model` on `test`; the last two for its first `count`.

    `model` is compiled anew for the test (sparse categorical cross-entropy and accuracy): a model whose head
    alone was trained (`fit_head_on_frozen_base`) was never compiled itself.
    """
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with quiet_retracing():
        if _is_arrays(test):
            loss, accuracy = model.evaluate(*test, batch_size=256, verbose=0)
            images, labels = test[0][:count], test[1][:count]
        else:
            loss, accuracy = model.evaluate(test, verbose=0)
            batches = [(np.asarray(x), np.asarray(y)) for x, y in test.take(max(1, math.ceil(count / 8)))]
            images = np.concatenate([x for x, _ in batches])[:count]
            labels = np.concatenate([y for _, y in batches])[:count]
        predicted = np.argmax(model.predict(images, verbose=0), axis=-1) if count else []
    return {"loss": float(loss), "accuracy": float(accuracy), "predictions": [int(p) for p in predicted],
            "labels": [int(label) for label in labels]}
