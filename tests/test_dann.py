"""Tests of the `dann` experiment (source only, DANN, train on target on MNIST → MNIST-M), its tables and figures."""

import math

import matplotlib
import numpy as np
import pytest

from keras_transfer.embeddings import projection as kt_projection
from keras_transfer.experiments import dann as experiment
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.plotting import domains as domain_plots

matplotlib.use("Agg")


def fake_rows(accuracies, key="target_accuracy"):
    """Rows as the experiment writes them, from `{seed: (source_only, dann, train_on_target)}`."""
    return [{"model": model, "seed": seed, key: value, "domain_accuracy": 0.5}
            for seed, values in accuracies.items() for model, value in zip(experiment.MODELS, values)]


@pytest.mark.multibackend
def test_smoke_run(data_dir, tmp_path):
    result = experiment.run("smoke", seeds=(3,), output_dir=tmp_path / "out", verbose=0, steps=8, evaluations=2,
                            train_size=128, validation_size=32, test_size=64, projection_points=32)
    assert [row["model"] for row in result.rows] == list(experiment.MODELS)
    assert result.metadata["sizes"] == {"source_train": 128, "source_validation": 32, "source_test": 64,
                                        "target_train": 128, "target_validation": 32, "target_test": 64}
    for row in result.rows:
        assert row["seed"] == 3 and row["steps"] == 8
        for key in ("target_accuracy", "source_accuracy", "domain_accuracy", "target_validation_accuracy"):
            assert 0.0 <= row[key] <= 1.0
        assert row["cpu_time_s"] > 0 and row["wall_time_s"] > 0
    rows = {row["model"]: row for row in result.rows}
    # only DANN reverses the gradient; its strength ends at the paper's λ_p of the last batch
    assert rows["source_only"]["final_strength"] == 0.0 and rows["train_on_target"]["final_strength"] == 0.0
    assert rows["dann"]["final_strength"] == pytest.approx(2 / (1 + math.exp(-10 * 7 / 8)) - 1, rel=1e-5)
    # the DANN row carries the seed's three target accuracies and the gap it closes
    assert rows["dann"]["source_only_accuracy"] == rows["source_only"]["target_accuracy"]
    assert rows["dann"]["train_on_target_accuracy"] == rows["train_on_target"]["target_accuracy"]
    span = rows["train_on_target"]["target_accuracy"] - rows["source_only"]["target_accuracy"]
    expected = (rows["dann"]["target_accuracy"] - rows["source_only"]["target_accuracy"]) / span if span > 0 else None
    assert rows["dann"]["gap_closed"] == pytest.approx(expected)
    assert result.metadata["gap_closed"]["per_seed"]["3"] == pytest.approx(expected)
    assert result.metadata["outcome"]["goal"] == experiment.GAP_GOAL

    history = result.histories["dann/seed3"]
    assert history["step"] == [4, 8] and len(history["grl_strength_per_batch"]) == 8
    assert history["val_label_accuracy"][-1] == pytest.approx(rows["dann"]["target_validation_accuracy"], abs=1e-6)
    assert result.histories["source_only/seed3"]["grl_strength"] == [0.0, 0.0]

    projection = result.metadata["projection"]
    assert projection["method"] == "pca" and set(projection["panels"]) == {"source only", "DANN"}
    for panel in projection["panels"].values():
        assert np.shape(panel["source"]) == (32, 2) and np.shape(panel["target"]) == (32, 2)

    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows and loaded.metadata["gap_closed"] == result.metadata["gap_closed"]
    table = experiment.comparison_markdown(loaded)
    assert "| MNIST → MNIST-M | paper | 0.5749 | 0.8149 | 0.9891 | 57.9% |" in table
    assert "| MNIST → MNIST-M | ours (smoke, 1 seeds) |" in table
    assert f"| 3 | {rows['source_only']['target_accuracy']:.4f} | {rows['dann']['target_accuracy']:.4f} |" in (
        experiment.seed_markdown(loaded))


