"""Same task, different domain: the lecture's Models 1-4 (and a fifth, ULMFiT's recipe) on a small labelled set.

Seed 002 trains one network, VGG19's convolutional base with two new dense layers and an output layer, four ways on
Oxford-17 flowers (40 training and 20 validation images per class):

- Model 1, `scratch`: random weights, the whole network trained from scratch.
- Model 2, `frozen`: ImageNet weights, the base frozen (a feature extractor, called with `training=False`); only
  the new layers train.
- Model 3, `finetune`: ImageNet weights, the whole network trained.
- Model 4, `chain_thaw`: ImageNet weights, trained by chain-thaw (DeepMoji): the new layers, then each base layer
  alone from the first to the last, then everything (`keras_transfer.callbacks.ChainThaw`; Adam with
  `clipnorm=1`, learning rate 1e-3 for the new layers and 1e-4 afterwards).
- Beyond the seed, Model 5, `ulmfit`: Model 3 with ULMFiT's three techniques: a slanted triangular learning rate
  (`keras_transfer.schedules.SlantedTriangular`), discriminative learning rates shrinking by 2.6 per layer group
  from the top (`keras_transfer.optimizers.Discriminative`) and gradual unfreezing, one group more per epoch
  (`keras_transfer.callbacks.GradualUnfreezing`).

Every model trains with early stopping on the validation loss and keeps its best epoch's weights (chain-thaw does
that per step, Model 5 runs its whole schedule and keeps the best epoch), so the epochs are comparable. Each row of
the result is one model and seed: test accuracy and loss, epochs, the epoch whose weights were kept (`best_epoch`,
from 1), wall time of the training (building and testing excluded; for Model 2 on cached features it includes
computing the training and validation features), trainable and frozen parameters at the end of training.
Histories hold every epoch's losses and accuracies, chain-thaw's steps (`chain_thaw_steps`) and gradual
unfreezing's (`unfreezing_steps`), each step as `{"epoch": first epoch (from 0), "step": name}`.

Every model of a seed starts from the same initialisation of the new layers, and (quick) from the same 40/20
images per class, so the models are compared in pairs. `EXTRA_MODELS` holds `head_first`, Model 3 trained the
keras-io way (the new layers on the frozen base, then everything), a diagnostic the notebook uses to explain why
Model 3 can fall below Model 2.

Frozen-base training on cached features (`cache_features=True`, the default): Model 2's base never changes and no
augmentation runs through it, so its outputs are computed once (`keras_transfer.models.extract_features`) and only
the head trains on them (`fit_on_features`, which also keeps fit()'s data iterators alive across epochs), instead
of running the base every epoch. The features of arrays are also kept on disk (`extract_features(..., cache=True)`,
keyed by the base's weights and the images), so a second run skips the forward passes. It is the same training; it
costs the augmentation (impossible through cached features: `augment` must be None) and the memory of the
features. `cache_features=False` trains Model 2 the keras-io way, the base inside the model.

Profiles:

- `full`: the lecture's setup: Keras's VGG19 at 224x224 with ImageNet weights on Oxford-17 split 1
  (`load_oxford_flowers17`, `make_pipeline(..., preprocess="vgg19")`), three seeds. Meant for a GPU.
- `quick`: the same five models on real offline data at a CPU's scale: the source network
  (`keras_transfer.models.pretrained_source_network("quick")`, a small VGG trained on half A of Fashion-MNIST,
  Pullover/Dress/Coat/Shirt/Sneaker) plays ImageNet VGG19; the target task is half B (T-shirt/top, Trouser,
  Sandal, Bag, Ankle boot) with Oxford-17's budget: 40 training and 20 validation images per class drawn per seed,
  tested on all 5,000 test images of half B. Three seeds. Under 10 minutes on a 2-core CPU, source pretraining
  included.
- `smoke`: the quick profile's code at a tiny size (seconds).
"""

import contextlib
import logging
import time

import keras
import numpy as np

from keras_transfer import models as kt_models
from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments.base import ExperimentResult

NAME = "models-1-4"

MODELS = ("scratch", "frozen", "finetune", "chain_thaw", "ulmfit")
# Not run by default: a diagnostic between Models 2 and 3 (see the notebook's discussion).
EXTRA_MODELS = ("head_first",)

