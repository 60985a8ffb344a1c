"""The shared formatting of the notebooks' reports: Markdown that renders in Jupyter and prints as text."""

import math

import pytest

from keras_transfer import reports
from keras_transfer.experiments import base


def test_a_report_is_markdown_for_jupyter_and_text_for_the_command_line():
    report = reports.Report("**Lesson:** frozen beats scratch")
    assert report._repr_markdown_() == "**Lesson:** frozen beats scratch"
    assert str(report) == "**Lesson:** frozen beats scratch" and "frozen" in report
    joined = reports.Report.join(report, "", reports.Report("second"))
    assert isinstance(joined, reports.Report) and joined == "**Lesson:** frozen beats scratch\n\nsecond"


def test_numbers_read_as_percent_points_and_mean_std():
    assert reports.percent(0.91234) == "91.2%" and reports.percent(0.05, sign=True) == "+5.0%"
    assert reports.points(0.034) == "+3.4 points" and reports.points(-0.1, digits=0) == "-10 points"
    assert reports.number(1234.5678, 1) == "1,234.6"
    for missing in (None, math.nan, float("inf")):
        assert reports.percent(missing) == reports.points(missing) == reports.number(missing) == "–"
    assert reports.mean_std([0.9, 0.92]) == "91.0% ± 1.4%"
    assert reports.mean_std([0.9]) == "90.0%" and reports.mean_std([None, math.nan]) == "–"
    assert reports.mean_std([1.0, 3.0], digits=2, as_percent=False) == "2.00 ± 1.41"


def test_verdicts_name_all_three_outcomes():
    assert reports.verdict(True) == "holds"
    assert reports.verdict(False) == "**fails**"
    assert reports.verdict(None) == "not run"
    assert reports.verdict(False, no="no") == "no"


def test_table_of_dicts_and_of_sequences():
    rows = [{"model": "frozen", "accuracy": "91.0%", "note": "a | b"}, {"model": "scratch", "accuracy": "40.0%"}]
    text = reports.table(rows, columns=("model", "accuracy", "note"))
    assert text.splitlines() == [
        "| model | accuracy | note |", "|---|---|---|", "| frozen | 91.0% | a \\| b |", "| scratch | 40.0% |  |"]
    by_position = reports.table([("frozen", 1)], headers=("model", "runs"))
    assert by_position.splitlines()[2] == "| frozen | 1 |"
    assert reports.table([]) == ""
    with pytest.raises(ValueError, match="headers"):
        reports.table([("frozen", 1)])
    with pytest.raises(ValueError, match="2 cells"):
        reports.table([("frozen",)], headers=("model", "runs"))


def test_bullets_skip_empty_lines():
    assert reports.bullets(["one", "", None, "two"]) == "- one\n- two"


def test_a_results_table_reads_accuracies_as_percent():
    rows = [{"model": "frozen", "seed": seed, "test_accuracy": value, "epochs": 3}
            for seed, value in enumerate((0.9, 0.92))]
    result = base.ExperimentResult("fake", "smoke", rows)
    table = result.table(metrics=["test_accuracy", "epochs"])
    assert isinstance(table, reports.Report)
    assert table.splitlines()[2] == "| frozen | 2 | 91.0% ± 1.4% | 3 |"
    assert "0.9100 ± 0.0141" in result.to_markdown(metrics=["test_accuracy"]), "the command line keeps its table"
