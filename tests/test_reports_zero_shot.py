"""The zero-shot reports on small synthetic results: no training, milliseconds."""

import numpy as np
import pytest

from keras_transfer import reports
from keras_transfer import site
from keras_transfer.datasets import attributes
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import zero_shot as report

PAPER = {"AwA2": {"dap": {"unseen_accuracy": 46.1, "harmonic_mean": 0.0},
                  "eszsl": {"unseen_accuracy": 58.6, "harmonic_mean": 11.0}}}


def _row(method, split, unseen, gzsl_unseen=0.1, gzsl_seen=0.8, seed=0):
    return {"model": method, "split": str(split), "seed": seed, "unseen_classes": "Pullover, Dress, Ankle boot",
            "unseen_accuracy": unseen, "chance": 1 / 3, "gzsl_seen_accuracy": gzsl_seen,
            "gzsl_unseen_accuracy": gzsl_unseen,
            "harmonic_mean": 2 * gzsl_seen * gzsl_unseen / (gzsl_seen + gzsl_unseen),
            "unseen_called_seen": 0.9, "settings": {"C": 0.1} if method == "dap" else {"gamma": 10.0, "lam": 1.0}}


def _result(rows, profile="quick", data="fashion_mnist", splits=2):
    config = {"data": data, "splits": splits, "num_unseen": 3, "num_validation": 2, "epochs": 4,
              "train_per_class": 1000, "test_per_class": 500, "seeds": [0]}
    return ExperimentResult("zero-shot", profile, rows, metadata={
        "config": config, "splits": [{"seen": [0, 1], "unseen": [2, 3, 4], "validation": [0]}] * splits,
        "paper": PAPER, "wall_time_s": 12.0, "cpu_time_s": 20.0})


HOLDS = [_row("dap", 0, 0.7), _row("eszsl", 0, 0.8), _row("dap", 1, 0.6), _row("eszsl", 1, 0.65)]


def test_tables_render_percentages_and_mean_std():
    result = _result(HOLDS)
    table = report.results_table(result)
    assert isinstance(table, reports.Report) and table._repr_markdown_().startswith("| method |")
    assert "65.0% ± 7.1%" in table  # DAP's zero-shot over two splits
    assert "33.3%" in table and "1.9" in table  # chance and the ratio to it
    splits = report.splits_table(result)
    assert "γ = 10, λ = 1" in splits and "C = 0.1" in splits and "{" not in splits
    assert splits.count("\n") == 1 + len(HOLDS)


def _lessons(text):
    """The lesson lines of `text` as `site` reads them, in order (the site's own parser)."""
    return [lesson for lesson in map(site.parse_lesson_line, text.splitlines()) if lesson is not None]


def test_lessons_hold_fail_and_not_run():
    text = report.lessons(_result(HOLDS))
    chance, bias = _lessons(text)
    assert "\n\n" in text and (chance.verdict, bias.verdict) == ("holds", "holds")
    assert "direct attribute prediction 65.0% ± 7.1% against chance 33.3%, above it on 2 of 2" in chance.text
    assert "ESZSL unseen 72.5% zero-shot, 10.0% generalized, seen 80.0%." in bias.text
    assert "better than chance on every split." in report.above_chance(_result(HOLDS))
    below = _result([*HOLDS[:3], _row("eszsl", 1, 0.2)])
    assert "**not** better than chance" in report.above_chance(below)
    assert [lesson.verdict for lesson in _lessons(report.lessons(below))] == ["fails", "holds"]
    assert "ESZSL 50.0% ± 42.4% against chance 33.3%, above it on 1 of 2" in report.lessons(below)
    unbiased = _result([_row("dap", 0, 0.7, gzsl_unseen=0.75), _row("eszsl", 0, 0.8)], splits=1)
    assert "does **not** show a bias" in report.generalized(unbiased)
    assert [lesson.verdict for lesson in _lessons(report.lessons(unbiased))] == ["holds", "fails"]
    assert [lesson.verdict for lesson in _lessons(report.lessons(_result([])))] == ["not run", "not run"]
    assert "exposes the bias" in report.generalized(_result(HOLDS))


def test_summary_is_the_lessons_the_table_and_the_conclusion():
    result = _result(HOLDS)
    text = report.summary(result)
    assert text.index(report.lessons(result)) < text.index(report.results_table(result)) < text.index(
        report.above_chance(result)) < text.index(report.generalized(result))
    assert len(_lessons(text)) == 2


