"""Tests of notebook 04's reports (`reports.models_1_4`) on small synthetic results: no training, milliseconds each.

The checks and the strategy table in the synthetic metadata are computed by the recipe's own functions
(`models_1_4.lecture_checks`, `models_1_4.strategy_table`) from the synthetic rows, as `run()` computes them.
"""

import pytest

from keras_transfer import reports
from keras_transfer.experiments import ExperimentResult
from keras_transfer.experiments import models_1_4
from keras_transfer.reports import models_1_4 as report

# Test accuracy per seed of each (source, labels per class, network); the lecture's story, every step clear
CLEAR = {
    ("photos", 5, "scratch"): [0.30, 0.35, 0.32], ("photos", 5, "frozen"): [0.60, 0.66, 0.62],
    ("photos", 5, "fine_tuned"): [0.62, 0.67, 0.63], ("photos", 5, "chain_thaw"): [0.61, 0.68, 0.63],
    ("photos", 40, "scratch"): [0.70, 0.74, 0.72], ("photos", 40, "frozen"): [0.80, 0.83, 0.81],
    ("photos", 40, "fine_tuned"): [0.86, 0.89, 0.87], ("photos", 40, "chain_thaw"): [0.87, 0.89, 0.88],
    ("black", 5, "frozen"): [0.40, 0.42, 0.41], ("black", 5, "fine_tuned"): [0.38, 0.43, 0.40],
    ("black", 40, "frozen"): [0.60, 0.62, 0.61], ("black", 40, "fine_tuned"): [0.78, 0.80, 0.79],
}


def _result(accuracies, seeds=(0, 1, 2), profile="quick", **overrides):
    config = {**models_1_4.CONFIGS[profile], "labels_per_class": (5, 40), "compare_labels_per_class": (5, 40),
              "reference_labels_per_class": 40, **overrides}
    rows = []
    for (source, per_class, name), values in accuracies.items():
        for seed, accuracy in zip(seeds, values):
            rows.append({"model": f"{name}/n{per_class}", "network": name, "source": source,
                         "labels_per_class": per_class, "seed": seed, "test_accuracy": accuracy, "epochs": 10 + seed,
                         "wall_time_s": 2.0, "cpu_time_s": 3.0 + seed, "validation_accuracy": accuracy + 0.05,
                         **({"learning_rate": 3e-4} if name == "fine_tuned" else {})})
    metadata = {"config": config, "seeds": list(seeds), "wall_time_s": 1234.4, "cpu_time_s": 2345.6,
                "checks": models_1_4.lecture_checks(rows, config), "strategy": models_1_4.strategy_table(rows, config)}
    return ExperimentResult("models-1-4", profile, rows, {}, metadata)


def test_claims_hold_on_a_run_that_shows_the_lecture():
    result = _result(CLEAR)
    claims = report.claims(result)
    assert isinstance(claims, reports.Report) and claims._repr_markdown_() == str(claims)
    assert "| claim | labels per class |" in claims
    # frozen against scratch at 5 per class: 62.7% against 32.3%, +30.3 points
    assert "| frozen beats scratch by at least 10 points | 5 | Model 1 (`scratch`) 32.3% ± 2.5%" in claims
    assert "+30.3 points" in claims and "**fails**" not in claims and "not run" not in claims
    assert claims.count("| holds |") == 4 and "Every claim that ran holds in this run." in claims
    assert "One seed" not in claims


def test_claims_fail_and_say_why():
    weak = {**CLEAR, ("photos", 5, "frozen"): [0.33, 0.38, 0.35],  # +3 points: under the 10 the lecture claims
            ("photos", 40, "fine_tuned"): [0.79, 0.84, 0.80]}  # below frozen on two seeds
    claims = report.claims(_result(weak))
    assert claims.count("**fails**") == 2
    assert "Not shown by this run: frozen beats scratch by 10 points at the smallest budget; frozen < fine-tuned." \
        in claims
    conclusion = report.conclusion(_result(weak))
    assert "the steps this run shows beyond the seed spread: scratch < frozen, fine-tuned ≤ chain-thaw." in conclusion


def test_a_negative_gain_reads_as_a_loss():
    inverted = {**CLEAR, ("photos", 5, "frozen"): [0.20, 0.25, 0.22]}  # 10 points below scratch
    conclusion = report.conclusion(_result(inverted))
    assert "pretrained features lose 10 points of test accuracy to training from scratch (22% against 32%)" \
        in conclusion
    assert "| -10.0 points |" in report.claims(_result(inverted))


