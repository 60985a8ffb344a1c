"""Tests of the Models 1-4 experiment: the smoke profile end to end, its comparisons, and the full profile's data path
on fixtures."""

import tarfile

import keras
import numpy as np
import pytest

from keras_transfer import models
from keras_transfer import optimizers as kt_optimizers
from keras_transfer import selection
from keras_transfer.experiments import ExperimentResult
from keras_transfer.experiments import comparisons
from keras_transfer.experiments import models_1_4


def test_smoke_profile_end_to_end(data_dir, tmp_path, capsys):
    result = models_1_4.run("smoke", output_dir=tmp_path / "out", verbose=2)
    config = models_1_4.CONFIGS["smoke"]
    budgets, compared = config["labels_per_class"], config["compare_labels_per_class"]
    pretrained = config["compare_models"]
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[smoke seed 0")]  # verbose=2: a line per network
    assert len(lines) == len(result.rows) == len(budgets) * len(config["models"]) + len(compared) * len(pretrained)
    assert "Models 1-4 (smoke): 100%" in out and f"{len(result.rows)}/{len(result.rows)}" in out  # one bar
    main = [row for row in result.rows if row["source"] == "photos"]
    assert [(row["labels_per_class"], row["network"]) for row in main] == [
        (n, name) for n in budgets for name in config["models"]
    ]
    assert {row["model"] for row in main} == {f"{name}/n{n}" for n in budgets for name in config["models"]}
    black = [row for row in result.rows if row["source"] == "black"]
    assert {row["model"] for row in black} == {f"{name}/black/n{n}" for n in compared for name in pretrained}
    for row in result.rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0 and np.isfinite(row["test_loss"]) and row["cpu_time_s"] > 0
        history = result.histories[f"{row['model']}/seed0"]
        assert len(history["loss"]) == len(history["val_accuracy"]) == row["epochs"]
        assert 1 <= row["best_epoch"] <= row["epochs"]
        # the validation accuracy every choice is made on: the kept epoch's, as the history recorded it
        assert row["validation_accuracy"] == pytest.approx(history["val_accuracy"][row["best_epoch"] - 1])
    rows = {row["model"]: row for row in main}
    n = budgets[0]
    total = rows[f"scratch/n{n}"]["trainable_params"]
    backbone = models.source_backbone(models.build_source_network(5)).count_params()
    assert rows[f"scratch/n{n}"]["frozen_params"] == 0
    assert rows[f"frozen/n{n}"]["frozen_params"] == backbone
    assert rows[f"frozen/n{n}"]["trainable_params"] == total - backbone
    # Model 3: the head first (Model 2's training), then everything at a rate chosen on validation.
    assert rows[f"fine_tuned/n{n}"]["trainable_params"] == total
    assert rows[f"fine_tuned/n{n}"]["learning_rate"] in config["fine_tune_learning_rates"]
    steps = result.histories[f"fine_tuned/n{n}/seed0"]["head_first_steps"]
    assert [step["step"] for step in steps] == ["new layers", "all layers"] and steps[1]["epoch"] >= 1
    # Chain-thaw: the new layers on cached features, then ChainThaw's steps: the new layers, each of the 6
    # convolutions first to last, then everything; one epoch each here.
    steps = result.histories[f"chain_thaw/n{n}/seed0"]["chain_thaw_steps"]
    assert [step["step"] for step in steps] == [
        "new layers (cached features)", "new layers", "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
        "block3_conv2", "all layers",
    ]
    assert [step["learning_rate"] for step in steps] == [1e-3, 1e-3] + [1e-4] * 7
    assert [step["epoch"] for step in steps][1:] == list(range(steps[1]["epoch"], steps[1]["epoch"] + 8))

    meta = result.metadata
    assert meta["class_names"] == ["T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot"]
    assert meta["source_networks"]["photos"]["domain"] == "photos"
    assert meta["source_networks"]["black"]["classes"] == ["Pullover", "Dress", "Coat", "Shirt", "Sneaker"]
    gain = meta["checks"]["frozen_gain"]
    assert gain["labels_per_class"] == min(budgets)
    scratch = [row["test_accuracy"] for row in main if row["network"] == "scratch" and row["labels_per_class"] == n]
    assert gain["lower_mean"] == pytest.approx(np.mean(scratch))
    assert [step["pair"] for step in meta["checks"]["order"]["steps"]] == [
        ["scratch", "frozen"], ["frozen", "fine_tuned"], ["fine_tuned", "chain_thaw"],
    ]
    cells = {(cell["data"], cell["target"]): cell for cell in meta["strategy"]}
    assert set(cells) == {(d, t) for d in ("similar", "different") for t in ("small", "large")}
    different_small = cells["different", "small"]
    assert different_small["source"] == "black" and set(different_small["means"]) == {"scratch", *pretrained}
    best = max(different_small["means"], key=different_small["means"].get)
    assert different_small["winner"] == best
    loaded = ExperimentResult.load(tmp_path / "out")
    assert loaded.rows == result.rows and loaded.metadata["strategy"] == meta["strategy"]
    assert f"| chain_thaw/n{n} | 1 |" in result.to_markdown()

    # Choosing before training: each source scored on each compared budget's images, beside what it gave Models 2
    # and 3; the scores are those of the source network's features and predictions on exactly those images.
    found = meta["transferability"]
    assert [(row["labels_per_class"], row["source"]) for row in found["rows"]] == [
        (per_class, source) for per_class in compared for source in ("photos", "black")]
    row = found["rows"][0]
    data = models_1_4.load_target_data("smoke", seed=0, labels_per_class=row["labels_per_class"])
    source = models.pretrained_source_network("smoke", domain="photos", verbose=0)
    features = models.source_backbone(source).predict(data.train[0], verbose=0).reshape(len(data.train[1]), -1)
    assert row["logme"] == pytest.approx(selection.logme(features, data.train[1]), rel=1e-5)
    assert row["frozen_accuracy"] == rows[f"frozen/n{row['labels_per_class']}"]["test_accuracy"]
    picks = found["by_budget"][str(row["labels_per_class"])]["frozen"]["per_seed"][0]
    better = max((r for r in found["rows"][:2]), key=lambda r: r["frozen_accuracy"])["source"]
    assert picks["best"] == better
    assert picks["logme"]["picked"] == max(found["rows"][:2], key=lambda r: r["logme"])["source"]
    # selection.recommend on each strategy cell, the similar source being the one LogME prefers at that budget
    advice = meta["recommendations"]
    assert len(advice) == 4 and all(cell["agrees"] == (cell["winner"] in cell["models"]) for cell in advice)
    # the learning-rate range test where Model 3's fine-tuning starts, beside the rate validation chose
    fine = rows[f"fine_tuned/n{n}"]
    assert 1e-6 <= fine["finder_valley"] <= 1.0 and 1e-6 <= fine["finder_steepest"] <= 1.0


def test_budgets_are_nested_and_the_same_for_every_model(data_dir):
    small = models_1_4.load_target_data("smoke", seed=0, labels_per_class=2)
    large = models_1_4.load_target_data("smoke", seed=0, labels_per_class=4)
    assert np.bincount(small.train[1]).tolist() == [2] * 5 and np.bincount(large.train[1]).tolist() == [4] * 5
    assert small.train[0].shape[1:] == (32, 32, 3) and small.train[0].max() > 1.0  # pixels in [0, 255]
    large_images = {image.tobytes() for image in large.train[0]}
    assert all(image.tobytes() in large_images for image in small.train[0])  # 2 per class are among the 4
    np.testing.assert_array_equal(small.validation[0], large.validation[0])
    assert np.bincount(small.validation[1]).tolist() == [models_1_4.CONFIGS["smoke"]["validation_per_class"]] * 5
    other_seed = models_1_4.load_target_data("smoke", seed=1, labels_per_class=2)
    assert not np.array_equal(other_seed.train[0], small.train[0])


def test_ulmfit_recipe_on_smoke(data_dir, tmp_path, capsys):
    result = models_1_4.run("smoke", output_dir=tmp_path, verbose=0, models=("ulmfit",), labels_per_class=(4,),
                            compare_domain=None)
    assert capsys.readouterr().out == ""  # verbose=0 (`--quiet`): no bar, no line
    (row,) = result.rows
    assert row["epochs"] == models_1_4.CONFIGS["smoke"]["ulmfit_epochs"]
    unfreezing = result.histories["ulmfit/n4/seed0"]["unfreezing_steps"]
    assert [step["epoch"] for step in unfreezing] == [0, 1, 2, 3]  # head, then block3, block2, block1
    assert result.metadata["strategy"] is None and result.metadata["checks"]["frozen_gain"]["holds"] is None


def test_comparisons_count_a_step_only_beyond_the_seed_spread():
    clear = comparisons.step([0.50, 0.52, 0.48], [0.60, 0.61, 0.59])
    assert clear["holds"] is True and clear["difference"] == pytest.approx(0.10) and clear["spread"] == pytest.approx(0.02)
    within = comparisons.step([0.50, 0.55, 0.45], [0.52, 0.53, 0.51])
    assert within["holds"] is False  # +2 points, spread 5 points
    tie = comparisons.step([0.50, 0.55, 0.45], [0.49, 0.50, 0.48], strict=False)
    assert tie["holds"] is True  # -1.7 points is inside the 5-point spread: `<=` holds
    assert comparisons.step([], [0.5])["holds"] is None
    best = comparisons.winner({"frozen": [0.6, 0.62], "scratch": [0.3, 0.35], "fine_tuned": [0.61, 0.64]})
    assert best["winner"] == "fine_tuned" and best["runner_up"] == "frozen" and best["clear"] is False
    # paired by seed: a gain every seed shows stands, though each model's spread over seeds is larger than it
    lower, higher = {0: 0.80, 1: 0.82, 2: 0.86}, {0: 0.82, 1: 0.835, 2: 0.875}
    assert comparisons.step(list(lower.values()), list(higher.values()))["holds"] is False
    paired = comparisons.step(lower, higher)
    assert paired["holds"] is True and paired["paired"] and paired["seeds"] == 3
    assert paired["difference"] == pytest.approx(0.0167, abs=1e-4) and paired["spread"] == pytest.approx(0.0029, abs=1e-4)
    assert comparisons.step({0: 0.8, 1: 0.9}, {0: 0.85, 1: 0.85})["holds"] is False  # +5 then -5: spread 7
    assert comparisons.step({0: 0.8, 7: 0.1}, {0: 0.85})["seeds"] == 1  # only the seeds both hold
    with pytest.raises(TypeError, match="both"):
        comparisons.step([0.5], {0: 0.6})
    rows = [{"network": "a", "n": n, "seed": s, "acc": n + s} for n in (5, 40) for s in (0, 1)]
    assert comparisons.by_seed(rows, "acc", n=5) == {0: 5, 1: 6}
    with pytest.raises(ValueError, match="Two rows of seed 0"):
        comparisons.by_seed(rows, "acc", network="a")
    assert comparisons.curves(rows, "n", "network", metric="acc") == {"a": [(5, 5.5, pytest.approx(0.7071, abs=1e-4)),
                                                                              (40, 40.5, pytest.approx(0.7071, abs=1e-4))]}


def test_choose_on_validation_keeps_the_best_candidate():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    start = model.get_weights()

    def train(candidate):
        model.set_weights([weight + candidate for weight in model.get_weights()])
        return {"val_loss": [5.0, abs(candidate - 2.0)]}, 2

    chosen = models.choose_on_validation(model, [1.0, 2.0, 4.0], train)
    assert chosen["chosen"] == 2.0 and chosen["scores"] == [1.0, 0.0, 2.0]
    np.testing.assert_allclose(model.get_weights()[0], start[0] + 2.0)  # the chosen candidate's weights
    with pytest.raises(ValueError, match="candidates"):
        models.choose_on_validation(model, [], train)


def test_unknown_settings_are_refused(data_dir):
    with pytest.raises(ValueError, match="Unknown setting"):
        models_1_4.run("smoke", learning_rates=1e-3)
    with pytest.raises(ValueError, match="models"):
        models_1_4.run("smoke", models=("scratch", "model6"))
    with pytest.raises(ValueError, match="compare_models"):
        models_1_4.run("smoke", compare_models=("frozen", "model6"))
    with pytest.raises(ValueError, match="seeds"):
        models_1_4.run("smoke", seeds=(-1,))


def test_full_profile_data_path_on_fixture_archives(data_dir, tmp_path):
    import fixtures

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
        "full", seeds=(0,), output_dir=tmp_path / "out", verbose=0, path=str(fixture.directory),
        weights=str(weights), image_size=(32, 32), models=("frozen", "fine_tuned"), head_units=(8,),
        batch_size=16, max_epochs=1, fine_tune_max_epochs=1, fine_tune_learning_rates=(1e-4,), sample_predictions=5,
        finder_steps=20,
    )
    assert [row["model"] for row in result.rows] == ["frozen/n40", "fine_tuned/n40"]
    assert result.metadata["class_names"][0] == "Daffodil" and len(result.metadata["class_names"]) == 17
    assert result.metadata["source_networks"] == {} and result.metadata["strategy"] is None
    rows = {row["network"]: row for row in result.rows}
    assert rows["frozen"]["frozen_params"] == 20024384  # VGG19's convolutional base
    assert rows["fine_tuned"]["frozen_params"] == 0 and rows["fine_tuned"]["epochs"] == 2  # head, then all layers
    assert all(0.0 <= row["test_accuracy"] <= 1.0 and np.isfinite(row["test_loss"]) for row in result.rows)
    expected_labels = [fixture.info["splits"][1]["test"][i] for i in range(5)]
    assert result.metadata["sample_labels"] == [(int(i) - 1) // 80 for i in expected_labels]
    with pytest.raises(ValueError, match="40 training images per class"):
        models_1_4.run("full", seeds=(0,), output_dir=tmp_path / "x", verbose=0, path=str(fixture.directory),
                       weights=str(weights), image_size=(32, 32), labels_per_class=(10,))


def test_live_settings_are_settings_of_the_profile():
    for profile, overrides in models_1_4.LIVE.items():
        assert set(overrides) <= set(models_1_4.CONFIGS[profile]), profile
    quick = {**models_1_4.CONFIGS["quick"], **models_1_4.LIVE["quick"]}
    # the lesson needs the smallest budget and the reference one (40 per class), and every model
    assert min(quick["labels_per_class"]) == min(models_1_4.CONFIGS["quick"]["labels_per_class"])
    assert quick["reference_labels_per_class"] in quick["labels_per_class"]
    assert set(quick["models"]) == {"scratch", "frozen", "fine_tuned", "chain_thaw"}


def test_fine_tuning_with_discriminative_rates_on_smoke(data_dir, tmp_path, capsys):
    config = {**models_1_4.CONFIGS["smoke"], "fine_tune_decay": 2.6}
    source = models.pretrained_source_network("smoke", domain="photos", verbose=0)
    model = models_1_4.build_model("fine_tuned", config, source, 5, seed=0)
    assert isinstance(models_1_4._fine_tune_optimizer(model, 1e-3, config), kt_optimizers.Discriminative)
    plain = models_1_4._fine_tune_optimizer(model, 1e-3, {**config, "fine_tune_decay": None})
    assert not isinstance(plain, kt_optimizers.Discriminative)
    capsys.readouterr()
    result = models_1_4.run("smoke", output_dir=tmp_path, verbose=1, models=("fine_tuned",), labels_per_class=(4,),
                            compare_domain=None, fine_tune_decay=2.6, large_batch_size=8, large_batch_from=4)
    out = capsys.readouterr().out
    assert "Models 1-4 (smoke): 100%" in out and "1/1" in out and "[smoke seed" not in out  # verbose=1: the bar only
    (row,) = result.rows
    assert row["learning_rate"] in config["fine_tune_learning_rates"] and 0.0 <= row["validation_accuracy"] <= 1.0
