"""The copyable pieces on a keras-hub image backbone: ChainThaw, GradualUnfreezing, Discriminative, GradientReversal.

The backbone is keras-hub's `ResNetBackbone` built from its config with random weights (no preset download: the
test machines are offline), small enough for seconds: a 64-filter stem, two stacks of one basic block (64 and 16
filters), 32x32 images. Its layers keep keras-hub's names (`conv1_conv`, `stack0_block0_1_conv`, `stack1_...`), and
each test addresses them by those names. `models.backbone_from_config` builds keras-hub backbones for the `full`
profile; here from a class and config, and from a local preset directory (what a preset name downloads), and Models
1-4's `full` dry run runs on one. The pieces' tests are `multibackend`; the dry run and the doctor's checks run on
TensorFlow, as `tests/test_full_dry_run.py` and `tests/test_doctor.py` do.
"""

import keras
import keras_hub
import numpy as np
import pytest
from test_full_dry_run import oxford17_folder  # noqa: F401 - the two-image Oxford-17 fixture

from keras_transfer import doctor
from keras_transfer.callbacks import ChainThaw, GradualUnfreezing
from keras_transfer.experiments import models_1_4
from keras_transfer.layers import GradientReversal
from keras_transfer.models import backbones
from keras_transfer import optimizers as kt_optimizers
from keras_transfer.optimizers import Discriminative

IMAGE_SHAPE = (32, 32, 3)
RESNET_CONFIG = {
    "input_conv_filters": [64],  # ResNet's basic blocks add the stem's output to stack 0's: 64 filters both
    "input_conv_kernel_sizes": [3],
    "stackwise_num_filters": [64, 16],
    "stackwise_num_blocks": [1, 1],
    "stackwise_num_strides": [1, 2],
    "block_type": "basic_block",
}
BACKBONE_LAYERS = [  # the layers with weights, in keras-hub's layer order
    "conv1_conv", "conv1_bn", "stack0_block0_1_conv", "stack0_block0_1_bn", "stack0_block0_2_conv",
    "stack0_block0_2_bn", "stack1_block0_1_conv", "stack1_block0_1_bn", "stack1_block0_0_conv",
    "stack1_block0_2_conv", "stack1_block0_0_bn", "stack1_block0_2_bn",
]
HEAD = ["head_dense_1", "predictions"]


def small_resnet():
    return keras_hub.models.ResNetBackbone(**RESNET_CONFIG, image_shape=IMAGE_SHAPE)


def classifier(backbone=None):
    """The small ResNet with the project's head: global average pooling, 8 ReLU units, 3 classes, no dropout."""
    return backbones.build_classifier(backbone or small_resnet(), 3, head_units=(8,), dropout=0.0, pooling="avg")


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *IMAGE_SHAPE)).astype("float32"), (np.arange(n) % 3).astype("int32")


def all_layers(model):
    return {layer.name: layer for layer in [*backbones.backbone_layers(model), *backbones.head_layers(model)]}


def snapshot(model):
    return {name: [np.array(w) for w in layer.weights] for name, layer in all_layers(model).items()}


def changed(before, after):
    return {name for name in before if any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))}


class Snapshots(keras.callbacks.Callback):
    """Every layer's weights before training and after each epoch (placed before the unfreezing callback)."""

    def on_train_begin(self, logs=None):
        self.epochs = [snapshot(self.model)]

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(snapshot(self.model))

    def trained_per_epoch(self):
        return [changed(a, b) for a, b in zip(self.epochs, self.epochs[1:])]


@pytest.mark.multibackend
def test_the_backbone_keeps_keras_hub_layer_names_and_block_groups():
    model = classifier()
    assert [layer.name for layer in backbones.backbone_layers(model)] == BACKBONE_LAYERS
    assert backbones.block_groups(model) == [BACKBONE_LAYERS[:2], BACKBONE_LAYERS[2:6], BACKBONE_LAYERS[6:], HEAD]


@pytest.mark.multibackend
def test_chain_thaw_trains_the_backbone_layers_one_at_a_time_in_order():
    model = classifier()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    chain_thaw = ChainThaw(new_layers=backbones.head_layers(model), epochs_per_step=1, patience=0,
                           learning_rates=(0.05, 0.05), verbose=0)
    # the plan on the whole backbone: every keras-hub layer with weights, in the backbone's order
    assert [description for description, _ in chain_thaw.plan(model)] == [
        "new layers: head_dense_1, predictions", *BACKBONE_LAYERS, "all layers"]
    # trained on three of them (one per block), which keeps the test to five steps
    middle = ["conv1_conv", "stack0_block0_2_bn", "stack1_block0_0_conv"]
    chain_thaw = ChainThaw(new_layers=backbones.head_layers(model), layers=middle, epochs_per_step=1, patience=0,
                           learning_rates=(0.05, 0.05), verbose=0)
    snapshots = Snapshots()
    x, y = data()
    history = model.fit(x, y, validation_data=(x, y), epochs=10, batch_size=8, callbacks=[snapshots, chain_thaw],
                        verbose=0)
    assert [step["layers"] for step in chain_thaw.steps_log] == [HEAD, *[[name] for name in middle], [model.name]]
    assert history.history["chain_thaw_step"] == [0, 1, 2, 3, 4]  # stopped after its last step, not at epoch 10
    trained = snapshots.trained_per_epoch()
    assert trained[:4] == [set(HEAD), *[{name} for name in middle]]  # only the step's layer changed, bit for bit
    assert trained[4] == set(BACKBONE_LAYERS) | set(HEAD)
    assert all(layer.trainable for layer in model.layers)  # the flags as compiled


