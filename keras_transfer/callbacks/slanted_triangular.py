"""The callback that applies ULMFiT's slanted triangular learning rate batch by batch."""

import math
import numbers
import warnings

import keras


def slanted_triangular_learning_rate(step, max_learning_rate, total_steps, cut_frac=0.1, ratio=32):
    """The slanted triangular learning rate at `step` (counted from 0) of a run of `total_steps` steps.

    `cut = floor(total_steps * cut_frac)`; `p = step / cut` while `step < cut`, then
    `p = 1 - (step - cut) / (cut * (1 / cut_frac - 1))`; the rate is `max_learning_rate * (1 + p * (ratio - 1)) /
    ratio`. `p` is clipped at 0 (the paper's formula would turn negative after step `cut / cut_frac` when that is
    before `total_steps`) and steps after `total_steps` keep the rate of step `total_steps`.
    """
    cut = math.floor(total_steps * cut_frac)
    if cut < 1:
        raise ValueError(
            "The warm-up of the slanted triangular learning rate has no step: floor(total_steps * cut_frac) = "
            f"floor({total_steps} * {cut_frac}) = 0. Use total_steps >= {math.ceil(1 / cut_frac)} or a larger "
            f"cut_frac. Received: total_steps={total_steps!r}, cut_frac={cut_frac!r}"
        )
    step = min(step, total_steps)
    if step < cut:
        progress = step / cut
    else:
        progress = max(1.0 - (step - cut) / (cut * (1.0 / cut_frac - 1.0)), 0.0)
    return max_learning_rate * (1.0 + progress * (ratio - 1.0)) / ratio


