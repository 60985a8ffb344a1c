"""The pet-heads reports (`keras_transfer.reports.pet_heads`) on small synthetic results: no training, milliseconds.

Each check has its branches covered: the pretrained weights ahead, behind, or not run; one seed or several."""

import pytest

from keras_transfer import site
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.reports import Report
from keras_transfer.reports import pet_heads as report

LABELS = {"frozen": "Model 1 (frozen)", "adapted": "Model 2 (adapted)", "all_layers": "all layers (pretrained)",
          "scratch": "from scratch"}


def _result(means, seeds=(0, 1, 2), spread=0.01, losses=None):
    """A pet-heads result: `means[(network, size)]` the test mean IoU with the main loss (GIoU), the seeds spread
    by `spread` around it; `losses[(network, loss)]` extra runs on the whole split."""
    losses = losses or {}
    largest = max(size for _, size in means)
    runs = [(network, "giou", size) for network, size in means]
    runs += [(network, loss, largest) for network, loss in losses]
    rows, histories = [], {}
    for seed_index, seed in enumerate(seeds):
        offset = (seed_index - (len(seeds) - 1) / 2) * spread
        for network, loss, size in runs:
            mean = means[(network, size)] if loss == "giou" else losses[(network, loss)]
            model = f"{network}/{loss}/n{size}"
            rows.append({"model": model, "network": network, "loss": loss, "variant": f"{network}/{loss}",
                         "train_size": size, "seed": seed, "mean_iou": mean + offset, "iou_at_0_5": mean + offset,
                         "test_loss": 1 - mean, "epochs": 10, "best_epoch": 7, "first_val_iou": mean / 2 + offset,
                         "wall_time_s": 2.0, "cpu_time_s": 3.0, "trainable_params": 1234, "frozen_params": 5678})
            histories[f"{model}/seed{seed}"] = {"val_iou": [mean / 2]}
    metadata = {
        "config": {"main_loss": "giou", "loss_comparison_models": ["adapted"]},
        "seeds": list(seeds),
        "runs": [list(run) for run in runs],
        "train_sizes": sorted({size for _, size in means}, reverse=True),
        "labels": {name: LABELS[name] for name in dict.fromkeys(network for network, _ in means)},
        "loss_titles": {"mse": "mean squared error", "giou": "GIoU loss", "ciou": "CIoU loss (keras-cv)"},
        "finished_at": "2026-12-08 10:00 UTC", "machine": "Linux x86_64, 2 cores", "wall_time_s": 12.0,
    }
    return ExperimentResult("pet-heads", "quick", rows, histories, metadata)


TRANSFER_HELPS = {("frozen", 1000): 0.6, ("adapted", 1000): 0.7, ("all_layers", 1000): 0.8, ("scratch", 1000): 0.76,
                  ("all_layers", 100): 0.68, ("scratch", 100): 0.6}


def test_tables_render_mean_std_percent_and_the_best_in_bold():
    result = _result(TRANSFER_HELPS, losses={("adapted", "mse"): 0.65})
    whole = report.whole_split(result)
    assert isinstance(whole, Report) and whole._repr_markdown_().startswith("| network | loss |")
    assert "| all layers (pretrained) | GIoU loss | 3 | 0.800 ± 0.010 | 80.0% ± 1.0% |" in whole
    assert "mean squared error" in whole and "/n100" not in whole  # the whole training split only
    table = report.by_train_size(result)
    assert "| 1,000 | 0.600 ± 0.010 | 0.700 ± 0.010 | **0.800 ± 0.010** | 0.760 ± 0.010 |" in table
    assert "| 100 | – | – | **0.680 ± 0.010** | 0.600 ± 0.010 | – | – | +0.080 |" in table
    assert "all layers (pretrained) − scratch" in table
    start = report.first_epoch(result)
    assert "| 1,000 |" in start and "| 100 |" in start and "0.400 ± 0.010" in start
    assert "| Model 1 (frozen) | 1,234 | 5,678 |" in report.parameters(result)
    compared = report.loss_comparison(result)
    assert compared.index("GIoU loss") < compared.index("mean squared error")  # best first
    assert "| Model 2 (adapted) | 2 | mean squared error | 0.650 ± 0.010 | 65.0% ± 1.0% |" in compared
    summary = report.run_summary(result)
    assert "7 runs per seed; training sets of 1,000, 100 images; main loss giou." in summary
    assert "2026-12-08" in summary


