"""What notebook 07 displays: the zero-shot experiment's tables, its two lessons and the paper beside ours.

Each function takes the `ExperimentResult` of `experiments.zero_shot` (or, for `attributes`, the class x attribute
table) and returns a `reports.Report`. Accuracies are mean per-class top-1, read as percentages; mean ± std is over
the splits (and seeds). `lessons` gives the two lessons' verdict lines (`**Lesson:** holds. ...`, as
`python -m keras_transfer site` reads them); `summary` is what `python -m keras_transfer run zero-shot` prints after
its table.
"""

import statistics

from keras_transfer import reports
from keras_transfer.datasets import attributes as attribute_tables
from keras_transfer.experiments import base

METHOD_TITLES = {"dap": "direct attribute prediction", "eszsl": "ESZSL"}
SETTING_NAMES = {"C": "C", "gamma": "γ", "lam": "λ"}
DATA_TITLES = {"fashion_mnist": "Fashion-MNIST with a hand-written attribute table",
               "awa2": "AwA2 with Xian et al.'s proposed split and ResNet-101 features"}


def _title(method):
    return METHOD_TITLES.get(method, method)


def _by_method(result):
    """`{method: [rows]}` in first-seen order."""
    groups = {}
    for row in result.rows:
        groups.setdefault(row["model"], []).append(row)
    return groups


def _mean(rows, metric):
    return base.mean_std([row[metric] for row in rows])[0]


def _splits_and_seeds(result):
    seeds = result.metadata.get("config", {}).get("seeds") or sorted({row["seed"] for row in result.rows})
    count = len(result.metadata.get("splits") or {row["split"] for row in result.rows})
    return f"{count} split{'s' if count != 1 else ''}, seed{'s' if len(seeds) != 1 else ''} " + \
        ", ".join(str(seed) for seed in seeds)


def settings(result):
    """Where the result comes from and what it ran: provenance, data, splits and the feature network."""
    config = result.metadata.get("config", {})
    lines = [base.provenance(result)]
    seconds = result.metadata.get("cpu_time_s")
    took = f", {seconds:,.0f} s of CPU time" if seconds else ""
    lines.append(f"{len(result.rows)} fitted models ({_splits_and_seeds(result)}){took}.")
    if config.get("data") == "fashion_mnist":
        lines.append(
            f"{DATA_TITLES['fashion_mnist']}: {config['splits']} random splits with {config['num_unseen']} unseen "
            f"classes each ({config['num_validation']} of the seen classes held out to choose settings); features "
            f"from a small VGG trained {config['epochs']} epoch(s) on {config['train_per_class']:,} images per seen "
            f"class, for each split anew; {config['test_per_class']:,} test images per class.")
    elif config.get("data") in DATA_TITLES:
        lines.append(f"{DATA_TITLES[config['data']]}.")
    if result.profile == "smoke":
        lines.append("The smoke profile is a test run at a tiny size: its numbers only show that the code runs.")
    return reports.Report("\n\n".join(lines))


def attributes(table):
    """The class x attribute table in words: its size, how far apart its closest classes are, each attribute."""
    closest = attribute_tables.check_separates(table)
    lines = [f"{len(table.class_names)} classes, {len(table.attribute_names)} attributes; the closest two classes "
             f"differ in {closest} attribute{'s' if closest != 1 else ''}, so the table separates every class."]
    known = attribute_tables.FASHION_MNIST_ATTRIBUTES
    if set(table.attribute_names) <= set(known):
        rows = [{"attribute": f"`{name}`", "meaning": known[name][0], "classes": ", ".join(known[name][1])}
                for name in table.attribute_names]
        lines.append(reports.table(rows, columns=("attribute", "meaning", "classes")))
    return reports.Report.join(*lines)


def results_table(result):
    """One row per method: zero-shot accuracy with chance beside it, then the generalized setting."""
    rows = []
    for method, found in _by_method(result).items():
        cell = lambda metric: reports.mean_std([row[metric] for row in found])  # noqa: E731
        rows.append({
            "method": _title(method), "zero-shot (unseen only)": cell("unseen_accuracy"),
            "chance": reports.percent(_mean(found, "chance")),
            "× chance": reports.number(_mean(found, "unseen_accuracy") / _mean(found, "chance"), 1),
            "generalized: seen": cell("gzsl_seen_accuracy"), "generalized: unseen": cell("gzsl_unseen_accuracy"),
            "harmonic mean H": cell("harmonic_mean"), "unseen images called seen": cell("unseen_called_seen"),
        })
    return reports.table(rows)


