"""Oxford-17: from the (mirrored) original files through extraction to tf.data, on fixture archives."""

import shutil
import tarfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_transfer.datasets import archives
from keras_transfer.datasets import download
import fixtures
from keras_transfer.datasets import oxford_flowers17

IMAGE_SIZE = (40, 56)  # (height, width) of the fixture images


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A fixture mirror folder, with the pinned checksums patched to the fixture files' hashes."""
    fixture = fixtures.make_oxford17_fixture(tmp_path / "mirror", images_per_class=4, image_size=IMAGE_SIZE)
    monkeypatch.setattr(oxford_flowers17, "IMAGES_SHA256",
                        download.file_hashes(fixture.files["17flowers.tgz"])["sha256"])
    monkeypatch.setattr(oxford_flowers17, "SPLITS_MD5", download.file_hashes(fixture.files["datasplits.mat"])["md5"])
    return fixture


def _extracted(fixture, folder):
    """The official layout, as a user would unpack it: jpg/ and datasplits.mat side by side."""
    folder.mkdir()
    with tarfile.open(fixture.files["17flowers.tgz"]) as tar:
        tar.extractall(folder, filter="data")
    shutil.copy(fixture.files["datasplits.mat"], folder / "datasplits.mat")
    return folder


def _labels_from_pixels(images):
    palette = np.stack([fixtures.flowers17_class_color(label) for label in range(17)])
    means = images.reshape(len(images), -1, 3).mean(axis=1)
    return np.argmin(((means[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)


def _as_arrays(dataset):
    images, labels = zip(*dataset.as_numpy_iterator())
    return np.stack(images), np.array(labels)


def test_loads_the_official_split_from_a_folder_mirror(data_dir, mirror, monkeypatch):
    monkeypatch.setenv("KT_MIRROR", str(mirror.directory))
    flowers = oxford_flowers17.load_oxford_flowers17(split_id=2, image_size=(24, 32), verbose=0)
    assert flowers.class_names[0] == "Daffodil" and flowers.class_names[-1] == "Pansy"
    assert len(flowers.class_names) == 17
    expected = mirror.info["splits"][2]
    for split, dataset in zip(("train", "validation", "test"), flowers[:3]):
        assert int(dataset.cardinality()) == len(expected[split])
        images, labels = _as_arrays(dataset)
        assert images.shape[1:] == (24, 32, 3) and images.dtype == np.float32
        assert 0.0 <= images.min() and images.max() <= 255.0
        # Labels come from the image ids of datasplits.mat (80 consecutive per class), in the file's order...
        np.testing.assert_array_equal(labels, (expected[split] - 1) // 80)
        # ...and each label matches what the image shows.
        np.testing.assert_array_equal(_labels_from_pixels(images), labels)
    # Downloaded (copied from the mirror), verified and extracted into KT_DATA_DIR.
    assert (data_dir / "downloads" / "oxford_flowers17" / "17flowers.tgz").is_file()
    assert archives.is_extracted(data_dir / "oxford_flowers17" / "17flowers", oxford_flowers17.IMAGES_SHA256)


def test_the_three_splits_follow_datasplits_mat(data_dir, mirror, monkeypatch):
    monkeypatch.setenv("KT_MIRROR", mirror.directory.as_uri())
    jpg_dir, splits_file = oxford_flowers17.locate(verbose=0)
    for split_id in (1, 2, 3):
        records = oxford_flowers17.split_records(jpg_dir, splits_file, split_id, verbose=0)
        for split, ids in mirror.info["splits"][split_id].items():
            files, labels = records[split]
            assert [int(f[-8:-4]) for f in files] == list(ids)
            assert labels == [(i - 1) // 80 for i in ids]
    assert not np.array_equal(mirror.info["splits"][1]["train"], mirror.info["splits"][2]["train"])


def test_tfds_builder_with_manual_dir(data_dir, mirror, tmp_path):
    folder = _extracted(mirror, tmp_path / "usb-stick")
    dataset, info = tfds.load(
        "oxford_flowers17/split_3",
        split="validation",
        data_dir=str(tmp_path / "tfds"),
        with_info=True,
        download_and_prepare_kwargs={"download_config": tfds.download.DownloadConfig(manual_dir=str(folder))},
    )
    ids = mirror.info["splits"][3]
    assert {name: split.num_examples for name, split in info.splits.items()} == {
        name: len(value) for name, value in ids.items()
    }
    assert info.features["label"].names == list(oxford_flowers17.CLASS_NAMES)
    examples = {ex["file_name"].decode(): ex for ex in tfds.as_numpy(dataset)}
    assert sorted(examples) == sorted(oxford_flowers17.image_filename(i) for i in ids["validation"])
    for name, example in examples.items():
        assert example["label"] == oxford_flowers17.label_of(int(name[6:10]))
        assert example["image"].shape == (*IMAGE_SIZE, 3)
    assert not (data_dir / "downloads").exists()  # manual_dir: nothing fetched


def test_tfds_load_default_config_through_the_mirror(data_dir, mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("KT_MIRROR", mirror.directory.as_uri())
    builder = tfds.builder("oxford_flowers17", data_dir=str(tmp_path / "tfds"))
    assert builder.builder_config.name == "split_1"
    builder.download_and_prepare()
    assert {name: split.num_examples for name, split in builder.info.splits.items()} == {
        "train": 34, "validation": 17, "test": 17
    }
    assert (data_dir / "downloads" / "oxford_flowers17" / "17flowers.tgz").is_file()


def test_path_folder_is_used_without_downloading(data_dir, mirror, tmp_path, monkeypatch):
    folder = _extracted(mirror, tmp_path / "usb-stick")
    flowers = oxford_flowers17.load_oxford_flowers17(split_id=1, image_size=None, path=folder, verbose=0)
    image, label = next(iter(flowers.test))
    assert image.dtype == tf.uint8 and tuple(image.shape) == (*IMAGE_SIZE, 3)
    assert int(flowers.test.cardinality()) == 17
    assert not (data_dir / "downloads").exists()
    # The one-time decoding check is remembered: a second load decodes nothing up front.
    assert len(list((data_dir / "verified-images").iterdir())) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(tf.data.Dataset, "from_tensor_slices", no_decoding)
    records = oxford_flowers17.split_records(folder / "jpg", folder / "datasplits.mat", 1, verbose=0)
    assert len(records["test"][0]) == 17


def test_path_folder_missing_files_lists_them(data_dir, mirror, tmp_path):
    folder = _extracted(mirror, tmp_path / "usb-stick")
    (folder / "jpg" / "image_0002.jpg").unlink()
    (folder / "jpg" / "image_0083.jpg").unlink()
    with pytest.raises(FileNotFoundError) as error:
        oxford_flowers17.load_oxford_flowers17(path=folder, verbose=0)
    assert "jpg/image_0002.jpg" in str(error.value) and "jpg/image_0083.jpg" in str(error.value)
    (folder / "datasplits.mat").unlink()
    shutil.rmtree(folder / "jpg")
    with pytest.raises(FileNotFoundError) as error:
        oxford_flowers17.load_oxford_flowers17(path=folder, verbose=0)
    assert "datasplits.mat" in str(error.value) and "jpg/" in str(error.value)


@pytest.mark.parametrize("split_id", [0, 4, "1", 1.5, True])
def test_unknown_split_id(data_dir, split_id):
    with pytest.raises(ValueError, match="split_id"):
        oxford_flowers17.load_oxford_flowers17(split_id=split_id, verbose=0)


@pytest.mark.parametrize("image_size", [(0, 10), (224,), "224", (224.0, 224)])
def test_bad_image_size(data_dir, image_size):
    with pytest.raises(ValueError, match="image_size"):
        oxford_flowers17.load_oxford_flowers17(image_size=image_size, verbose=0)


def test_a_corrupt_image_is_skipped_with_a_warning_naming_it(data_dir, mirror, tmp_path):
    folder = _extracted(mirror, tmp_path / "usb-stick")
    test_ids = mirror.info["splits"][1]["test"]
    bad = folder / "jpg" / oxford_flowers17.image_filename(test_ids[0])
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.warns(UserWarning, match=bad.name):
        flowers = oxford_flowers17.load_oxford_flowers17(split_id=1, image_size=(16, 16), path=folder, verbose=0)
    _, labels = _as_arrays(flowers.test)
    np.testing.assert_array_equal(labels, (test_ids[1:] - 1) // 80)


def test_a_mirror_copy_with_the_wrong_checksum_is_refused(data_dir, mirror, monkeypatch):
    monkeypatch.setenv("KT_MIRROR", str(mirror.directory))
    real_sha256 = oxford_flowers17.IMAGES_SHA256
    monkeypatch.setattr(oxford_flowers17, "IMAGES_SHA256", "0" * 64)
    with pytest.raises(download.ChecksumError) as error:
        oxford_flowers17.load_oxford_flowers17(verbose=0)
    assert "17flowers.tgz" in str(error.value) and "0" * 64 in str(error.value) and real_sha256 in str(error.value)
    assert not (data_dir / "downloads" / "oxford_flowers17" / "17flowers.tgz").exists()


def test_arrays_loader_holds_the_same_images_as_the_datasets_rounded_to_uint8(data_dir, mirror, tmp_path):
    folder = _extracted(mirror, tmp_path / "oxford17")
    flowers = oxford_flowers17.load_oxford_flowers17_arrays(split_id=3, image_size=(24, 32), path=folder, verbose=0)
    datasets = oxford_flowers17.load_oxford_flowers17(split_id=3, image_size=(24, 32), path=folder, verbose=0)
    assert flowers.class_names == oxford_flowers17.CLASS_NAMES
    for split, (images, labels) in zip(("train", "validation", "test"), flowers[:3]):
        expected_images, expected_labels = _as_arrays(getattr(datasets, split))
        assert images.dtype == np.uint8 and images.shape == (len(mirror.info["splits"][3][split]), 24, 32, 3)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, expected_labels)
        np.testing.assert_array_equal(images, np.clip(np.round(expected_images), 0, 255).astype(np.uint8))
    with pytest.raises(ValueError, match="image_size"):
        oxford_flowers17.load_oxford_flowers17_arrays(image_size=None, path=folder)
