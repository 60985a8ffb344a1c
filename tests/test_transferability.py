"""The transferability experiment: the smoke grid, resuming an interrupted grid, the full profile's CIFAR-100
plumbing on tensorflow-datasets' mock data, the comparison with the paper and the figure. (The notebook's reports:
tests/test_reports_transferability.py; tests/test_notebooks.py executes notebooks/03_transferability.ipynb.)"""

import json

import fixtures
import matplotlib
import numpy as np
import pytest

from keras_transfer.datasets.cifar100 import load_cifar100
from keras_transfer import profiles
from keras_transfer.experiments import transferability
from keras_transfer.experiments import transferability_analysis as analysis
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.experiments.base import RunJournal
from keras_transfer.experiments.base import config_fingerprint
from keras_transfer.models import yosinski
from keras_transfer.plotting.transferability import plot_transferability

matplotlib.use("Agg")


class _Interrupt(KeyboardInterrupt):
    pass


def test_smoke_grid_is_interrupted_then_resumes_without_retraining(tmp_path, monkeypatch, capsys):
    output_dir = tmp_path / "grid"
    original_run, original_base = transferability.train_transfer_run, transferability.train_base
    trained, bases_trained = [], []

    def interrupting_run(family, n, seed, *args, **kwargs):
        if len(trained) == 5:
            raise _Interrupt("stopped by the test")
        trained.append(transferability.run_id(family, n, seed))
        return original_run(family, n, seed, *args, **kwargs)

    def counting_base(half, *args, **kwargs):
        bases_trained.append(half)
        return original_base(half, *args, **kwargs)

    monkeypatch.setattr(transferability, "train_transfer_run", interrupting_run)
    monkeypatch.setattr(transferability, "train_base", counting_base)
    with pytest.raises(_Interrupt):
        transferability.run("smoke", output_dir=output_dir, verbose=0)
    assert bases_trained == ["a", "b"]
    first_session = trained[:]
    lines = (output_dir / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["baseA-seed0", "baseB-seed0", *first_session]
    saved = {json.loads(line)["run_id"]: json.loads(line) for line in lines}
    # a kill in the middle of a write leaves a cut-off last line: it must be ignored, not break the file
    with open(output_dir / "runs.jsonl", "a") as handle:
        handle.write('{"run_id": "AnB-n7-seed0", "test_accur')

    def counting_run(family, n, seed, *args, **kwargs):
        trained.append(transferability.run_id(family, n, seed))
        return original_run(family, n, seed, *args, **kwargs)

    trained.clear()
    bases_trained.clear()
    monkeypatch.setattr(transferability, "train_transfer_run", counting_run)
    monkeypatch.setenv("KT_PROGRESS", "text")
    capsys.readouterr()
    result = transferability.run("smoke", output_dir=output_dir, verbose=1)
    shown = capsys.readouterr().out

    grid = [(f, n, 0) for n in (1, 4, 7) for f in ("BnB", "AnB", "BnB+", "AnB+")]
    assert bases_trained == []
    assert trained == [transferability.run_id(*cell) for cell in grid[len(first_session) :]]
    # one bar over the networks left to train (the bases' weights are saved: only the grid's 7 runs), no lines
    left = len(grid) - len(first_session)
    assert f"{left}/{left}" in shown and "network" in shown and "AnB+-n7-seed0: " in shown
    assert "test accuracy" not in shown
    assert {"wall_time_s", "cpu_time_s", "backend", "request"} <= set(result.metadata)  # recorded by base.recipe
    assert [row["run_id"] for row in result.rows] == ["baseB-seed0", *(transferability.run_id(*c) for c in grid)]
    for row in result.rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0
        assert row["resumed"] == (row["run_id"] in saved)
        if row["run_id"] in saved:
            assert row["test_accuracy"] == saved[row["run_id"]]["test_accuracy"]
    assert result.metadata["runs_trained"] == len(grid) - len(first_session)
    assert result.metadata["runs_resumed"] == 2 + len(first_session)
    assert result.metadata["base_accuracy"]["B"] == [result.rows[0]["test_accuracy"]]
    assert result.metadata["class_names"]["b"] == ["T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot"]
    assert result.metadata["input_shape"] == [32, 32, 3]  # items pasted on photos
    assert result.metadata["train_size"] == {"a": 150, "b": 50} and result.metadata["validation_size"] == {"b": 50}
    assert all(0.0 <= row["validation_accuracy"] <= 1.0 for row in result.rows)
    assert set(result.histories) == {"baseA-seed0", *(row["run_id"] for row in result.rows)}
    loaded = ExperimentResult.load(output_dir)
    assert loaded.rows == json.loads(json.dumps(result.rows))
    # every line of the file parses again (the cut-off line was closed by a newline)
    rows_on_disk = RunJournal(output_dir / "runs.jsonl", result.metadata["config_fingerprint"]).finished()
    assert set(rows_on_disk) == {"baseA-seed0", *(row["run_id"] for row in result.rows)}
    assert [entry["family"] for entry in result.metadata["comparison"]] == ["BnB", "AnB", "BnB+", "AnB+"]

    # a third run trains nothing
    trained.clear()
    again = transferability.run("smoke", output_dir=output_dir, verbose=0)
    assert trained == [] and again.metadata["runs_trained"] == 0


@pytest.mark.multibackend
def test_a_reduced_smoke_grid_runs_on_every_backend(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", "text")
    result = transferability.run(
        "smoke", output_dir=tmp_path, verbose=2, n_values=(2,), families=("AnB", "BnB+"), seeds=(3,)
    )
    shown = capsys.readouterr().out
    assert "4/4" in shown  # base A, base B and the two runs
    assert f"AnB-n2-seed3: test accuracy {result.rows[1]['test_accuracy']:.4f}" in shown  # verbose=2: a line each
    assert [(row["family"], row["n"], row["seed"]) for row in result.rows] == [
        ("baseB", 0, 3),
        ("AnB", 2, 3),
        ("BnB+", 2, 3),
    ]
    assert all(0.0 <= row["test_accuracy"] <= 1.0 for row in result.rows)
    assert result.rows[1]["source"] == "baseA" and result.rows[1]["fine_tuned"] is False
    assert result.rows[2]["source"] == "baseB" and result.rows[2]["fine_tuned"] is True
    assert len(result.histories["AnB-n2-seed3"]["loss"]) == result.rows[1]["epochs_trained"]
    cap = transferability.CONFIGS["smoke"]["epochs_b"]
    assert 1 <= result.rows[1]["epochs"] <= result.rows[1]["epochs_trained"] <= cap
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 4  # base A, base B and the two runs


def test_fingerprint_changes_with_training_settings_only():
    config = dict(transferability.CONFIGS["smoke"])
    fingerprint = transferability.run_fingerprint(config)
    for key, value in {"n_values": (1,), "seeds": (0, 1), "families": ("AnB",), "resume": False}.items():
        assert transferability.run_fingerprint({**config, key: value}) == fingerprint, key
    changes = {"epochs_b": 3, "patience_b": 2, "learning_rate": 0.01, "train_per_class_b": 11,
               "validation_per_class": 9, "split_seed": 7, "filters": (4, 8, 8, 8, 9),
               "min_epochs_b": 1, "image_size": 24, "crop_range": (1.0, 2.0)}
    for key, value in changes.items():
        assert transferability.run_fingerprint({**config, key: value}) != fingerprint, key
    # the photo settings only count for the pasted data: the runs saved on plain Fashion-MNIST keep their fingerprint
    plain = {**config, "dataset": "fashion_mnist"}
    assert transferability.run_fingerprint({**plain, "image_size": 24}) == transferability.run_fingerprint(plain)
    # no early stopping: the fingerprint of the runs saved before `patience_b` existed, so they are reused
    fixed = {**config, "dataset": "fashion_mnist", "patience_b": None}
    before = [key for key in transferability.RUN_KEYS if key != "patience_b"]
    assert transferability.run_fingerprint(fixed) == config_fingerprint(fixed, before) != fingerprint


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_values": (0, 3)}, r"Received: n_values=\(0, 3\)"),
        ({"n_values": (8,)}, r"1\.\.7"),
        ({"families": ("XnB",)}, r"Received: families=\('XnB',\)"),
        ({"seeds": (-1,)}, r"Received: seeds=\(-1,\)"),
        ({"epochs_b": 0}, "Received: epochs_b=0"),
        ({"train_per_class_b": 0}, "Received: train_per_class_b=0"),
        ({"patience_b": 0}, "Received: patience_b=0"),
        ({"validation_per_class": None}, "Received: validation_per_class=None"),
        ({"min_epochs_b": 2}, r"Received: min_epochs_b=2"),
        ({"min_epochs_b": -1}, r"Received: min_epochs_b=-1"),
        ({"dataset": "imagenet"}, "Received: dataset='imagenet'"),
        ({"epoch": 3}, "Received: epoch=3"),
    ],
)
def test_bad_settings_are_refused_before_any_training(overrides, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        transferability.run("smoke", output_dir=tmp_path, verbose=0, **overrides)
    assert not (tmp_path / "runs.jsonl").exists()


def test_full_profile_reads_cifar100_halves_through_tfds(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setenv("KT_DATA_DIR", str(tmp_path / "kt-data"))
    with tfds.testing.mock_data(num_examples=120):
        (x_train, y_train), (x_test, y_test), names = load_cifar100()
        assert x_train.shape == (120, 32, 32, 3) and x_train.dtype == np.uint8
        assert y_train.shape == (120,) and 0 <= y_train.min() and y_train.max() < 100
        assert len(names) == 100 and all(isinstance(name, str) for name in names)  # the mock names them "0".."99"
        result = transferability.run(
            "full",
            output_dir=tmp_path / "full",
            verbose=0,
            seeds=(0,),
            n_values=(3,),
            families=("AnB+",),
            epochs_a=1,
            epochs_b=1,
            validation_per_class=None,
            patience_b=None,
            filters=(2, 2, 2, 2, 2),
            units=(4, 4),
            run_eagerly=True,
        )
    split = result.metadata
    assert len(split["classes"]["a"]) == len(split["classes"]["b"]) == 50
    assert not set(split["classes"]["a"]) & set(split["classes"]["b"])
    assert split["class_names"]["b"][0] == names[split["classes"]["b"][0]]
    assert split["train_size"]["a"] + split["train_size"]["b"] == 120
    assert [row["family"] for row in result.rows] == ["baseB", "AnB+"]
    assert result.rows[1]["n"] == 3 and result.rows[1]["source"] == "baseA"
    assert not (tmp_path / "kt-data" / "tensorflow_datasets" / "cifar100").exists()  # the mock downloads nothing


def test_early_stopping_keeps_the_weights_of_the_best_validation_epoch():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (40, 12, 12, 1), dtype=np.uint8), rng.integers(0, 3, 40).astype("int32")
    sets = {"validation": (x[:20], y[:20]), "test": (x[20:], y[20:])}
    config = {**transferability.CONFIGS["smoke"], "dropout": 0.0}
    model = yosinski.build_network(config, 3, (12, 12, 1), seed=0)
    record = yosinski.train_network(model, (x[20:], y[20:]), sets, epochs=12, batch_size=8, learning_rate=3e-3,
                                    seed=0, run_eagerly=True, patience=2)
    val_accuracy, val_loss = record["history"]["val_accuracy"], record["history"]["val_loss"]
    assert record["epochs_trained"] == len(val_accuracy) <= 12
    assert record["epochs"] == int(np.argmax(val_accuracy)) + 1
    # the model kept is the best epoch's, not the last one's: its validation figures are that epoch's
    assert record["validation_accuracy"] == pytest.approx(max(val_accuracy))
    assert record["validation_loss"] == pytest.approx(val_loss[record["epochs"] - 1], rel=1e-4)
    assert record["epochs_trained"] == 12 or record["epochs_trained"] == record["epochs"] + 2
    with pytest.raises(ValueError, match="needs a validation set"):
        yosinski.train_network(model, (x, y), {"test": (x, y)}, epochs=1, batch_size=8, learning_rate=1e-3,
                               seed=0, patience=2)


def test_early_stopping_watches_only_from_min_epochs_on():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 255, (40, 12, 12, 1), dtype=np.uint8), rng.integers(0, 3, 40).astype("int32")
    sets = {"validation": (x[:20], y[:20]), "test": (x[20:], y[20:])}
    config = {**transferability.CONFIGS["smoke"], "dropout": 0.0}
    model = yosinski.build_network(config, 3, (12, 12, 1), seed=0)
    record = yosinski.train_network(model, (x[20:], y[20:]), sets, epochs=9, batch_size=8, learning_rate=3e-3,
                                    seed=0, run_eagerly=True, patience=1, min_epochs=5)
    val_accuracy = record["history"]["val_accuracy"]
    assert record["epochs_trained"] >= 7  # watched from the sixth epoch on, then one epoch of patience
    assert record["epochs"] == 5 + int(np.argmax(val_accuracy[5:])) + 1
    assert record["validation_accuracy"] == pytest.approx(max(val_accuracy[5:]))
    with pytest.raises(ValueError, match="Received: min_epochs=9"):
        yosinski.train_network(model, (x, y), sets, epochs=9, batch_size=8, learning_rate=1e-3, seed=0, patience=1,
                               min_epochs=9)