def _settings_text(settings):
    return ", ".join(f"{SETTING_NAMES.get(key, key)} = {value:g}" for key, value in settings.items())


def splits_table(result):
    """One row per split, seed and method: the unseen classes, both settings' scores and the settings chosen."""
    several_seeds = len({row["seed"] for row in result.rows}) > 1
    rows = [{"split": row["split"] + (f" (seed {row['seed']})" if several_seeds else ""),
             "unseen classes": row["unseen_classes"], "method": _title(row["model"]),
             "zero-shot": reports.percent(row["unseen_accuracy"]), "H": reports.percent(row["harmonic_mean"]),
             "settings (chosen on validation classes)": _settings_text(row["settings"])} for row in result.rows]
    return reports.table(rows)


def above_chance(result):
    """Per method: its zero-shot accuracy, the ratio to chance, and whether it beats chance on every split."""
    lines = []
    for method, found in _by_method(result).items():
        chance = _mean(found, "chance")
        every = all(row["unseen_accuracy"] > row["chance"] for row in found)
        lines.append(f"{_title(method)}: {reports.mean_std([row['unseen_accuracy'] for row in found])} on classes "
                     f"it never saw, {_mean(found, 'unseen_accuracy') / chance:.1f} times chance "
                     f"({reports.percent(chance)}); "
                     + ("better than chance on every split." if every else
                        "**not** better than chance on every split."))
    return reports.bullets(lines)


def is_biased(result):
    """Whether every method's generalized unseen accuracy is below both its zero-shot and its seen accuracy (mean
    over splits); None without rows."""
    groups = _by_method(result)
    if not groups:
        return None
    return all(_mean(found, "gzsl_unseen_accuracy") < _mean(found, "unseen_accuracy")
               and _mean(found, "gzsl_unseen_accuracy") < _mean(found, "gzsl_seen_accuracy")
               for found in groups.values())


def generalized(result):
    """Per method: the unseen accuracy in both settings, the share of unseen images given a seen class, and the
    verdict on the bias toward seen classes."""
    lines = []
    for method, found in _by_method(result).items():
        mean = lambda metric: reports.percent(_mean(found, metric))  # noqa: E731
        lines.append(f"{_title(method)}: unseen accuracy {mean('unseen_accuracy')} when only unseen classes may be "
                     f"answered, {mean('gzsl_unseen_accuracy')} when every class may be "
                     f"({reports.percent(_mean(found, 'unseen_called_seen'), 0)} of the unseen-class images are given "
                     f"a seen class); seen accuracy {mean('gzsl_seen_accuracy')}; harmonic mean "
                     f"{mean('harmonic_mean')}.")
    biased = is_biased(result)
    verdict = {True: "The generalized setting exposes the bias toward seen classes for every method.",
               False: "In this run the generalized setting does **not** show a bias toward seen classes for every "
                      "method.",
               None: "No method was run."}[biased]
    return reports.Report.join(reports.bullets(lines), verdict)


def paper(result):
    """Xian et al.'s figures for AwA2 beside ours, and a caution when ours come from other data."""
    reference = result.metadata.get("paper", {}).get("AwA2", {})
    groups = _by_method(result)
    rows = []
    for method, figures in reference.items():
        if method not in groups:
            continue
        found = groups[method]
        rows.append({
            "method": _title(method),
            "zero-shot: paper (AwA2)": f"{figures['unseen_accuracy']:.1f}%",
            f"zero-shot: ours ({result.profile})": reports.percent(_mean(found, "unseen_accuracy")),
            "H: paper (AwA2)": f"{figures['harmonic_mean']:.1f}%",
            f"H: ours ({result.profile})": reports.percent(_mean(found, "harmonic_mean")),
        })
    if not rows:
        return reports.Report("No method of the paper's table was run.")
    parts = [reports.table(rows)]
    if result.metadata.get("config", {}).get("data") != "awa2":
        unseen = [len(split["unseen"]) for split in result.metadata.get("splits", [])]
        count = statistics.median(unseen) if unseen else "other"
        parts.append(f"Ours are measured on other data with other classes ({count:g} unseen instead of ten): "
                     "compare the pattern, not the numbers." if unseen else
                     "Ours are measured on other data: compare the pattern, not the numbers.")
    return reports.Report.join(*parts)


