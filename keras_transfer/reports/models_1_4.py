"""What notebook 04 shows of a Models 1-4 run (`experiments.models_1_4`), each a `Report` computed from the result.

`about` and `setup` say where the numbers come from and what the source network and the target are (before
training); `parameter_table` what each model trains; `results_table` the run's mean ± std per model and budget;
`claims` the lecture's two claims with their verdicts; `fine_tuning_on_validation` what fine-tuning adds to the frozen
base on the validation images; `strategy_table` the fine-tuning strategy table; `conclusion` the run in a few bullets;
`lessons` the two claims as the notebook's lessons (a `**Lesson:**` line each, as `python -m keras_transfer site`
reads them). `summary` is what the command line prints after its table.

Example:

```python
from keras_transfer import experiments
from keras_transfer.reports import models_1_4 as report

result = experiments.run("models-1-4", "quick", results="auto")
report.claims(result)  # rendered in Jupyter, Markdown text with print()
```
"""

import statistics

from keras_transfer import reports
from keras_transfer.experiments import models_1_4 as recipe

_CLAIM_NAMES = {
    ("scratch", "frozen"): "scratch < frozen",
    ("frozen", "fine_tuned"): "frozen < fine-tuned",
    ("fine_tuned", "chain_thaw"): "fine-tuned ≤ chain-thaw",
}


def _listing(items):
    """`["a", "b", "c"]` -> `"a, b and c"`."""
    items = [str(item) for item in items]
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


def _label(name):
    """`"frozen"` -> `"Model 2 (`frozen`)"`: the lecture's number and the code's name."""
    title = recipe.TITLES.get(name, "")
    return f"{title.split(':')[0]} (`{name}`)" if ":" in title else f"`{name}`"


def about(profile, live=False):
    """Which profile (and live mode) the notebook's numbers come from, and what that profile trains."""
    if profile not in recipe.DESCRIPTIONS:
        raise ValueError(f"`profile` must be one of {sorted(recipe.DESCRIPTIONS)}. Received: profile={profile!r}")
    mode = " in live mode" if live else ""
    extra = recipe.LIVE_DESCRIPTIONS[profile] if live else ""
    return reports.Report(f"Results in this notebook come from the **{profile}** profile{mode}: "
                          f"{recipe.DESCRIPTIONS[profile]}{extra}.")


def setup(config, source_info=None, class_names=None):
    """The pretrained network and the target of `config`: the CPU stand-in (items pasted on photos) or Oxford-17.

    Args:
        config: dict. The run's settings (`profiles.select(models_1_4.CONFIGS, ...)` or `metadata["config"]`).
        source_info: dict or None. `models.source_network_info(...)` of the main source (sizes, classes, accuracy).
        class_names: sequence of str or None. The target's classes.
    """
    if config["data"] != "pasted_objects":
        return reports.Report(
            "**Source network:** `keras.applications.VGG19(weights='imagenet')`. **Target:** Oxford-17 split "
            f"{config['split_id']}, 40 training and 20 validation images per class."
        )
    source = ("**Source network** ('ImageNet' here): a small VGG (blocks of 3x3 convolutions, then fc1, fc2, "
              "predictions) trained on items of Fashion-MNIST, each pasted at a random place and size on a crop of "
              "scikit-image's photos")
    if source_info:
        source += (f": {source_info['train_images']:,} images of {_listing(source_info['classes'])}; test accuracy "
                   f"{reports.percent(source_info['test_accuracy'])} on {source_info['test_images']:,} items pasted "
                   "on photo strips it never saw")
    why = ("**Why photos:** ImageNet's images are objects on photos, and the lecture's claim is about a network that "
           "has learnt 'objects on photos'; a network that saw its items only on black has no such features to "
           "transfer (the strategy table at the end measures that, with the same network trained on black as the "
           "'different data' source).")
    classes = f"the five other classes, {_listing(class_names)}," if class_names else "the five other classes"
    target = (f"**Target** ('Oxford-17' here): {classes} pasted on crops of scikit-learn's two photos (other photos "
              "than the source's): the same task, new classes and a new domain. Budgets "
              f"{_listing(config['labels_per_class'])} labelled images per class, {config['validation_per_class']} "
              f"validation images per class, {config['test_size']:,} test images whose backgrounds come from a strip "
              "of each photo no training image touches.")
    return reports.Report.join(source + ".", why, target)


