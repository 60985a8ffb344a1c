"""The experiments the notebooks run, each under a `profile` (`smoke`, `quick`, `full`).

Each experiment is a module with `run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides)`
that returns an `ExperimentResult`. `python -m keras_transfer run NAME --profile P` runs one by name.
"""

import importlib

from keras_transfer.experiments import base
from keras_transfer.experiments.base import ExperimentResult

# registry name -> module (imported on first use; each pulls in TensorFlow and data loaders)
EXPERIMENTS = {
    "models-1-4": "keras_transfer.experiments.models_1_4",
    "pet-heads": "keras_transfer.experiments.pet_heads",
    "transferability": "keras_transfer.experiments.transferability",
    "dann": "keras_transfer.experiments.dann",
    "off-the-shelf": "keras_transfer.experiments.off_the_shelf",
    "full-network-embedding": "keras_transfer.experiments.full_network_embedding",
    "zero-shot": "keras_transfer.experiments.zero_shot",
    "multitask": "keras_transfer.experiments.multitask",
}


def get(name):
    """The module of the experiment called `name` (see `EXPERIMENTS`)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment: expected one of {sorted(EXPERIMENTS)}. Received: name={name!r}")
    return importlib.import_module(EXPERIMENTS[name])


def run(name, profile="quick", *, results="train", live=False, **kwargs):
    """Runs the experiment called `name` under `profile` and returns its `ExperimentResult`.

    `results="auto"` loads the saved result of the same request instead of training, when there is one (a
    teacher's pre-run, copied into `results/`); `live=True` runs one seed at the experiment's smallest settings.
    See `base.run_or_load`.
    """
    return base.run_or_load(get(name), name, profile, results=results, live=live, **kwargs)


__all__ = ["EXPERIMENTS", "ExperimentResult", "get", "run"]