def _per_method(groups, claim, describe):
    """`claim`, then `describe(rows)` of each method after its title, or that no method was run."""
    if not groups:
        return claim + ": no method was run."
    return claim + ": " + "; ".join(f"{_title(method)} {describe(found)}" for method, found in groups.items()) + "."


def lessons(result):
    """The notebook's two lessons measured on this run, one `**Lesson:**` line each (see `keras_transfer.site`):
    every method names unseen classes better than chance on every split (`above_chance`), and the generalized
    setting shows a bias toward the seen classes for every method (`is_biased`); not run without rows. A smoke
    result adds that its verdicts mean nothing."""
    groups = _by_method(result)
    above = all(row["unseen_accuracy"] > row["chance"] for row in result.rows) if groups else None
    claim = _per_method(
        groups, "Every method names the unseen classes better than chance on every split (zero-shot, mean per-class "
        "top-1)", lambda found: f"{reports.mean_std([row['unseen_accuracy'] for row in found])} against chance "
        f"{reports.percent(_mean(found, 'chance'))}, above it on "
        f"{sum(row['unseen_accuracy'] > row['chance'] for row in found)} of {len(found)}")
    bias = _per_method(
        groups, "The generalized setting, where every class may be answered, shows a bias toward the seen classes for "
        "every method (unseen accuracy below both its zero-shot accuracy and the seen accuracy)",
        lambda found: f"unseen {reports.percent(_mean(found, 'unseen_accuracy'))} zero-shot, "
        f"{reports.percent(_mean(found, 'gzsl_unseen_accuracy'))} generalized, seen "
        f"{reports.percent(_mean(found, 'gzsl_seen_accuracy'))}")
    parts = [reports.lesson(above, claim), reports.lesson(is_biased(result), bias)]
    if result.profile == "smoke":
        parts.append("(smoke profile: a test run, its verdicts mean nothing)")
    return reports.Report.join(*parts)


def summary(result):
    """What the command line prints after the results table: the lessons, the table of both settings per method,
    and the conclusion (above chance, the generalized setting); no figures."""
    return reports.Report.join("## Lessons", lessons(result), "## Results", results_table(result),
                               "## Conclusion: above chance", above_chance(result),
                               "## Conclusion: the generalized setting", generalized(result))


__all__ = ["above_chance", "attributes", "comparison_table", "generalized", "lessons", "more_unseen_answer", "paper",
           "results_table", "settings", "splits_table", "summary", "weaker_features_answer"]


# Worked answers to the notebook's exercises (`notebooks/solutions/07_zero_shot.py`): each compares an exercise's live
# run (`other`) with the notebook's own settings run live (`reference`), method by method over the splits.

_METRICS = {"unseen_accuracy": "zero-shot", "gzsl_seen_accuracy": "generalized: seen",
            "harmonic_mean": "harmonic mean H"}


def _paired(reference, other, method, metric):
    """`{(split, seed): other's value - reference's}` for the splits and seeds both runs have with the same unseen
    classes."""
    before = {(row["split"], row["seed"]): row for row in reference.rows if row["model"] == method}
    return {key: row[metric] - before[key][metric] for key in before
            for row in other.rows if row["model"] == method and (row["split"], row["seed"]) == key
            and row["unseen_classes"] == before[key]["unseen_classes"]}


def _change(differences):
    """`"-1.2 points (per split: +3.0, -5.4)"` and whether the mean change is beyond the spread over the splits."""
    values = list(differences.values())
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else None
    per = ", ".join(f"{100 * value:+.1f}" for value in values)
    beyond = spread is not None and abs(mean) > spread
    return f"{reports.points(mean)} (per split: {per})", mean, beyond