def parameter_table(counts):
    """A table of what each model trains at its start: `counts` is `{name: {"trainable": n, "frozen": m}}`
    (`models.parameter_counts` of each model as `models_1_4.build_model` builds it)."""
    return reports.table(
        [[recipe.TITLES.get(name, name), f"{count['trainable']:,}", f"{count['frozen']:,}"]
         for name, count in counts.items()],
        headers=("model", "trainable parameters", "frozen parameters"),
    )


def results_table(result):
    """The run in one line (profile, seeds, time) and its table: mean ± std over seeds per budget and model."""
    meta = result.metadata
    groups = {}
    for row in result.rows:
        groups.setdefault((row["source"], row["labels_per_class"], row["network"]), []).append(row)
    sources = {source for source, _, _ in groups}
    main = meta.get("config", {}).get("source_domain")
    rows = []
    for (source, per_class, name), found in groups.items():
        column = lambda key: [row[key] for row in found if key in row]  # noqa: E731
        rows.append({
            "labels per class": per_class, "model": _label(name),
            "source network": source + (" (the main one)" if source == main and len(sources) > 1 else ""),
            "runs": len(found), "test accuracy": reports.mean_std(column("test_accuracy")),
            "epochs": reports.mean_std(column("epochs"), digits=0, as_percent=False),
            "CPU time (s)": reports.mean_std(column("cpu_time_s"), digits=0, as_percent=False),
        })
    columns = [key for key in rows[0] if key != "source network" or len(sources) > 1] if rows else None
    seeds = meta.get("seeds") or sorted({row["seed"] for row in result.rows})
    timing = (f"; total {reports.number(meta['wall_time_s'], 0)} s wall, {reports.number(meta['cpu_time_s'], 0)} s CPU"
              if "wall_time_s" in meta and "cpu_time_s" in meta else "")
    line = f"Profile **{result.profile}**; seed{'s' if len(seeds) > 1 else ''} {_listing(seeds)}{timing}."
    return reports.Report.join(line, reports.table(rows, columns=columns))


def _mean_pm(mean, std):
    """`"62.1% ± 4.3%"`, or `"62.1%"` when there is no spread (one seed)."""
    return reports.percent(mean) + (" ± " + reports.percent(std) if std else "")


def _claim_row(claim, per_class, lower, higher, check):
    if check.get("holds") is None:
        return [claim, per_class, _label(lower), _label(higher), "–", "–", reports.verdict(None)]
    return [claim, per_class, f"{_label(lower)} {_mean_pm(check['lower_mean'], check['lower_std'])}",
            f"{_label(higher)} {_mean_pm(check['higher_mean'], check['higher_std'])}",
            reports.points(check["difference"]),
            reports.points(check["spread"], sign=False) if check.get("seeds", 2) > 1 else "– (one seed)",
            reports.verdict(check["holds"])]


def claims(result):
    """The lecture's claims measured on the run: a table with a verdict per claim, then what the verdicts say."""
    meta = result.metadata
    gain, order = meta["checks"]["frozen_gain"], meta["checks"]["order"]
    threshold = gain["threshold"]
    rows = [_claim_row(f"frozen beats scratch by at least {reports.points(threshold, 0, sign=False)}",
                       gain["labels_per_class"], "scratch", "frozen", gain)]
    rows += [_claim_row(_CLAIM_NAMES.get(tuple(step["pair"]), " < ".join(step["pair"])), order["labels_per_class"],
                        *step["pair"], step) for step in order["steps"]]
    headers = ("claim", "labels per class", "expected lower", "expected higher", "difference",
               "spread of the per-seed difference", "verdict")
    table = reports.table(rows, headers=headers)
    failing = [_CLAIM_NAMES.get(tuple(step["pair"]), " < ".join(step["pair"]))
               for step in order["steps"] if step["holds"] is False]
    if gain["holds"] is False:
        failing.insert(0, f"frozen beats scratch by {reports.points(threshold, 0, sign=False)} at the smallest budget")
    ran = gain["holds"] is not None or any(step["holds"] is not None for step in order["steps"])
    if failing:
        reading = (f"Not shown by this run: {'; '.join(failing)}. A step fails when its mean difference is below the "
                   "spread of the per-seed differences: the seeds disagree about it (more seeds or a larger test set "
                   "would tell), or a design with a larger gap is needed.")
    else:
        reading = ("Every claim that ran holds in this run." if ran
                   else "No claim ran: the models they compare were not trained.")
    single = ""
    if len(meta["seeds"]) == 1:
        more = ("run the profile's seeds (`LIVE = False`) to see whether it stands beyond the spread"
                if len(meta["config"].get("seeds", ())) > 1 else f"the {result.profile} profile has one seed only")
        single = ("One seed: there is no seed spread to compare with, so a step 'holds' here on the sign of its "
                  f"difference alone; {more}.")
    return reports.Report.join(table, reading, single)


