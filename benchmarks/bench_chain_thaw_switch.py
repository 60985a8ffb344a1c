"""Chain-thaw's step switches: `ChainThaw` inside one `fit()` against rebuilding and recompiling for each step.

Both ways train the quick profile's Model 4 (the source network's backbone + two dense layers + output, on 40
training and 20 validation images per class of half B of Fashion-MNIST) through the same chain-thaw plan: the new
layers, each backbone layer alone, then everything; each step `epochs_per_step` epochs (patience as large, so both
ways run the same epochs), Adam with `clipnorm=1`, learning rate 1e-3 then 1e-4, each step restoring its best
weights.

- `ChainThaw`: one `compile()` and one `fit()`; the callback switches steps between epochs.
- Rebuild (DeepMoji's way): for each step, set the `trainable` flags, `compile()` a new Adam, `fit()` with
  `EarlyStopping(restore_best_weights=True)`.

How the switch is measured (the same for both ways, from a timing callback's timestamps): at every switch,
(a) the gap from the end of the last validation of a step to the start of the first batch of the next step,
minus the median gap between two epochs of one step (the per-epoch work both ways do anyway): the callback's step
change, or `fit()` returning, `compile()` and `fit()` starting again; (b) the first training batch of the new step
minus the median first batch of an epoch inside a step: the retrace of the train function; (c) the validation
of that epoch minus the median validation: a retrace of the test function. The switch share is their sum over
all switches divided by the whole training time (compile and fit). The first step's set-up is not a switch.

Headline: ChainThaw's cost of each switch in units of one trace of the same model's train function for the same
trainable set, measured in the same round (median over the switches of all rounds): the model is compiled and fit for
an epoch, then for every step after the first it gets that step's layers trainable, a fresh optimizer built over them
(as ChainThaw builds it, outside the trace) and a new train function, and is fit for two epochs of two full batches
(no validation, no short last batch); the first batch of the first epoch minus the first batch of the second is one
trace. (Compiling afresh instead would also create the optimizer's and the metrics' variables inside the trace, which
on TensorFlow costs more than the trace itself.) Set by set, because one set's trace takes several times another's (on
JAX the whole model's XLA compilation 2-3 times a single layer's). Beside it: `seconds_per_switch` (the sum above over
the switches divided by their number, median over rounds) and `trace_seconds` (the mean trace over the same sets,
median over rounds), `ratio_of_means`, the one divided by the other, and `switch_in_traces_by_set_cpu`, the headline
in this process's CPU time (less sensitive than wall time to the load of other processes). One trace per step is what
Keras 3 needs for a changed trainable set, so the floor is 1.0; goal: at most 1.5. (A batch of another size, such as
the short last batch of an epoch, is another trace on JAX and with XLA; in ChainThaw's fit it falls inside the epoch,
not at its start, and is not counted.) Details: the share of the training time spent switching, the rebuild way's
figures (TensorFlow only), and on TensorFlow the same with `jit_compile=True` (XLA: every trace is an XLA compilation;
one round, fewer steps). Runs on TensorFlow and JAX (`KERAS_BACKEND`).

Run: .venv/bin/python benchmarks/bench_chain_thaw_switch.py [--smoke]
"""

import time

import _common
from bench_frozen_features import source_network

NAME = "chain_thaw_switch"
BACKENDS = ("tensorflow", "jax")  # benchmarks/run_all.py runs it on both
GOAL = 1.5  # traces of the train function per switch; the floor is 1
SIZES = {
    # smoke thaws only the last backbone layer alone (3 steps: new layers, block3_conv2, all), to stay fast
    # (and leaves out the XLA case: its compilations would take most of the smoke run)
    "smoke": {"profile": "smoke", "epochs_per_step": 2, "repeats": 1, "warmup": False, "middle_layers": 1,
              "xla_middle_layers": None},
    "quick": {"profile": "quick", "epochs_per_step": 3, "repeats": 1, "warmup": True, "middle_layers": None,
              "xla_middle_layers": 1},
}