def test_conclusion_when_the_pretrained_weights_win():
    text = report.conclusion(_result(TRANSFER_HELPS))
    assert "**1,000 training images:** test mean IoU 0.800 ± 0.010 from the pretrained weights" in text
    assert "the pretrained weights gave the better boxes" in text
    assert "After one epoch: 0.400 against 0.380" in text
    assert "none (Model 1) 0.600, the upper block (Model 2) 0.700, every layer 0.800: the more adapts" in text
    assert "by more than the spread over seeds at 100 images." in text  # 100 <= 250: few labels
    assert "+0.080 with 100 images and +0.040 with 1,000" in text and "favour of the pretrained weights" in text
    assert "One seed" not in text


def test_conclusion_when_random_weights_win_or_tie():
    means = {**TRANSFER_HELPS, ("all_layers", 100): 0.55, ("frozen", 1000): 0.75, ("scratch", 1000): 0.805}
    text = report.conclusion(_result(means))
    assert "random weights gave the better boxes" in text  # 100 images: 0.55 against 0.60
    assert "the gap is within the spread over seeds" in text  # 1,000 images: 0.800 against 0.805
    assert "not in that order." in text
    assert "by more than the spread over seeds at no size." in text
    assert "favour of the random weights" in text


def test_conclusion_when_the_comparison_did_not_run():
    result = _result({("frozen", 1000): 0.6, ("adapted", 1000): 0.7, ("adapted", 100): 0.6})
    text = report.conclusion(result)
    assert "Pretrained against random weights: not run" in text
    assert "Few labels" not in text and "Value of transfer" not in text
    assert report.loss_comparison(result).startswith("No network was trained with more than one loss")
    assert "| 100 | – | 0.600 ± 0.010 |" in report.by_train_size(result)  # no scratch: no difference columns


def test_single_seed_reads_without_spread():
    result = _result(TRANSFER_HELPS, seeds=(0,))
    text = report.conclusion(result)
    assert "test mean IoU 0.800 from the pretrained weights, 0.760 from random weights" in text
    assert "for this seed (one seed has no spread to compare the gap with)" in text
    assert "Few labels" not in text  # no spread: no claim that the gap exceeds it
    assert "One seed's gaps move by about a hundredth" in text
    assert "| all layers (pretrained) | GIoU loss | 1 | 0.800 | 80.0% |" in report.whole_split(result)


@pytest.mark.parametrize("profile", ["smoke", "full"])
def test_settings_name_the_profile_and_say_what_runs(profile):
    text = report.settings(profile, live=profile == "full")
    assert f"**{profile}** profile" in text and "early stopping on the validation IoU" in text
    assert ("pet_heads.LIVE" in text) == (profile == "full")
    assert ("Fashion-MNIST items" in text) == (profile == "smoke")  # the stand-in data only where it is used
    assert "224×224" in text if profile == "full" else "32×32" in text


def _lessons(text):
    """The lesson lines of `text` as `site` reads them, in order (the site's own parser)."""
    found = [site.parse_lesson_line(line) for line in text.splitlines()]
    return [lesson for lesson in found if lesson is not None]


def test_lessons_hold_with_the_numbers_checked():
    text = report.lessons(_result(TRANSFER_HELPS))
    assert isinstance(text, Report) and "\n\n" in text  # a paragraph each, so Markdown keeps them apart
    few, order = _lessons(text)
    assert (few.verdict, order.verdict) == ("holds", "holds")
    assert few.text.startswith("With few boxes (≤ 250 training images), the all-layers network")
    assert "0.680 ± 0.010 against 0.600 ± 0.010 with 100 images." in few.text
    assert "0.600 ± 0.010, 0.700 ± 0.010, 0.800 ± 0.010 with 1,000 images." in order.text


def test_lessons_fail_when_scratch_wins_or_the_order_breaks():
    means = {**TRANSFER_HELPS, ("all_layers", 100): 0.55, ("frozen", 1000): 0.75}
    few, order = _lessons(report.lessons(_result(means)))
    assert (few.verdict, order.verdict) == ("fails", "fails")
    assert "0.550 ± 0.010 against 0.600 ± 0.010" in few.text and "0.750 ± 0.010, 0.700 ± 0.010" in order.text


def test_lessons_not_run_without_the_networks_or_with_one_seed():
    few, order = _lessons(report.lessons(_result({("frozen", 1000): 0.6, ("adapted", 1000): 0.7,
                                                   ("adapted", 100): 0.6})))
    assert (few.verdict, order.verdict) == ("not run", "not run")
    few, order = _lessons(report.lessons(_result(TRANSFER_HELPS, seeds=(0,))))
    assert few.verdict == "not run" and "one seed has no spread" in few.text
    assert order.verdict == "holds" and "0.600, 0.700, 0.800 with 1,000 images" in order.text  # no spread needed


