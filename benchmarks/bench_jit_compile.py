"""`jit_compile` (XLA) on and off for the quick profile's training on CPU.

Two trainings of the quick profile, each compiled once with `jit_compile=True` and once with `jit_compile=False`,
fresh models, interleaved rounds:

- Models 1-4 (headline): the quick profile's Model 3 network (the source network's backbone + two dense layers +
  output, everything trainable), Adam with `clipnorm=1`, 40 training and 20 validation images per class of half B
  of Fashion-MNIST, batch 32, 20 epochs with validation. The wall time of `compile()` + `fit()`, so the first
  epoch's tracing and XLA compilation count: each model of the experiment pays them once.
- Source pretraining (detail): the source network trained at batch 128 as `pretrained_source_network("quick")`
  does; the median step time after the first (compilation) step, and the first step's time.

Headline: wall time with `jit_compile=True` over wall time with `jit_compile=False` (below 1: XLA is faster).
The faster setting should be the default; `default` tells what the project's trainings use today: they do not pass
`jit_compile`, so Keras's `compile(jit_compile="auto")` decides, which is off on a TensorFlow machine with only
CPUs (and on on JAX, where every train step is jitted anyway).

Run: .venv/bin/python benchmarks/bench_jit_compile.py [--smoke]
"""

import _common
from bench_frozen_features import source_network

NAME = "jit_compile"
SIZES = {
    # smoke skips the validation and the pretraining figure (each costs one more XLA compilation) and uses a
    # one-block network: XLA compiles the quick network's training in tens of seconds
    "smoke": {"profile": "smoke", "epochs": 2, "validation": False, "pretraining_steps": None, "repeats": 1,
              "tiny": True},
    "quick": {"profile": "quick", "epochs": 20, "validation": True, "pretraining_steps": 12, "repeats": 1,
              "tiny": False},
}