def test_claims_not_run_without_the_models_they_compare():
    only = {key: values for key, values in CLEAR.items() if key[2] == "frozen" and key[0] == "photos"}
    result = _result(only, models=("frozen",), compare_domain=None)
    claims = report.claims(result)
    assert claims.count("| not run |") == 4 and "holds" not in claims
    assert "No claim ran" in claims
    assert report.fine_tuning_on_validation(result) == ""
    assert "needs a second source network" in report.strategy_table(result)
    assert "No model pair of the lecture's claims ran." in report.conclusion(result)


def test_one_seed_has_no_spread_and_says_so():
    single = {key: values[:1] for key, values in CLEAR.items()}
    result = _result(single, seeds=(0,))
    claims = report.claims(result)
    assert "One seed: there is no seed spread" in claims and " ± " not in claims
    assert "run the profile's seeds (`LIVE = False`)" in claims and claims.count("| – (one seed) |") == 4
    assert "the steps this run shows (one seed: on the sign of the difference)" in report.conclusion(result)
    assert "| – (one seed) |" in report.strategy_table(result)
    smoke = report.claims(_result(single, seeds=(0,), profile="smoke"))  # a profile of one seed: nothing to rerun
    assert "the smoke profile has one seed only" in smoke and "LIVE" not in smoke
    table = report.results_table(result)
    assert table.startswith("Profile **quick**; seed 0; total 1,234 s wall, 2,346 s CPU.")
    assert "| 5 | Model 2 (`frozen`) | photos (the main one) | 1 | 60.0% | 10 | 3 |" in table


def test_results_table_shows_mean_and_std_per_budget_and_model():
    table = report.results_table(_result(CLEAR))
    assert "seeds 0, 1 and 2" in table
    assert "| labels per class | model | source network | runs | test accuracy | epochs | CPU time (s) |" in table
    assert "| 40 | Model 3 (`fine_tuned`) | photos (the main one) | 3 | 87.3% ± 1.5% | 11 ± 1 | 4 ± 1 |" in table
    assert "| 5 | Model 2 (`frozen`) | black | 3 |" in table
    without_comparison = {key: values for key, values in CLEAR.items() if key[0] == "photos"}
    assert "source network" not in report.results_table(_result(without_comparison, compare_domain=None))


def test_fine_tuning_on_validation_reads_the_validation_accuracy_and_the_chosen_rate():
    text = report.fine_tuning_on_validation(_result(CLEAR))
    # validation = test + 5 points in the synthetic rows: 92.3% against 86.3%
    assert "at 40 labels per class, on the validation images: 92.3% against 86.3% (+6.0 points" in text
    assert "learning rate chosen there: 0.0003, each block below the head at the rate of the one above / 2.6" in text
    assert "within the seed spread" not in text
    weak = {**CLEAR, ("photos", 40, "fine_tuned"): [0.79, 0.84, 0.80]}
    text = report.fine_tuning_on_validation(_result(weak, fine_tune_decay=None))
    assert "one rate for every layer" in text and "on the test images it stays within the seed spread" in text
    worse = {**CLEAR, ("photos", 40, "fine_tuned"): [0.70, 0.74, 0.72]}  # 9.3 points below frozen on every seed
    assert "on the test images it ends 9.3 points below the frozen base" in report.fine_tuning_on_validation(
        _result(worse))


def test_strategy_table_and_conclusion_follow_the_cells():
    result = _result(CLEAR)
    table = report.strategy_table(result)
    assert table.count("\n") == 5  # header, rule, four cells
    assert "| different (black) | large (40/class) | **fine_tuned (79.0%)** | scratch (72.0%) | yes |" in table
    conclusion = report.conclusion(result)
    assert "pretrained features are worth 30 points of test accuracy over training from scratch (63% against 32%)" \
        in conclusion
    # different data, small set: frozen wins (41.0% against fine_tuned's 40.3%), as the rule says
    assert "Different source data: with a small target set (5/class) **frozen** wins" in conclusion
    assert "Where this run departs from the rule: similar data, small set" in conclusion
    assert "CPU stand-in" in conclusion and "smoke" not in conclusion


