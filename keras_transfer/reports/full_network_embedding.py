"""What notebook 02 displays about a Full-Network Embedding result: the setup, the embedding itself, one layer against
the embedding step by step, the paper's tables beside ours, the paper's claims checked on our run, and the conclusion.

Every function takes the `ExperimentResult` of `experiments.full_network_embedding.run` and returns a `Report`;
they read what the run stored (`rows`, `metadata["by_method"]`, `["gains"]`, `["verdicts"]`, `["paper"]`,
`["value_fractions"]`) and import no Keras. `lessons` states the notebook's lesson (a `**Lesson:**` line, as
`python -m keras_transfer site` reads it); `summary` is what the command line prints after its table.

Example:

```python
from keras_transfer.reports import full_network_embedding as report

report.method_table(result)  # displayed rendered in a notebook, Markdown on the command line
```
"""

import statistics

from keras_transfer import reports

FULL = "FNE: + discretisation"  # the title of the full method (`full_network_embedding.STEPS`)


def _paper_percent(value):
    return reports.percent(value / 100)


def _baselines(result):
    return [entry["model"] for entry in result.metadata["by_method"] if entry["model"].endswith(" + SVM")]


def _matched(row):
    return row.get("source", "matched") == "matched"  # results saved before the `source` column: all matched


def _accuracies(result, model):
    return [row["test_accuracy"] for row in result.rows if row["model"] == model and _matched(row)]


def setup(result, live=False):
    """Where the results come from: profile (`live`: run in live mode), source network and target task, seeds,
    images, time."""
    metadata = result.metadata
    seeds, sizes = metadata["seeds"], metadata["sizes"]
    seconds = metadata.get("wall_time_s")
    return reports.bullets([
        f"**Profile:** {result.profile}{' in live mode' if live else ''} (settings: "
        f"`full_network_embedding.CONFIGS[{result.profile!r}]`"
        f"{' and `full_network_embedding.LIVE`' if live else ''}), "
        f"{metadata.get('backend', 'unknown')} backend; seed{'s' if len(seeds) > 1 else ''} "
        f"{', '.join(str(seed) for seed in seeds)}.",
        metadata.get("task"),
        f"**Images:** {sizes['train_per_seed']:,} for training per seed, {sizes['test']:,} for testing; "
        f"{len(metadata['class_names'])} classes ({', '.join(metadata['class_names'])}).",
        None if seconds is None else f"**Time:** {reports.number(seconds, 0)} s in all.",
    ])


def embedding(result):
    """The full embedding of the first seed's training images: its layers and width, its accuracy, and the share
    of -1, 0 and 1 among its discretised values."""
    metadata = result.metadata
    row = next((row for row in result.rows
                if row["step"] == "discretisation" and row["seed"] == metadata["seeds"][0] and _matched(row)), None)
    if row is None:
        return reports.Report("This run left out the full embedding (`methods` without `\"discretisation\"`).")
    layers = ", ".join(f"`{layer}`" for layer in row["layers"])
    facts = reports.bullets([
        f"**{row['features']:,} features** from {len(row['layers'])} layers: {layers}.",
        f"**Test accuracy** of FNE + linear SVM (seed {row['seed']}, {row['train_images']:,} training images, "
        f"{metadata['sizes']['test']:,} test images): {reports.percent(row['test_accuracy'])}.",
    ])
    fractions = metadata.get("value_fractions") or {}
    shares = reports.table([{"value": f"{float(value):+g}" if float(value) else "0", "share": reports.percent(share)}
                            for value, share in fractions.items()])
    return reports.Report.join(facts, shares)


def method_table(result):
    """One line per method: features, test accuracy (mean ± std over seeds), whether the SVM converged."""
    lines = [{"method": entry["model"], "features": f"{round(entry['features']):,}",
              "test accuracy": reports.mean_std(_accuracies(result, entry["model"])),
              "SVM converged": "yes" if entry["converged"] else "**no**"}
             for entry in result.metadata["by_method"]]
    return reports.table(lines)


