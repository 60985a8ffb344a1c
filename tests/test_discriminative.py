"""Tests for `keras_transfer.optimizers.Discriminative` and `geometric_multipliers`.

The mathematics: each variable must move exactly as the wrapped optimizer would move it with the learning rate
`factor * learning_rate`. Most tests apply gradients to variables whose loss is separable (each variable's
gradient depends only on itself), so a reference optimizer at `factor * learning_rate` on a copy of one group of
variables must reproduce that group's trajectory.
"""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_transfer.optimizers import Discriminative
from keras_transfer.optimizers import geometric_multipliers
from keras_transfer.schedules import SlantedTriangular
from conftest import mirrored_strategy

STEPS = 5
LAYERS = ("slow", "mid", "fast")
SHAPES = {"kernel": (3, 4), "bias": (4,)}


def _make_variables(initial):
    """Variables with paths `<layer>/kernel` and `<layer>/bias`, from a dict of arrays keyed by path."""
    variables = []
    for path, value in initial.items():
        layer, name = path.split("/")
        with keras.name_scope(layer):
            variables.append(keras.Variable(value, name=name))
    assert [v.path for v in variables] == list(initial)
    return variables


def _initial_values(layers=LAYERS, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"{layer}/{name}": rng.normal(size=shape).astype("float32")
        for layer in layers
        for name, shape in SHAPES.items()
    }


def _targets_and_noise(paths, seed=1):
    rng = np.random.default_rng(seed)
    targets = {p: rng.normal(size=SHAPES[p.split("/")[1]]).astype("float32") for p in paths}
    noise = [{p: 0.1 * rng.normal(size=SHAPES[p.split("/")[1]]).astype("float32") for p in paths} for _ in range(STEPS)]
    return targets, noise


def _run(optimizer, variables, targets, noise):
    """Applies STEPS gradients of the separable loss sum((v - target)**2) / 2 plus fixed noise."""
    for step in range(STEPS):
        grads = [keras.ops.convert_to_tensor(v.numpy() - targets[v.path] + noise[step][v.path]) for v in variables]
        optimizer.apply(grads, variables)
    return {v.path: v.numpy() for v in variables}


def _run_fixed_gradients(optimizer, variables, gradients):
    """Applies a fixed sequence of gradients (the same arrays whatever the variables' values)."""
    for step_gradients in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(step_gradients[v.path]) for v in variables], variables)
    return {v.path: v.numpy() for v in variables}


@pytest.mark.multibackend
def test_adam_half_factor_gives_exactly_half_the_update_and_gradient_scaling_does_not():
    rng = np.random.default_rng(3)
    initial = _initial_values(layers=("slow", "fast"))
    # Both layers start equal and see the same gradients, so only the factor differs.
    initial = {path: initial["fast/" + path.split("/")[1]] for path in initial}
    gradients = []
    for _ in range(STEPS):
        kernel, bias = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")
        gradients.append(dict(zip(initial, [kernel, bias, kernel, bias])))
    lr = 0.01

    wrapped = _run_fixed_gradients(
        Discriminative(keras.optimizers.Adam(lr), {"slow": 0.5}), _make_variables(initial), gradients
    )
    for name in SHAPES:
        start = initial[f"fast/{name}"]
        half, full = wrapped[f"slow/{name}"] - start, wrapped[f"fast/{name}"] - start
        assert np.abs(full).max() > 2 * lr  # Adam steps are about lr each
        np.testing.assert_allclose(half, 0.5 * full, rtol=1e-5, atol=1e-6)  # float32 rounding of the variable

    # The same as a plain Adam with half the learning rate on a copy of the variables.
    reference = _run_fixed_gradients(keras.optimizers.Adam(lr * 0.5), _make_variables(initial), gradients)
    for path in ("slow/kernel", "slow/bias"):
        np.testing.assert_allclose(wrapped[path], reference[path], rtol=1e-6, atol=1e-8)

    # Scaling the gradients by 0.5 instead: Adam normalises it away and makes (almost) the full update.
    halved_gradients = [{path: 0.5 * g for path, g in step.items()} for step in gradients]
    scaled = _run_fixed_gradients(keras.optimizers.Adam(lr), _make_variables(initial), halved_gradients)
    for name in SHAPES:
        start = initial[f"fast/{name}"]
        full = wrapped[f"fast/{name}"] - start
        gradient_scaled = scaled[f"slow/{name}"] - start
        assert np.abs(gradient_scaled - 0.5 * full).max() > 0.4 * np.abs(full).max()
        np.testing.assert_allclose(gradient_scaled, full, rtol=1e-2, atol=1e-4)


