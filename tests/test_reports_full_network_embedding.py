"""`reports.full_network_embedding` on small synthetic results (no training, no Keras): the tables, the paper's
two settings beside ours, and each sentence's branches (a claim holds, fails or has no paper number; one seed or
several; the SVM converged or not; the full embedding left out)."""

from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import full_network_embedding as report

PAPER = {
    "fc6": {"mit67": 80.0, "sdogs": 78.0},
    "fc7_to_fne": {"mit67": (81.7, 83.6), "sdogs": (79.3, 78.8)},
    "average_gain": {"fc6": 2.9, "fc7": 4.2},
    "mismatched_source": {"source": "VGG16 pretrained on the other source",
                          "fc7_to_fne": {"mit67": (72.2, 75.5), "cub200": (23.6, 35.5)}},
}
METHODS = (("fc1 + SVM", "baseline"), ("fc2 + SVM", "baseline"), ("FNE: pooling", "pooling"),
           ("FNE: + standardisation", "standardisation"), ("FNE: + discretisation", "discretisation"))


def _result(accuracies, seeds=(0, 1), converged=True, methods=METHODS, dataset="fashion_mnist_half_b"):
    """One row per method and seed (accuracy `accuracies[i] + 0.02 * seed`) and the metadata the run would store,
    its verdicts computed here by hand the way `compare_with_paper` does."""
    rows = [{"model": title, "step": step, "seed": seed, "layers": ["c1", "fc1", "fc2"] if step != "baseline"
             else [title.split()[0]], "features": 40 if step != "baseline" else 16,
             "test_accuracy": accuracy + 0.02 * seed, "converged": converged or step != "pooling",
             "train_images": 60}
            for (title, step), accuracy in zip(methods, accuracies) for seed in seeds]
    result = ExperimentResult("full-network-embedding", "quick", rows, {}, {})
    by_method = result.summary(by="model", metrics=["features", "test_accuracy"])
    for entry in by_method:
        entry["converged"] = all(row["converged"] for row in rows if row["model"] == entry["model"])
    means = {entry["model"]: entry for entry in by_method}

    def verdict(claim, paper, note, better, worse):
        points = 100 * (means[better]["test_accuracy"] - means[worse]["test_accuracy"])
        spread = 100 * max(means[better]["test_accuracy_std"], means[worse]["test_accuracy_std"])
        return {"claim": claim, "paper": paper, "paper_note": note, "ours": points > 0, "points": points,
                "spread": spread}

    full = "FNE: + discretisation"
    verdicts = [] if full not in means else [
        verdict("the full embedding beats the last hidden layer (fc2 as fc7)", True, "on 1 of 2 datasets", full,
                "fc2 + SVM"),
        verdict("'FNE: + discretisation' improves on 'FNE: + standardisation'", None, "the paper gives no number",
                full, "FNE: + standardisation"),
    ]
    gains = {} if full not in means else {
        name.split()[0]: 100 * (means[full]["test_accuracy"] - means[name]["test_accuracy"])
        for name in means if name.endswith(" + SVM")}
    result.metadata = {
        "config": {"dataset": dataset, "max_iter": 500}, "seeds": list(seeds), "backend": "numpy",
        "wall_time_s": 7.6, "task": "Source network: a test.", "class_names": ["a", "b"],
        "sizes": {"train_per_seed": 60, "test": 200}, "by_method": by_method, "paper": PAPER, "gains": gains,
        "verdicts": verdicts, "value_fractions": {"-1.0": 0.25, "0.0": 0.5, "1.0": 0.25},
    }
    return result


def test_method_table_and_convergence():
    result = _result((0.80, 0.78, 0.70, 0.84, 0.86), converged=False)
    table = report.method_table(result)
    assert "| FNE: + discretisation | 40 | 87.0% ± 1.4% | yes |" in table
    assert "| FNE: pooling | 40 | 71.0% ± 1.4% | **no** |" in table
    assert report.convergence(result).startswith(
        "The SVM stopped at its iteration limit (max_iter=500) before converging for: FNE: pooling.")
    assert report.convergence(_result((0.8, 0.78, 0.7, 0.84, 0.86))) == (
        "The SVM converged within its iteration limit (max_iter=500) for every method and seed.")
    assert "±" not in report.method_table(_result((0.8, 0.78, 0.7, 0.84, 0.86), seeds=(3,)))


