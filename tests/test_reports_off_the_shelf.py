"""`reports.off_the_shelf` on small synthetic results (no training, no Keras): the tables, and each sentence's
branches (the paper's shape holds or fails, a check not run, one seed or several, the quick profile's stand-in)."""

import statistics

from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import off_the_shelf as report

LAYERS = ("conv1", "conv2", "fc")
PAPER = {"datasets": ["Caltech-101 (30/class)", "Caltech-256 (60/class)"],
         "svm": {"1": [44.8, 24.6], "2": [66.2, 39.6], "3": [72.3, 46.0]}, "softmax": {"3": [70.0, 45.0]},
         "num_layers": 3}


def _result(svm, softmax, seeds=(0, 1), dataset="fashion_mnist_half_b", checks=(True, True, True), retrieval=True):
    """One row per layer and seed: accuracy `svm[layer] + 0.01 * seed`; the metadata the run would store."""
    rows = [{"model": layer, "layer": layer, "depth": depth, "seed": seed, "features": 4 * depth,
             "svm_accuracy": svm[depth - 1] + 0.01 * seed, "softmax_accuracy": softmax[depth - 1] + 0.01 * seed}
            for depth, layer in enumerate(LAYERS, 1) for seed in seeds]
    result = ExperimentResult("off-the-shelf", "quick", rows, {}, {})
    by_layer = result.summary(by="layer", metrics=["depth", "features", "svm_accuracy", "softmax_accuracy"])
    best = max(by_layer, key=lambda entry: entry["svm_accuracy"])
    names = ("layer 1 is the weakest", "flat near the top: the top layer within 2 points of the best",
             "softmax within 2 points of the SVM at the top")
    result.metadata = {
        "config": {"dataset": dataset}, "seeds": list(seeds), "backend": "numpy", "wall_time_s": 12.3,
        "source_seconds": 1.0, "feature_seconds": 2.0, "classifier_seconds": 3.0, "task": "Source network: a test.",
        "class_names": ["a", "b", "c", "d"], "sizes": {"train_per_seed": 120, "test": 400, "gallery": 40},
        "source_model": "tiny_vgg", "source_parameters": 12345, "by_layer": by_layer, "paper": PAPER,
        "shape_tolerance": 0.02,
        "shape_comparison": [{"property": name, "caltech101": True, "caltech256": None if name.startswith("softmax")
                              else True, "ours": holds} for name, holds in zip(names, checks)],
        "findings": {"best_layer": best["layer"], "best_depth": round(best["depth"]),
                     "best_svm_accuracy": best["svm_accuracy"], "first_layer": "conv1",
                     "first_svm_accuracy": by_layer[0]["svm_accuracy"], "top_layer": "fc",
                     "top_svm_accuracy": by_layer[-1]["svm_accuracy"],
                     "top_softmax_minus_svm": by_layer[-1]["softmax_accuracy"] - by_layer[-1]["svm_accuracy"],
                     "top_below_best": best["svm_accuracy"] - by_layer[-1]["svm_accuracy"], "chance": 0.25},
    }
    if retrieval:
        result.metadata["retrieval"] = [{"layer": layer, "depth": d, "precision@1": 0.5 + 0.1 * d,
                                         "precision@5": 0.4 + 0.1 * (d % 2)} for d, layer in enumerate(LAYERS, 1)]
    return result


def test_layer_table_reads_percent_mean_std_over_seeds_and_retrieval():
    table = report.layer_table(_result((0.30, 0.60, 0.90), (0.3, 0.6, 0.9)))
    spread = 100 * statistics.stdev([0.90, 0.91])
    assert table.splitlines()[0] == ("| depth | layer | features | SVM | softmax | retrieval precision@1 | "
                                     "retrieval precision@5 |")
    assert f"| 3 | `fc` | 12 | 90.5% ± {spread:.1f}% | 90.5% ± {spread:.1f}% | 80.0% | 50.0% |" in table
    assert report.layer_table(_result((0.3, 0.6, 0.9), (0.3, 0.6, 0.9), seeds=(4,))).count("±") == 0
    assert "retrieval" not in report.layer_table(_result((0.3, 0.6, 0.9), (0.3,) * 3, retrieval=False))