def fine_tuning_on_validation(result):
    """Fine-tuned against frozen at the reference budget on the validation images every choice was made on (the
    rates chosen there); an empty report when the run has not both."""
    meta, config = result.metadata, result.metadata["config"]
    order = meta["checks"]["order"]
    per_class = order["labels_per_class"]
    found = {name: [row for row in result.rows if row["network"] == name and row["labels_per_class"] == per_class
                    and row["source"] == config["source_domain"]] for name in ("frozen", "fine_tuned")}
    if not all(found.values()) or any(row.get("validation_accuracy") is None
                                      for rows in found.values() for row in rows):
        return reports.Report("")
    mean = {name: sum(row["validation_accuracy"] for row in rows) / len(rows) for name, rows in found.items()}
    rates = _listing(f"{rate:g}" for rate in sorted({row["learning_rate"] for row in found["fine_tuned"]}))
    decay = config.get("fine_tune_decay")
    layers = (f"each block below the head at the rate of the one above / {decay:g}" if decay
              else "one rate for every layer")
    steps = {tuple(step["pair"]): step for step in order["steps"]}
    step = steps.get(("frozen", "fine_tuned"), {})
    on_test = ""
    if step.get("holds") is False:
        below = step["difference"] < -step["spread"]
        on_test = (f": on the test images it ends {reports.points(-step['difference'], sign=False)} below the frozen "
                   "base" if below else ": on the test images it stays within the seed spread of the frozen base")
    return reports.Report(
        f"**Fine-tuning against the frozen base** at {per_class} labels per class, on the validation images: "
        f"{reports.percent(mean['fine_tuned'])} against {reports.percent(mean['frozen'])} "
        f"({reports.points(mean['fine_tuned'] - mean['frozen'])}; learning rate chosen there: {rates}, {layers}). "
        "Fine-tuning starts from the frozen model's weights, so what it adds is what the pretrained base still had to "
        f"adapt to the new photos and classes{on_test}."
    )


def strategy_table(result):
    """The fine-tuning strategy table (similar or different source data x small or large target set): each cell's
    winner, runner-up, whether the win is clear, and the lecture's rule; a sentence when the run has no second
    source."""
    strategy, single = result.metadata.get("strategy"), len(result.metadata["seeds"]) == 1
    if not strategy:
        return reports.Report("The strategy table needs a second source network ('different data'); this run has "
                              "none (`compare_domain=None`).")
    rows = []
    for cell in strategy:
        means = cell["means"]
        shown = lambda name: f"{name} ({reports.percent(means[name])})" if name else ""  # noqa: E731
        rows.append([f"{cell['data']} ({cell['source']})", f"{cell['target']} ({cell['labels_per_class']}/class)",
                     f"**{shown(cell['winner'])}**" if cell["winner"] else "–", shown(cell["runner_up"]),
                     "– (one seed)" if single and cell["clear"] is not None
                     else {True: "yes", False: "no (within the seed spread)", None: ""}[cell["clear"]],
                     f"{cell['lecture_rule']} ({', '.join(cell['lecture_models'])})",
                     "yes" if cell["agrees"] else "**no**"])
    return reports.table(rows, headers=("source data", "target set", "winner (mean test accuracy)", "runner-up",
                                        "clear win?", "lecture's rule", "agrees?"))


