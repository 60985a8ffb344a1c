"""ImageNet weight files come through the cache and KT_MIRROR like every download, with Keras's pinned hash."""

import h5py
import keras
import numpy as np
import pytest

from keras_transfer.datasets import download
from keras_transfer.models import imagenet


def _save_keras_applications_h5(model, path):
    """Writes `model`'s weights in the legacy HDF5 layout of Keras's ImageNet files (layer groups, weight_names)."""
    with h5py.File(path, "w") as handle:
        layers = [layer for layer in model.layers if layer.weights]
        handle.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        for layer in layers:
            group = handle.create_group(layer.name)
            names = [f"{layer.name}/{variable.name}:0" for variable in layer.weights]
            group.attrs["weight_names"] = [name.encode() for name in names]
            for name, variable in zip(names, layer.weights):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(variable))


def test_weights_come_from_the_mirror_under_their_keras_name_and_load(data_dir, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    model = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    _save_keras_applications_h5(model, mirror / name)
    md5 = download.file_hashes(mirror / name)["md5"]
    # the pin is Keras's; a file that does not match it is refused
    with pytest.raises(download.ChecksumError, match=name):
        imagenet.imagenet_weights("vgg19", include_top=False, mirror=str(mirror), progress=False)
    monkeypatch.setitem(imagenet.WEIGHT_FILES, ("vgg19", False), (f"vgg19/{name}", md5))
    path = imagenet.imagenet_weights("vgg19", include_top=False, mirror=str(mirror), progress=False)
    assert path.name == name and path.parent == data_dir / "downloads" / "keras-applications"
    loaded = keras.applications.VGG19(include_top=False, weights=str(path), input_shape=(32, 32, 3))
    for expected, actual in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(expected, actual)


def test_offline_the_error_names_the_file_the_mirror_and_weights(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(imagenet, "_BASE_URL", (tmp_path / "offline").as_uri() + "/")
    with pytest.raises(download.DownloadError) as error:
        imagenet.imagenet_weights("vgg19", include_top=True, mirror=str(tmp_path / "empty"), progress=False)
    message = str(error.value)
    assert "vgg19_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "KT_MIRROR" in message and "weights=" in message


def test_unknown_models_are_refused():
    with pytest.raises(ValueError, match="resnet50"):
        imagenet.imagenet_weights("resnet50")
