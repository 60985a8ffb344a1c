"""Shared test set-up.

On the TensorFlow backend the single CPU is split into two logical devices before TensorFlow starts, so the
`tf.distribute.MirroredStrategy` tests have two replicas. Tests marked `multibackend` run again under
`KERAS_BACKEND=jax` (see the Makefile).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    _cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    except RuntimeError:  # TensorFlow was already initialised by something else
        pass


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    # Keras's global state (layer names, the TensorFlow graph and kernel cache) is reset before every test, without
    # clear_session's default gc.collect(): with TensorFlow loaded a full collection scans about half a million
    # objects, a quarter of a CPU-second, for each of the ~700 tests of `make test`. Python collects cycles anyway.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private KT_DATA_DIR so a test never reads or writes the user's cache."""
    path = tmp_path / "kt-data"
    monkeypatch.setenv("KT_DATA_DIR", str(path))
    monkeypatch.delenv("KT_MIRROR", raising=False)
    return path


def mirrored_strategy(devices=("/cpu:0", "/cpu:1")):
    """A two-replica `tf.distribute.MirroredStrategy` on the two logical CPUs set up above.

    It reduces through one device instead of collective ops: collective ops on logical CPUs hand out instance keys
    per process, and a second strategy in the same pytest process then fails with "Shape mismatch in the
    collective instance".
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(list(devices), cross_device_ops=tf.distribute.ReductionToOneDevice())
