"""Transferability scores (keras_transfer/selection.py): hand-computed cases, the definitions, validation, backends."""

import ast
import contextlib
import io
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from keras_transfer import selection

pytestmark = pytest.mark.multibackend

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _blobs(seed=0, samples_per_class=10, classes=3, dimensions=4, spread=0.5):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), samples_per_class)
    centers = rng.normal(size=(classes, dimensions))
    return centers[labels] + spread * rng.normal(size=(len(labels), dimensions)), labels


def _direct_log_evidence(features, targets, alpha, beta):
    """log N(targets; 0, I / beta + F F.T / alpha) / samples, from the Gaussian density itself."""
    covariance = np.eye(len(targets)) / beta + features @ features.T / alpha
    return scipy.stats.multivariate_normal(np.zeros(len(targets)), covariance).logpdf(targets) / len(targets)


# -- LogME -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dimensions", [3, 12], ids=["more samples than dimensions", "fewer"])
def test_logme_evidence_is_the_maximum_of_the_gaussian_marginal_likelihood(dimensions):
    rng = np.random.default_rng(1)
    features = rng.normal(size=(8, dimensions))
    targets = (features @ rng.normal(size=dimensions) + 0.5 * rng.normal(size=8) > 0).astype(float)
    details = selection.logme_evidence(features, targets)
    assert details["converged"]
    # The same evidence from the density at the returned precisions ...
    direct = _direct_log_evidence(features, targets, details["alpha"], details["beta"])
    assert details["evidence"] == pytest.approx(direct, abs=1e-10)
    # ... and it is the maximum over (alpha, beta), found independently by Nelder-Mead on the density.
    found = scipy.optimize.minimize(
        lambda log_precisions: -_direct_log_evidence(features, targets, *np.exp(log_precisions)),
        x0=[0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000},
    )
    assert details["evidence"] == pytest.approx(-found.fun, abs=1e-8)
    assert np.log([details["alpha"], details["beta"]]) == pytest.approx(found.x, abs=1e-3)


def test_logme_fixed_point_converges_to_mackays_equations():
    features, labels = _blobs()
    targets = (labels == 1).astype(float)
    details = selection.logme_evidence(features, targets, tolerance=1e-12)
    assert details["converged"] and 1 < details["iterations"] < 100
    alpha, beta = details["alpha"], details["beta"]
    # MacKay's equations written with the matrix inverse (not the singular values the function uses).
    precision = alpha * np.eye(features.shape[1]) + beta * features.T @ features
    mean = beta * np.linalg.solve(precision, features.T @ targets)
    gamma = features.shape[1] - alpha * np.trace(np.linalg.inv(precision))
    assert alpha == pytest.approx(gamma / (mean @ mean), rel=1e-9)
    assert beta == pytest.approx((len(targets) - gamma) / np.sum((features @ mean - targets) ** 2), rel=1e-9)
    # A fixed point of these equations is a stationary point: nudging either precision lowers the evidence.
    best = _direct_log_evidence(features, targets, alpha, beta)
    for factor_alpha, factor_beta in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95)]:
        assert _direct_log_evidence(features, targets, alpha * factor_alpha, beta * factor_beta) < best


def test_logme_of_features_orthogonal_to_the_labels_is_the_no_weight_limit():
    # F.T y = 0 for each class column: the evidence is maximised at alpha -> infinity, where it equals
    # log N(y; 0, I / beta) / n at beta = n / |y|^2, that is 1/2 log(n / |y|^2) - 1/2 log(2 pi) - 1/2.
    features = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    labels = np.array([0, 0, 1, 1])
    expected = 0.5 * math.log(4 / 2) - 0.5 * math.log(2 * math.pi) - 0.5
    assert selection.logme(features, labels) == pytest.approx(expected, abs=1e-6)
    details = selection.logme_evidence(features, (labels == 0).astype(float))
    assert details["converged"] and details["alpha"] > 1e6 and details["beta"] == pytest.approx(2.0)


def test_logme_is_invariant_to_one_scale_of_all_features_not_to_scaling_one_feature():
    features, labels = _blobs(seed=2)
    reference = selection.logme(features, labels)
    for scale in (1e-3, 0.5, 40.0, 1e3):
        assert selection.logme(scale * features, labels) == pytest.approx(reference, abs=1e-6)
    stretched = features * np.array([1.0, 1.0, 1.0, 30.0])  # the isotropic prior sees this as a different problem
    assert abs(selection.logme(stretched, labels) - reference) > 1e-2
    shifted = features + 5.0  # no bias in the model: a shift changes the score too
    assert abs(selection.logme(shifted, labels) - reference) > 1e-2


