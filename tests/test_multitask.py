"""Multitask learning: the shared network, masked class labels, and the experiment's rows and verdicts."""

import json

import keras
import numpy as np
import pytest

from keras_transfer.models import multitask


def test_networks_have_the_heads_asked_for_and_share_one_base():
    shared = multitask.build_multitask_network((16, 16, 3), 4, filters=(4, 8), head_units=8)
    assert set(shared.output) == {"class", "box"}
    assert shared.output["class"].shape[-1] == 4 and shared.output["box"].shape[-1] == 4
    assert shared.name == "multitask"
    alone = multitask.build_multitask_network((16, 16, 3), 4, tasks=("box",), filters=(4, 8), head_units=8)
    assert set(alone.output) == {"box"} and alone.name == "box_only"
    base_weights = [layer.name for layer in shared.layers if layer.name.startswith("block") and layer.weights]
    assert base_weights == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]
    # the shared network has exactly the weights of the two single-task networks minus one copy of the base
    single = {task: multitask.build_multitask_network((16, 16, 3), 4, tasks=(task,), filters=(4, 8), head_units=8)
              for task in ("class", "box")}
    base = sum(int(np.prod(w.shape)) for layer in shared.layers if layer.name in base_weights for w in layer.weights)
    assert shared.count_params() == single["class"].count_params() + single["box"].count_params() - base


def test_global_pooling_reads_the_class_head_anywhere_and_leaves_the_box_head_flattened():
    shared = multitask.build_multitask_network((16, 16, 3), 4, filters=(4, 8), head_units=8, class_pooling="max")
    assert shared.get_layer("class_hidden").input.shape[-1] == 8  # the channels of the last block, pooled
    assert shared.get_layer("box_hidden").input.shape[-1] == 4 * 4 * 8  # the flattened map
    flat = multitask.build_multitask_network((16, 16, 3), 4, filters=(4, 8), head_units=8)
    assert flat.get_layer("class_hidden").input.shape[-1] == 4 * 4 * 8
    alone = multitask.build_multitask_network((16, 16, 3), 4, tasks=("class",), filters=(4, 8), head_units=8,
                                              class_pooling="average")
    assert "flatten" not in [layer.name for layer in alone.layers]
    # a pooled class head sees the same features wherever the item sits: shifting the image by a whole pooling
    # cell of the last block changes nothing while the item's receptive field stays inside the image
    wide = multitask.build_multitask_network((32, 32, 3), 4, filters=(4, 8), head_units=8, class_pooling="max")
    image = np.zeros((1, 32, 32, 3), "float32")
    image[0, 8:12, 9:13] = np.random.default_rng(0).uniform(50, 255, (4, 4, 3))
    shifted = np.roll(image, (8, 4), axis=(1, 2))
    pooled = keras.Model(wide.input, wide.get_layer("class_pooling").output)
    assert np.allclose(pooled.predict(image, verbose=0), pooled.predict(shifted, verbose=0), atol=1e-5)
    flattened = keras.Model(wide.input, wide.get_layer("flatten").output)
    assert not np.allclose(flattened.predict(image, verbose=0), flattened.predict(shifted, verbose=0), atol=1e-5)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="tasks"):
        multitask.build_multitask_network((16, 16, 3), 4, tasks=("class", "segmentation"))
    with pytest.raises(ValueError, match="num_classes"):
        multitask.build_multitask_network((16, 16, 3), 1)
    with pytest.raises(ValueError, match="class_pooling"):
        multitask.build_multitask_network((16, 16, 3), 4, class_pooling="mean")
    model = multitask.build_multitask_network((16, 16, 3), 3, filters=(4,), head_units=4)
    with pytest.raises(ValueError, match="box_weight"):
        multitask.compile_multitask(model, box_weight=-1.0)


def test_unlabelled_images_do_not_move_the_class_head():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 3, 32)
    boxes = np.sort(rng.uniform(0, 1, (32, 2, 2)), axis=1).transpose(0, 2, 1).reshape(32, 4).astype("float32")
    model = multitask.build_multitask_network((16, 16, 3), 3, filters=(4,), head_units=4, dropout=0.0)
    multitask.compile_multitask(model, box_weight=0.0, learning_rate=0.01)
    before = [w.copy() for w in model.get_layer("class").get_weights()]
    model.fit(x, {"class": labels, "box": boxes}, sample_weight={"class": np.zeros(32, "float32"),
                                                                 "box": np.ones(32, "float32")},
              batch_size=8, epochs=1, verbose=0)
    assert all(np.allclose(a, b) for a, b in zip(before, model.get_layer("class").get_weights()))
    model.fit(x, {"class": labels, "box": boxes}, sample_weight={"class": np.ones(32, "float32"),
                                                                 "box": np.ones(32, "float32")},
              batch_size=8, epochs=1, verbose=0)
    assert not all(np.allclose(a, b) for a, b in zip(before, model.get_layer("class").get_weights()))