def test_paper_table_sets_our_last_two_layers_beside_the_papers_fc6_and_fc7():
    table = report.paper_table(_result((0.80, 0.78, 0.70, 0.84, 0.86)))
    assert "| sdogs | 78.0% | 79.3% | 78.8% | -0.5 points |" in table
    assert "| **ours** (quick profile) | 81.0% (fc1) | 79.0% (fc2) | 87.0% | +8.0 points |" in table
    assert table.endswith("+2.9 points over fc6 and +4.2 over fc7.")
    # the full embedding left out: no line of ours
    only_baselines = _result((0.80, 0.78), methods=METHODS[:2])
    assert "ours" not in report.paper_table(only_baselines)
    assert report.embedding(only_baselines).startswith("This run left out the full embedding")


def test_mismatched_source_table_shows_the_gain_in_both_settings():
    table = report.mismatched_source_table(_result((0.8, 0.78, 0.7, 0.84, 0.86)))
    assert table.startswith("Source network: VGG16 pretrained on the other source.")
    assert "| mit67 | 72.2% | 75.5% | +3.3 points | +1.9 points |" in table
    assert "| cub200 | 23.6% | 35.5% | +11.9 points | – |" in table  # not in the matched table here
    result = _result((0.8, 0.78, 0.7, 0.84, 0.86))
    result.metadata["paper"] = {key: value for key, value in PAPER.items() if key != "mismatched_source"}
    assert report.mismatched_source_table(result) == ""


def test_verdicts_hold_fail_or_have_no_paper_number():
    several = _result((0.80, 0.78, 0.70, 0.84, 0.83))  # the full embedding beats fc2, but not standardisation
    table = report.verdict_table(several)
    assert "| the full embedding beats the last hidden layer (fc2 as fc7) | yes (on 1 of 2 datasets) | yes | " \
           "+5.0 points (std 1.4) |" in table
    assert "| **no** | -1.0 points (std 1.4) |" in table and "| – (the paper gives no number) |" in table
    text = report.conclusion(several)
    assert "(fc2 as fc7): **yes**, +5.0 points; Garcia-Gasulla et al.: yes, on 1 of 2 datasets." in text
    assert "improves on 'FNE: + standardisation': **no**, -1.0 points, within the seeds' spread (1.4)." in text
    assert "One seed" not in text
    assert "**The stand-in's scale:** our embedding has 40 features from 3 layers" in text
    assert ("our best single hidden layer (81.0% on 2 classes) is within the range of the paper's fc7 baselines "
            "(79.3% to 81.7%)") in text
    several.metadata["paper"]["fc7_to_fne"] = {"a": [70.0, 75.0], "b": [60.0, 61.0]}
    assert ("a single hidden layer already reaches 81.0% on our 2 classes, above the paper's fc7 baselines (60.0% "
            "to 70.0%)") in report.conclusion(several)


def test_one_seed_and_another_dataset():
    one = _result((0.80, 0.78, 0.70, 0.84, 0.86), seeds=(0,), dataset="oxford17")
    assert "(one seed)" in report.verdict_table(one) and "(std" not in report.verdict_table(one)
    text = report.conclusion(one)
    assert "**One seed:**" in text and "within the seeds' spread" not in text and "stand-in" not in text


def test_setup_and_embedding():
    result = _result((0.80, 0.78, 0.70, 0.84, 0.86))
    setup = report.setup(result, live=True)
    assert "**Profile:** quick in live mode (settings: `full_network_embedding.CONFIGS['quick']` and " \
           "`full_network_embedding.LIVE`), numpy backend; seeds 0, 1." in setup
    assert "- Source network: a test." in setup and "**Time:** 8 s in all." in setup
    embedded = report.embedding(result)
    assert "**40 features** from 3 layers: `c1`, `fc1`, `fc2`." in embedded
    assert "(seed 0, 60 training images, 200 test images): 86.0%." in embedded
    assert "| -1 | 25.0% |" in embedded and "| 0 | 50.0% |" in embedded and "| +1 | 25.0% |" in embedded