def _muon(lr, **kwargs):
    """Muon with weight decay; `adam_weight_decay` (its Adam part's own decay) is new in Keras 3.11."""
    if "adam_weight_decay" not in inspect.signature(keras.optimizers.Muon).parameters:
        kwargs.pop("adam_weight_decay")
    return keras.optimizers.Muon(lr, **kwargs)


OPTIMIZERS = {
    "sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "sgd_nesterov": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "rmsprop_momentum": lambda lr: keras.optimizers.RMSprop(lr, momentum=0.5),
    "adam_amsgrad": lambda lr: keras.optimizers.Adam(lr, amsgrad=True),
    "adamw": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.2),
    "adamw_excluding_bias": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.2),
    "sgd_weight_decay_clipnorm": lambda lr: keras.optimizers.SGD(lr, momentum=0.5, weight_decay=0.1, clipnorm=0.5),
    "nadam": lambda lr: keras.optimizers.Nadam(lr),
    "muon_weight_decay": lambda lr: _muon(lr, weight_decay=0.3, adam_weight_decay=0.2),
}


@pytest.mark.multibackend
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_each_variable_moves_like_the_inner_optimizer_at_factor_times_learning_rate(kind):
    lr = 0.02
    multipliers = {"slow": 0.3, "mid": 0.5}  # "fast" gets the default
    initial = _initial_values()
    targets, noise = _targets_and_noise(initial)

    optimizer = Discriminative(OPTIMIZERS[kind](lr), multipliers, default=0.8)
    if kind == "adamw_excluding_bias":
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    wrapped = _run(optimizer, _make_variables(initial), targets, noise)
    assert int(optimizer.iterations) == STEPS

    for layer, factor in (("slow", 0.3), ("mid", 0.5), ("fast", 0.8)):
        group = {path: value for path, value in initial.items() if path.startswith(layer + "/")}
        plain = OPTIMIZERS[kind](lr * factor)
        if kind == "adamw_excluding_bias":
            plain.exclude_from_weight_decay(var_names=["bias"])
        reference = _run(plain, _make_variables(group), targets, noise)
        for path in group:
            assert np.abs(reference[path] - group[path]).max() > 1e-3  # it did move
            np.testing.assert_allclose(wrapped[path], reference[path], rtol=1e-5, atol=1e-6, err_msg=path)


@pytest.mark.multibackend
@pytest.mark.parametrize(
    "inner",
    [
        lambda: keras.optimizers.AdamW(0.05, weight_decay=0.5),
        lambda: keras.optimizers.SGD(0.05, momentum=0.9, weight_decay=0.5),
        lambda: _muon(0.05, weight_decay=0.5, adam_weight_decay=0.5),
    ],
    ids=["adamw", "sgd", "muon"],
)
def test_factor_zero_keeps_the_variable_bit_identical_even_with_weight_decay(inner):
    initial = _initial_values(layers=("frozen", "fast"))
    targets, noise = _targets_and_noise(initial)
    optimizer = Discriminative(inner(), {"frozen": 0.0})
    variables = _make_variables(initial)
    after = _run(optimizer, variables, targets, noise)
    for name in SHAPES:
        assert np.array_equal(after[f"frozen/{name}"], initial[f"frozen/{name}"])
        assert not np.allclose(after[f"fast/{name}"], initial[f"fast/{name}"])
    # No optimizer holds the frozen variables: no slots for them.
    assert list(optimizer.group_optimizers) == [1.0]
    assert [v.path for v in optimizer.variables if "frozen" in v.path] == []
    assert any("fast" in v.path for v in optimizer.variables)