def test_single_split_and_smoke_and_settings():
    result = _result(HOLDS[:2], profile="smoke", splits=1)
    assert "± " not in report.results_table(result)
    text = report.settings(result)
    assert "2 fitted models (1 split, seed 0)" in text and "test run" in text
    assert "5 random splits" not in text and "1 random splits" in text
    assert "test run" in report.lessons(result) and len(_lessons(report.lessons(result))) == 2
    assert "Fashion-MNIST" not in report.settings(_result(HOLDS, data="awa2"))


def test_paper_beside_ours():
    text = report.paper(_result(HOLDS))
    assert "46.1%" in text and "65.0%" in text and "3 unseen instead of ten" in text
    assert "instead of ten" not in report.paper(_result(HOLDS, data="awa2"))
    assert "No method" in report.paper(_result([]))


def test_attributes_describes_the_table():
    text = report.attributes(attributes.fashion_mnist_attributes())
    assert text.startswith("10 classes, 11 attributes; the closest two classes differ in 1 attribute,")
    assert "| `worn_on_feet` | worn on the feet | Sandal, Sneaker, Ankle boot |" in text
    other = attributes.AttributeTable(("a", "b"), ("x", "y"), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert "differ in 2 attributes" in report.attributes(other) and "|" not in report.attributes(other)
    with pytest.raises(ValueError, match="do not separate"):
        report.attributes(attributes.AttributeTable(("a", "b"), ("x",), np.ones((2, 1))))


# Worked answers to the exercises (notebooks/solutions/07_zero_shot.py): live runs of two splits, synthetic here.

def _run(rows, **config):
    result = _result(rows)
    result.metadata["config"].update(config)
    return result


def test_weaker_features_answer_pairs_the_splits_and_names_the_method_that_loses_more():
    reference = _run(HOLDS, train_per_class=1000)
    weak = _run([_row("dap", 0, 0.6, gzsl_seen=0.7), _row("eszsl", 0, 0.82), _row("dap", 1, 0.52, gzsl_seen=0.7),
                 _row("eszsl", 1, 0.6)], train_per_class=100)
    answer = report.weaker_features_answer(reference, weak)
    assert "| 100 per seen class | direct attribute prediction | 56.0% ± 5.7% | 33.3% | 1.7 |" in answer
    assert ("**direct attribute prediction** with 100 instead of 1,000 images per seen class: zero-shot -9.0 points "
            "(per split: -10.0, -8.0), beyond the spread over the splits; generalized: seen -10.0 points (per split: "
            "-10.0, -10.0), beyond the spread over the splits;") in answer
    assert "**ESZSL** with 100 instead of 1,000 images per seen class: zero-shot -1.5 points (per split: +2.0, " \
           "-5.0);" in answer
    assert "**direct attribute prediction loses the most zero-shot accuracy** (-9.0 points on average, beyond the " \
           "spread over the splits)." in answer
    noisy = _run([_row("dap", 0, 0.72), _row("eszsl", 0, 0.82), _row("dap", 1, 0.5), _row("eszsl", 1, 0.6)],
                 train_per_class=100)
    assert "**direct attribute prediction loses the most zero-shot accuracy** (-4.0 points on average, within the " \
           "spread over the splits: " \
           "the methods cannot be ranked on this run)." in report.weaker_features_answer(reference, noisy)
    better = _run([_row(method, split, value + 0.05) for method, split, value in
                   (("dap", 0, 0.7), ("eszsl", 0, 0.8), ("dap", 1, 0.6), ("eszsl", 1, 0.65))], train_per_class=100)
    assert "**No method loses zero-shot accuracy on average.**" in report.weaker_features_answer(reference, better)
    other_classes = _run([{**row, "unseen_classes": "Coat, Sandal, Bag"} for row in HOLDS], train_per_class=100)
    assert "share no split with the same unseen classes" in report.weaker_features_answer(reference, other_classes)


def test_more_unseen_answer_compares_the_ratio_to_chance():
    reference = _run(HOLDS, num_unseen=3)
    four = _run([{**_row(method, split, value), "chance": 0.25} for method, split, value in
                 (("dap", 0, 0.55), ("eszsl", 0, 0.6), ("dap", 1, 0.2), ("eszsl", 1, 0.5))], num_unseen=4)
    answer = report.more_unseen_answer(reference, four)
    assert "| 4 unseen | ESZSL | 55.0% ± 7.1% | 25.0% | 2.2 |" in answer
    assert ("**direct attribute prediction:** 1.5 times chance with 4 unseen classes (37.5% against 25.0%), **not** "
            "above chance on every split; with 3: 1.9 times chance. The harmonic mean moves by +0.0 points") in answer
    assert "**ESZSL:** 2.2 times chance with 4 unseen classes (55.0% against 25.0%), above chance on every split; " \
           "with 3: 2.2 times chance." in answer
    assert "not pairs" in answer