def convergence(result):
    """Whether the SVM converged for every method, and why it may not on raw pooled features."""
    metadata = result.metadata
    max_iter = metadata.get("config", {}).get("max_iter")
    limit = f" (max_iter={max_iter})" if max_iter is not None else ""
    unconverged = [entry["model"] for entry in metadata["by_method"] if not entry["converged"]]
    if not unconverged:
        return reports.Report(f"The SVM converged within its iteration limit{limit} for every method and seed.")
    return reports.Report(
        f"The SVM stopped at its iteration limit{limit} before converging for: {', '.join(unconverged)}. Raw pooled "
        "features of layers with very different ranges make the SVM's problem badly conditioned; standardisation "
        "(step 2) puts every feature on one scale."
    )


def paper_table(result):
    """The paper's one-layer baselines and FNE on its nine datasets (network pretrained on a source like the
    target), our last two hidden layers and full embedding as the last line, and the slide's averages."""
    metadata = result.metadata
    paper = metadata["paper"]
    fc6 = paper.get("fc6", {})
    lines = [[dataset, _paper_percent(fc6[dataset]) if dataset in fc6 else "–", _paper_percent(fc7),
              _paper_percent(fne), reports.points((fne - fc7) / 100)]
             for dataset, (fc7, fne) in paper["fc7_to_fne"].items()]
    means = {entry["model"]: entry["test_accuracy"] for entry in metadata["by_method"]}
    baselines = _baselines(result)
    if baselines and FULL in means:
        names = [name.split()[0] for name in baselines]
        before = reports.percent(means[baselines[-2]]) + f" ({names[-2]})" if len(baselines) > 1 else "–"
        lines.append([f"**ours** ({result.profile} profile)", before,
                      reports.percent(means[baselines[-1]]) + f" ({names[-1]})", reports.percent(means[FULL]),
                      reports.points(metadata["gains"][names[-1]] / 100)])
    table = reports.table(lines, headers=["dataset", "fc6 + SVM", "fc7 + SVM", "FNE + SVM", "FNE − fc7"])
    average = paper.get("average_gain", {})
    note = (f"The slides quote an average gain of the embedding of {average['fc6']:+.1f} points over fc6 and "
            f"{average['fc7']:+.1f} over fc7." if {"fc6", "fc7"} <= set(average) else "")
    return reports.Report.join(table, note)


def _gain_cell(gains):
    """Points over seeds as `"+3.1 ± 0.8 points"` (the value alone for one seed)."""
    mean = reports.points(statistics.fmean(gains) / 100) if gains else "–"
    return mean if len(gains) < 2 else mean.replace(" points", f" ± {statistics.stdev(gains):.1f} points")


def mismatched_source_table(result):
    """The lecture's "most frequent real-world scenario": the paper's fc7 against FNE with the source networks
    swapped (a source far from the target), beside its gain in the matched setting; our run's mismatched source
    as the last line (mean ± std over seeds) where it ran one, and its source networks."""
    metadata = result.metadata
    mismatched = metadata["paper"].get("mismatched_source")
    if not mismatched:
        return reports.Report("")
    matched = metadata["paper"]["fc7_to_fne"]
    lines = []
    for dataset, (fc7, fne) in mismatched["fc7_to_fne"].items():
        gain = reports.points((matched[dataset][1] - matched[dataset][0]) / 100) if dataset in matched else "–"
        lines.append([dataset, _paper_percent(fc7), _paper_percent(fne), reports.points((fne - fc7) / 100), gain])
    comparison = metadata.get("source_comparison")
    ours = ""
    if comparison and comparison["baseline"]:
        theirs, own = comparison["by_source"]["mismatched"], comparison["by_source"]["matched"]
        lines.append([f"**ours** ({result.profile} profile)",
                      f"{reports.mean_std(theirs['baseline'])} ({comparison['baseline'].split()[0]})",
                      reports.mean_std(theirs["full"]), _gain_cell(theirs["gains"]), _gain_cell(own["gains"])])
        sources = metadata["sources"]
        ours = f"Ours: mismatched source {sources['mismatched']}; matched source {sources['matched']}."
    return reports.Report.join(
        f"Source network: {mismatched['source']}.",
        reports.table(lines, headers=["dataset", "fc7 + SVM", "FNE + SVM", "FNE − fc7",
                                      "FNE − fc7, matched source"]),
        ours,
    )


