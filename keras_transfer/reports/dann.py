"""What notebook 06 shows of a `dann` result: the gap DANN closes per seed, the paper's Table 1 beside ours, the
domain classifier, and the conclusion.

Each function takes the `ExperimentResult` of `keras_transfer.experiments.dann` (trained now or loaded) and returns
a `Report`; every number in it comes from the result, so a rerun cannot contradict the text. Text that holds for one
data source only (the offline `mnist_5k` of `quick` and `smoke`) is shown only for results of that source.

Example:

```python
from keras_transfer.reports import dann as dann_reports

dann_reports.seeds(result)  # the table of the three networks per seed, then the gap closed and the lesson's mark
dann_reports.lessons(result)  # the lesson's verdict line, `**Lesson:** holds. ...`, as the site reads it
```

`summary(result)` is what `python -m keras_transfer run dann` prints after its table.
"""

import statistics

from keras_transfer import reports
from keras_transfer.datasets import mnist_m

# The three networks of a seed, in the order of the paper's table: lower bound, the method, upper bound.
MODELS = ("source_only", "dann", "train_on_target")


def settings(config, profile, *, live=False, seeds=None):
    """The settings a notebook is about to run (or load) with: profile, data, held-out digits, steps, seeds.

    Args:
        config: dict. The profile's config, with the live settings applied when `live` (`experiments.dann.CONFIGS`
            and `LIVE`).
        profile: str. The profile's name.
        live: bool. Whether the run is the live demo (one seed, `LIVE`'s settings).
        seeds: sequence of int or None. The seeds asked for (None: the profile's, the first only when `live`).
    """
    seeds = list(seeds or (config["seeds"][:1] if live else config["seeds"]))
    mode, extra = (" in live mode", f" with `experiment.LIVE[{profile!r}]`") if live else ("", "")
    half = config["batch_size"] // 2
    alpha = reports.number(config["alpha"], 0) + (" (the paper: 10, see below)" if config["alpha"] != 10 else "")
    return reports.bullets([
        f"The results below come from the `{profile}` profile{mode} (settings: `experiment.CONFIGS[{profile!r}]`"
        f"{extra}).",
        f"Data: {mnist_m.describe(config['source'], config['photo_split'])}.",
        f"{config['validation_size']:,} training digits held out for validation; {config['steps']:,} steps of "
        f"{half} source + {half} target images per network, μ0 = {config['learning_rate']}, α = {alpha}; "
        f"seeds {', '.join(map(str, seeds))}.",
    ])


def data_sizes(data):
    """The number of images per split and domain of `mnist_m.load_domains`'s `data`, as a table."""
    rows = [{"split": split, **{domain: f"{len(data[f'{domain}_{split}'][0]):,}" for domain in ("source", "target")}}
            for split in ("train", "validation", "test")]
    return reports.table(rows, columns=("split", "source", "target"),
                         headers=("split", "source images (labelled)", "target images (labels never trained on)"))


def _values(result, model, key="target_accuracy"):
    return [row[key] for row in result.rows if row["model"] == model and reports.is_finite(row.get(key))]


def _mean(result, model, key="target_accuracy"):
    values = _values(result, model, key)
    return statistics.fmean(values) if values else None


def _titles(result):
    return {model: result.metadata.get("titles", {}).get(model, model.replace("_", " ")) for model in MODELS}


def _paper(result):
    return result.metadata["paper_table_1"][0]


def seed_table(result):
    """Target test accuracy of the three networks of each seed and the share of the gap DANN closes, with a
    mean ± std row."""
    rows = [row for row in result.rows if row["model"] == "dann" and "gap_closed" in row]
    cells = [[row["seed"], reports.percent(row["source_only_accuracy"]), reports.percent(row["target_accuracy"]),
              reports.percent(row["train_on_target_accuracy"]), reports.percent(row["gap_closed"])] for row in rows]
    columns = ("source_only_accuracy", "target_accuracy", "train_on_target_accuracy", "gap_closed")
    if len(rows) > 1:
        cells.append(["mean ± std", *(reports.mean_std([row[column] for row in rows]) for column in columns)])
    return reports.table(cells, headers=("seed", *_titles(result).values(), "gap closed"))