def test_paper_table_puts_layers_in_columns_with_a_dash_where_the_paper_has_none():
    table = report.paper_table(_result((0.3, 0.6, 0.9), (0.3,) * 3))
    assert "| classifier, dataset | layer 1 | layer 2 | layer 3 |" in table
    assert "| SVM, Caltech-256 (60/class) | 24.6% | 39.6% | 46.0% |" in table
    assert "| softmax, Caltech-101 (30/class) | – | – | 70.0% |" in table


def test_findings_when_the_papers_shape_holds_with_several_seeds():
    result = _result((0.30, 0.60, 0.90), (0.3, 0.6, 0.9))
    text = report.findings(result)
    assert "**Best layer:** `fc` (depth 3 of 3), 90.5% with the SVM; chance is 25.0%." in text
    assert "the weakest layer, as in Zeiler & Fergus's table" in text
    assert "0.0 points below the best layer: flat near the top" in text
    assert "One seed" not in text and "Why the top can bend" not in text
    assert "Why layer 1 is so strong" not in text  # 30.5% is below Caltech-101's 44.8%
    shapes = report.shape_checks(result)
    assert "| layer 1 is the weakest | yes | yes | yes |" in shapes
    assert "| softmax within 2 points of the SVM at the top | yes | – | yes |" in shapes  # not in the paper


def test_findings_when_the_papers_shape_fails_on_the_stand_in_with_one_seed():
    result = _result((0.80, 0.70, 0.60), (0.8, 0.7, 0.9), seeds=(0,), checks=(False, False, False))
    text = report.findings(result)
    assert "not the weakest layer, unlike Zeiler & Fergus's table" in text
    assert "20.0 points below the best layer: more than 2 points, the top layers are too specific" in text
    assert "**Why layer 1 is so strong here:**" in text and "(80.0%) better than Caltech-101's layer 1 (44.8%" in text
    assert "**Why the top can bend here:**" in text and "**One seed:**" in text
    assert "| layer 1 is the weakest | yes | yes | **no** |" in report.shape_checks(result)
    # on another task (Oxford-17) the stand-in's explanations are not given
    other = report.findings(_result((0.80, 0.70, 0.60), (0.8,) * 3, dataset="oxford17", checks=(False,) * 3))
    assert "Why layer 1" not in other and "Why the top" not in other


def test_classifier_gap_says_close_or_which_one_is_ahead():
    close = report.classifier_gap(_result((0.3, 0.6, 0.90), (0.3, 0.6, 0.91)))
    assert "| `fc` | 90.5% | 91.5% | +1.0 points |" in close
    assert close.endswith("At the top layer the two are 1.0 points apart: as close as in Zeiler & Fergus's table.")
    apart = report.classifier_gap(_result((0.3, 0.6, 0.90), (0.3, 0.6, 0.80), checks=(True, True, False)))
    assert apart.endswith("10.0 points apart: the SVM is clearly ahead here.")


def test_setup_source_network_and_conclusion():
    result = _result((0.3, 0.9, 0.6), (0.3,) * 3)
    setup = report.setup(result)
    assert "**Profile:** quick (settings: `off_the_shelf.CONFIGS['quick']`), numpy backend; seeds 0, 1." in setup
    assert "- Source network: a test." in setup and "chance: 25.0%" in setup
    assert "source network 1 s, features 2 s, classifiers 3 s, total 12 s" in setup
    assert "in live mode" in report.setup(result, live=True) and "`off_the_shelf.LIVE`" in report.setup(result, True)
    assert "`tiny_vgg`, 12,345 parameters. 3 tapped layers, from `conv1` (4 features) to `fc` (12" in (
        report.source_network(result))
    assert report.conclusion(result) == ("In this run (quick profile) the best trade-off for classification is "
                                         "`conv2` (90.5% with the SVM), and for retrieval `fc` (precision@1 80.0%).")
    assert report.conclusion(_result((0.3, 0.9, 0.6), (0.3,) * 3, retrieval=False)).endswith("with the SVM).")


