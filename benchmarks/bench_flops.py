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

Peak: a large float32 matmul (`2 n^3` FLOPs, n = 1024, as fast per FLOP as larger ones on this machine and about
as long as a training step) through `keras.ops.matmul`, measured in the same run. One matmul and one training step
(`train_on_batch`, traced beforehand) run in turn, `repeats` times, so each step is paired with a matmul measured
at nearly the same moment; the per-pair percentages give the median (and a bootstrap 95% interval).
`best_step_over_best_matmul_pct` is the same figure from the fastest step and the fastest matmul.

Headline: achieved training FLOP/s over the matmul's FLOP/s, in percent. No goal: reported.

Run: .venv/bin/python benchmarks/bench_flops.py [--smoke]
"""

import _common

NAME = "flops"
SIZES = {
    "smoke": {"matmul": 256, "repeats": 4, "pretraining": False},
    "quick": {"matmul": 1024, "repeats": 40, "pretraining": True},
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
        """A function running one training step (`train_on_batch`) of `model`, traced beforehand."""
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        x = rng.uniform(0, 255, size=(batch_size, 32, 32, 3)).astype("float32")
        y = rng.integers(0, 5, size=batch_size).astype("int32")
        for _ in range(3):
            model.train_on_batch(x, y)
        return lambda: model.train_on_batch(x, y)

    n = size["matmul"]
    a = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))
    b = keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))

    def matmul():
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0])

    for _ in range(3):
        matmul()  # warms the thread pool
    finetune = quick_classifier(trainable=True)
    steps = {"matmul": matmul, "finetune": trainer(finetune, 32, 1e-4)}
    config = kt_models.SOURCE_CONFIGS["quick"]
    batches = {"finetune": 32}
    counts = {"finetune": training_flops(finetune)}
    if size["pretraining"]:
        keras.utils.set_random_seed(0)
        pretraining = kt_models.build_source_network(
            5, filters=config["filters"], fc_units=config["fc_units"], dropout=config["dropout"]
        )
        steps["pretraining"] = trainer(pretraining, config["batch_size"], config["learning_rate"])
        batches["pretraining"] = config["batch_size"]
        counts["pretraining"] = training_flops(pretraining)

    # One matmul and one step of each training in turn (the order alternating), so each step is paired with a
    # matmul measured at nearly the same moment.
    times = {name: [] for name in steps}
    names = list(steps)
    for index in range(repeats):
        for name in names if index % 2 == 0 else names[::-1]:
            with _common.Timer() as timer:
                steps[name]()
            times[name].append(timer.wall)

    peak = [2 * n**3 / t for t in times["matmul"]]
    best_peak = max(peak)
    figures = {}
    for name, count in counts.items():
        flops = batches[name] * count["training"]
        achieved = [flops / t for t in times[name]]
        shares = [100 * x / p for x, p in zip(achieved, peak)]
        figures[name] = {
            "percent_of_peak": _common.spread(shares, 2),
            "percent_of_peak_ci95": [round(x, 2) for x in _common.bootstrap_ci(shares)],
            "best_step_over_best_matmul_pct": round(100 * max(achieved) / best_peak, 2),
            "achieved_gflops": _common.spread([x / 1e9 for x in achieved], 2),
            "step_ms": _common.spread([1000 * t for t in times[name]], 2),
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
        "pairs": repeats,
        "matmul_size": n,
        "matmul_gflops": _common.spread([p / 1e9 for p in peak], 2),
        **figures,
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
