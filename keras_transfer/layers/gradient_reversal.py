"""The gradient reversal layer of domain-adversarial training (DANN)."""

import math
import numbers

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class GradientReversal(keras.layers.Layer):
    """Passes its input through unchanged and multiplies the gradient by `-strength`.

    Placed between a feature extractor and a domain classifier, it lets the domain classifier learn to tell the
    domains apart while the feature extractor receives the reversed gradient and learns features the domain
    classifier cannot separate. The forward pass returns the input exactly (bit for bit); the backward pass
    returns `-strength * upstream`.

    `strength` is a non-trainable variable (`layer.strength`), so it can change during training with
    `layer.strength.assign(value)` (see the `GradientReversalSchedule` callback) and the new value takes effect in
    an already compiled train function, without retracing.

    One rule for the constructor, `layer.strength.assign(...)` and loading a saved model: `strength` is any finite
    number. DANN uses λ ≥ 0 (the gradient is reversed); a negative λ passes the gradient on un-reversed, multiplied
    by |λ| (`-1.0` makes the layer an identity, to compare with the reversal switched off). A variable can be
    assigned anything, so saving (`get_config`) checks the value and raises a `ValueError` for NaN or infinity,
    rather than writing a model that cannot be loaded.

    Args:
        strength: Float, any finite number. The factor λ the gradient is multiplied by, reversed. Defaults to `1.0`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Input tensor (of any rank).

    Example:

    ```python
    import keras

    features = keras.Input(shape=(16,))
    reversal = GradientReversal(strength=0.5)
    domain = keras.layers.Dense(1, activation="sigmoid")(reversal(features))
    model = keras.Model(features, domain)
    reversal.strength.assign(1.0)  # as GradientReversalSchedule does during training
    print(reversal.get_config()["strength"])  # 1.0
    ```

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495)
    """

    def __init__(self, strength=1.0, **kwargs):
        super().__init__(**kwargs)
        if not _is_real(strength):
            raise ValueError(
                f"Invalid value for argument `strength`: expected a finite number. Received: strength={strength!r}"
            )
        self.strength = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(strength)),
            trainable=False,
            autocast=False,
            name="strength",
        )
        self.supports_masking = True

    def call(self, inputs):
        strength = ops.cast(self.strength, inputs.dtype)
        return _reverse_gradient(inputs, strength)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        strength = float(np.asarray(self.strength))  # np.asarray: no NumPy DeprecationWarning on TensorFlow
        if not math.isfinite(strength):
            raise ValueError(
                f"GradientReversal layer {self.name!r} cannot be saved: its strength must be a finite number, but "
                f"`layer.strength` holds {strength}. Assign a finite value first. Received: strength={strength}"
            )
        config = {"strength": strength}
        return {**base_config, **config}


# A custom gradient rather than `stop_gradient((1 + s) * x) - s * x`: that formula rounds in float32 (for s = 0.3
# about two values in three come out one ulp off), while this one returns `inputs` itself.
@ops.custom_gradient
def _reverse_gradient(inputs, strength):
    def grad(*args, upstream=None):
        if upstream is None:  # TensorFlow and JAX pass `upstream` alone; PyTorch passes the inputs and `upstream=`
            (upstream,) = args
        return ops.negative(strength) * upstream, ops.zeros_like(strength)

    return inputs, grad


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