def test_profile_specific_text_only_under_its_profile():
    smoke = _result(CLEAR, profile="smoke")
    assert "The smoke profile is a test run at a tiny size" in report.conclusion(smoke)
    assert "CPU stand-in" not in report.conclusion(smoke)
    full = _result({key: values for key, values in CLEAR.items() if key[0] == "photos"}, profile="full",
                   source_domain="photos", compare_domain=None)
    assert "CPU stand-in" not in report.conclusion(full) and "smoke" not in report.conclusion(full)
    assert "VGG19(weights='imagenet')" in report.setup(models_1_4.CONFIGS["full"])
    quick = report.setup(models_1_4.CONFIGS["quick"], {"train_images": 12000, "classes": ["Pullover", "Dress"],
                                                       "test_accuracy": 0.876, "test_images": 2000},
                         ("T-shirt/top", "Trouser", "Sandal"))
    assert "12,000 images of Pullover and Dress; test accuracy 87.6% on 2,000 items" in quick
    assert "the five other classes, T-shirt/top, Trouser and Sandal," in quick and "Budgets 5, 10 and 40" in quick
    assert "**Why photos:**" in quick and "VGG19" not in quick
    assert "**quick** profile in live mode" in report.about("quick", live=True)
    assert "live" not in report.about("full")
    with pytest.raises(ValueError, match="profile"):
        report.about("medium")


def test_parameter_table_and_summary():
    table = report.parameter_table({"scratch": {"trainable": 1234567, "frozen": 0},
                                    "frozen": {"trainable": 1000, "frozen": 1233567}})
    assert "| Model 1: from scratch | 1,234,567 | 0 |" in table
    assert "| Model 2: frozen base, new head | 1,000 | 1,233,567 |" in table
    summary = report.summary(_result(CLEAR))
    assert summary.index("## The lecture's claims") < summary.index("## The strategy table") < summary.index(
        "## Conclusion")


def test_the_command_line_prints_the_summary_after_its_table():
    from keras_transfer import __main__ as cli

    result = _result(CLEAR)
    assert cli._report_summary("models-1-4", result) == str(report.summary(result))


def _lessons(shown):
    """The lessons of a report as `site` reads them; every non-blank line must be one, with a blank line between."""
    from keras_transfer import site

    parsed = [site.parse_lesson_line(line) for line in shown.split("\n\n")]
    assert all(lesson is not None for lesson in parsed) and "\n" not in shown.replace("\n\n", ""), shown
    return parsed


def test_lessons_are_the_two_claims_holds_fails_or_not_run():
    gain, order = _lessons(report.lessons(_result(CLEAR)))
    assert (gain.verdict, order.verdict) == ("holds", "holds")
    assert gain.text.startswith("Frozen pretrained features beat training from scratch by at least 10 points of test "
                                "accuracy with 5 labelled images per class")
    assert "Model 2 (`frozen`) 62.7% ± 3.1% against Model 1 (`scratch`) 32.3% ± 2.5%, +30.3 points" in gain.text
    assert order.text.startswith("At 40 labelled images per class the models rank scratch < frozen < fine-tuned")
    assert "scratch < frozen holds, +9.3 points" in order.text and "fine-tuned ≤ chain-thaw holds" in order.text
    weak = {**CLEAR, ("photos", 5, "frozen"): [0.33, 0.38, 0.35], ("photos", 40, "fine_tuned"): [0.79, 0.84, 0.80]}
    gain, order = _lessons(report.lessons(_result(weak)))
    assert (gain.verdict, order.verdict) == ("fails", "fails") and "+3.0 points" in gain.text
    assert "frozen < fine-tuned **fails**" in order.text and "scratch < frozen holds" in order.text
    only = {key: values for key, values in CLEAR.items() if key[2] == "frozen" and key[0] == "photos"}
    gain, order = _lessons(report.lessons(_result(only, models=("frozen",), compare_domain=None)))
    assert (gain.verdict, order.verdict) == ("not run", "not run") and "not run, this run has not both" in gain.text
    assert "scratch < frozen not run; frozen < fine-tuned not run" in order.text
    # a step not run and none failing: the order is not run; one seed: no spread
    partial = {key: values for key, values in CLEAR.items() if key[2] != "chain_thaw"}
    gain, order = _lessons(report.lessons(_result(partial, seeds=(0,))))
    assert (gain.verdict, order.verdict) == ("holds", "not run") and "(one seed, no spread)" in gain.text


def test_summary_starts_with_the_lessons():
    summary = report.summary(_result(CLEAR))
    assert summary.startswith("## Lessons\n\n**Lesson:** holds.") and summary.count("**Lesson:**") == 2
    assert summary.index("**Lesson:**") < summary.index("## The lecture's claims")