TITLES = {
    "scratch": "Model 1: from scratch",
    "frozen": "Model 2: frozen base (feature extractor)",
    "finetune": "Model 3: fine-tuned",
    "chain_thaw": "Model 4: chain-thaw",
    "ulmfit": "Model 5: STLR + discriminative rates + gradual unfreezing (beyond the seed)",
    "head_first": "Model 3b: new layers on the frozen base first, then everything (keras-io's recipe)",
}

DESCRIPTIONS = {
    "smoke": "a test run at a tiny size (8 training images per class, 2 epochs): its numbers mean nothing",
    "quick": "the source network pretrained on Fashion-MNIST half A, transferred to half B with Oxford-17's budget "
    "(40 training / 20 validation images per class), 3 seeds, on a CPU",
    "full": "ImageNet VGG19 at 224x224 on Oxford-17 split 1, as in the lecture (meant for a GPU)",
}

_COMMON = {
    "models": MODELS,
    "head_units": (256, 256),
    "dropout": 0.5,
    "clipnorm": 1.0,
    "learning_rates": {"scratch": 1e-3, "frozen": 1e-3, "finetune": 1e-4},
    "chain_thaw_learning_rates": (1e-3, 1e-4),
    "ulmfit_max_learning_rate": 1e-3,
    "ulmfit_decay": 2.6,
    "cache_features": True,
    "sample_predictions": 16,
}

CONFIGS = {
    "smoke": {
        **_COMMON,
        "seeds": (0,),
        "source_seed": 0,
        "train_per_class": 8,
        "validation_per_class": 4,
        "test_per_class": 10,
        "batch_size": 16,
        "max_epochs": 2,
        "patience": 1,
        "chain_thaw_epochs_per_step": 1,
        "chain_thaw_patience": 1,
        "ulmfit_epochs": 4,
        "head_units": (32, 32),
    },
    "quick": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "source_seed": 0,
        "train_per_class": 40,
        "validation_per_class": 20,
        "test_per_class": None,
        "batch_size": 32,
        "max_epochs": 60,
        "patience": 5,
        "chain_thaw_epochs_per_step": 10,
        "chain_thaw_patience": 3,
        "ulmfit_epochs": 15,
    },
    "full": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "weights": "imagenet",
        "split_id": 1,
        "path": None,
        "image_size": (224, 224),
        "augment": None,
        "batch_size": 32,
        "max_epochs": 50,
        "patience": 5,
        "chain_thaw_epochs_per_step": 10,
        "chain_thaw_patience": 3,
        "ulmfit_epochs": 15,
        "learning_rates": {"scratch": 1e-4, "frozen": 1e-3, "finetune": 1e-4},
    },
}


class TargetData:
    """The target task of one seed: what the models train, stop and are tested on.

    Attributes:
        kind: str. `"arrays"` (quick, smoke) or `"datasets"` (full: batched tf.data pipelines).
        train, validation, test: `(x, y)` arrays or pipelines of batches `(images, labels)`.
        features: dict. For `"datasets"`, the unshuffled, unaugmented pipelines to compute features from.
        class_names: tuple of str.
        sizes: dict. Examples per split.
    """

    def __init__(self, kind, train, validation, test, class_names, sizes, features=None):
        self.kind = kind
        self.train = train
        self.validation = validation
        self.test = test
        self.class_names = tuple(class_names)
        self.sizes = sizes
        self.features = features or {}


def load_target_data(profile="quick", seed=0, **overrides):
    """The target data of `profile` for `seed`, exactly as `run` uses it (see `TargetData`).

    quick and smoke: half B of Fashion-MNIST (`split_classes(10, seed=0)`), `train_per_class` and
    `validation_per_class` images per class drawn from its training images with `seed`, the test images of half B
    (all of them in quick), as `(N, 32, 32, 3)` float32 pixels (`to_source_input`). full: Oxford-17 split
    `split_id` (the seed only shuffles the training batches).
    """
    config = profiles.select(CONFIGS, profile, overrides)
    return _load_data(profile, config, seed, verbose=0)


