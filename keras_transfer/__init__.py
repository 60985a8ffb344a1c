"""keras-transfer: transfer learning with Keras 3.

`import keras_transfer as kt` gives `kt.layers`, `kt.callbacks`, `kt.schedules`, `kt.optimizers`, `kt.losses` and `kt.metrics` at once (they
import only Keras and NumPy, and importing them registers every serializable class, so
`keras.saving.load_model` needs no `custom_objects`). The heavier parts (`kt.datasets`, `kt.models`,
`kt.embeddings`, `kt.experiments`, `kt.plotting`, `kt.notebooks`) load on first use.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up logs stay off the terminal and stderr

from keras_transfer import callbacks  # noqa: E402
from keras_transfer import layers  # noqa: E402
from keras_transfer import losses  # noqa: E402
from keras_transfer import metrics  # noqa: E402
from keras_transfer import optimizers  # noqa: E402
from keras_transfer import schedules  # noqa: E402

__version__ = "0.1.0"

_LAZY_SUBMODULES = (
    "datasets",
    "models",
    "embeddings",
    "experiments",
    "plotting",
    "notebooks",
    "selection",
    "parallel",
    "distribute",
    "solutions",
    "paths",
    "profiles",
    "progress",
    "reports",
    "site",
)


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"keras_transfer.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_transfer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY_SUBMODULES))


__all__ = ["callbacks", "layers", "losses", "metrics", "optimizers", "schedules", *_LAZY_SUBMODULES]