def test_pasted_halves_hold_photos_of_disjoint_classes_with_exact_budgets():
    config = transferability._check_config(dict(transferability.CONFIGS["smoke"]), None)
    data = transferability.load_halves(config)
    x_b, y_b = data["b"]["train"]
    assert x_b.shape == (50, 32, 32, 3) and x_b.dtype == np.uint8 and y_b.dtype == np.int32
    assert np.bincount(y_b).tolist() == [10] * 5
    assert np.bincount(data["b"]["validation"][1]).tolist() == [10] * 5
    assert np.bincount(data["b"]["test"][1]).tolist() == [20] * 5
    assert len(data["a"]["train"][1]) == 150 and set(data["a"]["train"][1].tolist()) <= set(range(5))
    assert not set(data["split"].classes_a) & set(data["split"].classes_b)
    # a photo background: colour pixels (the items alone are gray on black)
    assert (x_b[..., 0] != x_b[..., 1]).mean() > 0.3
    again = transferability.load_halves(config)  # the data does not depend on the run's seed: the same every time
    assert np.array_equal(again["b"]["train"][0], x_b) and np.array_equal(again["a"]["test"][0], data["a"]["test"][0])


def test_the_live_settings_are_valid_and_smaller_than_the_profile():
    for profile, overrides in transferability.LIVE.items():
        live = transferability._check_config(profiles.select(transferability.CONFIGS, profile, overrides), None)
        full = transferability._check_config(profiles.select(transferability.CONFIGS, profile, {}), None)
        assert len(live["n_values"]) * len(live["families"]) <= len(full["n_values"]) * len(full["families"])
    assert set(transferability.LIVE["quick"]["families"]) == {"AnB", "AnB+"}


