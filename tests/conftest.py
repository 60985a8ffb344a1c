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


@pytest.fixture(scope="session")
def _trained_models(tmp_path_factory):
    """One folder of trained source networks for the whole run (shared by the pytest-xdist workers): the package
    writes each under a temporary name and renames it, and keys it by its settings, so sharing is safe."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    path = root / "shared-trained-models"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def fresh_data_dir(tmp_path, monkeypatch):
    """A private, empty KT_DATA_DIR: a test never reads or writes the user's cache, and starts with nothing."""
    path = tmp_path / "kt-data"
    monkeypatch.setenv("KT_DATA_DIR", str(path))
    monkeypatch.delenv("KT_MIRROR", raising=False)
    return path


@pytest.fixture
def data_dir(fresh_data_dir, _trained_models):
    """A private KT_DATA_DIR whose `models/` (the trained smoke source networks) is shared by the tests of the run,
    so each network trains once per run, not once per test (about 7 CPU-seconds each)."""
    fresh_data_dir.mkdir(parents=True, exist_ok=True)
    (fresh_data_dir / "models").symlink_to(_trained_models, target_is_directory=True)
    return fresh_data_dir


def mirrored_strategy(devices=("/cpu:0", "/cpu:1")):
    """A two-replica `tf.distribute.MirroredStrategy` on the two logical CPUs set up above.

    It reduces through one device instead of collective ops: collective ops on logical CPUs hand out instance keys
    per process, and a second strategy in the same pytest process then fails with "Shape mismatch in the
    collective instance".
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(list(devices), cross_device_ops=tf.distribute.ReductionToOneDevice())
