"""The pet-heads experiment: a smoke run end to end, determinism, what each network starts from, training on cached
features (equal to training on images, flips included), training subsets, learning curves, and the `full` data path
on fixture archives with a random VGG19 from a local weights file."""

import json
import os
import pathlib
import tarfile

import keras
import numpy as np
import pytest

from keras_transfer.datasets import boxes as box_data
import fixtures
from keras_transfer.experiments import ExperimentResult
from keras_transfer.experiments import pet_heads
from keras_transfer.experiments import pet_heads_analysis
from keras_transfer.models import backbones
from keras_transfer.models import localization
from keras_transfer.models import surgery

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_smoke_run_end_to_end(data_dir, tmp_path):
    result = pet_heads.run("smoke", output_dir=tmp_path / "out", verbose=0)
    config = pet_heads.CONFIGS["smoke"]
    runs = pet_heads.plan("smoke")
    # the whole split: every network with the main loss, frozen also with MSE and CIoU; the subset: adapted, scratch
    assert runs == [
        ("frozen", "mse", 48), ("frozen", "giou", 48), ("frozen", "ciou", 48), ("adapted", "giou", 48),
        ("all_layers", "giou", 48),
        ("scratch", "giou", 48), ("adapted", "giou", 16), ("scratch", "giou", 16),
    ]
    assert [row["model"] for row in result.rows] == [f"{name}/{loss}/n{size}" for name, loss, size in runs]
    images, boxes = pet_heads.sample_images("smoke", "test")
    assert images.shape == (config["test_size"], 32, 32, 3) and images.dtype == np.uint8
    for row in result.rows:
        json.dumps(row)
        assert 0.0 <= row["iou_at_0_5"] <= 1.0 and 1 <= row["epochs"] <= config["max_epochs"]
        key = f"{row['model']}/seed0"
        history = result.histories[key]
        assert len(history["val_iou"]) == row["epochs"] and np.isfinite(history["loss"]).all()
        assert row["best_val_iou"] == pytest.approx(max(history["val_iou"]))
        predicted = np.array(result.metadata["test_predictions"][key], np.float32)
        assert predicted.shape == (config["test_size"], 4)
        assert (predicted[:, 2:] >= predicted[:, :2]).all() and (predicted >= 0).all() and (predicted <= 1).all()
        ious = pet_heads_analysis.test_ious(result, boxes, row["model"])
        assert row["mean_iou"] == pytest.approx(float(ious.mean()), abs=1e-4)
        assert row["iou_at_0_5"] == pytest.approx(float((ious >= 0.5).mean()), abs=1e-6)
    by_network = {}
    for row in result.rows:
        by_network.setdefault(row["network"], []).append(row)
    assert all(row["trainable_params"] == 4 * 4 * 64 * 4 + 4 for row in by_network["frozen"])
    assert all(row["frozen_params"] > 0 for row in by_network["adapted"])
    assert all(row["frozen_params"] == 0 for row in by_network["all_layers"] + by_network["scratch"])
    # Model 1 and Model 2 trained on the outputs of their frozen layers, the others on images
    assert {row["cached_features"] for row in by_network["frozen"]} == {"backbone"}
    assert {row["cached_features"] for row in by_network["adapted"]} == {"backbone_to_block2_pool"}
    assert {row["cached_features"] for row in by_network["scratch"] + by_network["all_layers"]} == {None}
    assert set(result.metadata["feature_extraction"]) == {"backbone", "backbone_to_block2_pool"}
    assert result.metadata["sizes"]["test"] == config["test_size"] and result.metadata["train_sizes"] == [48, 16]
    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows
    assert "frozen/giou/n48" in result.to_markdown(metrics=["mean_iou", "iou_at_0_5"])
    curves = pet_heads_analysis.learning_curves(loaded)
    assert [size for size, _, _ in curves["adapted"]] == [16, 48] and [size for size, _, _ in curves["frozen"]] == [48]
    whole = pet_heads_analysis.at_train_size(loaded)
    assert {row["train_size"] for row in whole.rows} == {48} and len(whole.histories) == 6
    outcomes = result.metadata["outcomes"]
    # stored as JSON: the sizes are str keys, in the result returned as in the one loaded
    assert set(outcomes["by_size"]) == {"16", "48"} and set(outcomes["ordered"]) == {"48"}  # no Model 1 on 16 images
    means = {row["network"]: row["mean_iou"] for row in result.rows if row["model"].endswith("giou/n48")}
    assert outcomes["by_size"]["48"]["adapted"] == [means["adapted"], 0.0]
    assert loaded.metadata["outcomes"] == outcomes
    assert {"wall_time_s", "cpu_time_s", "backend", "request"} <= set(loaded.metadata)  # recorded by base.recipe
    assert json.loads(json.dumps(result.metadata["outcomes"]))  # stored as JSON


