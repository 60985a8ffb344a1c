"""What notebook 03 displays about the transferability grid: its settings, tables, the paper's patterns, a conclusion.

Each function takes the `ExperimentResult` of `keras_transfer.experiments.transferability.run` and returns a
`Report` (Markdown, rendered in Jupyter). The figures come from `experiments.transferability_analysis` (the
comparison with Yosinski et al.'s Figure 2, stored in `result.metadata["comparison"]`); this module only words them.
`lessons` states the paper's four patterns as the notebook's lessons (one `**Lesson:**` line each, as
`python -m keras_transfer site` reads them); `summary` is what the command line prints after its table.

Example:

```python
from keras_transfer.reports import transferability as report

result = keras_transfer.experiments.run("transferability", "smoke")
report.accuracy_table(result)  # the last expression of a cell: a rendered table
```
"""

import math

from keras_transfer import reports
from keras_transfer.experiments import base
from keras_transfer.experiments import transferability_analysis as analysis

FAMILIES = tuple(analysis.PAPER_PATTERN)  # BnB, AnB, BnB+, AnB+: the paper's order
SAID = {True: "as in the paper", False: "unlike the paper", None: "not measurable on this grid"}


def _comparison(result):
    """`{family: entry}` of the stored comparison with the paper (computed from the rows if none is stored)."""
    entries = result.metadata.get("comparison") or analysis.compare_with_paper(result.rows)
    return {entry["family"]: entry for entry in entries}


def _base_b(result):
    return [row["test_accuracy"] for row in result.rows if row["family"] == "baseB"]


def _listed(values):
    return ", ".join(str(value) for value in values)


def _seeds(count):
    return f"{count} seed{'s' if count != 1 else ''}"


# What each dataset of `transferability.DATASETS` is, in words
DATA = {
    "pasted_fashion_mnist": "Fashion-MNIST items pasted on crops of colour photos",
    "fashion_mnist": "Fashion-MNIST (items on black)",
    "cifar100": "CIFAR-100",
}


def _data(config):
    return DATA.get(config["dataset"], config["dataset"])


def describe_training(result):
    """One sentence on how long the networks trained on B ran: the stopping rule and the epochs it chose."""
    config = result.metadata["config"]
    if config.get("patience_b") is None:
        return reports.Report(f"Every network trained on B trains for {config['epochs_b']} epochs (no early stopping).")
    base_epochs = [row["epochs"] for row in result.rows if row["family"] == "baseB"]
    grid = sorted(row["epochs"] for row in result.rows if row["family"] != "baseB")
    capped = sum(row.get("epochs_trained", 0) >= config["epochs_b"] for row in result.rows)
    chosen = f", the grid's {grid[0]}-{grid[-1]} (median {grid[len(grid) // 2]})" if grid else ""
    minimum = config.get("min_epochs_b") or 0
    watch = f" from epoch {minimum + 1} on (every network trains at least {minimum} epochs)" if minimum else ""
    return reports.Report(
        "Every network trained on B (base B and the grid alike) stops once its accuracy on B's validation images "
        f"has not improved for {config['patience_b']} epochs (at most {config['epochs_b']}){watch} and keeps the "
        f"weights of its best validation epoch: base B's best epoch {'/'.join(map(str, base_epochs))} (per "
        f"seed){chosen}; {capped} of {len(result.rows)} networks reached the cap."
    )


def setup(result, live=False):
    """Where the result comes from and what it trained: profile, classes of each half, images, stopping, time.

    Args:
        result: ExperimentResult. What `transferability.run` returned (or a saved one).
        live: bool. Whether the notebook asked for live mode (`transferability.LIVE`'s settings).
    """
    metadata, config = result.metadata, result.metadata["config"]
    names, sizes = metadata["class_names"], metadata["train_size"]
    settings = f"`transferability.CONFIGS[{result.profile!r}]`" + (" and `transferability.LIVE`" if live else "")
    backend = metadata.get("backend") or (metadata.get("request") or {}).get("backend", "unknown")
    lines = [
        f"The results below come from the **{result.profile}** profile{' in live mode' if live else ''} "
        f"(settings: {settings}); {backend} backend.",
        f"Seeds {_listed(config['seeds'])}; n = {_listed(config['n_values'])}; families {_listed(config['families'])}.",
        f"Half A: {_listed(names['a'])}.",
        f"Half B: {_listed(names['b'])}.",
        f"Training images: {sizes['a']:,} of A for base A; {sizes['b']:,} of B ({sizes['b'] // len(names['b'])} per "
        f"class) for base B and every transfer network. Validation images of B (to choose settings and when to stop): "
        f"{metadata['validation_size']['b']:,}; test images of B: {metadata['test_size']['b']:,}.",
        describe_training(result),
        f"Runs trained now: {metadata['runs_trained']}, read back from the folder: {metadata['runs_resumed']}; "
        f"training time of all runs: {metadata['training_time_s'] / 60:.1f} min "
        f"({metadata['training_cpu_time_s'] / 60:.1f} CPU-min).",
    ]
    return reports.Report.join(base.provenance(result), reports.bullets(lines))