def _lessons(shown):
    """The lessons of a report as `site` reads them; every non-blank line must be one, with a blank line between."""
    from keras_transfer import site

    parsed = [site.parse_lesson_line(line) for line in shown.split("\n\n")]
    assert all(lesson is not None for lesson in parsed) and "\n" not in shown.replace("\n\n", ""), shown
    return parsed


def test_lesson_the_embedding_beats_the_last_layer_holds_fails_or_not_run():
    (held,) = _lessons(report.lessons(_result((0.80, 0.78, 0.70, 0.84, 0.86))))
    assert held.verdict == "holds"
    assert held.text == ("The Full-Network Embedding with a linear SVM beats the last hidden layer with a linear SVM "
                         "(`fc2` as fc7): 87.0% ± 1.4% against 79.0% ± 1.4% test accuracy, +8.0 points (the larger "
                         "std over seeds 1.4 points). Garcia-Gasulla et al. (2017): yes, on 1 of 2 datasets.")
    (close,) = _lessons(report.lessons(_result((0.80, 0.86, 0.70, 0.84, 0.85))))  # below fc2, within the spread
    assert close.verdict == "fails" and "-1.0 points (the larger std over seeds 1.4 points, so within the seeds' " \
        "spread)" in close.text
    (one,) = _lessons(report.lessons(_result((0.80, 0.78, 0.70, 0.84, 0.86), seeds=(0,))))
    assert one.verdict == "holds" and "86.0% against 78.0% test accuracy, +8.0 points (one seed, no spread)" in one.text
    without_baselines = _result((0.80, 0.78, 0.70, 0.84, 0.86))  # as a run of `methods` without a baseline stores it
    without_baselines.metadata["verdicts"] = without_baselines.metadata["verdicts"][1:]
    for missing in (_result((0.80, 0.78), methods=METHODS[:2]), without_baselines):
        (not_run,) = _lessons(report.lessons(missing))
        assert not_run.verdict == "not run" and "not checked" in not_run.text


def test_summary_is_the_lesson_then_the_conclusion_and_the_command_line_prints_it():
    from keras_transfer import __main__ as cli

    result = _result((0.80, 0.78, 0.70, 0.84, 0.86))
    summary = report.summary(result)
    assert summary.startswith("## Lessons\n\n**Lesson:** holds.") and summary.count("**Lesson:**") == 1
    assert summary.endswith("## Conclusion\n\n" + report.conclusion(result))
    assert cli._report_summary("full-network-embedding", result) == str(summary)


def _with_mismatched_source(result, mismatched_gain_offset):
    """`result` with mismatched-source rows (fc2 and the full embedding on a second network) and the comparison
    `compare_sources` stores: the mismatched gain is the matched one plus `mismatched_gain_offset` per seed."""
    from keras_transfer.experiments import full_network_embedding as fne

    for row in result.rows:
        row["source"] = "matched"
    matched = {(row["model"], row["seed"]): row["test_accuracy"] for row in result.rows}
    for seed in result.metadata["seeds"]:
        fc2 = matched[("fc2 + SVM", seed)] - 0.20
        gain = matched[("FNE: + discretisation", seed)] - matched[("fc2 + SVM", seed)] + mismatched_gain_offset[seed]
        result.rows += [{"source": "mismatched", "model": "fc2 + SVM", "step": "baseline", "seed": seed,
                         "test_accuracy": fc2},
                        {"source": "mismatched", "model": "FNE: + discretisation", "step": "discretisation",
                         "seed": seed, "test_accuracy": fc2 + gain}]
    result.metadata["source_comparison"] = fne.compare_sources(result.rows, "fc2 + SVM")
    result.metadata["sources"] = {"matched": "a network on black", "mismatched": "a network on photos"}
    return result