# Worked answers to the exercises (notebooks/solutions/04_models_1_4.py): one-seed live runs, synthetic here.

def _live(accuracies, **overrides):
    """A one-seed live result of five target classes, from `{(labels per class, network): test accuracy}`."""
    result = _result({("photos", n, name): [value] for (n, name), value in accuracies.items()}, seeds=(0,),
                     labels_per_class=tuple(sorted({n for n, _ in accuracies})), **overrides)
    result.metadata["class_names"] = ["a", "b", "c", "d", "e"]
    return result


def test_scratch_catch_up_answer_follows_the_gap_across_budgets():
    closing = _live({(5, "scratch"): 0.22, (5, "frozen"): 0.60, (10, "scratch"): 0.45, (10, "frozen"): 0.70,
                     (40, "scratch"): 0.78, (40, "frozen"): 0.82})
    answer = report.scratch_catch_up_answer(closing)
    assert isinstance(answer, reports.Report)
    assert "**5 labels per class:** frozen 60.0%, scratch 22.0%: a gap of +38.0 points." in answer
    assert "**From 5 to 40 labels per class the gap shrinks by 34.0 points**, at every step." in answer
    assert "does not pass the frozen base at any budget up to 40" in answer
    assert "within 5 points of chance (20.0%) at 5 labels per class" in answer
    assert ("it fails where labels are few: with 5 labels per class the pretrained base is 38.0 points ahead of the "
            "same network from random weights, with 40 +4.0 points. One seed") in answer
    passing = _live({(5, "scratch"): 0.30, (5, "frozen"): 0.40, (10, "scratch"): 0.45, (10, "frozen"): 0.60,
                     (40, "scratch"): 0.85, (40, "frozen"): 0.82})
    answer = report.scratch_catch_up_answer(passing)
    assert "the gap shrinks by 13.0 points**; it is widest at 10 labels per class." in answer
    assert "Scratch passes the frozen base at 40 labels per class." in answer
    assert "the pretrained base is 10.0 points ahead" in answer and "chance" not in answer.split("myth")[0]
    level = _live({(5, "scratch"): 0.40, (5, "frozen"): 0.40, (40, "scratch"): 0.85, (40, "frozen"): 0.82})
    assert "this seed does not refute it: with 5 labels per class scratch is level with or above frozen" \
        in report.scratch_catch_up_answer(level)
    lone = _live({(5, "scratch"): 0.3, (5, "frozen"): 0.6})
    assert "fewer than two budgets" in report.scratch_catch_up_answer(lone)


def test_large_rate_answer_reads_a_collapse_against_the_notebooks_rates():
    reference = _live({(5, "frozen"): 0.6, (40, "frozen"): 0.81, (40, "fine_tuned"): 0.83})
    collapsed = _live({(40, "frozen"): 0.81, (40, "fine_tuned"): 0.19}, fine_tune_learning_rates=(1e-2,),
                      fine_tune_decay=None)
    answer = report.large_rate_answer(reference, collapsed)
    assert "**No: at 0.01 the fine-tuned model ends 62.0 points below the frozen base** (19.0% against 81.0%" in answer
    assert "That is chance level (20.0% for 5 classes)" in answer
    assert "(0.0003 at the head, each block below / 2.6, chosen on validation)" in answer
    assert "reaches 83.0%: the large rate ends 64.0 points below it." in answer
    survived = _live({(40, "frozen"): 0.81, (40, "fine_tuned"): 0.84}, fine_tune_learning_rates=(1e-2,))
    answer = report.large_rate_answer(reference, survived)
    assert answer.startswith("- **Yes: at 0.01 the fine-tuned model ends 3.0 points above") and "chance" not in answer
    assert "not both" in report.large_rate_answer(reference, _live({(40, "frozen"): 0.8}))