def conclusion(result):
    """What the run says in a few bullets, then (per profile) what its numbers stand for."""
    meta, config = result.metadata, result.metadata["config"]
    gain, order, strategy = meta["checks"]["frozen_gain"], meta["checks"]["order"], meta.get("strategy")
    lines = []
    if gain["holds"] is not None:
        worth = "are worth" if gain["difference"] >= 0 else "lose"
        lines.append(f"With {gain['labels_per_class']} labels per class, pretrained features {worth} "
                     f"{reports.points(abs(gain['difference']), 0, sign=False)} of test accuracy "
                     f"{'over' if gain['difference'] >= 0 else 'to'} training from scratch "
                     f"({reports.percent(gain['higher_mean'], 0)} against {reports.percent(gain['lower_mean'], 0)}).")
    ran = [step for step in order["steps"] if step["holds"] is not None]
    if ran:
        shown = [_CLAIM_NAMES.get(tuple(step["pair"]), " < ".join(step["pair"])) for step in ran if step["holds"]]
        beyond = "beyond the seed spread" if len(meta["seeds"]) > 1 else "(one seed: on the sign of the difference)"
        lines.append(f"At {order['labels_per_class']} labels per class the steps this run shows {beyond}: "
                     f"{', '.join(shown) if shown else 'none'}.")
    for data_kind in ("similar", "different") if strategy else ():
        small, large = (next(cell for cell in strategy if cell["data"] == data_kind and cell["target"] == size)
                        for size in ("small", "large"))
        agree = "as" if small["agrees"] and large["agrees"] else "not entirely as"
        lines.append(f"{data_kind.capitalize()} source data: with a small target set "
                     f"({small['labels_per_class']}/class) **{small['winner']}** wins, with a larger one "
                     f"({large['labels_per_class']}/class) **{large['winner']}** ({agree} the lecture's rule says: "
                     f"{small['lecture_rule']}; then {large['lecture_rule']}).")
    disagree = [f"{cell['data']} data, {cell['target']} set" for cell in strategy or () if not cell["agrees"]]
    if disagree:
        lines.append(f"Where this run departs from the rule: {'; '.join(disagree)} (see the table for the margins).")
    note = ""
    if result.profile == "smoke":
        note = f"The smoke profile is {recipe.DESCRIPTIONS['smoke']}."
    elif config["data"] == "pasted_objects":
        note = ("These numbers come from the CPU stand-in (Fashion-MNIST items pasted on photos, a small VGG); the "
                "`full` profile runs the lecture's ImageNet VGG19 on Oxford-17 on a GPU.")
    return reports.Report.join(reports.bullets(lines) if lines else "No model pair of the lecture's claims ran.", note)


def _difference(check):
    """`"+30.3 points (spread 2.1 points)"`: a check's difference of the means and the spread it is held against."""
    spread = (f"spread of the per-seed difference {reports.points(check['spread'], sign=False)}"
              if check.get("seeds", 2) > 1 else "one seed, no spread")
    return f"{reports.points(check['difference'])} ({spread})"


def lessons(result):
    """The notebook's lessons: the lecture's two claims with the verdicts the run stored (`metadata["checks"]`).

    - frozen features beat training from scratch by at least `threshold` at the smallest budget;
    - the order scratch < frozen < fine-tuned ≤ chain-thaw at the reference budget: fails if a step fails, holds if
      every step holds, not run otherwise (a model of the order was not trained).
    """
    checks = result.metadata["checks"]
    gain, order = checks["frozen_gain"], checks["order"]
    threshold = reports.points(gain["threshold"], 0, sign=False)
    claim = (f"Frozen pretrained features beat training from scratch by at least {threshold} of test accuracy with "
             f"{gain['labels_per_class']} labelled images per class (the smallest budget)")
    if gain["holds"] is None:
        first = reports.lesson(None, f"{claim}: not run, this run has not both models at that budget.")
    else:
        first = reports.lesson(gain["holds"], f"{claim}: {_label('frozen')} "
                                              f"{_mean_pm(gain['higher_mean'], gain['higher_std'])} against "
                                              f"{_label('scratch')} {_mean_pm(gain['lower_mean'], gain['lower_std'])}, "
                                              f"{_difference(gain)}.")
    steps = order["steps"]
    verdicts = [step["holds"] for step in steps]
    holds = False if False in verdicts else (True if verdicts and all(verdicts) else None)
    parts = []
    for step in steps:
        name = _CLAIM_NAMES.get(tuple(step["pair"]), " < ".join(step["pair"]))
        parts.append(f"{name} not run" if step["holds"] is None else
                     f"{name} {reports.verdict(step['holds'])}, {_difference(step)}")
    second = reports.lesson(holds, f"At {order['labels_per_class']} labelled images per class the models rank "
                                   "scratch < frozen < fine-tuned ≤ chain-thaw (a < step holds when the difference "
                                   "exceeds the spread of the per-seed difference, the ≤ step unless it is below "
                                   f"minus that spread): {'; '.join(parts) if parts else 'no step ran'}.")
    return reports.Report.join(first, second)


