"""Frozen-base head training: the plain Keras way against cached features.

Plain (the keras-io transfer-learning guide): the frozen base sits inside the model, called with `training=False`,
and `fit()` runs it on every image in every epoch. Cached (`keras_transfer.models.extract_features`, what the
Models 1-4 experiment does for Model 2 by default): the base's outputs for the training and validation images are
computed once and the same head (`classifier_head`) trains on them with `fit_on_features` (repeating tf.data
pipelines built once, so fit() does not make new iterators every epoch). Both train the quick profile's Model 2 (the
source network's backbone, frozen, + two dense layers + output) on the quick profile's data budget (40 training
and 20 validation images per class of half B of Fashion-MNIST) for the same 20 epochs, with the same head
initialisation, optimizer and batch size; both are tested on the quick profile's test images of half B
(`test_images` in the JSON line).

Headline: the wall time of the plain training divided by that of the cached one (feature extraction included),
median over interleaved rounds, printed beside `bound`, the ratio if only FLOPs counted (`flop_bound`, computed in
the same run). Goal: at least 80% of the bound at 20 epochs, with test accuracies within 1 point: the head
trained with fit() on the cached arrays (the same batch order as plain) must match plain, and the median test
accuracy of each way over the rounds (round r trains both with seed r + 1; `accuracy_over_seeds`: fit_on_features
shuffles in its own pipeline, so one run of each also compares two batch orders) must agree within 1 point.

What stops the goal is measured in the same run: `fixed_cost_bound`, plain divided by the cached training's fixed
costs (feature extraction, compile(), and fit()'s first epoch, which traces or XLA-compiles the head's train and
test functions: the cached training minus 20 times its median later epoch), is the ratio if every later cached
epoch cost nothing; and `epoch_ratio`, one later epoch plain / cached, beside `epoch_flop_bound`, the same in
FLOPs. Details: a third variant training the head with a plain `fit()` on the feature arrays (`cached_array_fit`),
and (quick only) the full profile's ratio projected from measured parts (`full_profile_projection`, TensorFlow
only: VGG19 at 224x224 is minutes of CPU on JAX). Runs on TensorFlow and JAX (`KERAS_BACKEND`). See
benchmarks/README.md.

Run: .venv/bin/python benchmarks/bench_frozen_features.py [--smoke]
"""

import time

import _common

NAME = "frozen_features"
BACKENDS = ("tensorflow", "jax")  # benchmarks/run_all.py runs it on both
GOAL = 0.8  # of the FLOP bound
SIZES = {  # round r trains with seed r + 1: the rounds are also the seeds of the accuracy check
    "smoke": {"profile": "smoke", "epochs": 3, "repeats": 2, "warmup": False, "projection": False},
    "quick": {"profile": "quick", "epochs": 20, "repeats": 3, "warmup": True, "projection": True},
}


def source_network():
    """The quick profile's pretrained source network if it is cached, else its architecture with random weights.

    Returns `(model, description)`. The times do not depend on the weights; the accuracies do (both variants of a
    benchmark share them, so their comparison stays fair). Training the source network here would take minutes,
    so it is never done.
    """
    import keras

    from keras_transfer import models as kt_models

    if kt_models.source_network_path("quick").exists():
        return kt_models.pretrained_source_network("quick", verbose=0), "pretrained (quick profile, cached)"
    config = kt_models.SOURCE_CONFIGS["quick"]
    keras.utils.set_random_seed(0)
    network = kt_models.build_source_network(5, filters=config["filters"], fc_units=config["fc_units"])
    return network, "random (the quick source network's architecture; its cache was not found)"


def flop_bound(model_builder, train_images, validation_images, epochs):
    """The ratio the two ways would reach if only FLOPs counted (no per-step or per-epoch overhead).

    Plain: every epoch runs the base forward and the head (training on the training images, forward on the
    validation images). Cached: the base forward once on both, then the head every epoch. Counted per layer with
    `bench_flops.training_flops`.
    """
    from bench_flops import training_flops

    from keras_transfer import models as kt_models

    model = model_builder()
    head = kt_models.classifier_head(model)
    whole, head_only = training_flops(model), training_flops(head)
    base_forward = whole["forward"] - head_only["forward"]
    plain = epochs * (train_images * whole["training"] + validation_images * whole["forward"])
    cached = (train_images + validation_images) * base_forward + epochs * (
        train_images * head_only["training"] + validation_images * head_only["forward"]
    )
    plain_epoch = train_images * whole["training"] + validation_images * whole["forward"]
    cached_epoch = train_images * head_only["training"] + validation_images * head_only["forward"]
    return {
        "ratio": round(plain / cached, 2),
        "epoch_ratio": round(plain_epoch / cached_epoch, 2),
        "base_forward_mflop_per_image": round(base_forward / 1e6, 3),
        "head_training_mflop_per_image": round(head_only["training"] / 1e6, 3),
    }


