"""The off-the-shelf and Full-Network Embedding experiments: retrieval metrics by hand, the smoke runs, the full
profile's Oxford-17 data path on fixture files, the paper comparison, the figures and the notebooks."""

import json
import pathlib
import shutil
import tarfile

import keras
import matplotlib
import numpy as np
import pytest

import fixtures
from keras_transfer import selection
from keras_transfer.embeddings import extract_layer_features
from keras_transfer.embeddings import tasks
from keras_transfer.experiments import full_network_embedding as fne
from keras_transfer.experiments import off_the_shelf
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.models import build_source_network
from keras_transfer.plotting import plot_accuracy_by_depth
from keras_transfer.plotting import plot_fne_comparison
from keras_transfer.plotting import plot_retrieval
from keras_transfer.reports import full_network_embedding as fne_report
from keras_transfer.reports import off_the_shelf as ots_report

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2", "fc1", "fc2"]


def test_the_papers_table_shows_the_shape_the_checks_describe():
    def by_layer(svm, softmax):
        return [{"layer": f"l{d}", "depth": d, "svm_accuracy": a, "softmax_accuracy": b}
                for d, (a, b) in enumerate(zip(svm, softmax), 1)]

    checks = off_the_shelf.shape_comparison(by_layer((0.6, 0.5, 0.9), (0.6, 0.5, 0.9)))
    assert [entry["caltech101"] for entry in checks] == [True, True, True, True]
    assert [entry["caltech256"] for entry in checks] == [True, True, True, True]
    # this curve dips at layer 2 (layer 1 is not the weakest), then peaks at the top
    assert [entry["ours"] for entry in checks] == [False, True, True, True]
    flat_top = off_the_shelf.shape_comparison(by_layer((0.2, 0.9, 0.5, 0.4), (0.3,) * 4))
    assert [entry["ours"] for entry in flat_top] == [True, False, False, False]
    findings = off_the_shelf.findings(by_layer((0.2, 0.9, 0.5, 0.4), (0.3,) * 4), num_classes=4)
    assert findings["best_depth"] == 2 and findings["top_below_best"] == pytest.approx(0.5)
    assert findings["chance"] == 0.25 and findings["top_softmax_minus_svm"] == pytest.approx(-0.1)


def test_the_fne_verdicts_follow_our_means_and_the_papers_table():
    def entry(name, mean, std=0.01):
        return {"model": name, "test_accuracy": mean, "test_accuracy_std": std}

    by_method = [entry("fc1 + SVM", 0.80), entry("fc2 + SVM", 0.78), entry("FNE: pooling", 0.70, 0.05),
                 entry("FNE: + standardisation", 0.83), entry("FNE: + discretisation", 0.82)]
    compared = fne.compare_with_paper(by_method)
    assert compared["gains"] == {"fc1": pytest.approx(2.0), "fc2": pytest.approx(4.0)}
    verdicts = {v["claim"]: v for v in compared["verdicts"]}
    last = verdicts["the full embedding beats the last hidden layer (fc2 as fc7)"]
    assert last["paper"] is True and last["ours"] is True and last["points"] == pytest.approx(4.0)
    assert last["paper_note"] == "on 7 of 9 datasets"  # not on the two dog datasets
    before = verdicts["the full embedding beats the layer before (fc1 as fc6)"]
    assert before["paper"] is True and before["paper_note"] == "on 6 of 9 datasets"
    step = verdicts["'FNE: + standardisation' improves on 'FNE: pooling'"]
    assert step["paper"] is None and step["ours"] and step["spread"] == pytest.approx(5.0)
    assert verdicts["'FNE: + discretisation' improves on 'FNE: + standardisation'"]["ours"] is False
    assert fne.compare_with_paper(by_method[:2]) == {"gains": {}, "verdicts": []}


