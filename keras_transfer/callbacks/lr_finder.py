"""The learning-rate range test: one short fit() with an exponentially rising rate, then everything put back."""

import math
import numbers
import warnings

import keras
import numpy as np

RULES = ("valley", "steepest")


@keras.saving.register_keras_serializable(package="keras_transfer", name="LearningRateFinder")
class LearningRateFinder(keras.callbacks.Callback):
    """Finds a learning rate: trains with a rate rising exponentially batch by batch and records the loss.

    Batch `t` (counted from 0) trains at

    ```
    learning_rate(t) = start_learning_rate * (end_learning_rate / start_learning_rate) ** (t / (steps - 1))
    ```

    and its loss is recorded (the loss of that batch alone, from the model's `loss` tracker, not the running mean
    over the epoch that Keras 3 logs). The fit stops after `steps` batches, or as soon as the smoothed loss exceeds
    `divergence_factor` times the lowest smoothed loss so far, or the loss is not finite. When the fit ends, the
    weights, the optimizer's variables (its step count, moments and learning rate) and the non-trainable state are
    set back to what they were before it: the model is ready for the real training.

    The smoothed loss is an exponential moving average with bias correction,
    `average = smoothing * average + (1 - smoothing) * loss`, `smoothed[t] = average / (1 - smoothing ** (t + 1))`.
    `suggestion` applies `rule` to the smoothed curve with its first `skip_start` batches and last `skip_end` batches
    left out (the start is flat, the end is the blow-up):

    - `"valley"` (fastai's default since 2.4): the longest decreasing subsequence of the smoothed loss, and the rate
      halfway down it (index `start + floor(length / 3) + floor(length / 6)`).
    - `"steepest"` (fastai's former default): the rate where the smoothed loss falls fastest per unit of
      `log(learning_rate)` (the most negative finite difference).

    `suggest(rule)` gives either for the same run. With `steps_per_execution > 1` the rate changes once per
    execution and each recorded loss is the mean over the execution's batches.

    The optimizer must have a float learning rate (not a `LearningRateSchedule`). A `fit()` shorter than `steps`
    batches warns and stops the range test where the fit ends; `find()` runs a fit of the right length.

    Args:
        start_learning_rate: Float > 0. The rate of the first batch. Defaults to `1e-7`.
        end_learning_rate: Float > `start_learning_rate`. The rate of batch `steps - 1`. Defaults to `10.0`.
        steps: Int >= 5. The number of batches. Defaults to `100`.
        rule: `"valley"` (default) or `"steepest"`. How `suggestion` is chosen.
        smoothing: Float in [0, 1). The moving average's weight of the past. Defaults to `0.98`; `0` records the
            raw loss.
        divergence_factor: Float > 1. Stop when the smoothed loss exceeds this many times its lowest value.
            Defaults to `4.0`.
        skip_start: Int >= 0. Batches left out at the start of the curve the rules read. Defaults to `10`.
        skip_end: Int >= 0. Batches left out at the end. Defaults to `5`.
        verbose: Int. `1` prints the suggestion when the fit ends. Defaults to `0`.

    Example:

    ```python
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy")
    before = model.get_weights()
    finder = LearningRateFinder(start_learning_rate=1e-4, end_learning_rate=100.0, steps=60)
    finder.find(model, x, y, batch_size=16)
    print(all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())))  # True
    print(1e-4 <= finder.suggestion <= 100.0, finder.rule, len(finder.learning_rates) <= 60)  # True valley True
    ```

    Reference:
        - [Smith, 2017](https://arxiv.org/abs/1506.01186): the learning-rate range test.
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146): ULMFiT, which starts from it.
    """

    def __init__(self, start_learning_rate=1e-7, end_learning_rate=10.0, steps=100, rule="valley", smoothing=0.98,
                 divergence_factor=4.0, skip_start=10, skip_end=5, verbose=0):
        super().__init__()
        _check_real("start_learning_rate", start_learning_rate, "a positive number",
                    _is_real(start_learning_rate) and start_learning_rate > 0)
        _check_real("end_learning_rate", end_learning_rate,
                    f"a number greater than start_learning_rate={start_learning_rate!r}",
                    _is_real(end_learning_rate) and end_learning_rate > start_learning_rate)
        if not (_is_integer(steps) and steps >= 5):
            raise ValueError(f"Invalid value for argument `steps`: expected an integer >= 5. Received: steps={steps!r}")
        if rule not in RULES:
            raise ValueError(f"Invalid value for argument `rule`: expected one of {RULES}. Received: rule={rule!r}")
        _check_real("smoothing", smoothing, "a number in [0, 1)", _is_real(smoothing) and 0 <= smoothing < 1)
        _check_real("divergence_factor", divergence_factor, "a number > 1",
                    _is_real(divergence_factor) and divergence_factor > 1)
        for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
            if not (_is_integer(value) and value >= 0):
                raise ValueError(
                    f"Invalid value for argument `{name}`: expected an integer >= 0. Received: {name}={value!r}")
        if skip_start + skip_end > steps - 3:
            raise ValueError(
                "Invalid values for arguments `skip_start` and `skip_end`: they leave fewer than 3 of the "
                f"{steps} steps for the rules. Received: skip_start={skip_start!r}, skip_end={skip_end!r}")
        self.start_learning_rate = float(start_learning_rate)
        self.end_learning_rate = float(end_learning_rate)
        self.steps = int(steps)
        self.rule = rule
        self.smoothing = float(smoothing)
        self.divergence_factor = float(divergence_factor)
        self.skip_start = int(skip_start)
        self.skip_end = int(skip_end)
        self.verbose = verbose
        self._reset()

    def _reset(self):
        self.learning_rates = []
        self.losses = []
        self.smoothed_losses = []
        self.stopped_early = False
        self._average = 0.0
        self._best = math.inf

    def learning_rate_at(self, step):
        """The rate of batch `step` (counted from 0)."""
        ratio = self.end_learning_rate / self.start_learning_rate
        return self.start_learning_rate * ratio ** (step / (self.steps - 1))

    # -- running ---------------------------------------------------------------------------------------------------

    def find(self, model, x=None, y=None, **fit_kwargs):
        """Runs the range test as one `model.fit(x, y, ...)` long enough for `steps` batches; returns `suggestion`.

        `fit_kwargs` go to `fit()` (`batch_size`, `sample_weight`, ...); `epochs` is chosen here and `verbose`
        defaults to 0. The model must be compiled.
        """
        if "epochs" in fit_kwargs:
            raise ValueError(
                "Invalid value for argument `epochs`: find() runs as many epochs as `steps` needs. "
                f"Received: epochs={fit_kwargs['epochs']!r}")
        callbacks = [callback for callback in fit_kwargs.pop("callbacks", None) or [] if callback is not self]
        callbacks.append(self)
        fit_kwargs.setdefault("verbose", 0)
        # Every epoch has at least one batch, so `steps` epochs hold `steps` batches; the callback stops the fit
        # after its last step (Keras 3 stops inside the epoch).
        model.fit(x, y, epochs=self.steps, callbacks=callbacks, **fit_kwargs)
        return self.suggestion

    def on_train_begin(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            raise ValueError("The LearningRateFinder callback needs a compiled model: call model.compile() first.")
        if isinstance(optimizer.learning_rate, keras.optimizers.schedules.LearningRateSchedule) or isinstance(
                getattr(optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
            raise TypeError(
                "The LearningRateFinder callback cannot set the learning rate of an optimizer built with a "
                "LearningRateSchedule: compile the model with a float learning_rate for the range test.")
        self._reset()
        self._saved_weights = [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.variables]
        self._saved_optimizer = [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]
        self._saved_learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self._tracker = next((m for m in self.model.metrics
                              if m.name == "loss" and isinstance(m, keras.metrics.Mean)), None)
        self._tracked = (0.0, 0.0)
        self._step = 0
        planned = self.params.get("steps")
        if planned and (self.params.get("epochs") or 1) * planned < self.steps:
            warnings.warn(
                f"LearningRateFinder callback: fit() runs {(self.params.get('epochs') or 1) * planned} batches, "
                f"fewer than steps={self.steps}: the rate will not reach end_learning_rate. Use find(), or more "
                "epochs.", stacklevel=2)
        optimizer.learning_rate = self.learning_rate_at(0)

    def on_epoch_begin(self, epoch, logs=None):
        self._tracked = (0.0, 0.0)  # fit() resets the metrics at each epoch

    def on_train_batch_begin(self, batch, logs=None):
        # On JAX, reading `self.model` re-attaches the training state first, so the step reads this rate.
        self.model.optimizer.learning_rate = self.learning_rate_at(self._step)

    def on_train_batch_end(self, batch, logs=None):
        self.model  # noqa: B018 (on JAX, reading it syncs the metrics' variables the loss is read from)
        loss = self._batch_loss(logs)
        self.learning_rates.append(self.learning_rate_at(self._step))
        self.losses.append(loss)
        self._step += 1
        if not math.isfinite(loss):
            self.smoothed_losses.append(loss)
            self._stop(early=True)
            return
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** len(self.losses))
        self.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if len(self.losses) > 1 and smoothed > self.divergence_factor * self._best:
            self._stop(early=True)
        elif self._step >= self.steps:
            self._stop(early=False)

    def _batch_loss(self, logs):
        """The loss of the last batch: from the loss tracker's total and count, whose mean Keras 3 logs."""
        if self._tracker is None:  # a custom train_step without a Mean named "loss": its own logged value
            return float((logs or {}).get("loss", math.nan))
        total = float(keras.ops.convert_to_numpy(self._tracker.total))
        count = float(keras.ops.convert_to_numpy(self._tracker.count))
        previous_total, previous_count = self._tracked
        self._tracked = (total, count)
        if count <= previous_count:
            return math.nan
        return (total - previous_total) / (count - previous_count)

    def _stop(self, early):
        self.stopped_early = early
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        model = self.model
        for variable, value in zip(model.variables, self._saved_weights):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, self._saved_optimizer):
            variable.assign(value)
        model.optimizer.learning_rate = self._saved_learning_rate
        if self.verbose and self.learning_rates:
            print(f"LearningRateFinder: {len(self.learning_rates)} batches"
                  f"{' (stopped: the loss diverged)' if self.stopped_early else ''}; suggested learning rate "
                  f"{self.suggestion:.3g} ({self.rule!r} rule)")

    # -- reading the curve -----------------------------------------------------------------------------------------

    @property
    def suggestion(self):
        """The rate `rule` picks from the last run's smoothed curve (see the class docstring)."""
        return self.suggest(self.rule)

    def suggest(self, rule="valley"):
        """The rate the rule `"valley"` or `"steepest"` picks from the last run's smoothed curve."""
        if rule not in RULES:
            raise ValueError(f"Invalid value for argument `rule`: expected one of {RULES}. Received: rule={rule!r}")
        rates, losses = self.curve()
        if len(rates) < 3:
            raise ValueError(
                f"The LearningRateFinder has {len(self.learning_rates)} recorded batches, {len(rates)} after "
                f"skip_start={self.skip_start} and skip_end={self.skip_end}: too few to suggest a rate. Run fit() "
                "or find() first; if the loss diverged at once, lower start_learning_rate.")
        index = suggestion_index(losses, np.log(rates), rule)
        return float(rates[index])

    def curve(self):
        """The learning rates and smoothed losses the rules read: finite points, `skip_start`/`skip_end` left out."""
        rates = np.asarray(self.learning_rates, dtype=np.float64)
        losses = np.asarray(self.smoothed_losses, dtype=np.float64)
        keep = np.isfinite(losses)
        rates, losses = rates[keep], losses[keep]
        end = len(rates) - self.skip_end
        if end - self.skip_start < 3:  # a run cut short by divergence: keep what there is
            return rates, losses
        return rates[self.skip_start:end], losses[self.skip_start:end]

    def get_config(self):
        return {
            "start_learning_rate": self.start_learning_rate,
            "end_learning_rate": self.end_learning_rate,
            "steps": self.steps,
            "rule": self.rule,
            "smoothing": self.smoothing,
            "divergence_factor": self.divergence_factor,
            "skip_start": self.skip_start,
            "skip_end": self.skip_end,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def suggestion_index(losses, log_learning_rates, rule):
    """The index a rule picks from a loss curve: `"valley"` or `"steepest"` (see `LearningRateFinder`)."""
    losses = np.asarray(losses, dtype=np.float64)
    if rule == "steepest":
        slopes = np.diff(losses) / np.diff(np.asarray(log_learning_rates, dtype=np.float64))
        return int(np.argmin(slopes))
    if rule != "valley":
        raise ValueError(f"Invalid value for argument `rule`: expected one of {RULES}. Received: rule={rule!r}")
    # lengths[i]: the length of the longest strictly decreasing subsequence ending at i.
    lengths = np.ones(len(losses), dtype=int)
    for i in range(1, len(losses)):
        lower = losses[:i] > losses[i]
        if lower.any():
            lengths[i] = lengths[:i][lower].max() + 1
    end = int(np.argmax(lengths))  # the first end of a longest one
    start = end - int(lengths[end])
    third = (end - start) / 3
    return max(start + int(third) + int(third / 2), 0)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_real(name, value, expected, valid):
    if not valid:
        raise ValueError(f"Invalid value for argument `{name}`: expected {expected}. Received: {name}={value!r}")