def _load_data(profile, config, seed, verbose):
    from keras_transfer import datasets

    if profile == "full":
        flowers = datasets.load_oxford_flowers17(
            config["split_id"], image_size=tuple(config["image_size"]), path=config["path"], verbose=verbose
        )
        batch_size = config["batch_size"]

        def pipeline(dataset, training=False):
            return datasets.make_pipeline(
                dataset,
                batch_size=batch_size,
                training=training,
                augment=config["augment"] if training else None,
                preprocess="vgg19",
                seed=seed,
            )

        sizes = {split: int(getattr(flowers, split).cardinality()) for split in ("train", "validation", "test")}
        return TargetData(
            "datasets",
            pipeline(flowers.train, training=True),
            pipeline(flowers.validation),
            pipeline(flowers.test),
            flowers.class_names,
            sizes,
            features={"train": pipeline(flowers.train)},
        )
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    split = datasets.split_classes(10, seed=0)
    x_train, y_train = split.select(x_train, y_train, "b")
    x_test, y_test = split.select(x_test, y_test, "b")
    (x_train, y_train), (x_val, y_val) = datasets.split_per_class(
        x_train, y_train, config["train_per_class"], config["validation_per_class"], seed=seed
    )
    if config["test_per_class"]:
        x_test, y_test = datasets.take_per_class(x_test, y_test, config["test_per_class"], seed=0)
    arrays = {
        "train": (kt_models.to_source_input(x_train), y_train.astype("int32")),
        "validation": (kt_models.to_source_input(x_val), y_val.astype("int32")),
        "test": (kt_models.to_source_input(x_test), y_test.astype("int32")),
    }
    sizes = {key: int(len(value[1])) for key, value in arrays.items()}
    names = split.names(datasets.FASHION_MNIST_CLASSES, "b")
    return TargetData("arrays", arrays["train"], arrays["validation"], arrays["test"], names, sizes)


def sample_test_images(profile="quick", count=16, **overrides):
    """The first `count` test images (as pixels in [0, 255], for display), their labels and the class names.

    They are the images whose predictions `run` keeps in `result.metadata["sample_predictions"]`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    if profile == "full":
        from keras_transfer import datasets

        flowers = datasets.load_oxford_flowers17(
            config["split_id"], image_size=tuple(config["image_size"]), path=config["path"], verbose=0
        )
        images, labels = [], []
        for image, label in flowers.test.take(count):
            images.append(np.asarray(image))
            labels.append(int(label))
        return np.stack(images), np.array(labels), tuple(flowers.class_names)
    data = _load_data(profile, config, 0, verbose=0)
    x_test, y_test = data.test
    return x_test[:count], y_test[:count], data.class_names


def _backbone(profile, config, pretrained, source):
    if profile == "full":
        weights = config["weights"] if pretrained else None
        return kt_models.vgg19_backbone(weights=weights, input_shape=(*config["image_size"], 3))
    return kt_models.source_backbone(source, pretrained=pretrained)


def _build(name, profile, config, source, num_classes, seed):
    if name not in MODELS + EXTRA_MODELS:
        raise ValueError(f"Unknown model: expected one of {MODELS + EXTRA_MODELS}. Received: name={name!r}")
    keras.utils.set_random_seed(seed)
    backbone = _backbone(profile, config, name != "scratch", source)
    keras.utils.set_random_seed(seed)  # the same head initialisation for every model of a seed
    return kt_models.build_classifier(
        backbone,
        num_classes,
        head_units=tuple(config["head_units"]),
        dropout=config["dropout"],
        base_trainable=name != "frozen",
        name=name,
    )


def build_model(name, profile="quick", *, seed=0, source=None, **overrides):
    """Model `name` (one of `MODELS`) as `run` builds it for `profile`, before training and uncompiled.

    Models 1, 3, 4 and 5 are the same network (4 and 5 differ in how they train); Model 1's backbone has random
    weights, Model 2's is frozen. Use it to look at a model's layers and trainable and frozen parameters.

    Args:
        name: str. `"scratch"`, `"frozen"`, `"finetune"`, `"chain_thaw"` or `"ulmfit"`.
        profile: str. `"smoke"`, `"quick"` or `"full"` (full builds Keras's VGG19 with the configured `weights`).
        seed: int. Seeds the initialisation of the new layers (and of a random backbone).
        source: keras.Model or None. The pretrained source network (quick, smoke); None loads the cached one,
            training it first if needed.
        **overrides: settings of the profile's config, as for `run`.

    Returns:
        An uncompiled `keras.Model` built by `keras_transfer.models.build_classifier`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    if profile == "full":
        from keras_transfer.datasets import oxford_flowers17

        num_classes = len(oxford_flowers17.CLASS_NAMES)
    else:
        from keras_transfer import datasets

        num_classes = len(datasets.split_classes(10, seed=0).classes_b)
        if source is None:
            source = kt_models.pretrained_source_network(profile, seed=config["source_seed"], verbose=0)
    return _build(name, profile, config, source, num_classes, seed)


def _optimizer(learning_rate, config):
    return keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=config["clipnorm"])