def lesson_holds(result):
    """The lesson's outcome: DANN closes at least the goal's share of the gap on average, every seed gaining.

    True or False; None when the run has no gap to measure (a model missing, or train on target never better)."""
    outcome = result.metadata.get("outcome")
    if not outcome or outcome.get("mean") is None:
        return None
    return bool(outcome["holds"])


def lessons(result):
    """The notebook's lesson as a `**Lesson:**` line (see `keras_transfer.site`): DANN closes at least the goal's
    share of the gap between source only and train on target on average, every seed gaining (`lesson_holds`); not
    run when the run has no gap to measure."""
    outcome = result.metadata.get("outcome") or {}
    goal = outcome.get("goal")
    share = reports.percent(goal, 0) if goal is not None else "the lesson's share"
    claim = (f"DANN closes at least {share} of the gap "
             "between source only and train on target on the target test images, on average over seeds, every seed "
             "gaining over source only")
    holds = lesson_holds(result)
    if holds is None:
        return reports.lesson(None, claim + ": this run has no gap to measure (a network missing, or train on "
                                            "target never better than source only).")
    gap, paper = result.metadata["gap_closed"], _paper(result)
    values = [value for value in gap["per_seed"].values() if value is not None]
    count = len(gap["per_seed"])
    positive = sum(value > 0 for value in values)
    return reports.lesson(holds, f"{claim}: it closes {reports.mean_std(values, digits=0)} over {count} "
                                 f"seed{'s' * (count != 1)}, gaining on {positive} of {count} (the paper: "
                                 f"{reports.percent(paper['gap_closed'], 0)} on {paper['task']}).")


def gap_sentences(result):
    """The gap DANN closes (mean ± std, beside the paper's), on how many seeds it gains, the lesson's mark, and
    the same gap on the validation images."""
    gap, outcome, paper = result.metadata["gap_closed"], result.metadata["outcome"], _paper(result)
    if gap["mean"] is None:
        return reports.Report("Train on target did not beat source only on any seed: there is no gap to close in "
                              "this run.")
    values = [value for value in gap["per_seed"].values() if value is not None]
    positive = sum(value > 0 for value in values)
    count = len(gap["per_seed"])
    mark = reports.verdict(lesson_holds(result), yes="**met**", no="**not met**")
    parts = [
        f"DANN closes {reports.mean_std(values, digits=0)} of the gap (over {count} seed{'s' * (count != 1)}; the "
        f"paper: {reports.percent(paper['gap_closed'], 0)} on {paper['task']}); it gains over source only on "
        f"{positive} of {count}. The lesson's mark, at least {reports.percent(outcome['goal'], 0)} on average with "
        f"every seed positive, is {mark}."
    ]
    validation = result.metadata.get("gap_closed_validation") or {}
    config = result.metadata["config"]
    if validation.get("mean") is not None:
        if config["photo_split"] == "tiles":
            photos = "tiles of the photos that neither the training nor the test images use"
        elif mnist_m.validation_photos_apart(config["source"], config["photo_split"]):
            photos = "photos that neither the training nor the test images use"
        else:
            photos = "the training photos"
        parts.append(
            f"On the validation images (held-out training digits, blended with {photos}) DANN closes "
            f"{reports.percent(validation['mean'], 0)} of the gap, against {reports.percent(gap['mean'], 0)} on the "
            "test images: the spread between the two is part of what one run of adversarial training can tell.")
    if config["photo_split"] == "tiles":
        parts.append(
            f"Every target split here samples the same {sum(map(len, mnist_m.PACKAGED_PHOTOS.values()))} photos, cut "
            "into tiles that no two splits share: the unlabelled images DANN adapts to come from the test images' "
            "domain, as in the paper, where both are crops of BSDS500 photos. Exercise 3 gives the test images "
            "photos of their own instead.")
    return reports.Report.join(*parts)


def seeds(result):
    """`seed_table` then `gap_sentences`: the section "The gap DANN closes, seed by seed"."""
    return reports.Report.join(seed_table(result), gap_sentences(result))


