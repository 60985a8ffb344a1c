"""The reports of notebook 06 (`keras_transfer.reports.dann`) on small synthetic results: no training, milliseconds.

The results are built the way the recipe builds them (`experiment.gap_closed`, `experiment._fill_dann_rows`), so the
reports read the metadata they will meet; the cases cover a lesson that holds, one that fails, one with no gap to
measure (not run), a single seed, and the `full` profile's data, for which the offline data's sentences stay out.
"""

import numpy as np
import pytest

from keras_transfer import reports
from keras_transfer import site
from keras_transfer.experiments import dann as experiment
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import dann as dann_reports


def fake_result(accuracies, *, profile="quick", models=experiment.MODELS, validation_shift=0.05):
    """A result as `experiment.run` returns it, from `{seed: (source_only, dann, train_on_target)}` target test
    accuracies; source accuracies are 0.97 and the domain classifier ends at 0.9 (observers) or 0.7 (DANN)."""
    config = {**experiment.CONFIGS[profile]}
    rows = []
    for seed, values in accuracies.items():
        for model, value in zip(experiment.MODELS, values):
            if model in models:
                rows.append({"model": model, "seed": seed, "target_accuracy": value, "source_accuracy": 0.97,
                             "domain_accuracy": 0.7 if model == "dann" else 0.9,
                             "target_validation_accuracy": value + validation_shift})
    experiment._fill_dann_rows(rows)
    gap = experiment.gap_closed(rows)
    metadata = {
        "task": "MNIST → MNIST-M", "source": config["source"], "config": {**config, "models": list(models)},
        "titles": dict(experiment.MODEL_TITLES), "sizes": {"source_train": 3500, "target_train": 3500},
        "gap_closed": gap,
        "paper_table_1": [{**entry, "gap_closed": experiment._gap(*(entry[m] for m in experiment.MODELS))}
                          for entry in experiment.PAPER_TABLE_1],
        "outcome": {"goal": experiment.GAP_GOAL, "mean": gap["mean"], "every_seed_positive": gap["every_seed_positive"],
                    "holds": gap["mean"] is not None and gap["mean"] >= experiment.GAP_GOAL
                    and gap["every_seed_positive"]},
        "gap_closed_validation": experiment.gap_closed(rows, key="target_validation_accuracy"),
    }
    return ExperimentResult("dann", profile, rows, metadata=metadata)


HOLDS = {0: (0.5, 0.7, 0.9), 1: (0.4, 0.6, 0.8), 2: (0.6, 0.75, 0.9)}  # gaps 50%, 50%, 50%
FAILS = {0: (0.5, 0.8, 0.9), 1: (0.5, 0.45, 0.9)}  # gaps 75%, -12.5%: a mean of 31% but one seed loses


def test_a_lesson_that_holds():
    result = fake_result(HOLDS)
    assert dann_reports.lesson_holds(result) is True
    table = dann_reports.seed_table(result)
    assert isinstance(table, reports.Report)
    assert "| seed | source only | DANN | train on target | gap closed |" in table
    assert "| 0 | 50.0% | 70.0% | 90.0% | 50.0% |" in table
    assert "| mean ± std | 50.0% ± 10.0% | 68.3% ± 7.6% | 86.7% ± 5.8% | 50.0% ± 0.0% |" in table
    sentences = dann_reports.gap_sentences(result)
    assert "DANN closes 50% ± 0% of the gap (over 3 seeds; the paper: 58% on MNIST → MNIST-M)" in sentences
    assert "it gains over source only on 3 of 3" in sentences and "is **met**." in sentences
    # quick's validation digits are blended with tiles of their own; the tiles sentence counts the 11 photos
    assert "blended with tiles of the photos that neither the training nor the test images use" in sentences
    assert "Every target split here samples the same 11 photos" in sentences
    assert dann_reports.seeds(result) == reports.Report.join(table, sentences)
    conclusion = dann_reports.conclusion(result)
    assert conclusion.startswith("- On MNIST → MNIST-M, DANN's target accuracy is 68.3% against 50.0%")
    assert "with every seed gaining." in conclusion and "the adapted features are harder to tell apart" in conclusion
    assert "3,500 digits per domain and 2,000 steps already show the paper's effect" in conclusion