def test_gap_closed_per_seed_and_summary():
    rows = fake_rows({0: (0.5, 0.8, 0.9), 1: (0.4, 0.5, 0.8), 2: (0.6, 0.6, 0.6)})
    gap = experiment.gap_closed(rows)
    assert gap["per_seed"] == {"0": pytest.approx(0.75), "1": pytest.approx(0.25), "2": None}
    assert gap["mean"] == pytest.approx(0.5) and gap["std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert gap["of_means"] == pytest.approx((0.6333333 - 0.5) / (0.7666667 - 0.5), rel=1e-5)
    assert gap["every_seed_positive"] is False  # seed 2 has no gap to close
    assert experiment.gap_closed(fake_rows({0: (0.5, 0.8, 0.9), 1: (0.4, 0.5, 0.8)}))["every_seed_positive"]
    assert not experiment.gap_closed(fake_rows({0: (0.5, 0.8, 0.9), 1: (0.5, 0.45, 0.8)}))["every_seed_positive"]
    # a seed without all three models is left out; the validation accuracies give the validation gap
    assert experiment.gap_closed(fake_rows({0: (0.5, 0.8, 0.9)})[:2])["per_seed"] == {}
    validation = experiment.gap_closed(fake_rows({0: (0.2, 0.6, 1.0)}, key="v"), key="v")
    assert validation["per_seed"] == {"0": pytest.approx(0.5)}

    # the DANN rows get the seed's accuracies; the tables print them per seed and as mean ± std
    experiment._fill_dann_rows(rows)
    assert rows[1] == {"model": "dann", "seed": 0, "target_accuracy": 0.8, "domain_accuracy": 0.5,
                       "source_only_accuracy": 0.5, "train_on_target_accuracy": 0.9, "gap_closed": pytest.approx(0.75)}
    result = ExperimentResult("dann", "quick", rows[:6], metadata={
        "task": "MNIST → MNIST-M", "gap_closed": experiment.gap_closed(rows[:6]),
        "paper_table_1": [dict(entry) for entry in experiment.PAPER_TABLE_1]})
    seeds = experiment.seed_markdown(result)
    assert "| 0 | 0.5000 | 0.8000 | 0.9000 | 75.0% |" in seeds and "| 1 | 0.4000 | 0.5000 | 0.8000 | 25.0% |" in seeds
    assert "| mean ± std | 0.4500 ± 0.0707 | 0.6500 ± 0.2121 | 0.8500 ± 0.0707 | 50.0 ± 35.4% |" in seeds
    comparison = experiment.comparison_markdown(result)
    assert "| Syn Signs → GTSRB | paper | 0.7400 | 0.8866 | 0.9987 | 56.7% |" in comparison
    assert "| MNIST → MNIST-M | ours (quick, 2 seeds) | 0.4500 ± 0.0707 | 0.6500 ± 0.2121 |" in comparison


def test_profiles_and_overrides():
    configs = experiment.CONFIGS
    assert configs["full"]["source"] == "mnist" and configs["quick"]["source"] == "mnist_5k"
    for config in configs.values():
        # the paper's schedules, optimizer and batches of 64 + 64 outside smoke; quick's μ0 chosen on validation
        assert config["beta"] == 0.75
        assert (config["gamma"], config["max_strength"], config["momentum"]) == (10.0, 1.0, 0.9)
        assert config["steps"] % config["evaluations"] == 0
    assert configs["quick"]["batch_size"] == configs["full"]["batch_size"] == 128
    # the paper's decay in full; quick's 2,000 steps decay more slowly (α chosen on validation)
    assert configs["full"]["alpha"] == 10.0 and configs["quick"]["alpha"] == 2.0
    assert configs["full"]["learning_rate"] == configs["quick"]["learning_rate"] == 0.01
    assert len(configs["quick"]["seeds"]) >= 3 and configs["quick"]["validation_size"] > 0
    # the offline photos are cut into tiles shared out to the splits (smoke runs quick's data code); full is the paper's
    assert configs["smoke"]["photo_split"] == configs["quick"]["photo_split"] == "tiles"
    assert configs["full"]["photo_split"] == "photos"
    # live mode: the profile's own keys, fewer steps, still a whole number of evaluations
    assert set(experiment.LIVE) == set(configs)
    for profile, live in experiment.LIVE.items():
        config = {**configs[profile], **live}
        assert set(live) <= set(configs[profile]) and config["steps"] % config["evaluations"] == 0
        assert config["steps"] <= configs[profile]["steps"]
    with pytest.raises(ValueError, match="epochs=3"):
        experiment.run("smoke", verbose=0, epochs=3)
    with pytest.raises(ValueError, match="projection='umap'"):
        experiment.run("smoke", verbose=0, projection="umap")
    with pytest.raises(ValueError, match="models="):
        experiment.run("smoke", verbose=0, models=("dann", "adda"))
    with pytest.raises(ValueError, match="source='svhn'"):
        experiment.run("smoke", verbose=0, source="svhn")
    with pytest.raises(ValueError, match="seeds="):
        experiment.run("smoke", verbose=0, seeds=())
    with pytest.raises(ValueError, match="photo_split='halves'"):
        experiment.run("smoke", verbose=0, photo_split="halves")
    with pytest.raises(ValueError, match="profile='fast'"):
        experiment.run("fast", verbose=0)


@pytest.mark.multibackend
def test_projection_and_plots():
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(30, 12)), rng.normal(loc=3.0, size=(20, 12))
    # PCA projects both domains together: the offset between them shows along the first component
    source_2d, target_2d = kt_projection.project_features(source, target, method="pca")
    assert source_2d.shape == (30, 2) and target_2d.shape == (20, 2)
    assert abs(source_2d[:, 0].mean() - target_2d[:, 0].mean()) > 5
    assert kt_projection.project_features(source, target, method="tsne", seed=0)[1].shape == (20, 2)
    with pytest.raises(ValueError, match="same number of features"):
        kt_projection.project_features(source, target[:, :3])
    with pytest.raises(ValueError, match="method='umap'"):
        kt_projection.project_features(source, target, method="umap")
    panels = experiment.projection({"DANN": [source, target]}, method="pca", seed=0)
    assert panels["points"] == 30 and np.shape(panels["panels"]["DANN"]["target"]) == (20, 2)

    figure = domain_plots.plot_feature_projection(
        {"source only": (source_2d, target_2d), "DANN": panels["panels"]["DANN"]})
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == ["source only", "DANN"]
    assert [len(collection.get_offsets()) for collection in axes[0].collections] == [30, 20]
    with pytest.raises(ValueError, match="2-D points"):
        domain_plots.plot_feature_projection({"raw": (source, target)})

    histories = {}
    for model in experiment.MODELS:
        for seed in (0, 1):
            histories[f"{model}/seed{seed}"] = {
                "loss": [1.0, 0.5, 0.4], "step": [10, 20, 30], "val_label_accuracy": [0.3, 0.4, 0.5],
                "val_domain_accuracy": [0.9, 0.7, 0.6], "learning_rate": [0.004, 0.0025, 0.0018],
                "grl_strength": [0.9, 0.99, 1.0] if model == "dann" else [0.0] * 3,
            }
            if model == "dann":
                histories[f"{model}/seed{seed}"]["grl_strength_per_batch"] = list(np.linspace(0, 1, 30))
    axes = domain_plots.plot_domain_history(histories).get_axes()
    assert len(axes) == 4 and len(axes[0].get_lines()) == 6  # one line per run
    assert list(axes[0].get_lines()[0].get_xdata()) == [10, 20, 30]  # against the training step
    assert len(axes[2].get_lines()[2].get_xdata()) == 30  # DANN's strength per batch
    matplotlib.pyplot.close("all")
