"""Box regression: the GIoU loss against Keras's own box utilities, the box regressors' trainable parts, the pasted
objects' exact boxes, and the box gallery."""

import json

import keras
import matplotlib
import numpy as np
import pytest

from keras_transfer import layers as kt_layers
from keras_transfer import losses
from keras_transfer import metrics as kt_metrics
from keras_transfer.datasets import fashion_mnist
from keras_transfer.datasets import photos as photo_data
from keras_transfer.datasets import pasted_objects
from keras_transfer.models import backbones
from keras_transfer.datasets import boxes as box_data
from keras_transfer.models import box_evaluation
from keras_transfer.models import localization
from keras_transfer.models import surgery
from keras_transfer.models import source

# Pairs of relative boxes: overlapping, nested, identical, touching, disjoint near and far, and random ones.
FIXED_TRUE = np.array(
    [
        [0.1, 0.1, 0.5, 0.5],
        [0.2, 0.2, 0.8, 0.8],
        [0.3, 0.1, 0.6, 0.9],
        [0.0, 0.0, 0.5, 0.5],
        [0.0, 0.0, 0.1, 0.1],
        [0.1, 0.6, 0.3, 0.9],
    ],
    np.float32,
)
FIXED_PRED = np.array(
    [
        [0.3, 0.3, 0.7, 0.7],  # overlapping: IoU 0.04 / 0.28
        [0.3, 0.3, 0.5, 0.6],  # inside the true box
        [0.3, 0.1, 0.6, 0.9],  # identical
        [0.5, 0.0, 1.0, 0.5],  # touching, no overlap: GIoU = 0
        [0.9, 0.9, 1.0, 1.0],  # far apart: GIoU = 0.02 - 0.98 = -0.96
        [0.6, 0.1, 0.9, 0.3],  # disjoint
    ],
    np.float32,
)


def _random_pairs(count, seed):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 1, size=(2, count, 2, 2))
    boxes = np.concatenate([corners.min(axis=2), corners.max(axis=2)], axis=-1).astype(np.float32)
    return boxes[0], boxes[1]


def _reference_giou(true_boxes, predicted_boxes):
    """GIoU from Keras's `compute_iou` (the IoU) and NumPy areas: union from IoU, enclosing box by min/max."""
    iou = np.asarray(
        keras.ops.convert_to_numpy(
            keras.utils.bounding_boxes.compute_iou(true_boxes[:, None], predicted_boxes[:, None], "xyxy")
        )
    )[:, 0, 0]
    area = lambda boxes: (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # noqa: E731
    union = (area(true_boxes) + area(predicted_boxes)) / (1.0 + iou)  # since intersection = iou * union
    enclosing = (np.maximum(true_boxes[:, 2:], predicted_boxes[:, 2:]) - np.minimum(true_boxes[:, :2],
                                                                                      predicted_boxes[:, :2])).prod(1)
    return iou, iou - (enclosing - union) / enclosing


@pytest.mark.multibackend
def test_giou_loss_matches_keras_compute_iou_reference():
    random_true, random_pred = _random_pairs(200, seed=0)
    true_boxes = np.concatenate([FIXED_TRUE, random_true])
    pred_boxes = np.concatenate([FIXED_PRED, random_pred])
    iou, giou = _reference_giou(true_boxes, pred_boxes)
    assert (iou == 0).sum() >= 4  # non-overlapping pairs are covered
    per_box = losses.GIoULoss(reduction=None)(true_boxes, pred_boxes)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_box), 1.0 - giou, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kt_metrics.box_iou(true_boxes, pred_boxes)), iou, atol=1e-6)
    # hand-computed values of the fixed pairs
    # overlapping; nested (GIoU = IoU); identical; touching (GIoU = 0); far apart (U = 0.02, C = 1); disjoint
    # (U = 0.12, C = 0.64)
    expected = [1 - (0.04 / 0.28 - 0.08 / 0.36), 1 - 0.06 / 0.36, 0.0, 1.0, 1.98, 1 + 0.52 / 0.64]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_box)[:6], expected, atol=1e-5)
    mean = losses.GIoULoss()(true_boxes, pred_boxes)
    assert float(keras.ops.convert_to_numpy(mean)) == pytest.approx(float(np.mean(1.0 - giou)), abs=1e-5)
    # (batch, num_boxes, 4) works too, and yxyx boxes give the same values (IoU is symmetric in x and y)
    batched = losses.GIoULoss(reduction=None)(true_boxes.reshape(2, -1, 4), pred_boxes.reshape(2, -1, 4))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(batched).reshape(-1), 1.0 - giou, atol=1e-5)
    swap = [1, 0, 3, 2]
    yxyx = losses.GIoULoss(bounding_box_format="rel_yxyx", reduction=None)(true_boxes[:, swap], pred_boxes[:, swap])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(yxyx), 1.0 - giou, atol=1e-5)