def test_score_correlations_by_hand():
    def row(layer, seed, accuracy, logme, hscore):
        return {"layer": layer, "seed": seed, "svm_accuracy": accuracy, "logme": logme, "hscore": hscore}

    rows = [row("a", 0, 0.5, 1.0, 2.0), row("b", 0, 0.7, 2.0, 2.0), row("c", 0, 0.9, 3.0, 2.0),  # logme: same order
            row("a", 1, 0.6, 3.0, 1.0), row("b", 1, 0.8, 1.0, 3.0), row("c", 1, 0.7, 2.0, 2.0)]
    ranking = off_the_shelf.score_correlations(rows, ["logme", "hscore"])
    first, second = ranking["per_seed"]
    assert (first["best"], first["best_accuracy"], second["best"]) == ("c", 0.9, "b")
    assert first["logme"] == {"tau": 1.0, "picked": "c", "picked_accuracy": 0.9, "regret": 0.0}
    assert first["hscore"]["tau"] is None  # a constant score ranks nothing
    # Seed 1: logme orders a > c > b, the accuracy b > c > a: pairs (a,b) (a,c) (b,c) all discordant.
    assert second["logme"]["tau"] == pytest.approx(-1.0) and second["logme"]["picked"] == "a"
    assert second["logme"]["regret"] == pytest.approx(0.2)
    assert second["hscore"] == {"tau": pytest.approx(1.0), "picked": "b", "picked_accuracy": 0.8, "regret": 0.0}
    summary = ranking["summary"]
    assert summary["logme"]["tau"] == [pytest.approx(0.0), pytest.approx(2 ** 0.5)]
    assert summary["logme"]["picked_best"] == 1 and summary["logme"]["regret"] == pytest.approx(0.1)
    assert summary["hscore"]["tau"] == [pytest.approx(1.0), 0.0] and summary["hscore"]["seeds"] == 2
    # A tie for the best accuracy: a pick of either counts as picking the best.
    tied = [row("a", 0, 0.9, 2.0, 1.0), row("b", 0, 0.9, 1.0, 2.0), row("c", 0, 0.1, 0.0, 0.0)]
    assert off_the_shelf.score_correlations(tied, ["logme", "hscore"])["summary"]["logme"]["picked_best"] == 1


@pytest.fixture(scope="module")
def shared_data_dir(tmp_path_factory):
    """One private KT_DATA_DIR for the smoke runs of this module, so they train the smoke source network once."""
    path = tmp_path_factory.mktemp("kt-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KT_DATA_DIR", str(path))
        patch.delenv("KT_MIRROR", raising=False)
        yield path


