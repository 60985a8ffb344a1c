"""The fixture archives are written from the real archives' published facts, not from the loaders' constants."""

import ast
import pathlib

import fixtures
from keras_transfer.datasets import oxford_flowers17


def test_fixtures_import_no_loader():
    tree = ast.parse(pathlib.Path(fixtures.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert not imported & {"oxford_flowers17", "oxford_pet"}, "a fixture built from the loader cannot catch its errors"


def test_the_oxford17_loader_agrees_with_the_published_facts():
    assert oxford_flowers17.CLASS_NAMES == fixtures.FLOWERS17_CLASSES
    assert oxford_flowers17.IMAGES_PER_CLASS == fixtures.FLOWERS17_PER_CLASS == 80
    assert tuple(oxford_flowers17.SPLIT_IDS) == fixtures.FLOWERS17_SPLITS
    for image_id in (1, 80, 81, 1360):
        assert oxford_flowers17.image_filename(image_id) == fixtures._flowers17_filename(image_id)
        assert oxford_flowers17.label_of(image_id) == (image_id - 1) // 80