def _fit_a_box(loss, steps):
    """Trains one box from [0.05, 0.05, 0.2, 0.2] towards [0.6, 0.6, 0.9, 0.9] (disjoint) with Adam; its IoU."""
    target = np.array([[0.6, 0.6, 0.9, 0.9]], np.float32)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(4, use_bias=False, kernel_initializer=keras.initializers.Constant([[0.05, 0.05, 0.2, 0.2]])),
            kt_layers.BoxCorners(),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), loss=loss)
    model.fit(np.ones((steps, 1)), np.repeat(target, steps, axis=0), batch_size=1, epochs=1, shuffle=False, verbose=0)
    return float(keras.ops.convert_to_numpy(kt_metrics.box_iou(target, model.predict(np.ones((1, 1)), verbose=0)))[0])


@pytest.mark.multibackend
def test_giou_pulls_a_non_overlapping_box_onto_its_target():
    # Where the boxes do not overlap, IoU is 0 and flat: a 1 - IoU loss leaves the box where it is. GIoU still has a
    # gradient (the empty part of the enclosing box), so the same training finds the target.
    assert _fit_a_box(lambda y_true, y_pred: 1.0 - kt_metrics.box_iou(y_true, y_pred), 50) == 0.0
    assert _fit_a_box(losses.GIoULoss(), 300) > 0.9


@pytest.mark.multibackend
def test_giou_loss_config_round_trip_and_validation():
    loss = losses.GIoULoss(bounding_box_format="xyxy", epsilon=1e-6, name="box_loss")
    config = loss.get_config()
    json.dumps(config)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, losses.GIoULoss)
    assert json.dumps(restored.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    with pytest.raises(ValueError, match="bounding_box_format='center_xywh'"):
        losses.GIoULoss(bounding_box_format="center_xywh")
    with pytest.raises(ValueError, match="epsilon=0"):
        losses.GIoULoss(epsilon=0)


@pytest.mark.multibackend
def test_box_iou_metric_and_scores_agree_with_compute_iou():
    true_boxes, pred_boxes = _random_pairs(64, seed=1)
    iou, _ = _reference_giou(true_boxes, pred_boxes)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kt_metrics.box_iou(true_boxes, pred_boxes)), iou, atol=1e-6)
    metric = kt_metrics.BoxIoU()
    metric.update_state(true_boxes[:40], pred_boxes[:40])
    metric.update_state(true_boxes[40:], pred_boxes[40:])
    assert float(metric.result()) == pytest.approx(float(iou.mean()), abs=1e-5)
    at_half = kt_metrics.BoxIoU(threshold=0.5, name="iou_at_0_5")
    at_half.update_state(FIXED_TRUE, FIXED_PRED)
    assert float(at_half.result()) == pytest.approx(1 / 6)  # only the identical pair (the nested one has IoU 1/6)
    scores = box_evaluation.localization_scores(FIXED_TRUE, FIXED_PRED)
    assert scores["iou_at_0_5"] == pytest.approx(1 / 6) and scores["mean_iou"] == pytest.approx(
        float(_reference_giou(FIXED_TRUE, FIXED_PRED)[0].mean()), abs=1e-6
    )
    assert "iou_at_0_75" in box_evaluation.localization_scores(FIXED_TRUE, FIXED_PRED, threshold=0.75)
    restored = kt_metrics.BoxIoU.from_config(at_half.get_config())
    assert restored.threshold == 0.5 and restored.name == "iou_at_0_5"
    with pytest.raises(ValueError, match="threshold=1.5"):
        kt_metrics.BoxIoU(threshold=1.5)
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        kt_metrics.box_iou(FIXED_TRUE, FIXED_PRED[:3])


