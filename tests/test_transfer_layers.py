"""transfer_layers and small_alexnet: what is copied is bit-identical, frozen stays, fine-tuned moves; clear errors."""

import keras
import numpy as np
import pytest

from keras_transfer.models.transfer import LAYER_NAMES
from keras_transfer.models.transfer import small_alexnet
from keras_transfer.models.transfer import transfer_layers
from keras_transfer.models.transfer import weighted_layers

TINY = {"filters": (2, 3, 3, 3, 2), "kernel_sizes": (3, 3, 3, 3, 3), "units": (6, 5), "dropout": 0.0}


def _tiny(seed, num_classes=3, **kwargs):
    return small_alexnet((12, 12, 1), num_classes, seed=seed, **{**TINY, **kwargs})


def _weights(model):
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in weighted_layers(model)}


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second))


def _fit(model, epochs=2):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(16, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 3, size=(16,))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)


@pytest.mark.multibackend
def test_small_alexnet_has_the_papers_eight_layers():
    model = small_alexnet((28, 28, 1), 5, seed=0)
    assert [layer.name for layer in weighted_layers(model)] == list(LAYER_NAMES)
    assert model.output_shape == (None, 5)
    cifar = small_alexnet((32, 32, 3), 50, seed=0)
    assert cifar.output_shape == (None, 50)
    # the same seed builds the same network, another seed another one
    assert all(_same(a, b) for a, b in zip(_weights(_tiny(3)).values(), _weights(_tiny(3)).values()))
    assert not _same(_weights(_tiny(3))["conv1"], _weights(_tiny(4))["conv1"])


@pytest.mark.multibackend
@pytest.mark.parametrize("n", [1, 3, 7])
def test_copied_layers_are_bit_identical_and_the_others_keep_their_fresh_weights(n):
    source, target = _tiny(1), _tiny(2)
    _fit(source, epochs=1)
    source_weights, fresh_weights = _weights(source), _weights(target)
    result = transfer_layers(source, target, n)
    assert result is target
    after = _weights(target)
    for index, name in enumerate(LAYER_NAMES):
        if index < n:
            assert _same(after[name], source_weights[name]), name
            assert not target.get_layer(name).trainable
        else:
            assert _same(after[name], fresh_weights[name]), name
            assert not _same(after[name], source_weights[name]), name
            assert target.get_layer(name).trainable
    # the source is untouched
    assert all(_same(source_weights[name], w) for name, w in _weights(source).items())


@pytest.mark.multibackend
def test_frozen_layers_stay_bit_identical_through_training():
    source = _tiny(1)
    target = transfer_layers(source, _tiny(2), 4, trainable=False)
    copied, before = _weights(source), _weights(target)
    _fit(target)
    after = _weights(target)
    for name in LAYER_NAMES[:4]:
        assert _same(after[name], copied[name]), name
    for name in LAYER_NAMES[4:]:
        assert not _same(after[name], before[name]), f"{name} did not train"


@pytest.mark.multibackend
def test_fine_tuned_layers_start_as_copies_and_move():
    source = _tiny(1)
    target = transfer_layers(source, _tiny(2), 4, trainable=True)
    copied = _weights(source)
    assert all(_same(_weights(target)[name], copied[name]) for name in LAYER_NAMES[:4])
    assert all(target.get_layer(name).trainable for name in LAYER_NAMES)
    _fit(target)
    after = _weights(target)
    for name in LAYER_NAMES:
        assert not _same(after[name], copied[name]), f"{name} did not move"


@pytest.mark.multibackend
def test_layers_above_n_may_differ():
    # a source with another number of classes: every layer but the classifier can be copied
    source, target = _tiny(1, num_classes=4), _tiny(2, num_classes=3)
    transfer_layers(source, target, 7)
    assert _same(_weights(target)["fc7"], _weights(source)["fc7"])
    with pytest.raises(ValueError, match=r"weighted layer 8.*'fc8'.*n=8"):
        transfer_layers(source, target, 8)


@pytest.mark.multibackend
@pytest.mark.parametrize("n", [0, -1, 9])
def test_n_out_of_range_names_the_value(n):
    with pytest.raises(ValueError, match=rf"between 1 and 8.*Received: n={n}$"):
        transfer_layers(_tiny(1), _tiny(2), n)


@pytest.mark.multibackend
@pytest.mark.parametrize("n", [1.5, "3", True, None])
def test_n_must_be_an_integer(n):
    with pytest.raises(ValueError, match=r"`n` must be an integer. Received: n="):
        transfer_layers(_tiny(1), _tiny(2), n)


@pytest.mark.multibackend
def test_n_accepts_numpy_integers():
    target = transfer_layers(_tiny(1), _tiny(2), np.int64(2))
    assert not target.get_layer("conv2").trainable and target.get_layer("conv3").trainable


@pytest.mark.multibackend
def test_architecture_mismatch_names_the_layer():
    source = _tiny(1)
    wider = _tiny(2, filters=(2, 3, 4, 3, 2))
    transfer_layers(source, wider, 2)  # conv1, conv2 match
    with pytest.raises(ValueError, match=r"weighted layer 3.*'conv3'.*\(3, 3, 3, 3\).*\(3, 3, 3, 4\)"):
        transfer_layers(source, wider, 3)
    dense_first = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"weighted layer 1.*Conv2D.*Dense"):
        transfer_layers(source, dense_first, 1)
    with pytest.raises(ValueError, match=r"only 1 weighted layers.*n=2"):
        transfer_layers(source, dense_first, 2)


@pytest.mark.multibackend
def test_bad_models_and_flags_are_refused():
    model = _tiny(1)
    with pytest.raises(ValueError, match="different model"):
        transfer_layers(model, model, 1)
    with pytest.raises(ValueError, match="must be a keras.Model. Received: source_model='weights'"):
        transfer_layers("weights", model, 1)
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="`target_model` must be built"):
        transfer_layers(model, unbuilt, 1)
    with pytest.raises(ValueError, match="Received: trainable='yes'"):
        transfer_layers(model, _tiny(2), 1, trainable="yes")


@pytest.mark.multibackend
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"input_shape": (4, 4, 1)}, "at least 8x8"),
        ({"num_classes": 1}, "num_classes=1"),
        ({"filters": (8, 8, 8)}, "filters=(8, 8, 8)"),
        ({"units": (8, 0)}, "units=(8, 0)"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"seed": -2}, "seed=-2"),
    ],
)
def test_small_alexnet_validates_its_arguments(kwargs, message):
    arguments = {"input_shape": (28, 28, 1), "num_classes": 5, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        small_alexnet(arguments.pop("input_shape"), arguments.pop("num_classes"), **arguments)