def test_runs_are_deterministic_for_a_seed(data_dir, tmp_path):
    # a run on cached features and one on a repeated subset of the images
    settings = {"models": ("adapted", "scratch"), "losses": ("giou",), "few_label_models": ("scratch",), "verbose": 0}
    first = pet_heads.run("smoke", seeds=(1,), output_dir=tmp_path / "a", **settings)
    second = pet_heads.run("smoke", seeds=(1,), output_dir=tmp_path / "b", **settings)
    assert [row["model"] for row in first.rows] == ["adapted/giou/n48", "scratch/giou/n48", "scratch/giou/n16"]
    for one, two in zip(first.rows, second.rows):
        assert one["mean_iou"] == two["mean_iou"] and one["test_loss"] == two["test_loss"]
    assert first.metadata["test_predictions"] == second.metadata["test_predictions"]
    assert first.histories == second.histories


def test_all_layers_starts_from_the_pretrained_weights_and_scratch_does_not(data_dir):
    from keras_transfer import models as kt_models

    config = pet_heads.CONFIGS["smoke"]
    source = kt_models.pretrained_source_network("smoke", domain=config["source_domain"], verbose=0)
    pretrained = source.get_layer("block2_conv1").get_weights()[0]
    built = {name: pet_heads._build(name, config, 0, source) for name in pet_heads.MODELS}
    for name, model in built.items():
        kernel = backbones.base_layer(model).get_layer("block2_conv1").get_weights()[0]
        assert np.array_equal(kernel, pretrained) == (name != "scratch"), name
    trained = surgery.trainable_layer_names(built["all_layers"])
    assert trained == surgery.trainable_layer_names(built["scratch"]) and trained[0] == "block1_conv1"


