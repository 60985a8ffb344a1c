"""Yosinski-style class halves and per-class budgets."""

import numpy as np
import pytest

from keras_transfer.datasets import FASHION_MNIST_CLASSES, ClassSplit, split_classes, split_per_class, take_per_class

# Not `multibackend`: the code tested here is NumPy and file handling that never calls Keras, so a second run on
# KERAS_BACKEND=jax (make unit-jax) would repeat the TensorFlow run's work and could not fail differently.


def _documented_algorithm(num_classes, seed):
    order = np.random.default_rng(seed).permutation(num_classes)
    return tuple(sorted(order[: num_classes // 2].tolist())), tuple(sorted(order[num_classes // 2 :].tolist()))


def test_seed_zero_split_is_the_documented_one():
    split = split_classes(10, seed=0)
    assert (split.classes_a, split.classes_b) == _documented_algorithm(10, 0)
    # The docstring states the seed-0 split; it must be what the algorithm computes.
    doc = split_classes.__doc__
    assert f"A = {split.classes_a}" in doc and f"B = {split.classes_b}" in doc
    assert ", ".join(split.names(FASHION_MNIST_CLASSES, "a")) in doc
    assert ", ".join(split.names(FASHION_MNIST_CLASSES, "b")) in doc


@pytest.mark.parametrize("num_classes", [2, 3, 7, 10, 17, 100])
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_halves_are_disjoint_and_cover(num_classes, seed):
    split = split_classes(num_classes, seed=seed)
    assert (split.classes_a, split.classes_b) == _documented_algorithm(num_classes, seed)
    assert set(split.classes_a).isdisjoint(split.classes_b)
    assert sorted(split.classes_a + split.classes_b) == list(range(num_classes))
    assert len(split.classes_a) == num_classes // 2
    assert split_classes(num_classes, seed=seed) == split  # fixed for a seed


def test_different_seeds_give_different_splits():
    splits = {split_classes(10, seed=s) for s in range(10)}
    assert len(splits) > 5


def test_select_remaps_in_tuple_order():
    split = ClassSplit(classes_a=(7, 2), classes_b=(0, 1, 3))
    y = np.array([0, 7, 2, 3, 7, 1, 2], dtype=np.uint8)
    x = np.arange(len(y)) * 10
    x_a, y_a = split.select(x, y, "a")
    np.testing.assert_array_equal(x_a, [10, 20, 40, 60])
    np.testing.assert_array_equal(y_a, [0, 1, 0, 1])  # 7 -> 0, 2 -> 1: the order of the tuple
    assert y_a.dtype == np.uint8
    x_b, y_b = split.select(x, y, "b")
    np.testing.assert_array_equal(x_b, [0, 30, 50])
    np.testing.assert_array_equal(y_b, [0, 2, 1])
    assert split.names(["zero", "one", "two", "three", "4", "5", "6", "seven"], "a") == ("seven", "two")


def test_select_on_fashion_mnist_sized_labels():
    y = np.repeat(np.arange(10, dtype=np.uint8), 30)
    x = np.random.default_rng(0).integers(0, 255, size=(300, 28, 28), dtype=np.uint8)
    split = split_classes(10, 0)
    x_a, y_a = split.select(x, y, "a")
    assert x_a.shape == (150, 28, 28)
    np.testing.assert_array_equal(np.bincount(y_a), np.full(5, 30))
    original = np.asarray(split.classes_a)[y_a]
    np.testing.assert_array_equal(x_a, x[np.isin(y, split.classes_a)])
    assert np.isin(original, split.classes_a).all()


def test_validation_errors():
    with pytest.raises(ValueError, match="num_classes=1"):
        split_classes(1)
    with pytest.raises(ValueError, match="num_classes=2.5"):
        split_classes(2.5)
    with pytest.raises(ValueError, match="half='c'"):
        split_classes(10).select(np.zeros((3, 2)), np.zeros(3, int), "c")
    with pytest.raises(ValueError, match="half='A'"):
        split_classes(10).names(FASHION_MNIST_CLASSES, "A")
    with pytest.raises(ValueError, match="disjoint"):
        ClassSplit((0, 1), (1, 2))
    with pytest.raises(ValueError, match="classes_a"):
        ClassSplit((), (1, 2))
    with pytest.raises(ValueError, match="same length"):
        split_classes(10).select(np.zeros((3, 2)), np.zeros(4, int), "a")
    with pytest.raises(ValueError, match="integer class ids"):
        split_classes(10).select(np.zeros((3, 2)), np.zeros((3, 10)), "a")


def test_take_per_class_budget():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=400)
    x = np.arange(400)
    x_small, y_small = take_per_class(x, y, per_class=20, seed=3)
    np.testing.assert_array_equal(np.bincount(y_small), np.full(4, 20))
    np.testing.assert_array_equal(y[x_small], y_small)  # x and y stay paired
    assert len(np.unique(x_small)) == 80
    again = take_per_class(x, y, per_class=20, seed=3)
    np.testing.assert_array_equal(again[0], x_small)
    other = take_per_class(x, y, per_class=20, seed=4)
    assert not np.array_equal(other[0], x_small)
    with pytest.raises(ValueError, match="fewer"):
        take_per_class(x, y, per_class=1000)
    with pytest.raises(ValueError, match="per_class=-1"):
        take_per_class(x, y, per_class=-1)


def test_split_per_class_oxford17_budget():
    y = np.repeat(np.arange(17), 80)  # Oxford-17: 80 consecutive images per class
    x = np.arange(len(y))
    (x_train, y_train), (x_val, y_val) = split_per_class(x, y, 40, 20, seed=0)
    np.testing.assert_array_equal(np.bincount(y_train), np.full(17, 40))
    np.testing.assert_array_equal(np.bincount(y_val), np.full(17, 20))
    assert set(x_train.tolist()).isdisjoint(x_val.tolist())
    np.testing.assert_array_equal(y[x_train], y_train)
    np.testing.assert_array_equal(y[x_val], y_val)
    with pytest.raises(ValueError, match="train_per_class=60, validation_per_class=40"):
        split_per_class(x, y, 60, 40)
