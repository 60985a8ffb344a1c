"""What every experiment returns: a results table, training histories, and how to save, load and print them."""

import dataclasses
import functools
import hashlib
import inspect
import json
import math
import numbers
import os
import pathlib
import platform
import statistics
import sys
import time


@dataclasses.dataclass
class ExperimentResult:
    """The outcome of one experiment run.

    Args:
        name: str. The experiment's registry name, e.g. `"models-1-4"`.
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        rows: list of dict. One row per trained model and seed, JSON values only, e.g.
            `{"model": "frozen", "seed": 0, "test_accuracy": 0.91, "test_loss": 0.3, "epochs": 12,
            "wall_time_s": 40.2}`.
        histories: dict. `"<model>/seed<seed>"` -> `{"loss": [...], "val_loss": [...], ...}` (per epoch), plus
            any per-run markers the plots need (e.g. `"chain_thaw_steps"`).
        metadata: dict. Anything else worth keeping: config, data sizes, backend, the papers' numbers.
            `metadata["table_by"]`, a column or a list of columns, is what `summary`, `to_markdown` and `table`
            group the rows by when not told (default `"model"`), e.g. `["source", "model"]`.
    """

    name: str
    profile: str
    rows: list
    histories: dict = dataclasses.field(default_factory=dict)
    metadata: dict = dataclasses.field(default_factory=dict)

    def summary(self, by=None, metrics=None):
        """Mean and standard deviation of each metric over seeds, one dict per value of `by`, in first-seen order.

        `by` is a column or a list of columns (default: `metadata["table_by"]`, else `"model"`); each dict holds
        those columns, `runs` and `<metric>`, `<metric>_std` per metric.
        """
        keys = self._group_keys(by)
        metrics = metrics or _numeric_columns(self.rows, exclude={*keys, "seed"})
        groups = {}
        for row in self.rows:
            groups.setdefault(tuple(row[key] for key in keys), []).append(row)
        table = []
        for values_by, rows in groups.items():
            entry = {**dict(zip(keys, values_by)), "runs": len(rows)}
            for metric in metrics:
                values = [row[metric] for row in rows if _is_number(row.get(metric))]
                if not values:
                    continue
                entry[metric] = statistics.fmean(values)
                entry[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
            table.append(entry)
        return table

    def _group_keys(self, by):
        by = self.metadata.get("table_by", "model") if by is None else by
        return (by,) if isinstance(by, str) else tuple(by)

    def to_markdown(self, by=None, metrics=None, digits=4, percent=False, percent_digits=1):
        """The summary as a Markdown table with `mean ± std` cells.

        Metrics get `digits` decimals, except counts (every value an `int`, e.g. epochs or parameters), which are
        whole numbers when they do not vary and get one decimal when they do, and times (names ending in `_s`),
        which get one decimal. With `percent=True`, metrics whose name holds `accuracy` or `fraction` read as
        percentages with `percent_digits` decimals.
        """
        keys = self._group_keys(by)
        table = self.summary(by=keys, metrics=metrics)
        metrics = metrics or _numeric_columns(self.rows, exclude={*keys, "seed"})
        metrics = [metric for metric in metrics if any(metric in entry for entry in table)]
        # counts: columns whose every value is an int (epochs, parameters, steps); times (`*_s`) never are
        counts = {
            metric for metric in metrics
            if not metric.endswith("_s")
            and all(isinstance(row[metric], int) for row in self.rows if _is_number(row.get(metric)))
        }
        header = [*keys, "runs", *metrics]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for entry in table:
            cells = [*(str(entry[key]) for key in keys), str(entry["runs"])]
            for metric in metrics:
                if metric not in entry:
                    cells.append("")
                    continue
                mean, std = entry[metric], entry[metric + "_std"]
                if metric in counts:
                    if std == 0:
                        cells.append(f"{round(mean):,}")
                        continue
                    places = 1
                elif percent and ("accuracy" in metric or "fraction" in metric):
                    cells.append(f"{100 * mean:.{percent_digits}f}% ± {100 * std:.{percent_digits}f}%"
                                 if entry["runs"] > 1 else f"{100 * mean:.{percent_digits}f}%")
                    continue
                else:
                    places = 1 if metric.endswith("_s") else digits
                cells.append(f"{mean:,.{places}f} ± {std:,.{places}f}" if entry["runs"] > 1 else f"{mean:,.{places}f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def table(self, by=None, metrics=None, digits=1):
        """The summary as a `reports.Report` for a notebook: accuracies as percent, `mean ± std` over seeds.

        A metric whose name holds `accuracy` (or `fraction`) reads as a percentage with `digits` decimals; the others
        as in `to_markdown`.
        """
        from keras_transfer import reports  # noqa: PLC0415

        return reports.Report(self.to_markdown(by=by, metrics=metrics, digits=digits + 2, percent=True,
                                               percent_digits=digits))

    def save(self, directory):
        """Writes `result.json` (everything) into `directory`, atomically; returns its path."""
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "result.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(dataclasses.asdict(self), indent=1, default=_json_default))
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path):
        """Reads a `result.json` written by `save` (a file or the folder that holds it)."""
        path = pathlib.Path(path)
        if path.is_dir():
            path = path / "result.json"
        if not path.exists():
            raise FileNotFoundError(f"No experiment result at {path}: expected a result.json written by save().")
        return cls(**json.loads(path.read_text()))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numeric_columns(rows, exclude=()):
    columns = []
    for row in rows:
        for key, value in row.items():
            if key not in exclude and key not in columns and _is_number(value):
                columns.append(key)
    return columns


def _json_default(value):
    converted = jsonable(value)
    if converted is value:
        raise TypeError(f"Not JSON serializable: {type(value).__name__}")
    return converted


# ---------------------------------------------------------------------------------------------------------------
# Shared machinery of the experiment recipes: one JSON converter, one seed check, one mean ± std cell, one resume
# journal. Each recipe calls these instead of keeping its own copy.


def jsonable(value):
    """`value` with numpy scalars and arrays, tuples and paths turned into plain JSON values (dict keys as str)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return jsonable(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def check_seeds(seeds, name="seeds"):
    """`seeds` as a tuple of distinct non-negative ints; a `ValueError` naming `name` otherwise."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"`{name}` must be a non-empty sequence of non-negative integers. Received: {name}={seeds!r}")
    seeds = tuple(seeds)
    valid = bool(seeds) and all(
        not isinstance(seed, bool) and isinstance(seed, numbers.Integral) and seed >= 0 for seed in seeds
    )
    if not valid or len(set(seeds)) != len(seeds):
        raise ValueError(
            f"`{name}` must be a non-empty sequence of distinct non-negative integers. Received: {name}={seeds!r}"
        )
    return tuple(int(seed) for seed in seeds)


def mean_std(values):
    """`(mean, std)` of the finite numbers in `values` (std 0 for one value); `(nan, nan)` when there are none."""
    values = [float(value) for value in values if _is_number(value)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def format_mean_std(values, digits=4, scale=1.0):
    """A table cell: `"0.9123 ± 0.0040"` over several values, `"0.9123"` for one, `""` for none.

    `scale=100` prints fractions as percentages.
    """
    finite = [value for value in values if _is_number(value)]
    if not finite:
        return ""
    mean, std = mean_std(finite)
    if len(finite) == 1:
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def config_fingerprint(config, keys=None):
    """A short hash of `config` (or of its `keys`) and the Keras backend: what makes two runs comparable."""
    import keras  # noqa: PLC0415 - base.py stays importable without a backend for result loading

    selected = {key: config[key] for key in keys} if keys is not None else dict(config)
    key = {**jsonable(selected), "backend": keras.backend.backend()}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


class RunJournal:
    """A JSON-lines file of finished runs, so an interrupted experiment resumes where it stopped.

    Each line is one run's record with its `run_id` and the `config_fingerprint` it was trained under; records of
    another fingerprint are ignored, and a last line cut off by an interruption is skipped (that run trains again).

    Args:
        path: str or Path. The `.jsonl` file (created on the first `append`).
        fingerprint: str. The fingerprint of the settings that change a run's outcome (`config_fingerprint`).
    """

    def __init__(self, path, fingerprint):
        self.path = pathlib.Path(path)
        self.fingerprint = str(fingerprint)

    def finished(self):
        """The runs recorded under this fingerprint: `{run_id: record}`, each record marked `"resumed": True`."""
        finished = {}
        if not self.path.exists():
            return finished
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("config_fingerprint") == self.fingerprint and "run_id" in record:
                record["resumed"] = True
                finished[record["run_id"]] = record
        return finished

    def append(self, record):
        """Appends one run (it must carry `run_id`) and forces it to disk, so it survives an interruption."""
        if "run_id" not in record:
            raise ValueError(f"A journal record needs a `run_id`. Received keys: {sorted(record)}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(jsonable({**record, "config_fingerprint": self.fingerprint}), sort_keys=True)
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a line cut off by an earlier interruption: start a new one
                    handle.write(b"\n")
            handle.write(line.encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())


class Stopwatch:
    """Wall-clock and CPU seconds since it was made: `Stopwatch().times()` -> `{"wall_time_s", "cpu_time_s"}`."""

    def __init__(self):
        self.wall_start, self.cpu_start = time.perf_counter(), time.process_time()

    @property
    def wall_s(self):
        return time.perf_counter() - self.wall_start

    @property
    def cpu_s(self):
        return time.process_time() - self.cpu_start

    def times(self):
        """`{"wall_time_s": ..., "cpu_time_s": ...}` so far, rounded to hundredths: a row's or a result's timing."""
        return {"wall_time_s": round(self.wall_s, 2), "cpu_time_s": round(self.cpu_s, 2)}


def recipe(name, module=None):
    """Makes an experiment's `run()` a recipe: it times the run, records where and with what, and saves it.

    The decorated `run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides)` only trains and
    returns an `ExperimentResult` (a `run` that also takes `workers` spreads its networks over that many workers,
    `keras_transfer.parallel`); the wrapper checks `profile` and `workers` (default `KT_WORKERS`, else 1; a run
    without workers says it trains one network after another), resolves `output_dir` (default
    `paths.results_dir(name, profile)`, passed on so a recipe can keep a resume journal there), adds to the
    metadata the run's `wall_time_s` and `cpu_time_s` (this process's CPU time: workers' time is in the rows), the
    `workers` it ran on, the `backend`, `keras` and `keras_transfer` versions, the
    `request` (`request_of`: what `run_or_load` compares a saved result with), `finished_at` and `machine`, and
    writes `result.json` into `output_dir`.

    Args:
        name: str. The experiment's registry name (its results folder).
        module: the object whose `CONFIGS` the request is read from; default: the module `run` is defined in.
    """

    def decorate(run):
        takes_workers = "workers" in inspect.signature(run).parameters

        @functools.wraps(run)
        def recorded(profile="quick", *, seeds=None, output_dir=None, verbose=1, workers=None, **overrides):
            import keras  # noqa: PLC0415

            from keras_transfer import __version__  # noqa: PLC0415
            from keras_transfer import parallel  # noqa: PLC0415
            from keras_transfer import paths  # noqa: PLC0415
            from keras_transfer import profiles  # noqa: PLC0415

            profiles.check_profile(profile)
            workers = parallel.default_workers() if workers is None else parallel.check_workers(workers)
            if workers > 1 and not takes_workers:
                if verbose:
                    print(f"{name} trains its networks one after another here: `workers` is taken by "
                          f"{', '.join(PARALLEL_EXPERIMENTS)}.")
                workers = 1
            directory = pathlib.Path(output_dir) if output_dir is not None else paths.results_dir(name, profile)
            clock = Stopwatch()
            extra = {"workers": workers} if takes_workers else {}
            result = run(profile, seeds=seeds, output_dir=directory, verbose=verbose, **extra, **overrides)
            result.metadata.update(
                clock.times(),
                workers=workers,
                backend=keras.backend.backend(),
                keras=keras.__version__,
                keras_transfer=__version__,
                request=request_of(module or sys.modules[run.__module__], name, profile, seeds, overrides),
                finished_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
            )
            result.metadata.pop("loaded_from", None)
            result.save(directory)
            return result

        recorded.recipe_name = name
        return recorded

    return decorate


# ---------------------------------------------------------------------------------------------------------------
# Results that load instantly: a saved result is reused when it answers the same request.

RESULTS_MODES = ("auto", "train")
PARALLEL_EXPERIMENTS = ("transferability", "models-1-4")  # the recipes whose `run` takes `workers`


def request_of(module, name, profile, seeds, overrides):
    """What a run is asked to do: the experiment, profile, seeds and the profile's config with `overrides`.

    Two runs with the same request (and package version and Keras backend) give comparable results, so a saved
    result whose request matches can stand in for a new run.
    """
    import keras  # noqa: PLC0415

    from keras_transfer import __version__  # noqa: PLC0415
    from keras_transfer import profiles  # noqa: PLC0415

    config = profiles.select(module.CONFIGS, profile, overrides) if hasattr(module, "CONFIGS") else dict(overrides)
    return jsonable({
        "experiment": name,
        "profile": profile,
        "seeds": None if seeds is None else list(seeds),
        "config": config,
        "keras_transfer": __version__,
        "backend": keras.backend.backend(),
    })


def run_or_load(module, name, profile="quick", *, results="train", live=False, seeds=None, output_dir=None,
                verbose=1, workers=None, **overrides):
    """Runs an experiment, or loads the saved result of the same request (`results="auto"`).

    Args:
        module: the experiment's module (it has `run()` and `CONFIGS`, and may have `LIVE`: per-profile overrides
            that make the smallest run that still shows the lesson).
        name: str. The experiment's registry name.
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        results: str. `"auto"` loads `output_dir/result.json` when it answers this request, else trains;
            `"train"` always trains (and saves).
        live: bool. One seed and the module's `LIVE` settings, for running during a talk; saved apart (in
            `<profile>-live`) so it never replaces a full pre-run. A run with other settings (`overrides`, or
            `seeds` given explicitly) is saved in a folder of its own, `<profile>[-live]-<hash of the request>`,
            so an exercise never replaces the profile's saved result either.
        seeds, output_dir, verbose, overrides: passed to the experiment's `run()`.
        workers: int or None. How many networks train at once (`keras_transfer.parallel`; default `KT_WORKERS`,
            else 1). Not part of the request: a result trained over workers answers the same request.

    Returns:
        An `ExperimentResult` whose metadata has `"request"`, `"finished_at"`, `"machine"` (the `recipe` decorator
        of the module's `run()` records them and saves the result) and, when it was loaded, `"loaded_from"`.
    """
    from keras_transfer import paths  # noqa: PLC0415

    if not hasattr(module.run, "recipe_name"):
        raise TypeError(f"{name}: the module's `run` must be decorated with `@base.recipe({name!r})`, which records "
                        "and saves the result that `run_or_load` loads later.")
    if results not in RESULTS_MODES:
        raise ValueError(f"`results` must be one of {RESULTS_MODES}. Received: results={results!r}")
    if live:
        overrides = {**getattr(module, "LIVE", {}).get(profile, {}), **overrides}
        if seeds is None:
            configured = module.CONFIGS[profile].get("seeds") if hasattr(module, "CONFIGS") else None
            seeds = tuple(configured[:1]) if configured else None
    custom = bool(overrides) or seeds is not None  # beyond the profile's own settings (live's are its own too)
    if live:
        custom = any(key not in getattr(module, "LIVE", {}).get(profile, {}) for key in overrides)
    request = request_of(module, name, profile, seeds, overrides)
    folder = f"{profile}-live" if live else profile
    if custom:  # an exercise's changed setting: its own folder, so it never replaces the profile's saved result
        folder += "-" + hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:8]
    directory = pathlib.Path(output_dir) if output_dir is not None else paths.results_dir(name, folder)
    saved_path = directory / "result.json"
    if results == "auto" and saved_path.exists():
        try:
            saved = ExperimentResult.load(saved_path)
        except (ValueError, TypeError, KeyError):
            saved = None
        if saved is not None and saved.metadata.get("request") == request:
            saved.metadata["loaded_from"] = str(saved_path)
            return saved
        if verbose:
            print(f"The result saved at {saved_path} answers other settings: training instead.")
    return module.run(profile=profile, seeds=seeds, output_dir=directory, verbose=verbose, workers=workers,
                      **overrides)


def provenance(result):
    """One line on where `result` comes from: trained now, or loaded from a saved run (when, where, how long)."""
    metadata = result.metadata
    seconds = metadata.get("wall_time_s")
    took = f" in {seconds:,.0f} s" if _is_number(seconds) else ""
    made = f"trained on {metadata.get('finished_at', 'an unknown date')} ({metadata.get('machine', 'unknown machine')}, " \
           f"{(metadata.get('request') or {}).get('backend', 'unknown')} backend){took}"
    if metadata.get("loaded_from"):
        return f"Loaded from {metadata['loaded_from']}: {made}, {result.profile} profile."
    return f"Trained now: {made}, {result.profile} profile."
