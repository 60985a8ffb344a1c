"""The pet-heads experiment: a smoke run end to end, determinism, Model 1's flip on cached features, the `full` data
path on fixture archives with a random VGG19 from a local weights file, and the notebook."""

import json
import os
import pathlib
import tarfile

import keras
import numpy as np
import pytest

from keras_transfer.datasets import fixtures
from keras_transfer.experiments import ExperimentResult
from keras_transfer.experiments import pet_localization
from keras_transfer.models import backbones
from keras_transfer.models import localization

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_smoke_run_end_to_end(data_dir, tmp_path):
    result = pet_localization.run("smoke", output_dir=tmp_path / "out", verbose=0)
    config = pet_localization.CONFIGS["smoke"]
    variants = [f"{model}/{loss}" for model in pet_localization.MODELS for loss in pet_localization.LOSSES]
    assert [row["variant"] for row in result.rows] == variants
    images, boxes = pet_localization.sample_images("smoke", "test")
    assert images.shape == (config["test_size"], 32, 32, 3) and images.dtype == np.uint8
    for row in result.rows:
        json.dumps(row)
        assert 0.0 <= row["iou_at_0_5"] <= 1.0 and 1 <= row["epochs"] <= config["max_epochs"]
        key = f"{row['variant']}/seed0"
        history = result.histories[key]
        assert len(history["val_iou"]) == row["epochs"] and np.isfinite(history["loss"]).all()
        assert row["best_val_iou"] == pytest.approx(max(history["val_iou"]))
        predicted = np.array(result.metadata["test_predictions"][key], np.float32)
        assert predicted.shape == (config["test_size"], 4)
        assert (predicted[:, 2:] >= predicted[:, :2]).all() and (predicted >= 0).all() and (predicted <= 1).all()
        ious = localization.box_ious(boxes, predicted)
        assert row["mean_iou"] == pytest.approx(float(ious.mean()), abs=1e-4)
        assert row["iou_at_0_5"] == pytest.approx(float((ious >= 0.5).mean()), abs=1e-6)
    frozen = [row for row in result.rows if row["model"] == "frozen"]
    assert all(row["trainable_params"] == 4 * 4 * 64 * 4 + 4 for row in frozen)
    adapted = [row for row in result.rows if row["model"] == "adapted"]
    scratch = [row for row in result.rows if row["model"] == "scratch"]
    assert all(row["frozen_params"] > 0 for row in adapted) and all(row["frozen_params"] == 0 for row in scratch)
    assert result.metadata["cached_features"] and result.metadata["sizes"]["test"] == config["test_size"]
    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows
    assert "frozen/giou" in result.to_markdown(by="variant", metrics=["mean_iou", "iou_at_0_5"])


def test_runs_are_deterministic_for_a_seed(data_dir, tmp_path):
    settings = {"models": ("frozen", "adapted"), "losses": ("giou",), "verbose": 0}
    first = pet_localization.run("smoke", seeds=(1,), output_dir=tmp_path / "a", **settings)
    second = pet_localization.run("smoke", seeds=(1,), output_dir=tmp_path / "b", **settings)
    for one, two in zip(first.rows, second.rows):
        assert one["mean_iou"] == two["mean_iou"] and one["test_loss"] == two["test_loss"]
    assert first.metadata["test_predictions"] == second.metadata["test_predictions"]
    assert first.histories == second.histories