def verdict_table(result):
    """Each claim of the paper, what the paper's table shows, and ours: our difference in points beside the larger
    standard deviation over seeds of the two methods compared (none for one seed)."""
    one_seed = len(result.metadata["seeds"]) == 1

    def word(value):
        return reports.verdict(value, yes="yes", no="**no**", unknown="–")

    lines = [[entry["claim"], f"{word(entry['paper'])} ({entry['paper_note']})", word(entry["ours"]),
              reports.points(entry["points"] / 100)
              + (" (one seed)" if one_seed else f" (std {reports.number(entry['spread'], 1)})")]
             for entry in result.metadata["verdicts"]]
    return reports.table(lines, headers=["claim", "Garcia-Gasulla et al., 2017", "ours", "our difference"])


def conclusion(result):
    """What this run says about each claim, the stand-in's scale (quick and smoke profiles), and one seed's limits."""
    metadata = result.metadata
    several = len(metadata["seeds"]) > 1
    lines = []
    for verdict in metadata["verdicts"]:
        within = several and abs(verdict["points"]) <= verdict["spread"]
        paper = ("" if verdict["paper"] is None else
                 f"; Garcia-Gasulla et al.: {'yes' if verdict['paper'] else 'no'}, {verdict['paper_note']}")
        lines.append(f"{verdict['claim']}: **{'yes' if verdict['ours'] else 'no'}**, "
                     f"{reports.points(verdict['points'] / 100)}"
                     + (f", within the seeds' spread ({reports.number(verdict['spread'], 1)})" if within else "")
                     + paper + ".")
    full = next((row for row in result.rows if row["step"] == "discretisation" and _matched(row)), None)
    one_layer = [entry["test_accuracy"] for entry in metadata["by_method"] if entry["model"].endswith(" + SVM")]
    if metadata.get("config", {}).get("dataset") in _STAND_INS and full is not None and one_layer:
        paper_fc7 = [fc7 for fc7, _ in metadata["paper"]["fc7_to_fne"].values()]
        best_layer = max(one_layer)
        level = (f"a single hidden layer already reaches {reports.percent(best_layer)} on our "
                 f"{len(metadata['class_names'])} classes, above the paper's fc7 baselines "
                 f"({_paper_percent(min(paper_fc7))} to {_paper_percent(max(paper_fc7))})"
                 if best_layer > max(paper_fc7) / 100 else
                 f"our best single hidden layer ({reports.percent(best_layer)} on {len(metadata['class_names'])} "
                 f"classes) is within the range of the paper's fc7 baselines ({_paper_percent(min(paper_fc7))} to "
                 f"{_paper_percent(max(paper_fc7))})")
        lines.append(f"**The stand-in's scale:** our embedding has {full['features']:,} features from "
                     f"{len(full['layers'])} layers (VGG16's has 12,416), and {level}.")
    if not several:
        lines.append("**One seed:** these differences have no spread over seeds beside them, and another draw of "
                     "the training images could move them; run the profile's seeds (`LIVE = False`) to see by how "
                     "much.")
    return reports.bullets(lines)


_STAND_INS = ("pasted_half_b", "fashion_mnist_half_b")  # the quick and smoke targets (the project's small VGG)
LAST_LAYER_CLAIM = "the full embedding beats the last hidden layer"  # how the run's verdict on the lesson begins


def lessons(result):
    """The notebook's lessons: the full embedding beats the last hidden layer (`last_layer_lesson`), and gains more
    over it on the mismatched source (`source_lesson`, where the run had one); a blank line between them."""
    return reports.Report.join(last_layer_lesson(result), source_lesson(result))