def test_logme_ranks_informative_features_above_noise_and_averages_the_classes():
    features, labels = _blobs(seed=3, spread=0.3)
    noise = np.random.default_rng(3).normal(size=features.shape)
    assert selection.logme(features, labels) > selection.logme(noise, labels) + 0.1
    per_class = [selection.logme_evidence(features, (labels == k).astype(float))["evidence"] for k in range(3)]
    assert selection.logme(features, labels) == pytest.approx(np.mean(per_class), abs=1e-12)


def test_logme_warns_when_the_iteration_is_cut_short():
    features, labels = _blobs(seed=4)
    with pytest.warns(RuntimeWarning) as caught:
        selection.logme(features, labels, max_iterations=1)
    assert [f"for class {k} in max_iterations=1 steps" in str(w.message) for k, w in enumerate(caught)] == [True] * 3


# -- LEEP and NCE ----------------------------------------------------------------------------------------------------


def test_leep_equals_its_definition_on_a_tiny_joint_distribution():
    predictions = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
    labels = np.array([0, 0, 1, 1, 0])
    samples, source_classes = predictions.shape
    # The definition, written out with loops over the empirical joint P(y, z) and P(y | z) = P(y, z) / P(z).
    joint = {(y, z): sum(predictions[i, z] for i in range(samples) if labels[i] == y) / samples
             for y in (0, 1) for z in range(source_classes)}
    marginal = {z: joint[0, z] + joint[1, z] for z in range(source_classes)}
    expected = sum(
        math.log(sum(joint[labels[i], z] / marginal[z] * predictions[i, z] for z in range(source_classes)))
        for i in range(samples)
    ) / samples
    assert selection.leep(predictions, labels) == pytest.approx(expected, abs=1e-12)


def test_leep_hand_values_at_the_extremes():
    labels = np.array([0, 0, 0, 1])
    # The source already predicts the target classes: every P(y | z) is 0 or 1 and LEEP is log 1 = 0.
    assert selection.leep(np.eye(2)[labels], labels) == pytest.approx(0.0, abs=1e-12)
    # The source predicts the same distribution for every sample: LEEP is the mean log prior of the labels.
    uniform = np.full((4, 5), 0.2)
    assert selection.leep(uniform, labels) == pytest.approx((3 * math.log(0.75) + math.log(0.25)) / 4, abs=1e-12)


def test_nce_on_a_tiny_case_and_from_predictions():
    source = np.array([0, 0, 1, 1])
    labels = np.array([0, 1, 1, 1])
    # Given z = 0 the target is 0 or 1 with probability 1/2 (entropy log 2); given z = 1 it is 1. P(z = 0) = 1/2.
    assert selection.nce(source, labels) == pytest.approx(-0.5 * math.log(2), abs=1e-12)
    predictions = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.4, 0.6]])
    assert selection.nce(predictions, labels) == selection.nce(source, labels)
    assert selection.nce(labels + 3, labels) == pytest.approx(0.0, abs=1e-12)  # the source labels determine y
    assert selection.nce(np.zeros(4, dtype=int), labels) == pytest.approx(
        0.25 * math.log(0.25) + 0.75 * math.log(0.75), abs=1e-12)  # one source label: -H(Y)


# -- H-score ---------------------------------------------------------------------------------------------------------


def test_hscore_against_the_direct_numpy_formula():
    features, labels = _blobs(seed=5, samples_per_class=12, dimensions=5)
    class_means = np.stack([features[labels == label].mean(axis=0) for label in labels])
    expected = np.trace(np.linalg.inv(np.cov(features, rowvar=False)) @ np.cov(class_means, rowvar=False))
    assert selection.hscore(features, labels) == pytest.approx(expected, rel=1e-10)
    assert 0 < expected < 2  # at most classes - 1


