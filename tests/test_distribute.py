"""Data-parallel training (`keras_transfer.distribute`): `KT_DEVICES`, and one step on 2 devices equals 1 device.

The equality checks run in a subprocess per backend (TensorFlow and JAX, whatever this session's backend), because
the two virtual CPU devices must exist before the backend starts; each subprocess trains the same model from the
same weights on the same batch on 1 device and on 2 (`KT_DEVICES=2`) and reports the largest weight difference.
They cover both backends themselves, so they run in the TensorFlow session only; the unit checks run on both.
"""

import functools
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_transfer import distribute

BACKEND = keras.backend.backend()
ROOT = pathlib.Path(__file__).resolve().parents[1]
ATOL = 1e-5  # float32 sums in another order; a wrong loss scale on one replica moves weights by ~1e-3 here

# One subprocess per backend: Models 1-4's fine-tuning step and a DANN step, each on 1 and then on 2 devices.
_MEASURE = r"""
import json
import os

import keras

if keras.backend.backend() == "tensorflow":  # two logical CPUs, before anything starts TensorFlow
    import tensorflow as tf

    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
import numpy as np

from keras_transfer import distribute
from keras_transfer import models as kt_models
from keras_transfer import profiles
from keras_transfer.experiments import models_1_4
from keras_transfer.models import dann

BACKEND = keras.backend.backend()


def replicas(scope, model):
    if scope is None:
        return 1
    if BACKEND == "tensorflow":
        return scope.num_replicas_in_sync
    return len(model.trainable_weights[0].value.sharding.device_set)


def fine_tuning_step():
    # Dropout draws one mask per replica on TensorFlow (not the one-device mask); on JAX the step is one SPMD
    # program and the masks are the same, so JAX keeps the profile's dropout.
    config = profiles.select(models_1_4.CONFIGS, "smoke", {"dropout": 0.5 if BACKEND == "jax" else 0.0})
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 5, 16)
    keras.backend.clear_session(free_memory=False)
    with distribute.data_parallel() as scope:
        keras.utils.set_random_seed(0)
        source = kt_models.build_source_network(5, filters=(4, 8), fc_units=8)  # random: a stand-in source
        model = models_1_4.build_model("fine_tuned", config, source, num_classes=5, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # two batches of 8
        return before, model, replicas(scope, model)


def dann_step():
    # One fixed batch: 4 source and 4 target images, batch 8, so both steps of `train_dann` see all of them (its
    # shuffle only reorders them; Keras's TensorFlow trainer opens one extra dataset iterator under a strategy,
    # and a reshuffling dataset would give the 2-device run other batches).
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (4, 6, 6, 3)).astype("float32"), rng.integers(0, 3, 4)
    target = rng.integers(0, 256, (4, 6, 6, 3)).astype("float32")
    keras.backend.clear_session(free_memory=False)
    with distribute.data_parallel() as scope:
        keras.utils.set_random_seed(0)
        model = dann.build_dann(
            keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="relu")]),
            keras.Sequential([keras.layers.Dense(3, activation="softmax")]),
            keras.Sequential([keras.layers.Dense(6, activation="relu"), keras.layers.Dense(2, activation="softmax")]),
            strength=0.0,
        )
        before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        keras.utils.set_random_seed(0)
        # two steps: the gradient reversal schedule sets the strength from 0 to ~1 for the second
        dann.train_dann(model, source, target, steps=2, batch_size=8, learning_rate=0.1, seed=0)
        return before, model, replicas(scope, model)


def largest(first, second):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second))


result = {}
for name, step in (("models_1_4", fine_tuning_step), ("dann", dann_step)):
    os.environ.pop("KT_DEVICES", None)
    before, model, one = step()
    after_one = [keras.ops.convert_to_numpy(w) for w in model.get_weights()]
    changed = largest(before, [keras.ops.convert_to_numpy(w) for w in model.trainable_weights])
    os.environ["KT_DEVICES"] = "2"
    before_two, model, two = step()
    after_two = [keras.ops.convert_to_numpy(w) for w in model.get_weights()]
    result[name] = {
        "replicas": [one, two],
        "initial_difference": largest(before, before_two),
        "change": changed,
        "difference": largest(after_one, after_two),
    }
result["distribution_after"] = repr(keras.distribution.distribution())
print("RESULT " + json.dumps(result))
"""


BACKENDS = ("tensorflow", "jax")
_RUNNING = {}


def _start(backend):
    environment = {key: value for key, value in os.environ.items() if key != "KT_DEVICES"}
    environment.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax":
        # Two host devices; XLA's CPU optimisation passes off, which halves this subprocess's time (it compiles a
        # kernel per weight shape and per train step) and leaves the check as it is: both runs compile the same way.
        environment["XLA_FLAGS"] = (
            f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2 "
            "--xla_backend_optimization_level=0"
        )
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_MEASURE)], env=environment, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