def test_a_lesson_that_fails():
    result = fake_result(FAILS)
    assert result.metadata["gap_closed"]["mean"] >= experiment.GAP_GOAL  # the mean alone would pass
    assert dann_reports.lesson_holds(result) is False
    sentences = dann_reports.gap_sentences(result)
    assert "it gains over source only on 1 of 2" in sentences and "is **not met**." in sentences
    assert "| 1 | 50.0% | 45.0% | 90.0% | -12.5% |" in dann_reports.seed_table(result)
    conclusion = dann_reports.conclusion(result)
    assert "but not on every seed." in conclusion and "are not enough to show" in conclusion


def test_no_gap_to_measure_is_not_run():
    flat = fake_result({0: (0.6, 0.7, 0.6), 1: (0.5, 0.5, 0.4)})  # train on target never beats source only
    assert dann_reports.lesson_holds(flat) is None
    assert dann_reports.gap_sentences(flat) == "Train on target did not beat source only on any seed: there is no " \
                                                "gap to close in this run."
    assert "| 0 | 60.0% | 70.0% | 60.0% | – |" in dann_reports.seed_table(flat)
    conclusion = dann_reports.conclusion(flat)
    assert "That closes" not in conclusion and "digits per domain" not in conclusion
    # exercise 1 trains two of the three models: every report still renders, with "–" for what is missing
    two = fake_result(HOLDS, models=("source_only", "dann"))
    assert dann_reports.lesson_holds(two) is None and dann_reports.seed_table(two) == ""
    assert "| MNIST → MNIST-M | ours (quick, 3 seeds) | 50.0% ± 10.0% | 68.3% ± 7.6% | – | – |" in (
        dann_reports.paper_table(two))
    assert "train on target" not in dann_reports.paper_comparison(two).split("\n\n")[1]
    assert "and – for train on target" in dann_reports.conclusion(two)
    assert "source only 90.0%, DANN 70.0%." in dann_reports.domain_classifier(two)


def test_a_single_seed():
    result = fake_result({4: (0.5, 0.7, 0.9)})
    table = dann_reports.seed_table(result)
    assert "| 4 | 50.0% | 70.0% | 90.0% | 50.0% |" in table and "mean ± std" not in table
    assert "DANN closes 50% of the gap (over 1 seed;" in dann_reports.gap_sentences(result)
    assert "| MNIST → MNIST-M | ours (quick, 1 seed) | 50.0% | 70.0% | 90.0% | 50.0% |" in (
        dann_reports.paper_table(result))


def test_paper_table_and_comparison():
    result = fake_result(HOLDS)
    table = dann_reports.paper_table(result)
    assert "| source → target | from | source only | DANN | train on target | gap closed |" in table
    assert "| MNIST → MNIST-M | paper | 57.5% | 81.5% | 98.9% | 57.9% |" in table
    assert "| Syn Signs → GTSRB | paper | 74.0% | 88.7% | 99.9% | 56.7% |" in table
    comparison = dann_reports.paper_comparison(result)
    assert "Source only: 50.0% on the target test set against 97.0% on the source test set (the paper: 57.5% on " \
           "the target); train on target: 86.7% (the paper: 98.9%)." in comparison
    assert "This run trains on 3,500 digits per domain instead of MNIST's 60,000, with crops of 11 photos" in comparison
    classifier = dann_reports.domain_classifier(result)
    assert "(chance 50%): source only 90.0%, DANN 70.0%, train on target 90.0%." in classifier
    assert "Source test accuracy: source only 97.0%, DANN 97.0%: what adapting costs" in classifier