@pytest.mark.multibackend
def test_box_corners_orders_each_pair_and_keeps_valid_boxes():
    layer = kt_layers.BoxCorners()
    boxes = np.array([[0.6, 0.1, 0.2, 0.5], [0.1, 0.9, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4]], np.float32)
    expected = np.array([[0.2, 0.1, 0.6, 0.5], [0.1, 0.2, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(boxes)), expected)
    assert kt_layers.BoxCorners.from_config(layer.get_config()).name == layer.name


def test_flip_horizontally_agrees_with_keras_random_flip():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(16, 8, 12, 3)).astype(np.float32)
    x1, y1 = rng.uniform(0, 0.5, size=(2, 16))
    boxes = np.stack([x1, y1, x1 + 0.3, y1 + 0.4], axis=1).astype(np.float32)
    flipped_images, flipped_boxes = box_data.flip_horizontally(images, boxes)
    np.testing.assert_array_equal(flipped_images[:, :, 0], images[:, :, -1])
    layer = keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy", seed=3)
    output = layer(
        {"images": images, "bounding_boxes": {"boxes": boxes[:, None], "labels": np.zeros((16, 1), np.float32)}},
        training=True,
    )
    keras_images = keras.ops.convert_to_numpy(output["images"])
    keras_boxes = keras.ops.convert_to_numpy(output["bounding_boxes"]["boxes"])[:, 0]
    was_flipped = np.array([np.array_equal(a, b) for a, b in zip(keras_images, flipped_images)])
    assert 0 < was_flipped.sum() < 16
    np.testing.assert_allclose(keras_boxes[was_flipped], flipped_boxes[was_flipped], atol=1e-6)
    np.testing.assert_allclose(keras_boxes[~was_flipped], boxes[~was_flipped], atol=1e-6)


def test_resize_backbone_keeps_the_pretrained_filters():
    network = source.build_source_network(5)
    backbone = source.source_backbone(network)
    same_size = surgery.resize_backbone(backbone, (32, 32, 3))
    larger = surgery.resize_backbone(backbone, (64, 64, 3))
    assert larger.output_shape == (None, 8, 8, 64)
    for layer in backbone.layers:
        for old, new in zip(layer.get_weights(), larger.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(old, new)
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(same_size.predict(images, verbose=0), backbone.predict(images, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="not fully convolutional"):
        surgery.resize_backbone(network, (64, 64, 3))
    with pytest.raises(ValueError, match="channels"):
        surgery.resize_backbone(backbone, (64, 64, 1))


def _quick_like_backbone():
    return surgery.resize_backbone(source.source_backbone(source.build_source_network(5)), (32, 32, 3))


def test_model_1_trains_only_the_output_layer():
    model = localization.build_box_regressor(_quick_like_backbone())
    assert surgery.trainable_layer_names(model) == ["box_dense"]
    counts = backbones.parameter_counts(model)
    assert counts["trainable"] == 4 * 4 * 64 * 4 + 4
    assert [layer.name for layer in backbones.head_layers(model)] == ["box_dense"]
    prediction = model.predict(np.zeros((3, 32, 32, 3), np.float32), verbose=0)
    np.testing.assert_allclose(prediction, [[0.25, 0.25, 0.75, 0.75]] * 3, atol=0.01)  # the initial box
    with pytest.raises(ValueError, match="initial_box"):
        localization.build_box_regressor(_quick_like_backbone(), initial_box=(0.5, 0.5, 0.2, 0.9))
    with pytest.raises(ValueError, match="output_activation='relu'"):
        localization.build_box_regressor(_quick_like_backbone(), output_activation="relu")


def test_model_2_fine_tunes_the_upper_block_and_keeps_the_lower_ones():
    model = localization.build_box_regressor(
        _quick_like_backbone(), head_units=(16, 8), trainable_from="block3_conv1", name="adapted"
    )
    assert surgery.trainable_layer_names(model) == [
        "block3_conv1", "block3_conv2", "head_dense_1", "head_dense_2", "box_dense",
    ]
    base = backbones.base_layer(model)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in base.layers if layer.weights}
    model.compile(keras.optimizers.Adam(1e-2), loss=losses.GIoULoss())
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(16, 32, 32, 3)).astype(np.float32)
    y = np.tile([[0.2, 0.3, 0.6, 0.8]], (16, 1)).astype(np.float32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for layer in base.layers:
        if not layer.weights:
            continue
        changed = any(not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights()))
        assert changed == layer.name.startswith("block3"), layer.name
    with pytest.raises(ValueError, match="trainable_from='block9_conv1'"):
        localization.build_box_regressor(_quick_like_backbone(), trainable_from="block9_conv1")