@pytest.mark.multibackend
@pytest.mark.parametrize("how", ["var_names", "var_list"])
def test_weight_decay_exclusions_set_before_wrapping_carry_over_to_every_group(how):
    # The one private Keras call of discriminative.py reads these exclusions: on a Keras whose internals moved,
    # this comparison with plain AdamW fails (the biases would decay).
    lr = 0.02
    initial = _initial_values()
    targets, noise = _targets_and_noise(initial)

    def adamw(rate, variables):
        optimizer = keras.optimizers.AdamW(rate, weight_decay=0.3)
        if how == "var_names":
            optimizer.exclude_from_weight_decay(var_names=["bias"])
        else:
            optimizer.exclude_from_weight_decay(var_list=[v for v in variables if v.path.endswith("/bias")])
        return optimizer

    variables = _make_variables(initial)
    wrapped = _run(Discriminative(adamw(lr, variables), {"slow": 0.3, "mid": 0.5}), variables, targets, noise)
    for layer, factor in (("slow", 0.3), ("mid", 0.5), ("fast", 1.0)):
        group = {path: value for path, value in initial.items() if path.startswith(layer + "/")}
        group_variables = _make_variables(group)
        reference = _run(adamw(lr * factor, group_variables), group_variables, targets, noise)
        decayed = _run(keras.optimizers.AdamW(lr * factor, weight_decay=0.3), _make_variables(group), targets, noise)
        bias = f"{layer}/bias"
        assert np.abs(decayed[bias] - reference[bias]).max() > 1e-4  # the exclusion does change the bias
        for path in group:
            np.testing.assert_allclose(wrapped[path], reference[path], rtol=1e-5, atol=1e-6, err_msg=path)


@pytest.mark.multibackend
def test_global_clipnorm_and_loss_scale_act_on_all_gradients_at_once():
    # Hand-computed SGD: unscale, clip by the norm of every gradient (a frozen variable's included), then
    # `variable -= factor * lr * gradient`.
    lr, clip, scale = 0.1, 0.5, 4.0
    initial = _initial_values(layers=("frozen", "slow", "fast"))
    rng = np.random.default_rng(11)
    gradients = [
        {path: rng.normal(size=value.shape).astype("float32") for path, value in initial.items()} for _ in range(3)
    ]
    optimizer = Discriminative(
        keras.optimizers.SGD(lr, global_clipnorm=clip, loss_scale_factor=scale), {"frozen": 0.0, "slow": 0.25}
    )
    variables = _make_variables(initial)
    scaled = [{path: scale * g for path, g in step.items()} for step in gradients]
    after = _run_fixed_gradients(optimizer, variables, scaled)
    expected = {path: value.astype("float64") for path, value in initial.items()}
    for step in gradients:
        norm = np.sqrt(sum(np.sum(g.astype("float64") ** 2) for g in step.values()))
        assert norm > 2 * clip  # the clipping does act
        for path, g in step.items():
            factor = {"frozen": 0.0, "slow": 0.25, "fast": 1.0}[path.split("/")[0]]
            expected[path] -= factor * lr * g * min(1.0, clip / norm)
    for path in initial:
        np.testing.assert_allclose(after[path], expected[path], rtol=1e-5, atol=1e-6, err_msg=path)


@pytest.mark.multibackend
def test_learning_rate_callbacks_move_every_group_and_keep_the_ratios():
    model = _small_model()
    optimizer = Discriminative(keras.optimizers.Adam(1e-3), {"fc1": 0.1})
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.build(model.trainable_variables)

    def rates():
        return {
            factor: float(keras.ops.convert_to_numpy(group.learning_rate))
            for factor, group in optimizer.group_optimizers.items()
        }

    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=2e-4)
    reduce.set_model(model)
    reduce.on_train_begin()
    for epoch in range(4):  # no improvement after the first: 1e-3 -> 5e-4 -> 2.5e-4 -> 2e-4 (min_lr)
        reduce.on_epoch_end(epoch, logs={"loss": 1.0})
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(2e-4)
    assert rates() == pytest.approx({1.0: 2e-4, 0.1: 2e-5})  # min_lr bounds the one rate; the ratio holds

    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.5**epoch)
    scheduler.set_model(model)
    scheduler.on_epoch_begin(2)
    assert rates() == pytest.approx({1.0: 0.0025, 0.1: 0.00025})