def _lessons(shown):
    """The lessons of a report as `site` reads them; every non-blank line must be one, with a blank line between."""
    from keras_transfer import site

    parsed = [site.parse_lesson_line(line) for line in shown.split("\n\n")]
    assert all(lesson is not None for lesson in parsed) and "\n" not in shown.replace("\n\n", ""), shown
    return parsed


def test_lessons_one_per_shape_check_holds_fails_or_not_run():
    result = _result((0.30, 0.60, 0.90), (0.3, 0.6, 0.9))
    held = _lessons(report.lessons(result))
    assert [lesson.verdict for lesson in held] == ["holds"] * 3
    assert held[0].text.startswith("Layer 1 is the weakest layer") and "`conv1` 30.5% ± 0.7% with the SVM" in (
        held[0].text) and "60.5% ± 0.7% for the weakest of the others (`conv2`)" in held[0].text
    assert "(`conv2`), 30.0 points apart, more than the seeds' spread (0.7)." in held[0].text
    close = _lessons(report.lessons(_result((0.595, 0.60, 0.90), (0.3, 0.6, 0.9))))[0].text
    assert close.endswith("0.5 points apart, **within** the seeds' spread (0.7).")
    assert held[1].text.endswith("`fc` 90.5% ± 0.7% with the SVM, itself the best layer.")
    assert "(within 2 points): `fc` 90.5% ± 0.7% with the softmax against 90.5% ± 0.7% with the SVM" in held[2].text
    failed = _lessons(report.lessons(_result((0.80, 0.70, 0.60), (0.8, 0.7, 0.9), seeds=(0,),
                                             checks=(False, False, False))))
    assert [lesson.verdict for lesson in failed] == ["fails"] * 3
    assert "20.0 points below the best layer `conv1` (80.0%)" in failed[1].text
    mixed = _lessons(report.lessons(_result((0.3, 0.6, 0.9), (0.3,) * 3, checks=(True, None, False))))
    assert [lesson.verdict for lesson in mixed] == ["holds", "not run", "fails"]
    result.metadata["shape_comparison"] = []
    assert [lesson.verdict for lesson in _lessons(report.lessons(result))] == ["not run"]


def test_summary_is_the_lessons_then_the_conclusion_and_the_command_line_prints_it():
    from keras_transfer import __main__ as cli

    result = _result((0.3, 0.9, 0.6), (0.3,) * 3)
    summary = report.summary(result)
    assert summary.startswith("## Lessons\n\n**Lesson:** ") and summary.count("**Lesson:**") == 3
    assert summary.index("**Lesson:**") < summary.index("## Conclusion") < summary.index(str(report.conclusion(result)))
    assert cli._report_summary("off-the-shelf", result) == str(summary)


# -- Transferability scores ------------------------------------------------------------------------------------------


def _with_scores(result, logme, hscore, picked_best=(2, 1), regret=(0.0, 0.05), taus=((1.0, 0.0), (0.5, 0.2)),
                 source=True):
    """`result` with per-row scores (`logme[depth - 1] + 0.01 * seed`, same for hscore) and the metadata the run
    would store; the ranking summary is given, not computed (the experiment's tests compute it)."""
    for row in result.rows:
        row["logme"] = logme[row["depth"] - 1] + 0.01 * row["seed"]
        row["hscore"] = hscore[row["depth"] - 1] if hscore[row["depth"] - 1] == 3.0 else (
            hscore[row["depth"] - 1] + 0.01 * row["seed"])
    seeds = len(result.metadata["seeds"])
    summary = {name: {"tau": list(tau), "picked_best": picked, "regret": lost, "seeds": seeds}
               for name, tau, picked, lost in zip(("logme", "hscore"), taus, picked_best, regret)}
    paper = {"measures": ["Pearson", "weighted Kendall tau"],
             "scores": {"Caltech-101": {"hscore": [0.748, 0.721], "leep": [0.324, 0.127], "logme": [0.794, 0.697],
                                        "nce": [0.843, 0.810]}}}
    source_scores = ({"available": True, "layer": "predictions", "source_classes": 5,
                      "per_seed": [{"seed": s, "leep": -1.5 - 0.1 * s, "nce": -1.0} for s in result.metadata["seeds"]]}
                     if source else {"available": False, "reason": "the source network's output layer `pool` is not "
                                                                   "a softmax classifier"})
    result.metadata["transferability"] = {"scores": ["logme", "hscore"], "source_scores": source_scores,
                                          "ranking": {"accuracy": "svm_accuracy", "summary": summary}, "paper": paper,
                                          "seconds": 0.4}
    return result


