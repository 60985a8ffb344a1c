"""keras_transfer.datasets."""
from keras_transfer.datasets.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist  # noqa: F401
from keras_transfer.datasets.splits import ClassSplit, split_classes, split_per_class, take_per_class  # noqa: F401
from keras_transfer.datasets.mnist import load_mnist  # noqa: F401
from keras_transfer.datasets.mnist_m import load_domains, load_mnist_m, make_mnist_m  # noqa: F401
from keras_transfer.datasets.download import ArchiveError, ChecksumError, DownloadError, extract, fetch  # noqa: F401
from keras_transfer.datasets.oxford_flowers17 import Flowers17, load_oxford_flowers17  # noqa: F401
from keras_transfer.datasets.oxford_flowers17 import load_oxford_flowers17_arrays  # noqa: F401
from keras_transfer.datasets.oxford_pet import PetHeads, load_oxford_pet_heads, to_box_regression  # noqa: F401
from keras_transfer.datasets.oxford_pet import to_keras_detection  # noqa: F401
from keras_transfer.datasets.pipeline import make_pipeline, numpy_pipeline  # noqa: F401
from keras_transfer.datasets.pasted_objects import load_pasted_objects, paste_objects  # noqa: F401
from keras_transfer.datasets.boxes import LocalizationData, load_localization_data, subset_indices  # noqa: F401
from keras_transfer.datasets.photos import skimage_photos, sklearn_photos  # noqa: F401
from keras_transfer.datasets.attributes import AttributeTable, fashion_mnist_attributes, load_awa2  # noqa: F401
from keras_transfer.datasets.attributes import load_xlsa17, zero_shot_splits  # noqa: F401
from keras_transfer.datasets.cifar100 import load_cifar100  # noqa: F401