def _schedules():
    return {
        "exponential_decay": keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.6),
        "slanted_triangular": SlantedTriangular(max_learning_rate=0.1, total_steps=STEPS, cut_frac=0.4, ratio=8),
    }


@pytest.mark.multibackend
@pytest.mark.parametrize("name", list(_schedules()))
def test_updates_follow_the_schedule_times_the_factor(name):
    schedule = _schedules()[name]
    initial = _initial_values(layers=("slow", "fast"))
    rng = np.random.default_rng(5)
    gradients = [
        {path: rng.normal(size=value.shape).astype("float32") for path, value in initial.items()} for _ in range(STEPS)
    ]
    optimizer = Discriminative(keras.optimizers.SGD(schedule), {"slow": 0.25})
    variables = _make_variables(initial)
    rates = []
    for step_gradients in gradients:
        rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
        optimizer.apply([keras.ops.convert_to_tensor(step_gradients[v.path]) for v in variables], variables)
    expected_rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(STEPS)]
    np.testing.assert_allclose(rates, expected_rates, rtol=1e-6)
    assert len(set(np.round(expected_rates, 6))) > 2  # the schedule does change
    for variable in variables:
        factor = 0.25 if variable.path.startswith("slow/") else 1.0
        expected = initial[variable.path].copy()
        for rate, step_gradients in zip(expected_rates, gradients):
            expected = expected - np.float32(rate * factor) * step_gradients[variable.path]
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-6)


def _nested_model():
    base = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, name="block1_conv1"),
            keras.layers.Dense(4, name="block1_conv2"),
            keras.layers.Dense(4, name="block2_conv1"),
        ],
        name="base",
    )
    inputs = keras.Input((5,))
    x = base(inputs)
    x = keras.layers.Dense(4, name="fc1")(x)
    x = keras.layers.Dense(4, name="fc2")(x)
    outputs = keras.layers.Dense(3, name="predictions")(x)
    return keras.Model(inputs, outputs)


def _factors(multipliers, **kwargs):
    model = _nested_model()
    optimizer = Discriminative("adam", multipliers, **kwargs)
    optimizer.build(model.trainable_variables)
    return optimizer.variable_factors


@pytest.mark.multibackend
def test_layer_names_paths_and_patterns_resolve_as_documented():
    factors = _factors({"*/kernel": 0.3, "block1_*": 0.2, "block2_conv1": 0.5, "fc?": 0.7, "fc2/bias": 0.9})
    assert factors == {
        "base/block1_conv1/kernel": 0.3,  # the first matching pattern
        "base/block1_conv1/bias": 0.2,
        "base/block1_conv2/kernel": 0.3,
        "base/block1_conv2/bias": 0.2,
        "base/block2_conv1/kernel": 0.5,  # an exact layer name beats patterns
        "base/block2_conv1/bias": 0.5,
        "fc1/kernel": 0.3,
        "fc1/bias": 0.7,
        "fc2/kernel": 0.3,
        "fc2/bias": 0.9,  # a variable path (tail) is an exact key
        "predictions/kernel": 0.3,
        "predictions/bias": 1.0,  # no key: the default
    }
    # Among exact keys the innermost wins, whatever the order; a nested model's name covers its layers.
    for multipliers in ({"base": 0.1, "block2_conv1": 0.5}, {"block2_conv1": 0.5, "base": 0.1}):
        factors = _factors(multipliers, default=2.0)
        assert factors["base/block1_conv2/bias"] == 0.1
        assert factors["base/block2_conv1/kernel"] == 0.5
        assert factors["fc1/kernel"] == 2.0
    # A run of layer names is an exact key too, more specific than the outer model's name.
    factors = _factors({"base": 0.1, "base/block1_conv2": 0.3})
    assert factors["base/block1_conv2/kernel"] == factors["base/block1_conv2/bias"] == 0.3
    assert factors["base/block1_conv1/kernel"] == 0.1 and factors["fc1/kernel"] == 1.0
    # Among patterns the first in the dict's order wins.
    assert _factors({"block1_*": 0.2, "*conv1*": 0.4})["base/block1_conv1/kernel"] == 0.2
    assert _factors({"*conv1*": 0.4, "block1_*": 0.2})["base/block1_conv1/kernel"] == 0.4
    # A layer name never matches the variable's own name: "k*" is no pattern for kernels.
    with pytest.raises(ValueError, match=r"\['k\*'\]"):
        _factors({"k*": 0.5})