@pytest.mark.multibackend
def test_gradual_unfreezing_unfreezes_keras_hub_blocks_from_the_top():
    model = classifier()
    groups = backbones.block_groups(model)  # [conv1], [stack0], [stack1], head
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    snapshots = Snapshots()
    x, y = data()
    history = model.fit(x, y, epochs=4, batch_size=8, callbacks=[snapshots, GradualUnfreezing(groups, verbose=0)],
                        verbose=0)
    assert history.history["unfrozen_groups"] == [1, 2, 3, 4]
    expected = [set().union(*groups[len(groups) - k:]) for k in (1, 2, 3, 4)]
    assert snapshots.trained_per_epoch() == expected


def _one_sgd_step(model, optimizer, x, y):
    before = {w.path: np.array(w) for w in model.trainable_weights}
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    return {w.path: np.array(w) - before[w.path] for w in model.trainable_weights}


def _rounding(model):
    """Per variable, what float32 rounding can put into a step read back as `new - old`: a few ulps of the weight."""
    return {w.path: 4 * np.finfo(np.float32).eps * float(np.abs(np.array(w)).max()) for w in model.trainable_weights}


@pytest.mark.multibackend
def test_discriminative_rates_keyed_by_keras_hub_layer_names():
    model = classifier()
    start = model.get_weights()
    x, y = data()
    learning_rate = 0.1
    tolerance = _rounding(model)
    plain = _one_sgd_step(model, keras.optimizers.SGD(learning_rate), x, y)  # -0.1 * gradient
    model.set_weights(start)
    multipliers = {"conv1_*": 0.0, "stack0_*": 0.25, "stack1_block0_0_conv": 0.5, "stack1_*": 0.75}
    optimizer = Discriminative(keras.optimizers.SGD(learning_rate), multipliers=multipliers, model=model)
    steps = _one_sgd_step(model, optimizer, x, y)

    def factor(path):
        layer = path.split("/")[-2]
        if layer == "stack1_block0_0_conv":  # an exact key wins over the pattern "stack1_*"
            return 0.5
        for prefix, value in (("conv1_", 0.0), ("stack0_", 0.25), ("stack1_", 0.75)):
            if layer.startswith(prefix):
                return value
        return 1.0  # the head: the default

    assert optimizer.variable_factors == {path: factor(path) for path in plain}
    assert {factor(path) for path in plain} == {0.0, 0.25, 0.5, 0.75, 1.0}
    for path, step in steps.items():
        # SGD: the step is -factor * learning_rate * gradient, the plain step times the factor (to float rounding)
        scale = np.abs(plain[path]).max()
        assert scale > 100 * tolerance[path], path  # the steps stand well above the rounding
        np.testing.assert_allclose(step, factor(path) * plain[path], rtol=1e-5, atol=tolerance[path], err_msg=path)
        if factor(path) == 0.0:
            assert not step.any(), path  # frozen bit for bit


@pytest.mark.multibackend
def test_gradient_reversal_on_the_pooled_backbone_output_flips_the_backbone_gradient():
    backbone = small_resnet()
    inputs = keras.Input(IMAGE_SHAPE)
    pooled = keras.layers.GlobalAveragePooling2D(name="pooled")(backbone(inputs))
    reversal = GradientReversal(strength=0.5, name="reversal")
    outputs = keras.layers.Dense(3, activation="softmax", name="domain")(reversal(pooled))
    model = keras.Model(inputs, outputs)
    start = model.get_weights()
    tolerance = _rounding(model)
    x, y = data()

    reversal.strength.assign(-1.0)  # an identity: the gradient passes unchanged
    forward_plain = np.asarray(model.predict(x, verbose=0))
    plain = _one_sgd_step(model, keras.optimizers.SGD(0.1), x, y)
    model.set_weights(start)
    reversal.strength.assign(0.5)
    forward_reversed = np.asarray(model.predict(x, verbose=0))
    reversed_ = _one_sgd_step(model, keras.optimizers.SGD(0.1), x, y)

    np.testing.assert_array_equal(forward_reversed, forward_plain)  # the forward pass is untouched
    backbone_paths = {w.path for w in backbone.trainable_weights}
    assert backbone_paths and set(plain) > backbone_paths
    for path in plain:
        expected = -0.5 * plain[path] if path in backbone_paths else plain[path]  # the head trains as before
        scale = np.abs(plain[path]).max()
        assert scale > 100 * tolerance[path], path  # the steps stand well above the rounding
        np.testing.assert_allclose(reversed_[path], expected, rtol=1e-5, atol=tolerance[path], err_msg=path)


