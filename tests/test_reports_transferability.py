"""The reports of notebook 03 (`keras_transfer.reports.transferability`), on small synthetic results: no training."""

import fixtures
import pytest

from keras_transfer import reports
from keras_transfer.experiments import transferability_analysis as analysis
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import transferability as report

PAPER_LIKE = fixtures.YOSINSKI_FIGURE_2
FLAT = {key: ([0.625] * 7 if key != "baseB" else 0.625) for key in PAPER_LIKE}


def _config(**changes):
    return {"dataset": "fashion_mnist", "split_seed": 7, "seeds": [0, 1], "n_values": [1, 2, 3, 4, 5, 6, 7],
            "families": ["BnB", "AnB", "BnB+", "AnB+"], "train_per_class_a": 600, "train_per_class_b": 20,
            "epochs_a": 6, "epochs_b": 100, "patience_b": 15, "batch_size": 32, "learning_rate": 0.001,
            "filters": [32, 64, 96, 96, 64], "kernel_sizes": [5, 3, 3, 3, 3], "units": [256, 256], "dropout": 0.5,
            **changes}


def _result(means, seeds=(0, 1), spread=0.002, profile="quick", families=None, **config):
    """Rows around `means`, seed s shifted by `spread * (s - 0.5)` (base B too, so paired differences are exact)."""
    rows = [{"family": "baseB", "n": 0, "seed": s, "test_accuracy": means["baseB"] + spread * (s - 0.5),
             "epochs": 30 + s, "epochs_trained": 45 + s} for s in seeds]
    for family in families or ("BnB", "AnB", "BnB+", "AnB+"):
        for n, value in enumerate(means[family], start=1):
            if value is None:
                continue
            for seed in seeds:
                rows.append({"family": family, "n": n, "seed": seed, "test_accuracy": value + spread * (seed - 0.5),
                             "epochs": 10 + n, "epochs_trained": 25 + n})
    metadata = {
        "config": _config(seeds=list(seeds), **config), "backend": "tensorflow",
        "class_names": {"a": ["T-shirt/top", "Trouser", "Dress", "Sneaker", "Bag"],
                        "b": ["Pullover", "Coat", "Sandal", "Shirt", "Ankle boot"]},
        "train_size": {"a": 3000, "b": 100}, "validation_size": {"b": 250}, "test_size": {"a": 5000, "b": 1000},
        "input_shape": [28, 28, 1], "runs_trained": 3, "runs_resumed": 5, "training_time_s": 90.0,
        "training_cpu_time_s": 150.0, "paper_pattern": dict(analysis.PAPER_PATTERN),
        "comparison": analysis.compare_with_paper(rows), "wall_time_s": 100.0,
        "finished_at": "2026-12-01 10:00 UTC", "machine": "Linux x86_64, 2 cores",
    }
    return ExperimentResult(name="transferability", profile=profile, rows=rows, metadata=metadata)


def test_every_report_is_a_rendered_report():
    result = _result(PAPER_LIKE)
    for function in (report.setup, report.departures, report.accuracy_table, report.comparison_table,
                     report.precision, report.patterns, report.discussion, report.conclusion):
        shown = function(result)
        assert isinstance(shown, reports.Report) and shown._repr_markdown_() == str(shown) != ""
    assert "{" not in report.setup(result) and "(0, 1)" not in report.setup(result)  # no dict or tuple in a sentence


def test_accuracy_table_reads_percent_mean_and_spread_one_line_per_family():
    table = report.accuracy_table(_result(PAPER_LIKE))
    lines = table.splitlines()
    assert lines[0] == "| family | n = 1 | n = 2 | n = 3 | n = 4 | n = 5 | n = 6 | n = 7 |"
    assert lines[2].startswith("| base B (n = 0) | 62.5% ± 0.1% | 62.5% ± 0.1% |")
    assert lines[4].startswith("| AnB | 62.3% ± 0.1% | 62.0% ± 0.1% | 60.5% ± 0.1% |")
    assert [line.split(" |")[0] for line in lines[3:]] == ["| BnB", "| AnB", "| BnB+", "| AnB+"]
    single = report.accuracy_table(_result(PAPER_LIKE, seeds=(0,)))
    assert "| AnB | 62.2% | 61.9% |" in single and "±" not in single  # one seed: the value alone


def test_comparison_table_gives_the_papers_pattern_ours_and_a_verdict():
    table = report.comparison_table(_result(PAPER_LIKE))
    assert table.splitlines()[0] == "| family | Yosinski et al. 2014 (Fig. 2) | ours (points vs base B) | agrees |"
    assert "| AnB | close to base B at n = 1-2" in table
    assert "loses 8.50 ± 0.00 points from n=3 to n=7 | yes |" in table
    flat = report.comparison_table(_result(FLAT))
    assert flat.count("| **no** |") == 3 and flat.count("| yes |") == 1
    only_n1 = report.comparison_table(_result({**PAPER_LIKE, "AnB": [0.62]}, families=("AnB",)))
    assert "| n/a (grid too small) |" in only_n1 and "no two n from 3 up" in only_n1


