"""A `full`-sized dry run on the CPU: each experiment that uses VGG19 in `full` runs its `full` config.

Off-the-shelf features, the Full-Network Embedding, the Pet head box regressors and Models 1-4 each run their `full`
profile at its real image size (224x224) with Keras's real VGG19 (random weights in place of ImageNet's: the
machines that test this project are offline) on the fixture archives, for a step or two at batch 2 on tiny subsets.
So the shapes, the preprocessing, the layers tapped and trained, the data path from the official layouts and the
result tables are the real ones; only the numbers mean nothing.

Tiny subsets: Oxford-17's split file is rewritten with two images per split (the layout as published: `trn1 val1
tst1 ... trn3 val3 tst3`, 1 x N arrays of 1-based image ids, 80 consecutive ids per class); the Pet fixture has
two breeds. Off-the-shelf and the Full-Network Embedding take their network from `embeddings.tasks.
load_source_model`, which in `full` fetches ImageNet VGG19 with its top; the test hands it the same VGG19 with
random weights. Pet heads and Models 1-4 take `weights=None`.
"""

import shutil
import tarfile

import keras
import numpy as np
import pytest
import scipy.io

import fixtures
from keras_transfer.embeddings import tasks
from keras_transfer.experiments import full_network_embedding as fne
from keras_transfer.experiments import models_1_4, off_the_shelf, pet_heads

IMAGE_SHAPE = [224, 224, 3]  # VGG19's ImageNet input, what `full` runs at


@pytest.fixture(scope="module")
def oxford17_folder(tmp_path_factory):
    """The Oxford-17 fixture extracted, its `datasplits.mat` cut to 2 train, 2 validation and 2 test images."""
    root = tmp_path_factory.mktemp("oxford17")
    fixture = fixtures.make_oxford17_fixture(root / "archives", images_per_class=4)
    folder = root / "oxford17"
    with tarfile.open(fixture.files["17flowers.tgz"]) as tar:
        tar.extractall(folder, filter="data")
    # ids 1-4 are Daffodils (class 0), 81-84 Snowdrops (class 1): the fixture writes the first 4 of each class
    tiny = {"trn": [1, 81], "val": [2, 82], "tst": [3, 83]}
    scipy.io.savemat(folder / "datasplits.mat", {
        f"{key}{split}": np.asarray([ids], dtype=np.float64) for split in (1, 2, 3) for key, ids in tiny.items()
    })
    return folder


@pytest.fixture(scope="module")
def pet_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pet")
    fixture = fixtures.make_pet_fixture(root / "archives", breeds=("Abyssinian", "beagle"), images_per_breed=6)
    folder = root / "oxford-iiit-pet"
    for archive in fixture.files.values():
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    return folder


@pytest.fixture
def random_vgg19(monkeypatch):
    """`full`'s source network, Keras's VGG19 with its top, with random weights instead of ImageNet's."""
    def load_source_model(source_model=None, *, source_profile="quick", seed=0, domain="black", verbose=0):
        assert source_model is None and source_profile == "full"
        keras.utils.set_random_seed(seed)
        return keras.applications.VGG19(weights=None)

    monkeypatch.setattr(tasks, "load_source_model", load_source_model)


def _conv_and_dense_widths():
    network = keras.applications.VGG19(weights=None, include_top=False)
    return {layer.name: layer.filters for layer in network.layers if hasattr(layer, "filters")}


