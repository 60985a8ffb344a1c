"""Data-parallel training over several devices, chosen by one setting: the environment variable `KT_DEVICES`.

`KT_DEVICES` unset or `"1"` (the default) is one device: `data_parallel()` then does nothing at all (no
`tf.distribute` strategy, no `keras.distribution` object), and training is exactly what it is without it.
`KT_DEVICES=N` with N > 1 trains on the first N devices, each seeing its own slice of every batch:

- TensorFlow: `tf.distribute.MirroredStrategy` on the first N logical GPUs (or logical CPUs when there is no GPU).
  Each replica computes the loss of its slice, Keras divides it by N, and the replicas' gradients are summed.
- JAX: `keras.distribution.DataParallel` on the first N of `keras.distribution.list_devices()`: the variables
  are replicated, the batch is sharded along its first axis and the step is one program over all of them.

The batch size stays the *global* batch: a batch of 32 on 4 devices is 8 per device, the gradient is still the
mean over 32 samples, so the learning rate and the rest of the recipe do not change (`describe` says so in one
line). The batch size must be divisible by the number of devices.

Build, compile and fit the model inside `data_parallel()`: on TensorFlow the variables must be created under the
strategy (mirrored on every device) and Keras's `fit` finds the strategy from its scope; on JAX the variables
take the distribution's layout when they are created.

```python
from keras_transfer import distribute

with distribute.data_parallel():  # KT_DEVICES devices, 1 when unset
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32)
print(distribute.describe(32))
```

Several devices on one CPU, for testing: the devices must be made before the backend starts. JAX:
`XLA_FLAGS=--xla_force_host_platform_device_count=2`. TensorFlow, before anything else touches it:
`tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
[tf.config.LogicalDeviceConfiguration()] * 2)`.

One step on N devices gives the weights of one step on one device (to float32 rounding, ~1e-7; measured in
tests/test_distribute.py on 2 virtual CPUs, both backends) except where the result depends on which samples share
a device, which on TensorFlow, where each replica runs the model on its slice alone, is:

- random layers: dropout draws one mask per replica, not the one-device mask (JAX draws the one-device mask);
- batch normalisation's batch statistics are per replica;
- a loss averaged over a sample-weighted subset of the batch (`reduction="mean_with_sample_weight"`, e.g. the DANN
  label loss) is a mean per replica, then the replicas' average: the global mean only when every replica's slice
  carries the same total sample weight, so a batch must not be ordered by weight (all weighted samples first).

Also on TensorFlow, Keras's `fit` under a strategy draws one batch from a fresh iterator of the data before it
trains (to build the model), so a `tf.data` pipeline that reshuffles on every iteration trains on another (equally
random) order than on one device; arrays, or a pipeline with a fixed order, give the same batches.
"""

import contextlib
import os

import keras

ENVIRONMENT_VARIABLE = "KT_DEVICES"


def devices():
    """The number of devices `KT_DEVICES` asks for (1 when it is unset), checked against the devices that exist.

    With one device nothing is checked and no backend is initialised.

    Returns:
        int. The number of devices to train on, at least 1.

    Raises:
        ValueError: `KT_DEVICES` is not a positive integer, or asks for more devices than the backend has.
    """
    return _from_environment()


@contextlib.contextmanager
def data_parallel(devices=None):
    """Trains the models built, compiled and fit inside it on `devices` devices, each on its slice of the batch.

    With one device it does nothing and yields None. With N > 1: on TensorFlow it enters the scope of a
    `tf.distribute.MirroredStrategy` on the first N logical GPUs (logical CPUs when there is no GPU; these reduce
    through one device: collective ops on logical CPUs fail for a second strategy in the same process); on JAX it sets
    `keras.distribution.DataParallel` on the first N devices as the global distribution and restores the previous
    one on exit. Build, compile and fit the model inside it.

    Args:
        devices: int or None. The number of devices; None reads `KT_DEVICES` (see `devices()`).

    Yields:
        The `tf.distribute.MirroredStrategy` or `keras.distribution.DataParallel` in use, or None on one device.

    Raises:
        ValueError: `devices` is not a positive integer, or more than the backend has.
    """
    count = _resolve(devices)
    if count == 1:
        yield None
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415

        names = [device.name for device in _tensorflow_devices()[:count]]
        cross_device_ops = None
        if all("CPU" in name.upper() for name in names):
            cross_device_ops = tf.distribute.ReductionToOneDevice()
        strategy = tf.distribute.MirroredStrategy(devices=names, cross_device_ops=cross_device_ops)
        with strategy.scope():
            yield strategy
        return
    if backend == "jax":
        distribution = keras.distribution.DataParallel(devices=keras.distribution.list_devices()[:count])
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(distribution)
        try:
            yield distribution
        finally:
            keras.distribution.set_distribution(previous)
        return
    raise ValueError(f"Data-parallel training supports the tensorflow and jax backends. Received: backend={backend!r}")