def test_score_table_reads_each_layers_scores_mean_std_over_seeds():
    result = _with_scores(_result((0.30, 0.60, 0.90), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 3.0))
    table = report.score_table(result).splitlines()
    assert table[0] == "| depth | layer | features | LogME | H-score | SVM accuracy |"
    assert table[2] == "| 1 | `conv1` | 4 | -0.895 ± 0.007 | 1.005 ± 0.007 | 30.5% ± 0.7% |"
    assert table[4] == "| 3 | `fc` | 12 | -0.195 ± 0.007 | 3.000 ± 0.000 | 90.5% ± 0.7% |"


def test_score_ranking_and_verdict_name_the_best_score_and_its_pick():
    result = _with_scores(_result((0.30, 0.60, 0.90), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 2.5))
    ranking = report.score_ranking(result).splitlines()
    assert ranking[0] == ("| score | Kendall τ with the SVM accuracy | picked the best layer | accuracy lost by its "
                          "pick |")
    assert ranking[2:] == ["| LogME | +1.00 ± 0.00 | 2 of 2 seeds | 0.0 points |",
                           "| H-score | +0.50 ± 0.20 | 1 of 2 seeds | 5.0 points |"]
    verdict = report.score_verdict(result)
    assert ("**Best ranking of the layers:** LogME, Kendall's τ +1.00 ± 0.00 with the SVM's accuracy (mean ± std "
            "over 2 seeds), against H-score +0.50 ± 0.20.") in verdict
    assert "was the best layer in 2 of 2 seeds; taking it would have cost 0.0 points of accuracy on average." in verdict
    assert "ceiling" not in verdict  # no layer at classes - 1 = 3
    # H-score ahead, missing the winner in one seed; a layer at its ceiling on every seed.
    other = _with_scores(_result((0.30, 0.60, 0.90), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 3.0),
                         picked_best=(0, 1), regret=(0.1, 0.03), taus=((-0.2, 0.1), (0.6, 0.1)))
    verdict = report.score_verdict(other)
    assert "**Best ranking of the layers:** H-score, Kendall's τ +0.60 ± 0.10" in verdict
    assert "against LogME -0.20 ± 0.10." in verdict
    assert "in 1 of 2 seeds; taking it would have cost 3.0 points of accuracy on average (a score that agrees" in (
        verdict)
    assert "on 1 of 3 layers (`fc`) H-score reached its maximum, classes − 1 = 3: the class means differ" in verdict
    # Tied scores are both named; a constant score (NaN tau) is shown as "–" and never wins.
    tied = _with_scores(_result((0.30, 0.60, 0.90), (0.3,) * 3, seeds=(0,)), logme=(-0.9, -0.5, -0.2),
                        hscore=(1.0, 2.0, 2.5), taus=((0.4, 0.0), (0.4, 0.0)))
    assert ("**Best ranking of the layers:** LogME and H-score, Kendall's τ +0.40 with the SVM's accuracy "
            "(one seed).") in report.score_verdict(tied)
    constant = _with_scores(_result((0.30, 0.60, 0.90), (0.3,) * 3), logme=(-0.9, -0.5, -0.2),
                            hscore=(1.0, 2.0, 2.5), taus=((0.4, 0.1), (None, None)))
    assert "| H-score | – |" in report.score_ranking(constant)
    assert "**Best ranking of the layers:** LogME, Kendall's τ +0.40 ± 0.10" in report.score_verdict(constant)


