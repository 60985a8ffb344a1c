"""Zero-shot learning: the attribute tables and splits, DAP and ESZSL, the xlsa17 loader and the experiment."""

import zipfile

import numpy as np
import pytest
import scipy.io

from keras_transfer.datasets import attributes
from keras_transfer.embeddings import zero_shot

# ---------------------------------------------------------------------------------------------------------------
# Attribute tables and splits


def test_fashion_mnist_table_separates_every_class_and_shares_attributes():
    table = attributes.fashion_mnist_attributes()
    assert table.signatures.shape == (10, len(table.attribute_names))
    assert set(np.unique(table.signatures)) == {0.0, 1.0}
    assert attributes.check_separates(table) >= 1
    rows = {row.tobytes() for row in table.signatures}
    assert len(rows) == 10
    per_attribute = table.signatures.sum(axis=0)
    assert per_attribute.min() >= 1
    assert [name for name, count in zip(table.attribute_names, per_attribute) if count < 2] == ["is_carried"]
    bag = table.class_names.index("Bag")
    assert table.signatures[bag, table.attribute_names.index("is_carried")] == 1


def test_check_separates_names_two_classes_with_one_signature():
    table = attributes.AttributeTable(("cat", "dog", "fish"), ("furry", "fins"),
                                      np.array([[1, 0], [1, 0], [0, 1]], float))
    with pytest.raises(ValueError, match="'cat'.*'dog'"):
        attributes.check_separates(table)
    assert attributes.check_separates(table, classes=[0, 2]) == 2


def test_zero_shot_splits_are_disjoint_distinct_and_learnable():
    table = attributes.fashion_mnist_attributes()
    splits = attributes.zero_shot_splits(table, num_unseen=3, num_validation=2, count=6, seed=3)
    assert splits == attributes.zero_shot_splits(table, num_unseen=3, num_validation=2, count=6, seed=3)
    assert len({split.unseen for split in splits}) == 6
    for split in splits:
        assert len(split.unseen) == 3 and len(split.seen) == 7 and len(split.validation) == 2
        assert not set(split.unseen) & set(split.seen) and set(split.validation) <= set(split.seen)
        mask = attributes.learnable_attributes(table.signatures, split.seen)
        assert len({table.signatures[c][mask].tobytes() for c in split.unseen}) == 3


def test_zero_shot_splits_refuses_the_impossible():
    table = attributes.AttributeTable(("a", "b", "c", "d", "e"), ("x",), np.array([[1], [0], [1], [0], [1]], float))
    with pytest.raises(ValueError, match="ask for fewer"):
        attributes.zero_shot_splits(table, num_unseen=2, num_validation=0, count=50, seed=0)
    with pytest.raises(ValueError, match="num_unseen"):
        attributes.zero_shot_splits(table, num_unseen=1, num_validation=0, count=1)


# ---------------------------------------------------------------------------------------------------------------
# The estimators, on features that carry the attributes linearly


def _synthetic(seed=0, classes=8, attributes_count=6, per_class=60, dims=20, noise=0.3):
    rng = np.random.default_rng(seed)
    signatures = np.zeros((classes, attributes_count))
    while len({row.tobytes() for row in signatures}) < classes:
        signatures = (rng.random((classes, attributes_count)) < 0.5).astype(float)
    mixing = rng.normal(size=(attributes_count, dims))
    labels = np.repeat(np.arange(classes), per_class)
    features = signatures[labels] @ mixing + noise * rng.normal(size=(len(labels), dims))
    return signatures, features, labels


@pytest.mark.parametrize("estimator", [zero_shot.DirectAttributePrediction, zero_shot.ESZSL])
def test_estimators_recognise_unseen_classes_from_their_signatures(estimator):
    signatures, features, labels = _synthetic()
    unseen = np.array([2, 5, 7])
    seen = ~np.isin(labels, unseen)
    model = estimator(signatures).fit(features[seen], labels[seen])
    assert set(model.seen_classes_) == set(range(8)) - set(unseen.tolist())
    predicted = model.predict(features[~seen], classes=unseen)
    assert set(predicted) <= set(unseen.tolist())
    assert zero_shot.mean_class_accuracy(labels[~seen], predicted) > 0.8  # chance is 1/3
    assert model.score(features[~seen], labels[~seen], classes=unseen) > 0.8
    assert model.decision_function(features[:4]).shape == (4, 8)