def switch_cost(epochs, switch_epochs):
    """`(excess_s, gross_s, parts)`: the switch cost from a list of epoch records (see the module docstring).

    Args:
        epochs: list of dict. The timing callback's epoch records, in training order (several fits concatenated).
        switch_epochs: set of int. Positions in `epochs` of the first epoch of steps 2, 3, ...
    """
    inner = [i for i in range(1, len(epochs)) if i not in switch_epochs]
    gaps = {i: epochs[i]["first_batch_begin"] - epochs[i - 1]["test_end"] for i in range(1, len(epochs))}
    first = {i: epochs[i]["batches"][0] for i in range(len(epochs))}
    validation = {i: epochs[i]["test_end"] - epochs[i]["test_begin"] for i in range(len(epochs))}
    typical_gap = _common.median([gaps[i] for i in inner])
    typical_first = _common.median([first[i] for i in inner])
    typical_validation = _common.median([validation[i] for i in inner])
    parts = {"gap": 0.0, "retrace_train": 0.0, "retrace_validation": 0.0}
    gross = 0.0
    each = []  # the excess of every switch, in training order
    for i in sorted(switch_epochs):
        switch = {"gap": gaps[i] - typical_gap, "retrace_train": first[i] - typical_first,
                  "retrace_validation": validation[i] - typical_validation}
        for part, value in switch.items():
            parts[part] += value
        gross += gaps[i] + switch["retrace_train"] + switch["retrace_validation"]
        each.append(sum(switch.values()))
    typical_epoch = _common.median([epochs[i]["test_end"] - epochs[i]["first_batch_begin"] for i in inner])
    return sum(parts.values()), gross, {**parts, "typical_gap": typical_gap, "typical_epoch": typical_epoch,
                                        "each": each}


def set_step_trainable(model, base, step_names):
    """DeepMoji's way of choosing what trains: exactly the layers named in `step_names` (None: everything).

    Each flag is toggled (`not value`, then `value`): on TensorFlow, assigning the value a layer already has
    returns early and would not reach its sub-layers.
    """

    def set_flag(layer, value):
        layer.trainable = not value
        layer.trainable = value

    set_flag(model, True)
    for layer in base.layers + [layer for layer in model.layers if layer is not base]:
        if layer.weights and layer is not base:
            set_flag(layer, step_names is None or layer.name in step_names)
    if step_names is not None and not any(layer.name in step_names for layer in base.layers):
        base.trainable = False