@pytest.mark.multibackend
def test_backbone_from_config_builds_keras_hub_class_and_local_preset(tmp_path):
    config = {"backbone": "ResNetBackbone", "weights": None, "image_size": (48, 48),
              "backbone_config": RESNET_CONFIG}
    built = backbones.backbone_from_config(config)
    assert isinstance(built, keras_hub.models.ResNetBackbone) and built.input_shape == (None, 48, 48, 3)
    assert built.output_shape == (None, 6, 6, 16)  # stride 2 stem, pool, stack1 stride 2

    # a preset: what a built-in name downloads (config.json and weights), saved here as a directory
    trained = small_resnet()
    trained.save_to_preset(str(tmp_path / "preset"))
    preset = {"backbone": str(tmp_path / "preset"), "weights": "imagenet", "image_size": (32, 32)}
    pretrained = backbones.backbone_from_config(preset)
    assert [w.path for w in pretrained.weights] == [w.path for w in trained.weights]
    for mine, theirs in zip(pretrained.weights, trained.weights):
        np.testing.assert_array_equal(np.array(mine), np.array(theirs))
    random = backbones.backbone_from_config(preset, pretrained=False)  # load_weights=False: the dry run's path
    kernel = next(w for w in random.weights if w.path == "conv1_conv/kernel")
    assert not np.array_equal(np.array(kernel), np.array(trained.get_layer("conv1_conv").kernel))
    assert random.input_shape == (None, 32, 32, 3)
    model = classifier(random)  # the full profile's head fits on it
    assert model.output_shape == (None, 3)


@pytest.mark.multibackend
def test_backbone_from_config_refuses_unknown_names_and_weights():
    with pytest.raises(ValueError, match=r"`backbone` must be 'vgg19', 'source', a keras-hub preset.*close: "
                                         r"\['resnet_50_imagenet'"):
        backbones.backbone_from_config({"backbone": "resnet_50_imagenett", "weights": None, "image_size": (32, 32)})
    with pytest.raises(ValueError, match="has no pretrained weights"):
        backbones.backbone_from_config({"backbone": "ResNetBackbone", "weights": "imagenet", "image_size": (32, 32),
                                        "backbone_config": RESNET_CONFIG})
    with pytest.raises(ValueError, match="`backbone_config`"):
        backbones.backbone_from_config({"backbone": "ResNetBackbone", "weights": None, "image_size": (32, 32)})
    with pytest.raises(ValueError, match="`weights` of a keras-hub backbone"):
        backbones.backbone_from_config({"backbone": "resnet_50_imagenet", "weights": "x.h5", "image_size": (32, 32)})