def test_scratch_and_vgg19_variants():
    scratch = localization.build_box_regressor(_quick_like_backbone(), head_units=(8,), trainable_from="block1_conv1")
    assert surgery.trainable_layer_names(scratch)[:2] == ["block1_conv1", "block1_conv2"]
    assert backbones.parameter_counts(scratch)["frozen"] == 0
    vgg = localization.build_vgg19_box_regressor(None, (32, 32, 3), trainable_from="block5_conv1", head_units=(8,))
    names = surgery.trainable_layer_names(vgg)
    assert names == ["block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4", "head_dense_1", "box_dense"]
    assert vgg.output_shape == (None, 4)


def test_model_saves_and_loads_without_custom_objects(tmp_path):
    model = localization.build_box_regressor(_quick_like_backbone(), head_units=(8,), trainable_from="block3_conv1")
    model.compile(keras.optimizers.Adam(1e-3), loss=losses.GIoULoss(), metrics=[kt_metrics.BoxIoU()])
    x = np.random.default_rng(0).uniform(0, 255, size=(4, 32, 32, 3)).astype(np.float32)
    model.fit(x, np.tile([[0.1, 0.2, 0.5, 0.6]], (4, 1)), epochs=1, verbose=0)
    path = tmp_path / "regressor.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(restored.loss, losses.GIoULoss)


def _uniform_photo(color=(0, 0, 255), size=(90, 120)):
    return np.broadcast_to(np.array(color, np.uint8), (*size, 3)).copy()


def _items(count, seed=0):
    (x_train, _), _ = fashion_mnist.load_fashion_mnist()
    return x_train[np.random.default_rng(seed).permutation(len(x_train))[:count]]


def test_pasted_boxes_exactly_enclose_the_pasted_item():
    # On a pure blue photo the red channel is 0 everywhere but on the pasted (gray, non-zero) item pixels.
    items = _items(40)
    data = pasted_objects.paste_objects(items, [_uniform_photo()], image_size=(48, 40), seed=5, return_masks=True)
    assert data.images.shape == (40, 48, 40, 3) and data.boxes.dtype == np.float32
    for image, box, mask in zip(data.images, data.boxes, data.masks):
        pasted = image[..., 0] > 0
        np.testing.assert_array_equal(pasted, mask)
        np.testing.assert_array_equal(image[~pasted], [[0, 0, 255]] * int((~pasted).sum()))
        np.testing.assert_array_equal(image[pasted][:, 0], image[pasted][:, 1])  # gray items
        row_min, col_min, row_max, col_max = pasted_objects.tight_box(pasted)
        expected = [col_min / 40, row_min / 48, (col_max + 1) / 40, (row_max + 1) / 48]
        np.testing.assert_allclose(box, expected, atol=1e-7)
    sides = data.boxes[:, 2:] - data.boxes[:, :2]
    assert sides.max() <= 1.0 and sides.min() > 0.05
    # with real photos the masks' tight boxes are the boxes too
    real = pasted_objects.paste_objects(items[:10], photo_data.sklearn_photos(), image_size=64, seed=1, return_masks=True)
    for box, mask in zip(real.boxes, real.masks):
        row_min, col_min, row_max, col_max = pasted_objects.tight_box(mask)
        np.testing.assert_allclose(box * 64, [col_min, row_min, col_max + 1, row_max + 1], atol=1e-5)