def test_the_full_profile_shows_no_offline_data_sentence():
    result = fake_result(HOLDS, profile="full")
    assert "This run trains on" not in dann_reports.paper_comparison(result)
    assert "digits per domain" not in dann_reports.conclusion(result)
    sentences = dann_reports.gap_sentences(result)
    assert "Every target split here" not in sentences  # full gives each split photos of its own
    assert "blended with the training photos" in sentences  # BSDS500 has no validation photos apart


def test_settings_and_data_sizes():
    quick = dann_reports.settings(experiment.CONFIGS["quick"], "quick")
    assert "come from the `quick` profile (settings: `experiment.CONFIGS['quick']`)." in quick
    assert "500 training digits held out for validation; 2,000 steps of 64 source + 64 target images per network, " \
           "μ0 = 0.01, α = 2 (the paper: 10, see below); seeds 0, 1, 2." in quick
    live = dann_reports.settings({**experiment.CONFIGS["quick"], **experiment.LIVE["quick"]}, "quick", live=True)
    assert "in live mode" in live and "with `experiment.LIVE['quick']`" in live and "800 steps" in live
    assert live.endswith("seeds 0.")
    full = dann_reports.settings(experiment.CONFIGS["full"], "full", seeds=(7,))
    assert "α = 10;" in full and "seeds 7." in full and "BSDS500" in full
    data = {f"{domain}_{split}": (np.zeros((count, 2, 2, 3)), np.zeros(count))
            for domain in ("source", "target") for split, count in (("train", 1200), ("validation", 5), ("test", 9))}
    sizes = dann_reports.data_sizes(data)
    assert "| train | 1,200 | 1,200 |" in sizes and "| test | 9 | 9 |" in sizes


@pytest.mark.parametrize("report", [dann_reports.seeds, dann_reports.paper_comparison, dann_reports.domain_classifier,
                                    dann_reports.conclusion, dann_reports.lessons, dann_reports.summary])
def test_every_report_renders_in_jupyter(report):
    rendered = report(fake_result(HOLDS))
    assert rendered._repr_markdown_() == str(rendered) and "{" not in rendered  # no Python dict in the text


def _lesson(text):
    """The one lesson line of `text`, as `site` reads it (the site's own parser)."""
    found = [lesson for lesson in map(site.parse_lesson_line, text.splitlines()) if lesson is not None]
    assert len(found) == 1
    return found[0]


def test_the_lesson_line_holds_fails_or_is_not_run():
    held = _lesson(dann_reports.lessons(fake_result(HOLDS)))
    assert held.verdict == "holds" and held.text.startswith("DANN closes at least 30% of the gap")
    assert "it closes 50% ± 0% over 3 seeds, gaining on 3 of 3 (the paper: 58% on MNIST → MNIST-M)." in held.text
    failed = _lesson(dann_reports.lessons(fake_result(FAILS)))  # a mean above the goal, but one seed loses
    assert failed.verdict == "fails" and "31% ± 62% over 2 seeds, gaining on 1 of 2" in failed.text
    flat = _lesson(dann_reports.lessons(fake_result({0: (0.6, 0.7, 0.6), 1: (0.5, 0.5, 0.4)})))
    assert flat.verdict == "not run" and "no gap to measure" in flat.text
    two = _lesson(dann_reports.lessons(fake_result(HOLDS, models=("source_only", "dann"))))
    assert two.verdict == "not run"


def test_summary_is_the_lesson_the_seed_table_and_the_conclusion():
    result = fake_result(HOLDS)
    text = dann_reports.summary(result)
    assert text.index(dann_reports.lessons(result)) < text.index(dann_reports.seed_table(result)) < text.index(
        dann_reports.conclusion(result))
    assert _lesson(text).verdict == "holds"


# Worked answers to the exercises (notebooks/solutions/06_dann.py): one-seed live runs, synthetic here.

def _live(values, models=experiment.MODELS, validation_shift=0.05, **config):
    result = fake_result({0: values}, models=models, validation_shift=validation_shift)
    result.metadata["config"].update(seeds=(0,), **config)
    return result


