"""The multitask reports on small synthetic results: no training, milliseconds."""

from keras_transfer import reports
from keras_transfer import site
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import multitask as report


def _rows(gains, budget=5, base=0.3, box=(0.6, 0.7)):
    """Rows of one budget: class-only at `base`, multitask at `base + gain` per seed, one box-only per seed."""
    rows = []
    for seed, gain in enumerate(gains):
        rows += [
            {"model": f"class_only · {budget}/class", "network": "class_only", "budget": budget, "seed": seed,
             "test_accuracy": base, "test_mean_iou": None, "class_labels": 25, "box_labels": 0, "cpu_time_s": 10.0},
            {"model": f"multitask · {budget}/class", "network": "multitask", "budget": budget, "seed": seed,
             "test_accuracy": base + gain, "test_mean_iou": box[0], "class_labels": 25, "box_labels": 1200,
             "cpu_time_s": 12.0},
            {"model": "box_only", "network": "box_only", "budget": None, "seed": seed, "test_accuracy": None,
             "test_mean_iou": box[1], "class_labels": 0, "box_labels": 1200, "cpu_time_s": 11.0},
        ]
    return rows


def _result(rows, profile="quick"):
    return ExperimentResult("multitask", profile, rows, metadata={
        "config": {"image_size": 32, "box_weight": 100.0, "scale_range": [0.3, 0.6], "crop_range": [2.0, 5.0],
                   "class_pooling": "max"}, "class_names": ["a", "b", "c", "d", "e"],
        "sizes": {"train": 1200, "validation": 500, "test": 1000}, "wall_time_s": 60.0, "cpu_time_s": 90.0})


def test_sharing_is_judged_against_the_paired_spread():
    assert report.sharing(_rows([0.10, 0.05, 0.02]))["5"]["verdict"] == "helped"
    assert report.sharing(_rows([-0.10, -0.05, -0.02]))["5"]["verdict"] == "hurt"
    within = report.sharing(_rows([0.10, -0.05, 0.02]))["5"]
    assert within["verdict"] == "no clear difference" and within["seeds"] == 3
    assert report.sharing(_rows([0.10]))["5"]["verdict"] == "one seed"
    assert report.sharing(_rows([0.10]))["5"]["std"] == 0.0


def test_conclusion_says_helped_only_beyond_the_spread():
    helped = report.conclusion(_result(_rows([0.10, 0.05, 0.02])))
    assert isinstance(helped, reports.Report)
    assert "beyond its spread over 3 seeds" in helped
    assert "help the class task beyond the seed spread at 5 labels" in helped
    assert "chance is 20.0% (5 classes): +10.0 points against chance" in helped
    assert "The box head pays for sharing its base: -0.100 IoU" in helped
    within = report.conclusion(_result(_rows([0.10, -0.05, 0.02])))
    assert "within its spread" in within and "at no budget" in within
    hurt = report.conclusion(_result(_rows([-0.10, -0.05, -0.02], box=(0.7, 0.6))))
    assert "sharing hurt" in hurt and "does not pay" in hurt
    assert "nothing to conclude" in report.conclusion(_result([]))


def test_one_seed_gives_a_hint_not_a_finding():
    text = report.conclusion(_result(_rows([0.05]), profile="smoke"))
    assert "on one seed: without a spread this is a hint" in text and "beyond the seed spread" not in text
    assert "test run" in text
    assert "one seed: no spread to judge by" in report.sharing_table(_result(_rows([0.05])))


def test_tables_render_percentages():
    result = _result(_rows([0.10, 0.05, 0.02]) + _rows([0.0, 0.01, -0.01], budget=60)[:6])
    table = report.sharing_table(result)
    assert "| 5 | 30.0% ± 0.0% |" in table and "+5.7 points ± 4.0 points" in table and "+10.0, +5.0, +2.0" in table
    assert "| 60 |" in table
    results = report.results_table(result)
    assert "multitask" in results and "0.600 ± 0.000" in results and "1,200" in results
    assert "| 5 | 0.600 ± 0.000 | 0.700 ± 0.000 |" in report.box_table(result)
    assert "1,200 training images of 32×32 pixels" in report.settings(result)
    assert "30%–60% of the image's side" in report.settings(result) and "2–5 times" in report.settings(result)
    assert "a global max-pooling" in report.settings(result)


def _lesson(text):
    """The one lesson line of `text`, as `site` reads it (the site's own parser)."""
    found = [lesson for lesson in map(site.parse_lesson_line, text.splitlines()) if lesson is not None]
    assert len(found) == 1
    return found[0]