def test_pasted_objects_are_deterministic_for_a_seed():
    items, photos = _items(12), [_uniform_photo((10, 200, 30)), _uniform_photo((200, 0, 0), (70, 70))]
    first = pasted_objects.paste_objects(items, photos, image_size=32, seed=3, labels=np.arange(12))
    second = pasted_objects.paste_objects(items, photos, image_size=32, seed=3, labels=np.arange(12))
    other = pasted_objects.paste_objects(items, photos, image_size=32, seed=4)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.boxes, second.boxes)
    np.testing.assert_array_equal(first.labels, np.arange(12))
    assert not np.array_equal(first.boxes, other.boxes)
    assert (other.labels == -1).all() and first.masks is None


def test_load_pasted_objects_uses_half_b_and_is_reproducible():
    data = pasted_objects.load_pasted_objects(30, 10, 20, image_size=32, seed=2)
    again = pasted_objects.load_pasted_objects(30, 10, 20, image_size=32, seed=2)
    assert data.class_names == ("T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot")
    assert [len(part.boxes) for part in data[:3]] == [30, 10, 20]
    for part, same in zip(data[:3], again[:3]):
        np.testing.assert_array_equal(part.images, same.images)
        np.testing.assert_array_equal(part.boxes, same.boxes)
        assert set(np.unique(part.labels)) <= set(range(5))
        assert ((part.boxes[:, :2] >= 0) & (part.boxes[:, 2:] <= 1) & (part.boxes[:, 2:] > part.boxes[:, :2])).all()
    with pytest.raises(ValueError, match="train_size=0"):
        pasted_objects.load_pasted_objects(0, 10, 10)
    with pytest.raises(ValueError, match="items"):
        pasted_objects.paste_objects(np.zeros((2, 28, 28), np.uint8), [_uniform_photo()])
    with pytest.raises(ValueError, match="scale_range"):
        pasted_objects.paste_objects(_items(2), [_uniform_photo()], scale_range=(0.9, 0.2))


def test_box_galleries_draw_every_box():
    from keras_transfer.plotting import boxes as box_plots

    images = np.zeros((5, 20, 30, 3), np.uint8)
    true_boxes = np.tile([[0.1, 0.2, 0.5, 0.6]], (5, 1)).astype(np.float32)
    predicted = true_boxes + 0.05
    ious = np.array([0.9, 0.1, 0.5, 0.7, 0.3], np.float32)
    figure = box_plots.plot_box_gallery(images, true_boxes, predicted, ious=ious, cols=3)
    drawn = [ax for ax in figure.axes if ax.images]
    assert len(drawn) == 5 and all(len(ax.patches) == 2 for ax in drawn)
    rectangle = drawn[0].patches[0]
    assert rectangle.get_x() == pytest.approx(0.1 * 30 - 0.5) and rectangle.get_width() == pytest.approx(0.4 * 30)
    assert drawn[1].get_title() == "IoU 0.10"
    figure = box_plots.plot_best_and_worst(images, true_boxes, predicted, ious, count=2)
    titles = [ax.get_title() for ax in figure.axes if ax.images]
    assert titles == ["worst 1\nIoU 0.10", "worst 2\nIoU 0.30", "best 1\nIoU 0.90", "best 2\nIoU 0.70"]
    figure = box_plots.plot_iou_distribution({"a": ious, "b": ious / 2})
    assert len(figure.axes[0].patches) == 2
    with pytest.raises(ValueError, match=r"\(5, 4\)"):
        box_plots.plot_box_gallery(images, true_boxes[:2])
    curves = {"finetuned": [(250, 0.7, 0.0), (2000, 0.85, 0.0)], "scratch": [(250, 0.6, 0.02), (2000, 0.86, 0.01)]}
    figure = box_plots.plot_iou_by_train_size(curves, baseline="scratch", labels={"scratch": "from scratch"})
    left, right = figure.axes
    assert [line.get_label() for line in left.get_lines() if not line.get_label().startswith("_")] == [
        "finetuned", "from scratch"]
    gains = [line for line in right.get_lines() if line.get_label() == "finetuned"][0]
    np.testing.assert_allclose(gains.get_xdata(), [250, 2000])
    np.testing.assert_allclose(gains.get_ydata(), [0.1, -0.01], atol=1e-9)
    assert left.get_xscale() == "log" and [tick.get_text() for tick in left.get_xticklabels()] == ["250", "2000"]
    assert len(box_plots.plot_iou_by_train_size(curves).axes) == 1
    with pytest.raises(ValueError, match="baseline='random'"):
        box_plots.plot_iou_by_train_size(curves, baseline="random")
    matplotlib.pyplot.close("all")


