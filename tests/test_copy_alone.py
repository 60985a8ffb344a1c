"""The core pieces behave when one file is copied alone into someone else's project (issue 18).

Each behaviour test copies one core file into a temporary folder and runs a script there in a fresh Python process
in which `keras_transfer` cannot be imported, as a practitioner who copied that file would. The static tests check
that every core file imports only keras, numpy and the standard library, and that no error or warning it raises
names a `keras_transfer` path a copier does not have.

The scripts run on the Keras this process imports, `PYTHONPATH` included: `make test-keras-oldest` runs these tests
(and the docstring examples) on the oldest Keras the README supports, installed alone into a folder, and sets
`KT_EXPECT_KERAS` to the version it installed, which `test_keras_is_the_version_asked_for` and every script check.
"""

import ast
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE_FOLDERS = (
    "keras_transfer/callbacks", "keras_transfer/layers", "keras_transfer/optimizers", "keras_transfer/schedules",
)
CORE_FILES = sorted(
    [path.relative_to(ROOT) for folder in CORE_FOLDERS for path in (ROOT / folder).glob("*.py")
     if path.name != "__init__.py"]
    + [pathlib.Path("keras_transfer/selection.py")]  # the transferability scores: one copyable file too
)

_PREAMBLE = f"""\
import sys
import warnings

sys.modules["keras_transfer"] = None  # the copier's project has no keras_transfer package
import keras
import numpy as np

assert keras.__version__ == {keras.__version__!r}, ("not the Keras of the tests", keras.__version__, keras.__file__)

"""


def expected_keras_version():
    """The Keras version the tests were asked to run on: `KT_EXPECT_KERAS`, else the one requirements/base.txt pins."""
    if os.environ.get("KT_EXPECT_KERAS"):
        return os.environ["KT_EXPECT_KERAS"]
    pins = [line for line in (ROOT / "requirements/base.txt").read_text().splitlines() if line.startswith("keras==")]
    assert len(pins) == 1, pins
    return pins[0].split("==", 1)[1].strip()


def copier_environment():
    """This process's environment, `PYTHONPATH` too (a Keras installed into a folder) less this repository."""
    environment = dict(os.environ)
    entries = [pathlib.Path(entry).resolve() for entry in environment.pop("PYTHONPATH", "").split(os.pathsep) if entry]
    entries = [str(entry) for entry in entries if entry != ROOT]  # absolute: the scripts run in another folder
    if entries:
        environment["PYTHONPATH"] = os.pathsep.join(entries)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return environment


def _run(folder, script):
    (folder / "check.py").write_text(_PREAMBLE + textwrap.dedent(script))
    return subprocess.run(
        [sys.executable, "check.py"], cwd=folder, env=copier_environment(), capture_output=True, text=True, timeout=600
    )


def _run_alone(tmp_path, relative, script):
    """Copies `relative` alone into a new folder, runs `script` there and returns its output; fails if it fails."""
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / relative, folder / pathlib.Path(relative).name)
    result = _run(folder, script)
    assert result.returncode == 0, result.stdout + result.stderr[-6000:]
    return result.stdout


# -- static checks ---------------------------------------------------------------------------------------------------


@pytest.mark.multibackend
def test_keras_is_the_version_asked_for():
    assert keras.__version__ == expected_keras_version(), keras.__file__


def test_core_files_are_found():
    names = {path.name for path in CORE_FILES}
    assert {"unfreezing.py", "gradient_reversal.py", "discriminative.py", "slanted_triangular.py"} <= names


@pytest.mark.parametrize("relative", CORE_FILES, ids=str)
def test_core_file_imports_only_keras_numpy_and_the_standard_library(relative):
    tree = ast.parse((ROOT / relative).read_text())
    allowed = {"keras", "numpy"} | set(sys.stdlib_module_names)
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{relative}: relative import of {node.module!r}"
            imported.append(node.module)
    assert imported
    assert [name for name in imported if name.split(".")[0] not in allowed] == []
    assert not any(name.startswith("keras.src") for name in imported)