def summary(result):
    """What the command line prints after the results table: the lessons, the claims, the strategy table and the
    conclusion."""
    return reports.Report.join("## Lessons", lessons(result), "## The lecture's claims", claims(result),
                               fine_tuning_on_validation(result), "## The strategy table", strategy_table(result),
                               "## Conclusion", conclusion(result))

# Choosing before training (issue: transferability scores, the learning-rate finder): read from the run's metadata.

_SCORE_TITLES = {"logme": "LogME", "leep": "LEEP", "nce": "NCE"}


def source_score_table(result):
    """Each source network's transferability scores on each budget's training images (before training), beside the
    test accuracy Models 2 and 3 reached from it: mean ± std over seeds."""
    found = result.metadata.get("transferability")
    if not found:
        return reports.Report("This run scored no source networks (it has one source: `compare_domain=None`).")
    groups = {}
    for row in found["rows"]:
        groups.setdefault((row["labels_per_class"], row["source"]), []).append(row)
    lines = []
    for (per_class, source), rows in groups.items():
        lines.append([f"{per_class}/class", source,
                      *(reports.mean_std([row[score] for row in rows], 3, as_percent=False)
                        for score in found["scores"]),
                      *(reports.mean_std([row[f"{name}_accuracy"] for row in rows]) for name in found["networks"])])
    return reports.table(lines, headers=("labels", "source", *(_SCORE_TITLES[s] for s in found["scores"]),
                                         *(f"{_label(name)}: test accuracy" for name in found["networks"])))


def source_score_verdict(result):
    """Per budget and trained model: how often each score's preferred source was the better one, and the best score."""
    found = result.metadata.get("transferability")
    if not found:
        return reports.Report("")
    lines, tally = [], {score: [0, 0] for score in found["scores"]}
    for per_class, by_network in found["by_budget"].items():
        for name, correlations in by_network.items():
            parts = []
            for score in found["scores"]:
                summary = correlations["summary"][score]
                tally[score][0] += summary["picked_best"]
                tally[score][1] += summary["seeds"]
                parts.append(f"{_SCORE_TITLES[score]} {summary['picked_best']} of {summary['seeds']}")
            lines.append(f"**{per_class} labels per class, {_label(name)}:** the source a score ranks first was the "
                         f"better one in " + ", ".join(parts) + " seeds.")
    best = max(tally, key=lambda score: tally[score][0])
    right, total = tally[best]
    lines.append(f"**Best score here:** {_SCORE_TITLES[best]}, right in {right} of {total} choices"
                 + (" (every one)." if right == total else ".")
                 + " With two candidate sources a score can only be right or wrong: read this as how often it would "
                 "have chosen the source to fine-tune, not as a correlation like TLlib's over 10 networks.")
    return reports.bullets(lines)