def test_hscore_hand_value_and_invariance_to_a_linear_map():
    # One feature, two classes at -1 and +1 with no spread inside a class: all variance is between classes.
    assert selection.hscore(np.array([[-1.0], [-1.0], [1.0], [1.0]]), np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    features, labels = _blobs(seed=6)
    mixing = np.random.default_rng(6).normal(size=(4, 4))
    assert selection.hscore(features @ mixing, labels) == pytest.approx(selection.hscore(features, labels), rel=1e-8)
    # A constant feature adds nothing (the pseudo-inverse drops it) instead of dividing by zero.
    padded = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    assert selection.hscore(padded, labels) == pytest.approx(selection.hscore(features, labels), rel=1e-8)


# -- Kendall's tau ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scores, accuracies", [
    ([0.1, 0.4, 0.3, 0.9, 0.5], [50.0, 70.0, 60.0, 90.0, 91.0]),
    ([1.0, 1.0, 2.0, 3.0, 3.0, 0.5], [0.2, 0.3, 0.3, 0.9, 0.8, 0.1]),  # ties on both sides: tau-b
    ([3.0, 2.0, 1.0], [0.1, 0.2, 0.3]),
])
def test_rank_correlation_is_kendalls_tau_b(scores, accuracies):
    assert selection.rank_correlation(scores, accuracies) == pytest.approx(
        scipy.stats.kendalltau(scores, accuracies).statistic, abs=1e-12)


def test_rank_correlation_hand_values():
    assert selection.rank_correlation([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(4 / 6)  # 5 of 6 pairs agree
    assert math.isnan(selection.rank_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


# -- Validation ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: selection.logme(np.ones(6), [0, 0, 0, 1, 1, 1]), "`features`: expected a 2-D array"),
    (lambda: selection.logme(np.full((4, 2), np.nan), [0, 0, 1, 1]), "`features`: expected finite numbers"),
    (lambda: selection.logme(np.ones((4, 2)), [0, 0, 1]), "`labels`: expected one label per sample"),
    (lambda: selection.logme(np.ones((4, 2)), [0, 0, 1, -1]), "`labels`: expected non-negative integer"),
    (lambda: selection.hscore(np.ones((4, 2)), [0, 0.5, 1, 1]), "`labels`.*not all integers"),
    (lambda: selection.hscore(np.ones((4, 2)), np.eye(2)[[0, 0, 1, 1]]), "`labels`: expected a 1-D array"),
    (lambda: selection.hscore(np.ones((4, 2)), [1, 1, 1, 1]), "`labels`: expected at least 2 distinct classes"),
    (lambda: selection.hscore(np.ones((4, 2)), [0, 0, 1, 1], rcond=1.0), "`rcond`"),
    (lambda: selection.leep(np.ones((4, 3)), [0, 0, 1, 1]), "`source_predictions`: expected one probability"),
    (lambda: selection.leep(np.full((4, 2), 0.5), [0, 0, 1, np.nan]), "`labels`: expected finite"),
    (lambda: selection.nce([0, 1, 0], [0, 0, 1, 1]), "`labels`: expected one label per sample"),
    (lambda: selection.nce([0, 1, 0, 2.5], [0, 0, 1, 1]), "`source_labels`"),
    (lambda: selection.logme(np.ones((4, 2)), [0, 0, 1, 1], tolerance=0), "`tolerance`: expected a positive"),
    (lambda: selection.logme(np.ones((4, 2)), [0, 0, 1, 1], max_iterations=0.5), "`max_iterations`"),
    (lambda: selection.logme_evidence(np.ones((4, 2)), np.ones(3)), "`targets`"),
    (lambda: selection.rank_correlation([1.0, 2.0], [1.0]), "`scores` and `accuracies`"),
    (lambda: selection.rank_correlation(["a", "b"], [1.0, 2.0]), "`scores`: expected an array of numbers"),
])
def test_bad_input_raises_a_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- Backends, copying the file alone, the examples -------------------------------------------------------------------


def test_backend_tensors_give_the_numpy_values():
    features, labels = _blobs(seed=7)
    predictions = keras.ops.convert_to_numpy(keras.ops.softmax(features[:, :3] * 2.0))
    expected = [selection.logme(features, labels), selection.hscore(features, labels),
                selection.leep(predictions.astype(np.float64), labels), selection.nce(predictions, labels)]
    tensor_features = keras.ops.convert_to_tensor(features, "float32")
    tensor_labels = keras.ops.convert_to_tensor(labels)
    float32_features = features.astype(np.float32)
    got = [selection.logme(tensor_features, tensor_labels), selection.hscore(tensor_features, tensor_labels),
           selection.leep(keras.ops.convert_to_tensor(predictions), tensor_labels),
           selection.nce(keras.ops.convert_to_tensor(predictions), tensor_labels)]
    # float32 tensors round the features to float32 first: the scores of those rounded values, exactly.
    assert got[:2] == [selection.logme(float32_features, labels), selection.hscore(float32_features, labels)]
    assert got == pytest.approx(expected, rel=1e-6)


_SCRIPT = """\
import sys
sys.modules["keras_transfer"] = None  # copied alone: no package
import keras
import numpy as np
import selection

rng = np.random.default_rng(11)
labels = np.repeat(np.arange(4), 15)
features = rng.normal(size=(4, 6))[labels] + rng.normal(size=(60, 6))
predictions = keras.ops.convert_to_numpy(keras.ops.softmax(keras.ops.convert_to_tensor(features[:, :5])))
tensor = keras.ops.convert_to_tensor(features, "float32")
print(keras.backend.backend(), repr([selection.logme(tensor, labels), selection.hscore(tensor, labels),
      selection.leep(predictions.astype("float64"), labels), selection.nce(features[:, :5], labels)]))
"""


def test_the_file_alone_gives_the_same_scores_on_tensorflow_and_jax(tmp_path):
    imported = {node.names[0].name if isinstance(node, ast.Import) else node.module
                for node in ast.walk(ast.parse((ROOT / "keras_transfer/selection.py").read_text()))
                if isinstance(node, (ast.Import, ast.ImportFrom))}
    assert {name.split(".")[0] for name in imported} - set(sys.stdlib_module_names) == {"keras", "numpy"}
    shutil.copy(ROOT / "keras_transfer/selection.py", tmp_path / "selection.py")
    (tmp_path / "check.py").write_text(_SCRIPT)
    outputs = {}
    for backend in ("tensorflow", "jax"):
        environment = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "KERAS_BACKEND": backend,
                       "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run([sys.executable, "check.py"], cwd=tmp_path, env=environment, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        name, values = result.stdout.strip().splitlines()[-1].split(" ", 1)
        assert name == backend
        outputs[backend] = values
    # The softmax is the backend's own float32 op; everything after is float64 NumPy: identical to the last digit
    # except where the two backends' softmax differ in the last float32 bit (LEEP's input).
    tensorflow, jax = (eval(outputs[backend]) for backend in ("tensorflow", "jax"))  # noqa: S307 (our own repr)
    assert [tensorflow[0], tensorflow[1], tensorflow[3]] == [jax[0], jax[1], jax[3]]
    assert tensorflow[2] == pytest.approx(jax[2], rel=1e-6)


def _examples(item):
    doc = item.__doc__ or ""
    section = doc.split("Example:", 1)[1] if "Example:" in doc else ""
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL)]