def test_backbone_from_config_names_the_install_when_keras_hub_is_missing(monkeypatch):
    import builtins  # noqa: PLC0415

    real_import = builtins.__import__

    def no_keras_hub(name, *args, **kwargs):
        if name == "keras_hub" or name.startswith("keras_hub."):
            raise ImportError("No module named 'keras_hub'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_keras_hub)
    with pytest.raises(ValueError, match=r"keras-hub is not installed.*--no-deps.*backbone='resnet_50_imagenet'"):
        backbones.backbone_from_config({"backbone": "resnet_50_imagenet", "weights": None, "image_size": (32, 32)})


def test_doctor_names_tensorflow_text_as_the_second_tensorflow(monkeypatch):
    versions = {"tensorflow-cpu": "2.21.0", "tensorflow": "2.20.0", "tensorflow-text": "2.20.1",
                "keras-hub": "0.32.0"}
    monkeypatch.setattr(doctor, "_version", versions.get)
    checks = {check.name: check for check in doctor.check_packages()}
    assert checks["tensorflow"].status == "fail"
    assert "tensorflow-text 2.20.1 pulled one in" in checks["tensorflow"].detail
    assert "pip uninstall -y tensorflow-text tensorflow tensorflow-cpu" in checks["tensorflow"].fix
    assert "--no-deps" in checks["tensorflow"].fix
    assert checks["keras-hub"].status == "warn" and "tensorflow-text 2.20.1 is installed" in checks["keras-hub"].detail

    versions.pop("tensorflow")  # tensorflow-text without a second TensorFlow: a warning that names it
    checks = {check.name: check for check in doctor.check_packages()}
    assert checks["tensorflow"].status == "ok"
    assert checks["keras-hub"].status == "warn" and "pip uninstall -y tensorflow-text" in checks["keras-hub"].fix

    versions.pop("tensorflow-text")  # the recipe's state: one TensorFlow, keras-hub without tensorflow-text
    checks = {check.name: check for check in doctor.check_packages()}
    assert (checks["tensorflow"].status, checks["keras-hub"].status) == ("ok", "ok")


class Optimizers(keras.callbacks.Callback):
    """The optimizer each epoch trained with: its class, learning rate and per-variable factors."""

    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.seen.append((type(optimizer).__name__, float(np.asarray(optimizer.learning_rate)),
                          dict(getattr(optimizer, "variable_factors", {}))))


@pytest.mark.multibackend
def test_readme_recipe_chain_thaw_with_discriminative_rates():
    """The README's keras-hub recipe, on the small ResNet: head, then the backbone, then all, ULMFiT's rates."""
    backbone = small_resnet()
    model = classifier(backbone)
    groups = backbones.block_groups(model)
    multipliers = kt_optimizers.geometric_multipliers(groups)  # stack1 at lr/2.6, stack0 at lr/2.6**2, conv1 ...
    optimizer = Discriminative(keras.optimizers.Adam(1e-3), multipliers=multipliers, strict=False)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    chain_thaw = ChainThaw(new_layers=backbones.head_layers(model), layers=[backbone], epochs_per_step=1,
                           patience=0, learning_rates=(1e-3, 1e-4), verbose=0)
    snapshots, optimizers = Snapshots(), Optimizers()
    x, y = data()
    model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=8, callbacks=[snapshots, optimizers, chain_thaw],
              verbose=0)
    assert [step["layers"] for step in chain_thaw.steps_log] == [HEAD, [backbone.name], [model.name]]
    assert snapshots.trained_per_epoch() == [set(HEAD), set(BACKBONE_LAYERS), set(BACKBONE_LAYERS) | set(HEAD)]
    # each step trained with a fresh Discriminative at the step's rate, the factors by keras-hub block
    decay = 2.6
    expected = {"conv1": decay**-3, "stack0": decay**-2, "stack1": decay**-1, "head": 1.0, "predictions": 1.0}
    rates = [1e-3, 1e-4, 1e-4]
    layers = [HEAD, BACKBONE_LAYERS, BACKBONE_LAYERS + HEAD]
    for (name, rate, factors), step_rate, step_layers in zip(optimizers.seen, rates, layers):
        assert name == "Discriminative" and rate == pytest.approx(step_rate)
        assert {path.split("/")[0] for path in factors} == set(step_layers)
        for path, factor in factors.items():
            assert factor == pytest.approx(expected[path.split("/")[0].split("_")[0]]), path


def test_models_1_4_full_dry_run_on_a_keras_hub_preset(data_dir, tmp_path, oxford17_folder):
    """`--set backbone=PRESET` in the `full` profile: Models 1-4's full run on a keras-hub backbone, random weights.

    The preset is a local directory (a built-in name would download its config.json from Kaggle): the small ResNet
    at the full profile's 224x224, on the dry run's two-image Oxford-17 split.
    """
    small_resnet().save_to_preset(str(tmp_path / "preset"))
    result = models_1_4.run(
        "full", path=str(oxford17_folder), backbone=str(tmp_path / "preset"), weights=None, seeds=(0,),
        output_dir=tmp_path / "m14", verbose=0, models=("fine_tuned",), batch_size=2, max_epochs=1, patience=1,
        fine_tune_max_epochs=1, fine_tune_learning_rates=(1e-5,), fine_tune_decay=2.6, finder_steps=20,
    )
    (row,) = result.rows
    assert row["network"] == "fine_tuned" and 0.0 <= row["test_accuracy"] <= 1.0
    assert 1e-6 <= row["finder_valley"] <= 1.0  # the range test on a keras-hub backbone, a batched dataset
    config = {**models_1_4.CONFIGS["full"], "backbone": str(tmp_path / "preset"), "weights": None}
    model = models_1_4.build_model("fine_tuned", config, None, 17, 0)
    assert model.input_shape == (None, 224, 224, 3)
    assert isinstance(backbones.base_layer(model), keras_hub.models.ResNetBackbone)
    assert backbones.block_groups(model)[0] == ["conv1_conv", "conv1_bn"]
    # every layer trained in the end: what stays frozen is BatchNormalization's moving statistics, never trainable
    statistics = [w for w in model.weights if w.path.endswith(("moving_mean", "moving_variance"))]
    assert row["frozen_params"] == sum(int(np.prod(w.shape)) for w in statistics) == 480