def recommendation_table(result):
    """`selection.recommend` on each cell of the strategy table, the source's similarity judged by its LogME, beside
    the measured winner."""
    cells = result.metadata.get("recommendations")
    if not cells:
        return reports.Report("This run has no strategy table to check recommendations against.")
    rows = [[f"{cell['source']}", f"{cell['labels_per_class']}/class",
             f"{'similar' if cell['scored_similar'] else 'different'} "
             f"({_SCORE_TITLES.get(cell['score'], cell['score'])})",
             ", ".join(cell["models"]), cell["winner"] or "–", "yes" if cell["agrees"] else "**no**"]
            for cell in cells]
    agree = sum(cell["agrees"] for cell in cells)
    table = reports.table(rows, headers=("source", "target set", "source data, as scored", "recommended",
                                         "measured winner", "agrees?"))
    disagreements = [cell for cell in cells if not cell["agrees"]]
    sentence = f"The recommendation agrees with the measured winner in {agree} of {len(cells)} cells." + (
        "" if not disagreements else " Where it does not: " + "; ".join(
            f"{cell['source']} at {cell['labels_per_class']}/class recommended {', '.join(cell['models'])}, "
            f"{cell['winner']} won" for cell in disagreements) + ".")
    return reports.Report.join(table, sentence)


def finder_table(result):
    """The learning-rate range test on Model 3 where its fine-tuning starts (valley and steepest suggestions) beside
    the rate Model 3 chose on validation, per budget: the median over seeds."""
    rows = [row for row in result.rows if row["network"] == "fine_tuned" and "finder_valley" in row]
    if not rows:
        return reports.Report("This run did not run the learning-rate finder (`find_learning_rate=False`).")
    groups = {}
    for row in rows:
        groups.setdefault((row["source"], row["labels_per_class"]), []).append(row)
    config = result.metadata["config"]
    start = float(config.get("finder_range", [0.0])[0])
    at_range_start = lambda rate: rate <= start * 1.0001  # noqa: E731 - the finder's first rate, to float precision
    edge = lambda rate: f"{rate:.1e}" + (" (range start)" if at_range_start(rate) else "")  # noqa: E731
    lines, ratios, at_start = [], [], []
    for (source, per_class), group in groups.items():
        valley = statistics.median([row["finder_valley"] for row in group])
        steepest = statistics.median([row["finder_steepest"] for row in group])
        chosen = statistics.median([row["learning_rate"] for row in group])
        if at_range_start(valley):
            at_start.append(f"{source} at {per_class}/class")
        else:
            ratios.append(valley / chosen)
        lines.append([source, f"{per_class}/class", edge(valley), edge(steepest), f"{chosen:.0e}", f"{len(group)}"])
    candidates = ", ".join(f"{rate:g}" for rate in config["fine_tune_learning_rates"])
    sentences = [f"Where the test read a valley, it lies between {min(ratios):.2g} and {max(ratios):.2g} times the "
                 f"rate validation chose among {candidates}." if ratios else
                 f"The test read no valley above the start of its range; validation chose among {candidates}."]
    if at_start:
        sentences.append(
            f"At the start of the range ({', '.join(at_start)}) the loss never fell as the rate rose: fine-tuning "
            "starts from a head already trained to convergence, so the lowest loss is at the smallest rate and the "
            "range test has no valley to read. The finder is made for a network still far from a minimum.")
    sentences.append("The finder costs one short fit; validation costs one fine-tuning per candidate rate, and only "
                     "it sees images the network did not train on.")
    return reports.Report.join(
        reports.table(lines, headers=("source", "labels", "finder: valley", "finder: steepest",
                                      "chosen on validation", "seeds")), " ".join(sentences))


__all__ = ["about", "claims", "conclusion", "fine_tuning_on_validation", "finder_table", "large_rate_answer",
           "lessons", "one_rate_answer", "parameter_table", "recommendation_table", "results_table",
           "scratch_catch_up_answer", "setup", "source_score_table", "source_score_verdict", "strategy_table",
           "summary"]


# Worked answers to the notebook's exercises (`notebooks/solutions/04_models_1_4.py`): each reads an exercise's live
# run (one seed), and where the exercise asks for a comparison, the notebook's own settings run live (`reference`).


def _first_seed(result, network, per_class, key="test_accuracy"):
    """`key` of `network` at `per_class` labels per class, first seed, main source; None when it did not run."""
    seed, domain = result.metadata["seeds"][0], result.metadata["config"]["source_domain"]
    return next((row.get(key) for row in result.rows if row["network"] == network and row["seed"] == seed
                 and row["labels_per_class"] == per_class and row["source"] == domain), None)


