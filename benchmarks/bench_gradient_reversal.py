"""`GradientReversal` against an identity layer in the same model: the training-step overhead.

The model is the DANN experiment's (`keras_transfer.models.dann.build_mnist_dann`: the paper's MNIST network,
28x28x3 images, a label head and a domain head behind the gradient reversal), compiled as the experiment does
(`compile_dann`, SGD with momentum 0.9 and `InverseProgressDecay`), on batches from `pair_domains` at the quick
profile's batch size of 128. The second model is the same network with the same initial weights and
`keras.layers.Identity` in place of `GradientReversal` (forward and backward both pass through).

The two models train on the same batches, one `train_on_batch` step each in turn (the order alternating every
pair), for `steps x repeats` pairs after a warm-up; each step is timed. Headline: the median over pairs of
(GradientReversal step time / identity step time). Goal: at most 1.03 (3% overhead). The per-batch strength
assignment of `GradientReversalSchedule` (a callback, one variable assignment per batch) is not part of the layer
and not measured here.

Run: .venv/bin/python benchmarks/bench_gradient_reversal.py [--smoke]
"""

import numpy as np

import _common

NAME = "gradient_reversal"
BACKENDS = ("tensorflow", "jax")  # benchmarks/run_all.py runs it on both
GOAL = 1.03
SIZES = {
    "smoke": {"images": 256, "batch_size": 64, "steps": 3, "repeats": 2},
    "quick": {"images": 4096, "batch_size": 128, "steps": 16, "repeats": 4},
}


def main(args):
    import keras

    from keras_transfer import schedules as kt_schedules
    from keras_transfer.models import dann

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    rng = np.random.default_rng(0)
    shape = (28, 28, 3)
    x_source = rng.integers(0, 256, size=(size["images"], *shape), dtype=np.uint8)
    y_source = rng.integers(0, 10, size=size["images"]).astype("int32")
    x_target = rng.integers(0, 256, size=(size["images"], *shape), dtype=np.uint8)
    keras.utils.set_random_seed(0)
    train = dann.pair_domains((x_source, y_source), x_target, size["batch_size"], seed=0)
    train = train.take(size["steps"])  # the same batches every round, kept in memory below

    def compiled(model):
        total_steps = size["steps"] * (repeats + 1)
        schedule = kt_schedules.InverseProgressDecay(0.01, total_steps=total_steps, alpha=10.0, beta=0.75)
        return dann.compile_dann(model, keras.optimizers.SGD(schedule, momentum=0.9))

    def with_reversal():
        keras.utils.set_random_seed(0)
        return dann.build_mnist_dann(shape, 10, strength=1.0, name="dann_reversal")

    def with_identity():
        keras.utils.set_random_seed(0)
        reference = dann.build_mnist_dann(shape, 10, strength=1.0, name="dann_reference")
        inputs = keras.Input(shape, name="images")
        features = reference.get_layer(dann.FEATURE_EXTRACTOR)(inputs)
        labels = reference.get_layer(dann.LABEL_CLASSIFIER)(features)
        passed = keras.layers.Identity(name="identity")(features)
        domains = reference.get_layer(dann.DOMAIN_CLASSIFIER)(passed)
        return keras.Model(inputs, {dann.LABEL_OUTPUT: labels, dann.DOMAIN_OUTPUT: domains}, name="dann_identity")

    models = {"gradient_reversal": compiled(with_reversal()), "identity": compiled(with_identity())}
    if models["identity"].count_params() + 1 != models["gradient_reversal"].count_params():  # + the strength
        raise RuntimeError("The identity variant is not the same network as the gradient reversal one.")
    batches = [
        (np.asarray(x), {k: np.asarray(v) for k, v in y.items()}, {k: np.asarray(v) for k, v in w.items()})
        for x, y, w in train
    ]
    for model in models.values():  # traces the train functions, warms the thread pools
        for x, y, w in batches[:3]:
            model.train_on_batch(x, y, sample_weight=w)

    names = list(models)
    times = {name: {"wall": [], "cpu": []} for name in names}
    for round_index in range(repeats):
        for step, (x, y, w) in enumerate(batches):
            order = names if (round_index + step) % 2 == 0 else names[::-1]
            for name in order:
                with _common.Timer() as timer:
                    models[name].train_on_batch(x, y, sample_weight=w)
                times[name]["wall"].append(timer.wall)
                times[name]["cpu"].append(timer.cpu)
    ratios = _common.paired_ratios(times["gradient_reversal"]["wall"], times["identity"]["wall"])
    cpu_ratios = _common.paired_ratios(times["gradient_reversal"]["cpu"], times["identity"]["cpu"])
    value = _common.median(ratios)
    medians = {name: _common.median(times[name]["wall"]) for name in names}
    return {
        "benchmark": NAME,
        "value": round(value, 4),
        "unit": "x training-step time (GradientReversal / identity)",
        "goal": f"<= {GOAL:g} (at most 3% overhead)",
        "met": bool(value <= GOAL),
        "overhead_pct": round(100 * (value - 1), 2),
        "ratio_ci95": [round(x, 4) for x in _common.bootstrap_ci(ratios)],
        "pairs": len(ratios),
        "pair_ratio_quartiles": [round(float(q), 4) for q in np.quantile(ratios, [0.25, 0.5, 0.75])],
        "ratio_of_median_steps": round(medians["gradient_reversal"] / medians["identity"], 4),
        "cpu_time_ratio": round(_common.median(cpu_ratios), 4),
        "cpu_time_ratio_ci95": [round(x, 4) for x in _common.bootstrap_ci(cpu_ratios)],
        "step_ms": {name: round(1000 * medians[name], 2) for name in names},
        "batch_size": size["batch_size"],
        "image_shape": list(shape),
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
