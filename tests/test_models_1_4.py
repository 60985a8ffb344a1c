"""Tests of the Models 1-4 experiment: the smoke profile end to end, and the full profile's data path on fixtures."""

import tarfile

import keras
import numpy as np
import pytest

from keras_transfer import models
from keras_transfer.experiments import ExperimentResult
from keras_transfer.experiments import models_1_4


def test_smoke_profile_end_to_end(data_dir, tmp_path, capsys):
    result = models_1_4.run("smoke", output_dir=tmp_path / "out", verbose=1)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[smoke seed 0]")]
    assert len(lines) == 5  # one progress line per model and seed
    assert [row["model"] for row in result.rows] == list(models_1_4.MODELS)
    config = models_1_4.CONFIGS["smoke"]
    for row in result.rows:
        assert set(row) == {
            "model", "seed", "test_accuracy", "test_loss", "epochs", "best_epoch", "wall_time_s",
            "trainable_params", "frozen_params",
        }
        assert 0.0 <= row["test_accuracy"] <= 1.0 and np.isfinite(row["test_loss"]) and row["wall_time_s"] > 0
        history = result.histories[f"{row['model']}/seed0"]
        assert len(history["loss"]) == len(history["val_loss"]) == row["epochs"]
        assert 1 <= row["best_epoch"] <= row["epochs"]
    rows = {row["model"]: row for row in result.rows}
    total = rows["scratch"]["trainable_params"]
    assert rows["scratch"]["frozen_params"] == 0 and rows["finetune"]["trainable_params"] == total
    backbone_parameters = models.source_backbone(models.build_source_network(5)).count_params()
    assert rows["frozen"]["frozen_params"] == backbone_parameters
    assert rows["frozen"]["trainable_params"] == total - backbone_parameters
    assert rows["scratch"]["epochs"] <= config["max_epochs"] and rows["ulmfit"]["epochs"] == config["ulmfit_epochs"]

    # Chain-thaw: the new layers, each of the 6 convolutions first to last, then everything; one epoch each here.
    steps = result.histories["chain_thaw/seed0"]["chain_thaw_steps"]
    assert [step["step"] for step in steps] == [
        "new layers", "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
        "block3_conv2", "all layers",
    ]
    assert [step["epoch"] for step in steps] == list(range(8)) and rows["chain_thaw"]["epochs"] == 8
    assert [step["learning_rate"] for step in steps] == [1e-3] + [1e-4] * 7
    assert rows["chain_thaw"]["trainable_params"] == total
    # Gradual unfreezing: head, then block3, block2, block1, one more group per epoch.
    unfreezing = result.histories["ulmfit/seed0"]["unfreezing_steps"]
    assert [step["epoch"] for step in unfreezing] == [0, 1, 2, 3]
    assert rows["ulmfit"]["trainable_params"] == total

    meta = result.metadata
    assert meta["sizes"] == {"train": 40, "validation": 20, "test": 50}
    assert meta["class_names"] == ["T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot"]
    assert meta["source_network"]["classes"] == ["Pullover", "Dress", "Coat", "Shirt", "Sneaker"]
    assert meta["cached_features"] is True
    assert len(meta["sample_labels"]) == config["sample_predictions"]
    assert all(len(p) == config["sample_predictions"] for p in meta["sample_predictions"].values())
    images, labels, names = models_1_4.sample_test_images("smoke", count=config["sample_predictions"])
    assert images.shape == (config["sample_predictions"], 32, 32, 3) and list(labels) == meta["sample_labels"]
    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows and loaded.histories.keys() == result.histories.keys()
    assert "| chain_thaw | 1 |" in result.to_markdown()


