"""The schedules follow the formulas of ULMFiT (STLR) and DANN at every step, and save/load with a model."""

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_transfer
from keras_transfer.layers import GradientReversal
from keras_transfer.schedules import InverseProgressDecay
from keras_transfer.schedules import SlantedTriangular


def _stlr_paper(t, total_steps, max_learning_rate, cut_frac, ratio):
    """ULMFiT's formula, written from the paper (Howard & Ruder, 2018), without any clipping."""
    cut = math.floor(total_steps * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_learning_rate * (1 + p * (ratio - 1)) / ratio


def _evaluate(schedule, steps):
    return np.array([float(keras.ops.convert_to_numpy(schedule(step))) for step in steps])


@pytest.mark.multibackend
def test_slanted_triangular_is_the_paper_formula_at_every_step_when_total_times_cut_frac_is_whole():
    total_steps, max_learning_rate = 100, 0.01
    schedule = SlantedTriangular(max_learning_rate, total_steps)  # cut = 10, ratio = 32
    steps = np.arange(0, total_steps + 40)
    expected = np.array([_stlr_paper(min(t, total_steps), total_steps, max_learning_rate, 0.1, 32) for t in steps])
    np.testing.assert_allclose(_evaluate(schedule, steps), expected, rtol=1e-6)
    # the landmarks of the triangle
    assert expected[0] == pytest.approx(max_learning_rate / 32)
    assert expected[10] == pytest.approx(max_learning_rate)
    assert expected[5] == pytest.approx(max_learning_rate * (1 + 0.5 * 31) / 32)
    assert expected[total_steps] == pytest.approx(max_learning_rate / 32)
    # constant after the end
    assert np.all(_evaluate(schedule, steps[total_steps:]) == _evaluate(schedule, [total_steps])[0])
    # a large step and an integer tensor (optimizer.iterations is an integer variable)
    assert float(keras.ops.convert_to_numpy(schedule(10**7))) == pytest.approx(max_learning_rate / 32, rel=1e-6)
    value = schedule(keras.ops.convert_to_tensor(5))
    assert float(keras.ops.convert_to_numpy(value)) == pytest.approx(expected[5], rel=1e-6)


@pytest.mark.multibackend
def test_slanted_triangular_holds_the_lowest_rate_where_the_paper_formula_turns_negative():
    total_steps, max_learning_rate, cut_frac, ratio = 37, 0.02, 0.1, 16
    schedule = SlantedTriangular(max_learning_rate, total_steps, cut_frac=cut_frac, ratio=ratio)  # cut = 3
    steps = np.arange(0, total_steps + 20)
    paper = np.array([_stlr_paper(min(t, total_steps), total_steps, max_learning_rate, cut_frac, ratio) for t in steps])
    # cut / cut_frac = 30 < 37: the paper's decay reaches max/ratio at step 30 and goes negative after
    assert paper[30] == pytest.approx(max_learning_rate / ratio) and paper[31] < max_learning_rate / ratio
    assert paper[36] < 0
    values = _evaluate(schedule, steps)
    np.testing.assert_allclose(values[:31], paper[:31], rtol=1e-6)
    np.testing.assert_allclose(values[31:], max_learning_rate / ratio, rtol=1e-6)
    assert values[3] == pytest.approx(max_learning_rate, rel=1e-6)
    # vectorised call gives the same values
    np.testing.assert_allclose(keras.ops.convert_to_numpy(schedule(steps)), values, rtol=1e-6)


@pytest.mark.multibackend
@pytest.mark.parametrize("total_steps", [100, 37])
def test_inverse_progress_decay_is_the_dann_formula_at_every_step(total_steps):
    schedule = InverseProgressDecay(0.01, total_steps=total_steps)
    steps = np.arange(0, total_steps + 30)
    progress = np.minimum(steps / total_steps, 1.0)
    expected = 0.01 / (1 + 10 * progress) ** 0.75
    np.testing.assert_allclose(_evaluate(schedule, steps), expected, rtol=1e-6)
    assert expected[0] == 0.01
    assert expected[-1] == pytest.approx(0.01 / 11**0.75)
    other = InverseProgressDecay(0.1, total_steps=total_steps, alpha=3.0, beta=2.0)
    np.testing.assert_allclose(_evaluate(other, steps), 0.1 / (1 + 3 * progress) ** 2, rtol=1e-6)


@pytest.mark.multibackend
def test_an_optimizer_trains_step_t_with_the_schedule_at_t():
    schedule = SlantedTriangular(0.01, 50)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    optimizer.build([keras.Variable(np.zeros((2,), "float32"))])
    for step in (0, 3, 5, 49, 80):
        optimizer.iterations.assign(step)
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(
            _stlr_paper(min(step, 50), 50, 0.01, 0.1, 32), rel=1e-6
        )
    # inside compiled training: SGD on least squares, 3 batches x 4 epochs = 12 steps, compared with numpy
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((12, 3)).astype("float32"), rng.standard_normal((12, 1)).astype("float32")
    for schedule in [SlantedTriangular(0.2, 12, cut_frac=0.25, ratio=4), InverseProgressDecay(0.2, total_steps=12)]:
        dense = keras.layers.Dense(1, use_bias=False)
        model = keras.Sequential([keras.Input((3,)), dense])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
        kernel = keras.ops.convert_to_numpy(dense.kernel).astype("float64")
        model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0)
        for t in range(12):
            xb, yb = x[(t % 3) * 4 : (t % 3 + 1) * 4].astype("float64"), y[(t % 3) * 4 : (t % 3 + 1) * 4]
            learning_rate = float(keras.ops.convert_to_numpy(schedule(t)))
            kernel = kernel - learning_rate * xb.T @ (2 * (xb @ kernel - yb) / 4)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(dense.kernel), kernel, rtol=1e-5, atol=1e-6)


