"""What every experiment returns: a results table, training histories, and how to save, load and print them."""

import dataclasses
import json
import math
import pathlib
import statistics


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
    """

    name: str
    profile: str
    rows: list
    histories: dict = dataclasses.field(default_factory=dict)
    metadata: dict = dataclasses.field(default_factory=dict)

    def summary(self, by="model", metrics=None):
        """Mean and standard deviation of each metric over seeds, one dict per value of `by`, in first-seen order."""
        metrics = metrics or _numeric_columns(self.rows, exclude={by, "seed"})
        groups = {}
        for row in self.rows:
            groups.setdefault(row[by], []).append(row)
        table = []
        for key, rows in groups.items():
            entry = {by: key, "runs": len(rows)}
            for metric in metrics:
                values = [row[metric] for row in rows if _is_number(row.get(metric))]
                if not values:
                    continue
                entry[metric] = statistics.fmean(values)
                entry[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
            table.append(entry)
        return table

    def to_markdown(self, by="model", metrics=None, digits=4):
        """The summary as a Markdown table with `mean ± std` cells.

        Metrics get `digits` decimals, except counts (every value an `int`, e.g. epochs or parameters), which are
        whole numbers when they do not vary and get one decimal when they do, and times (names ending in `_s`),
        which get one decimal.
        """
        table = self.summary(by=by, metrics=metrics)
        metrics = metrics or _numeric_columns(self.rows, exclude={by, "seed"})
        metrics = [metric for metric in metrics if any(metric in entry for entry in table)]
        # counts: columns whose every value is an int (epochs, parameters, steps); times (`*_s`) never are
        counts = {
            metric for metric in metrics
            if not metric.endswith("_s")
            and all(isinstance(row[metric], int) for row in self.rows if _is_number(row.get(metric)))
        }
        header = [by, "runs", *metrics]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for entry in table:
            cells = [str(entry[by]), str(entry["runs"])]
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
                else:
                    places = 1 if metric.endswith("_s") else digits
                cells.append(f"{mean:,.{places}f} ± {std:,.{places}f}" if entry["runs"] > 1 else f"{mean:,.{places}f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

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
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Not JSON serializable: {type(value).__name__}")