def test_readme_names_what_each_core_file_needs():
    section = (ROOT / "README.md").read_text().split("### Copying a piece into your project", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for relative in CORE_FILES:
        short = str(relative.relative_to("keras_transfer"))
        row = [line for line in rows if f"`{short}`" in line]
        assert len(row) == 1, (short, row)
        tree = ast.parse((ROOT / relative).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        needs = row[0].rsplit("|", 2)[1]
        assert [name for name in ("keras", "numpy") if name in needs] == [
            name for name in ("keras", "numpy") if name in imported
        ], (short, needs)


def _messages(tree):
    """The string pieces of every `raise` and every `warnings.warn(...)` in a module."""
    for node in ast.walk(tree):
        is_warning = (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "warn"
        )
        if isinstance(node, ast.Raise) or is_warning:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    yield inner.value


@pytest.mark.parametrize("relative", CORE_FILES, ids=str)
def test_errors_and_warnings_name_no_package_path(relative):
    messages = list(_messages(ast.parse((ROOT / relative).read_text())))
    assert [message for message in messages if "keras_transfer" in message] == []


# -- behaviour, one file alone ---------------------------------------------------------------------------------------


@pytest.mark.multibackend
def test_unfreezing_cut_short_restores_trainable_flags_alone(tmp_path):
    output = _run_alone(
        tmp_path,
        "keras_transfer/callbacks/unfreezing.py",
        """
        from unfreezing import ChainThaw, GradualUnfreezing

        rng = np.random.default_rng(0)
        x = rng.normal(size=(32, 6)).astype("float32")
        y = np.tanh(x[:, :3]).astype("float32")


        def build():
            base_inputs = keras.Input((6,))
            h = keras.layers.Dense(5, activation="tanh", name="b1")(base_inputs)
            h = keras.layers.Dense(5, activation="tanh", name="b2")(h)
            base = keras.Model(base_inputs, h, name="base")
            inputs = keras.Input((6,))
            h = keras.layers.Dense(4, activation="tanh", name="head1")(base(inputs))
            model = keras.Model(inputs, keras.layers.Dense(3, name="out")(h))
            base.get_layer("b1").trainable = False  # frozen by the user: stays frozen after fit()
            model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
            return model, base


        def weights(model, base):
            layers = {name: base.get_layer(name) for name in ("b1", "b2")}
            layers.update({name: model.get_layer(name) for name in ("head1", "out")})
            return {name: [np.array(np.asarray(w)) for w in layer.weights] for name, layer in layers.items()}


        for callback, epochs in [
            (ChainThaw(new_layers=["head1", "out"], epochs_per_step=1, verbose=0), 2),  # new layers, b1; not b2
            (GradualUnfreezing([["b1"], ["b2"], ["head1", "out"]], verbose=0), 1),  # only the top group
        ]:
            model, base = build()
            flags = [layer.trainable for layer in model.layers + base.layers]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(x, y, validation_data=(x, y), epochs=epochs, batch_size=8, verbose=0, callbacks=[callback])
            name = type(callback).__name__
            deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
            assert deprecations == [], (name, deprecations)
            assert [layer.trainable for layer in model.layers + base.layers] == flags, name
            assert len(model.trainable_weights) == 6, (name, [w.path for w in model.trainable_weights])
            # A later fit() trains what it would have trained without the callback: b2 too, b1 still not.
            before = weights(model, base)
            model.fit(x, y, epochs=1, batch_size=8, verbose=0)
            after = weights(model, base)
            changed = {layer for layer in before if any((a != b).any() for a, b in zip(before[layer], after[layer]))}
            assert changed == {"b2", "head1", "out"}, (name, changed)
            print(name, "restored", float(np.asarray(model.optimizer.learning_rate)))
        """,
    )
    assert "ChainThaw restored 0.002" in output  # the compiled rate, not the steps' rates
    assert "GradualUnfreezing restored 0.002" in output


@pytest.mark.multibackend
def test_unfreezing_validates_the_current_weights_and_calls_keras_internals_only_where_needed_alone(tmp_path):
    # Keras 3.10 and 3.11 on JAX: without `_record_jax_shardings` the first train step after a change fails with
    # `IndexError: list index out of range` (the shardings recorded when fit() started). b2 and b3 have the same
    # shapes and trade places between the trainable and the frozen variables: a test function with a stale
    # partition would validate with swapped weights; 28 validation samples make a short last batch, a second trace.
    output = _run_alone(
        tmp_path,
        "keras_transfer/callbacks/unfreezing.py",
        """
        from unfreezing import ChainThaw, GradualUnfreezing

        rng = np.random.default_rng(1)
        x = rng.normal(size=(32, 4)).astype("float32")
        y = np.sin(x[:, :2]).astype("float32")
        x_val, y_val = x[:28], y[:28]
        version = tuple(int(part) for part in keras.__version__.split(".")[:2])
        # The one private call of unfreezing.py (Keras < 3.12 on JAX); it must exist exactly where it is needed.
        needs_hook = keras.backend.backend() == "jax" and version < (3, 12)


        class Check(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.gaps = []

            def on_epoch_end(self, epoch, logs=None):
                expected = np.mean((np.asarray(self.model(x_val)) - y_val) ** 2)
                self.gaps.append(abs(logs["val_loss"] - expected) / expected)


        def build():
            inputs = keras.Input((4,))
            h = keras.layers.Dense(4, activation="tanh", name="b1")(inputs)
            h = keras.layers.Dense(4, activation="tanh", name="b2")(h)
            h = keras.layers.Dense(4, activation="tanh", name="b3")(h)
            model = keras.Model(inputs, keras.layers.Dense(2, name="out")(h))
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
            return model


        for callback, epochs in [
            (ChainThaw(new_layers=["out"], layers=["b2", "b3"], epochs_per_step=1, patience=1, verbose=0,
                       learning_rates=(1e-2, 1e-2)), 3),  # cut short before its last step, "all layers"
            (GradualUnfreezing([["b2"], ["b3"], ["out"]], verbose=0), 3),  # b1 in no group: frozen
        ]:
            model = build()
            assert hasattr(model, "_record_training_state_sharding_spec") == needs_hook, keras.__version__
            frozen = [np.array(np.asarray(w)) for w in model.get_layer("b1").weights]  # never trained here
            check = Check()
            model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=8, verbose=0,
                      callbacks=[check, callback])
            assert len(check.gaps) == epochs and max(check.gaps) < 1e-5, check.gaps
            assert all((a == np.asarray(b)).all() for a, b in zip(frozen, model.get_layer("b1").weights))
            np.testing.assert_allclose(model.evaluate(x_val, y_val, batch_size=8, verbose=0),
                                       np.mean((model.predict(x_val, verbose=0) - y_val) ** 2), rtol=1e-5)
            print(type(callback).__name__, "validated", len(check.gaps), "epochs")
        """,
    )
    assert "ChainThaw validated 3 epochs" in output
    assert "GradualUnfreezing validated 3 epochs" in output


@pytest.mark.multibackend
def test_gradient_reversal_strength_rule_and_loading_without_the_file(tmp_path):
    output = _run_alone(
        tmp_path,
        "keras_transfer/layers/gradient_reversal.py",
        """
        from gradient_reversal import GradientReversal

        inputs = keras.Input((3,))
        layer = GradientReversal(name="reversal")
        model = keras.Model(inputs, keras.layers.Dense(1, name="domain")(layer(inputs)))
        layer.strength.assign(-0.5)
        model.save("model.keras")
        loaded = keras.saving.load_model("model.keras")
        assert float(np.asarray(loaded.get_layer("reversal").strength)) == -0.5
        for strength in (float("nan"), "0.5"):
            try:
                GradientReversal(strength=strength)
            except ValueError as error:
                assert "finite number" in str(error)
            else:
                raise AssertionError(strength)
        print("saved and loaded")
        """,
    )
    assert "saved and loaded" in output
    # In a process that has not imported gradient_reversal.py, load_model cannot find the class: the README says so.
    result = _run(tmp_path / "project", 'keras.saving.load_model("model.keras")\n')
    assert result.returncode != 0
    assert "Could not locate class 'GradientReversal'" in result.stderr


@pytest.mark.multibackend
def test_discriminative_nested_functional_base_by_name_alone(tmp_path):
    output = _run_alone(
        tmp_path,
        "keras_transfer/optimizers/discriminative.py",
        """
        from discriminative import Discriminative

        base = keras.applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        inputs = keras.Input((32, 32, 3))
        model = keras.Model(inputs, keras.layers.Dense(3, name="head")(base(inputs)))
        assert model.trainable_variables[0].path == "block1_conv1/kernel"
        optimizer = Discriminative(keras.optimizers.Adam(1e-3), multipliers={"vgg19": 0.1, "block5_conv4": 0.5},
                                   model=model)
        optimizer.build(model.trainable_variables)
        factors = optimizer.variable_factors
        assert len(factors) == 34 and factors["block1_conv1/kernel"] == 0.1 and factors["block5_conv3/bias"] == 0.1
        assert factors["block5_conv4/kernel"] == 0.5 and factors["head/kernel"] == 1.0
        base.trainable = False
        try:
            Discriminative("adam", {"vgg19": 0.1}, model=model).build(model.trainable_variables)
        except ValueError as error:
            message = str(error)
        else:
            raise AssertionError("a key of a frozen base should raise")
        assert "'vgg19'" in message and "strict=False" in message and "keras_transfer" not in message
        print("vgg19 selected")
        """,
    )
    assert "vgg19 selected" in output


@pytest.mark.multibackend
def test_slanted_triangular_callback_warns_alone(tmp_path):
    output = _run_alone(
        tmp_path,
        "keras_transfer/callbacks/slanted_triangular.py",
        """
        from slanted_triangular import SlantedTriangular

        x, y = np.ones((40, 4), "float32"), np.zeros((40, 1), "float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[SlantedTriangular(0.01, total_steps=10)])
        messages = [str(w.message) for w in caught if "SlantedTriangular" in str(w.message)]
        assert len(messages) == 1 and "fit() runs 20 steps" in messages[0], messages
        schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
        try:
            model.fit(x, y, epochs=1, verbose=0, callbacks=[SlantedTriangular(0.01)])
        except TypeError as error:
            assert "keras_transfer" not in str(error), error
        else:
            raise AssertionError("a LearningRateSchedule should raise")
        print("warned")
        """,
    )
    assert "warned" in output