def _compile(model, optimizer):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def _early_stopping(config, patience=None):
    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config["patience"] if patience is None else patience, restore_best_weights=True
    )


def _fit(model, train, validation, kind, config, epochs, callbacks, verbose):
    fit_verbose = 2 if verbose >= 2 else 0
    if kind == "arrays":
        return model.fit(
            train[0],
            train[1],
            batch_size=config["batch_size"],
            epochs=epochs,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=True,
            verbose=fit_verbose,
        )
    # The pipelines shuffle the training images themselves (make_pipeline(training=True)).
    return model.fit(
        train, validation_data=validation, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=fit_verbose
    )


def _evaluate(model, test, kind, count):
    if kind == "arrays":
        loss, accuracy = model.evaluate(test[0], test[1], batch_size=256, verbose=0)
        sample = model.predict(test[0][:count], verbose=0) if count else np.zeros((0, 1))
    else:
        loss, accuracy = model.evaluate(test, verbose=0)
        sample = []
        for images, _ in test:
            sample.append(model.predict_on_batch(images))
            if sum(len(batch) for batch in sample) >= count:
                break
        sample = np.concatenate(sample)[:count] if sample else np.zeros((0, 1))
    return float(loss), float(accuracy), [int(label) for label in np.argmax(sample, axis=-1)]


def _backbone_groups(model):
    """ULMFiT's layer groups: the backbone's layers grouped by block (`block1_*`, ...), then the new layers."""
    groups = {}
    for layer in kt_models.backbone_layers(model):
        groups.setdefault(layer.name.split("_")[0], []).append(layer.name)
    return [*groups.values(), [layer.name for layer in kt_models.head_layers(model)]]