def test_summary_is_the_lessons_the_table_and_the_conclusion():
    result = _result(TRANSFER_HELPS)
    text = report.summary(result)
    assert text.index(report.lessons(result)) < text.index(report.by_train_size(result)) < text.index(
        report.conclusion(result))
    assert len(_lessons(text)) == 2  # once each


# Worked answers to the exercises (notebooks/solutions/05_pet_heads.py): one-seed live runs, synthetic here.

def test_adapted_answer_says_which_end_model_2_is_closer_to():
    result = _result({("frozen", 2000): 0.62, ("adapted", 2000): 0.76, ("all_layers", 2000): 0.80,
                      ("scratch", 2000): 0.77, ("frozen", 100): 0.55, ("adapted", 100): 0.58,
                      ("all_layers", 100): 0.68, ("scratch", 100): 0.65}, seeds=(0,))
    answer = report.adapted_answer(result)
    assert isinstance(answer, Report)
    assert ("**2,000 training images: closer to the network trained in every layer.** Model 2 reaches 0.760, "
            "0.140 above Model 1 (0.620) and 0.040 below every layer (0.800): frozen < adapted < all layers. "
            "Against scratch (0.770) it is -0.010: not above.") in answer
    assert "**100 training images: closer to Model 1 (frozen).**" in answer and "0.030 above Model 1" in answer
    assert "Against scratch (0.650) it is -0.070: not above." in answer and "One seed" in answer
    missing = _result({("frozen", 2000): 0.62, ("all_layers", 2000): 0.8}, seeds=(0,))
    assert "has not Models 1 and 2" in report.adapted_answer(missing)


def test_short_training_answer_compares_the_gap_with_the_full_schedule():
    reference = _result({("frozen", 2000): 0.62, ("all_layers", 2000): 0.80, ("scratch", 2000): 0.76,
                         ("frozen", 100): 0.55, ("all_layers", 100): 0.68, ("scratch", 100): 0.65}, seeds=(0,))
    reference.metadata["config"]["max_epochs"] = 15
    short = _result({("frozen", 2000): 0.56, ("all_layers", 2000): 0.62, ("scratch", 2000): 0.50,
                     ("frozen", 100): 0.53, ("all_layers", 100): 0.56, ("scratch", 100): 0.34}, seeds=(0,))
    short.metadata["config"]["max_epochs"] = 3
    answer = report.short_training_answer(reference, short)
    assert ("**100 training images:** pretrained minus random weights is +0.220 after at most 3 epochs against "
            "+0.030 after at most 15: cut short, the gap grows by 0.190.") in answer
    assert "+0.120 after at most 3 epochs against +0.040 after at most 15: cut short, the gap grows by 0.080" in answer
    assert "even Model 1, a frozen base with a new head, is above the whole network from random weights (0.530 " \
           "against 0.340)" in answer
    assert "After one epoch on the whole training split (validation IoU, the notebook's run): 0.400 from " \
           "pretrained weights against 0.380" in answer
    shrinking = _result({("all_layers", 2000): 0.78, ("scratch", 2000): 0.76}, seeds=(0,))
    assert "the gap shrinks by 0.020" in report.short_training_answer(reference, shrinking)


def test_loss_answer_says_whom_giou_helps():
    both = _result({("frozen", 2000): 0.62, ("all_layers", 2000): 0.80}, seeds=(0,),
                   losses={("frozen", "mse"): 0.60, ("all_layers", "mse"): 0.78})
    both.metadata["config"]["loss_comparison_models"] = ["frozen", "all_layers"]
    answer = report.loss_answer(both)
    assert "**Model 1 (frozen):** GIoU 0.620, MSE 0.600 test mean IoU (+0.020); boxes with IoU ≥ 0.5 62.0% against " \
           "60.0%." in answer
    assert "**GIoU gives the better boxes for every network compared.**" in answer
    one = _result({("frozen", 2000): 0.62, ("all_layers", 2000): 0.80}, seeds=(0,),
                  losses={("frozen", "mse"): 0.65, ("all_layers", "mse"): 0.78})
    one.metadata["config"]["loss_comparison_models"] = ["frozen", "all_layers"]
    assert "**GIoU gives the better boxes only for all layers (pretrained).**" in report.loss_answer(one)
    none = _result({("frozen", 2000): 0.62}, seeds=(0,))
    assert "No network ran with both MSE and GIoU" in report.loss_answer(none)