@pytest.mark.multibackend
def test_training_on_cached_features_equals_training_on_images():
    # Model 2 without augmentation, the same batches in the same order: training the layers above the frozen ones on
    # the frozen layers' outputs changes the model's weights exactly as training the whole model on the images.
    from keras_transfer import losses
    from keras_transfer.models import source

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(24, 32, 32, 3)).astype(np.float32)
    corners = rng.uniform(0.05, 0.95, size=(24, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1).astype(np.float32)
    backbone_weights = source.source_backbone(source.build_source_network(5)).get_weights()

    def build():
        backbone = source.source_backbone(source.build_source_network(5))
        backbone.set_weights(backbone_weights)
        keras.utils.set_random_seed(3)
        model = localization.build_box_regressor(backbone, head_units=(16,), trainable_from="block3_conv1")
        return model

    on_images = build()
    on_images.compile(keras.optimizers.SGD(0.05), loss=losses.GIoULoss())
    on_images.fit(images, boxes, batch_size=8, epochs=2, shuffle=False, verbose=0)
    on_features = build()
    prefix, trainable = surgery.split_frozen_prefix(on_features)
    assert prefix.output_shape == (None, 8, 8, 32)
    trainable.compile(keras.optimizers.SGD(0.05), loss=losses.GIoULoss())
    trainable.fit(prefix.predict(images, verbose=0), boxes, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for one, two in zip(on_images.get_weights(), on_features.get_weights()):
        np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-5)
    assert not np.allclose(on_images.get_weights()[-1], build().get_weights()[-1])  # training did change them
    np.testing.assert_allclose(on_features.predict(images, verbose=0), on_images.predict(images, verbose=0), atol=1e-5)


def test_training_subsets_are_nested_random_and_the_same_for_every_network():
    small, large = box_data.subset_indices(2000, 250), box_data.subset_indices(2000, 500)
    assert len(small) == 250 and len(np.unique(small)) == 250 and (np.diff(small) > 0).all()
    assert set(small) <= set(large)
    assert small.max() > 1000 and small.min() < 1000  # drawn from the whole split, not its first images
    np.testing.assert_array_equal(small, box_data.subset_indices(2000, 250))
    assert not np.array_equal(small, box_data.subset_indices(2000, 250, seed=1))
    np.testing.assert_array_equal(box_data.subset_indices(30, 30), np.arange(30))
    with pytest.raises(ValueError, match="size=31"):
        box_data.subset_indices(30, 31)
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((np.arange(30), np.arange(30) * 10))
    taken = box_data.take_indices(dataset, np.array([2, 5, 29]), 30)
    assert int(taken.cardinality()) == 3
    assert [(int(a), int(b)) for a, b in taken.as_numpy_iterator()] == [(2, 20), (5, 50), (29, 290)]


@pytest.mark.multibackend
def test_learning_curves_and_tables_by_training_set_size():
    def row(network, loss, size, seed, iou):
        return {"model": f"{network}/{loss}/n{size}", "network": network, "loss": loss, "train_size": size,
                "seed": seed, "mean_iou": iou}

    rows = [
        row("adapted", "giou", 100, 0, 0.5), row("adapted", "giou", 100, 1, 0.7), row("adapted", "mse", 100, 0, 0.1),
        row("scratch", "giou", 100, 0, 0.4), row("adapted", "giou", 25, 0, 0.3), row("scratch", "giou", 25, 0, 0.2),
    ]
    histories = {f"{entry['model']}/seed{entry['seed']}": {"val_iou": [entry["mean_iou"]]} for entry in rows}
    result = ExperimentResult("pet-heads", "smoke", rows, histories, {"config": {"main_loss": "giou"}})
    curves = pet_heads_analysis.learning_curves(result)
    assert list(curves) == ["adapted", "scratch"]
    assert curves["adapted"][0] == (25, 0.3, 0.0)
    assert curves["adapted"][1][:2] == (100, pytest.approx(0.6))
    assert curves["adapted"][1][2] == pytest.approx(0.1414, abs=1e-4)
    assert pet_heads_analysis.learning_curves(result, loss="mse") == {"adapted": [(100, 0.1, 0.0)]}
    whole = pet_heads_analysis.at_train_size(result)
    expected = ["adapted/giou/n100", "adapted/giou/n100", "adapted/mse/n100", "scratch/giou/n100"]
    assert [entry["model"] for entry in whole.rows] == expected
    assert sorted(whole.histories) == sorted(f"{entry['model']}/seed{entry['seed']}" for entry in whole.rows)
    assert len(pet_heads_analysis.at_train_size(result, 25).rows) == 2
    with pytest.raises(ValueError, match="train_size=50"):
        pet_heads_analysis.at_train_size(result, 50)
    with pytest.raises(ValueError, match="loss='l1'"):
        pet_heads_analysis.learning_curves(result, loss="l1")


def test_cached_features_are_flipped_like_the_images():
    # Model 1 trains on cached features: each epoch draws each example or its mirror, as RandomFlip would.
    from keras_transfer.models import features as kt_features

    count = 64
    features = np.arange(count, dtype=np.float32)[:, None].repeat(3, axis=1)
    mirror_features = -1.0 - features
    boxes = np.tile([[0.1, 0.2, 0.4, 0.6]], (count, 1)).astype(np.float32)
    _, mirror_boxes = box_data.flip_horizontally(np.zeros((count, 1, 1, 1)), boxes)

    def epochs(seed, shuffle=True, mirror=True):
        pair = (mirror_features, mirror_boxes) if mirror else None
        dataset = kt_features._feature_pipeline(features, boxes, 16, shuffle, seed, pair)
        batches = list(dataset.take(2 * count // 16).as_numpy_iterator())  # two epochs of the repeating pipeline
        drawn = np.concatenate([f for f, _ in batches]).reshape(2, count, 3)
        drawn_boxes = np.concatenate([b for _, b in batches]).reshape(2, count, 4)
        return drawn, drawn_boxes

    drawn, drawn_boxes = epochs(seed=3)
    for epoch_features, epoch_boxes in zip(drawn, drawn_boxes):
        index = np.where(epoch_features[:, 0] >= 0, epoch_features[:, 0], -1.0 - epoch_features[:, 0]).astype(int)
        assert sorted(index) == list(range(count))  # each example once per epoch, original or mirror
        mirrored = epoch_features[:, 0] < 0
        assert 10 < mirrored.sum() < count - 10
        np.testing.assert_allclose(epoch_boxes[mirrored], mirror_boxes[index[mirrored]])
        np.testing.assert_allclose(epoch_boxes[~mirrored], boxes[index[~mirrored]])
    assert not np.array_equal(drawn[0], drawn[1])  # new flips and order every epoch
    np.testing.assert_array_equal(epochs(seed=3)[0], drawn)
    assert (epochs(seed=3, mirror=False)[0] >= 0).all()
    np.testing.assert_array_equal(epochs(seed=3, shuffle=False, mirror=False)[0][0], features)


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
    images, boxes = pet_heads.sample_images("full", "train", **settings)
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

    result = pet_heads.run(
        "full",
        seeds=(0,),
        output_dir=tmp_path / "out",
        verbose=0,
        models=("frozen", "adapted", "scratch"),
        losses=("giou",),
        few_label_sizes=(6,),
        few_label_models=("scratch",),
        batch_size=4,
        max_epochs=1,
        head_units=(8,),
        **settings,
    )
    train_size = result.metadata["sizes"]["train"]
    assert [row["model"] for row in result.rows] == [
        f"frozen/giou/n{train_size}", f"adapted/giou/n{train_size}", f"scratch/giou/n{train_size}", "scratch/giou/n6",
    ]
    sizes = result.metadata["sizes"]
    assert sizes["train"] + sizes["validation"] + sizes["test"] == len(fixture.info["boxes"])
    assert result.metadata["class_names"][0] == "Abyssinian"
    for row in result.rows:
        assert np.isfinite(row["mean_iou"]) and row["epochs"] == 1
        assert len(result.metadata["test_predictions"][f"{row['model']}/seed0"]) == sizes["test"]
    # VGG19's block 5 is not cached in the full profile (too large at 224x224); Model 1's features are
    assert [row["cached_features"] for row in result.rows] == ["vgg19", None, None, None]
    adapted = next(row for row in result.rows if row["network"] == "adapted")
    # block 5 (4 convolutions of 512 filters) and the new layers train; blocks 1-4 stay frozen
    block5 = 9 * 512 * 512 * 4 + 512 * 4
    assert adapted["trainable_params"] == block5 + 512 * 8 + 8 + 8 * 4 + 4


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="models"):
        pet_heads.run("smoke", models=("frozen", "tiny"), verbose=0)
    with pytest.raises(ValueError, match="losses"):
        pet_heads.run("smoke", losses=("l1",), verbose=0)
    with pytest.raises(ValueError, match="learning_rate"):
        pet_heads.run("smoke", learning_rate=0.1, verbose=0)
    with pytest.raises(ValueError, match="split"):
        pet_heads.sample_images("smoke", "holdout")
    with pytest.raises(ValueError, match="main_loss='mse'"):
        pet_heads.run("smoke", losses=("giou",), main_loss="mse", verbose=0)
    with pytest.raises(ValueError, match="few_label_sizes"):
        pet_heads.plan("smoke", few_label_sizes=(48,))
    with pytest.raises(ValueError, match="learning_rates"):
        pet_heads.run("smoke", learning_rates={"frozen": 1e-3}, verbose=0)
    with pytest.raises(ValueError, match="image_size"):
        pet_heads.plan("smoke", image_size=(32,))
    with pytest.raises(ValueError, match="epoch_size"):
        pet_heads.plan("smoke", epoch_size=0)
    with pytest.raises(ValueError, match="augment"):
        pet_heads.plan("smoke", augment="rotate")
    with pytest.raises(ValueError, match="data='coco'"):
        box_data.load_localization_data({"data": "coco"})


def test_live_settings_are_a_smaller_run_of_the_same_lesson():
    for profile, live in pet_heads.LIVE.items():
        runs = pet_heads.plan(profile, **live) if profile != "full" else None
        if runs is not None:
            assert len(runs) <= len(pet_heads.plan(profile))
    quick = pet_heads.plan("quick", **pet_heads.LIVE["quick"])
    # the all-layers and the scratch network on the fewest and the most images: the value of transfer at both ends
    assert {(name, size) for name, _, size in quick} >= {("all_layers", 100), ("scratch", 100),
                                                        ("all_layers", 2000), ("scratch", 2000)}
    assert {loss for _, loss, _ in quick} == {pet_heads.CONFIGS["quick"]["main_loss"]}