def test_one_rate_answer_compares_gains_on_validation_and_test():
    reference = _live({(40, "frozen"): 0.80, (40, "fine_tuned"): 0.84})  # validation = test + 5 points
    plain = _live({(40, "frozen"): 0.80, (40, "fine_tuned"): 0.81}, fine_tune_decay=None,
                  fine_tune_learning_rates=(1e-4, 3e-4))
    answer = report.one_rate_answer(reference, plain)
    assert "| one rate for every layer | 0.0003 (of 0.0001 and 0.0003) | 86.0% | 81.0% | +1.0 points | +1.0 points |" \
        in answer
    assert "| the notebook's rates | 0.0003 (of 0.0003 and 0.001), / 2.6 per block below | 89.0% | 84.0% |" in answer
    assert "the gain over the frozen base shrinks by 3.0 points with one rate for every layer" in answer
    assert "The validation images prefer the notebook's rates; the test images agree." in answer
    flipped = _live({(40, "frozen"): 0.80, (40, "fine_tuned"): 0.79})
    flipped.rows[-1]["validation_accuracy"] = 0.95  # best on validation, worst on test
    answer = report.one_rate_answer(flipped, plain)
    assert "The validation images prefer the notebook's rates; the test images prefer one rate for every layer" \
        in answer
    level = _live({(40, "frozen"): 0.80, (40, "fine_tuned"): 0.80})
    level.rows[-1]["validation_accuracy"] = 0.86  # the same validation gain as `plain`, a lower test gain
    answer = report.one_rate_answer(level, plain)
    assert "the gain over the frozen base stays level with one rate for every layer" in answer
    assert ("The validation images cannot tell the two apart (the same gain); the test images prefer one rate for "
            "every layer: a choice made on one seed's validation images") in answer
    assert "has not both models" in report.one_rate_answer(reference, _live({(40, "frozen"): 0.8}))


def test_choosing_before_training_reads_the_scores_the_recommendations_and_the_finder():
    from keras_transfer.experiments import models_1_4 as recipe_module
    from keras_transfer.experiments.base import ExperimentResult as Result

    score_rows = [{"seed": seed, "labels_per_class": 5, "source": source, "logme": logme + 0.01 * seed,
                   "leep": leep, "nce": -1.0, "frozen_accuracy": frozen + 0.01 * seed, "fine_tuned_accuracy": frozen}
                  for seed in (0, 1)
                  for source, logme, leep, frozen in (("photos", 0.5, -1.0, 0.6), ("black", 0.2, -0.5, 0.4))]
    strategy = [{"source": "photos", "labels_per_class": 5, "winner": "frozen"},
                {"source": "black", "labels_per_class": 5, "winner": "scratch"}]
    rows = [{"model": f"fine_tuned/n5", "network": "fine_tuned", "source": "photos", "labels_per_class": 5,
             "seed": seed, "test_accuracy": 0.6, "learning_rate": 3e-4, "finder_valley": valley,
             "finder_steepest": 1e-3} for seed, valley in ((0, 1e-4), (1, 3e-4))]
    result = Result("models-1-4", "quick", rows, {}, {
        "seeds": [0, 1], "config": {"fine_tune_learning_rates": [3e-4, 1e-3]},
        "transferability": recipe_module.source_selection(score_rows),
        "recommendations": recipe_module.recommendations(strategy, score_rows)})
    table = str(report.source_score_table(result))
    assert "| 5/class | photos | 0.505 ± 0.007 | -1.000 ± 0.000 |" in table and "| 60.5% ± 0.7% |" in table
    verdict = str(report.source_score_verdict(result))
    # LogME prefers photos, which won both seeds; LEEP prefers black, which lost both
    assert "LogME 2 of 2, LEEP 0 of 2" in verdict and "**Best score here:** LogME, right in 4 of 4 choices" in verdict
    advice = str(report.recommendation_table(result))
    assert "| photos | 5/class | similar (LogME) | frozen | frozen | yes |" in advice
    assert "| black | 5/class | different (LogME) | frozen | scratch | **no** |" in advice
    assert "agrees with the measured winner in 1 of 2 cells. Where it does not: black at 5/class" in advice
    finder = str(report.finder_table(result))
    assert "| photos | 5/class | 2.0e-04 | 1.0e-03 | 3e-04 | 2 |" in finder
    assert "between 0.67 and 0.67 times the rate validation chose among 0.0003, 0.001" in finder
    assert "range start" not in finder
    result.metadata["config"]["finder_range"] = [1e-4, 1.0]  # now the valley of the median is the range's start
    result.rows[1]["finder_valley"] = 1e-4
    result.rows[0]["finder_valley"] = 1e-4
    finder = str(report.finder_table(result))
    assert "| photos | 5/class | 1.0e-04 (range start) |" in finder and "read no valley above the start" in finder
    assert "(photos at 5/class) the loss never fell" in finder
    empty = Result("models-1-4", "quick", [], {}, {"seeds": [0]})
    assert "scored no source" in str(report.source_score_table(empty))
    assert "did not run the learning-rate finder" in str(report.finder_table(empty))