def test_source_scores_are_one_number_per_network_or_say_why_not():
    result = _with_scores(_result((0.3, 0.6, 0.9), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 2.5))
    shown = report.source_scores(result)
    assert ("(`predictions`, 5 source classes) on the target's training images: LEEP -1.550 ± 0.071, "
            "NCE -1.000 ± ") in shown and "cannot rank the layers of one network" in shown
    missing = _with_scores(_result((0.3, 0.6, 0.9), (0.3,) * 3), (-0.9, -0.5, -0.2), (1.0, 2.0, 2.5), source=False)
    assert report.source_scores(missing) == ("**LEEP and NCE:** not computed: the source network's output layer "
                                             "`pool` is not a softmax classifier.")


def test_tllib_table_puts_ours_under_the_published_correlations():
    result = _with_scores(_result((0.3, 0.6, 0.9), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 2.5))
    table = report.tllib_table(result).splitlines()
    assert table[0] == "| candidates | H-score | LEEP | LogME | NCE |"
    assert table[2] == "| Caltech-101 (TLlib) | 0.75 / 0.72 | 0.32 / 0.13 | 0.79 / 0.70 | 0.84 / 0.81 |"
    assert table[3] == ("| **ours**: the layers of one network (Kendall τ) | +0.50 ± 0.20 | – | +1.00 ± 0.00 "
                        "| – |")


def test_a_result_saved_before_the_scores_says_so_and_the_summary_adds_the_verdict_when_there_are_scores():
    old = _result((0.3, 0.6, 0.9), (0.3,) * 3)
    for function in (report.score_table, report.score_ranking, report.score_verdict, report.source_scores,
                     report.tllib_table):
        assert function(old).startswith("This result has no transferability scores")
    assert "## Choosing the layer" not in report.summary(old)
    scored = _with_scores(_result((0.3, 0.6, 0.9), (0.3,) * 3), logme=(-0.9, -0.5, -0.2), hscore=(1.0, 2.0, 2.5))
    summary = report.summary(scored)
    assert summary.index("## Conclusion") < summary.index("## Choosing the layer before training") < summary.index(
        "**Best ranking of the layers:** LogME")


def test_exercise_answers_compare_two_runs_from_their_numbers():
    import numpy as np

    reference = _result((0.30, 0.60, 0.90), (0.3, 0.6, 0.9))
    fewer = _result((0.20, 0.40, 0.85), (0.2, 0.4, 0.8))
    fewer.metadata["sizes"]["train_per_seed"] = 20
    text = str(report.less_data_answer(reference, fewer))
    assert "**The best layer** with 20 training images is `fc` (85.5%), the same as 120 (90.5%)." in text
    assert "between -20.0 points (`conv2`) and -5.0 points (`fc`)" in text
    assert "above the middle of the network move by -12.5 points on average, those below it by -10.0" in text
    assert "Retrieval precision does not depend on the training set" in text
    fewer.metadata["retrieval"][0]["precision@1"] = 0.1
    assert "**Retrieval precision differs between the runs**" in str(report.less_data_answer(reference, fewer))

    def grid(layer, hits_of_class):  # 2 queries of classes 0 and 1, 4 hits each
        misses = 4 - hits_of_class
        labels = np.array([[0] * hits_of_class + [2] * misses, [1] * hits_of_class + [3] * misses])
        return {"layer": layer, "query_labels": np.array([0, 1]), "neighbor_labels": labels, "class_names": "abcd"}

    text = str(report.retrieval_answer(grid("fc", 3), grid("conv1", 1)))
    assert "**`fc`:** 75.0% of the 8 hits" in text and "**`conv1`:** 25.0% of the 8 hits" in text
    assert "less often of the query's class" in text
    assert "as often of the query's class" in str(report.retrieval_answer(grid("fc", 1), grid("conv1", 1)))

    reference.metadata["config"]["svm_c"], strong = 1.0, _result((0.30, 0.70, 0.80), (0.3, 0.6, 0.9))
    strong.metadata["config"]["svm_c"] = 0.01
    text = str(report.regularisation_answer(reference, strong))
    assert "the softmax minus the SVM is +10.0 points with C = 0.01, against +0.0 points with C = 1." in text
    assert "**The best layer** is `fc` with C = 0.01, as with C = 1." in text
    assert "moves between -10.0 points and +10.0 points" in text