@pytest.mark.multibackend
def test_a_nested_functional_model_name_selects_every_variable_inside_it():
    # A functional base builds its layers before it exists: its variable paths do not carry its name.
    def functional_base(name, units):
        inputs = keras.Input((5,))
        x = keras.layers.Dense(units, name=f"{name}_dense1")(inputs)
        return keras.Model(inputs, keras.layers.Dense(5, name=f"{name}_dense2")(x), name=name)

    inner = functional_base("inner", 4)
    outer_inputs = keras.Input((5,))
    outer = keras.Model(outer_inputs, keras.layers.Dense(5, name="outer_dense")(inner(outer_inputs)), name="outer")
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(outer(inputs)))
    assert model.trainable_variables[0].path == "inner_dense1/kernel"
    multipliers = {"outer": 0.1, "inner": 0.3, "inner_dense2": 0.5}
    # Without the model, the names of functional models are on no path: the error says to pass `model=`.
    with pytest.raises(ValueError, match=r"\['outer', 'inner'\].*model=model"):
        Discriminative("adam", multipliers).build(model.trainable_variables)
    optimizer = Discriminative("adam", multipliers, model=model)
    optimizer.build(model.trainable_variables)
    expected = {
        "inner_dense1/kernel": 0.3,
        "inner_dense1/bias": 0.3,
        "inner_dense2/kernel": 0.5,
        "inner_dense2/bias": 0.5,
        "outer_dense/kernel": 0.1,
        "outer_dense/bias": 0.1,
        "head/kernel": 1.0,
        "head/bias": 1.0,
    }
    # The inner model wins over the outer one, a layer name over both; the head keeps the default.
    assert optimizer.variable_factors == expected
    # The model is recorded as variable paths: a JSON config rebuilds the same factors without it.
    restored = Discriminative.from_config(json.loads(json.dumps(optimizer.get_config())))
    restored.build(model.trainable_variables)
    assert restored.variable_factors == expected
    assert sorted(restored.nested_models) == ["inner", "outer"]
    # Keys that name only frozen layers match nothing: the error says what to do.
    outer.trainable = False
    with pytest.raises(ValueError, match=r"\['outer', 'inner'\].*strict=False"):
        Discriminative("adam", {"outer": 0.1, "inner": 0.3}, model=model).build(model.trainable_variables)


@pytest.mark.multibackend
def test_model_argument_is_checked():
    with pytest.raises(ValueError, match=r"`model`.*Received: model='base'"):
        Discriminative("adam", {"base": 0.1}, model="base")
    with pytest.raises(ValueError, match="nested_models="):
        Discriminative("adam", {"base": 0.1}, nested_models={"base": "block1/kernel"})
    # Two variables with one path, one inside the nested model and one outside: recording by path is ambiguous.
    base_inputs = keras.Input((3,))
    base = keras.Model(base_inputs, keras.layers.Dense(3, name="twin")(base_inputs), name="base")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="twin")(base(inputs)))
    with pytest.raises(ValueError, match=r"'base'.*\['twin/bias', 'twin/kernel'\]"):
        Discriminative("adam", {"base": 0.1}, model=model)