def _chance(result):
    classes = result.metadata.get("class_names") or ()
    return 1 / len(classes) if classes else None


def _moves(difference, up="grows", down="shrinks", level="stays level"):
    """`"grows by 3.2 points"`: which way a difference of fractions moved, and by how much."""
    if not reports.is_finite(difference):
        return "cannot be compared"
    if abs(difference) < 0.0005:
        return level
    return f"{up if difference > 0 else down} by {reports.points(abs(difference), sign=False)}"


_ONE_SEED = ("One seed: a difference of a few points is within what another draw of the images and of the head "
             "changes; the profile's three seeds (`live=False`) give the spread to judge it by.")


def scratch_catch_up_answer(curve):
    """Exercise 1: the gap between the frozen pretrained base and training from scratch at each budget of `curve`
    (first seed), how it changes with the number of labels, and what that says about the myth."""
    budgets = sorted({row["labels_per_class"] for row in curve.rows})
    gaps = {n: _first_seed(curve, "frozen", n) - _first_seed(curve, "scratch", n) for n in budgets
            if _first_seed(curve, "frozen", n) is not None and _first_seed(curve, "scratch", n) is not None}
    if len(gaps) < 2:
        return reports.Report("The run has scratch and frozen at fewer than two budgets: no trend to read.")
    ordered = sorted(gaps)
    chance = _chance(curve)
    lines = [f"**{n} labels per class:** frozen {reports.percent(_first_seed(curve, 'frozen', n))}, scratch "
             f"{reports.percent(_first_seed(curve, 'scratch', n))}: a gap of {reports.points(gaps[n])}."
             for n in ordered]
    fewest, most = ordered[0], ordered[-1]
    shrinking = all(gaps[a] > gaps[b] for a, b in zip(ordered, ordered[1:]))
    widest = max(gaps, key=gaps.get)
    lines.append(f"**From {fewest} to {most} labels per class the gap {_moves(gaps[most] - gaps[fewest])}**"
                 + (", at every step." if shrinking else f"; it is widest at {widest} labels per class."))
    passed = [n for n in ordered if gaps[n] < 0]
    lines.append("Scratch passes the frozen base at " + ", ".join(map(str, passed)) + " labels per class."
                 if passed else f"Scratch does not pass the frozen base at any budget up to {most} labels per class.")
    if chance is not None:
        near = [n for n in ordered if _first_seed(curve, "scratch", n) < chance + 0.05]
        if near:
            lines.append(f"Scratch is within 5 points of chance ({reports.percent(chance)}) at "
                         + ", ".join(map(str, near)) + " labels per class: it has barely learnt anything there.")
    if gaps[fewest] > 0:
        myth = (f"it fails where labels are few: with {fewest} labels per class the pretrained base is "
                f"{reports.points(gaps[fewest], sign=False)} ahead of the same network from random weights, with "
                f"{most} {reports.points(gaps[most])}")
    else:
        myth = f"this seed does not refute it: with {fewest} labels per class scratch is level with or above frozen"
    lines.append(f"**The myth** ('no deep learning without a million labelled examples'): {myth}. {_ONE_SEED}")
    return reports.bullets(lines)