def main(args):
    import keras

    from keras_transfer import callbacks as kt_callbacks
    from keras_transfer import models as kt_models
    from keras_transfer.experiments import models_1_4

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    epochs_per_step = size["epochs_per_step"]
    config = models_1_4.CONFIGS[size["profile"]]
    data = models_1_4.load_target_data(size["profile"], seed=0)
    (x_train, y_train), validation = data.train, data.validation
    source, weights = source_network()
    first_rate, later_rate = config["chain_thaw_learning_rates"]

    def build():
        keras.utils.set_random_seed(0)
        backbone = kt_models.source_backbone(source, pretrained=True)
        return kt_models.build_classifier(
            backbone, len(data.class_names), head_units=tuple(config["head_units"]), dropout=config["dropout"]
        )

    def middle_layers(model, count=size["middle_layers"]):
        layers = kt_models.backbone_layers(model)
        return layers if count is None else layers[-count:]

    def optimizer(rate):
        return keras.optimizers.Adam(rate, clipnorm=config["clipnorm"])

    def compile_(model, rate, jit_compile="auto"):
        model.compile(
            optimizer=optimizer(rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
            jit_compile=jit_compile,
        )

    def fit(model, epochs, callbacks, validate=True, steps_per_epoch=None):
        model.fit(
            x_train, y_train, batch_size=config["batch_size"], epochs=epochs, steps_per_epoch=steps_per_epoch,
            validation_data=validation if validate else None, callbacks=callbacks, shuffle=True, verbose=0,
        )

    class TimedChainThaw(kt_callbacks.ChainThaw):
        """ChainThaw, with the time of its own epoch-end work (where steps switch) recorded."""

        def on_train_begin(self, logs=None):
            self.switch_seconds = []
            self.epoch_end_seconds = []
            begin = time.perf_counter()
            super().on_train_begin(logs)
            self.first_step_setup = time.perf_counter() - begin

        def on_epoch_end(self, epoch, logs=None):
            steps = len(self.steps_log)
            begin = time.perf_counter()
            super().on_epoch_end(epoch, logs)
            elapsed = time.perf_counter() - begin
            (self.switch_seconds if len(self.steps_log) > steps else self.epoch_end_seconds).append(elapsed)

    def chain_thaw(jit_compile="auto", count=size["middle_layers"]):
        model = build()
        timer, cpu_timer = _common.batch_timer(), _common.batch_timer(time.process_time)
        with _common.Timer() as total:
            compile_(model, first_rate, jit_compile)
            callback = TimedChainThaw(
                new_layers=kt_models.head_layers(model),
                layers=middle_layers(model, count),
                epochs_per_step=epochs_per_step,
                patience=epochs_per_step,
                learning_rates=(first_rate, later_rate),
                verbose=0,
            )
            steps = len(callback.plan(model))
            fit(model, steps * epochs_per_step, [callback, timer, cpu_timer])
        starts = {step["first_epoch"] for step in callback.steps_log[1:]}
        excess, gross, parts = switch_cost(timer.epochs, starts)
        each_cpu = switch_cost(cpu_timer.epochs, starts)[2]["each"]
        keras.backend.clear_session(free_memory=False)
        return {
            "total_s": total.wall,
            "switch_s": excess,
            "switch_gross_s": gross,
            "switches": len(starts),
            "epochs": len(timer.epochs),
            "callback_switch_s": sum(callback.switch_seconds),
            "callback_epoch_end_s": _common.median(callback.epoch_end_seconds),
            "layers": [step["description"] for step in callback.steps_log[1:]],
            "each_cpu": each_cpu,
            **parts,
        }

    def rebuild():
        model = build()
        base = kt_models.base_layer(model)
        compile_(model, first_rate)  # ChainThaw.plan needs a compiled model; compiled again below, timed
        plan = kt_callbacks.ChainThaw(
            new_layers=kt_models.head_layers(model), layers=middle_layers(model), verbose=0
        ).plan(model)
        timer = _common.batch_timer()
        starts = set()
        compile_seconds = []
        with _common.Timer() as total:
            for index, (_, names) in enumerate(plan):
                if index:
                    starts.add(len(timer.epochs))
                begin = time.perf_counter()
                set_step_trainable(model, base, None if names == [model.name] else set(names))
                compile_(model, first_rate if index == 0 else later_rate)
                compile_seconds.append(time.perf_counter() - begin)
                stopper = keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=epochs_per_step, restore_best_weights=True
                )
                fit(model, epochs_per_step, [stopper, timer])
        excess, gross, parts = switch_cost(timer.epochs, starts)
        keras.backend.clear_session(free_memory=False)
        return {
            "total_s": total.wall,
            "switch_s": excess,
            "switch_gross_s": gross,
            "switches": len(starts),
            "epochs": len(timer.epochs),
            "compile_s": sum(compile_seconds[1:]),
            **parts,
        }

    def trace_seconds(jit_compile="auto", count=size["middle_layers"]):
        """One trace of the train function for each step after the first (the sets a switch changes to).

        The model is compiled and fit for one epoch (metrics and functions built), then for each set: that step's
        layers trainable, a fresh optimizer built over them (eagerly, as ChainThaw builds it), a new train
        function (`make_train_function(force=True)`), and a fit of two epochs of two batches without validation;
        the first batch of the first epoch minus the first batch of the second is one trace.
        """
        model = build()
        base = kt_models.base_layer(model)
        compile_(model, first_rate, jit_compile)
        fit(model, 1, [], validate=False)
        plan = kt_callbacks.ChainThaw(
            new_layers=kt_models.head_layers(model), layers=middle_layers(model, count), verbose=0
        ).plan(model)
        traces, cpu_traces = [], []  # in plan order: the sets of ChainThaw's steps 2, 3, ...
        for _, names in plan[1:]:
            set_step_trainable(model, base, None if names == [model.name] else set(names))
            fresh = optimizer(later_rate)
            fresh.build(model.trainable_variables)
            model.optimizer = fresh
            model.make_train_function(force=True)
            timer, cpu_timer = _common.batch_timer(), _common.batch_timer(time.process_time)
            # No validation (its test function is not traced), two full batches an epoch (no short last batch,
            # which on JAX and with XLA is a second compilation that nothing here counts)
            fit(model, 2, [timer, cpu_timer], validate=False, steps_per_epoch=2)
            traces.append(timer.epochs[0]["batches"][0] - timer.epochs[1]["batches"][0])
            cpu_traces.append(cpu_timer.epochs[0]["batches"][0] - cpu_timer.epochs[1]["batches"][0])
        keras.backend.clear_session(free_memory=False)
        return {"traces": traces, "cpu": cpu_traces}

    if size["warmup"]:
        fit(_compiled(build(), compile_, first_rate), 1, [])
        keras.backend.clear_session(free_memory=False)
    # The rebuild way on TensorFlow only: it is a detail (what ChainThaw saves against DeepMoji's way), and on JAX,
    # where every switch is an XLA compilation and the short last batch another one, it would double the run.
    with_rebuild = keras.backend.backend() == "tensorflow"
    variants = {"chain_thaw": chain_thaw, "trace": trace_seconds, **({"rebuild": rebuild} if with_rebuild else {})}
    rounds = _common.interleave(variants, repeats)
    ours = rounds["chain_thaw"]["extra"]
    trace_runs = [run["traces"] for run in rounds["trace"]["extra"]]
    traces = [trace for run in trace_runs for trace in run]
    shares = [100 * run["switch_s"] / run["total_s"] for run in ours]
    per_switch = [run["switch_s"] / run["switches"] for run in ours]
    # Each switch against the trace of the train function for the same trainable set, measured in the same round:
    # one set's train step compiles in several times another's (on JAX the whole model's takes about 2.5 times a
    # single layer's), so a mean over the sets compared with a median over them would count that difference as
    # switch overhead.
    def in_traces(switch_key, trace_key):
        return [
            switch / trace
            for run, trace_run in zip(ours, rounds["trace"]["extra"])
            for switch, trace in zip(run[switch_key], trace_run[trace_key], strict=True)
        ]

    per_set = in_traces("each", "traces")
    per_set_cpu = in_traces("each_cpu", "cpu")  # in CPU time of this process: less sensitive to other processes
    mean_traces = [sum(run_traces) / len(run_traces) for run_traces in trace_runs]
    value = _common.median(per_set)
    trace = _common.median(mean_traces)
    xla = {}
    if keras.backend.backend() == "tensorflow" and size["xla_middle_layers"]:  # JAX: always XLA-compiled
        xla_count = size["xla_middle_layers"]
        xla_run = chain_thaw(jit_compile=True, count=xla_count)
        xla_traces = trace_seconds(jit_compile=True, count=xla_count)["traces"]
        xla = {
            "what": f"jit_compile=True, one round, {xla_count} backbone layer(s) alone ({xla_run['switches']} "
            "switches): every trace is an XLA compilation",
            "seconds_per_switch": round(xla_run["switch_s"] / xla_run["switches"], 3),
            "trace_seconds": round(sum(xla_traces) / len(xla_traces), 3),
            "switch_in_traces": round(
                _common.median([s / t for s, t in zip(xla_run["each"], xla_traces, strict=True)]), 2
            ),
            "share_pct": round(100 * xla_run["switch_s"] / xla_run["total_s"], 2),
            "total_s": round(xla_run["total_s"], 2),
        }

    common_keys = ["total_s", "switch_s", "switch_gross_s", "gap", "retrace_train", "retrace_validation",
                   "typical_epoch"]
    return {
        "benchmark": NAME,
        "value": round(value, 2),
        "floor": 1.0,
        "unit": "traces of the train function per step switch (ChainThaw; each switch / the trace of its set)",
        "goal": f"<= {GOAL:g} traces per switch",
        "met": bool(value <= GOAL),
        "seconds_per_switch": round(_common.median(per_switch), 3),
        "trace_seconds": round(trace, 3),
        "switch_in_traces_by_set": _common.spread(per_set, 2),
        "switch_in_traces_by_set_cpu": _common.spread(per_set_cpu, 2),
        "ratio_of_means": round(_common.median(per_switch) / trace, 2),
        "mean_switch_over_median_trace": round(_common.median(per_switch) / _common.median(traces), 2),
        "trace_by_set_s": {
            layers: round(_common.median([run[index] for run in trace_runs]), 3)
            for index, layers in enumerate(ours[0]["layers"])
        },
        "switch_by_set_s": {
            layers: round(_common.median([run["each"][index] for run in ours]), 3)
            for index, layers in enumerate(ours[0]["layers"])
        },
        "traces_s": _common.spread(traces, 3),
        "switch_share_pct": round(_common.median(shares), 2),
        "epochs_per_step": epochs_per_step,
        "steps": int(ours[0]["switches"]) + 1,
        "epochs": int(ours[0]["epochs"]),
        "train_images": int(len(y_train)),
        "batch_size": config["batch_size"],
        "source_weights": weights,
        "chain_thaw_share_pct": _common.spread(shares, 2),
        "chain_thaw_gross_share_pct": _common.spread(
            [100 * run["switch_gross_s"] / run["total_s"] for run in ours], 2
        ),
        "chain_thaw": summary(ours, common_keys + ["callback_switch_s", "callback_epoch_end_s"]),
        **(
            rebuild_figures(ours, rounds["rebuild"]["extra"], common_keys)
            if with_rebuild
            else {"rebuild": "not run on this backend (TensorFlow only)"}
        ),
        **({"xla": xla} if xla else {}),
    }


def summary(runs, keys):
    """`{key: spread of run[key] over runs}` for each key."""
    return {key: _common.spread([run[key] for run in runs], 3) for key in keys}


def rebuild_figures(ours, theirs, keys):
    """The rebuild way's figures beside ChainThaw's (`ours`, `theirs`: the rounds' dicts of each way)."""
    return {
        "rebuild_share_pct": _common.spread([100 * run["switch_s"] / run["total_s"] for run in theirs], 2),
        "rebuild_gross_share_pct": _common.spread(
            [100 * run["switch_gross_s"] / run["total_s"] for run in theirs], 2
        ),
        "switch_cost_ratio_rebuild_over_chain_thaw": _common.spread(
            _common.paired_ratios([r["switch_s"] for r in theirs], [r["switch_s"] for r in ours]), 2
        ),
        "total_time_ratio_rebuild_over_chain_thaw": _common.spread(
            _common.paired_ratios([r["total_s"] for r in theirs], [r["total_s"] for r in ours]), 3
        ),
        "rebuild": summary(theirs, keys + ["compile_s"]),
    }


def _compiled(model, compile_, rate):
    compile_(model, rate)
    return model


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
