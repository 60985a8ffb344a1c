"""Tests of the `dann` experiment (source only, DANN, train on target on MNIST → MNIST-M), its tables and figures."""

import math

import matplotlib
import numpy as np
import pytest

from keras_transfer.embeddings import projection as kt_projection
from keras_transfer.experiments import dann as experiment
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.plotting import domains as domain_plots
from keras_transfer.reports import dann as dann_reports

matplotlib.use("Agg")


def fake_rows(accuracies, key="target_accuracy"):
    """Rows as the experiment writes them, from `{seed: (source_only, dann, train_on_target)}`."""
    return [{"model": model, "seed": seed, key: value, "domain_accuracy": 0.5}
            for seed, values in accuracies.items() for model, value in zip(experiment.MODELS, values)]


@pytest.mark.multibackend
def test_smoke_run(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", "text")
    result = experiment.run("smoke", seeds=(3,), output_dir=tmp_path / "out", verbose=1, steps=8, evaluations=2,
                            train_size=128, validation_size=32, test_size=64, projection_points=32)
    # verbose=1: one progress bar over the three networks, ending on the last one's result; no line per network
    shown = capsys.readouterr()
    assert "DANN (smoke)" in shown.out and "3/3" in shown.out and "train on target, seed 3: target" in shown.out
    assert "[dann]" not in shown.out and "Epoch" not in shown.out
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

    # the recipe decorator times the run, records the backend and saves it; the reports read the saved result
    assert result.metadata["wall_time_s"] > 0 and result.metadata["backend"]
    assert result.metadata["titles"] == experiment.MODEL_TITLES
    assert result.metadata["paper_table_1"][0]["gap_closed"] == pytest.approx(0.5794, abs=1e-4)
    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows and loaded.metadata["gap_closed"] == result.metadata["gap_closed"]
    table = dann_reports.paper_table(loaded)
    assert "| MNIST → MNIST-M | paper | 57.5% | 81.5% | 98.9% | 57.9% |" in table
    assert "| MNIST → MNIST-M | ours (smoke, 1 seed) |" in table
    so, adapted = (f"{100 * rows[model]['target_accuracy']:.1f}%" for model in ("source_only", "dann"))
    assert f"| 3 | {so} | {adapted} |" in dann_reports.seed_table(loaded)


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

    # the DANN rows get the seed's accuracies (the reports' tables: tests/test_reports_dann.py)
    experiment._fill_dann_rows(rows)
    assert rows[1] == {"model": "dann", "seed": 0, "target_accuracy": 0.8, "domain_accuracy": 0.5,
                       "source_only_accuracy": 0.5, "train_on_target_accuracy": 0.9, "gap_closed": pytest.approx(0.75)}


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