def departures(result):
    """A table of each way this run departs from Yosinski et al. (2014), with the run's own settings."""
    metadata, config = result.metadata, result.metadata["config"]
    halves = {half: len(metadata["class_names"][half]) for half in "ab"}
    height, width, channels = metadata["input_shape"]
    early = config.get("patience_b") is not None
    stop_b = (f"early stopping on B's validation accuracy (patience {config['patience_b']}, at most "
              f"{config['epochs_b']} epochs), best epoch kept" if early else f"a fixed {config['epochs_b']} epochs")
    validation = metadata["validation_size"]["b"]
    held_out = ("decide when B's networks stop" if early and validation else
                "chose the settings (nothing stops on them)" if validation else "(none here)")
    rows = [
        ("data", "ImageNet (ILSVRC 2012): 500 + 500 classes, ~645,000 training images per half, 224x224 colour",
         f"{_data(config)}: {halves['a']} + {halves['b']} classes, {metadata['train_size']['a']:,} + "
         f"{metadata['train_size']['b']:,} training images, {height}x{width}x{channels}"),
        ("network", "Caffe's reference ImageNet network (AlexNet, 8 weighted layers)",
         f"`small_alexnet`: filters {_listed(config['filters'])}; kernels {_listed(config['kernel_sizes'])}; "
         f"dense {_listed(config['units'])}; dropout {config['dropout']}"),
        ("optimizer", "SGD with momentum, the reference network's learning-rate schedule",
         f"Adam (`yosinski.train_network`), learning rate {config['learning_rate']}, batch {config['batch_size']}"),
        ("training length", "a schedule fixed in advance (Caffe solver settings)",
         f"base A: a fixed {config['epochs_a']} epochs; base B and every network of the grid: {stop_b}"),
        ("validation and test", "accuracy on ImageNet's validation images of B (no separate test set)",
         f"{validation:,} images of B held out from its training images {held_out}; accuracy on "
         f"{metadata['test_size']['b']:,} test images of B"),
        ("A/B split and repeats", "base A and base B trained for each random A/B split; a point per network",
         f"one class split (`split_seed={config['split_seed']}`) for every seed; each seed trains its own base A, "
         f"base B and grid ({_seeds(len(config['seeds']))})"),
    ]
    return reports.table(rows, headers=("", "Yosinski et al. (2014)", "this run"))


def layer_table(names):
    """The weighted layers of a network as a table `n | layer` (`names`: `transfer.weighted_layers`' names)."""
    return reports.table([(n, f"`{name}`") for n, name in enumerate(names, start=1)], headers=("n", "layer"))


def accuracy_table(result, digits=1):
    """Test accuracy on B: one line per family, one column per n, `mean ± std` over seeds in percent."""
    n_values = sorted({row["n"] for row in result.rows if row["family"] != "baseB"})
    headers = ["family", *(f"n = {n}" for n in n_values)]
    base_b = _base_b(result)
    rows = [["base B (n = 0)", *[reports.mean_std(base_b, digits)] * len(n_values)]] if base_b else []
    for family in FAMILIES:
        accuracies = analysis.by_seed(result.rows, family)
        if accuracies:
            rows.append([family, *(reports.mean_std(list(accuracies.get(n, {}).values()), digits) for n in n_values)])
    return reports.table(rows, headers=headers)


def comparison_table(result):
    """The paper's pattern per family beside ours (points against base B, paired by seed) and a verdict."""
    rows = [(family, entry["paper"], entry["ours"],
             reports.verdict(entry["agrees"], yes="yes", no="**no**", unknown="n/a (grid too small)"))
            for family, entry in _comparison(result).items()]
    return reports.table(rows, headers=("family", "Yosinski et al. 2014 (Fig. 2)", "ours (points vs base B)",
                                        "agrees"))