@pytest.mark.parametrize("item", [selection, selection.logme], ids=["module", "logme"])
def test_docstring_examples_print_what_they_say(item):
    (code,) = _examples(item)
    expected = [line.strip()[2:] for line in code.splitlines() if line.strip().startswith("# ")]
    expected += [line.split("  # ", 1)[1] for line in code.splitlines() if "print(" in line and "  # " in line]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(code, vars(selection).copy())  # noqa: S102 (the docstring's own example)
    assert output.getvalue().split() == " ".join(expected).split()


def test_recommend_is_the_lectures_table_and_names_bad_arguments():
    assert selection.recommend(5, True)["models"] == ("frozen",)
    expected = {"data": "similar", "target": "large", **selection.STRATEGY["similar", "large"]}
    assert selection.recommend(40, True) == expected
    assert selection.recommend(40, False)["models"] == ("fine_tuned", "chain_thaw", "scratch")
    assert selection.recommend(19, False)["target"] == "small" and selection.recommend(20, False)["target"] == "large"
    assert selection.recommend(10, True, large_from=10)["target"] == "large"
    assert selection.recommend(3, np.bool_(False))["data"] == "different"
    with pytest.raises(ValueError, match="similar='yes'"):
        selection.recommend(5, "yes")
    with pytest.raises(ValueError, match="labels_per_class=0"):
        selection.recommend(0, True)
    with pytest.raises(ValueError, match="large_from=2.5"):
        selection.recommend(5, True, large_from=2.5)