_BAD_SLANTED_TRIANGULAR = [
    ({"cut_frac": 0.0}, "cut_frac"),
    ({"cut_frac": 1.0}, "cut_frac"),
    ({"cut_frac": -0.2}, "cut_frac"),
    ({"cut_frac": 1.5}, "cut_frac"),
    ({"ratio": 0.5}, "ratio"),
    ({"ratio": float("inf")}, "ratio"),
    ({"max_learning_rate": 0.0}, "max_learning_rate"),
    ({"max_learning_rate": -0.01}, "max_learning_rate"),
    ({"total_steps": 0}, "total_steps"),
    ({"total_steps": 10.5}, "total_steps"),
    ({"total_steps": 9}, "total_steps"),  # floor(9 * 0.1) = 0: no warm-up step
]
_BAD_INVERSE_PROGRESS_DECAY = [
    ({"initial_learning_rate": 0.0}, "initial_learning_rate"),
    ({"total_steps": 0}, "total_steps"),
    ({"total_steps": None}, "total_steps"),
    ({"alpha": -1.0}, "alpha"),
    ({"beta": -0.5}, "beta"),
]


@pytest.mark.multibackend
def test_bad_arguments_are_rejected_with_their_name():
    for arguments, name in _BAD_SLANTED_TRIANGULAR:
        with pytest.raises(ValueError, match=re.escape(f"{name}={arguments[name]!r}")):
            SlantedTriangular(**{"max_learning_rate": 0.01, "total_steps": 100, **arguments})
    for arguments, name in _BAD_INVERSE_PROGRESS_DECAY:
        with pytest.raises(ValueError, match=re.escape(f"{name}={arguments[name]!r}")):
            InverseProgressDecay(**{"initial_learning_rate": 0.01, "total_steps": 100, **arguments})
    with pytest.raises(TypeError, match="total_steps"):
        InverseProgressDecay(0.01)  # total_steps is required
    # the shortest warm-up there is: cut = floor(10 * 0.1) = 1
    assert _evaluate(SlantedTriangular(0.01, 10), [0, 1]) == pytest.approx([0.01 / 32, 0.01], rel=1e-6)


