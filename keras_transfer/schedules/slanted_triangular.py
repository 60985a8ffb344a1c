"""The slanted triangular learning rate schedule of ULMFiT."""

import math
import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that rises linearly for a short while, then decays linearly for a long while.

    The slanted triangular learning rate (STLR) of ULMFiT. With `T = total_steps` and step `t` counted from 0:

    ```
    cut = floor(T * cut_frac)
    p = t / cut                                          if t < cut
    p = 1 - (t - cut) / (cut * (1 / cut_frac - 1))       otherwise
    learning_rate(t) = max_learning_rate * (1 + p * (ratio - 1)) / ratio
    ```

    The rate starts at `max_learning_rate / ratio`, reaches `max_learning_rate` at step `cut` and is back at
    `max_learning_rate / ratio` at step `cut / cut_frac`, which is `T` when `T * cut_frac` is a whole number.
    Otherwise (say `T = 37`, `cut_frac = 0.1`, so `cut = 3`) the decay reaches its end at step 30 < T and the
    paper's formula would go on to negative rates; the schedule holds `max_learning_rate / ratio` there instead
    (`p` is clipped at 0). Steps after `T` keep the final value, `max_learning_rate / ratio`.

    The warm-up must last at least one step: `floor(total_steps * cut_frac)` must be at least 1, otherwise the
    formula divides by zero and a `ValueError` says how many steps are needed.

    Args:
        max_learning_rate: Float. The peak learning rate, reached at step `cut`. ULMFiT uses `0.01`.
        total_steps: Int. The number of training steps `T` (optimizer updates) the schedule spans.
        cut_frac: Float in (0, 1). The fraction of the steps spent increasing the rate. Defaults to `0.1`.
        ratio: Float >= 1. How much smaller the lowest rate is than the peak. Defaults to `32`.

    Example:

    ```python
    import keras

    schedule = SlantedTriangular(max_learning_rate=0.01, total_steps=1000)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    print([round(float(schedule(step)), 6) for step in (0, 100, 1000)])  # [0.000312, 0.01, 0.000312]
    ```

    Reference:
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146)
    """

    def __init__(self, max_learning_rate, total_steps, cut_frac=0.1, ratio=32):
        if not (_is_real(max_learning_rate) and max_learning_rate > 0):
            raise ValueError(
                "Invalid value for argument `max_learning_rate`: expected a positive number. "
                f"Received: max_learning_rate={max_learning_rate!r}"
            )
        if not (_is_integer(total_steps) and total_steps >= 1):
            raise ValueError(
                "Invalid value for argument `total_steps`: expected an integer >= 1. "
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
        cut = math.floor(total_steps * cut_frac)
        if cut < 1:
            raise ValueError(
                "The warm-up of SlantedTriangular has no step: floor(total_steps * cut_frac) = "
                f"floor({total_steps} * {cut_frac}) = 0. Use total_steps >= {math.ceil(1 / cut_frac)} or a larger "
                f"cut_frac. Received: total_steps={total_steps!r}, cut_frac={cut_frac!r}"
            )
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = int(total_steps)
        self.cut_frac = float(cut_frac)
        self.ratio = float(ratio)
        self.cut = cut
        self.decay_steps = cut * (1.0 / self.cut_frac - 1.0)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        step = ops.minimum(step, float(self.total_steps))
        increasing = step / float(self.cut)
        decreasing = 1.0 - (step - float(self.cut)) / self.decay_steps
        progress = ops.maximum(ops.where(step < float(self.cut), increasing, decreasing), 0.0)
        return self.max_learning_rate * (1.0 + progress * (self.ratio - 1.0)) / self.ratio

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "cut_frac": self.cut_frac,
            "ratio": self.ratio,
        }


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