def test_patterns_hold_fail_and_say_why():
    shown = report.patterns(_result(PAPER_LIKE))
    assert shown.startswith("- Base B: 62.50% ± 0.14% on B's test set over 2 seeds")
    assert "- **AnB**: loses 8.50 ± 0.00 points from n=3 to n=7 — as in the paper (close to base B" in shown
    assert "at 7 of 7 n; points: n=1: +1.40 ± 0.00; n=2: +1.60 ± 0.00; n=3: +1.80 ± 0.00" in shown  # AnB+ - BnB+
    assert shown.endswith("- Of the paper's 4 family patterns, 4 hold here (BnB, AnB, BnB+, AnB+).")
    assert "Why" not in shown  # every pattern holds: nothing to explain
    flat = report.patterns(_result(FLAT))
    assert flat.endswith("- Of the paper's 4 family patterns, 1 hold here (BnB+); not BnB, AnB, AnB+.")
    why = [line.strip() for line in flat.splitlines() if line.lstrip().startswith("- Why")]
    assert [line.split(":")[0] for line in why] == ["- Why AnB differs", "- Why AnB+ differs", "- Why BnB differs"]
    assert "at n = 1, 2, 3, 4, 5, 6, 7 the gain over base B is smaller than its spread over seeds" in why[1]
    assert "varies by ± 0.14 points between seeds" in why[1]
    # AnB+ above base B at 6 of 7 n holds (five are needed); at 4 of 7 it fails, and says where it fell below
    assert "Why AnB+" not in report.patterns(_result({**PAPER_LIKE, "AnB+": [0.64] * 6 + [0.6]}))
    below = report.patterns(_result({**PAPER_LIKE, "AnB+": [0.64] * 4 + [0.6] * 3}))
    assert "Why AnB+ differs: at n = 5, 6, 7 AnB+ ends below base B" in below
    # BnB+ above base B everywhere still holds (not below), with a note that base B did not reach its best
    above = report.patterns(_result({**PAPER_LIKE, "BnB+": [0.66] * 7}))
    assert "Why BnB+" not in above and "- **BnB+**: within the seed spread of base B at 0 of 7 n, above at 7" in above
    assert "BnB+ ends above base B at n = 1, 2, 3, 4, 5, 6, 7: a second training that starts from base B's" in above
    # BnB+ below base B at 3 of 7 n fails (two may miss), with the fit of its training images beside base B's
    result = _result({**PAPER_LIKE, "BnB+": [0.61] * 3 + [0.625] * 4})
    for row in result.rows:
        row["train_accuracy"] = {"baseB": 0.9, "BnB+": 0.98}.get(row["family"], 0.95)
    fails = report.patterns(result)
    assert ("Why BnB+ differs: BnB+ ends below base B by more than the seed spread at n = 1, 2, 3, more than the 2 "
            "n the pattern allows") in fails
    assert "lands 1.50 points under base B on average (training accuracy 98.0% against base B's 90.0%)." in fails


def test_a_single_seed_has_no_spread_and_says_so():
    result = _result(FLAT, seeds=(0,))
    shown = report.patterns(result)
    assert "over 1 seed;" in shown and "±" not in shown.splitlines()[0]
    assert "smaller than half a point (one seed: no spread to compare with)" in shown
    assert "below what 1 seed can resolve." in shown
    assert "1 seed per point" in report.precision(result)


def test_a_grid_without_some_families_or_n_reports_not_run():
    live_like = _result({**PAPER_LIKE, "AnB": [0.62]}, families=("AnB",))
    shown = report.patterns(live_like)
    assert "— not measurable on this grid" in shown and "AnB+ against BnB+" not in shown
    assert shown.endswith("- Of the paper's 1 family patterns, 0 hold here.")
    assert report.steepest_step(live_like) == ""  # one n: no step to measure
    conclusion = report.conclusion(live_like)
    assert "Specificity" not in conclusion and "Co-adaptation" not in conclusion and "AnB+ beats" not in conclusion
    assert "- In all, 0 of the paper's 1 family patterns hold in this run." in conclusion
    # a result saved without its comparison: computed from the rows
    del live_like.metadata["comparison"]
    assert report.patterns(live_like) == shown


def test_precision_is_the_sampling_error_of_base_bs_accuracy():
    shown = report.precision(_result(PAPER_LIKE))
    # sqrt(0.625 * 0.375 / 1000) = 0.0153
    assert "Base B is right on 62.5% of B's 1,000 test images" in shown and "about 1.53 points" in shown
    assert "2 seeds per point" in shown


