"""The networks of Yosinski et al.'s (2014) transferability experiment, built and trained from a profile's settings.

`build_network(config, ...)` is `transfer.small_alexnet` with a profile's widths; `train_network` compiles, fits and
evaluates one of the experiment's networks; `init_seed` gives each network of the grid its own stable seed.
`keras_transfer.experiments.transferability` builds its grid from these.
"""

import zlib

import keras
import numpy as np

from keras_transfer.models.transfer import small_alexnet


def build_network(config, num_classes, input_shape, seed=None):
    """The profile's `small_alexnet`, initialised from `seed`.

    Args:
        config: dict. A profile's settings with `filters`, `kernel_sizes`, `units` and `dropout`, e.g.
            `transferability.CONFIGS["quick"]`.
        num_classes: int. The classes of `fc8` (one half of the dataset).
        input_shape: tuple of int. `(height, width, channels)`.
        seed: int or None. Seeds the initialisation and dropout.

    Example:

    ```python
    network = build_network({"filters": (4, 8, 8, 8, 8), "kernel_sizes": (3, 3, 3, 3, 3), "units": (16, 16),
                             "dropout": 0.0}, num_classes=5, input_shape=(28, 28, 1), seed=0)
    ```
    """
    return small_alexnet(
        tuple(input_shape),
        int(num_classes),
        filters=tuple(config["filters"]),
        kernel_sizes=tuple(config["kernel_sizes"]),
        units=tuple(config["units"]),
        dropout=config["dropout"],
        seed=seed,
    )


def init_seed(kind, seed):
    """A stable seed in `[0, 1e6)` per kind of network and run seed, e.g. `init_seed("baseA", 0)`."""
    return zlib.crc32(f"{kind}/{seed}".encode()) % 1_000_000


def train_network(model, train, evaluate_on, *, epochs, batch_size, learning_rate, seed, run_eagerly=False,
                  patience=None, monitor="val_accuracy", min_epochs=0):
    """Compiles `model` (Adam, sparse cross-entropy), fits it on `train` and evaluates it on each set of `evaluate_on`.

    With `patience`, training stops once `monitor` on `evaluate_on["validation"]` has not improved for `patience`
    epochs (or at `epochs`, the cap), and the model keeps the weights of its best validation epoch
    (`keras.callbacks.EarlyStopping(restore_best_weights=True)`), so every network is compared at its own
    convergence, chosen without the test set. The default watches accuracy, not loss: on a few hundred training
    images the validation loss turns up (over-confident predictions) while the validation accuracy still climbs.

    Args:
        model: keras.Model. The network, its frozen layers already marked (`transfer.transfer_layers`).
        train: tuple. `(x, y)` training images and integer labels.
        evaluate_on: dict. `{name: (x, y)}`, e.g. `{"validation": ..., "test": ...}`.
        epochs, batch_size, learning_rate: the training schedule (`epochs`: the cap when `patience` is set).
        seed: int. Seeds the batch order and dropout.
        run_eagerly: bool. Passed to `compile` (faster for tiny smoke-test batches).
        patience: int or None. Early stopping on the validation set (needs `evaluate_on["validation"]`); None
            trains for exactly `epochs`.
        monitor: str. `"val_accuracy"` (kept when highest) or `"val_loss"` (kept when lowest).
        min_epochs: int. With `patience`, the epochs every network trains before the stopping rule starts to watch
            (`EarlyStopping(start_from_epoch=...)`): a network trained from scratch on a hundred images can sit at
            chance for a dozen epochs before it climbs, and a short patience would stop it there. Its best epoch is
            chosen among the later ones. Must be below `epochs`.

    Returns:
        A dict `{"<name>_accuracy", "<name>_loss"` for each set, `"train_accuracy", "epochs", "epochs_trained",
        "history"}`: `epochs` is the epoch whose weights the model keeps, `epochs_trained` how many ran; the
        history holds the per-epoch `loss` and `accuracy` (and `val_loss`, `val_accuracy` with `patience`).

    Raises:
        ValueError: if `patience` is set without a validation set, or is not a positive integer.
    """
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=run_eagerly,
    )
    callbacks, validation = [], {}
    if patience is not None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"`patience` must be None or a positive integer. Received: patience={patience!r}")
        if "validation" not in evaluate_on:
            raise ValueError("`patience` needs a validation set to stop on: `evaluate_on` must have a "
                             f"'validation' entry. Received: evaluate_on keys {sorted(evaluate_on)}")
        if isinstance(min_epochs, bool) or not isinstance(min_epochs, int) or not 0 <= min_epochs < epochs:
            raise ValueError(f"`min_epochs` must be an integer in [0, epochs). Received: min_epochs={min_epochs!r}, "
                             f"epochs={epochs!r}")
        if monitor not in ("val_accuracy", "val_loss"):
            raise ValueError(f"`monitor` must be 'val_accuracy' or 'val_loss'. Received: monitor={monitor!r}")
        callbacks = [keras.callbacks.EarlyStopping(monitor, patience=patience, restore_best_weights=True,
                                                   start_from_epoch=min_epochs)]
        x_validation, y_validation = evaluate_on["validation"]
        validation = {"validation_data": (x_validation, y_validation), "validation_batch_size": len(y_validation)}
    history = model.fit(*train, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks,
                        **validation).history
    trained = len(history["loss"])
    if patience is None:
        best = trained
    else:  # the epoch EarlyStopping restored: the first best one from `min_epochs` on
        watched = history[monitor][min_epochs:]
        best = min_epochs + int(np.argmax(watched) if monitor == "val_accuracy" else np.argmin(watched)) + 1
    record = {"train_accuracy": float(history["accuracy"][best - 1]), "epochs": best, "epochs_trained": trained}
    for name, (x, y) in evaluate_on.items():
        loss, accuracy = model.evaluate(x, y, batch_size=max(batch_size, 256), verbose=0)
        record[f"{name}_accuracy"], record[f"{name}_loss"] = float(accuracy), float(loss)
    record["history"] = {key: [float(value) for value in values] for key, values in history.items()}
    return record