def test_eszsl_solves_its_objective():
    signatures, features, labels = _synthetic(seed=1)
    model = zero_shot.ESZSL(signatures, gamma=3.0, lam=0.5).fit(features, labels)
    x = model.scaler_.transform(features)
    s = model.signatures_
    y = -np.ones((len(x), len(s)))
    y[np.arange(len(x)), labels] = 1
    v = model.weights_
    # gradient of ||X V S^T - Y||^2 + γ||V S^T||^2 + λ||X V||^2 + γλ||V||^2 (Romera-Paredes & Torr, eq. 3)
    gradient = (x.T @ (x @ v @ s.T - y) @ s + 3.0 * v @ s.T @ s + 0.5 * x.T @ x @ v + 1.5 * v)
    assert np.abs(gradient).max() < 1e-6 * np.abs(x.T @ y @ s).max()


def test_dap_ignores_attributes_the_seen_classes_do_not_teach():
    signatures = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]], float)
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    features = signatures[labels][:, :2] + 0.2 * rng.normal(size=(len(labels), 2))
    model = zero_shot.DirectAttributePrediction(signatures).fit(features, labels)
    assert model.attribute_models_[2] is None  # no seen class has the third attribute
    scores = model.decision_function(features, classes=[0, 3])
    # class 3 differs from class 0 in attribute 0 (learned) and attribute 2 (not learned): only the first counts
    probability = model.predict_attributes(features)
    assert np.allclose(probability[:, 2], model.prior_[2])
    assert np.allclose(scores[:, 1] - scores[:, 0],
                       np.log1p(-probability[:, 0]) - np.log1p(-model.prior_[0])
                       - np.log(probability[:, 0]) + np.log(model.prior_[0]))


def test_estimators_refuse_bad_input():
    signatures, features, labels = _synthetic()
    with pytest.raises(ValueError, match="y"):
        zero_shot.ESZSL(signatures).fit(features, labels + 8)
    with pytest.raises(ValueError, match="two seen classes"):
        zero_shot.ESZSL(signatures).fit(features[:10], labels[:10])
    with pytest.raises(ValueError, match="signatures"):
        zero_shot.DirectAttributePrediction(signatures[0]).fit(features, labels)
    with pytest.raises(ValueError, match="gamma"):
        zero_shot.ESZSL(signatures, gamma=0).fit(features, labels)
    model = zero_shot.ESZSL(signatures).fit(features, labels)
    with pytest.raises(ValueError, match="classes"):
        model.predict(features, classes=[0, 0])


def test_measures():
    assert zero_shot.mean_class_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == pytest.approx(0.5)
    assert zero_shot.harmonic_mean(0.8, 0.2) == pytest.approx(0.32)
    assert zero_shot.harmonic_mean(0.0, 0.0) == 0.0


# ---------------------------------------------------------------------------------------------------------------
# The xlsa17 loader, on a small archive laid out like the real one

FIXTURE_CLASSES = 6
FIXTURE_ATTRIBUTES = 4
FIXTURE_DIMS = 5
FIXTURE_IMAGES = 30


def _write_xlsa17(folder):
    rng = np.random.default_rng(0)
    data = folder / "xlsa17" / "data" / "AWA2"
    data.mkdir(parents=True)
    labels = np.arange(FIXTURE_IMAGES) % FIXTURE_CLASSES + 1  # 1-based, as in the real files
    features = rng.normal(size=(FIXTURE_DIMS, FIXTURE_IMAGES))
    scipy.io.savemat(data / "res101.mat", {"features": features, "labels": labels[:, None],
                                           "image_files": np.array([[f"img{i}.jpg"] for i in range(FIXTURE_IMAGES)],
                                                                   dtype=object)})
    att = rng.random((FIXTURE_ATTRIBUTES, FIXTURE_CLASSES))
    loc = np.arange(1, FIXTURE_IMAGES + 1)
    seen = labels <= 4
    scipy.io.savemat(data / "att_splits.mat", {
        "att": att,
        "allclasses_names": np.array([[f"animal{c}"] for c in range(FIXTURE_CLASSES)], dtype=object),
        "trainval_loc": loc[seen][:15, None], "test_seen_loc": loc[seen][15:, None],
        "test_unseen_loc": loc[~seen][:, None], "train_loc": loc[labels <= 2][:, None],
        "val_loc": loc[(labels > 2) & seen][:, None],
    })
    return features, labels, att