@pytest.mark.multibackend
def test_unknown_keys_and_bad_factors_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match=r"'block9_conv1'.*Available layer names: \['base', 'block1_conv1'"):
        _factors({"block1_conv1": 0.5, "block9_conv1": 0.1})
    with pytest.raises(ValueError, match=r"'block9_\*'"):
        _factors({"block9_*": 0.1})
    with pytest.raises(ValueError, match=r"multipliers\['fc1'\]=-0\.5"):
        Discriminative("adam", {"fc1": -0.5})
    with pytest.raises(ValueError, match=r"multipliers\['fc1'\]=nan"):
        Discriminative("adam", {"fc1": float("nan")})
    with pytest.raises(ValueError, match=r"default=-1"):
        Discriminative("adam", {}, default=-1)
    with pytest.raises(ValueError, match="multipliers="):
        Discriminative("adam", [("fc1", 0.5)])
    with pytest.raises(ValueError, match="clipnorm"):
        Discriminative("adam", {}, clipnorm=1.0)
    with pytest.raises(ValueError, match="strict='no'"):
        Discriminative("adam", {}, strict="no")
    with pytest.raises(ValueError, match="global_clipnorm"):
        Discriminative(keras.optimizers.SGD(0.1, global_clipnorm=1.0, gradient_accumulation_steps=2), {})
    def constant_rate():
        return 0.1

    with pytest.raises(ValueError, match="learning rate is a float or"):
        Discriminative(keras.optimizers.SGD(constant_rate), {})
    built = keras.optimizers.Adam()
    built.build([keras.Variable(np.zeros(2, "float32"))])
    with pytest.raises(ValueError, match="already built"):
        Discriminative(built, {})


@pytest.mark.multibackend
def test_strict_false_ignores_keys_of_layers_not_being_trained_yet():
    # GradualUnfreezing rebuilds the optimizer over the unfrozen layers only: keys of frozen ones match nothing yet.
    factors = _factors({"block1_conv1": 0.5, "block9_conv1": 0.1}, strict=False)
    assert factors["base/block1_conv1/kernel"] == 0.5
    assert 0.1 not in factors.values()
    config = Discriminative("adam", {"block9_conv1": 0.1}, strict=False).get_config()
    assert Discriminative.from_config(config).strict is False


@pytest.mark.multibackend
def test_geometric_multipliers_divide_by_decay_per_group_from_the_top():
    multipliers = geometric_multipliers([["embedding", "lstm_1"], "lstm_2", "lstm_3", "head_*"])
    assert list(multipliers) == ["embedding", "lstm_1", "lstm_2", "lstm_3", "head_*"]
    expected = [1 / 2.6**3, 1 / 2.6**3, 1 / 2.6**2, 1 / 2.6, 1.0]
    assert list(multipliers.values()) == pytest.approx(expected, rel=1e-12)
    assert geometric_multipliers(["a", "b"], decay=4) == {"a": 0.25, "b": 1.0}
    for bad in ({"layer_groups": []}, {"layer_groups": "fc1"}, {"layer_groups": ["a", ["a", "b"]]}):
        with pytest.raises(ValueError, match="layer_groups"):
            geometric_multipliers(**bad)
    with pytest.raises(ValueError, match="decay=0"):
        geometric_multipliers(["a", "b"], decay=0)


def _small_model():
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh", name="fc1"), keras.layers.Dense(3, name="head")]
    )


def _data(n=32):
    rng = np.random.default_rng(7)
    return rng.normal(size=(n, 6)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")


def _fit(model, optimizer, epochs=2, x=None, y=None):
    if x is None:
        x, y = _data()
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights()


@pytest.mark.multibackend
def test_fit_with_one_factor_everywhere_equals_the_plain_optimizer_at_scaled_rate():
    """Through `fit` (compiled; `stateless_apply` on JAX), with clipping, EMA, loss scaling and accumulation."""

    def adam(lr):
        return keras.optimizers.Adam(
            lr,
            clipnorm=0.1,
            use_ema=True,
            ema_overwrite_frequency=3,
            loss_scale_factor=8.0,
            gradient_accumulation_steps=2,
        )

    model = _small_model()
    initial = model.get_weights()
    optimizer = Discriminative(adam(0.02), {"*": 0.5})
    wrapped = _fit(model, optimizer, epochs=3)
    copy = _small_model()
    copy.set_weights(initial)
    reference = _fit(copy, adam(0.01), epochs=3)
    for got, want, start in zip(wrapped, reference, initial):
        assert not np.allclose(want, start)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert int(optimizer.iterations) == int(copy.optimizer.iterations) == 6  # 12 batches, 2 per update
    optimizer.learning_rate = 0.005  # what learning-rate callbacks do: every group follows
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.005)
    group = optimizer.group_optimizers[0.5]
    assert float(keras.ops.convert_to_numpy(group.learning_rate)) == pytest.approx(0.0025)