def test_labelled_mask_takes_the_budget_of_every_class():
    from keras_transfer.experiments import multitask as experiment

    labels = np.repeat([0, 1, 2], 10)
    mask = experiment.labelled_mask(labels, 4, seed=0)
    assert np.bincount(labels[mask]).tolist() == [4, 4, 4]
    assert np.array_equal(mask, experiment.labelled_mask(labels, 4, seed=0))
    with pytest.raises(ValueError, match="budgets"):
        experiment.labelled_mask(labels, 11, seed=0)


def test_sharing_verdicts_come_from_the_rows():
    from keras_transfer.experiments import multitask as experiment

    def rows(gains):
        out = []
        for seed, gain in enumerate(gains):
            out.append({"network": "class_only", "budget": 5, "seed": seed, "test_accuracy": 0.5})
            out.append({"network": "multitask", "budget": 5, "seed": seed, "test_accuracy": 0.5 + gain})
        return out

    assert experiment.sharing(rows([0.1, 0.05, 0.02]))["5"]["verdict"] == "helped"
    assert experiment.sharing(rows([-0.1, -0.05, -0.02]))["5"]["verdict"] == "hurt"
    table = experiment.sharing(rows([0.1, -0.05, 0.02]))
    assert table["5"]["verdict"] == "no clear difference"
    assert table["5"]["mean"] == pytest.approx(0.07 / 3)


def test_smoke_run_has_single_task_and_multitask_rows(data_dir, tmp_path):
    from keras_transfer.experiments import multitask as experiment
    from keras_transfer.plotting import multitask as plots

    result = experiment.run("smoke", output_dir=tmp_path, verbose=0, seeds=(0,))
    networks = [row["network"] for row in result.rows]
    assert networks == ["class_only", "box_only", "multitask"]
    by_network = {row["network"]: row for row in result.rows}
    assert by_network["class_only"]["class_labels"] == 5 * 5 and by_network["class_only"]["test_mean_iou"] is None
    assert by_network["multitask"]["class_labels"] == 5 * 5
    assert by_network["multitask"]["box_labels"] == experiment.CONFIGS["smoke"]["train_size"]
    assert by_network["box_only"]["test_accuracy"] is None and 0 <= by_network["box_only"]["test_mean_iou"] <= 1
    assert abs(by_network["class_only"]["steps"] - by_network["multitask"]["steps"]) <= by_network["multitask"]["steps"] // 2
    assert result.metadata["sharing"]["5"]["per_seed"]["0"] == pytest.approx(
        by_network["multitask"]["test_accuracy"] - by_network["class_only"]["test_accuracy"])
    json.loads((tmp_path / "result.json").read_text())
    assert plots.plot_multitask_curves(result).axes
    assert "multitask" in result.to_markdown()
    keras.backend.clear_session()


def test_live_settings_keep_the_smallest_and_largest_budget():
    from keras_transfer.experiments import multitask as experiment

    assert set(experiment.LIVE) == set(experiment.CONFIGS)
    for profile, overrides in experiment.LIVE.items():
        assert set(overrides) <= set(experiment.CONFIGS[profile]), profile
        budgets = overrides.get("budgets", experiment.CONFIGS[profile]["budgets"])
        assert set(budgets) <= set(experiment.CONFIGS[profile]["budgets"]), profile
    live, quick = experiment.LIVE["quick"]["budgets"], experiment.CONFIGS["quick"]["budgets"]
    assert (min(live), max(live)) == (min(quick), max(quick)) and len(live) < len(quick)


def test_epoch_order_gives_each_epoch_its_share_of_labelled_images():
    from keras_transfer.experiments.multitask import epoch_order

    labelled = np.zeros(100, bool)
    labelled[[3, 17, 42, 80]] = True
    order = epoch_order(labelled, epochs=3, epoch_size=64, labelled_share=0.5, seed=0)
    assert order.shape == (192,) and order.min() >= 0 and order.max() < 100
    for epoch in order.reshape(3, 64):
        assert labelled[epoch].sum() >= 32  # the labelled half, plus any the draw from all images adds
        assert set(np.flatnonzero(labelled)) <= set(epoch)  # each labelled image in every epoch
        assert len(set(epoch[~labelled[epoch]])) == len(epoch[~labelled[epoch]])  # the rest at most once each
    assert not np.array_equal(order[:64], order[64:128])  # a new order every epoch
    np.testing.assert_array_equal(order, epoch_order(labelled, 3, 64, 0.5, seed=0))
    for share in (0, 1, 1.5):
        with pytest.raises(ValueError, match="labelled_share"):
            epoch_order(labelled, 3, 64, share, seed=0)
