"""The transferability experiment: the smoke grid, resuming an interrupted grid, the full profile's CIFAR-100
plumbing on tensorflow-datasets' mock data, the comparison with the paper and the figure. (tests/test_notebooks.py
executes notebooks/03_transferability.ipynb in the smoke profile.)"""

import json

import matplotlib
import numpy as np
import pytest

from keras_transfer.experiments import transferability
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.plotting.transferability import plot_transferability

matplotlib.use("Agg")


class _Interrupt(KeyboardInterrupt):
    pass


def test_smoke_grid_is_interrupted_then_resumes_without_retraining(tmp_path, monkeypatch):
    output_dir = tmp_path / "grid"
    original_run, original_base = transferability.train_transfer_run, transferability._train_base
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
    monkeypatch.setattr(transferability, "_train_base", counting_base)
    with pytest.raises(_Interrupt):
        transferability.run("smoke", output_dir=output_dir, verbose=0)
    assert bases_trained == ["a", "b"]
    first_session = trained[:]
    lines = (output_dir / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["baseA", "baseB", *first_session]
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
    result = transferability.run("smoke", output_dir=output_dir, verbose=0)

    grid = [(f, n, 0) for n in (1, 4, 7) for f in ("BnB", "AnB", "BnB+", "AnB+")]
    assert bases_trained == []
    assert trained == [transferability.run_id(*cell) for cell in grid[len(first_session) :]]
    assert [row["run_id"] for row in result.rows] == ["baseB", *(transferability.run_id(*cell) for cell in grid)]
    for row in result.rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0
        assert row["resumed"] == (row["run_id"] in saved)
        if row["run_id"] in saved:
            assert row["test_accuracy"] == saved[row["run_id"]]["test_accuracy"]
    assert result.metadata["runs_trained"] == len(grid) - len(first_session)
    assert result.metadata["runs_resumed"] == 2 + len(first_session)
    assert result.metadata["base_accuracy"]["B"] == result.rows[0]["test_accuracy"]
    assert result.metadata["class_names_b"] == ["T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot"]
    assert result.metadata["train_size"] == {"a": 150, "b": 150}
    assert set(result.histories) == {"baseA", *(row["run_id"] for row in result.rows)}
    loaded = ExperimentResult.load(output_dir)
    assert loaded.rows == json.loads(json.dumps(result.rows))
    # every line of the file parses again (the cut-off line was closed by a newline)
    rows_on_disk = transferability.load_finished_runs(output_dir / "runs.jsonl", result.metadata["config_fingerprint"])
    assert set(rows_on_disk) == {"baseA", *(row["run_id"] for row in result.rows)}

    # a third run trains nothing
    trained.clear()
    again = transferability.run("smoke", output_dir=output_dir, verbose=0)
    assert trained == [] and again.metadata["runs_trained"] == 0


@pytest.mark.multibackend
def test_a_reduced_smoke_grid_runs_on_every_backend(tmp_path):
    result = transferability.run(
        "smoke", output_dir=tmp_path, verbose=0, n_values=(2,), families=("AnB", "BnB+"), seeds=(3,)
    )
    assert [(row["family"], row["n"], row["seed"]) for row in result.rows] == [
        ("baseB", 0, 0),
        ("AnB", 2, 3),
        ("BnB+", 2, 3),
    ]
    assert all(0.0 <= row["test_accuracy"] <= 1.0 for row in result.rows)
    assert result.rows[1]["source"] == "baseA" and result.rows[1]["fine_tuned"] is False
    assert result.rows[2]["source"] == "baseB" and result.rows[2]["fine_tuned"] is True
    assert len(result.histories["AnB-n2-seed3"]["loss"]) == transferability.CONFIGS["smoke"]["epochs"]
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 4  # base A, base B and the two runs


def test_fingerprint_changes_with_training_settings_only():
    config = dict(transferability.CONFIGS["smoke"])
    fingerprint = transferability.config_fingerprint(config)
    for key, value in {"n_values": (1,), "seeds": (0, 1), "families": ("AnB",), "resume": False}.items():
        assert transferability.config_fingerprint({**config, key: value}) == fingerprint, key
    for key, value in {"epochs": 2, "learning_rate": 0.01, "train_per_class": 31, "filters": (4, 8, 8, 8, 9)}.items():
        assert transferability.config_fingerprint({**config, key: value}) != fingerprint, key


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_values": (0, 3)}, r"Received: n_values=\(0, 3\)"),
        ({"n_values": (8,)}, r"1\.\.7"),
        ({"families": ("XnB",)}, r"Received: families=\('XnB',\)"),
        ({"seeds": (-1,)}, r"Received: seeds=\(-1,\)"),
        ({"epochs": 0}, "Received: epochs=0"),
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
        (x_train, y_train), (x_test, y_test), names = transferability.load_cifar100()
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
            epochs=1,
            filters=(2, 2, 2, 2, 2),
            units=(4, 4),
            run_eagerly=True,
        )
    split = result.metadata
    assert len(split["classes_a"]) == len(split["classes_b"]) == 50
    assert not set(split["classes_a"]) & set(split["classes_b"])
    assert split["class_names_b"][0] == names[split["classes_b"][0]]
    assert split["train_size"]["a"] + split["train_size"]["b"] == 120
    assert [row["family"] for row in result.rows] == ["baseB", "AnB+"]
    assert result.rows[1]["n"] == 3 and result.rows[1]["source"] == "baseA"
    assert not (tmp_path / "kt-data" / "tensorflow_datasets" / "cifar100").exists()  # the mock downloads nothing


def _synthetic_result(means, seeds=(0, 1)):
    rows = [{"family": "baseB", "n": 0, "seed": 0, "test_accuracy": means["baseB"]}]
    for family in ("BnB", "AnB", "BnB+", "AnB+"):
        for n, value in enumerate(means[family], start=1):
            for seed in seeds:
                rows.append({"family": family, "n": n, "seed": seed, "test_accuracy": value + 0.002 * (seed - 0.5)})
    return ExperimentResult(name="transferability", profile="quick", rows=rows)


# Figure 2 of the paper, read off by eye (top-1 accuracy): the pattern, not the values, is what is checked.
PAPER_LIKE = {
    "baseB": 0.625,
    "BnB": [0.625, 0.624, 0.615, 0.595, 0.59, 0.605, 0.622],
    "AnB": [0.623, 0.62, 0.605, 0.585, 0.57, 0.545, 0.52],
    "BnB+": [0.626, 0.625, 0.624, 0.626, 0.624, 0.625, 0.626],
    "AnB+": [0.64, 0.641, 0.642, 0.64, 0.641, 0.64, 0.639],
}


@pytest.mark.multibackend
def test_compare_with_paper_recognises_the_papers_pattern_and_its_opposite():
    verdicts = {e["family"]: e["agrees"] for e in transferability.compare_with_paper(_synthetic_result(PAPER_LIKE))}
    assert verdicts == {"BnB": True, "AnB": True, "BnB+": True, "AnB+": True}
    flat = {key: ([0.625] * 7 if key != "baseB" else 0.625) for key in PAPER_LIKE}
    verdicts = {e["family"]: e["agrees"] for e in transferability.compare_with_paper(_synthetic_result(flat))}
    assert verdicts == {"BnB": False, "AnB": False, "BnB+": True, "AnB+": False}
    table = transferability.accuracy_table(_synthetic_result(PAPER_LIKE))
    assert "| AnB | 0.6230 ± 0.0014 |" in table and table.count("\n") == 6
    assert "| BnB+ |" in transferability.comparison_table(_synthetic_result(PAPER_LIKE))


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
