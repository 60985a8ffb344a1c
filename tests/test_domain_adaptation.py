"""Tests of the domain adaptation experiment (source only, DANN, train on target) and its figures."""

import math

import matplotlib
import numpy as np
import pytest

from keras_transfer.experiments import domain_adaptation
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.plotting import domains as domain_plots

matplotlib.use("Agg")


def fake_rows(accuracies):
    """Rows as the experiment writes them, from `{seed: (source_only, dann, train_on_target)}`."""
    rows = []
    for seed, values in accuracies.items():
        for model, value in zip(domain_adaptation.MODELS, values):
            rows.append({"model": model, "seed": seed, "target_accuracy": value, "domain_accuracy": 0.5})
    return rows


@pytest.mark.multibackend
def test_smoke_run(data_dir, tmp_path):
    result = domain_adaptation.run(
        "smoke", seeds=(3,), output_dir=tmp_path / "out", verbose=0, train_size=128, test_size=64, epochs=2
    )
    assert [row["model"] for row in result.rows] == list(domain_adaptation.MODELS)
    steps = 2 * (128 // (64 // 2))
    for row in result.rows:
        assert row["seed"] == 3 and row["steps"] == steps and row["epochs"] == 2
        for key in ("target_accuracy", "source_accuracy", "domain_accuracy"):
            assert 0.0 <= row[key] <= 1.0
        assert row["cpu_time_s"] > 0 and row["wall_time_s"] > 0
    rows = {row["model"]: row for row in result.rows}
    # only DANN reverses the gradient; its strength ends at the paper's λ_p of the last batch
    assert rows["source_only"]["final_strength"] == 0.0 and rows["train_on_target"]["final_strength"] == 0.0
    assert rows["dann"]["final_strength"] == pytest.approx(2 / (1 + math.exp(-10 * (steps - 1) / steps)) - 1, rel=1e-5)

    # the accuracies by contrast polarity add up to the overall target accuracy, weighted by the groups' sizes
    counts = result.metadata["contrast_groups"]["counts"]
    assert sum(counts.values()) == 64
    for row in result.rows:
        parts = [(counts[group], row[f"target_accuracy_{key}"]) for group, key in
                 zip(domain_adaptation.CONTRAST_GROUPS, ("brighter", "similar", "darker"))]
        assert sum(count * value for count, value in parts if count) / 64 == pytest.approx(row["target_accuracy"])
        for key in ("brighter", "similar", "darker"):
            value = row[f"recognised_as_target_{key}"]
            assert value is None or 0.0 <= value <= 1.0
    assert "| source only | label accuracy |" in domain_adaptation.contrast_markdown(result)

    history = result.histories["dann/seed3"]
    assert len(history["grl_strength_per_batch"]) == steps and history["grl_strength_per_batch"][0] == 0.0
    assert history["val_label_accuracy"][-1] == pytest.approx(rows["dann"]["target_accuracy"], abs=1e-6)
    assert history["val_domain_accuracy"][-1] == pytest.approx(rows["dann"]["domain_accuracy"], abs=1e-6)
    expected_rates = [0.01 / (1 + 10 * (epoch / 2)) ** 0.75 for epoch in (1, 2)]
    np.testing.assert_allclose(history["learning_rate"], expected_rates, rtol=1e-5)
    assert result.histories["source_only/seed3"]["grl_strength"] == [0.0, 0.0]

    span = rows["train_on_target"]["target_accuracy"] - rows["source_only"]["target_accuracy"]
    gap = result.metadata["gap_closed"]["per_seed"]["3"]
    if abs(span) > 1e-12:
        assert gap == pytest.approx((rows["dann"]["target_accuracy"] - rows["source_only"]["target_accuracy"]) / span)
    else:
        assert gap is None

    projection = result.metadata["projection"]
    assert projection["method"] == "pca" and set(projection["panels"]) == {"source only", "DANN"}
    for panel in projection["panels"].values():
        assert np.shape(panel["source"]) == (projection["points"], 2)
        assert np.shape(panel["target"]) == (projection["points"], 2)

    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows and loaded.metadata["gap_closed"] == result.metadata["gap_closed"]
    table = domain_adaptation.comparison_markdown(loaded)
    assert "| MNIST → MNIST-M | paper | 0.5749 | 0.8149 | 0.9891 | 57.9% |" in table
    assert "Fashion-MNIST → Fashion-MNIST-M | ours (smoke, 1 seeds)" in table


@pytest.mark.multibackend
def test_contrast_groups():
    """A garment of grey 200 blended over uniform photos: a dark photo keeps it brighter than the background, a
    bright photo makes a negative of it, a photo at half its grey level hides it."""
    from keras_transfer import datasets

    garment = np.zeros((28, 28), "uint8")
    garment[6:22, 8:20] = 200
    source = np.stack([garment] * 3 + [np.zeros((28, 28), "uint8")])
    photos = {20: "object brighter", 240: "object darker", 100: "similar"}
    target = np.concatenate(
        [datasets.make_mnist_m(source[i : i + 1], [np.full((28, 28, 3), value, "uint8")]) for i, value in
         enumerate(photos)]
        + [datasets.make_mnist_m(source[3:], [np.full((28, 28, 3), 240, "uint8")])]
    )
    groups = domain_adaptation.contrast_groups(source, target)
    # an image with no object (empty mask) has no contrast: "similar"
    assert groups.tolist() == [*photos.values(), "similar"]
    # the same with RGB sources (grayscale repeated, as load_task gives them) and a wider margin
    rgb = np.repeat(source[..., None], 3, axis=-1)
    assert domain_adaptation.contrast_groups(rgb, target).tolist() == groups.tolist()
    assert domain_adaptation.contrast_groups(rgb, target, margin=250).tolist() == ["similar"] * 4
    with pytest.raises(ValueError, match="same images"):
        domain_adaptation.contrast_groups(source[:3], target)


@pytest.mark.multibackend
def test_gap_closed():
    gap = domain_adaptation.gap_closed(fake_rows({0: (0.5, 0.8, 0.9), 1: (0.4, 0.5, 0.8), 2: (0.6, 0.6, 0.6)}))
    assert gap["per_seed"] == {"0": pytest.approx(0.75), "1": pytest.approx(0.25), "2": None}
    assert gap["mean"] == pytest.approx(0.5)
    assert gap["std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert gap["of_means"] == pytest.approx((0.6333333 - 0.5) / (0.7666667 - 0.5), rel=1e-5)
    # a seed without all three models is left out
    partial = fake_rows({0: (0.5, 0.8, 0.9)})[:2]
    assert domain_adaptation.gap_closed(partial)["per_seed"] == {}
    # the paper's own numbers give the percentages printed in its Table 1
    paper = {entry["task"]: entry for entry in domain_adaptation.comparison_table(
        ExperimentResult("dann", "smoke", fake_rows({0: (0.5, 0.8, 0.9)})))}
    assert paper["MNIST → MNIST-M"]["gap_closed"] == pytest.approx(0.579, abs=5e-4)
    assert paper["Syn Signs → GTSRB"]["gap_closed"] == pytest.approx(0.567, abs=5e-4)


def test_profiles_and_overrides():
    full, quick = domain_adaptation.CONFIGS["full"], domain_adaptation.CONFIGS["quick"]
    assert full["task"] == "mnist" and quick["task"] == "fashion_mnist"
    for config in (full, quick):
        # the paper's schedules and optimizer
        assert (config["learning_rate"], config["alpha"], config["beta"]) == (0.01, 10.0, 0.75)
        assert (config["gamma"], config["max_strength"], config["momentum"]) == (10.0, 1.0, 0.9)
        assert len(config["seeds"]) >= 3
    with pytest.raises(ValueError, match="epoch=3"):
        domain_adaptation.run("smoke", verbose=0, epoch=3)
    with pytest.raises(ValueError, match="projection='umap'"):
        domain_adaptation.run("smoke", verbose=0, projection="umap")
    with pytest.raises(ValueError, match="models="):
        domain_adaptation.run("smoke", verbose=0, models=("dann", "adda"))
    with pytest.raises(ValueError, match="seeds="):
        domain_adaptation.run("smoke", verbose=0, seeds=())
    with pytest.raises(ValueError, match="profile='fast'"):
        domain_adaptation.run("fast", verbose=0)


def test_load_task_full_data_path(monkeypatch):
    """The `full` profile's data (MNIST and MNIST-M) goes through the same code; here from in-memory fixtures."""
    import keras

    from keras_transfer import datasets

    rng = np.random.default_rng(0)
    digits = ((rng.integers(0, 256, (40, 28, 28)).astype("uint8"), rng.integers(0, 10, 40).astype("uint8")),
              (rng.integers(0, 256, (20, 28, 28)).astype("uint8"), rng.integers(0, 10, 20).astype("uint8")))
    photos = [rng.integers(0, 256, (40, 50, 3)).astype("uint8")]
    blended = tuple((datasets.make_mnist_m(x, photos, seed=1), y) for x, y in digits)
    calls = []
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: digits)

    def fake_load_mnist_m(source, seed=0, limit=None, verbose=1):
        calls.append((source, seed, limit))
        return blended

    monkeypatch.setattr(datasets, "load_mnist_m", fake_load_mnist_m)
    data = domain_adaptation.load_task("mnist", train_size=30, test_size=10, data_seed=0, verbose=0)
    assert calls == [("mnist", 0, None)]
    assert data["source_train"][0].shape == (30, 28, 28, 3) and data["target_train"][0].shape == (30, 28, 28, 3)
    assert data["source_test"][0].shape == (10, 28, 28, 3) and data["target_test"][0].shape == (10, 28, 28, 3)
    # grayscale repeated over the channels, labels kept with their images
    source_x, source_y = data["source_train"]
    np.testing.assert_array_equal(source_x[..., 0], source_x[..., 2])
    for image, label in zip(source_x, source_y):
        index = np.flatnonzero((digits[0][0] == image[..., 0]).all(axis=(1, 2)))[0]
        assert label == digits[0][1][index]
    np.testing.assert_array_equal(data["target_test"][0], blended[1][0][:10])
    with pytest.raises(ValueError, match="train_size=50"):
        domain_adaptation.load_task("mnist", train_size=50, test_size=10, verbose=0)
    with pytest.raises(ValueError, match="task='svhn'"):
        domain_adaptation.load_task("svhn")


@pytest.mark.multibackend
def test_plot_feature_projection():
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(30, 12)), rng.normal(loc=3.0, size=(20, 12))
    figure = domain_plots.plot_feature_projection(
        {"source only": (source, target), "DANN": {"source": source, "target": target}}, method="pca"
    )
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == ["source only", "DANN"]
    sizes = [len(collection.get_offsets()) for collection in axes[0].collections]
    assert sizes == [30, 20]
    with pytest.raises(ValueError, match="method='pca'"):
        domain_plots.plot_feature_projection({"raw": (source, target)})
    source_2d, target_2d = domain_plots.project_features(source, target, method="tsne", seed=0)
    assert source_2d.shape == (30, 2) and target_2d.shape == (20, 2)
    # PCA projects both domains together: the offset between them shows along the first component
    source_2d, target_2d = domain_plots.project_features(source, target, method="pca")
    assert abs(source_2d[:, 0].mean() - target_2d[:, 0].mean()) > 5
    with pytest.raises(ValueError, match="same number of features"):
        domain_plots.project_features(source, target[:, :3])
    matplotlib.pyplot.close("all")


@pytest.mark.multibackend
def test_plot_domain_history():
    histories = {}
    for model in domain_adaptation.MODELS:
        for seed in (0, 1):
            histories[f"{model}/seed{seed}"] = {
                "loss": [1.0, 0.5, 0.4],
                "val_label_accuracy": [0.3, 0.4, 0.5],
                "val_domain_accuracy": [0.9, 0.7, 0.6],
                "grl_strength": [0.9, 0.99, 1.0] if model == "dann" else [0.0] * 3,
                "learning_rate": [0.004, 0.0025, 0.0018],
            }
            if model == "dann":
                histories[f"{model}/seed{seed}"]["grl_strength_per_batch"] = list(np.linspace(0, 1, 30))
    figure = domain_plots.plot_domain_history(histories)
    axes = figure.get_axes()
    assert len(axes) == 4
    assert len(axes[0].get_lines()) == 6  # one line per run
    assert len(axes[2].get_lines()[2].get_xdata()) == 30  # DANN's strength per batch
    matplotlib.pyplot.close("all")