def test_reversal_off_answer_finds_source_only_again():
    reference = _live((0.5, 0.65, 0.9))
    off = _live((0.5, 0.5, 0.9), models=("source_only", "dann"), max_strength=0.0)
    for row in off.rows:
        row["domain_accuracy"] = 0.9  # without the reversal, DANN's domain classifier only watches
    answer = dann_reports.reversal_off_answer(reference, off)
    assert "| run | network | target validation | target test | source test | domain classifier |" in answer
    assert "| max_strength=0 | DANN | 55.0% | 50.0% | 97.0% | 90.0% | – | – |" in answer  # no train on target
    assert "| the notebook's | DANN | 70.0% | 65.0% | 97.0% | 70.0% | 38% | 38% |" in answer
    assert ("**Without the reversal, DANN's target test accuracy equals source only's to the last digit** (50.0% "
            "against 50.0%), and its domain classifier's accuracy equals source only's to the last digit (90.0% "
            "against 90.0%): the same network.") in answer
    assert "DANN is +15.0 points against source only" in answer and "ends -20.0 points against the observer" in answer
    assert "comes from the reversed gradient" in answer
    apart = _live((0.5, 0.55, 0.9), models=("source_only", "dann"), max_strength=0.0)
    answer = dann_reports.reversal_off_answer(reference, apart)
    assert "accuracy is 5.0 points above source only's** (55.0% against 50.0%)" in answer
    assert "is 20.0 points below source only's (70.0% against 90.0%)." in answer
    assert "comes from the reversed gradient" not in answer


def test_learning_rate_answer_reads_the_gap_on_validation_and_test():
    reference = _live((0.5, 0.7, 0.9), learning_rate=0.01)
    faster = _live((0.55, 0.45, 0.95), learning_rate=0.03)
    answer = dann_reports.learning_rate_answer(reference, faster)
    assert "| μ0 = 0.03 | DANN | 50.0% | 45.0% |" in answer
    assert "**On the validation images DANN closes -25% of the gap** at μ0 = 0.03, against 50% at μ0 = 0.01." \
        in answer
    assert "**On the test images DANN closes -25% of the gap**" in answer
    assert "source only +5.0 points, DANN -25.0 points, train on target +5.0 points" in answer
    assert "DANN is **not above** source only on the target test images (45.0% against 55.0%)" in answer
    better = _live((0.5, 0.75, 0.9), learning_rate=0.03)
    assert "DANN is above source only" in dann_reports.learning_rate_answer(reference, better)


def test_unseen_photos_answer_compares_both_splits_of_the_photos():
    reference = _live((0.5, 0.7, 0.9), photo_split="tiles")
    unseen = _live((0.4, 0.5, 0.9), photo_split="photos", validation_shift=0.2)
    answer = dann_reports.unseen_photos_answer(reference, unseen)
    assert "| photo_split='photos' | DANN | 70.0% | 50.0% |" in answer
    assert ("**On the test images DANN closes 20% of the gap** with photos of their own, against 50% with tiles of "
            "the photos DANN trained on (-30 points).") in answer
    # validation: (0.7 - 0.6) / (1.1 - 0.6) = 20% with photos; the same shift keeps 50% with tiles
    assert "**On the validation images DANN closes 20% of the gap** with photos of their own, against 50%" in answer
    assert "the validation and the test images are 0 points apart" in answer
    no_validation = _live((0.4, 0.5, 0.9), photo_split="photos")
    no_validation.metadata["gap_closed_validation"] = None
    answer = dann_reports.unseen_photos_answer(reference, no_validation)
    assert "**On the test images DANN closes 20% of the gap**" in answer and "validation images DANN" not in answer
    flat = _live((0.5, 0.5, 0.5), photo_split="photos")
    assert "One of the runs has no gap to measure." in dann_reports.unseen_photos_answer(reference, flat)