def last_layer_lesson(result):
    """The full embedding with a linear SVM beats the last hidden layer with a linear SVM: the verdict the run
    stored (`metadata["verdicts"]`, our difference above zero), with both accuracies (mean ± std over seeds), the
    difference and the seeds' spread; not run where the run has no such verdict."""
    metadata = result.metadata
    verdict = next((entry for entry in metadata.get("verdicts", ()) if entry["claim"].startswith(LAST_LAYER_CLAIM)),
                   None)
    baselines = _baselines(result) if "by_method" in metadata else []
    if verdict is None or not baselines:
        return reports.lesson(None, "The Full-Network Embedding beats the last hidden layer with a linear SVM: not "
                                    "checked, this run has not both the full embedding and a one-layer baseline.")
    last = baselines[-1]
    several = len(metadata["seeds"]) > 1
    within = several and abs(verdict["points"]) <= verdict["spread"]
    spread = (f"the larger std over seeds {reports.number(verdict['spread'], 1)} points"
              + (", so within the seeds' spread" if within else "") if several else "one seed, no spread")
    paper = ("" if verdict["paper"] is None else
             f" Garcia-Gasulla et al. (2017): {'yes' if verdict['paper'] else 'no'}, {verdict['paper_note']}.")
    return reports.lesson(
        verdict["ours"],
        f"The Full-Network Embedding with a linear SVM beats the last hidden layer with a linear SVM "
        f"(`{last.split()[0]}` as fc7): {reports.mean_std(_accuracies(result, FULL))} against "
        f"{reports.mean_std(_accuracies(result, last))} test accuracy, {reports.points(verdict['points'] / 100)} "
        f"({spread}).{paper}"
    )


def source_lesson(result):
    """The lecture's "most frequent real-world scenario" checked on our run: the full embedding's gain over the last
    hidden layer is larger on the mismatched source than on the matched one, by more than the spread of the
    per-seed difference (`metadata["source_comparison"]["step"]`); an empty report where the run had no
    mismatched source."""
    comparison = result.metadata.get("source_comparison")
    if not comparison:
        return reports.Report("")
    step = comparison["step"]
    paper = f" Garcia-Gasulla et al. (2017): {'yes' if comparison['paper'] else 'no'}, {comparison['paper_note']}."
    claim = "The Full-Network Embedding gains more over the last hidden layer on the mismatched source"
    if step["holds"] is None:
        return reports.lesson(None, f"{claim}: not checked, this run has not both the full embedding and a "
                                    f"one-layer baseline.{paper}")
    gains = {source: _gain_cell(comparison["by_source"][source]["gains"]) for source in ("mismatched", "matched")}
    several = step["seeds"] > 1
    spread = (f"paired by seed, std of the difference {reports.number(step['spread'], 1)} points"
              + ("" if step["holds"] or step["difference"] <= 0 else ", so within the seeds' spread")
              if several else "one seed, no spread")
    return reports.lesson(
        step["holds"],
        f"{claim}: {gains['mismatched']} against {gains['matched']} on the matched source, a difference of "
        f"{reports.points(step['difference'] / 100)} ({spread}).{paper}"
    )


def summary(result):
    """What the command line prints after the results table: the lesson and the conclusion (no figures)."""
    return reports.Report.join("## Lessons", lessons(result), "## Conclusion", conclusion(result))


# Worked answers to the notebook's exercises (`notebooks/solutions/02_full_network_embedding.py`): each compares an
# exercise's live run (`other`) with the notebook's own settings run live (`reference`), first seed of each.


def _first_seed(result, model):
    seed = result.metadata["seeds"][0]
    return next((row["test_accuracy"] for row in result.rows
                 if row["model"] == model and row["seed"] == seed and _matched(row)), None)


def _moves(difference, up="rises", down="falls", level="stays level"):
    if difference is None:
        return "is not in both runs"
    return f"{up} by {reports.points(abs(difference), sign=False)}" if difference >= 0.0005 else (
        f"{down} by {reports.points(abs(difference), sign=False)}" if difference <= -0.0005 else level)


