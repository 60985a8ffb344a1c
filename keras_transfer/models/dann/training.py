"""The paper's training recipe for a domain-adversarial network: SGD with momentum, `μ_p` and `λ_p`."""

import keras

from keras_transfer.models.dann.batches import pair_domains
from keras_transfer.models.dann.model import compile_dann
from keras_transfer.models.dann.model import gradient_reversal_strength


def train_dann(model, source, target, *, steps, evaluations=1, batch_size=128, adapt=True, label_weights=(1.0, 0.0),
               learning_rate=0.01, alpha=10.0, beta=0.75, momentum=0.9, gamma=10.0, max_strength=1.0,
               domain_loss_weight=1.0, validation=None, seed=None, verbose=0):
    """Trains a model from `build_dann` by the paper's recipe; returns the history as a dict of lists.

    SGD with momentum and the learning rate `μ_p = learning_rate / (1 + alpha p) ** beta` (`InverseProgressDecay`),
    batches half source, half target (`pair_domains`), and with `adapt=True` the gradient reversal strength
    `λ_p = max_strength (2 / (1 + exp(-gamma p)) - 1)` set before every batch (`GradientReversalSchedule`); with
    `adapt=False` the strength stays at the model's (0 for a domain classifier that only observes). The same call
    with `label_weights=(0, 1)` and labelled `target` trains on the target domain.

    Args:
        model: keras.Model. From `build_dann`; compiled here (`compile_dann`).
        source: tuple `(images, labels)`. The labelled source training set.
        target: array or tuple `(images, labels)`. The target training set (labels used only where
            `label_weights[1]` is not 0).
        steps: int. Training steps (batches) in all; `p` goes from 0 to 1 over them.
        evaluations: int. How many times, evenly spread, the history records the metrics (and `validation`'s).
        batch_size: int. Images per batch, half of each domain.
        adapt: bool. Follow `λ_p` (DANN) or keep the strength fixed.
        label_weights: tuple. The label-loss weight of source and of target images (see `pair_domains`).
        learning_rate, alpha, beta, momentum: float. `μ0`, `α`, `β` of the learning rate and SGD's momentum.
        gamma, max_strength: float. `γ` and the final strength of `λ_p`.
        domain_loss_weight: float. See `compile_dann`.
        validation: None or tuple `(source, target)` of `(images, labels)`. Measured at each evaluation with the
            label weight on the target images only: `val_label_accuracy` is the target accuracy.
        seed: int or None. The batch order's seed.
        verbose: int. Keras's `verbose` for `fit`.

    Returns:
        A dict of per-evaluation lists: Keras's logs, `step` (the training step of each evaluation), `grl_strength`
        and `learning_rate`; with `adapt=True` also `grl_strength_per_batch`.

    Example:

    >>> import numpy as np
    >>> from keras_transfer.models.dann import build_mnist_dann
    >>> rng = np.random.default_rng(0)
    >>> images, labels = rng.integers(0, 256, (64, 28, 28, 3)), rng.integers(0, 10, 64)
    >>> model = build_mnist_dann(strength=0.0)
    >>> history = train_dann(model, (images, labels), images[::-1], steps=4, batch_size=32)
    >>> round(history["grl_strength"][-1], 3)
    0.999
    """
    from keras_transfer import callbacks as kt_callbacks
    from keras_transfer import schedules as kt_schedules

    for name, value in (("steps", steps), ("evaluations", evaluations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if steps % evaluations:
        raise ValueError(
            f"`steps` must be a multiple of `evaluations`. Received: steps={steps}, evaluations={evaluations}"
        )
    train = pair_domains(source, target, batch_size, label_weights=label_weights, seed=seed).repeat()
    validation_data = None
    if validation is not None:
        validation_data = pair_domains(*validation, batch_size, label_weights=(0.0, 1.0), training=False)
    schedule = kt_schedules.InverseProgressDecay(learning_rate, total_steps=steps, alpha=alpha, beta=beta)
    compile_dann(model, keras.optimizers.SGD(schedule, momentum=momentum), domain_loss_weight=domain_loss_weight)
    callbacks = [kt_callbacks.GradientReversalSchedule(gamma=gamma, max_strength=max_strength)] if adapt else []
    per_evaluation = steps // evaluations
    fit = model.fit(train, epochs=evaluations, steps_per_epoch=per_evaluation, validation_data=validation_data,
                    callbacks=callbacks, verbose=verbose, shuffle=False)
    history = {key: [float(value) for value in values] for key, values in fit.history.items()}
    strength = gradient_reversal_strength(model)
    history.setdefault("grl_strength", [strength] * evaluations)
    history["step"] = [(index + 1) * per_evaluation for index in range(evaluations)]
    history["learning_rate"] = [float(schedule(step)) for step in history["step"]]
    if adapt:
        history["grl_strength_per_batch"] = [float(value) for value in callbacks[0].history]
    return history
