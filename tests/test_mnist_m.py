"""MNIST-M: the |patch - digit| blend, determinism, the cache, and the BSDS500 path on a fixture archive."""

import io
import tarfile
import time

import numpy as np
import pytest
from PIL import Image

from keras_transfer.datasets import load_fashion_mnist, load_mnist_m, make_mnist_m
from keras_transfer.datasets import mnist_m

pytestmark = pytest.mark.multibackend


def _random_photos(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=shape, dtype=np.uint8) for shape in ((40, 50, 3), (35, 31, 3))]


def _random_digits(count, seed=1):
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


def test_shape_dtype_and_determinism():
    photos, digits = _random_photos(), _random_digits(64)
    first = make_mnist_m(digits, photos, seed=3)
    assert first.shape == (64, 28, 28, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, make_mnist_m(digits, photos, seed=3))
    assert not np.array_equal(first, make_mnist_m(digits, photos, seed=4))
    # (N, 28, 28, 1) digits are accepted too
    np.testing.assert_array_equal(first, make_mnist_m(digits[..., None], photos, seed=3))


def test_blend_formula_reconstructed_by_search():
    """Every output is |patch - digit| for exactly one 28x28 patch of one photo, found by exhaustive search."""
    photos, digits = _random_photos(), _random_digits(40)
    blended = make_mnist_m(digits, photos, seed=0)
    windows = [
        np.lib.stride_tricks.sliding_window_view(photo.astype(np.int16), (28, 28), axis=(0, 1)).transpose(0, 1, 3, 4, 2)
        for photo in photos
    ]  # (rows, cols, 28, 28, 3)
    used_photos, corners = set(), set()
    for index in range(len(digits)):
        digit = digits[index].astype(np.int16)[:, :, None]  # broadcast over R, G, B
        matches = []
        for photo_index, window in enumerate(windows):
            candidates = np.abs(window - digit).astype(np.uint8)
            hit = np.argwhere((candidates == blended[index]).all(axis=(2, 3, 4)))
            matches += [(photo_index, int(r), int(c)) for r, c in hit]
        assert len(matches) == 1, f"image {index}: {len(matches)} patches give it"
        used_photos.add(matches[0][0])
        corners.add(matches[0])
    assert used_photos == {0, 1}  # both photos are drawn
    assert len(corners) > 30  # random positions, not one fixed patch
    # the extremes: a black digit keeps the patch, a white digit inverts it
    black = make_mnist_m(np.zeros((5, 28, 28), np.uint8), photos, seed=0)
    white = make_mnist_m(np.full((5, 28, 28), 255, np.uint8), photos, seed=0)
    np.testing.assert_array_equal(white, 255 - black)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="digits"):
        make_mnist_m(np.zeros((2, 32, 32), np.uint8), _random_photos())
    with pytest.raises(ValueError, match="digits"):
        make_mnist_m(np.zeros((2, 28, 28), np.float32), _random_photos())
    with pytest.raises(ValueError, match=r"photos\[0\].*\(20, 50, 3\)"):
        make_mnist_m(_random_digits(2), [np.zeros((20, 50, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"photos\[1\].*\(40, 50\)"):
        make_mnist_m(_random_digits(2), [_random_photos()[0], np.zeros((40, 50), np.uint8)])
    with pytest.raises(ValueError, match="source='svhn'"):
        load_mnist_m("svhn")
    with pytest.raises(ValueError, match="limit=0"):
        load_mnist_m(limit=0)


def test_fashion_mnist_m_offline_cache_and_corrupt_cache(data_dir, monkeypatch):
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_mnist_m("fashion_mnist", seed=0, limit=64, verbose=0)
    build_seconds = time.perf_counter() - start
    assert x_train.shape == (64, 28, 28, 3) and x_test.shape == (64, 28, 28, 3)
    (fx_train, fy_train), (fx_test, fy_test) = load_fashion_mnist()
    np.testing.assert_array_equal(y_train, fy_train[:64])
    np.testing.assert_array_equal(y_test, fy_test[:64])
    # Made from Fashion-MNIST and scikit-learn's photos with the documented per-split seeds.
    photos = mnist_m.sample_photos()
    np.testing.assert_array_equal(x_train, make_mnist_m(fx_train[:64], photos, seed=[0, 0]))
    np.testing.assert_array_equal(x_test, make_mnist_m(fx_test[:64], photos, seed=[0, 1]))
    cache_files = list((data_dir / "mnist_m").glob("*.npz"))
    assert [file.name for file in cache_files] == ["fashion_mnist-seed0-limit64-v1.npz"]
    assert not list((data_dir / "mnist_m").glob("*.tmp"))

    # A cache hit rebuilds nothing: it is the same arrays, and faster.
    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although the cache holds the arrays")

    with monkeypatch.context() as patch:
        patch.setattr(mnist_m, "_blend", no_build)
        start = time.perf_counter()
        (cx_train, cy_train), (cx_test, cy_test) = load_mnist_m("fashion_mnist", seed=0, limit=64, verbose=0)
        hit_seconds = time.perf_counter() - start
    for expected, actual in ((x_train, cx_train), (y_train, cy_train), (x_test, cx_test), (y_test, cy_test)):
        np.testing.assert_array_equal(expected, actual)
    assert hit_seconds < build_seconds

    # Another seed is another cache entry with other patches.
    (other, _), _ = load_mnist_m("fashion_mnist", seed=1, limit=64, verbose=0)
    assert not np.array_equal(other, x_train)

    # A corrupt (truncated) cache is rebuilt, with a warning, and replaced by a good one.
    cache_files[0].write_bytes(cache_files[0].read_bytes()[:1000])
    with pytest.warns(UserWarning, match="corrupt MNIST-M cache"):
        (rx_train, _), (rx_test, _) = load_mnist_m("fashion_mnist", seed=0, limit=64, verbose=0)
    np.testing.assert_array_equal(rx_train, x_train)
    np.testing.assert_array_equal(rx_test, x_test)
    assert mnist_m._read_cache(cache_files[0]) is not None


def _jpeg(colour, size=(48, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _bsds500_archive(folder):
    """A tiny BSR_bsds500.tgz laid out like the real one: red training photos, blue val/test photos."""
    archive = folder / "BSR_bsds500.tgz"
    colours = {"train": (220, 20, 20), "val": (20, 20, 220), "test": (20, 20, 220)}
    with tarfile.open(archive, "w:gz") as tar:
        for split, colour in colours.items():
            for number in range(2):
                data = _jpeg(colour)
                info = tarfile.TarInfo(f"BSR/BSDS500/data/images/{split}/{100 + number}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(f"BSR/BSDS500/data/groundTruth/{split}/100.mat")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"mat"))
    return archive


def _fake_mnist(monkeypatch):
    """MNIST is downloaded by Keras; tests never download, so Keras's loader returns black digits here."""
    import keras

    digits = np.zeros((6, 28, 28), np.uint8)
    labels = np.arange(6, dtype=np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((digits, labels), (digits[:4], labels[:4])))


def _assert_train_red_test_blue(x_train, x_test):
    # black digits keep the photo patch: the training split saw only the (red) train photos,
    # the test split only the (blue) val/test photos
    assert x_train.shape == (6, 28, 28, 3) and x_test.shape == (4, 28, 28, 3)
    assert (x_train[..., 0].astype(int) - x_train[..., 2] > 150).all()
    assert (x_test[..., 2].astype(int) - x_test[..., 0] > 150).all()


def test_mnist_source_with_bsds500_folder(data_dir, tmp_path, monkeypatch):
    with tarfile.open(_bsds500_archive(tmp_path)) as tar:
        tar.extractall(tmp_path / "usb-stick", filter="data")
    photos = mnist_m.load_bsds500_photos(tmp_path / "usb-stick")
    assert [len(photos["train"]), len(photos["test"])] == [2, 4]
    assert photos["train"][0].shape == (40, 48, 3) and photos["train"][0].dtype == np.uint8
    _fake_mnist(monkeypatch)
    (x_train, y_train), (x_test, _) = load_mnist_m("mnist", seed=0, photos_path=tmp_path / "usb-stick", verbose=0)
    _assert_train_red_test_blue(x_train, x_test)
    np.testing.assert_array_equal(y_train, np.arange(6))
    with pytest.raises(FileNotFoundError, match="BSR/BSDS500/data/images"):
        mnist_m.load_bsds500_photos(tmp_path)


def test_mnist_source_downloads_bsds500_through_the_mirror(data_dir, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _bsds500_archive(mirror)
    monkeypatch.setenv("KT_MIRROR", str(mirror))
    _fake_mnist(monkeypatch)
    (x_train, _), (x_test, _) = load_mnist_m("mnist", seed=0, cache=False, verbose=0)
    _assert_train_red_test_blue(x_train, x_test)