def test_off_the_shelf_and_full_network_embedding_full(data_dir, tmp_path, oxford17_folder, random_vgg19):
    # cache=False: the on-disk feature cache hashes the 574 MB of weights on every call (about 10 CPU-s here)
    result = off_the_shelf.run("full", path=str(oxford17_folder), output_dir=tmp_path / "ots", verbose=0,
                               retrieval_queries=2, retrieval_hits=2, cache=False)
    widths = {**_conv_and_dense_widths(), "fc1": 4096, "fc2": 4096}  # VGG19's layers and its two hidden dense
    assert result.metadata["image_shape"] == IMAGE_SHAPE
    assert result.metadata["layers"] == list(widths)  # every convolution, then fc1 and fc2 (Razavian's fc6, fc7)
    assert {row["layer"]: row["features"] for row in result.rows} == widths
    assert result.metadata["sizes"] == {"train_per_seed": 2, "test": 2, "gallery": 2}
    assert all(0.0 <= row["svm_accuracy"] <= 1.0 for row in result.rows)
    examples = off_the_shelf.retrieval_examples(result)
    assert examples["query_images"].shape == (2, *IMAGE_SHAPE)

    # the one-layer baselines and the whole embedding (pooling, standardisation, discretisation: its other steps
    # are this path with a step left out)
    embedded = fne.run("full", path=str(oxford17_folder), output_dir=tmp_path / "fne", verbose=0, cache=False,
                       methods=("baseline", "discretisation"))
    features = [(row["step"], row["features"]) for row in embedded.rows]
    assert features == [("baseline", widths["fc1"]), ("baseline", widths["fc2"]),  # fc6 and fc7 alone
                        ("discretisation", sum(widths.values()))]  # every layer pooled, then fc1 and fc2
    assert all(0.0 <= row["test_accuracy"] <= 1.0 for row in embedded.rows)


def test_pet_heads_full(data_dir, tmp_path, pet_folder):
    result = pet_heads.run(
        "full", path=str(pet_folder), weights=None, seeds=(0,), output_dir=tmp_path / "pet", verbose=0,
        models=("frozen", "all_layers"), losses=("giou",), loss_comparison_models=(), few_label_sizes=(),
        batch_size=2, epoch_size=2, max_epochs=1,
    )
    assert result.metadata["config"]["image_size"] == IMAGE_SHAPE[:2]
    assert [row["network"] for row in result.rows] == ["frozen", "all_layers"]
    for row in result.rows:
        assert row["epochs"] == 1 and np.isfinite(row["mean_iou"])
    # Model 1 trains on cached block-5 features (too large at 224x224 below that); all_layers trains everything
    frozen, all_layers = result.rows
    assert (frozen["cached_features"], all_layers["cached_features"]) == ("vgg19", None)
    assert all_layers["frozen_params"] == 0 and frozen["trainable_params"] < all_layers["trainable_params"]
    # the head's first dense layer sits on VGG19's 7x7x512 map at 224x224: the parameter count tells the input size
    expected = pet_heads._build("all_layers", {**pet_heads.CONFIGS["full"], "weights": None}, 0, None)
    assert expected.input_shape[1:] == tuple(IMAGE_SHAPE)
    assert all_layers["trainable_params"] == expected.count_params()


def test_models_1_4_full(data_dir, tmp_path, oxford17_folder):
    result = models_1_4.run(
        "full", path=str(oxford17_folder), weights=None, seeds=(0,), output_dir=tmp_path / "m14", verbose=0,
        models=("fine_tuned",), batch_size=2, max_epochs=1, patience=1, fine_tune_max_epochs=1,
        fine_tune_learning_rates=(1e-5,), find_learning_rate=False,  # 100 range-test steps of VGG19: minutes
    )
    # Model 3 runs Model 2's training first (the head on the frozen base's cached features), then every layer
    (row,) = result.rows
    assert row["network"] == "fine_tuned" and row["labels_per_class"] == 40 and 0.0 <= row["test_accuracy"] <= 1.0
    steps = result.histories[f"{row['model']}/seed0"]["head_first_steps"]
    assert [step["step"] for step in steps] == ["new layers", "all layers"] and row["epochs"] == 2
    assert row["frozen_params"] == 0  # every layer trained in the end
    fine_tuned = models_1_4.build_model("fine_tuned", {**models_1_4.CONFIGS["full"], "weights": None}, None, 17, 0)
    assert fine_tuned.input_shape[1:] == tuple(IMAGE_SHAPE)