def why(family, entry, result):
    """Why a family's pattern is missed, from the figures of the run; None where it holds or cannot be measured."""
    if entry["agrees"] is not False:
        return None
    gaps = entry["differences"]
    base_b = _base_b(result)
    if family == "BnB+":
        below = entry.get("below_n", [])
        fit = _train_fit(result, "BnB+", below)
        return (f"BnB+ ends below base B by more than the seed spread at n = {_listed(below)}, more than the "
                f"{len(gaps) - entry['needed']} n the pattern allows: restarting from base B's own layers and "
                f"training them again on the same {_train_images(result)} images of B lands "
                f"{reports.points(-_mean_gap(gaps, below), 2, sign=False)} under base B on average{fit}.")
    if family == "BnB":
        return no_dip_reason(entry, result)
    if family == "AnB":
        return ("base A's frozen upper layers serve B about as well as its lower ones, within the seed spread: on "
                "this pair of halves the upper layers are not measurably specific to A.")
    below = [gap["n"] for gap in gaps if analysis.counts(-gap["mean"], gap["std"])]
    within = [gap["n"] for gap in gaps if gap["n"] not in entry.get("above_n", []) + below]
    reasons = []
    if within:
        varies = reports.points(base.mean_std(base_b)[1], 2, sign=False)
        spread = (f"its spread over seeds (base B alone varies by ± {varies} between seeds)" if len(base_b) > 1
                  else "half a point (one seed: no spread to compare with)")
        reasons.append(f"at n = {_listed(within)} the gain over base B is smaller than {spread}")
    if below:
        reasons.append(f"at n = {_listed(below)} AnB+ ends below base B: fine-tuning on B's images did not undo what "
                       "the copied layers learned for A")
    return "; ".join(reasons) + "."


def _mean_gap(gaps, n_values):
    values = [gap["mean"] for gap in gaps if gap["n"] in n_values]
    return sum(values) / len(values) if values else 0.0


def _train_images(result):
    return f"{result.metadata['train_size']['b']:,}"


def _train_accuracy(result, family, n_values=None):
    """The mean training accuracy (at the kept epoch) of a family's networks, over seeds and `n_values`."""
    values = [row["train_accuracy"] for row in result.rows if row["family"] == family
              and (n_values is None or row["n"] in n_values) and row.get("train_accuracy") is not None]
    return sum(values) / len(values) if values else None


def _train_fit(result, family, n_values):
    """`"(training accuracy X% against base B's Y%)"`, or "" where the rows hold no training accuracy."""
    ours, base_b = _train_accuracy(result, family, n_values), _train_accuracy(result, "baseB")
    if ours is None or base_b is None:
        return ""
    return f" (training accuracy {reports.percent(ours)} against base B's {reports.percent(base_b)})"


def no_dip_reason(entry, result):
    """Why BnB shows no dip, from the run: how deep the lowest middle point is against the seed spread, and whether
    the layers re-learned above a frozen cut still fit B's training images as base B did (the paper's dip is an
    optimisation difficulty: co-adapted upper layers that cannot be re-learned alone)."""
    dip, base_b = entry.get("dip"), _base_b(result)
    if dip is None:
        return None
    spread = base.mean_std(base_b)[1] if len(base_b) > 1 else 0.0
    middle = [n for n in (3, 4, 5) if any(gap["n"] == n for gap in entry["differences"])] or [dip["n"]]
    bnb_fit, base_fit = _train_accuracy(result, "BnB", middle), _train_accuracy(result, "baseB")
    lowest = next(gap for gap in entry["differences"] if gap["n"] == dip["n"])
    text = (f"BnB's lowest point in the middle, n = {dip['n']}, is {reports.points(lowest['mean'], 2)} from "
            f"base B and {reports.points(-dip['below_ends'], 2)} from the lowest of its ends, against a seed spread of "
            f"{reports.points(max(lowest['std'], analysis.TOLERANCE), 2, sign=False)} at that n (base B alone: "
            f"± {reports.points(spread, 2, sign=False)})")
    if bnb_fit is not None and base_fit is not None:
        refits = bnb_fit >= base_fit - analysis.TOLERANCE
        text += (f". The paper's dip is an optimisation difficulty: upper layers re-learned alone on frozen, "
                 f"co-adapted ones fit the training set worse. Here BnB at n = {_listed(middle)} fits B's "
                 f"{_train_images(result)} training images to {reports.percent(bnb_fit)} against base B's "
                 f"{reports.percent(base_fit)}: " + (
                     "with so few images the re-learned layers fit them as well as base B's own did, so splitting "
                     "the network costs no fit to repair" if refits else
                     "the re-learned layers fit them less well, yet BnB's test accuracy stays within the seed "
                     "spread of base B"))
    return text + f"; a dip smaller than this spread is below what {_seeds(len(base_b))} can resolve."