@pytest.mark.multibackend
def test_off_the_shelf_smoke_run(shared_data_dir, tmp_path):
    result = off_the_shelf.run("smoke", seeds=(0, 1), output_dir=tmp_path / "ots", verbose=0)
    assert result.metadata["layers"] == LAYERS
    assert [(row["layer"], row["seed"]) for row in result.rows] == [(layer, s) for layer in LAYERS for s in (0, 1)]
    assert [row["features"] for row in result.rows[::2]] == [16, 16, 32, 32, 64, 64, 256, 256]
    assert result.metadata["sizes"] == {"train_per_seed": 50, "test": 100, "gallery": 100}
    assert result.metadata["class_names"] == ["T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot"]
    for row in result.rows:
        assert 0.0 <= row["svm_accuracy"] <= 1.0 and 0.0 <= row["softmax_accuracy"] <= 1.0
    by_layer = result.metadata["by_layer"]
    assert [entry["layer"] for entry in by_layer] == LAYERS and by_layer[-1]["runs"] == 2
    fc2 = [row["svm_accuracy"] for row in result.rows if row["layer"] == "fc2"]
    assert by_layer[-1]["svm_accuracy"] == pytest.approx(np.mean(fc2))
    assert by_layer[-1]["svm_accuracy_std"] == pytest.approx(np.std(fc2, ddof=1))
    findings = result.metadata["findings"]
    assert findings["top_layer"] == "fc2" and findings["chance"] == 0.2
    assert findings["best_svm_accuracy"] == max(entry["svm_accuracy"] for entry in by_layer)
    assert [entry["property"] for entry in result.metadata["shape_comparison"]][0] == "layer 1 is the weakest"
    assert result.metadata["paper"]["svm"]["5"] == [86.2, 65.6]
    assert [entry["layer"] for entry in result.metadata["retrieval"]] == LAYERS
    assert all(0.0 <= entry["precision@5"] <= 1.0 for entry in result.metadata["retrieval"])
    assert "| 8 | `fc2` | 256 |" in ots_report.layer_table(result)
    assert "| SVM, Caltech-101 (30/class) | 44.8% | 66.2% |" in ots_report.paper_table(result)
    assert ots_report.shape_checks(result).count("\n") == 1 + len(result.metadata["shape_comparison"])
    assert result.metadata["task"].startswith("Source network: the project's small VGG")
    assert set(result.metadata) >= {"wall_time_s", "backend", "request"}  # base.recipe's metadata

    examples = off_the_shelf.retrieval_examples(result)
    # half B's items pasted on photos, as the source network takes them
    assert examples["query_images"].shape == (5, 32, 32, 3) and examples["neighbor_images"].shape == (5, 5, 32, 32, 3)
    assert sorted(examples["query_labels"].tolist()) == [0, 1, 2, 3, 4] and examples["layer"] == "fc2"
    # the saved hits are the gallery images the recorded indices name
    data = tasks.load_target_task(off_the_shelf.CONFIGS["smoke"], (0,), image_size=(32, 32))
    neighbors = np.array(result.metadata["retrieval_examples"]["neighbors"])
    np.testing.assert_array_equal(examples["neighbor_images"], data["gallery"][0][neighbors])
    np.testing.assert_array_equal(examples["neighbor_labels"], data["gallery"][1][neighbors])
    # gallery and training sets never share an image
    gallery = {image.tobytes() for image in data["gallery"][0]}
    assert not any(image.tobytes() in gallery for image in data["train"][0][0])
    loaded = ExperimentResult.load(tmp_path / "ots")
    assert loaded.rows == json.loads(json.dumps(result.rows))
    # a saved result copied to another folder (a teacher's pre-run) finds its retrieval grid beside it
    moved = shutil.copytree(tmp_path / "ots", tmp_path / "elsewhere")
    shutil.rmtree(tmp_path / "ots")
    loaded = ExperimentResult.load(moved)
    loaded.metadata["loaded_from"] = str(moved / "result.json")
    np.testing.assert_array_equal(off_the_shelf.retrieval_examples(loaded)["neighbor_images"],
                                  examples["neighbor_images"])
    assert list((shared_data_dir / "features").glob("*.npy"))  # the features were cached under KT_DATA_DIR

    # Transferability: each row's scores are the scores of that seed's training features; the ranking is recomputed.
    found = result.metadata["transferability"]
    assert found["scores"] == ["logme", "hscore"] and found["paper"]["scores"]["Caltech-101"]["logme"] == [0.794, 0.697]
    prepared = off_the_shelf.prepare("smoke", seeds=(0, 1), verbose=0)
    features = extract_layer_features(prepared["model"], prepared["inputs"]["train"][1], ["block2_conv1"])
    labels = prepared["data"]["train"][1][1]
    row = next(row for row in result.rows if row["layer"] == "block2_conv1" and row["seed"] == 1)
    assert row["logme"] == pytest.approx(selection.logme(features["block2_conv1"], labels), rel=1e-6)
    assert row["hscore"] == pytest.approx(selection.hscore(features["block2_conv1"], labels), rel=1e-6)
    for entry in found["ranking"]["per_seed"]:
        rows = [row for row in result.rows if row["seed"] == entry["seed"]]
        for score in ("logme", "hscore"):
            tau = selection.rank_correlation([row[score] for row in rows], [row["svm_accuracy"] for row in rows])
            assert entry[score]["tau"] == pytest.approx(tau)
    source = found["source_scores"]
    assert source["available"] and source["layer"] == "predictions" and source["source_classes"] == 5
    assert [entry["seed"] for entry in source["per_seed"]] == [0, 1]
    assert all(entry["leep"] < 0 and entry["nce"] <= 0 for entry in source["per_seed"])
    assert "**Best ranking of the layers:**" in ots_report.score_verdict(result)