def comparison_table(runs):
    """One row per run (`{title: result}`) and method: zero-shot accuracy with chance and the ratio to it, then the
    generalized setting's seen accuracy and harmonic mean (mean ± std over the splits)."""
    rows = []
    for title, result in runs.items():
        for method, found in _by_method(result).items():
            rows.append([title, _title(method), reports.mean_std([row["unseen_accuracy"] for row in found]),
                         reports.percent(_mean(found, "chance")),
                         reports.number(_mean(found, "unseen_accuracy") / _mean(found, "chance"), 1),
                         reports.mean_std([row["gzsl_seen_accuracy"] for row in found]),
                         reports.mean_std([row["harmonic_mean"] for row in found])])
    return reports.table(rows, headers=("run", "method", "zero-shot", "chance", "× chance", "generalized: seen",
                                        "harmonic mean H"))


def weaker_features_answer(reference, other):
    """Exercise 1: how each method's zero-shot accuracy, generalized seen accuracy and harmonic mean move with
    `other`'s feature network against the notebook's, paired split by split, and which method suffers more."""
    sizes = [run.metadata["config"]["train_per_class"] for run in (reference, other)]
    table = comparison_table({f"{size:,} per seen class": run for size, run in zip(sizes, (reference, other))})
    lines, falls, beyond_spread = [], {}, {}
    for method in _by_method(other):
        changes = {metric: _paired(reference, other, method, metric) for metric in _METRICS}
        if not changes["unseen_accuracy"]:
            continue
        parts = []
        for metric, name in _METRICS.items():
            text, mean, beyond = _change(changes[metric])
            parts.append(f"{name} {text}" + (", beyond the spread over the splits" if beyond else ""))
            if metric == "unseen_accuracy":
                falls[method], beyond_spread[method] = mean, beyond
        lines.append(f"**{_title(method)}** with {sizes[1]:,} instead of {sizes[0]:,} images per seen class: "
                     + "; ".join(parts) + ".")
    if not falls:
        return reports.Report.join(table, "The two runs share no split with the same unseen classes: nothing to "
                                          "pair.")
    worst = min(falls, key=falls.get)
    lines.append(f"**{_title(worst)} loses the most zero-shot accuracy** ({reports.points(falls[worst])} on average"
                 + (", beyond the spread over the splits)." if beyond_spread[worst] else
                    ", within the spread over the splits)." if len(falls) == 1 else
                    ", within the spread over the splits: the methods cannot be ranked on this run).")
                 if falls[worst] < 0 else "**No method loses zero-shot accuracy on average.**")
    lines.append("A change within the spread of the per-split changes is not a difference this run can claim: two "
                 "splits and one seed are a small sample; the profile's five splits (`live=False`) tell more.")
    return reports.Report.join(table, reports.bullets(lines))


def more_unseen_answer(reference, other):
    """Exercise 2: each method's ratio to chance and harmonic mean with `other`'s unseen classes against the
    notebook's, and whether it stays above chance on every split."""
    counts = [run.metadata["config"]["num_unseen"] for run in (reference, other)]
    table = comparison_table({f"{count} unseen": run for count, run in zip(counts, (reference, other))})
    before = _by_method(reference)
    lines = []
    for method, found in _by_method(other).items():
        ratio = _mean(found, "unseen_accuracy") / _mean(found, "chance")
        every = all(row["unseen_accuracy"] > row["chance"] for row in found)
        line = (f"**{_title(method)}:** {ratio:.1f} times chance with {counts[1]} unseen classes "
                f"({reports.percent(_mean(found, 'unseen_accuracy'))} against {reports.percent(_mean(found, 'chance'))}"
                f"), {'above' if every else '**not** above'} chance on every split")
        if method in before:
            old = before[method]
            old_ratio = _mean(old, "unseen_accuracy") / _mean(old, "chance")
            harmonic = _mean(found, "harmonic_mean") - _mean(old, "harmonic_mean")
            line += (f"; with {counts[0]}: {old_ratio:.1f} times chance. The harmonic mean moves by "
                     f"{reports.points(harmonic)} ({reports.percent(_mean(found, 'harmonic_mean'))} against "
                     f"{reports.percent(_mean(old, 'harmonic_mean'))})")
        lines.append(line + ".")
    lines.append("The splits of the two runs hide other classes, so the comparison is of means over different "
                 "splits, not pairs: a move smaller than the spread over the splits says nothing.")
    return reports.Report.join(table, reports.bullets(lines))
