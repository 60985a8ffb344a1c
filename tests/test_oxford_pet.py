"""Oxford-IIIT Pet head boxes: from the (mirrored) archives through extraction to tf.data, on fixture archives."""

import tarfile

import keras
import numpy as np
import pytest

from keras_transfer.datasets import download
import fixtures
from keras_transfer.datasets import oxford_pet

IMAGE_SIZE = (60, 80)  # (height, width) the loader resizes to; the fixture images are 120 x 160


def _patch_checksums(monkeypatch, fixture):
    for attribute, name in (("IMAGES_SHA256", "images.tar.gz"), ("ANNOTATIONS_SHA256", "annotations.tar.gz")):
        monkeypatch.setattr(oxford_pet, attribute, download.file_hashes(fixture.files[name])["sha256"])


def _extracted(fixture, folder):
    folder.mkdir()
    for archive in fixture.files.values():
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    return folder


def _pixel_box(image):
    """The painted (white) head box found in the pixels, relative `(xmin, ymin, xmax, ymax)`."""
    mask = np.asarray(image).min(axis=-1) > 180
    columns, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    height, width = mask.shape
    return np.array([columns[0] / width, rows[0] / height, (columns[-1] + 1) / width, (rows[-1] + 1) / height])


def _by_box(fixture, box):
    """The fixture image name whose box this is (boxes are random, so they identify images)."""
    names = [name for name, value in fixture.info["boxes"].items() if np.allclose(value, box, atol=1e-6)]
    assert len(names) == 1, (box, names)
    return names[0]


def test_end_to_end_from_a_file_url_mirror(data_dir, tmp_path, monkeypatch):
    # images.tar.gz written as a plain tar, as some copies of the real file are.
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror", images_compression="")
    _patch_checksums(monkeypatch, fixture)
    monkeypatch.setenv("KT_MIRROR", fixture.directory.as_uri())
    pets = oxford_pet.load_oxford_pet_heads(image_size=IMAGE_SIZE, validation_fraction=0.25, test_fraction=0.25,
                                            verbose=0)
    assert pets.breed_names == oxford_pet.BREED_NAMES and pets.species_names == ("cat", "dog")
    seen = {}
    for split, dataset in zip(("train", "validation", "test"), pets[:3]):
        for image, target in dataset.as_numpy_iterator():
            assert image.shape == (*IMAGE_SIZE, 3) and image.dtype == np.float32
            assert target["boxes"].shape == (4,) and target["boxes"].dtype == np.float32
            name = _by_box(fixture, target["boxes"])
            seen[name] = split
            assert (target["breed"], target["species"]) == fixture.info["labels"][name]
            # Resizing moved the box with the image: the white head is where the box says, within a pixel.
            np.testing.assert_allclose(_pixel_box(image), target["boxes"], atol=1.5 / IMAGE_SIZE[1])
    # Every trainval image with a box is used once (and no test image, which has no box); the quirky PNG, CMYK
    # and grayscale files are among them and decoded as RGB; the trainval image without XML is not.
    assert sorted(seen) == sorted(fixture.info["boxes"])
    quirks = {kind: name for name, kind in fixture.info["quirks"].items()}
    assert {quirks["png"], quirks["cmyk"], quirks["grayscale"], quirks["rgba"]} <= set(seen)
    assert quirks["no_xml"] not in seen and not set(fixture.info["test"]) & set(seen)
    # Stratified: each of the 4 breeds has 4 boxed images (3 for the breed missing an XML): 1 test, 1 val each.
    splits = list(seen.values())
    assert splits.count("test") == 4 and splits.count("validation") == 4