def paper_table(result):
    """The paper's Table 1 (its four tasks) and our mean ± std over seeds beside it: target test accuracies and the
    share of the gap DANN closes."""
    rows = [[entry["task"], "paper", *(reports.percent(entry[model]) for model in MODELS),
             reports.percent(entry["gap_closed"])] for entry in result.metadata["paper_table_1"]]
    gap = result.metadata["gap_closed"]
    count = len({row["seed"] for row in result.rows})
    rows.append([result.metadata["task"], f"ours ({result.profile}, {count} seed{'s' * (count != 1)})",
                 *(reports.mean_std(_values(result, model)) for model in MODELS),
                 reports.mean_std([value for value in gap["per_seed"].values() if value is not None])])
    return reports.table(rows, headers=("source → target", "from", *_titles(result).values(), "gap closed"))


def paper_comparison(result):
    """`paper_table`, then where our bounds stand against the paper's and, for the offline data, why."""
    paper, config = _paper(result), result.metadata["config"]
    source_only, on_target = _mean(result, "source_only"), _mean(result, "train_on_target")
    parts = [paper_table(result)]
    if source_only is not None:
        parts.append(
            f"Source only: {reports.percent(source_only)} on the target test set against "
            f"{reports.percent(_mean(result, 'source_only', 'source_accuracy'))} on the source test set (the paper: "
            f"{reports.percent(paper['source_only'])} on the target)"
            + (f"; train on target: {reports.percent(on_target)} (the paper: "
               f"{reports.percent(paper['train_on_target'])})." if on_target is not None else "."))
    if config["source"] == "mnist_5k":
        photos = sum(map(len, mnist_m.PACKAGED_PHOTOS.values())) if config["photo_split"] == "tiles" else len(
            mnist_m.PACKAGED_PHOTOS["train"])
        parts.append(
            f"This run trains on {result.metadata['sizes']['source_train']:,} digits per domain instead of MNIST's "
            f"60,000, with crops of {photos} photos instead of BSDS500's 200, for {config['steps']:,} steps per "
            "network, far fewer than the paper's: its upper bound is lower than the paper's, and DANN has less time "
            "to win its game. The `full` profile is the paper's setup.")
    return reports.Report.join(*parts)


def _per_model(result, key, models=MODELS):
    titles = _titles(result)
    return ", ".join(f"{titles[model]} {reports.percent(_mean(result, model, key))}" for model in models
                     if _mean(result, model, key) is not None)


def domain_classifier(result):
    """The final domain classifier's accuracy per network (chance is 50%) and what adapting costs on the source."""
    return reports.Report.join(
        "Final domain classifier accuracy on the test images of both domains (chance 50%): "
        f"{_per_model(result, 'domain_accuracy')}.",
        f"Source test accuracy: {_per_model(result, 'source_accuracy', ('source_only', 'dann'))}: what adapting "
        "costs on the source domain.",
    )


def conclusion(result):
    """What this run showed, as bullets: DANN against the bounds, the gap closed beside the paper's, whether the
    domain classifier was fooled and, for the offline data, whether its size sufficed for the lesson."""
    metadata, config = result.metadata, result.metadata["config"]
    so, adapted, on_target = (_mean(result, model) for model in MODELS)
    gap, paper = metadata["gap_closed"], _paper(result)
    lines = [f"On {metadata['task']}, DANN's target accuracy is {reports.percent(adapted)} against "
             f"{reports.percent(so)} for source only and {reports.percent(on_target)} for train on target (mean over "
             "seeds)."]
    if gap["mean"] is not None:
        lines.append(f"That closes {reports.percent(gap['mean'], 0)} of the gap on average "
                     f"({reports.percent(paper['gap_closed'], 0)} in the paper), "
                     + ("with every seed gaining." if gap["every_seed_positive"] else "but not on every seed."))
    observer, adversary = _mean(result, "source_only", "domain_accuracy"), _mean(result, "dann", "domain_accuracy")
    if observer is not None and adversary is not None:
        lines.append(f"Its domain classifier ends at {reports.percent(adversary)} accuracy, against "
                     f"{reports.percent(observer)} for the observer of the source-only network: "
                     + ("the adapted features are harder to tell apart." if adversary < observer
                        else "adapting did not make the domains harder to tell apart."))
    holds = lesson_holds(result)
    if config["source"] == "mnist_5k" and holds is not None:
        shown = "already show" if holds else "are not enough to show"
        lines.append(f"{metadata['sizes']['source_train']:,} digits per domain and {config['steps']:,} steps {shown} "
                     "the paper's effect at the lesson's mark (DANN closes at least that share of the gap, every "
                     "seed gaining); the paper's numbers come from all of MNIST, BSDS500 and far longer training: "
                     "run the `full` profile on a GPU to set yours beside them.")
    return reports.bullets(lines)