def test_steepest_step_and_the_quick_profiles_target_data():
    result = _result({**PAPER_LIKE, "AnB": [0.62, 0.62, 0.61, 0.60, 0.55, 0.54, 0.53]})
    assert report.steepest_step(result) == ("AnB's steepest step down is from n=4 to n=5 (-5.00 points): where base "
                                            "A's features turn specific to A on this data.")
    rising = _result({**PAPER_LIKE, "AnB": [0.60, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66]})
    assert report.steepest_step(rising) == "AnB never loses accuracy from one n to the next here."
    quick = report.target_data(result)
    assert "B is Pullover, Coat, Sandal, Shirt, Ankle boot, with 20 training images per class" in quick
    assert "Base B reaches 62.5% on it, 37.5 points below a perfect score" in quick
    assert report.target_data(_result(PAPER_LIKE, profile="smoke")) == ""
    assert "quick stand-in" in report.discussion(result)
    assert "quick stand-in" not in report.discussion(_result(PAPER_LIKE, profile="full"))


def test_conclusion_follows_the_verdicts_and_the_profile():
    held = report.conclusion(_result(PAPER_LIKE))
    assert "- Specificity: frozen features of base A grow specific from layer 3 to layer 7 (AnB loses 8.50 points)." \
        in held
    assert ("AnB+ beats base B by more than the seed spread at 7 of 7 n (mean gain +1.40 points to +1.70 points), so "
            "the lesson holds here (it needs 5)") in held
    assert ("- Fine-tuning repairs the co-adaptation: BnB+ is within the seed spread of base B or above at 7 of 7 n, "
            "so the lesson holds here (it needs 5).") in held
    assert "- Co-adaptation: BnB dips in the middle of the network, as in the paper." in held
    assert "- In all, 4 of the paper's 4 family patterns hold in this run (BnB, AnB, BnB+, AnB+)." in held
    assert held.endswith("run the `full` profile (CIFAR-100 halves, three seeds, a GPU).")
    flat = report.conclusion(_result(FLAT, profile="full"))
    assert "do not measurably grow more specific" in flat and "shows no dip" in flat
    assert "AnB+ beats base B by more than the seed spread at 0 of 7 n" in flat and "lesson fails here" in flat
    assert "; BnB, AnB, AnB+ not." in flat and "quick stand-in" not in flat


def test_departures_state_the_runs_own_settings_beside_the_paper():
    table = report.departures(_result(PAPER_LIKE, patience_b=1, epochs_b=2))
    assert table.splitlines()[0] == "|  | Yosinski et al. (2014) | this run |"
    assert "| optimizer | SGD with momentum" in table
    assert "Adam (`yosinski.train_network`), learning rate 0.001" in table
    assert "early stopping on B's validation accuracy (patience 1, at most 2 epochs)" in table
    assert "Fashion-MNIST (items on black): 5 + 5 classes, 3,000 + 100 training images, 28x28x1" in table
    pasted = report.departures(_result(PAPER_LIKE, dataset="pasted_fashion_mnist"))
    assert "| data | ImageNet" in pasted and "Fashion-MNIST items pasted on crops of colour photos: 5 + 5" in pasted
    assert "filters 32, 64, 96, 96, 64; kernels 5, 3, 3, 3, 3" in table and "(2 seeds)" in table
    fixed = report.departures(_result(PAPER_LIKE, patience_b=None, epochs_b=40))
    assert "every network of the grid: a fixed 40 epochs" in fixed and "chose the settings" in fixed


def test_describe_training_states_the_stopping_rule_and_the_epochs_it_chose():
    result = _result(PAPER_LIKE)
    result.rows[0]["epochs_trained"] = 100
    sentence = report.describe_training(result)
    assert "not improved for 15 epochs (at most 100)" in sentence and "base B's best epoch 30/31 (per seed)" in sentence
    assert "the grid's 11-17 (median 14)" in sentence and "1 of 58 networks reached the cap" in sentence
    result.metadata["config"] = _config(patience_b=None, epochs_b=40)
    assert report.describe_training(result) == "Every network trained on B trains for 40 epochs (no early stopping)."


def test_setup_says_where_the_result_comes_from_and_what_it_trained():
    shown = report.setup(_result(PAPER_LIKE), live=True)
    assert shown.startswith("Trained now: trained on 2026-12-01 10:00 UTC")
    assert "**quick** profile in live mode (settings: `transferability.CONFIGS['quick']` and `transferability.LIVE`)" \
        in shown
    assert "- Seeds 0, 1; n = 1, 2, 3, 4, 5, 6, 7; families BnB, AnB, BnB+, AnB+." in shown
    assert "- Half B: Pullover, Coat, Sandal, Shirt, Ankle boot." in shown
    assert "100 of B (20 per class)" in shown and "Runs trained now: 3, read back from the folder: 5" in shown
    assert "1.5 min (2.5 CPU-min)" in shown
    assert "live mode" not in report.setup(_result(PAPER_LIKE))