def test_quirky_files_decode_as_rgb(data_dir, tmp_path, monkeypatch):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror")
    folder = _extracted(fixture, tmp_path / "pets")
    pets = oxford_pet.load_oxford_pet_heads(image_size=None, path=folder, validation_fraction=0.0, test_fraction=0.0,
                                            verbose=0)
    colours = {}
    for image, target in pets.train.as_numpy_iterator():
        assert image.dtype == np.uint8 and image.shape == (120, 160, 3)
        name = _by_box(fixture, target["boxes"])
        x0, y0, x1, y1 = (np.array(target["boxes"]) * [160, 120, 160, 120]).round().astype(int)
        colours[name] = image[y0 + 2:y1 - 2, x0 + 2:x1 - 2].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(_pixel_box(image), target["boxes"], atol=1.01 / 160)
    for name, kind in fixture.info["quirks"].items():
        if kind != "no_xml":
            np.testing.assert_allclose(colours[name], [255, 255, 255], atol=6)  # white, in all three channels


def test_a_flip_moves_the_box_with_the_image(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror")
    pets = oxford_pet.load_oxford_pet_heads(image_size=IMAGE_SIZE, path=_extracted(fixture, tmp_path / "pets"),
                                            validation_fraction=0.0, test_fraction=0.0, verbose=0)
    flip = keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy", seed=3)
    flipped = 0
    for element in oxford_pet.to_keras_detection(pets.train).map(flip).as_numpy_iterator():
        box = element["bounding_boxes"]["boxes"][0]
        np.testing.assert_allclose(_pixel_box(element["images"]), box, atol=1.5 / IMAGE_SIZE[1])
        flipped += not any(np.allclose(box, value, atol=1e-5) for value in fixture.info["boxes"].values())
    assert 0 < flipped < 15


def test_to_box_regression_gives_image_box_pairs(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror")
    pets = oxford_pet.load_oxford_pet_heads(image_size=(32, 32), path=_extracted(fixture, tmp_path / "pets"),
                                            verbose=0)
    images, boxes = next(iter(oxford_pet.to_box_regression(pets.train).batch(4)))
    assert tuple(images.shape) == (4, 32, 32, 3) and tuple(boxes.shape) == (4, 4)


def test_corrupt_image_and_xml_without_box_are_skipped_with_warnings(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror", corrupt=("Bengal_2",), without_box=("beagle_1",))
    folder = _extracted(fixture, tmp_path / "pets")
    xmls = folder / "annotations" / "xmls"
    (xmls / "Bengal_3.xml").write_text("<annotation><size>")  # not XML
    wrong_size = (xmls / "beagle_2.xml").read_text().replace("<width>160</width>", "<width>999</width>")
    (xmls / "beagle_2.xml").write_text(wrong_size)
    with pytest.warns(UserWarning) as caught:
        pets = oxford_pet.load_oxford_pet_heads(image_size=(16, 16), path=folder, validation_fraction=0.0,
                                                test_fraction=0.0, verbose=0)
    messages = " | ".join(str(warning.message) for warning in caught)
    assert "Bengal_2.jpg" in messages and "cannot be decoded" in messages
    assert "beagle_1.xml" in messages and "no <object><bndbox>" in messages
    assert "Bengal_3.xml is not valid XML" in messages
    assert "1 of" in messages and "beagle_2 (XML 999x120, image 160x120)" in messages  # counted, named, kept
    skipped = {"Bengal_2", "beagle_1", "Bengal_3"}
    boxes = [target["boxes"] for _, target in pets.train.as_numpy_iterator()]
    assert len(boxes) == len(set(fixture.info["boxes"]) - skipped)


def test_a_box_drawn_on_a_larger_copy_is_taken_in_its_xml_frame(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror", xml_scaled=("beagle_2", "Bengal_3"), quirks=False)
    folder = _extracted(fixture, tmp_path / "pets")
    with pytest.warns(UserWarning, match="2 of 16 head boxes come with an XML <size> that differs"):
        pets = oxford_pet.load_oxford_pet_heads(image_size=IMAGE_SIZE, path=folder, validation_fraction=0.0,
                                                test_fraction=0.0, verbose=0)
    names = set()
    for image, target in pets.train.as_numpy_iterator():
        names.add(_by_box(fixture, target["boxes"]))
        np.testing.assert_allclose(_pixel_box(image), target["boxes"], atol=1.5 / IMAGE_SIZE[1])
    assert {"beagle_2", "Bengal_3"} <= names


def test_path_folder_missing_files_lists_them(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror")
    folder = _extracted(fixture, tmp_path / "pets")
    (folder / "images" / "Bengal_1.jpg").unlink()
    (folder / "images" / "beagle_3.jpg").unlink()
    with pytest.raises(FileNotFoundError) as error:
        oxford_pet.load_oxford_pet_heads(path=folder, verbose=0)
    assert "images/Bengal_1.jpg" in str(error.value) and "images/beagle_3.jpg" in str(error.value)
    (folder / "annotations" / "trainval.txt").unlink()
    with pytest.raises(FileNotFoundError, match="annotations/trainval.txt"):
        oxford_pet.load_oxford_pet_heads(path=folder, verbose=0)
    assert not (data_dir / "downloads").exists()


def test_split_is_seeded_stratified_and_validated(data_dir, tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror", images_per_breed=9, quirks=False)
    images_dir, annotations_dir = oxford_pet.check_folder(_extracted(fixture, tmp_path / "pets"))
    records = oxford_pet.head_records(images_dir, annotations_dir, verbose=0)
    assert len(records) == 4 * 8

    def names(seed):
        splits = oxford_pet.split_records(records, validation_fraction=0.25, test_fraction=0.25, seed=seed)
        return {split: [record.name for record in items] for split, items in splits.items()}

    first = names(0)
    assert first == names(0) and first != names(1)
    assert sorted(sum(first.values(), [])) == sorted(record.name for record in records)
    for split, count in (("train", 4), ("validation", 2), ("test", 2)):
        for breed in ("Abyssinian", "Bengal", "american_bulldog", "beagle"):
            assert sum(name.rsplit("_", 1)[0] == breed for name in first[split]) == count
    for arguments in ({"validation_fraction": 0.5, "test_fraction": 0.5}, {"validation_fraction": -0.1},
                      {"test_fraction": 1.0}, {"seed": "zero"}):
        with pytest.raises(ValueError):
            oxford_pet.load_oxford_pet_heads(path=tmp_path / "pets", verbose=0, **arguments)


def test_list_files_in_the_official_format(tmp_path):
    fixture = fixtures.make_pet_fixture(tmp_path / "mirror", quirks=False)
    folder = _extracted(fixture, tmp_path / "pets")
    listed = oxford_pet.read_list(folder / "annotations" / "list.txt")
    assert (folder / "annotations" / "list.txt").read_text().startswith("#Image CLASS-ID SPECIES BREED ID\n")
    assert ("Abyssinian_1", 1, 1, 1) in listed and ("Bengal_1", 6, 1, 2) in listed
    assert ("american_bulldog_1", 2, 2, 1) in listed and ("beagle_1", 5, 2, 4) in listed
    assert len(oxford_pet.read_list(folder / "annotations" / "test.txt")) == 4
    box, size = oxford_pet.read_head_box(folder / "annotations" / "xmls" / "Abyssinian_1.xml")
    assert size == (160.0, 120.0)
    np.testing.assert_allclose(oxford_pet.relative_box(box, 160, 120), fixture.info["boxes"]["Abyssinian_1"])


def test_the_loader_agrees_with_the_published_facts_the_fixture_is_written_from():
    """The fixture spells the real archive's facts out itself; the loader's constants must agree with them."""
    assert oxford_pet.BREED_NAMES == fixtures.PET_BREEDS
    assert oxford_pet.SPECIES_NAMES == fixtures.PET_SPECIES
    assert [oxford_pet.species_of(name) for name in fixtures.PET_BREEDS] == [
        fixtures.pet_species(name) for name in fixtures.PET_BREEDS
    ]
    assert [oxford_pet.breed_id_of(name) for name in fixtures.PET_BREEDS] == [
        fixtures._pet_breed_id(name) for name in fixtures.PET_BREEDS
    ]
    assert oxford_pet.breed_id_of("yorkshire_terrier") == 25 and oxford_pet.breed_id_of("Sphynx") == 12