def precision(result):
    """How precise one point of the grid is: the sampling error of base B's accuracy on B's test set, and seeds."""
    base_b, test_size = _base_b(result), result.metadata["test_size"]["b"]
    mean = sum(base_b) / len(base_b)
    error = math.sqrt(mean * (1 - mean) / test_size)
    return reports.Report(
        f"How precise is a point? Base B is right on {reports.percent(mean)} of B's {test_size:,} test images; the "
        f"sampling error of one such accuracy is about {reports.points(error, 2, sign=False)}, and "
        f"{_seeds(len(base_b))} per point measure how much two trainings of the same network differ."
    )


def patterns(result):
    """Which of the paper's four patterns hold here, each with our figures, and why the others do not."""
    comparison = _comparison(result)
    base_b = _base_b(result)
    lines = [f"Base B: {reports.mean_std(base_b, 2)} on B's test set over {_seeds(len(base_b))}; a difference counts "
             "when its mean over seeds exceeds its spread over seeds (and half a point)."]
    for family in ("AnB", "AnB+", "BnB", "BnB+"):
        if family in comparison:
            entry = comparison[family]
            reason = why(family, entry, result)
            lines.append(f"**{family}**: {entry['ours']} — {SAID[entry['agrees']]} ({entry['paper']})."
                         + (f"\n  - Why {family} differs: {reason}" if reason else ""))
    above = comparison.get("BnB+", {}).get("above_n")
    if above:
        lines.append(f"BnB+ ends above base B at n = {_listed(above)}: a second training that starts from base B's "
                     "own layers beats base B there, so at those n part of AnB+'s gain over base B is a second "
                     "training's, not transfer's; AnB+ against BnB+ (next) compares equal training.")
    fair = analysis.anb_plus_against_bnb_plus(result.rows)
    if fair["differences"]:
        gaps = "; ".join(f"n={n}: {analysis.format_points(*stats)}" for n, stats in fair["differences"].items())
        lines.append(f"AnB+ against BnB+ (equal training, only the copied layers' source differs): above by more than "
                     f"the seed spread at {len(fair['above_n'])} of {len(fair['differences'])} n; points: {gaps} "
                     "(the paper: above at every n, BnB+ being about base B).")
    held = [family for family, entry in comparison.items() if entry["agrees"]]
    missed = [family for family, entry in comparison.items() if entry["agrees"] is False]
    lines.append(f"Of the paper's {len(comparison)} family patterns, {len(held)} hold here"
                 + (f" ({_listed(held)})" if held else "") + (f"; not {_listed(missed)}." if missed else "."))
    return reports.bullets(lines)


def steepest_step(result):
    """Where AnB drops most between neighbouring n: where base A's features turn specific to A on this data."""
    entry = _comparison(result).get("AnB")
    step = analysis.steepest_step(entry) if entry else None
    if step is None:
        return reports.Report("")
    change, start, end = step
    if change >= 0:
        return reports.Report("AnB never loses accuracy from one n to the next here.")
    return reports.Report(f"AnB's steepest step down is from n={start} to n={end} ({reports.points(change, 2)}): "
                          "where base A's features turn specific to A on this data.")


def target_data(result):
    """The quick profile's small target set, and the room base B leaves for a gain (empty in other profiles)."""
    if result.profile != "quick":
        return reports.Report("")
    config, base_b = result.metadata["config"], _base_b(result)
    mean = sum(base_b) / len(base_b)
    return reports.Report(
        f"In this quick stand-in ({_data(config)}), B is {_listed(result.metadata['class_names']['b'])}, with "
        f"{config['train_per_class_b']} training images per class for every network trained on B, against "
        f"{config['train_per_class_a']} per class for base A: a small target set, the condition under which the "
        f"lectures recommend transfer. Base B reaches {reports.percent(mean)} on it, "
        f"{reports.points(1 - mean, sign=False)} below a perfect score, so a gain from transfer has room to show."
    )