def test_load_awa2_from_a_mirror_and_from_a_folder(data_dir, tmp_path, monkeypatch):
    source = tmp_path / "source"
    features, labels, att = _write_xlsa17(source)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with zipfile.ZipFile(mirror / "xlsa17.zip", "w") as archive:
        for file in sorted(source.rglob("*.mat")):
            archive.write(file, file.relative_to(source).as_posix())
    monkeypatch.setenv("KT_MIRROR", str(mirror))
    benchmark = attributes.load_awa2(verbose=0)
    assert benchmark.features.shape == (FIXTURE_IMAGES, FIXTURE_DIMS)
    assert np.allclose(benchmark.features, features.T)
    assert np.array_equal(benchmark.labels, labels - 1)
    assert np.allclose(benchmark.table.signatures, att.T)
    assert benchmark.table.class_names == tuple(f"animal{c}" for c in range(FIXTURE_CLASSES))
    assert set(benchmark.labels[benchmark.locations["test_unseen"]]) == {4, 5}
    assert set(benchmark.labels[benchmark.locations["val"]]) == {2, 3}
    assert benchmark.locations["trainval"].min() == 0
    assert list((data_dir / "downloads" / "xlsa17").glob("xlsa17.zip*"))  # cached, with its recorded hash

    again = attributes.load_awa2(path=source, verbose=0)
    assert np.array_equal(again.labels, benchmark.labels)
    with pytest.raises(FileNotFoundError, match="xlsa17"):
        attributes.load_awa2(path=tmp_path / "mirror", verbose=0)
    with pytest.raises(ValueError, match="dataset"):
        attributes.load_xlsa17("ImageNet", path=source)


# ---------------------------------------------------------------------------------------------------------------
# The experiment


def test_unseen_classes_never_reach_training(data_dir):
    from keras_transfer.experiments import zero_shot as experiment

    config = {**experiment.CONFIGS["smoke"], "splits": 1, "train_per_class": 12, "validation_per_class": 6,
              "test_per_class": 6}
    table, tasks = experiment.fashion_mnist_tasks(config)
    split = tasks[0]["split"]
    features = tasks[0]["features"](0)
    assert not set(features["train"][1]) & set(split.unseen)
    assert set(features["train"][1]) == set(split.seen)
    assert not set(features["select_fit"][1]) & set(split.validation + split.unseen)
    assert set(features["select_eval"][1]) == set(split.validation)
    assert set(features["test_unseen"][1]) == set(split.unseen)
    assert set(features["test_seen"][1]) == set(split.seen)
    assert features["train"][0].shape == (12 * 7, config["fc_units"])


def test_smoke_run_reports_unseen_accuracy_chance_and_harmonic_mean(data_dir, tmp_path):
    from keras_transfer.experiments import zero_shot as experiment
    from keras_transfer.experiments.base import ExperimentResult
    from keras_transfer.plotting import zero_shot as plots

    result = experiment.run("smoke", output_dir=tmp_path, verbose=0, splits=1)
    assert [row["model"] for row in result.rows] == ["dap", "eszsl"]
    for row in result.rows:
        assert row["chance"] == pytest.approx(1 / 3)
        assert 0 <= row["unseen_accuracy"] <= 1
        assert row["harmonic_mean"] == pytest.approx(
            zero_shot.harmonic_mean(row["gzsl_seen_accuracy"], row["gzsl_unseen_accuracy"]))
        assert row["settings"] in experiment.CONFIGS["smoke"]["grids"][row["model"]]
    confusion = np.array(result.metadata["confusions"][0]["methods"]["eszsl"])
    assert confusion.shape == (3, 3) and confusion.sum() == 3 * experiment.CONFIGS["smoke"]["test_per_class"]
    loaded = ExperimentResult.load(tmp_path)
    assert loaded.rows[0]["unseen_classes"] == result.rows[0]["unseen_classes"]
    table = loaded.metadata["table"]
    for figure in (plots.plot_attribute_signatures(table["class_names"], table["attribute_names"],
                                                   table["signatures"], highlight=loaded.metadata["splits"][0]["unseen"]),
                   plots.plot_unseen_confusion(loaded), plots.plot_zero_shot_scores(loaded)):
        assert figure.axes


def test_live_settings_are_a_smaller_run_of_each_profile():
    from keras_transfer.experiments import zero_shot as experiment

    assert set(experiment.LIVE) == set(experiment.CONFIGS)
    for profile, overrides in experiment.LIVE.items():
        assert set(overrides) <= set(experiment.CONFIGS[profile]), profile
    assert 2 <= experiment.LIVE["quick"]["splits"] < experiment.CONFIGS["quick"]["splits"]