def test_cached_features_are_flipped_like_the_images():
    # Model 1 trains on cached features: each epoch draws each example or its mirror, as RandomFlip would.
    count = 64
    cached = {
        "features": np.arange(count, dtype=np.float32)[:, None].repeat(3, axis=1),
        "mirror_features": -1.0 - np.arange(count, dtype=np.float32)[:, None].repeat(3, axis=1),
        "boxes": np.tile([[0.1, 0.2, 0.4, 0.6]], (count, 1)).astype(np.float32),
    }
    _, cached["mirror_boxes"] = localization.flip_horizontally(np.zeros((count, 1, 1, 1)), cached["boxes"])

    def epochs(seed, training=True, augment="flip"):
        dataset = pet_localization._feature_pipeline(cached, 16, seed, training, augment)
        features, boxes = [], []
        for _ in range(2):
            batches = list(dataset.as_numpy_iterator())
            features.append(np.concatenate([f for f, _ in batches]))
            boxes.append(np.concatenate([b for _, b in batches]))
        return features, boxes

    features, boxes = epochs(seed=3)
    for epoch_features, epoch_boxes in zip(features, boxes):
        index = np.where(epoch_features[:, 0] >= 0, epoch_features[:, 0], -1.0 - epoch_features[:, 0]).astype(int)
        assert sorted(index) == list(range(count))  # each example once per epoch, original or mirror
        mirrored = epoch_features[:, 0] < 0
        assert 10 < mirrored.sum() < count - 10
        np.testing.assert_allclose(epoch_boxes[mirrored], cached["mirror_boxes"][index[mirrored]])
        np.testing.assert_allclose(epoch_boxes[~mirrored], cached["boxes"][index[~mirrored]])
    assert not np.array_equal(features[0], features[1])  # new flips and order every epoch
    again, _ = epochs(seed=3)
    np.testing.assert_array_equal(again[0], features[0])
    plain, _ = epochs(seed=3, augment=None)
    assert (plain[0][:, 0] >= 0).all()
    ordered, _ = epochs(seed=3, training=False)
    np.testing.assert_array_equal(ordered[0], cached["features"])


def _extract(fixture, folder):
    folder.mkdir()
    for archive in fixture.files.values():
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    return folder


def test_full_profile_data_path_on_the_pet_fixture(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "archives", images_per_breed=5, image_size=(96, 128))
    folder = _extract(fixture, tmp_path / "oxford-iiit-pet")
    weights = tmp_path / "vgg19_notop.weights.h5"
    keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(weights)
    settings = {"path": str(folder), "weights": str(weights), "image_size": (32, 32)}

    # The box stays on the painted (white) head through the box-aware resize to 32x32.
    images, boxes = pet_localization.sample_images("full", "train", **settings)
    assert images.shape[1:] == (32, 32, 3)
    for image, box in zip(images, boxes):
        bright = image.min(axis=-1) > 200
        rows, columns = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
        found = np.array([columns[0], rows[0], columns[-1] + 1, rows[-1] + 1]) / 32.0
        np.testing.assert_allclose(found, box, atol=1.5 / 32)

    # The local weights file is what the backbone starts from.
    saved = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    saved.load_weights(weights)
    model = localization.build_vgg19_box_regressor(str(weights), (32, 32, 3))
    for old, new in zip(saved.get_weights(), backbones.base_layer(model).get_weights()):
        np.testing.assert_array_equal(old, new)

    result = pet_localization.run(
        "full",
        seeds=(0,),
        output_dir=tmp_path / "out",
        verbose=0,
        losses=("giou",),
        batch_size=4,
        max_epochs=1,
        head_units=(8,),
        **settings,
    )
    assert [row["variant"] for row in result.rows] == ["frozen/giou", "adapted/giou", "scratch/giou"]
    sizes = result.metadata["sizes"]
    assert sizes["train"] + sizes["validation"] + sizes["test"] == len(fixture.info["boxes"])
    assert result.metadata["class_names"][0] == "Abyssinian"
    for row in result.rows:
        assert np.isfinite(row["mean_iou"]) and row["epochs"] == 1
        assert len(result.metadata["test_predictions"][f"{row['variant']}/seed0"]) == sizes["test"]
    adapted = next(row for row in result.rows if row["model"] == "adapted")
    # block 5 (4 convolutions of 512 filters) and the new layers train; blocks 1-4 stay frozen
    block5 = 9 * 512 * 512 * 4 + 512 * 4
    assert adapted["trainable_params"] == block5 + 512 * 8 + 8 + 8 * 4 + 4


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="models"):
        pet_localization.run("smoke", models=("frozen", "tiny"), verbose=0)
    with pytest.raises(ValueError, match="losses"):
        pet_localization.run("smoke", losses=("l1",), verbose=0)
    with pytest.raises(ValueError, match="learning_rate"):
        pet_localization.run("smoke", learning_rate=0.1, verbose=0)
    with pytest.raises(ValueError, match="split"):
        pet_localization.sample_images("smoke", "holdout")