def summary(result):
    """What the command line prints after the results table: the lesson, the three networks of each seed with the
    gap DANN closes, and the conclusion (no figures)."""
    return reports.Report.join("## Lesson", lessons(result), "## The gap DANN closes, seed by seed",
                               seed_table(result), "## Conclusion", conclusion(result))


__all__ = ["MODELS", "conclusion", "data_sizes", "domain_classifier", "gap_sentences", "learning_rate_answer",
           "lesson_holds", "lessons", "paper_comparison", "paper_table", "reversal_off_answer", "runs_table",
           "seed_table", "seeds", "settings", "summary", "unseen_photos_answer"]


# Worked answers to the notebook's exercises (`notebooks/solutions/06_dann.py`): each compares an exercise's live run
# (one seed, `other`) with the notebook's own settings run live (`reference`).

_ONE_SEED = ("One seed of an adversarial game moves a lot from seed to seed: run the profile's seeds (`live=False`) "
             "and read the gap closed per seed before trusting a difference of a few points.")
_COLUMNS = (("target_validation_accuracy", "target validation"), ("target_accuracy", "target test"),
            ("source_accuracy", "source test"), ("domain_accuracy", "domain classifier"))


def _first_seed(result, model, key="target_accuracy"):
    seed = result.metadata["config"]["seeds"][0]
    return next((row.get(key) for row in result.rows if row["model"] == model and row["seed"] == seed), None)


def _gap_cell(result, which):
    gap = result.metadata.get(which) or {}
    return reports.percent(gap.get("mean"), 0) if gap.get("mean") is not None else "–"


def runs_table(runs):
    """One row per run (`{title: result}`) and network: target validation and test, source test and domain
    classifier accuracy (first seed), then the gap DANN closes on validation and test."""
    rows = []
    for title, result in runs.items():
        for model in MODELS:
            if _first_seed(result, model) is None:
                continue
            rows.append([title, _titles(result)[model],
                         *(reports.percent(_first_seed(result, model, key)) for key, _ in _COLUMNS),
                         *((_gap_cell(result, "gap_closed_validation"), _gap_cell(result, "gap_closed"))
                           if model == "dann" else ("", ""))])
    return reports.table(rows, headers=("run", "network", *(title for _, title in _COLUMNS), "gap closed (validation)",
                                        "gap closed (test)"))


def _level(difference, up, down):
    """`"equals source only's to the last digit"` or `"is 5.0 points above source only's"`."""
    return ("equals source only's to the last digit" if abs(difference) < 0.0005
            else f"is {reports.points(abs(difference), sign=False)} {up if difference > 0 else down} source only's")