def test_layer_table_numbers_the_weighted_layers():
    assert report.layer_table(["conv1", "fc8"]) == "| n | layer |\n|---|---|\n| 1 | `conv1` |\n| 2 | `fc8` |"


@pytest.mark.parametrize("family", ["AnB", "BnB+"])
def test_why_is_none_where_the_pattern_holds(family):
    result = _result(PAPER_LIKE)
    entry = next(entry for entry in result.metadata["comparison"] if entry["family"] == family)
    assert report.why(family, entry, result) is None


def _lessons(shown):
    """The lessons of a report as `site` reads them; every non-blank line must be one, with a blank line between."""
    from keras_transfer import site

    parsed = [site.parse_lesson_line(line) for line in shown.split("\n\n")]
    assert all(lesson is not None for lesson in parsed) and "\n" not in shown.replace("\n\n", ""), shown
    return parsed


def test_lessons_one_per_pattern_of_the_paper_holds_fails_or_not_run():
    held = _lessons(report.lessons(_result(PAPER_LIKE)))
    assert [lesson.verdict for lesson in held] == ["holds"] * 4
    assert [lesson.text.split(",")[0] for lesson in held] == ["AnB", "AnB+", "BnB", "BnB+"]
    assert held[0].text.endswith("this run: loses 8.50 ± 0.00 points from n=3 to n=7.")
    assert "Yosinski et al. (2014, Fig. 2): " + analysis.PAPER_PATTERN["BnB"] in held[2].text
    flat = _lessons(report.lessons(_result(FLAT)))
    assert [lesson.verdict for lesson in flat] == ["fails", "fails", "fails", "holds"]
    assert "above base B by more than the seed spread at 0 of 7 n" in flat[1].text
    live_like = _lessons(report.lessons(_result({**PAPER_LIKE, "AnB": [0.62]}, families=("AnB",))))
    assert [lesson.verdict for lesson in live_like] == ["not run"] * 4
    assert live_like[0].text.endswith("(not measurable on this grid).")
    assert live_like[1].text == ("AnB+, transfer plus fine-tuning: copied layers, fine-tuned on B, beat base B: this "
                                 "run's grid has no AnB+ network.")


def test_summary_is_the_lessons_then_the_conclusion_and_the_command_line_prints_it():
    from keras_transfer import __main__ as cli

    result = _result(PAPER_LIKE)
    summary = report.summary(result)
    assert summary.startswith("## Lessons\n\n**Lesson:** holds.") and summary.count("**Lesson:**") == 4
    assert summary.endswith("## Conclusion\n\n" + report.conclusion(result))
    assert cli._report_summary("transferability", result) == str(summary)


def test_no_dip_reason_is_computed_from_the_spread_and_the_fit_of_the_training_images():
    result = _result({**FLAT, "BnB": [0.625, 0.625, 0.622, 0.622, 0.622, 0.625, 0.625]})
    for row in result.rows:
        row["train_accuracy"] = 1.0 if row["family"] in ("baseB", "BnB") else 0.5
    entry = next(entry for entry in result.metadata["comparison"] if entry["family"] == "BnB")
    reason = report.no_dip_reason(entry, result)
    assert reason.startswith("BnB's lowest point in the middle, n = 3, is -0.30 points from base B and -0.30 points "
                             "from the lowest of its ends, against a seed spread of 0.50 points at that n (base B "
                             "alone: ± 0.14 points)")
    assert "Here BnB at n = 3, 4, 5 fits B's 100 training images to 100.0% against base B's 100.0%" in reason
    assert "fit them as well as base B's own did" in reason and reason.endswith("below what 2 seeds can resolve.")
    for row in result.rows:
        if row["family"] == "BnB":
            row["train_accuracy"] = 0.8
    assert "the re-learned layers fit them less well" in report.no_dip_reason(entry, result)
    assert report.why("BnB", entry, result) == report.no_dip_reason(entry, result)
    assert "shows no dip in the middle of the network here, unlike the paper's n = 4-5: BnB's lowest point" in \
        report.conclusion(result)
    assert report.no_dip_reason({**entry, "dip": None}, result) is None


@pytest.mark.parametrize("count, needed", [(7, 5), (6, 5), (5, 4), (4, 3), (3, 3), (2, 2), (1, 1)])
def test_a_fine_tuned_pattern_must_hold_at_five_sevenths_of_the_n(count, needed):
    assert analysis.most(count) == needed