def _synthetic_result(means, seeds=(0, 1), spread=0.002):
    """Rows around `means`, seed s shifted by `spread * (s - 0.5)` (base B too, so paired differences are exact)."""
    rows = [{"family": "baseB", "n": 0, "seed": s, "test_accuracy": means["baseB"] + spread * (s - 0.5)} for s in seeds]
    for family in ("BnB", "AnB", "BnB+", "AnB+"):
        for n, value in enumerate(means[family], start=1):
            for seed in seeds:
                rows.append({"family": family, "n": n, "seed": seed, "test_accuracy": value + spread * (seed - 0.5)})
    metadata = {"paper_pattern": dict(analysis.PAPER_PATTERN), "comparison": analysis.compare_with_paper(rows)}
    return ExperimentResult(name="transferability", profile="quick", rows=rows, metadata=metadata)


PAPER_LIKE = fixtures.YOSINSKI_FIGURE_2


@pytest.mark.multibackend
def test_compare_with_paper_recognises_the_papers_pattern_and_its_opposite():
    comparison = {e["family"]: e for e in analysis.compare_with_paper(_synthetic_result(PAPER_LIKE).rows)}
    assert {family: e["agrees"] for family, e in comparison.items()} == {f: True for f in PAPER_LIKE if f != "baseB"}
    assert comparison["BnB"]["dip"]["n"] == 5 and comparison["BnB"]["dip"]["below_base"] == pytest.approx(0.035)
    assert comparison["AnB"]["fall"] == pytest.approx({"from_n": 3, "to_n": 7, "mean": 0.085, "std": 0.0, "runs": 2})
    assert comparison["AnB+"]["above_n"] == [1, 2, 3, 4, 5, 6, 7]
    flat = {key: ([0.625] * 7 if key != "baseB" else 0.625) for key in PAPER_LIKE}
    verdicts = {e["family"]: e["agrees"] for e in analysis.compare_with_paper(_synthetic_result(flat).rows)}
    assert verdicts == {"BnB": False, "AnB": False, "BnB+": True, "AnB+": False}