def reversal_off_answer(reference, off):
    """Exercise 1: DANN with the reversal switched off (`off`) against source only, and where DANN's gain in the
    notebook's own run (`reference`) comes from."""
    table = runs_table({"the notebook's": reference, f"max_strength={off.metadata['config']['max_strength']:g}": off})
    pairs = {}
    for title, run in (("off", off), ("reference", reference)):
        pairs[title] = {key: (_first_seed(run, "dann", key), _first_seed(run, "source_only", key))
                        for key in ("target_accuracy", "domain_accuracy")}
    if any(None in pair for values in pairs.values() for pair in values.values()):
        return reports.Report.join(table, "One of the runs lacks DANN or source only: nothing to compare.")
    off_target = pairs["off"]["target_accuracy"][0] - pairs["off"]["target_accuracy"][1]
    off_domain = pairs["off"]["domain_accuracy"][0] - pairs["off"]["domain_accuracy"][1]
    same = abs(off_target) < 0.0005 and abs(off_domain) < 0.0005
    lines = [f"**Without the reversal, DANN's target test accuracy {_level(off_target, 'above', 'below')}** "
             f"({reports.percent(pairs['off']['target_accuracy'][0])} against "
             f"{reports.percent(pairs['off']['target_accuracy'][1])}), and its domain classifier's accuracy "
             f"{_level(off_domain, 'above', 'below')} "
             f"({reports.percent(pairs['off']['domain_accuracy'][0])} against "
             f"{reports.percent(pairs['off']['domain_accuracy'][1])})"
             + (": the same network." if same else ".")]
    gain = pairs["reference"]["target_accuracy"][0] - pairs["reference"]["target_accuracy"][1]
    fooled = pairs["reference"]["domain_accuracy"][0] - pairs["reference"]["domain_accuracy"][1]
    lines.append(f"**With the reversal (the notebook's run)** DANN is {reports.points(gain)} against source only on "
                 f"the target test images, and its domain classifier ends {reports.points(fooled)} against the "
                 "observer of source only"
                 + (": the features became harder to tell apart by domain." if fooled < 0 else "."))
    if same:
        lines.append("So the whole difference between DANN and source only in the notebook's run comes from the "
                     "reversed gradient: the same architecture, data, batches and optimizer give nothing without it.")
    return reports.Report.join(table, reports.bullets(lines))


def learning_rate_answer(reference, other):
    """Exercise 2: the gap DANN closes on the validation and the test images at `other`'s learning rate against the
    notebook's, and how each network's target accuracy moves."""
    rates = [f"μ0 = {run.metadata['config']['learning_rate']:g}" for run in (reference, other)]
    table = runs_table(dict(zip(rates, (reference, other))))
    lines = []
    for which, images in (("gap_closed_validation", "validation"), ("gap_closed", "test")):
        before, after = ((run.metadata.get(which) or {}).get("mean") for run in (reference, other))
        if before is not None and after is not None:
            lines.append(f"**On the {images} images DANN closes {reports.percent(after, 0)} of the gap** at "
                         f"{rates[1]}, against {reports.percent(before, 0)} at {rates[0]}.")
    moves = []
    for model in MODELS:
        before, after = _first_seed(reference, model), _first_seed(other, model)
        if before is not None and after is not None:
            moves.append(f"{_titles(reference)[model]} {reports.points(after - before)}")
    if moves:
        lines.append(f"Target test accuracy at {rates[1]} against {rates[0]}: {', '.join(moves)}.")
    adapted, source_only = _first_seed(other, "dann"), _first_seed(other, "source_only")
    if adapted is not None and source_only is not None:
        lines.append(f"At {rates[1]} DANN is {'above' if adapted > source_only else '**not above**'} source only on "
                     f"the target test images ({reports.percent(adapted)} against {reports.percent(source_only)}).")
    return reports.Report.join(table, reports.bullets([*lines, _ONE_SEED]))


def unseen_photos_answer(reference, other):
    """Exercise 3: the gap DANN closes when each split has photos of its own (`other`) against tiles of the same
    photos (`reference`), on the validation and the test images."""
    splits = [run.metadata["config"]["photo_split"] for run in (reference, other)]
    table = runs_table({f"photo_split={split!r}": run for split, run in zip(splits, (reference, other))})
    gaps = {split: {images: (run.metadata.get(which) or {}).get("mean")
                    for which, images in (("gap_closed", "test"), ("gap_closed_validation", "validation"))}
            for split, run in zip(splits, (reference, other))}
    new, old = gaps[splits[1]], gaps[splits[0]]
    lines = [f"**On the {images} images DANN closes {reports.percent(new[images], 0)} of the gap** with photos of "
             f"their own, against {reports.percent(old[images], 0)} with tiles of the photos DANN trained on "
             f"({reports.points(new[images] - old[images], 0)})." for images in ("test", "validation")
             if new[images] is not None and old[images] is not None]
    if not lines:
        return reports.Report.join(table, "One of the runs has no gap to measure.")
    if None not in new.values():
        lines.append(f"With photos of their own, the validation and the test images are "
                     f"{reports.points(abs(new['validation'] - new['test']), 0, sign=False)} apart: each split's "
                     "photos are a domain of their own.")
    lines.append(_ONE_SEED)
    return reports.Report.join(table, reports.bullets(lines))