@pytest.mark.multibackend
def test_config_round_trip():
    schedules = [
        SlantedTriangular(0.003, 250, cut_frac=0.2, ratio=10),
        InverseProgressDecay(0.02, total_steps=77, alpha=5.0),
    ]
    for schedule in schedules:
        config = schedule.get_config()
        clone = type(schedule).from_config(json.loads(json.dumps(config)))
        assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
        np.testing.assert_array_equal(_evaluate(clone, range(0, 300, 7)), _evaluate(schedule, range(0, 300, 7)))
        serialized = keras.saving.serialize_keras_object(schedule)
        assert serialized["registered_name"] == f"keras_transfer>{type(schedule).__name__}"
        restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)), safe_mode=True)
        assert type(restored) is type(schedule)


_LOAD_IN_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np

    paths, x = sys.argv[1:-1], np.load(sys.argv[-1])
    failures = []
    for path in paths:  # without keras_transfer nothing knows the classes
        try:
            keras.saving.load_model(path, safe_mode=True)
        except Exception as error:
            failures.append(type(error).__name__ + ": " + str(error))
    import keras_transfer  # registers the classes; nothing else is imported
    results = []
    for path in paths:
        model = keras.saving.load_model(path, safe_mode=True)
        reversal = model.get_layer("reversal")
        schedule = model.optimizer._learning_rate
        results.append({
            "reversal_class": type(reversal).__module__ + "." + type(reversal).__name__,
            "strength": float(keras.ops.convert_to_numpy(reversal.strength)),
            "schedule_class": type(schedule).__module__ + "." + type(schedule).__name__,
            "schedule_config": schedule.get_config(),
            "iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
            "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "predictions": model.predict(x, verbose=0).tolist(),
        })
    print("RESULT" + json.dumps({"failures": failures, "results": results}))
    """
)


@pytest.mark.multibackend
def test_model_with_gradient_reversal_and_schedules_loads_without_custom_objects(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 6)).astype("float32")
    schedules = [SlantedTriangular(0.01, 40, ratio=8), InverseProgressDecay(0.01, total_steps=40)]
    paths, expected = [], []
    for index, schedule in enumerate(schedules):
        inputs = keras.Input((6,))
        hidden = keras.layers.Dense(4, activation="relu")(inputs)
        reversed_hidden = GradientReversal(strength=0.5, name="reversal")(hidden)
        outputs = keras.layers.Dense(1, activation="sigmoid")(reversed_hidden)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="binary_crossentropy")
        model.optimizer.build(model.trainable_variables)
        model.optimizer.iterations.assign(2)  # as after two training steps
        model.get_layer("reversal").strength.assign(0.375)
        path = tmp_path / f"model_{index}.keras"
        model.save(path)
        paths.append(str(path))
        expected.append((model, schedule))
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "load.py"
    script.write_text(_LOAD_IN_FRESH_PROCESS)
    completed = subprocess.run(
        [sys.executable, str(script), *paths, str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": keras.backend.backend()},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.split("RESULT", 1)[1])
    # registration is what makes loading work: the same files fail to load before keras_transfer is imported
    assert len(report["failures"]) == 2 and all("GradientReversal" in failure for failure in report["failures"])
    for (model, schedule), result in zip(expected, report["results"]):
        assert result["reversal_class"] == "keras_transfer.layers.gradient_reversal.GradientReversal"
        assert result["strength"] == 0.375
        assert result["schedule_class"] == f"{type(schedule).__module__}.{type(schedule).__name__}"
        config = json.dumps(schedule.get_config(), sort_keys=True)
        assert json.dumps(result["schedule_config"], sort_keys=True) == config
        assert result["iterations"] == 2
        assert result["learning_rate"] == pytest.approx(float(keras.ops.convert_to_numpy(schedule(2))), rel=1e-6)
        np.testing.assert_allclose(result["predictions"], model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert keras_transfer.schedules.SlantedTriangular is SlantedTriangular