@functools.cache
def _measure(backend):
    """The subprocess's measurements on `backend`; the first call starts both backends' subprocesses at once."""
    for name in BACKENDS:
        if name not in _RUNNING:
            _RUNNING[name] = _start(name)
    try:
        stdout, stderr = _RUNNING[backend].communicate(timeout=600)
    except subprocess.TimeoutExpired:
        _RUNNING[backend].kill()
        raise
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert _RUNNING[backend].returncode == 0 and lines, stderr[-4000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_1_4_fine_tuning_step_on_two_devices_equals_one(backend):
    result = _measure(backend)["models_1_4"]
    assert result["replicas"] == [1, 2]
    assert result["initial_difference"] == 0.0
    assert result["change"] > 100 * ATOL  # the step really moved the weights (Adam: ~2 * 1e-3)
    assert result["difference"] <= ATOL, result


@pytest.mark.parametrize("backend", BACKENDS)
def test_dann_step_on_two_devices_equals_one(backend):
    result = _measure(backend)["dann"]
    assert result["replicas"] == [1, 2]
    assert result["initial_difference"] == 0.0
    assert result["change"] > 100 * ATOL
    assert result["difference"] <= ATOL, result


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_previous_distribution_is_back_after_data_parallel(backend):
    assert _measure(backend)["distribution_after"] == "None"


# --- unit checks, in this process, on this session's backend ---


@pytest.mark.multibackend
def test_one_device_by_default_and_nothing_is_created(monkeypatch):
    monkeypatch.delenv("KT_DEVICES", raising=False)
    assert distribute.devices() == 1

    def refuse(*args, **kwargs):
        raise AssertionError("one device must create no strategy or distribution")

    monkeypatch.setattr(keras.distribution, "DataParallel", refuse)
    monkeypatch.setattr(keras.distribution, "set_distribution", refuse)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        monkeypatch.setattr(tf.distribute, "MirroredStrategy", refuse)
    for setting in (None, "1"):
        if setting is not None:
            monkeypatch.setenv("KT_DEVICES", setting)
        with distribute.data_parallel() as scope:
            assert scope is None
            assert keras.distribution.distribution() is None
            if BACKEND == "tensorflow":
                assert not tf.distribute.has_strategy()
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    assert distribute.devices() == 1


@pytest.mark.multibackend
@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_setting_names_kt_devices(monkeypatch, value):
    monkeypatch.setenv("KT_DEVICES", value)
    with pytest.raises(ValueError, match="KT_DEVICES.*positive integer"):
        distribute.devices()
    with pytest.raises(ValueError, match="KT_DEVICES"):
        with distribute.data_parallel():
            pass


def _device_count():
    """The devices this process has: logical GPUs or else logical CPUs (TensorFlow; conftest makes 2), JAX's."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))
    import jax

    return len(jax.devices())


@pytest.mark.multibackend
def test_more_devices_than_exist_names_the_count(monkeypatch):
    count = _device_count()
    monkeypatch.setenv("KT_DEVICES", str(count + 1))
    with pytest.raises(ValueError, match=rf"only {count} exist.*xla_force_host_platform_device_count"):
        distribute.devices()
    with pytest.raises(ValueError, match=rf"only {count} exist"):
        with distribute.data_parallel(count + 1):
            pass


@pytest.mark.multibackend
def test_describe_splits_the_global_batch():
    line = distribute.describe(8, 2)
    assert "8" in line and "4 per device" in line and "learning rate is unchanged" in line
    assert "\n" not in line
    with pytest.raises(ValueError, match="divisible"):
        distribute.describe(7, 2)
    with pytest.raises(ValueError, match="batch_size"):
        distribute.describe(0, 1)


def test_kt_devices_two_enters_a_two_device_scope_and_leaves_it(monkeypatch):
    # TensorFlow sessions only: tests/conftest.py splits their CPU in two (the subprocess checks cover JAX)
    assert _device_count() == 2
    monkeypatch.setenv("KT_DEVICES", "2")
    assert distribute.devices() == 2
    with distribute.data_parallel() as scope:
        if BACKEND == "tensorflow":
            import tensorflow as tf

            assert tf.distribute.get_strategy() is scope and scope.num_replicas_in_sync == 2
        else:
            assert keras.distribution.distribution() is scope
    if BACKEND == "tensorflow":
        assert not tf.distribute.has_strategy()
    assert keras.distribution.distribution() is None


@pytest.mark.parametrize("experiment", ["models-1-4", "dann"])
def test_kt_devices_two_runs_an_experiment_data_parallel(experiment, monkeypatch, tmp_path, capsys):
    # TensorFlow sessions (two logical CPUs): the experiments build, train and test every network inside
    # `data_parallel()`, say how the batch is split, and record the devices
    import keras_transfer as kt

    assert _device_count() == 2
    monkeypatch.setenv("KT_DEVICES", "2")
    overrides = {"labels_per_class": (4,), "compare_domain": None, "models": ("fine_tuned",),
                 "find_learning_rate": False} if experiment == "models-1-4" else {"seeds": (0,)}
    result = kt.experiments.run(experiment, "smoke", output_dir=tmp_path, verbose=1, **overrides)
    assert "Data-parallel: global batch" in capsys.readouterr().out
    assert result.metadata["devices"] == 2 and result.rows