def auto_jit_default(model):
    """What `jit_compile="auto"` (the project's trainings' setting) resolves to for `model` on this machine."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return bool(model.jit_compile)


def pretraining_figures(extra, batch_size):
    return {
        "batch_size": batch_size,
        "steady_step_ratio": _common.spread(
            _common.paired_ratios(extra("pretraining_jit_on", "step_s"), extra("pretraining_jit_off", "step_s")), 3
        ),
        "step_ms_jit_off": _common.spread([1000 * t for t in extra("pretraining_jit_off", "step_s")], 2),
        "step_ms_jit_on": _common.spread([1000 * t for t in extra("pretraining_jit_on", "step_s")], 2),
        "first_step_s_jit_off": _common.spread(extra("pretraining_jit_off", "first_step_s"), 3),
        "first_step_s_jit_on": _common.spread(extra("pretraining_jit_on", "first_step_s"), 3),
    }


def main(args):
    import keras
    import numpy as np

    from keras_transfer import models as kt_models
    from keras_transfer.experiments import models_1_4

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    config = models_1_4.CONFIGS[size["profile"]]
    data = models_1_4.load_target_data(size["profile"], seed=0)
    (x_train, y_train), validation = data.train, data.validation
    if size["tiny"]:
        keras.utils.set_random_seed(0)
        source = kt_models.build_source_network(5, filters=(4,), fc_units=8)
        weights = "random (a one-block network: smoke)"
    else:
        source, weights = source_network()
    source_config = kt_models.SOURCE_CONFIGS["quick"]
    rng = np.random.default_rng(0)
    pretraining_batch = source_config["batch_size"]
    count = pretraining_batch * ((size["pretraining_steps"] or 1) + 1)
    x_source = rng.uniform(0, 255, size=(count, 32, 32, 3)).astype("float32")
    y_source = rng.integers(0, 5, size=count).astype("int32")

    def finetune(jit):
        def run():
            keras.utils.set_random_seed(0)
            backbone = kt_models.source_backbone(source, pretrained=True)
            model = kt_models.build_classifier(
                backbone, len(data.class_names), head_units=tuple(config["head_units"]), dropout=config["dropout"]
            )
            timer = _common.batch_timer()
            with _common.Timer() as total:
                model.compile(
                    optimizer=keras.optimizers.Adam(config["fine_tune_learning_rates"][0], clipnorm=config["clipnorm"]),
                    loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"],
                    jit_compile=jit,
                )
                model.fit(
                    x_train, y_train, batch_size=config["batch_size"], epochs=size["epochs"],
                    validation_data=validation if size["validation"] else None, callbacks=[timer], shuffle=True,
                    verbose=0,
                )
            first_epoch = timer.epochs[0]["end"] - timer.epochs[0]["begin"]
            later = [epoch["end"] - epoch["begin"] for epoch in timer.epochs[1:]]
            keras.backend.clear_session(free_memory=False)
            return {"total_s": total.wall, "first_epoch_s": first_epoch, "epoch_s": _common.median(later),
                    "step_s": _common.median(timer.steady_batches())}

        return run

    def pretraining(jit):
        def run():
            keras.utils.set_random_seed(0)
            model = kt_models.build_source_network(
                5, filters=source_config["filters"], fc_units=source_config["fc_units"],
                dropout=source_config["dropout"],
            )
            model.compile(
                optimizer=keras.optimizers.Adam(source_config["learning_rate"]),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=jit,
            )
            timer = _common.batch_timer()
            model.fit(x_source, y_source, batch_size=pretraining_batch, epochs=1, callbacks=[timer], verbose=0)
            keras.backend.clear_session(free_memory=False)
            return {"first_step_s": timer.epochs[0]["batches"][0], "step_s": _common.median(timer.steady_batches())}

        return run

    variants = {"finetune_jit_off": finetune(False), "finetune_jit_on": finetune(True)}
    if size["pretraining_steps"]:
        pretraining(False)()  # TensorFlow's start-up (thread pools, first graphs) outside the measurement
        variants.update({"pretraining_jit_off": pretraining(False), "pretraining_jit_on": pretraining(True)})
    rounds = _common.interleave(variants, repeats)

    def extra(name, key):
        return [run[key] for run in rounds[name]["extra"]]

    ratios = _common.paired_ratios(extra("finetune_jit_on", "total_s"), extra("finetune_jit_off", "total_s"))
    value = _common.median(ratios)
    faster = "jit_compile=True" if value < 1 else "jit_compile=False"
    keras.utils.set_random_seed(0)
    default = auto_jit_default(kt_models.build_source_network(5))
    default_name = f"jit_compile={default}"
    return {
        "benchmark": NAME,
        "value": round(value, 3),
        "unit": "x wall time (jit_compile=True / jit_compile=False), quick Models 1-4 training",
        "goal": "the faster setting is the default",
        "met": bool(faster == default_name),
        "faster": faster,
        "default": default_name + ' (the project passes no jit_compile: Keras\'s compile(jit_compile="auto"))',
        "epochs": size["epochs"],
        "train_images": int(len(y_train)),
        "source_weights": weights,
        "ratio_rounds": _common.spread(ratios, 3),
        "steady_step_ratio": _common.spread(
            _common.paired_ratios(extra("finetune_jit_on", "step_s"), extra("finetune_jit_off", "step_s")), 3
        ),
        "epoch_ratio_after_first": _common.spread(
            _common.paired_ratios(extra("finetune_jit_on", "epoch_s"), extra("finetune_jit_off", "epoch_s")), 3
        ),
        "first_epoch_s": {
            "jit_off": _common.spread(extra("finetune_jit_off", "first_epoch_s"), 3),
            "jit_on": _common.spread(extra("finetune_jit_on", "first_epoch_s"), 3),
        },
        "total_s": {
            "jit_off": _common.spread(extra("finetune_jit_off", "total_s"), 3),
            "jit_on": _common.spread(extra("finetune_jit_on", "total_s"), 3),
        },
        **({"pretraining": pretraining_figures(extra, pretraining_batch)} if size["pretraining_steps"] else {}),
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
