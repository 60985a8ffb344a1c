"""CIFAR-100's archive comes through `fetch` (cache, `KT_MIRROR`, resume, pinned hashes) into tensorflow-datasets.

The fixture archive is written from the binary version's published layout (the CIFAR page): a folder
`cifar-100-binary/` holding `train.bin` and `test.bin`, each record `<1 x coarse label><1 x fine label><3072 x pixel>`
with the 1024 red, then 1024 green, then 1024 blue values of the 32x32 image in row-major order, and the names one a
line in `fine_label_names.txt` (100) and `coarse_label_names.txt` (20). Nothing here comes from the loader's
constants except the pinned hashes, which are patched to the fixture's.
"""

import io
import tarfile

import numpy as np
import pytest

from keras_transfer.datasets import cifar100, download


def _records(count, seed):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 20, count).astype(np.uint8)
    fine = rng.integers(0, 100, count).astype(np.uint8)
    planes = rng.integers(0, 256, (count, 3, 32, 32)).astype(np.uint8)  # channel, row, column
    data = b"".join(bytes([c, f]) + p.tobytes() for c, f, p in zip(coarse, fine, planes))
    return data, fine, planes.transpose(0, 2, 3, 1)  # the images as height, width, channel


def _write_archive(folder, train=6, test=4):
    """`folder/cifar-100-binary.tar.gz` in the official layout; returns what the loader should read from it."""
    train_bytes, train_fine, train_images = _records(train, 0)
    test_bytes, test_fine, test_images = _records(test, 1)
    members = {
        "cifar-100-binary/train.bin": train_bytes,
        "cifar-100-binary/test.bin": test_bytes,
        "cifar-100-binary/fine_label_names.txt": "".join(f"fine_{i}\n" for i in range(100)).encode(),
        "cifar-100-binary/coarse_label_names.txt": "".join(f"coarse_{i}\n" for i in range(20)).encode(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "cifar-100-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive, (train_images, train_fine), (test_images, test_fine)


def _pin_to(monkeypatch, archive):
    hashes = download.file_hashes(archive)
    monkeypatch.setattr(cifar100, "SHA256", hashes["sha256"])
    monkeypatch.setattr(cifar100, "MD5", hashes["md5"])


def _offline(monkeypatch):
    # a closed local port: refused at once, as an offline machine would be
    monkeypatch.setattr(cifar100, "URL", "http://127.0.0.1:9/cifar-100-binary.tar.gz")


def test_pinned_hashes_are_tensorflow_datasets_and_the_cifar_pages():
    import tensorflow_datasets as tfds

    info = tfds.builder_cls("cifar100").url_infos[cifar100.URL]
    assert info.checksum == cifar100.SHA256 and info.filename == "cifar-100-binary.tar.gz"
    assert cifar100.MD5 == "03b5dce01913d631647c71ecec9e9cb8"  # md5sum of the binary version on the CIFAR page


def test_mirror_serves_the_archive_to_tensorflow_datasets(data_dir, tmp_path, monkeypatch):
    archive, (x_train, y_train), (x_test, y_test) = _write_archive(tmp_path / "mirror")
    _pin_to(monkeypatch, archive)
    _offline(monkeypatch)
    monkeypatch.setenv("KT_MIRROR", str(tmp_path / "mirror"))
    (train_images, train_labels), (test_images, test_labels), names = cifar100.load_cifar100(progress=False)
    assert train_images.shape == (6, 32, 32, 3) and train_images.dtype == np.uint8
    got = sorted((label, image.tobytes()) for image, label in zip(train_images, train_labels))  # in any order
    want = sorted((int(label), image.tobytes()) for image, label in zip(x_train, y_train))
    assert got == want  # fine labels (the second byte), pixels planar RGB turned into height, width, channel
    got_test = sorted((int(label), image.tobytes()) for image, label in zip(test_images, test_labels))
    assert got_test == sorted((int(label), image.tobytes()) for image, label in zip(x_test, y_test))
    assert names == tuple(f"fine_{i}" for i in range(100))
    assert (data_dir / "downloads" / "cifar100" / "cifar-100-binary.tar.gz").is_file()  # verified and cached
    # prepared once: a second call reads the prepared files, mirror gone
    monkeypatch.setenv("KT_MIRROR", str(tmp_path / "nowhere"))
    assert cifar100.load_cifar100(progress=False)[1][0].shape == (4, 32, 32, 3)


def test_a_mirror_copy_that_fails_the_checksum_is_refused(data_dir, tmp_path, monkeypatch):
    _write_archive(tmp_path / "mirror")
    _offline(monkeypatch)
    monkeypatch.setenv("KT_MIRROR", str(tmp_path / "mirror"))  # the real pinned hashes: the fixture is not it
    with pytest.raises(download.ChecksumError, match="cifar-100-binary.tar.gz"):
        cifar100.load_cifar100(progress=False)


def test_offline_error_names_file_url_mirror_and_path(data_dir, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(download.DownloadError) as caught:
        cifar100.load_cifar100(progress=False)
    message = str(caught.value)
    for part in ("cifar-100-binary.tar.gz", cifar100.URL, "KT_MIRROR", "path="):
        assert part in message


def test_path_reads_an_extracted_archive_without_fetching(data_dir, tmp_path, monkeypatch):
    archive, (x_train, y_train), _ = _write_archive(tmp_path / "archive")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    _offline(monkeypatch)
    (train_images, train_labels), _, _ = cifar100.load_cifar100(path=tmp_path / "extracted", progress=False)
    assert sorted(train_labels.tolist()) == sorted(y_train.tolist())
    with pytest.raises(FileNotFoundError, match="test.bin"):
        (tmp_path / "extracted" / "cifar-100-binary" / "test.bin").unlink()
        cifar100.load_cifar100(tmp_path / "other-tfds", path=tmp_path / "extracted", progress=False)