def test_cached_features_train_model_2_like_the_plain_way(data_dir, tmp_path):
    settings = dict(models=("frozen",), dropout=0.0, max_epochs=3, patience=3, verbose=0)
    cached = models_1_4.run("smoke", output_dir=tmp_path / "cached", cache_features=True, **settings)
    plain = models_1_4.run("smoke", output_dir=tmp_path / "plain", cache_features=False, **settings)
    (cached_row,), (plain_row,) = cached.rows, plain.rows
    assert cached_row["epochs"] == plain_row["epochs"] == 3
    assert (cached_row["trainable_params"], cached_row["frozen_params"]) == (
        plain_row["trainable_params"],
        plain_row["frozen_params"],
    )
    # The same training up to the order of the batches (tf.data's shuffle against fit()'s): losses within 1%.
    # tests/test_models.py checks the training is exactly the same where the order cannot differ.
    np.testing.assert_allclose(
        cached.histories["frozen/seed0"]["loss"], plain.histories["frozen/seed0"]["loss"], rtol=1e-2
    )
    # Near chance after 3 epochs on 40 images, so a tiny change of order flips argmaxes: compare the test loss.
    np.testing.assert_allclose(cached_row["test_loss"], plain_row["test_loss"], rtol=1e-2)


def test_unknown_settings_are_refused(data_dir):
    with pytest.raises(ValueError, match="Unknown setting"):
        models_1_4.run("smoke", learning_rate=1e-3)
    with pytest.raises(ValueError, match="models"):
        models_1_4.run("smoke", models=("scratch", "model6"))
    with pytest.raises(ValueError, match="augment"):
        models_1_4.run("full", augment="flip", weights=None)
    with pytest.raises(ValueError, match="seeds"):
        models_1_4.run("smoke", seeds=(-1,))


def test_full_profile_data_path_on_fixture_archives(data_dir, tmp_path):
    from keras_transfer.datasets import fixtures

    fixture = fixtures.make_oxford17_fixture(tmp_path / "oxford17", images_per_class=4, image_size=(40, 48))
    with tarfile.open(fixture.files["17flowers.tgz"]) as archive:
        archive.extractall(fixture.directory, filter="data")
    # A local weights file, as the tests have no internet: a random VGG19 without top.
    weights = tmp_path / "vgg19_notop.weights.h5"
    keras.utils.set_random_seed(0)
    reference = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    reference.save_weights(weights)
    loaded = models.vgg19_backbone(weights=str(weights), input_shape=(32, 32, 3))
    for left, right in zip(reference.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(left, right)
    del reference, loaded

    result = models_1_4.run(
        "full",
        seeds=(0,),
        output_dir=tmp_path / "out",
        verbose=0,
        path=str(fixture.directory),
        weights=str(weights),
        image_size=(32, 32),
        models=("frozen", "finetune"),
        head_units=(8,),
        batch_size=16,
        max_epochs=1,
        sample_predictions=5,
    )
    assert [row["model"] for row in result.rows] == ["frozen", "finetune"]
    assert result.metadata["sizes"] == {"train": 34, "validation": 17, "test": 17}
    assert result.metadata["class_names"][0] == "Daffodil" and len(result.metadata["class_names"]) == 17
    rows = {row["model"]: row for row in result.rows}
    assert rows["frozen"]["frozen_params"] == 20024384  # VGG19's convolutional base
    assert rows["finetune"]["frozen_params"] == 0
    for row in result.rows:
        assert row["epochs"] == 1 and 0.0 <= row["test_accuracy"] <= 1.0 and np.isfinite(row["test_loss"])
    expected_labels = [fixture.info["splits"][1]["test"][i] for i in range(5)]
    assert result.metadata["sample_labels"] == [(int(i) - 1) // 80 for i in expected_labels]
    images, labels, names = models_1_4.sample_test_images(
        "full", count=5, path=str(fixture.directory), image_size=(32, 32)
    )
    assert images.shape == (5, 32, 32, 3) and list(labels) == result.metadata["sample_labels"]
    assert images.max() > 1.0  # pixels in [0, 255] for display, not VGG19-preprocessed