@pytest.mark.multibackend
def test_fit_keeps_a_frozen_layer_bit_identical():
    model = _small_model()
    initial = model.get_weights()
    weights = _fit(model, Discriminative(keras.optimizers.AdamW(0.05, weight_decay=0.5), {"fc1": 0.0}))
    assert np.array_equal(weights[0], initial[0]) and np.array_equal(weights[1], initial[1])
    assert not np.allclose(weights[2], initial[2])


@pytest.mark.multibackend
def test_config_round_trip_is_json():
    optimizer = Discriminative(
        keras.optimizers.AdamW(SlantedTriangular(0.01, total_steps=100), weight_decay=0.01),
        geometric_multipliers(["fc1", "head"]),
        default=0.5,
        name="disc",
    )
    config = optimizer.get_config()
    text = json.dumps(config, sort_keys=True)
    restored = Discriminative.from_config(json.loads(text))
    assert json.dumps(restored.get_config(), sort_keys=True) == text
    assert config["optimizer"]["class_name"] == "AdamW"
    assert config["optimizer"]["config"]["learning_rate"]["registered_name"] == "keras_transfer>SlantedTriangular"
    schedule = SlantedTriangular(0.01, total_steps=100)
    assert float(keras.ops.convert_to_numpy(restored.learning_rate)) == pytest.approx(
        float(keras.ops.convert_to_numpy(schedule(0)))
    )
    serialized = keras.optimizers.serialize(optimizer)
    assert serialized["registered_name"] == "keras_transfer>Discriminative"
    assert isinstance(keras.optimizers.deserialize(json.loads(json.dumps(serialized))), Discriminative)


_CONTINUE_IN_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import keras_transfer

    model_path, data_path, out_path = sys.argv[1:]
    model = keras.saving.load_model(model_path, safe_mode=True)
    data = np.load(data_path)
    optimizer = model.optimizer
    iterations_at_load = int(optimizer.iterations)
    model.fit(data["x"], data["y"], batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.savez(out_path, *model.get_weights())
    print(json.dumps({
        "class": type(optimizer).__name__,
        "iterations_at_load": iterations_at_load,
        "config": optimizer.get_config(),
    }))
    """
)


@pytest.mark.multibackend
def test_save_and_load_in_a_fresh_process_then_training_continues_identically(tmp_path):
    x, y = _data()
    np.savez(tmp_path / "data.npz", x=x, y=y)
    model = _small_model()
    optimizer = Discriminative(
        keras.optimizers.AdamW(SlantedTriangular(0.02, total_steps=16, cut_frac=0.25), weight_decay=0.1),
        {"fc1": 0.1},
    )
    _fit(model, optimizer, epochs=2, x=x, y=y)
    model.save(tmp_path / "model.keras")
    continued = _fit(model, optimizer, epochs=2, x=x, y=y)

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", _CONTINUE_IN_FRESH_PROCESS, str(tmp_path / "model.keras"), str(tmp_path / "data.npz"),
         str(tmp_path / "out.npz")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["class"] == "Discriminative"
    assert report["iterations_at_load"] == 8
    assert json.dumps(report["config"], sort_keys=True) == json.dumps(optimizer.get_config(), sort_keys=True)
    loaded = np.load(tmp_path / "out.npz")
    reloaded = [loaded[f"arr_{i}"] for i in range(len(continued))]
    for got, want in zip(reloaded, continued):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_mirrored_strategy_matches_one_device():
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    strategy = mirrored_strategy(devices)
    assert strategy.num_replicas_in_sync == 2

    def train(scope):
        with scope:
            model = _small_model()
            model.set_weights(initial)
            optimizer = Discriminative(keras.optimizers.AdamW(0.02, weight_decay=0.2), {"fc1": 0.2, "head/bias": 0.0})
            return _fit(model, optimizer, epochs=2)

    initial = _small_model().get_weights()
    one_device = train(tf.distribute.get_strategy().scope())
    two_replicas = train(strategy.scope())
    assert np.array_equal(two_replicas[3], initial[3])
    for got, want, start in zip(two_replicas, one_device, initial[:3]):
        assert not np.allclose(want, start)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