@keras.saving.register_keras_serializable(package="keras_transfer", name="SlantedTriangularCallback")
class SlantedTriangular(keras.callbacks.Callback):
    """Sets the optimizer's learning rate before each batch to ULMFiT's slanted triangular rate.

    Batch `t` (counted from 0 over the whole `fit()`) trains with

    ```
    cut = floor(T * cut_frac)
    p = t / cut                                          if t < cut
    p = 1 - (t - cut) / (cut * (1 / cut_frac - 1))       otherwise
    learning_rate(t) = max_learning_rate * (1 + p * (ratio - 1)) / ratio
    ```

    where `T = total_steps`, by default `epochs * steps_per_epoch` from `fit()`. As in the schedule
    `SlantedTriangular` (`schedules/slanted_triangular.py`), `p` is clipped at 0 and steps after `T` keep the final
    rate, `max_learning_rate / ratio`: a `total_steps` shorter than the fit warns (at the start of `fit()` when it
    knows its length, else when the fit passes `T`).
    With `fit(initial_epoch=k)` the count starts at `k * steps_per_epoch` (when `fit()` knows it), so a resumed
    run continues the schedule. Each `fit()` restarts the triangle, which suits training in stages that recompile
    or rebuild the optimizer (gradual unfreezing, chain-thaw); within one `fit()` the schedule given to the
    optimizer does the same without a callback.

    When `fit()` cannot tell the number of steps per epoch (a generator, or a `tf.data.Dataset` of unknown
    cardinality, without `steps_per_epoch`), pass `total_steps`: the warm-up length depends on it from the first
    batch. The rate of each trained batch goes into the list `history`; the rate of each epoch's last batch into
    `logs["learning_rate"]`. With `steps_per_execution > 1` the rate changes once per execution.

    The optimizer must have a float learning rate: one built with a `LearningRateSchedule` cannot be set.

    Args:
        max_learning_rate: Float. The peak learning rate, reached at step `cut`. ULMFiT uses `0.01`.
        total_steps: Int or `None`. The number of batches `T` the schedule spans. `None` (default) takes
            `epochs * steps_per_epoch` from `fit()`.
        cut_frac: Float in (0, 1). The fraction of the steps spent increasing the rate. Defaults to `0.1`.
        ratio: Float >= 1. How much smaller the lowest rate is than the peak. Defaults to `32`.

    Example:

    ```python
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    x, y = np.ones((40, 4)), np.zeros((40, 1))
    callback = SlantedTriangular(max_learning_rate=0.01)
    model.fit(x, y, batch_size=4, epochs=2, callbacks=[callback], verbose=0)
    print(len(callback.history), round(max(callback.history), 6), round(callback.history[-1], 6))  # 20 0.01 0.000851
    ```

    Reference:
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146)
    """

    def __init__(self, max_learning_rate, total_steps=None, cut_frac=0.1, ratio=32):
        super().__init__()
        if not (_is_real(max_learning_rate) and max_learning_rate > 0):
            raise ValueError(
                "Invalid value for argument `max_learning_rate`: expected a positive number. "
                f"Received: max_learning_rate={max_learning_rate!r}"
            )
        if total_steps is not None and not (_is_integer(total_steps) and total_steps >= 1):
            raise ValueError(
                "Invalid value for argument `total_steps`: expected None or an integer >= 1. "
                f"Received: total_steps={total_steps!r}"
            )
        if not (_is_real(cut_frac) and 0 < cut_frac < 1):
            raise ValueError(
                "Invalid value for argument `cut_frac`: expected a number strictly between 0 and 1. "
                f"Received: cut_frac={cut_frac!r}"
            )
        if not (_is_real(ratio) and ratio >= 1):
            raise ValueError(
                f"Invalid value for argument `ratio`: expected a finite number >= 1. Received: ratio={ratio!r}"
            )
        if total_steps is not None:
            slanted_triangular_learning_rate(0, max_learning_rate, total_steps, cut_frac, ratio)  # checks the warm-up
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = None if total_steps is None else int(total_steps)
        self.cut_frac = float(cut_frac)
        self.ratio = float(ratio)
        self.learning_rate = None
        self.history = []

    def learning_rate_at(self, step):
        """The learning rate of batch `step` (counted from 0) of the current `fit()`."""
        return slanted_triangular_learning_rate(step, self.max_learning_rate, self._total, self.cut_frac, self.ratio)

    def on_train_begin(self, logs=None):
        self._steps_per_epoch = self.params.get("steps")
        if self.total_steps is not None:
            self._total = self.total_steps
        elif self._steps_per_epoch:
            self._total = (self.params.get("epochs") or 1) * self._steps_per_epoch
        else:
            raise ValueError(
                "The SlantedTriangular callback cannot infer total_steps: fit() does not know the number of steps per "
                "epoch (a generator or a dataset of unknown cardinality). Pass steps_per_epoch= to fit() or "
                "total_steps= to SlantedTriangular."
            )
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            raise ValueError("The SlantedTriangular callback needs a compiled model: call model.compile() first.")
        try:
            optimizer.learning_rate = self.max_learning_rate / self.ratio  # the rate of step 0
        except TypeError as error:
            raise TypeError(
                "The SlantedTriangular callback cannot set the learning rate of an optimizer built with a "
                "LearningRateSchedule. Give the optimizer the schedule of the same name instead (the "
                "LearningRateSchedule `SlantedTriangular`) and drop this callback, or build the optimizer with a "
                f"float learning_rate. Received: learning_rate={optimizer.learning_rate!r}"
            ) from error
        self.learning_rate_at(0)  # a fit() too short for the warm-up fails here, before any training
        self._warned = False
        if self._steps_per_epoch:
            planned = (self.params.get("epochs") or 1) * self._steps_per_epoch
            if planned > self._total:
                self._warn_past_total(f"fit() runs {planned} steps")
        self._first_epoch = None
        self._step = 0
        self._epoch_start = 0
        self.learning_rate = None
        self._batch_learning_rate = None
        self.history = []

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
            if self._steps_per_epoch:
                self._step = epoch * self._steps_per_epoch
        self._epoch_start = self._step

    def _warn_past_total(self, what):
        self._warned = True
        warnings.warn(
            f"SlantedTriangular callback: total_steps={self._total}, but {what}: every step from step "
            f"{self._total} on trains at the floor rate max_learning_rate / ratio = "
            f"{self.max_learning_rate / self.ratio:g}. Leave total_steps=None to take it from fit(), or pass the "
            "number of batches of the whole fit().",
            stacklevel=3,
        )

    def on_train_batch_begin(self, batch, logs=None):
        learning_rate = self.learning_rate_at(self._epoch_start + batch)
        # On JAX, reading `self.model` re-attaches the training state first, so the train step that follows
        # reads the value assigned here.
        self.model.optimizer.learning_rate = learning_rate
        self._batch_learning_rate = learning_rate

    def on_train_batch_end(self, batch, logs=None):
        # Recorded here rather than in `on_train_batch_begin`: with data of unknown length, Keras calls
        # `on_train_batch_begin` once more at the end of an epoch, for a batch that does not exist.
        self._step = self._epoch_start + batch + 1
        if not self._warned and self._step > self._total:
            self._warn_past_total(f"fit() has trained step {self._step - 1}")
        self.learning_rate = self._batch_learning_rate
        self.history.append(self.learning_rate)

    def on_epoch_end(self, epoch, logs=None):
        if self.learning_rate is not None:
            # Keep the rate the last batch trained with (not one set for a batch that never came).
            self.model.optimizer.learning_rate = self.learning_rate
            if logs is not None:
                logs["learning_rate"] = self.learning_rate

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "cut_frac": self.cut_frac,
            "ratio": self.ratio,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
