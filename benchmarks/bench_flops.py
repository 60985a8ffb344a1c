"""Achieved FLOP/s of a training step of the quick profile's backbone, as a share of this machine's matmul peak.

The network is the quick profile's Model 3: the source network's backbone (`build_source_network` with the quick
settings: three VGG blocks of 2x16, 2x32, 2x64 3x3 convolutions on 32x32x3 images, cut at `block3_pool`), two dense
layers of 256 and a 5-class output, everything trainable, Adam with `clipnorm=1`, batch 32 (as the Models 1-4
experiment trains it). A second figure uses the source network's own pretraining (the whole network, batch 128).

FLOPs are counted analytically per layer (`training_flops`): a convolution or dense layer does
`2 * multiply-adds` in the forward pass, as many again for the gradient of its weights (when they train) and as
many again for the gradient of its input (when a layer before it trains). Biases, activations, pooling, the loss
and the optimizer's update are left out: they are elementwise and small next to the convolutions (so the count is
a slight underestimate and the percentage a slight underestimate too). On TensorFlow the forward count is
cross-checked against TensorFlow's own profiler (`tf.compat.v1.profiler`, which registers FLOPs for Conv2D and
MatMul) on the traced forward graph.

Peak: a large float32 matmul (`2 n^3` FLOPs, n = 2048) through `keras.ops.matmul`, timed in the same run,
interleaved with the training steps. The training step time is the median batch time of `fit()` (the first batch
of each `fit()` left out).

Headline: achieved training FLOP/s over the matmul's FLOP/s, in percent. No goal: reported.

Run: .venv/bin/python benchmarks/bench_flops.py [--smoke]
"""

import _common

NAME = "flops"
SIZES = {
    "smoke": {"matmul": 256, "steps": 3, "repeats": 1, "pretraining": False},
    "quick": {"matmul": 2048, "steps": 12, "repeats": 5, "pretraining": True},
}


def _leaf_layers(model):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def multiply_adds(layer):
    """Multiply-adds of one example through a Conv2D or Dense layer (0 for any other layer)."""
    import math

    import keras

    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, filters = layer.output.shape
        channels = layer.input.shape[-1]
        kernel = math.prod(layer.kernel_size)
        return int(height * width * kernel * (channels // layer.groups) * filters)
    if isinstance(layer, keras.layers.Dense):
        inner = math.prod(layer.input.shape[1:-1]) if len(layer.input.shape) > 2 else 1
        return int(inner * layer.input.shape[-1] * layer.units)
    return 0


def training_flops(model):
    """`{"forward": ..., "training": ..., "layers": [...]}`: FLOPs per example, counted per layer.

    Nested models (a backbone inside a classifier) are walked into. `training` is the forward pass plus the
    gradients of the trainable weights and of the inputs that a trainable layer before them needs.
    """
    total_forward = total_training = 0
    layers = []
    upstream_trainable = False
    for layer in _leaf_layers(model):
        macs = multiply_adds(layer)
        trains = bool(layer.trainable_weights)
        if macs:
            forward = 2 * macs
            training = forward + (forward if trains else 0) + (forward if upstream_trainable else 0)
            total_forward += forward
            total_training += training
            layers.append({"layer": layer.name, "forward": forward, "training": training})
        upstream_trainable = upstream_trainable or trains
    return {"forward": total_forward, "training": total_training, "layers": layers}


def profiler_forward_flops(model):
    """TensorFlow's profiler count of the forward graph's FLOPs for one example, or None off TensorFlow."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
    return int(profile.total_float_ops)


def quick_classifier(trainable=True):
    """The quick profile's Model 3 network (architecture; the weights do not change the FLOPs)."""
    import keras

    from keras_transfer import models as kt_models

    config = kt_models.SOURCE_CONFIGS["quick"]
    keras.utils.set_random_seed(0)
    source = kt_models.build_source_network(5, filters=config["filters"], fc_units=config["fc_units"])
    backbone = kt_models.source_backbone(source, pretrained=False)
    return kt_models.build_classifier(backbone, 5, head_units=(256, 256), dropout=0.5, base_trainable=trainable)


def main(args):
    import keras
    import numpy as np

    from keras_transfer import models as kt_models

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    rng = np.random.default_rng(0)

    def trainer(model, batch_size, learning_rate):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        count = batch_size * (size["steps"] + 1)
        x = rng.uniform(0, 255, size=(count, 32, 32, 3)).astype("float32")
        y = rng.integers(0, 5, size=count).astype("int32")

        def train():
            timer = _common.batch_timer()
            model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, callbacks=[timer], verbose=0)
            return {"step_s": _common.median(timer.steady_batches())}

        train()  # traces
        return train

    n = size["matmul"]
    a = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))
    b = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))

    def matmul():
        times = []
        for _ in range(3):
            with _common.Timer() as timer:
                keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0])
            times.append(timer.wall)
        return {"step_s": min(times)}

    matmul()  # warms the BLAS thread pool
    finetune = quick_classifier(trainable=True)
    variants = {"matmul": matmul, "finetune": trainer(finetune, 32, 1e-4)}
    if size["pretraining"]:
        config = kt_models.SOURCE_CONFIGS["quick"]
        keras.utils.set_random_seed(0)
        pretraining = kt_models.build_source_network(
            5, filters=config["filters"], fc_units=config["fc_units"], dropout=config["dropout"]
        )
        variants["pretraining"] = trainer(pretraining, config["batch_size"], config["learning_rate"])
    rounds = _common.interleave(variants, repeats)

    peak = [2 * n**3 / run["step_s"] for run in rounds["matmul"]["extra"]]
    counts = {"finetune": training_flops(finetune)}
    batches = {"finetune": 32}
    if "pretraining" in variants:
        counts["pretraining"] = training_flops(pretraining)
        batches["pretraining"] = kt_models.SOURCE_CONFIGS["quick"]["batch_size"]
    figures = {}
    for name, count in counts.items():
        achieved = [batches[name] * count["training"] / run["step_s"] for run in rounds[name]["extra"]]
        figures[name] = {
            "percent_of_peak": _common.spread([100 * x / p for x, p in zip(achieved, peak)], 2),
            "achieved_gflops": _common.spread([x / 1e9 for x in achieved], 2),
            "step_ms": _common.spread([1000 * run["step_s"] for run in rounds[name]["extra"]], 2),
            "batch_size": batches[name],
            "training_mflop_per_example": round(count["training"] / 1e6, 3),
            "forward_mflop_per_example": round(count["forward"] / 1e6, 3),
        }
    profiled = profiler_forward_flops(finetune)
    figures["finetune"]["profiler_forward_mflop_per_example"] = None if profiled is None else round(profiled / 1e6, 3)
    figures["finetune"]["layers_mflop"] = {
        layer["layer"]: [round(layer["forward"] / 1e6, 3), round(layer["training"] / 1e6, 3)]
        for layer in counts["finetune"]["layers"]
    }
    value = figures["finetune"]["percent_of_peak"]["median"]
    return {
        "benchmark": NAME,
        "value": value,
        "unit": "% of the float32 matmul peak (training step, quick profile's Model 3, batch 32)",
        "goal": None,
        "met": None,
        "matmul_size": n,
        "matmul_peak_gflops": _common.spread([p / 1e9 for p in peak], 2),
        **figures,
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