def test_our_mismatched_source_beside_the_papers_slide_and_its_lesson():
    larger = _with_mismatched_source(_result((0.80, 0.78, 0.70, 0.84, 0.86)), {0: 0.05, 1: 0.07})
    table = report.mismatched_source_table(larger)
    assert "| **ours** (quick profile) | 59.0% ± 1.4% (fc2) | 73.0% ± 2.8% | +14.0 ± 1.4 points | " \
           "+8.0 ± 0.0 points |" in table
    assert table.endswith("Ours: mismatched source a network on photos; matched source a network on black.")
    assert report.method_table(larger) == report.method_table(_result((0.80, 0.78, 0.70, 0.84, 0.86)))
    held, source = _lessons(report.lessons(larger))
    assert held.verdict == "holds" and "87.0% ± 1.4% against 79.0% ± 1.4%" in held.text  # matched rows only
    assert source.verdict == "holds" and source.text == (
        "The Full-Network Embedding gains more over the last hidden layer on the mismatched source: +14.0 ± 1.4 "
        "points against +8.0 ± 0.0 points on the matched source, a difference of +6.0 points (paired by seed, std "
        "of the difference 1.4 points). Garcia-Gasulla et al. (2017): yes, on 7 of 7 datasets.")
    noisy = _with_mismatched_source(_result((0.80, 0.78, 0.70, 0.84, 0.86)), {0: -0.02, 1: 0.06})
    (_, within) = _lessons(report.lessons(noisy))
    assert within.verdict == "fails" and "(paired by seed, std of the difference 5.7 points, so within the " \
        "seeds' spread)" in within.text
    one = _with_mismatched_source(_result((0.80, 0.78, 0.70, 0.84, 0.86), seeds=(0,)), {0: -0.01})
    (_, fewer) = _lessons(report.lessons(one))
    assert fewer.verdict == "fails" and "-1.0 points (one seed, no spread)" in fewer.text
    assert report.source_lesson(_result((0.80, 0.78, 0.70, 0.84, 0.86))) == ""


def test_worked_answers_compare_an_exercise_with_the_reference():
    reference = _result((0.80, 0.78, 0.70, 0.84, 0.86), seeds=(0,))
    reference.metadata["config"]["thresholds"] = [-0.25, 0.15]
    wide = _result((0.80, 0.78, 0.70, 0.84, 0.83), seeds=(0,))
    wide.metadata["config"]["thresholds"] = [-1.0, 1.0]
    wide.metadata["value_fractions"] = {"-1.0": 0.1, "0.0": 0.8, "1.0": 0.1}
    text = report.thresholds_answer(reference, wide)
    assert "**Sparser:** 80.0% of the discretised values are 0 with thresholds (-1.0, 1.0)" in text
    assert "falls by 3.0 points: 83.0% against 86.0%" in text and "the same in both runs" in text

    five = _result((0.70, 0.66, 0.60, 0.76, 0.79), seeds=(0,))
    five.metadata["sizes"]["train_per_seed"] = 10
    text = report.less_data_answer(reference, five)
    assert "**The gain over `fc2`** grows by 5.0 points: +13.0 points with 10 training images against +8.0 " in text
    assert "**The gain over `fc1`** grows by 3.0 points" in text
    assert "between -12.0 points (fc2 + SVM) and -7.0 points (FNE: + discretisation)" in text

    early = _result((0.80, 0.78, 0.50, 0.79, 0.72), seeds=(0,))
    text = report.layers_answer(reference, early)
    assert "The best step, FNE: + standardisation, reaches 79.0%: +1.0 points against the last hidden layer" in text
    assert "**Adding standardisation**, the accuracy rises by 29.0 points" in text
    assert "**Adding discretisation**, the accuracy falls by 7.0 points" in text

    no_full = _result((0.80, 0.78, 0.70, 0.84), seeds=(0,), methods=METHODS[:4])
    assert "nothing to compare" in report.thresholds_answer(reference, no_full)
    assert "nothing to compare" in report.layers_answer(reference, no_full)