def thresholds_answer(reference, other):
    """Exercise 1: how sparse the discretised embedding is with `other`'s thresholds against `reference`'s, and what
    the full embedding's accuracy does."""
    runs = (reference, other)
    zero = [run.metadata.get("value_fractions", {}).get("0.0") for run in runs]
    accuracy = [_first_seed(run, FULL) for run in runs]
    if None in zero or None in accuracy:
        return reports.Report("One of the two runs left out the full embedding: nothing to compare.")
    thresholds = [tuple(run.metadata["config"]["thresholds"]) for run in runs]
    unchanged = all(_first_seed(reference, entry["model"]) == _first_seed(other, entry["model"])
                    for entry in other.metadata["by_method"] if entry["model"] != FULL)
    return reports.bullets([
        f"**{'Sparser' if zero[1] > zero[0] else 'Denser'}:** {reports.percent(zero[1])} of the discretised values "
        f"are 0 with thresholds {thresholds[1]}, against {reports.percent(zero[0])} with {thresholds[0]}.",
        f"**Accuracy of the full embedding** {_moves(accuracy[1] - accuracy[0])}: {reports.percent(accuracy[1])} "
        f"against {reports.percent(accuracy[0])} (one seed each, so a move of a point or two is within what another "
        "draw of the training images changes).",
        "The rows without discretisation do not depend on the thresholds: " + (
            "they are the same in both runs." if unchanged
            else "**they differ between the runs**, so something else changed too."),
    ])


def less_data_answer(reference, other):
    """Exercise 2: the full embedding's gain over each one-layer baseline with `other`'s training set against
    `reference`'s, and what every method loses."""
    sizes = [run.metadata["sizes"]["train_per_seed"] for run in (reference, other)]
    lines = []
    for name in reference.metadata["gains"]:
        before, after = reference.metadata["gains"][name], other.metadata["gains"].get(name)
        if after is None:
            continue
        lines.append(f"**The gain over `{name}`** {_moves((after - before) / 100, 'grows', 'shrinks')}: "
                     f"{reports.points(after / 100)} with {sizes[1]:,} training images against "
                     f"{reports.points(before / 100)} with {sizes[0]:,}.")
    losses = {entry["model"]: _first_seed(other, entry["model"]) - _first_seed(reference, entry["model"])
              for entry in other.metadata["by_method"]
              if _first_seed(reference, entry["model"]) is not None and _first_seed(other, entry["model"]) is not None}
    if losses:
        most, least = min(losses, key=losses.get), max(losses, key=losses.get)
        lines.append(f"**Every method's accuracy moves** between {reports.points(losses[most])} ({most}) and "
                     f"{reports.points(losses[least])} ({least}).")
    lines.append("The paper's claim that the embedding works with little data predicts a gain that grows as the "
                 "training set shrinks; one seed says which way it went here, not by how much it would on average.")
    return reports.bullets(lines)


def layers_answer(reference, other):
    """Exercise 3: the embedding of `other`'s layers only, step by step, against the last hidden layer alone."""
    baselines = _baselines(reference)
    full = next((row for row in other.rows if row["step"] == "discretisation" and _matched(row)), None)
    if not baselines or full is None:
        return reports.Report("One of the two runs has no one-layer baseline or no full embedding: nothing to compare.")
    last = baselines[-1]
    steps = {entry["model"]: _first_seed(other, entry["model"]) for entry in other.metadata["by_method"]
             if entry["model"].startswith("FNE")}
    best = max(steps, key=steps.get)
    last_accuracy = _first_seed(reference, last)
    layers = ", ".join(f"`{layer}`" for layer in full["layers"])
    lines = [f"**{full['features']:,} features** from {layers}. The best step, {best}, reaches "
             f"{reports.percent(steps[best])}: {reports.points(steps[best] - last_accuracy)} against the last hidden "
             f"layer alone (`{last.split()[0]}`, {reports.percent(last_accuracy)})."]
    ordered = list(steps)
    for before, after in zip(ordered, ordered[1:]):
        lines.append(f"**Adding {after.split('+ ')[-1]}**, the accuracy {_moves(steps[after] - steps[before])}: "
                     f"from {reports.percent(steps[before])} to {reports.percent(steps[after])}.")
    return reports.bullets(lines)


__all__ = ["conclusion", "convergence", "embedding", "last_layer_lesson", "layers_answer", "less_data_answer",
           "lessons", "method_table", "mismatched_source_table", "paper_table", "setup", "source_lesson", "summary",
           "thresholds_answer", "verdict_table"]