def _train_one(name, seed, data, config, profile, source, feature_memo, verbose):
    """Builds, trains and tests one model; returns `(row, history, sample_predictions)`."""
    from keras_transfer import callbacks as kt_callbacks
    from keras_transfer import optimizers as kt_optimizers
    from keras_transfer import schedules as kt_schedules

    model = _build(name, profile, config, source, len(data.class_names), seed)
    extra = {}
    start = time.perf_counter()
    if name == "frozen" and config["cache_features"]:
        base = kt_models.base_layer(model)
        if data.kind == "arrays":
            train = (kt_models.extract_features(base, data.train[0], cache=True), data.train[1])
            validation = (kt_models.extract_features(base, data.validation[0], cache=True), data.validation[1])
        else:  # batched pipelines: the unshuffled, unaugmented training images
            train = kt_models.extract_features(base, data.features["train"])
            validation = kt_models.extract_features(base, data.validation)
        head = kt_models.classifier_head(model)
        _compile(head, _optimizer(config["learning_rates"]["frozen"], config))
        stopper = _early_stopping(config)
        history = kt_models.fit_on_features(
            head,
            train,
            validation,
            batch_size=config["batch_size"],
            epochs=config["max_epochs"],
            callbacks=[stopper],
            verbose=2 if verbose >= 2 else 0,
        )
        wall = time.perf_counter() - start
        if "test" not in feature_memo:  # the same pretrained base for every seed: test features once per run
            if data.kind == "arrays":
                feature_memo["test"] = (kt_models.extract_features(base, data.test[0], cache=True), data.test[1])
            else:
                feature_memo["test"] = kt_models.extract_features(base, data.test)
        evaluated, test, test_kind = head, feature_memo["test"], "arrays"
        best_epoch = stopper.best_epoch + 1
    else:
        callbacks = []
        epochs = config["max_epochs"]
        if name in ("scratch", "frozen", "finetune"):
            _compile(model, _optimizer(config["learning_rates"][name], config))
            stopper = _early_stopping(config)
            callbacks.append(stopper)
        elif name == "head_first":
            base = kt_models.base_layer(model)
            base.trainable = False
            _compile(model, _optimizer(config["learning_rates"]["frozen"], config))
            head_stopper = _early_stopping(config)
            head_history = _fit(
                model, data.train, data.validation, data.kind, config, epochs, [head_stopper], verbose
            ).history
            extra["head_first_steps"] = [
                {"epoch": 0, "step": "new layers"},
                {"epoch": len(head_history["loss"]), "step": "all layers"},
            ]
            base.trainable = True
            _compile(model, _optimizer(config["learning_rates"]["finetune"], config))
            stopper = _early_stopping(config)
            callbacks.append(stopper)
        elif name == "chain_thaw":
            first_rate, later_rate = config["chain_thaw_learning_rates"]
            _compile(model, _optimizer(first_rate, config))
            chain_thaw = kt_callbacks.ChainThaw(
                new_layers=kt_models.head_layers(model),
                layers=kt_models.backbone_layers(model),
                epochs_per_step=config["chain_thaw_epochs_per_step"],
                patience=config["chain_thaw_patience"],
                monitor="val_loss",
                learning_rates=(first_rate, later_rate),
                verbose=1 if verbose >= 2 else 0,
            )
            callbacks.append(chain_thaw)
            epochs = len(chain_thaw.plan(model)) * config["chain_thaw_epochs_per_step"]
        elif name == "ulmfit":
            groups = _backbone_groups(model)
            epochs = config["ulmfit_epochs"]
            if data.kind == "arrays":
                steps_per_epoch = -(-len(data.train[1]) // config["batch_size"])
            else:
                steps_per_epoch = int(data.train.cardinality())
            schedule = kt_schedules.SlantedTriangular(config["ulmfit_max_learning_rate"], epochs * steps_per_epoch)
            optimizer = kt_optimizers.Discriminative(
                keras.optimizers.Adam(learning_rate=schedule, clipnorm=config["clipnorm"]),
                multipliers=kt_optimizers.geometric_multipliers(groups, decay=config["ulmfit_decay"]),
                strict=False,  # GradualUnfreezing rebuilds it over the groups unfrozen so far
            )
            _compile(model, optimizer)
            unfreezing = kt_callbacks.GradualUnfreezing(groups, every=1, verbose=1 if verbose >= 2 else 0)
            stopper = _early_stopping(config, patience=epochs)  # runs the whole schedule, keeps the best epoch
            callbacks += [unfreezing, stopper]
        else:
            raise ValueError(f"Unknown model: expected one of {MODELS + EXTRA_MODELS}. Received: {name!r}")
        history = _fit(model, data.train, data.validation, data.kind, config, epochs, callbacks, verbose)
        wall = time.perf_counter() - start
        if name == "head_first":  # one history over both stages
            history.history = {key: head_history.get(key, []) + values for key, values in history.history.items()}
        evaluated, test, test_kind = model, data.test, data.kind
        if name == "chain_thaw":
            steps = chain_thaw.steps_log
            extra["chain_thaw_steps"] = [
                {
                    "epoch": int(step["first_epoch"]),
                    "step": "new layers" if step["description"].startswith("new layers") else step["description"],
                    "last_epoch": int(step["last_epoch"]),
                    "best_epoch": None if step["best_epoch"] is None else int(step["best_epoch"]),
                    "learning_rate": step["learning_rate"],
                }
                for step in steps
            ]
            best_epoch = None if not steps or steps[-1]["best_epoch"] is None else steps[-1]["best_epoch"] + 1
        else:
            best_epoch = stopper.best_epoch + 1 + (len(head_history["loss"]) if name == "head_first" else 0)
            if name == "ulmfit":
                extra["unfreezing_steps"] = [
                    {"epoch": int(epoch), "step": f"top {count}/{len(groups)} groups"}
                    for epoch, count in unfreezing.unfreeze_log
                ]
    test_loss, test_accuracy, sample = _evaluate(evaluated, test, test_kind, config["sample_predictions"])
    counts = kt_models.parameter_counts(model)
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    row = {
        "model": name,
        "seed": int(seed),
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "epochs": len(per_epoch.get("loss", [])),
        "best_epoch": best_epoch,
        "wall_time_s": round(wall, 2),
        "trainable_params": counts["trainable"],
        "frozen_params": counts["frozen"],
    }
    return row, {**per_epoch, **extra}, sample


@contextlib.contextmanager
def _quiet_retracing_warnings():
    """Hides TensorFlow's "triggered tf.function retracing" warnings: every model here is new, so it traces anew."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains Models 1-4 (and Model 5) under `profile` and returns the results table and histories.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. The seeds (initialisation, batch order and, in quick, the 40/20 images
            drawn per class); None uses the profile's.
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("models-1-4", profile)`.
        verbose: int. 0 silent; 1 a line per model and seed; 2 also Keras's epoch lines and the callbacks' steps.
        **overrides: settings of the profile's config to change (`CONFIGS[profile]` lists them), e.g.
            `models=("frozen", "chain_thaw")`, `max_epochs=10`, `weights="vgg19.weights.h5"` (full),
            `path="/data/oxford17"` (full, an extracted copy), `cache_features=False`.

    Returns:
        An `ExperimentResult` with one row per model and seed and `histories["<model>/seed<seed>"]`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    unknown = [name for name in config["models"] if name not in MODELS + EXTRA_MODELS]
    if unknown or not config["models"]:
        raise ValueError(
            f"`models` must name some of {MODELS + EXTRA_MODELS}. Received: models={tuple(config['models'])!r}"
        )
    if config["cache_features"] and config.get("augment"):
        raise ValueError(
            "cache_features=True trains Model 2's head on features computed once, so no augmentation can run "
            f"through the base: pass augment=None or cache_features=False. Received: augment={config['augment']!r}"
        )
    seeds = tuple(config["seeds"] if seeds is None else seeds)
    if not seeds or any(
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0 for seed in seeds
    ):
        raise ValueError(f"`seeds` must be non-negative integers. Received: seeds={seeds!r}")
    start, cpu_start = time.perf_counter(), time.process_time()
    source, source_info = None, None
    if profile != "full":
        source_start = time.perf_counter()
        source = kt_models.pretrained_source_network(profile, seed=config["source_seed"], verbose=verbose)
        source_info = {
            **(kt_models.source_network_info(profile, seed=config["source_seed"]) or {}),
            "seconds_in_this_run": round(time.perf_counter() - source_start, 2),
        }
    rows, histories, predictions = [], {}, {}
    feature_memo = {}
    sizes, class_names = None, None
    for seed in seeds:
        data = _load_data(profile, config, int(seed), verbose)
        sizes, class_names = data.sizes, data.class_names
        for name in config["models"]:
            with _quiet_retracing_warnings():
                row, history, sample = _train_one(
                    name, int(seed), data, config, profile, source, feature_memo, verbose
                )
            rows.append(row)
            histories[f"{name}/seed{seed}"] = history
            predictions[f"{name}/seed{seed}"] = sample
            if verbose:
                print(
                    f"[{profile} seed {seed}] {TITLES[name]}: test accuracy {row['test_accuracy']:.4f}, "
                    f"test loss {row['test_loss']:.4f}, {row['epochs']} epochs, {row['wall_time_s']:.1f} s, "
                    f"{row['trainable_params']:,} trainable / {row['frozen_params']:,} frozen parameters",
                    flush=True,
                )
            keras.backend.clear_session()
    if profile == "full":
        sample_labels = []
        for _, labels in data.test:
            sample_labels += [int(label) for label in np.asarray(labels)]
            if len(sample_labels) >= config["sample_predictions"]:
                break
        sample_labels = sample_labels[: config["sample_predictions"]]
    else:
        sample_labels = [int(label) for label in data.test[1][: config["sample_predictions"]]]
    metadata = {
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "seeds": [int(seed) for seed in seeds],
        "titles": {name: TITLES[name] for name in config["models"]},
        "class_names": list(class_names),
        "sizes": sizes,
        "source_network": source_info,
        "cached_features": bool(config["cache_features"]) and "frozen" in config["models"],
        "sample_labels": sample_labels,
        "sample_predictions": predictions,
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "lecture_expects": "scratch < frozen < finetune <= chain_thaw (test accuracy)",
    }
    result = ExperimentResult(NAME, profile, rows, histories, metadata)
    result.save(output_dir if output_dir is not None else paths.results_dir(NAME, profile))
    return result