@pytest.mark.multibackend
def test_fne_smoke_run(shared_data_dir, tmp_path):
    result = fne.run("smoke", output_dir=tmp_path / "fne", verbose=0)
    names = [(row["source"], row["model"]) for row in result.rows]
    assert names == [*(("matched", name) for name in ("fc1 + SVM", "fc2 + SVM", "FNE: pooling",
                                                       "FNE: + standardisation", "FNE: + discretisation")),
                     ("mismatched", "fc2 + SVM"), ("mismatched", "FNE: + discretisation")]
    assert [row["features"] for row in result.rows] == [256, 256, 736, 736, 736, 256, 736]
    assert result.rows[4]["layers"] == LAYERS and result.metadata["baseline_layers"] == ["fc1", "fc2"]
    assert sum(result.metadata["value_fractions"].values()) == pytest.approx(1.0)
    assert all(0.0 < row["test_accuracy"] <= 1.0 for row in result.rows)
    means = {entry["model"]: entry["test_accuracy"] for entry in result.metadata["by_method"]}
    assert means["fc2 + SVM"] == result.rows[1]["test_accuracy"]
    gains = result.metadata["gains"]
    assert gains["fc2"] == pytest.approx(100 * (means["FNE: + discretisation"] - means["fc2 + SVM"]))
    assert [v["ours"] for v in result.metadata["verdicts"]] == [v["points"] > 0 for v in result.metadata["verdicts"]]
    table = fne_report.paper_table(result)
    assert "| flowers102 | 89.5% | 87.0% | 93.3% | +6.3 points |" in table and "| **ours** (smoke profile) |" in table
    assert "| FNE: + discretisation | 736 |" in fne_report.method_table(result)
    assert "fc2 as fc7" in fne_report.verdict_table(result)
    # the mismatched (photos) source: the same two methods, its gain paired by seed with the matched one's
    comparison = result.metadata["source_comparison"]
    mismatched = {row["model"]: row["test_accuracy"] for row in result.rows[5:]}
    assert comparison["by_source"]["mismatched"]["gains"] == pytest.approx(
        [100 * (mismatched["FNE: + discretisation"] - mismatched["fc2 + SVM"])])
    assert comparison["by_source"]["matched"]["gains"] == pytest.approx([gains["fc2"]])
    assert comparison["step"]["paired"] and comparison["paper_note"] == "on 7 of 7 datasets"
    assert "centred on black" in result.metadata["sources"]["mismatched"]
    assert "pasted on photos" in result.metadata["sources"]["matched"]
    assert "| **ours** (smoke profile) |" in fne_report.mismatched_source_table(result)
    assert "**Lesson:**" in fne_report.source_lesson(result)
    assert ExperimentResult.load(tmp_path / "fne").metadata["gains"] == pytest.approx(gains)
    # the printed table keeps each source's runs apart: one seed, so one run per line
    table = result.to_markdown().splitlines()
    assert table[0].startswith("| source | model | runs |")
    assert "| mismatched | fc2 + SVM | 1 |" in result.to_markdown()
    assert {line.split(" | ")[2] for line in table[2:]} == {"1"}