def epoch_timer():
    """A Keras callback that records every epoch's wall time (training and validation) in `seconds`.

    Epoch hooks only, not `_common.batch_timer`: its per-batch hooks would add their own cost to every timed step.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._begin = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._begin)

    return EpochTimer()


def epoch_steady(seconds):
    """The median epoch after the first (which traces), from `epoch_timer().seconds`."""
    return _common.median(seconds[1:] or seconds)


def full_profile_projection(epochs, repeats=2):
    """The full profile's ratio (VGG19 at 224x224, 680 training and 340 validation images, batch 32), projected
    from two measured parts: the base's forward time per image and the time of one head epoch on cached features.

    Running the plain way there for 20 epochs would take hours on a CPU, so this is a projection, not a
    side-by-side measurement: plain = epochs x (images x base time + head epoch), cached = images x base time +
    epochs x head epoch.
    """
    import keras
    import numpy as np

    from keras_transfer import models as kt_models

    train_images, validation_images, batch_size = 680, 340, 32
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)

    def build():
        return kt_models.build_vgg19_classifier(17, weights=None, base_trainable=False)

    model = build()
    base = kt_models.base_layer(model)
    images = rng.uniform(-120, 120, size=(8, 224, 224, 3)).astype("float32")
    kt_models.extract_features(base, images[:8], batch_size=8)  # traces
    base_times = []
    for _ in range(repeats):
        with _common.Timer() as timer:
            kt_models.extract_features(base, images, batch_size=8)
        base_times.append(timer.wall / len(images))
    head = kt_models.classifier_head(model)
    head.compile(keras.optimizers.Adam(1e-3, clipnorm=1.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    shape = base.output_shape[1:]
    x_train = rng.uniform(0, 10, size=(train_images, *shape)).astype("float32")
    y_train = rng.integers(0, 17, size=train_images).astype("int32")
    x_val = rng.uniform(0, 10, size=(validation_images, *shape)).astype("float32")
    y_val = rng.integers(0, 17, size=validation_images).astype("int32")
    kt_models.fit_on_features(head, (x_train, y_train), (x_val, y_val), batch_size=batch_size, epochs=1)
    with _common.Timer() as timer:
        kt_models.fit_on_features(head, (x_train, y_train), (x_val, y_val), batch_size=batch_size, epochs=repeats)
    head_epoch = timer.wall / repeats
    base_image = _common.median(base_times)
    images_per_epoch = train_images + validation_images
    plain = epochs * (images_per_epoch * base_image + head_epoch)
    cached = images_per_epoch * base_image + epochs * head_epoch
    bound = flop_bound(build, train_images, validation_images, epochs)
    keras.backend.clear_session(free_memory=False)
    return {
        "what": "projected from measured parts, not measured side by side (see full_profile_projection)",
        "ratio": round(plain / cached, 2),
        "base_ms_per_image": round(1000 * base_image, 2),
        "head_epoch_s": round(head_epoch, 3),
        "projected_plain_s": round(plain, 1),
        "projected_cached_s": round(cached, 1),
        "flop_bound": bound,
    }


def main(args):
    import keras

    from keras_transfer import models as kt_models
    from keras_transfer.experiments import models_1_4

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    projection = size["projection"] and keras.backend.backend() == "tensorflow"
    config = models_1_4.CONFIGS[size["profile"]]
    data = models_1_4.load_target_data(size["profile"], seed=0)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.validation, data.test
    source, weights = source_network()
    batch_size = config["batch_size"]

    def build(seed=0):
        backbone = kt_models.source_backbone(source, pretrained=True)
        keras.utils.set_random_seed(seed)  # the same head initialisation and dropout for both ways
        return kt_models.build_classifier(
            backbone,
            len(data.class_names),
            head_units=tuple(config["head_units"]),
            dropout=config["dropout"],
            base_trainable=False,
        )

    def compile_(model):
        optimizer = keras.optimizers.Adam(config["learning_rate"], clipnorm=config["clipnorm"])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def fit(model, x, y, validation, epochs, callbacks=None):
        model.fit(
            x, y, batch_size=batch_size, epochs=epochs, validation_data=validation, shuffle=True, verbose=0,
            callbacks=callbacks,
        )

    def plain(epochs, seed=0):
        model = build(seed)
        timer = epoch_timer()
        with _common.Timer() as train:
            compile_(model)
            fit(model, x_train, y_train, (x_val, y_val), epochs, [timer])
        with _common.Timer() as test:
            _, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        keras.backend.clear_session(free_memory=False)
        return {"train_s": train.wall, "train_cpu_s": train.cpu, "test_s": test.wall, "test_accuracy": accuracy,
                "epoch_s": timer.seconds}

    def cached(epochs, array_fit=False, seed=0):
        """What the Models 1-4 experiment does: features once, then `fit_on_features` (or, with `array_fit`, the
        head's plain `fit()` on the feature arrays, which makes two tf.data iterators every epoch)."""
        model = build(seed)
        timer = epoch_timer()
        with _common.Timer() as extract:
            base = kt_models.base_layer(model)
            train_features = kt_models.extract_features(base, x_train)
            val_features = kt_models.extract_features(base, x_val)
        with _common.Timer() as head_train:
            head = kt_models.classifier_head(model)
            compile_(head)
            if array_fit:
                fit(head, train_features, y_train, (val_features, y_val), epochs, [timer])
            else:
                kt_models.fit_on_features(
                    head, (train_features, y_train), (val_features, y_val), batch_size=batch_size, epochs=epochs,
                    callbacks=[timer],
                )
        with _common.Timer() as test:
            test_features = kt_models.extract_features(base, x_test)
            _, accuracy = head.evaluate(test_features, y_test, batch_size=256, verbose=0)
        keras.backend.clear_session(free_memory=False)
        return {
            "train_s": extract.wall + head_train.wall,
            "train_cpu_s": extract.cpu + head_train.cpu,
            "extract_s": extract.wall,
            "head_fit_s": head_train.wall,
            "test_s": test.wall,
            "test_accuracy": accuracy,
            "epoch_s": timer.seconds,
        }

    if size["warmup"]:  # TensorFlow's first graphs and thread pools, outside the measurement
        plain(1)
        cached(1)

    def seeded(run, **kwargs):
        """`run` with seed r + 1 in round r (each variant runs once per round)."""
        seeds = iter(range(1, repeats + 1))
        return lambda: run(epochs, seed=next(seeds), **kwargs)

    epochs = size["epochs"]
    rounds = _common.interleave(
        {"plain": seeded(plain), "cached": seeded(cached), "cached_array_fit": seeded(cached, array_fit=True)},
        repeats,
    )
    plain_runs = rounds["plain"]["extra"]
    cached_runs = rounds["cached"]["extra"]
    array_fit_runs = rounds["cached_array_fit"]["extra"]
    ratios = _common.paired_ratios([r["train_s"] for r in plain_runs], [r["train_s"] for r in cached_runs])
    cpu_ratios = _common.paired_ratios([r["train_cpu_s"] for r in plain_runs], [r["train_cpu_s"] for r in cached_runs])
    end_to_end = _common.paired_ratios(
        [r["train_s"] + r["test_s"] for r in plain_runs], [r["train_s"] + r["test_s"] for r in cached_runs]
    )
    array_fit_ratios = _common.paired_ratios([r["train_s"] for r in plain_runs], [r["train_s"] for r in array_fit_runs])
    array_fit_cpu_ratios = _common.paired_ratios(
        [r["train_cpu_s"] for r in plain_runs], [r["train_cpu_s"] for r in array_fit_runs]
    )
    # The array fit trains the head on the plain way's batches in the plain way's order (same seed): the same
    # model, so the same test accuracy. fit_on_features shuffles in its own pipeline, so one run of it against one
    # plain run compares two batch orders as much as two ways; its accuracy is compared over the rounds' seeds
    # (head initialisation, dropout and order all change with the seed): median test accuracy of each way.
    array_fit_gaps = [abs(p["test_accuracy"] - c["test_accuracy"]) * 100 for p, c in zip(plain_runs, array_fit_runs)]
    plain_accuracies = [float(r["test_accuracy"]) for r in plain_runs]
    cached_accuracies = [float(r["test_accuracy"]) for r in cached_runs]
    seed_gap = abs(_common.median(plain_accuracies) - _common.median(cached_accuracies)) * 100
    value = _common.median(ratios)
    bound = flop_bound(build, len(y_train), len(y_val), epochs)
    # What is left when the cached head's epochs cost nothing: the feature extraction, compile(), and fit()'s
    # fixed costs (above all its first epoch's tracing or XLA compilation of the train and test functions), i.e.
    # the cached training minus (epochs x its median epoch after the first). No way that trains the head through
    # Keras's compiled train function can beat plain / that.
    fixed = [r["train_s"] - epochs * epoch_steady(r["epoch_s"]) for r in cached_runs]
    fixed_cost_bound = _common.paired_ratios([r["train_s"] for r in plain_runs], fixed)
    epoch_ratios = _common.paired_ratios(
        [epoch_steady(r["epoch_s"]) for r in plain_runs], [epoch_steady(r["epoch_s"]) for r in cached_runs]
    )
    # the same array-fit model, and over the seeds the medians within 1 point
    same_accuracy = max(array_fit_gaps) <= 1.0 and seed_gap <= 1.0
    return {
        "benchmark": NAME,
        "value": round(value, 2),
        "bound": bound["ratio"],
        "share_of_bound": round(value / bound["ratio"], 3),
        "unit": "x (plain wall time / cached wall time); bound: the same ratio if only FLOPs counted",
        "goal": f">= {GOAL:.0%} of the FLOP bound at 20 epochs, test accuracies within 1 point (median over seeds)",
        "met": bool(value >= GOAL * bound["ratio"] and same_accuracy and epochs == 20),
        "fixed_cost_bound": _common.spread(fixed_cost_bound, 2),
        "share_of_fixed_cost_bound": round(value / _common.median(fixed_cost_bound), 3),
        "fixed_cost_bound_what": (
            "plain / (the cached training's fixed costs: extraction, compile(), fit()'s start and first-epoch "
            "tracing; = cached train_s - epochs x its median later epoch): the ratio if every cached epoch after "
            "the tracing cost nothing. Below 80% of `bound`, the goal cannot be met by cutting per-step overhead."
        ),
        "cached_fixed_s": _common.spread(fixed, 3),
        "epoch_ratio": _common.spread(epoch_ratios, 2),
        "epoch_flop_bound": bound["epoch_ratio"],
        "epoch_what": "one epoch after the first (median), plain / cached, beside the same ratio in FLOPs",
        "epoch_s": {
            "plain": _common.spread([epoch_steady(r["epoch_s"]) for r in plain_runs], 4),
            "cached": _common.spread([epoch_steady(r["epoch_s"]) for r in cached_runs], 4),
        },
        "epochs": epochs,
        "train_images": int(len(y_train)),
        "validation_images": int(len(y_val)),
        "test_images": int(len(y_test)),
        "batch_size": batch_size,
        "source_weights": weights,
        "ratio_rounds": _common.spread(ratios, 3),
        "cpu_time_ratio": _common.spread(cpu_ratios, 3),
        "ratio_with_test_evaluation": _common.spread(end_to_end, 3),
        "plain_train_s": _common.spread([r["train_s"] for r in plain_runs], 3),
        "cached_train_s": _common.spread([r["train_s"] for r in cached_runs], 3),
        "cached_extract_s": _common.spread([r["extract_s"] for r in cached_runs], 3),
        "cached_head_fit_s": _common.spread([r["head_fit_s"] for r in cached_runs], 3),
        "accuracy_over_seeds": {
            "what": "test accuracy of each way over the rounds' seeds (head initialisation, dropout, batch order)",
            "seeds": list(range(1, repeats + 1)),
            "plain": [round(a, 4) for a in plain_accuracies],
            "cached": [round(a, 4) for a in cached_accuracies],
            "median_gap_points": round(seed_gap, 2),
        },
        "cached_array_fit": {
            "what": "cached features, but the head's plain fit() on arrays (two new tf.data iterators per epoch)",
            "ratio": _common.spread(array_fit_ratios, 3),
            "cpu_time_ratio": _common.spread(array_fit_cpu_ratios, 3),
            "train_s": _common.spread([r["train_s"] for r in array_fit_runs], 3),
            "test_accuracy": [round(float(r["test_accuracy"]), 4) for r in array_fit_runs],
            "max_accuracy_gap_points": round(max(array_fit_gaps), 2),
        },
        "flop_bound": bound,
        **({"full_profile_projection": full_profile_projection(epochs)} if projection else {}),
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