def describe(batch_size, devices=None):
    """One line on how a batch is split over the devices and why the learning rate stays the same.

    Args:
        batch_size: int. The global batch size (what `fit` is given).
        devices: int or None. The number of devices (not checked against those that exist: this only describes);
            None reads `KT_DEVICES` (see `devices()`).

    Returns:
        str. E.g. `"global batch 8 on 2 devices: 4 per device; the learning rate is unchanged because the global
        batch is unchanged (the batch is split over the devices, not multiplied)"`.

    Raises:
        ValueError: `batch_size` is not a positive integer or not divisible by the number of devices.
    """
    count = _from_environment() if devices is None else _check_positive(devices)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if batch_size % count:
        raise ValueError(
            f"`batch_size` must be divisible by the number of devices, so that every device gets the same slice. "
            f"Received: batch_size={batch_size} with {count} devices"
        )
    where = "1 device" if count == 1 else f"{count} devices"
    return (
        f"global batch {batch_size} on {where}: {batch_size // count} per device; the learning rate is unchanged "
        f"because the global batch is unchanged (the batch is split over the devices, not multiplied)"
    )


def announce(batch_size, verbose=1):
    """`devices()`, and with more than one (and `verbose`) a line saying how `batch_size` is split over them: what
    an experiment calls before it trains, so a run says where its batches go."""
    count = devices()
    if count > 1 and verbose:
        print(f"Data-parallel: {describe(batch_size, count)}.")
    return count


def _from_environment():
    return _check_count(_parse(os.environ.get(ENVIRONMENT_VARIABLE)), source=ENVIRONMENT_VARIABLE)


def _parse(value):
    if value is None or value.strip() == "":
        return 1
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(
            f"`{ENVIRONMENT_VARIABLE}` must be a positive integer, the number of devices to train on (unset: 1). "
            f"Received: {ENVIRONMENT_VARIABLE}={value!r}"
        )
    return int(text)


def _resolve(devices):
    if devices is None:
        return _from_environment()
    return _check_count(_check_positive(devices), source="devices")


def _check_positive(devices):
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"`devices` must be a positive integer or None. Received: devices={devices!r}")
    return devices


def _check_count(count, source):
    if count == 1:
        return 1
    available = _available_devices()
    if count > len(available):
        raise ValueError(
            f"{source}={count} asks for {count} devices, but only {len(available)} exist on the "
            f"{keras.backend.backend()} backend ({', '.join(available)}). For testing on a CPU, make virtual "
            f"devices before the backend starts: on JAX set XLA_FLAGS=--xla_force_host_platform_device_count={count}; "
            f"on TensorFlow call tf.config.set_logical_device_configuration(tf.config.list_physical_devices('CPU')[0], "
            f"[tf.config.LogicalDeviceConfiguration()] * {count}) first."
        )
    return count


def _tensorflow_devices():
    import tensorflow as tf  # noqa: PLC0415

    return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")


def _available_devices():
    """The names of the devices data-parallel training can use on the current backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return [device.name for device in _tensorflow_devices()]
    if backend == "jax":
        import jax  # noqa: PLC0415

        return [str(device) for device in jax.devices()]
    raise ValueError(f"Data-parallel training supports the tensorflow and jax backends. Received: backend={backend!r}")