def test_bad_settings_are_refused_before_any_work():
    with pytest.raises(ValueError, match="seeds="):
        off_the_shelf.run("smoke", seeds=(-1,), verbose=0)
    with pytest.raises(ValueError, match="train_per_klass"):
        off_the_shelf.run("smoke", train_per_klass=5, verbose=0)
    with pytest.raises(ValueError, match=r"thresholds=\(0.2, 0.1\)"):
        fne.run("smoke", thresholds=(0.2, 0.1), verbose=0)
    with pytest.raises(ValueError, match="methods="):
        fne.run("smoke", methods=("magic",), verbose=0)
    with pytest.raises(ValueError, match="source_model="):
        off_the_shelf.run("full", source_model="/nonexistent/vgg19.keras", verbose=0)
    with pytest.raises(ValueError, match="ks="):
        off_the_shelf.run("smoke", ks=(0, 5), verbose=0)
    with pytest.raises(ValueError, match="dataset="):
        fne.run("smoke", dataset="imagenet", verbose=0)
    with pytest.raises(ValueError, match="mismatched_source_domain='photos'"):  # the matched source's own
        fne.run("smoke", mismatched_source_domain="photos", verbose=0)
    with pytest.raises(ValueError, match="source_domain='sketches'"):
        off_the_shelf.run("smoke", source_domain="sketches", verbose=0)
    with pytest.raises(ValueError, match="mismatched_source_domain=None"):
        fne.run("smoke", source_model=__file__, verbose=0)
    with pytest.raises(ValueError, match="preprocess="):
        off_the_shelf.run("smoke", preprocess="resnet", verbose=0)


def _oxford17_folder(tmp_path):
    fixture = fixtures.make_oxford17_fixture(tmp_path / "mirror", images_per_class=4, image_size=(40, 48))
    folder = tmp_path / "oxford17"
    folder.mkdir()
    with tarfile.open(fixture.files["17flowers.tgz"]) as tar:
        tar.extractall(folder, filter="data")
    shutil.copy(fixture.files["datasplits.mat"], folder / "datasplits.mat")
    return folder


@pytest.mark.multibackend
def test_full_profile_on_the_oxford17_fixture(data_dir, tmp_path):
    """The full data path (official split files, VGG19 preprocessing, the gallery = the training split) with a tiny
    randomly initialised VGG-style network saved to a local file in place of ImageNet VGG19."""
    folder = _oxford17_folder(tmp_path)
    keras.utils.set_random_seed(0)
    network = build_source_network(10, input_shape=(32, 32, 3), filters=(4, 8), fc_units=16, name="tiny_vgg")
    model_path = tmp_path / "tiny_vgg.keras"
    network.save(model_path)

    result = off_the_shelf.run(
        "full", source_model=str(model_path), path=str(folder), output_dir=tmp_path / "ots", verbose=0, ks=(1, 5)
    )
    assert result.metadata["image_shape"] == [32, 32, 3]  # the images were resized to the network's input
    assert result.metadata["sizes"] == {"train_per_seed": 34, "test": 17, "gallery": 34}  # split 1: 2 + 1 per class
    assert result.metadata["layers"] == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "fc1", "fc2"]
    assert len(result.metadata["class_names"]) == 17 and result.metadata["class_names"][0] == "Daffodil"
    # each fixture class is one colour: even random convolutions' pooled features tell most of them apart
    assert max(row["svm_accuracy"] for row in result.rows) >= 0.5
    examples = off_the_shelf.retrieval_examples(result)
    assert examples["query_images"].shape == (6, 32, 32, 3) and examples["query_images"].dtype == np.uint8
    assert examples["neighbor_images"].shape == (6, 8, 32, 32, 3)

    embedded = fne.run("full", source_model=str(model_path), path=str(folder), output_dir=tmp_path / "fne", verbose=0)
    assert [row["features"] for row in embedded.rows] == [16, 16, 56, 56, 56]
    assert embedded.metadata["sizes"] == {"train_per_seed": 34, "test": 17}
    assert max(row["test_accuracy"] for row in embedded.rows) >= 0.5


def _synthetic_result():
    rows = []
    for depth, layer in enumerate(["c1", "c2", "fc"], start=1):
        for seed in (0, 1):
            rows.append({"model": layer, "layer": layer, "depth": depth, "seed": seed, "features": 4,
                         "svm_accuracy": 0.5 + 0.1 * depth + 0.01 * seed, "softmax_accuracy": 0.45 + 0.1 * depth})
    retrieval = [{"layer": layer, "depth": d, "precision@1": 0.3 + 0.1 * d} for d, layer in enumerate(["c1", "c2", "fc"], 1)]
    result = ExperimentResult("off-the-shelf", "quick", rows, {}, {})
    by_layer = result.summary(by="layer", metrics=["depth", "features", "svm_accuracy", "softmax_accuracy"])
    result.metadata = {"seeds": [0, 1], "retrieval": retrieval, "by_layer": by_layer,
                       "paper": json.loads(json.dumps(off_the_shelf.PAPER_CALTECH, default=str))}
    return result


