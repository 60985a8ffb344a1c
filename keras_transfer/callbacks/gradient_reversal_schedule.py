"""The callback that raises the strength of the gradient reversal layers during training (DANN)."""

import math
import numbers
import warnings

import keras


@keras.saving.register_keras_serializable(package="keras_transfer")
class GradientReversalSchedule(keras.callbacks.Callback):
    """Sets the strength of every `GradientReversal` layer from the training progress, before each batch.

    DANN's schedule: with `p` the training progress in [0, 1],

    ```
    strength(p) = max_strength * (2 / (1 + exp(-gamma * p)) - 1)
    ```

    so the strength starts at 0 (the domain classifier learns before its reversed gradient disturbs the feature
    extractor) and approaches `max_strength` (0.987 of it at `p = 0.5` with `gamma=10`). Before batch `t` (counted
    from 0 over the whole `fit()`) `p = min(t / total_steps, 1)` with `total_steps = epochs * steps_per_epoch` from
    `fit()`, unless given. With `fit(initial_epoch=k)` the count starts at `k * steps_per_epoch` (when `fit()`
    knows it), so a resumed run continues the schedule. The strength of the batch just trained goes into
    `logs["grl_strength"]` (batch and epoch logs, so it shows in the progress bar and in `History`), and every
    trained batch's strength into the list `history`.

    When the number of steps per epoch is unknown (a generator, or a `tf.data.Dataset` of unknown cardinality, and
    no `steps_per_epoch`) and `total_steps` is not given, the first epoch counts its batches. During that first
    epoch `p` stays at its value at the start of the epoch (0 for a fresh run, so the strength stays 0: the
    domain classifier warms up, the features receive no reversed gradient); from the second epoch on
    `total_steps = epochs * (batches in the first epoch)` and `p` follows the formula. With a single epoch that
    would leave the strength at 0 throughout, so pass `total_steps` (or `steps_per_epoch` to `fit()`).

    The layers are found anywhere in the model (nested models and layers included) by their class name
    `GradientReversal` (or a subclass of it), so this file does not need the layer's file.
    With `steps_per_execution > 1` the strength changes once per execution.

    Args:
        gamma: Float > 0. How fast the strength rises with progress. DANN uses `10.0`.
        max_strength: Float >= 0. The strength reached at the end of training. Defaults to `1.0`.
        total_steps: Int or `None`. The number of batches over which `p` goes from 0 to 1. `None` (default) takes
            `epochs * steps_per_epoch` from `fit()`.

    Example:

    ```python
    schedule = GradientReversalSchedule(gamma=10.0)
    # model.fit(dataset, epochs=10, callbacks=[schedule]) sets every GradientReversal layer's strength to
    print([round(schedule.strength_at(progress), 3) for progress in (0.0, 0.1, 0.5, 1.0)])
    # [0.0, 0.462, 0.987, 1.0]
    ```

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495)
    """

    def __init__(self, gamma=10.0, max_strength=1.0, total_steps=None):
        super().__init__()
        if not (_is_real(gamma) and gamma > 0):
            raise ValueError(
                f"Invalid value for argument `gamma`: expected a positive finite number. Received: gamma={gamma!r}"
            )
        if not (_is_real(max_strength) and max_strength >= 0):
            raise ValueError(
                "Invalid value for argument `max_strength`: expected a finite number >= 0. "
                f"Received: max_strength={max_strength!r}"
            )
        if total_steps is not None and not (_is_integer(total_steps) and total_steps >= 1):
            raise ValueError(
                "Invalid value for argument `total_steps`: expected None or an integer >= 1. "
                f"Received: total_steps={total_steps!r}"
            )
        self.gamma = float(gamma)
        self.max_strength = float(max_strength)
        self.total_steps = None if total_steps is None else int(total_steps)
        self.strength = None
        self.history = []

    def strength_at(self, progress):
        """The strength at training progress `progress` in [0, 1]."""
        return self.max_strength * (2.0 / (1.0 + math.exp(-self.gamma * progress)) - 1.0)

    def on_train_begin(self, logs=None):
        self._layers = _find_gradient_reversal_layers(self.model)
        if not self._layers:
            raise ValueError(
                f"GradientReversalSchedule found no GradientReversal layer in the model {self.model.name!r}: add a "
                "GradientReversal layer (gradient_reversal.py) or remove this callback."
            )
        self._epochs = self.params.get("epochs") or 1
        self._steps_per_epoch = self.params.get("steps")
        if self.total_steps is not None:
            self._total = self.total_steps
        elif self._steps_per_epoch:
            self._total = self._epochs * self._steps_per_epoch
        else:
            self._total = None  # counted during the first epoch
            if self._epochs == 1:
                warnings.warn(
                    "GradientReversalSchedule: the number of steps per epoch is unknown and fit() runs one epoch, so "
                    "the strength stays at its starting value. Pass total_steps= or steps_per_epoch= to fit().",
                    stacklevel=2,
                )
        self._first_epoch = None
        self._step = 0  # global index of the next batch
        self._epoch_start = 0
        self.strength = None
        self._batch_strength = None
        self.history = []

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            if self._steps_per_epoch:
                self._step = epoch * self._steps_per_epoch
        self._epoch_start = self._step

    def on_train_batch_begin(self, batch, logs=None):
        if self._total is None:
            progress = self._first_epoch / self._epochs
        else:
            progress = min((self._epoch_start + batch) / self._total, 1.0)
        strength = self.strength_at(progress)
        # On JAX, reading `self.model` re-attaches the training state to the variables, so the train step that
        # follows reads the value assigned here.
        _ = self.model
        for layer in self._layers:
            layer.strength.assign(strength)
        self._batch_strength = strength

    def on_train_batch_end(self, batch, logs=None):
        # Counted and recorded here rather than in `on_train_batch_begin`: with data of unknown length, Keras calls
        # `on_train_batch_begin` once more at the end of an epoch, for a batch that does not exist.
        self._step = self._epoch_start + batch + 1
        self.strength = self._batch_strength
        self.history.append(self.strength)
        if logs is not None:
            logs["grl_strength"] = self.strength

    def on_epoch_end(self, epoch, logs=None):
        if self._total is None and self._step > self._epoch_start:
            batches = self._step - self._epoch_start
            self._total = self._epochs * batches
            self._step = (epoch + 1) * batches
        if self.strength is not None:
            # Keep the strength the last batch trained with (not one set for a batch that never came).
            _ = self.model
            for layer in self._layers:
                layer.strength.assign(self.strength)
            if logs is not None:
                logs["grl_strength"] = self.strength

    def get_config(self):
        return {"gamma": self.gamma, "max_strength": self.max_strength, "total_steps": self.total_steps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _is_gradient_reversal(layer):
    return hasattr(layer, "strength") and any(cls.__name__ == "GradientReversal" for cls in type(layer).__mro__)


def _find_gradient_reversal_layers(model):
    """Every GradientReversal layer inside `model`, nested models and layers included, each once, in model order.

    Public APIs only: a model's sublayers are `Model.layers`; a plain layer's are the layers it holds as attributes
    (alone or in lists, tuples and dicts), which is how Keras tracks them.
    """
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if _is_gradient_reversal(layer):
            found.append(layer)
        for child in _sublayers(layer):
            visit(child)

    visit(model)
    return found


def _sublayers(layer):
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    children = []

    def collect(value):
        if isinstance(value, keras.layers.Layer):
            children.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)

    for value in vars(layer).values():
        collect(value)
    return children


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
