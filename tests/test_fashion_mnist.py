"""Fashion-MNIST from the real files on disk (a missing Fashion-MNIST is a failure, not a skip)."""

import gzip
import shutil

import numpy as np
import pytest

from keras_transfer.datasets import fashion_mnist
from keras_transfer.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist

# Not `multibackend`: the code tested here is NumPy and file handling that never calls Keras, so a second run on
# KERAS_BACKEND=jax (make unit-jax) would repeat the TensorFlow run's work and could not fail differently.


@pytest.fixture(scope="module")
def real():
    assert fashion_mnist.find_fashion_mnist() is not None, (
        "Fashion-MNIST is not on this machine: install Debian's dataset-fashion-mnist (make data) "
        "or run keras.datasets.fashion_mnist.load_data() once."
    )
    return load_fashion_mnist()


def test_shapes_dtypes_and_label_counts(real):
    (x_train, y_train), (x_test, y_test) = real
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), np.full(10, 1000))
    # Real images, not blanks: full 0..255 range, and the arrays are writable copies.
    assert x_train.min() == 0 and x_train.max() == 255
    assert x_train.flags.writeable
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_debian_files_and_a_path_copy_agree(real, tmp_path):
    source = fashion_mnist.find_fashion_mnist()
    for name in fashion_mnist.FILES.values():
        shutil.copy(source / name, tmp_path / name)
    copied = load_fashion_mnist(path=tmp_path)
    for expected_pair, actual_pair in zip(real, copied):
        for expected, actual in zip(expected_pair, actual_pair):
            np.testing.assert_array_equal(expected, actual)
    # The files Debian installs are the ones Keras downloads: same header and same first label (9, "Ankle boot").
    with gzip.open(source / "train-labels-idx1-ubyte.gz") as handle:
        assert handle.read(9) == bytes.fromhex("00000801") + (60000).to_bytes(4, "big") + bytes([9])


def test_path_missing_files_lists_them(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(path=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    missing = message.split("lacks Fashion-MNIST files: ")[1].split(". Expected")[0]
    expected = ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert missing.split(", ") == expected


def _copy_folder(tmp_path):
    source = fashion_mnist.find_fashion_mnist()
    for name in fashion_mnist.FILES.values():
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def test_truncated_gzip_names_the_file(tmp_path):
    folder = _copy_folder(tmp_path)
    target = folder / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100_000])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz.*(corrupt|truncated)"):
        load_fashion_mnist(path=folder)


def test_truncated_idx_payload_names_the_file(tmp_path):
    folder = _copy_folder(tmp_path)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(target) as handle:
        data = handle.read()
    with gzip.open(target, "wb") as handle:
        handle.write(data[:-10])  # valid gzip, IDX data 10 bytes short
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz.*9990 data bytes.*\(10000,\)"):
        load_fashion_mnist(path=folder)


def test_wrong_magic_number_names_the_file(tmp_path):
    folder = _copy_folder(tmp_path)
    target = folder / "train-labels-idx1-ubyte.gz"
    with gzip.open(target) as handle:
        data = handle.read()
    with gzip.open(target, "wb") as handle:
        handle.write(bytes.fromhex("00000d01") + data[4:])  # 0x0D = float, not unsigned byte
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*magic number 0x00000d01"):
        load_fashion_mnist(path=folder)
    # images where labels belong: wrong number of dimensions
    shutil.copy(folder / "train-images-idx3-ubyte.gz", target)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*3 dimensions; expected 1"):
        load_fashion_mnist(path=folder)


def test_read_idx_roundtrip_small(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes.fromhex("00000803") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(tmp_path / "tiny.gz", "wb") as handle:
        handle.write(header + array.tobytes())
    np.testing.assert_array_equal(fashion_mnist.read_idx(tmp_path / "tiny.gz", ndim=3), array)


def test_search_order_debian_then_keras_cache_then_download(tmp_path, monkeypatch):
    import keras

    source = fashion_mnist.find_fashion_mnist()
    keras_home = tmp_path / "keras-home"
    keras_cache = keras_home / "datasets" / "fashion-mnist"  # where keras.datasets.fashion_mnist puts the files
    keras_cache.mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian-package")
    downloads = []

    def fake_download():
        downloads.append(True)
        train = (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8))
        return train, (np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8))

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fake_download)
    # neither the Debian files nor the Keras cache: Keras downloads
    (x_train, _), _ = load_fashion_mnist()
    assert downloads == [True] and x_train.shape == (2, 28, 28)
    # the Keras cache is used, offline
    for name in fashion_mnist.FILES.values():
        shutil.copy(source / name, keras_cache / name)
    assert fashion_mnist.find_fashion_mnist() == keras_cache
    (x_train, y_train), _ = load_fashion_mnist()
    assert downloads == [True] and x_train.shape == (60000, 28, 28)
    # the Debian folder comes first
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", source)
    assert fashion_mnist.find_fashion_mnist() == source