def test_accuracy_by_depth_plot_draws_our_means_and_the_papers_table():
    figure = plot_accuracy_by_depth(_synthetic_result())
    ours, paper = figure.axes
    lines = {line.get_label(): line for line in ours.get_lines() if not line.get_label().startswith("_")}
    curves = {container.get_label(): container.lines[0] for container in ours.containers}
    svm = next(line for label, line in curves.items() if label.startswith("linear SVM"))
    np.testing.assert_allclose(svm.get_ydata(), [60.5, 70.5, 80.5])
    softmax = next(line for label, line in curves.items() if label.startswith("softmax"))
    np.testing.assert_allclose(softmax.get_ydata(), [55, 65, 75])
    retrieval = lines["retrieval precision@1 (cosine)"]
    np.testing.assert_allclose(retrieval.get_ydata(), [40, 50, 60])
    caltech101 = next(line for line in paper.get_lines() if line.get_label() == "SVM, Caltech-101 (30/class)")
    np.testing.assert_allclose(caltech101.get_ydata(), [44.8, 66.2, 72.3, 76.6, 86.2, 85.5])
    assert len(plot_accuracy_by_depth(_synthetic_result(), paper=False).axes) == 1
    matplotlib.pyplot.close("all")


def test_retrieval_grid_frames_hits_by_class():
    examples = {
        "query_images": np.zeros((2, 6, 6), np.uint8),
        "query_labels": np.array([0, 1]),
        "neighbor_images": np.full((2, 3, 6, 6), 200, np.uint8),
        "neighbor_labels": np.array([[0, 1, 0], [1, 1, 0]]),
        "class_names": ("cat", "dog"),
        "layer": "fc2",
    }
    figure = plot_retrieval(examples)
    assert len(figure.axes) == 8
    frames = [matplotlib.colors.to_hex(ax.spines["left"].get_edgecolor()) for ax in figure.axes]
    green, red = "#1a9641", "#d7191c"
    assert frames == ["#000000", green, red, green, "#000000", green, green, red]
    assert figure.axes[2].get_title() == "2: dog" and "fc2" in figure._suptitle.get_text()
    with pytest.raises(ValueError, match="neighbor_images"):
        plot_retrieval({**examples, "neighbor_images": np.zeros((3, 3, 6, 6))})
    matplotlib.pyplot.close("all")


def test_fne_comparison_plot_draws_our_bars_and_the_papers():
    rows = [
        {"model": name, "seed": seed, "test_accuracy": accuracy + 0.01 * seed}
        for name, accuracy in (("fc2 + SVM", 0.8), ("FNE: pooling", 0.82), ("FNE: + discretisation", 0.86))
        for seed in (0, 1)
    ]
    result = ExperimentResult("full-network-embedding", "quick", rows, {}, {})
    result.metadata = {"seeds": [0, 1], "by_method": result.summary(metrics=["test_accuracy"]),
                       "paper": json.loads(json.dumps(fne.PAPER_FNE))}
    figure = plot_fne_comparison(result)
    ours, paper = figure.axes
    np.testing.assert_allclose([bar.get_height() for bar in ours.patches], [80.5, 82.5, 86.5])
    heights = [bar.get_height() for bar in paper.patches]
    assert heights[:9] == [81.7, 63.2, 87.0, 89.6, 79.3, 89.7, 59.1, 69.0, 68.9]  # fc7, then FNE
    assert heights[9:] == [83.6, 65.5, 93.3, 89.2, 78.8, 91.4, 67.0, 73.0, 74.1]
    matplotlib.pyplot.close("all")