def test_a_gain_smaller_than_the_seed_spread_does_not_count():
    # AnB+ one point above base B on average, but seed 0 and seed 1 of base B differ by three points
    means = {**PAPER_LIKE, "AnB+": [0.635] * 7}
    rows = _synthetic_result(means, seeds=(0, 1), spread=0.0).rows
    for row in rows:
        if row["family"] == "AnB+" and row["n"] <= 3:
            row["test_accuracy"] += 0.03 if row["seed"] == 0 else -0.03
    entry = next(e for e in analysis.compare_with_paper(rows) if e["family"] == "AnB+")
    assert entry["above_n"] == [4, 5, 6, 7] and entry["agrees"] is False
    assert "at 4 of 7 n" in entry["ours"]
    difference = next(d for d in entry["differences"] if d["n"] == 1)
    assert difference["mean"] == pytest.approx(0.01) and difference["std"] == pytest.approx(0.06 / 2**0.5)


@pytest.mark.multibackend
def test_plot_draws_a_dot_per_run_and_a_line_per_family():
    result = _synthetic_result(PAPER_LIKE)
    figure = plot_transferability(result)
    assert len(figure.axes) == 3  # the runs, the zoom on base B, the paper's pattern
    main, zoom = [ax for ax in figure.axes if ax.get_lines()]
    for panel, scale in ((main, None), (zoom, 100.0)):
        lines = {line.get_label(): line for line in panel.get_lines()}
        assert set(lines) >= {"BnB", "AnB", "BnB+", "AnB+", "base B (mean)"}
        expected = np.array(PAPER_LIKE["AnB"])
        if scale:
            expected = (expected - PAPER_LIKE["baseB"]) * scale
        np.testing.assert_allclose(lines["AnB"].get_ydata(), expected, atol=1e-9)
        assert sum(len(collection.get_offsets()) for collection in panel.collections) == len(result.rows)
    text = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    assert "Yosinski" in text and "ours agrees" in text and "ours differs" not in text
    assert len(plot_transferability(result, paper_pattern=False, zoom=False).axes) == 1
    matplotlib.pyplot.close("all")
