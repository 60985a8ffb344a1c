"""The learning rate schedule of domain-adversarial training (DANN)."""

import math
import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class InverseProgressDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that decays with training progress as `initial / (1 + alpha * p) ** beta`.

    The annealing of DANN: with `p = min(step / total_steps, 1)` the training progress in [0, 1],

    ```
    learning_rate(step) = initial_learning_rate / (1 + alpha * p) ** beta
    ```

    With the paper's values (`0.01`, `alpha=10`, `beta=0.75`) the rate falls from 0.01 to about 0.00166 at the
    end of training; steps after `total_steps` keep the final value.

    Args:
        initial_learning_rate: Float. The rate at step 0 (`mu_0`). Defaults to `0.01`.
        total_steps: Int. The number of training steps over which the progress `p` goes from 0 to 1.
            Keyword-only and required.
        alpha: Float >= 0. How fast the rate decays. Defaults to `10.0`.
        beta: Float >= 0. The exponent of the decay. Defaults to `0.75`.

    Example:

    ```python
    import keras

    schedule = InverseProgressDecay(0.01, total_steps=1000)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    print(round(float(schedule(1000)), 6))  # 0.001656
    ```

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495)
    """

    def __init__(self, initial_learning_rate=0.01, *, total_steps, alpha=10.0, beta=0.75):
        if not (_is_real(initial_learning_rate) and initial_learning_rate > 0):
            raise ValueError(
                "Invalid value for argument `initial_learning_rate`: expected a positive finite number. "
                f"Received: initial_learning_rate={initial_learning_rate!r}"
            )
        if not (_is_integer(total_steps) and total_steps >= 1):
            raise ValueError(
                "Invalid value for argument `total_steps`: expected an integer >= 1. "
                f"Received: total_steps={total_steps!r}"
            )
        if not (_is_real(alpha) and alpha >= 0):
            raise ValueError(
                f"Invalid value for argument `alpha`: expected a finite number >= 0. Received: alpha={alpha!r}"
            )
        if not (_is_real(beta) and beta >= 0):
            raise ValueError(
                f"Invalid value for argument `beta`: expected a finite number >= 0. Received: beta={beta!r}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        progress = ops.minimum(step / float(self.total_steps), 1.0)
        return self.initial_learning_rate / ops.power(1.0 + self.alpha * progress, self.beta)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "total_steps": self.total_steps,
            "alpha": self.alpha,
            "beta": self.beta,
        }


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