def test_box_losses_by_name_and_testing_a_box_regressor():
    import tensorflow as tf

    true_boxes, pred_boxes = FIXED_TRUE[:3].astype(np.float32), FIXED_TRUE[1:4].astype(np.float32)
    giou = box_evaluation.box_loss("giou")
    assert isinstance(giou, losses.GIoULoss) and giou.bounding_box_format == "rel_xyxy"  # the package's own GIoU
    assert type(box_evaluation.box_loss("ciou")).__module__.startswith("keras_cv")  # CIoU: keras-cv's
    assert float(box_evaluation.box_loss("mse")(true_boxes, true_boxes)) == 0.0
    assert float(box_evaluation.box_loss("ciou")(true_boxes, true_boxes)) == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="'l1'"):
        box_evaluation.box_loss("l1")
    # a model that always predicts one box: its scores and loss are those of that box against every true box
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Lambda(lambda x: keras.ops.zeros_like(x[:, 0, 0, :1]) + np.array([0.2, 0.2, 0.8, 0.8]))(
        inputs)
    model = keras.Model(inputs, outputs)
    test = tf.data.Dataset.from_tensor_slices((np.zeros((3, 4, 4, 3), np.float32), true_boxes)).batch(2)
    scores, test_loss, predicted = box_evaluation.test_box_regressor(model, test, "mse", threshold=0.5)
    constant = np.tile([[0.2, 0.2, 0.8, 0.8]], (3, 1)).astype(np.float32)
    np.testing.assert_allclose(predicted, constant, atol=1e-6)
    assert scores == box_evaluation.localization_scores(true_boxes, constant)
    assert test_loss == pytest.approx(float(np.mean((true_boxes - constant) ** 2)), abs=1e-5)


def test_frozen_features_are_computed_once_per_frozen_part():
    import tensorflow as tf

    from keras_transfer.models import features as kt_features

    inputs = keras.Input((4, 4, 3))
    base = keras.Model(inputs, keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(inputs)), name="frozen_part")
    images = np.random.default_rng(0).random((5, 4, 4, 3)).astype(np.float32)
    train = tf.data.Dataset.from_tensor_slices((images, FIXED_TRUE[:5].astype(np.float32))).batch(2)
    memo = {}
    cached = kt_features.frozen_features(base, train, train, flip_labels=box_data.flip_boxes_horizontally,
                                         memo=memo)
    np.testing.assert_allclose(cached["train"]["features"], base.predict(images, verbose=0), atol=1e-6)
    np.testing.assert_allclose(cached["train"]["mirror_features"], base.predict(images[:, :, ::-1], verbose=0),
                               atol=1e-6)
    np.testing.assert_allclose(cached["train"]["mirror_labels"],
                               box_data.flip_boxes_horizontally(FIXED_TRUE[:5]), atol=1e-6)
    assert cached["shape"] == [8] and list(memo) == ["frozen_part"]
    assert kt_features.frozen_features(base, None, None, memo=memo) is cached  # reused, not computed again
    plain = kt_features.frozen_features(base, train, train)
    assert set(plain["train"]) == {"features", "labels"}