def large_rate_answer(reference, large):
    """Exercise 2: whether Model 3 fine-tuned at `large`'s single large rate stays above the frozen base, against the
    fine-tuned model of the notebook's own settings (`reference`), at the largest budget both ran."""
    per_class = max(row["labels_per_class"] for row in large.rows)
    frozen, tuned = (_first_seed(large, name, per_class) for name in ("frozen", "fine_tuned"))
    if frozen is None or tuned is None:
        return reports.Report("The run has not both the frozen and the fine-tuned model: nothing to compare.")
    rate = _listing(f"{value:g}" for value in large.metadata["config"]["fine_tune_learning_rates"])
    chance = _chance(large)
    validation = [_first_seed(large, name, per_class, "validation_accuracy") for name in ("frozen", "fine_tuned")]
    stays = tuned - frozen
    lines = [f"**{'Yes' if stays > 0 else 'No'}: at {rate} the fine-tuned model ends "
             f"{reports.points(abs(stays), sign=False)} {'above' if stays > 0 else 'below'} the frozen base** "
             f"({reports.percent(tuned)} against {reports.percent(frozen)} on the test images; "
             f"{reports.percent(validation[1])} against {reports.percent(validation[0])} on the validation images)."]
    if chance is not None and tuned < chance + 0.05:
        lines.append(f"That is chance level ({reports.percent(chance)} for {len(large.metadata['class_names'])} "
                     "classes): nothing of the pretrained features survived the second stage.")
    before = _first_seed(reference, "fine_tuned", per_class)
    if before is not None:
        chosen = _first_seed(reference, "fine_tuned", per_class, "learning_rate")
        decay = reference.metadata["config"].get("fine_tune_decay")
        how = f"{chosen:g} at the head, each block below / {decay:g}" if decay and chosen else (
            f"{chosen:g}" if chosen else "the profile's rates")
        lines.append(f"With the notebook's own rates ({how}, chosen on validation) the same seed's fine-tuned model "
                     f"reaches {reports.percent(before)}: the large rate ends "
                     f"{reports.points(abs(tuned - before), sign=False)} {'below' if tuned < before else 'above'} it.")
    return reports.bullets(lines)


def one_rate_answer(reference, plain):
    """Exercise 3: one rate for every layer (`plain`) against the notebook's discriminative rates (`reference`): the
    rate each chose on validation, and how far above the frozen base fine-tuning ends, on validation and test."""
    per_class = max(row["labels_per_class"] for row in plain.rows)
    runs = {"one rate for every layer": plain, "the notebook's rates": reference}
    rows, gains = [], {}
    for title, run in runs.items():
        values = {(name, key): _first_seed(run, name, per_class, key) for name in ("frozen", "fine_tuned")
                  for key in ("validation_accuracy", "test_accuracy")}
        if None in values.values():
            return reports.Report(f"The run with {title} has not both models at {per_class} labels per class.")
        decay = run.metadata["config"].get("fine_tune_decay")
        rate = _first_seed(run, "fine_tuned", per_class, "learning_rate")
        candidates = _listing(f"{value:g}" for value in run.metadata["config"]["fine_tune_learning_rates"])
        gains[title] = {key: values["fine_tuned", key] - values["frozen", key]
                        for key in ("validation_accuracy", "test_accuracy")}
        rows.append([title, f"{rate:g} (of {candidates})" + (f", / {decay:g} per block below" if decay else ""),
                     reports.percent(values["fine_tuned", "validation_accuracy"]),
                     reports.percent(values["fine_tuned", "test_accuracy"]),
                     reports.points(gains[title]["validation_accuracy"]),
                     reports.points(gains[title]["test_accuracy"])])
    table = reports.table(rows, headers=("Model 3's second stage", "rate chosen on validation",
                                         "validation accuracy", "test accuracy", "gain over frozen (validation)",
                                         "gain over frozen (test)"))
    one, own = gains["one rate for every layer"], gains["the notebook's rates"]
    def preferred(key):  # None when the two gains are level
        return None if abs(one[key] - own[key]) < 0.0005 else max(gains, key=lambda title: gains[title][key])

    by_validation, by_test = preferred("validation_accuracy"), preferred("test_accuracy")
    moved = {key: _moves(one[key] - own[key]) for key in one}
    lines = [f"**On the validation images** the gain over the frozen base {moved['validation_accuracy']} "
             f"with one rate for every layer ({reports.points(one['validation_accuracy'])} against "
             f"{reports.points(own['validation_accuracy'])} with the notebook's rates).",
             f"**On the test images** it {moved['test_accuracy']} "
             f"({reports.points(one['test_accuracy'])} against {reports.points(own['test_accuracy'])}).",
             (f"The validation images prefer {by_validation}; the test images " if by_validation
              else "The validation images cannot tell the two apart (the same gain); the test images ")
             + ("agree." if by_validation == by_test else (f"prefer {by_test}" if by_test else "cannot either")
                + ": a choice made on one seed's validation images need not hold on the test images, which is why "
                "it is made over several seeds."),
             _ONE_SEED]
    return reports.Report.join(table, reports.bullets(lines))