def test_the_lesson_follows_the_sharing_verdict_at_the_smallest_budget():
    helped = _lesson(report.lessons(_result(_rows([0.10, 0.05, 0.02]) + _rows([-0.1, -0.2, -0.3], budget=60))))
    assert helped.verdict == "holds"  # the smallest budget decides; 60 labels per class hurt
    assert "With 5 labels per class: multitask 35.7% ± 4.0%, class only 30.0% ± 0.0%, a gain of +5.7 points ± " \
           "4.0 points over 3 seeds, beyond the spread." in helped.text
    hurt = _lesson(report.lessons(_result(_rows([-0.10, -0.05, -0.02]))))
    assert hurt.verdict == "fails" and "sharing hurt" in hurt.text
    within = _lesson(report.lessons(_result(_rows([0.10, -0.05, 0.02]))))
    assert within.verdict == "fails" and "within the spread" in within.text
    one = _lesson(report.lessons(_result(_rows([0.05]), profile="smoke")))
    assert one.verdict == "not run" and "on one seed: no spread to judge by" in one.text
    assert "test run" in report.lessons(_result(_rows([0.05]), profile="smoke"))
    assert _lesson(report.lessons(_result([]))).verdict == "not run"


def test_summary_is_the_lesson_the_sharing_table_and_the_conclusion():
    result = _result(_rows([0.10, 0.05, 0.02]))
    text = report.summary(result)
    assert text.index(report.lessons(result)) < text.index(report.sharing_table(result)) < text.index(
        report.conclusion(result))
    assert _lesson(text).verdict == "holds"


def _near_chance_rows(gains, levels):
    """Class only at `levels` per seed (around chance, 20% for five classes), multitask `gains` above it."""
    rows = []
    for seed, (gain, level) in enumerate(zip(gains, levels)):
        rows += [{**row, "seed": seed} for row in _rows([gain], base=level)]
    return rows


def test_class_only_near_chance_is_said_and_fails_the_lesson():
    rows = _near_chance_rows([0.10, 0.08, 0.12], [0.18, 0.24, 0.22])  # 21.3% ± 3.1% against 20%
    found = report.above_chance(_result(rows), 5)
    assert found["holds"] is False and round(found["margin"], 4) == round(0.64 / 3 - 0.2, 4)
    text = report.conclusion(_result(rows))
    assert "within its spread over seeds" in text and "near chance" in text
    assert "beyond its spread over 3 seeds" in text  # the gain itself is beyond its spread ...
    lesson = _lesson(report.lessons(_result(rows)))
    assert lesson.verdict == "fails" and "near chance" in lesson.text  # ... but over guessing, it is not the lesson
    well = report.conclusion(_result(_rows([0.10, 0.05, 0.02])))
    assert "not a rescue from guessing" in well
    assert report.above_chance(_result([]), 5)["holds"] is None
    assert report.chance(_result([])) == 0.2


def test_the_trend_of_the_gain_over_budgets_is_computed():
    shrinking = _rows([0.10, 0.12, 0.08]) + [row for budget, gains in ((20, [0.05, 0.04, 0.06]), (60, [0.0, 0.01, -0.01]))
                                             for row in _rows(gains, budget=budget) if row["network"] != "box_only"]
    text = report.conclusion(_result(shrinking))
    assert "The gain shrinks as the class labels grow (+10.0 points at 5, +5.0 points at 20, +0.0 points at 60)" in text
    bumpy = _rows([0.02, 0.03, 0.01]) + [row for row in _rows([0.10, 0.09, 0.11], budget=20)
                                         if row["network"] != "box_only"]
    text = report.conclusion(_result(bumpy))
    assert "does not shrink steadily" in text and "largest at 20 labels per class" in text
    assert "shrinks" not in report.conclusion(_result(_rows([0.10, 0.05, 0.02])))


def test_worked_answers_compare_an_exercise_with_the_reference():
    reference = _result(_rows([0.20], budget=20) + _rows([-0.03], budget=180, base=0.85))
    light = _result(_rows([0.05], budget=20, box=(0.4, 0.7)) + _rows([-0.01], budget=180, base=0.85, box=(0.45, 0.7)))
    light.metadata["config"] = {**light.metadata["config"], "box_weight": 1.0}
    text = report.light_box_answer(reference, light)
    assert "**20 labels per class:** the multitask network's box IoU 0.400 with box weight 1, against 0.600 with 100" \
        in text
    assert "its gain over class only +5.0 points, against +20.0 points" in text and "(it is)." in text
    moved = _result(_rows([0.05], budget=20, base=0.4))
    assert "**it is not**" in report.light_box_answer(reference, moved)

    five = _result(_rows([0.30], budget=5, base=0.24))
    text = report.fewer_labels_answer(reference, five)
    assert "**Class only at 5 labels per class:** 24.0%, +4.0 points against chance (20.0%)" in text
    assert "+30.0 points at 5 labels per class, against +20.0 points at 20: larger with fewer labels." in text
    assert "nothing to compare" in report.light_box_answer(reference, _result(_rows([0.1], budget=60)))