def discussion(result):
    """The discussion of the notebook: precision of a point, the paper's patterns, AnB's steepest step, the data."""
    return reports.Report.join(precision(result), "**Which of the paper's patterns hold here, and why the others "
                               "do not:**", patterns(result), steepest_step(result), target_data(result))


def conclusion(result):
    """What this run shows about specificity, transfer plus fine-tuning and co-adaptation, as bullets."""
    comparison = _comparison(result)
    lines = []
    if "fall" in comparison.get("AnB", {}):
        fall = comparison["AnB"]["fall"]
        verb = "grow specific" if comparison["AnB"]["agrees"] else "do not measurably grow more specific"
        lines.append(f"Specificity: frozen features of base A {verb} from layer {fall['from_n']} to layer "
                     f"{fall['to_n']} (AnB loses {reports.points(fall['mean'], 2, sign=False)}).")
    if "AnB+" in comparison:
        entry = comparison["AnB+"]
        gains = [gap["mean"] for gap in entry["differences"]]
        lines.append(f"Transfer plus fine-tuning: AnB+ beats base B by more than the seed spread at "
                     f"{len(entry['above_n'])} of {len(gains)} n (mean gain {reports.points(min(gains), 2)} to "
                     f"{reports.points(max(gains), 2)}), so the lesson {'holds' if entry['agrees'] else 'fails'} "
                     f"here (it needs {entry['needed']}); the paper saw a gain at every n.")
    if "BnB+" in comparison:
        entry = comparison["BnB+"]
        lines.append(f"Fine-tuning repairs the co-adaptation: BnB+ is within the seed spread of base B or above at "
                     f"{len(entry['within_n']) + len(entry['above_n'])} of {len(entry['differences'])} n, so the "
                     f"lesson {'holds' if entry['agrees'] else 'fails'} here (it needs {entry['needed']}).")
    if "BnB" in comparison:
        lines.append("Co-adaptation: " + (
            "BnB dips in the middle of the network, as in the paper." if comparison["BnB"]["agrees"]
            else "BnB shows no dip in the middle of the network here, unlike the paper's n = 4-5: "
            + no_dip_reason(comparison["BnB"], result) + "."
            if comparison["BnB"]["agrees"] is False else "the grid has no n in the middle and at the ends to look "
            "for BnB's dip."))
    held = [family for family, entry in comparison.items() if entry["agrees"]]
    missed = [family for family, entry in comparison.items() if entry["agrees"] is False]
    lines.append(f"In all, {len(held)} of the paper's {len(comparison)} family patterns hold in this run"
                 + (f" ({_listed(held)})" if held else "") + (f"; {_listed(missed)} not." if missed else "."))
    closing = ("These are the quick stand-in's figures. To check the pattern on natural images, run the `full` "
               "profile (CIFAR-100 halves, three seeds, a GPU)." if result.profile == "quick" else "")
    return reports.Report.join(reports.bullets(lines), closing)


# What each family's pattern teaches, in the order the notebook discusses them
LESSONS = {
    "AnB": "specificity: base A's frozen features grow specific to A with depth",
    "AnB+": "transfer plus fine-tuning: copied layers, fine-tuned on B, beat base B",
    "BnB": "co-adaptation: splitting base B's layers in the middle and re-training the top loses accuracy",
    "BnB+": "fine-tuning repairs the co-adaptation: BnB+ stays about base B",
}


def lessons(result):
    """The notebook's lessons: one `**Lesson:**` line per pattern of Yosinski et al.'s Figure 2 (AnB, AnB+, BnB,
    BnB+), its verdict the run's comparison with the paper (`agrees`) and our figures (points against base B, mean ±
    std over seeds); not run where the grid lacks the family or the n its check needs."""
    comparison = _comparison(result)
    lines = []
    for family, lesson in LESSONS.items():
        entry = comparison.get(family)
        if entry is None:
            lines.append(reports.lesson(None, f"{family}, {lesson}: this run's grid has no {family} network."))
            continue
        lines.append(reports.lesson(
            entry["agrees"],
            f"{family}, {lesson}. Yosinski et al. (2014, Fig. 2): {entry['paper']}; this run: {entry['ours']}"
            + (" (not measurable on this grid)" if entry["agrees"] is None else "") + "."))
    return reports.Report.join(*lines)


