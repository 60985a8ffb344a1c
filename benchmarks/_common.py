"""Shared helpers of the benchmarks: arguments, side-by-side timing, medians, machine facts, the JSON line.

Every benchmark compares two variants measured in the same run on the same machine, interleaved (A B, B A, A B,
...) so a change of load hits both alike, and reports the median of the per-round ratios (robust to a round that
another process slowed down). Absolute times on a shared machine mean little; ratios measured this way do.

Each script prints exactly one line on stdout, a JSON object
`{"benchmark": ..., "value": ..., "unit": ..., "goal": ..., "met": ..., ...details}`; everything else
(Keras, TensorFlow, progress) goes to stderr.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

SIZES = ("smoke", "quick")


def parse_args(description, argv=None, extra=None):
    """`--quick` (default: sizes for a 2-core CPU, about two minutes) or `--smoke` (seconds, for the tests); `extra`
    adds a script's own arguments to the parser."""
    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="size", action="store_const", const="quick", help="default sizes (minutes)")
    group.add_argument("--smoke", dest="size", action="store_const", const="smoke", help="tiny sizes (seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds of the interleaved measurement")
    parser.set_defaults(size="quick")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1. Received: --repeats={args.repeats}")
    return args


class Timer:
    """A context manager measuring wall time (`perf_counter`) and this process's CPU time (all threads)."""

    def __enter__(self):
        self.wall = self.cpu = None
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False


def interleave(variants, repeats, warmup=0):
    """Runs each variant `repeats` times, alternating the order every round (A B, B A, A B, ...).

    Args:
        variants: dict of name -> zero-argument callable. A callable may return a dict of extra figures (kept per
            round) or None.
        repeats: int. Measured rounds.
        warmup: int. Unmeasured rounds first (tracing, caches, thread pools).

    Returns:
        dict of name -> {"wall": [seconds per round], "cpu": [...], "extra": [returned dicts]}.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    results = {name: {"wall": [], "cpu": [], "extra": []} for name in names}
    for round_index in range(repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            with Timer() as timer:
                extra = variants[name]()
            results[name]["wall"].append(timer.wall)
            results[name]["cpu"].append(timer.cpu)
            results[name]["extra"].append(extra)
    return results


def median(values):
    values = [float(value) for value in values]
    return statistics.median(values) if values else float("nan")


def bootstrap_ci(values, statistic=None, level=0.95, resamples=2000, seed=0):
    """A percentile bootstrap interval `(low, high)` of `statistic` (default: the median) of `values`."""
    import numpy as np

    values = np.asarray([float(value) for value in values])
    if values.size == 0:
        return (float("nan"), float("nan"))
    statistic = statistic or np.median
    rng = np.random.default_rng(seed)
    samples = rng.choice(values, size=(resamples, values.size), replace=True)
    estimates = np.apply_along_axis(statistic, 1, samples)
    tail = (1 - level) / 2
    return (float(np.quantile(estimates, tail)), float(np.quantile(estimates, 1 - tail)))


def paired_ratios(numerators, denominators):
    """Per-round ratios `numerators[i] / denominators[i]` (the rounds were measured side by side)."""
    return [float(a) / float(b) for a, b in zip(numerators, denominators) if b > 0]


def spread(values, digits=4):
    """`{"median", "min", "max", "n"}` of a list, rounded: how much the rounds disagree."""
    values = [float(value) for value in values]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": round(median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def cpu_info():
    """What machine this ran on: CPU model, logical CPUs usable, load average, versions."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {"cpu": model, "logical_cpus": usable, "python": platform.python_version()}
    try:
        info["load_average"] = [round(value, 2) for value in os.getloadavg()]
    except OSError:
        pass
    return info


def library_info():
    import keras

    info = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info


def _plain(value):
    """JSON-safe: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_line(benchmark, value, unit, goal, met, **details):
    """The benchmark's JSON object, as one line: `backend` (Keras's) first, and a `bound` or `floor` beside `value`."""
    import keras

    record = {"benchmark": benchmark, "backend": keras.backend.backend(), "value": value}
    for beside in ("bound", "floor"):  # what the value is compared against, printed beside it
        if beside in details:
            record[beside] = details.pop(beside)
    record.update({"unit": unit, "goal": goal, "met": met})
    record.update(details)
    record["machine"] = {**cpu_info(), **library_info()}
    return json.dumps(_plain(record), sort_keys=False)


def run(main, description, extra=None):
    """Parses the arguments, runs `main(args) -> dict` with stdout sent to stderr, prints the one JSON line.

    `main` returns the keyword arguments of `result_line`; `extra` adds the script's own arguments (`parse_args`).
    """
    args = parse_args(description, extra=extra)
    stdout = sys.stdout
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        record = main(args)
        record.setdefault("size", args.size)
        record["seconds"] = round(time.perf_counter() - start, 1)
        line = result_line(**record)
    stdout.write(line + "\n")
    stdout.flush()


def quiet_tensorflow():
    """Silences TensorFlow's Python-side warnings (retracing notices): the benchmarks retrace on purpose."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


def batch_timer(clock=time.perf_counter):
    """A Keras callback recording, per epoch, the time of every training batch and a few timestamps.

    `clock`: `time.perf_counter` (wall time, the default) or `time.process_time` (this process's CPU time, all
    threads: less sensitive to other processes on the machine).
    """
    import keras

    class BatchTimer(keras.callbacks.Callback):
        """`epochs[i]` = {"batches": [s, ...], "begin", "first_batch_begin", "test_begin", "test_end", "end": t}.

        Timestamps are `clock()`; the test ones stay None without validation data.
        """

        def __init__(self):
            super().__init__()
            self.epochs = []
            self.train_begin = None
            self.train_end = None

        def on_train_begin(self, logs=None):
            self.train_begin = clock()

        def on_train_end(self, logs=None):
            self.train_end = clock()

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(
                {"epoch": epoch, "begin": clock(), "batches": [], "first_batch_begin": None,
                 "test_begin": None, "test_end": None, "end": None}
            )

        def on_train_batch_begin(self, batch, logs=None):
            self._batch = clock()
            if self.epochs[-1]["first_batch_begin"] is None:
                self.epochs[-1]["first_batch_begin"] = self._batch

        def on_train_batch_end(self, batch, logs=None):
            self.epochs[-1]["batches"].append(clock() - self._batch)

        def on_test_begin(self, logs=None):
            if self.epochs:
                self.epochs[-1]["test_begin"] = clock()

        def on_test_end(self, logs=None):
            if self.epochs:
                self.epochs[-1]["test_end"] = clock()

        def on_epoch_end(self, epoch, logs=None):
            self.epochs[-1]["end"] = clock()

        def steady_batches(self, skip_first=True):
            """Every batch time except the first of each epoch (which also pays for the iterator, a retrace)."""
            return [t for epoch in self.epochs for t in (epoch["batches"][1:] if skip_first else epoch["batches"])]

    return BatchTimer()
