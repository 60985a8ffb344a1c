"""What the notebooks display: tables and conclusions computed from an experiment's result.

Each experiment has a module here (`reports.models_1_4`, ...) whose functions take the `ExperimentResult` and return
a `Report`: Markdown text that Jupyter renders (a table as a table, bold as bold) and that prints as plain Markdown
on the command line. A notebook calls one in a line; the sentences it shows are computed, so a rerun cannot
contradict them. This module holds the formatting every report shares: percentages, points, `mean ± std` cells,
tables, bullet lists and verdicts.

Example:

```python
from keras_transfer import reports

reports.table([{"model": "frozen", "accuracy": reports.percent(0.912)}], columns=("model", "accuracy"))
```
"""

import math
import numbers
import statistics


class Report(str):
    """Markdown text: rendered in Jupyter (`_repr_markdown_`), printed as it is elsewhere (`print(report)`).

    A `str`, so reports join with `+` or `Report.join`, and `"holds" in report` works in tests.
    """

    def _repr_markdown_(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    @classmethod
    def join(cls, *parts, separator="\n\n"):
        """The non-empty `parts` (strings or reports) one after the other, a blank line between them."""
        return cls(separator.join(str(part) for part in parts if part))


def is_finite(value):
    """True for a finite real number (not a bool, None, NaN or infinity): what a report can show as a figure."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def percent(value, digits=1, sign=False):
    """`0.9123` -> `"91.2%"` (`sign=True`: `"+91.2%"`); `"–"` for None or NaN."""
    if not is_finite(value):
        return "–"
    return f"{100 * value:{'+' if sign else ''}.{digits}f}%"


def points(difference, digits=1, sign=True):
    """A difference of two fractions in percentage points: `0.034` -> `"+3.4 points"`; `"–"` for None or NaN."""
    if not is_finite(difference):
        return "–"
    return f"{100 * difference:{'+' if sign else ''}.{digits}f} points"


def number(value, digits=3):
    """`value` with `digits` decimals (thousands separated), `"–"` for None or NaN."""
    if not is_finite(value):
        return "–"
    return f"{value:,.{digits}f}"


def mean_std(values, digits=1, as_percent=True):
    """`"91.2% ± 0.4%"` over several values (`as_percent=False`: `"0.912 ± 0.004"` with `digits` decimals), the
    value alone for one, `"–"` for none (non-finite values are left out)."""
    values = [float(value) for value in values if is_finite(value)]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    show = (lambda x: percent(x, digits)) if as_percent else (lambda x: number(x, digits))  # noqa: E731
    return show(mean) if std is None else f"{show(mean)} ± {show(std)}"


def verdict(holds, yes="holds", no="**fails**", unknown="not run"):
    """A word for a check's outcome: `holds` for True, `**fails**` for False, `not run` for None."""
    return unknown if holds is None else (yes if holds else no)


def _cell(value):
    text = str(value) if value is not None else ""
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows, columns=None, headers=None):
    """A Markdown table of `rows` (dicts, or sequences when `headers` names the columns).

    Args:
        rows: list of dict or of sequences. One table row each; values are shown with `str` (format them first:
            `percent`, `mean_std`, ...); `None` shows as an empty cell.
        columns: sequence of str or None. The dict keys to show, in order (default: the first row's keys).
        headers: sequence of str or None. The column headers (default: `columns`).

    Returns:
        A `Report`; an empty one when there are no rows.
    """
    rows = list(rows)
    if not rows:
        return Report("")
    if isinstance(rows[0], dict):
        columns = list(columns) if columns is not None else list(rows[0])
        cells = [[row.get(column) for column in columns] for row in rows]
    else:
        cells = [list(row) for row in rows]
        columns = list(columns) if columns is not None else None
    headers = list(headers) if headers is not None else columns
    if headers is None:
        raise ValueError("`table` needs `columns` or `headers` to name the columns of rows given as sequences.")
    if any(len(row) != len(headers) for row in cells):
        raise ValueError(f"Every row must have {len(headers)} cells, one per header {headers}.")
    lines = ["| " + " | ".join(_cell(header) for header in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in cells]
    return Report("\n".join(lines))


def bullets(lines):
    """A Markdown bullet list of the non-empty `lines`."""
    return Report("\n".join(f"- {line}" for line in lines if line))


__all__ = ["Report", "bullets", "is_finite", "lesson", "mean_std", "number", "percent", "points", "table", "verdict"]


def lesson(holds, sentence):
    """One lesson's verdict line, `**Lesson:** holds. <sentence>`, as `python -m keras_transfer site` reads it.

    The site's index shows a notebook as failing when any of its displayed lesson lines fails, as holding when one
    holds and none fails. `holds` is True, False or None (not run).
    """
    return Report(f"**Lesson:** {verdict(holds)}. {sentence}")