def summary(result):
    """What the command line prints after the results table: the lessons and the conclusion (no figures)."""
    return reports.Report.join("## Lessons", lessons(result), "## Conclusion", conclusion(result))


def _differences(result, family):
    """`{n: mean points of family minus base B}` of a run (paired by seed), in the run's n order."""
    return {entry["n"]: entry["mean"] for entry in _comparison(result).get(family, {}).get("differences", [])}


def _points_by_n(differences):
    return "; ".join(f"n={n}: {reports.points(mean)}" for n, mean in differences.items()) or "no network"


def more_data_answer(reference, more):
    """Exercise 1: base B and the copied networks' gaps to it with `more`'s target set against `reference`'s."""
    runs = (reference, more)
    sizes = [run.metadata["config"]["train_per_class_b"] for run in runs]
    base = [sum(_base_b(run)) / len(_base_b(run)) for run in runs]
    lines = [f"**Base B** reaches {reports.percent(base[1])} with {sizes[1]} images per class against "
             f"{reports.percent(base[0])} with {sizes[0]}: {reports.points(base[1] - base[0])}."]
    for family, what in (("AnB", "frozen"), ("AnB+", "fine-tuned")):
        gaps = [_differences(run, family) for run in runs]
        shared = [n for n in gaps[1] if n in gaps[0]]
        if not shared:
            continue
        lines.append(f"**{family}** ({what} copies of base A) minus base B, with {sizes[1]} per class: "
                     f"{_points_by_n({n: gaps[1][n] for n in shared})}; with {sizes[0]}: "
                     f"{_points_by_n({n: gaps[0][n] for n in shared})}.")
    lines.append("One seed each: a move of a few points at one n is within what another training changes. The "
                 "lecture's advice reads as a trend: the more target labels, the less a frozen copy can give that "
                 "training on them does not.")
    return reports.bullets(lines)


def selffer_answer(result):
    """Exercise 2: BnB and BnB+ against base B at each n, and what BnB+ above base B would say."""
    lines = []
    for family in ("BnB", "BnB+"):
        gaps = _differences(result, family)
        if gaps:
            lines.append(f"**{family}** minus base B: {_points_by_n(gaps)}.")
    entry = _comparison(result).get("BnB")
    if entry is not None:
        lines.append("**A dip in the middle:** " + (
            "yes, " if entry["agrees"] else "no, ") + entry["ours"] + "."
            + ("" if entry["agrees"] or not no_dip_reason(entry, result) else " " + no_dip_reason(entry, result)))
    above = [n for n, mean in _differences(result, "BnB+").items() if mean > 0]
    if above:
        lines.append(f"**BnB+ above base B** at n = {_listed(above)}: a network that starts from base B's own layers "
                     "and trains again ends higher than base B, so base B is one training on "
                     f"{_train_images(result)} images, not the best a network can do on them, and part of any copied "
                     "network's gain over it is a second training's.")
    return reports.bullets(lines)


def seeds_answer(one, several):
    """Exercise 3: which of the paper's patterns the one-seed run and the several-seed run say hold."""
    first, second = _comparison(one), _comparison(several)
    verdict = {True: "holds", False: "fails", None: "not measurable"}
    lines, kept = [], []
    for family in FAMILIES:
        if family in first and family in second:
            same = first[family]["agrees"] == second[family]["agrees"]
            kept += [family] if same else []
            lines.append(f"**{family}:** {verdict[first[family]['agrees']]} with one seed, "
                         f"{verdict[second[family]['agrees']]} with "
                         f"{_seeds(len({row['seed'] for row in several.rows}))}"
                         + ("." if same else ": the verdict changed."))
    lines.append(f"{len(kept)} of {len(lines)} verdicts survive. With one seed a difference has no spread beside it, "
                 "so any gain above half a point counts; with several, it must exceed its spread over seeds.")
    return reports.bullets(lines)


__all__ = ["accuracy_table", "comparison_table", "conclusion", "departures", "describe_training", "discussion",
           "layer_table", "lessons", "more_data_answer", "no_dip_reason", "patterns", "precision", "seeds_answer",
           "selffer_answer", "setup", "steepest_step", "summary", "target_data", "why"]
