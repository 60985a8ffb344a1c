"""What notebook 01 displays about an off-the-shelf result: the setup, the accuracy of each layer's features beside
Zeiler & Fergus's table, the shape checks, what the curve says, SVM against softmax, how well the transferability
scores ranked the layers, and the conclusion.

Every function takes the `ExperimentResult` of `experiments.off_the_shelf.run` and returns a `Report`; they read
what the run stored (`rows`, `metadata["by_layer"]`, `["retrieval"]`, `["paper"]`, `["shape_comparison"]`,
`["findings"]`, `["transferability"]`) and import no Keras. `lessons` states the notebook's lessons (one
`**Lesson:**` line per shape check, as `python -m keras_transfer site` reads them); `summary` is what the command
line prints after its table.

Example:

```python
from keras_transfer.reports import off_the_shelf as report

report.layer_table(result)  # displayed rendered in a notebook, Markdown on the command line
```
"""

from keras_transfer import reports


def _rows_of(result, layer):
    return [row for row in result.rows if row["layer"] == layer]


def _precision_keys(result):
    retrieval = result.metadata.get("retrieval") or [{}]
    return [key for key in retrieval[0] if key.startswith("precision@")]


def _tolerance_points(result):
    tolerance = result.metadata.get("shape_tolerance")
    return None if tolerance is None else f"{100 * tolerance:g} points"


def setup(result, live=False):
    """Where the results come from: profile (`live`: run in live mode), source network and target task, seeds,
    classes, sizes, time."""
    metadata = result.metadata
    sizes = metadata["sizes"]
    seeds = metadata["seeds"]
    times = [("source network", metadata.get("source_seconds")), ("features", metadata.get("feature_seconds")),
             ("classifiers", metadata.get("classifier_seconds")),
             ("transferability scores", (metadata.get("transferability") or {}).get("seconds")),
             ("total", metadata.get("wall_time_s"))]
    timing = ", ".join(f"{name} {reports.number(seconds, 0)} s" for name, seconds in times if seconds is not None)
    return reports.bullets([
        f"**Profile:** {result.profile}{' in live mode' if live else ''} (settings: "
        f"`off_the_shelf.CONFIGS[{result.profile!r}]`{f' and `off_the_shelf.LIVE`' if live else ''}), "
        f"{metadata.get('backend', 'unknown')} backend; seed{'s' if len(seeds) > 1 else ''} "
        f"{', '.join(str(seed) for seed in seeds)}.",
        metadata.get("task"),
        f"**Classes of the new task:** {', '.join(metadata['class_names'])} (chance: "
        f"{reports.percent(1 / len(metadata['class_names']))}).",
        f"**Images:** {sizes['train_per_seed']:,} for training per seed, {sizes['test']:,} for testing, "
        f"{sizes['gallery']:,} in the retrieval gallery.",
        f"**Time:** {timing}." if timing else None,
    ])


def source_network(result):
    """One sentence on the source network and the layers tapped (their widths are in `layer_table`)."""
    metadata = result.metadata
    parameters = metadata.get("source_parameters")
    by_layer = metadata["by_layer"]
    first, last = by_layer[0], by_layer[-1]
    return reports.Report(
        f"**Source network:** `{metadata['source_model']}`"
        + (f", {parameters:,} parameters" if parameters else "")
        + f". {len(by_layer)} tapped layers, from `{first['layer']}` ({round(first['features']):,} features) to "
        f"`{last['layer']}` ({round(last['features']):,} features): every convolutional layer (averaged over the "
        "image, one feature per channel) and every hidden dense layer."
    )


def layer_table(result):
    """One line per tapped layer: its width, SVM and softmax test accuracy (mean ± std over seeds), and retrieval
    precision@k."""
    retrieval = {entry["layer"]: entry for entry in result.metadata.get("retrieval", [])}
    keys = _precision_keys(result)
    lines = []
    for entry in result.metadata["by_layer"]:
        rows = _rows_of(result, entry["layer"])
        lines.append({
            "depth": round(entry["depth"]), "layer": f"`{entry['layer']}`", "features": f"{round(entry['features']):,}",
            "SVM": reports.mean_std([row["svm_accuracy"] for row in rows]),
            "softmax": reports.mean_std([row["softmax_accuracy"] for row in rows]),
            **{f"retrieval {key}": reports.percent(retrieval.get(entry["layer"], {}).get(key)) for key in keys},
        })
    return reports.table(lines)


def paper_table(result):
    """Zeiler & Fergus's table as the run stored it: accuracy of each classifier on layer n's features, per dataset."""
    paper = result.metadata["paper"]
    layers = range(1, int(paper["num_layers"]) + 1)
    lines = []
    for kind, title in (("svm", "SVM"), ("softmax", "softmax")):
        for column, dataset in enumerate(paper["datasets"]):
            values = {int(layer): pair[column] for layer, pair in paper[kind].items()}
            lines.append([f"{title}, {dataset}",
                          *(reports.percent(values[n] / 100) if n in values else "–" for n in layers)])
    return reports.table(lines, headers=["classifier, dataset", *(f"layer {n}" for n in layers)])


def shape_checks(result):
    """The shape of Zeiler & Fergus's curve, checked on their two datasets and on our run (yes / no)."""
    def word(value):
        return reports.verdict(value, yes="yes", no="**no**", unknown="–")

    lines = [[entry["property"], word(entry["caltech101"]), word(entry["caltech256"]), word(entry["ours"])]
             for entry in result.metadata["shape_comparison"]]
    return reports.table(lines, headers=["property", "Caltech-101 (paper)", "Caltech-256 (paper)", "ours"])


def _shape(result):
    return {entry["property"]: entry["ours"] for entry in result.metadata["shape_comparison"]}


def findings(result):
    """What this run's curve says: the best layer, layer 1, the top layer, and why (on the quick profile's task)."""
    metadata = result.metadata
    found = metadata["findings"]
    shape = _shape(result)
    flat = next((holds for name, holds in shape.items() if name.startswith("flat near the top")), None)
    first_weakest = shape.get("layer 1 is the weakest")
    tolerance = _tolerance_points(result)
    lines = [
        f"**Best layer:** `{found['best_layer']}` (depth {found['best_depth']} of {len(metadata['by_layer'])}), "
        f"{reports.percent(found['best_svm_accuracy'])} with the SVM; chance is {reports.percent(found['chance'])}.",
        f"**Layer 1** (`{found['first_layer']}`): {reports.percent(found['first_svm_accuracy'])}, "
        + ("the weakest layer, as in Zeiler & Fergus's table." if first_weakest else
           "not the weakest layer, unlike Zeiler & Fergus's table, where layer 1 is far below the rest."),
        f"**Top layer** (`{found['top_layer']}`): {reports.percent(found['top_svm_accuracy'])}, "
        f"{reports.points(found['top_below_best'], sign=False)} below the best layer"
        + (": flat near the top, as in Zeiler & Fergus's table." if flat else
           f": more than {tolerance or 'the tolerance'}, the top layers are too specific to the source task "
           "(Yosinski et al.'s specificity, 2014; notebook 03)."),
    ]
    dataset = metadata.get("config", {}).get("dataset")
    stand_in = dataset in ("pasted_half_b", "fashion_mnist_half_b")
    paper_first = metadata["paper"]["svm"].get("1", metadata["paper"]["svm"].get(1))
    strong_first = paper_first is not None and found["first_svm_accuracy"] > paper_first[0] / 100
    if dataset == "fashion_mnist_half_b" and strong_first:
        lines.append(
            f"**Why layer 1 is so strong here:** our {len(metadata['class_names'])} classes are centred grey items "
            "that differ in outline and brightness, so even the first layer's pooled channels separate them "
            f"({reports.percent(found['first_svm_accuracy'])}) better than Caltech-101's layer 1 "
            f"({reports.percent(paper_first[0] / 100)}, 101 classes of cluttered photographs). The rise with depth "
            "is what carries over, not the level."
        )
    if stand_in and flat is False:
        lines.append("**Why the top can bend here:** our source network learned only five classes, so its last "
                     "layers are far more specific to them than an ImageNet network's are to a thousand.")
    if len(metadata["seeds"]) == 1:
        lines.append("**One seed:** another draw of the training images could move each layer's accuracy and swap "
                     "close layers; run the profile's seeds (`LIVE = False`) to see the spread.")
    return reports.bullets(lines)


def classifier_gap(result):
    """SVM against softmax per layer (softmax minus SVM, in points, means over seeds), then a sentence on the top."""
    lines = [{"layer": f"`{entry['layer']}`", "SVM": reports.percent(entry["svm_accuracy"]),
              "softmax": reports.percent(entry["softmax_accuracy"]),
              "softmax − SVM": reports.points(entry["softmax_accuracy"] - entry["svm_accuracy"])}
             for entry in result.metadata["by_layer"]]
    gap = result.metadata["findings"]["top_softmax_minus_svm"]
    close = next((holds for name, holds in _shape(result).items() if name.startswith("softmax within")), None)
    ahead = "softmax" if gap > 0 else "SVM"
    sentence = (f"At the top layer the two are {reports.points(abs(gap), sign=False)} apart: "
                + ("as close as in Zeiler & Fergus's table." if close else f"the {ahead} is clearly ahead here."))
    return reports.Report.join(reports.table(lines), sentence)


def conclusion(result):
    """The best layer for classification and for retrieval in this run."""
    found = result.metadata["findings"]
    keys = _precision_keys(result)
    sentence = (f"In this run ({result.profile} profile) the best trade-off for classification is "
                f"`{found['best_layer']}` ({reports.percent(found['best_svm_accuracy'])} with the SVM)")
    if not keys:
        return reports.Report(sentence + ".")
    best = max(result.metadata["retrieval"], key=lambda entry: entry[keys[0]])
    return reports.Report(f"{sentence}, and for retrieval `{best['layer']}` ({keys[0]} "
                          f"{reports.percent(best[keys[0]])}).")


def _svm(result, layer):
    """`mean ± std` of a layer's SVM test accuracy over seeds."""
    return reports.mean_std([row["svm_accuracy"] for row in _rows_of(result, layer)])


def _margin(result, higher, lower):
    """`, 10.1 points apart, more than the seeds' spread (1.9)`: two layers' mean SVM accuracies against the larger of
    their standard deviations over seeds (nothing for one seed)."""
    if len(result.metadata["seeds"]) < 2:
        return ""
    gap = higher["svm_accuracy"] - lower["svm_accuracy"]
    spread = max(higher["svm_accuracy_std"], lower["svm_accuracy_std"])
    return (f", {reports.points(gap, sign=False)} apart, "
            + ("more than" if gap > spread else "**within**") + f" the seeds' spread ({100 * spread:.1f})")


def _shape_sentence(result, name):
    """The sentence of the lesson of one shape check `name`, with this run's numbers."""
    metadata = result.metadata
    found, by_layer = metadata["findings"], metadata["by_layer"]
    best, top, first = found["best_layer"], found["top_layer"], found["first_layer"]
    tolerance = _tolerance_points(result) or "the tolerance"
    if name.startswith("layer 1 is the weakest"):
        others = [entry for entry in by_layer if entry["layer"] != first]
        if not others:
            return f"Layer 1 is the weakest layer (Zeiler & Fergus's curve): `{first}` is the only layer tapped."
        weakest = min(others, key=lambda entry: entry["svm_accuracy"])
        return (f"Layer 1 is the weakest layer, as in Zeiler & Fergus's table: `{first}` {_svm(result, first)} with "
                f"the SVM, against {_svm(result, weakest['layer'])} for the weakest of the others "
                f"(`{weakest['layer']}`){_margin(result, weakest, by_layer[0])}.")
    if name.startswith("the best layer is in the upper half"):
        return (f"The best layer is in the upper half of the network, as in Zeiler & Fergus's table: `{best}` (depth "
                f"{found['best_depth']} of {len(by_layer)}), {_svm(result, best)} with the SVM.")
    if name.startswith("flat near the top"):
        claim = (f"The curve is flat near the top, as in Zeiler & Fergus's table (the top layer within {tolerance} of "
                 f"the best): `{top}` {_svm(result, top)} with the SVM, ")
        if top == best:
            return claim + "itself the best layer."
        return claim + (f"{reports.points(found['top_below_best'], sign=False)} below the best layer `{best}` "
                        f"({_svm(result, best)}).")
    if name.startswith("softmax within"):
        rows = _rows_of(result, top)
        softmax = reports.mean_std([row["softmax_accuracy"] for row in rows])
        return (f"At the top layer a softmax does about as well as a linear SVM, as in Zeiler & Fergus's table (within "
                f"{tolerance}): `{top}` {softmax} with the softmax against {_svm(result, top)} with the SVM "
                f"({reports.points(found['top_softmax_minus_svm'])}).")
    return f"Zeiler & Fergus's curve: {name}."


def lessons(result):
    """The notebook's lessons: one `**Lesson:**` line per shape check of Zeiler & Fergus's curve that the run
    computed (`metadata["shape_comparison"]`, its `ours`), with this run's numbers (mean ± std over seeds)."""
    checks = result.metadata.get("shape_comparison") or []
    if not checks or "findings" not in result.metadata:
        return reports.lesson(None, "The shape of Zeiler & Fergus's curve (low at layer 1, rising with depth, flat "
                                    "near the top) was not checked on this run.")
    return reports.Report.join(*(reports.lesson(entry["ours"], _shape_sentence(result, entry["property"]))
                                 for entry in checks))


_SCORE_NAMES = {"logme": "LogME", "hscore": "H-score", "leep": "LEEP", "nce": "NCE"}
_NO_SCORES = ("This result has no transferability scores (it was saved before the experiment computed them): run "
              "the experiment again (`RESULTS = \"train\"`).")


def _transferability(result):
    return result.metadata.get("transferability")


def score_table(result):
    """One line per tapped layer: its width, each layer score (mean ± std over seeds) and the SVM's accuracy."""
    found = _transferability(result)
    if not found:
        return reports.Report(_NO_SCORES)
    lines = []
    for entry in result.metadata["by_layer"]:
        rows = _rows_of(result, entry["layer"])
        lines.append({
            "depth": round(entry["depth"]), "layer": f"`{entry['layer']}`", "features": f"{round(entry['features']):,}",
            **{_SCORE_NAMES.get(name, name): reports.mean_std([row.get(name) for row in rows], digits=3,
                                                              as_percent=False) for name in found["scores"]},
            "SVM accuracy": reports.mean_std([row["svm_accuracy"] for row in rows]),
        })
    return reports.table(lines)


def _tau(summary):
    mean, std = summary["tau"]
    if not reports.is_finite(mean):
        return "–"
    return f"{mean:+.2f} ± {std:.2f}" if summary["seeds"] > 1 else f"{mean:+.2f}"


def score_ranking(result):
    """Per layer score: Kendall's τ between its ranking of the layers and the SVM's (mean ± std over seeds), how
    often the layer it ranks first was the best one, and the accuracy its pick loses (mean over seeds)."""
    found = _transferability(result)
    if not found:
        return reports.Report(_NO_SCORES)
    lines = []
    for name, entry in found["ranking"]["summary"].items():
        lines.append({"score": _SCORE_NAMES.get(name, name), "Kendall τ with the SVM accuracy": _tau(entry),
                      "picked the best layer": f"{entry['picked_best']} of {entry['seeds']} seeds",
                      "accuracy lost by its pick": reports.points(entry["regret"], sign=False)})
    return reports.table(lines)


def _ceiling_layers(result):
    """The layers whose H-score sits at its ceiling, classes - 1 (every seed), where it cannot tell layers apart."""
    ceiling = len(result.metadata["class_names"]) - 1
    return [entry["layer"] for entry in result.metadata["by_layer"]
            if all(reports.is_finite(row.get("hscore")) and row["hscore"] >= ceiling - 1e-3
                   for row in _rows_of(result, entry["layer"]))]


def score_verdict(result):
    """Which score ranked the layers best (the highest mean τ), whether it would have picked the best layer, and
    when H-score reached its ceiling."""
    found = _transferability(result)
    if not found:
        return reports.Report(_NO_SCORES)
    ranking = found["ranking"]["summary"]
    finite = {name: entry for name, entry in ranking.items() if reports.is_finite(entry["tau"][0])}
    if not finite:
        return reports.Report("No score ranked the layers: every score was the same for all layers.")
    best_tau = max(entry["tau"][0] for entry in finite.values())
    winners = [name for name, entry in finite.items() if entry["tau"][0] == best_tau]
    names = " and ".join(_SCORE_NAMES.get(name, name) for name in winners)
    others = [f"{_SCORE_NAMES.get(name, name)} {_tau(entry)}" for name, entry in ranking.items() if name not in winners]
    winner = finite[winners[0]]
    seeds = winner["seeds"]
    lines = [
        f"**Best ranking of the layers:** {names}, Kendall's τ {_tau(winner)} with the SVM's accuracy "
        f"({'mean ± std over ' + str(seeds) + ' seeds' if seeds > 1 else 'one seed'})"
        + (f", against {', '.join(others)}." if others else "."),
        f"**Would it have picked the winner?** The layer {names} ranks first was the best layer in "
        f"{winner['picked_best']} of {seeds} seed{'s' if seeds > 1 else ''}; taking it would have cost "
        f"{reports.points(winner['regret'], sign=False)} of accuracy on average"
        + (" (a score that agrees with the order of the weak layers can still miss the top one)."
           if winner["picked_best"] < seeds and best_tau > 0 else "."),
    ]
    ceiling = _ceiling_layers(result)
    if "hscore" in ranking and ceiling:
        classes, images = len(result.metadata["class_names"]), result.metadata["sizes"]["train_per_seed"]
        widths = {entry["layer"]: entry["features"] for entry in result.metadata["by_layer"]}
        why = (f"each has at least as many features as there are training images ({images:,}), so the classes "
               "separate perfectly on them" if all(widths[layer] >= images - 1 for layer in ceiling) else
               "the class means differ in directions in which the training images barely vary within a class")
        lines.append(
            f"**H-score's ceiling:** on {len(ceiling)} of {len(result.metadata['by_layer'])} layers "
            f"({', '.join(f'`{layer}`' for layer in ceiling)}) H-score reached its maximum, classes − 1 = "
            f"{classes - 1}: {why}, and the score cannot tell those layers apart.")
    return reports.bullets(lines)


def source_scores(result):
    """LEEP and NCE of the source network's predictions on the target: one number per network, or why none."""
    found = _transferability(result)
    if not found:
        return reports.Report(_NO_SCORES)
    source = found["source_scores"]
    if not source.get("available"):
        return reports.Report(f"**LEEP and NCE:** not computed: {source['reason']}.")
    values = ", ".join(
        f"{_SCORE_NAMES[name]} {reports.mean_std([entry[name] for entry in source['per_seed']], 3, False)}"
        for name in ("leep", "nce"))
    return reports.Report(
        f"**LEEP and NCE** read the source network's softmax output (`{source['layer']}`, "
        f"{source['source_classes']} source classes) on the target's training images: {values}. They score the "
        "source network as a whole, one number for all its layers, so they cannot rank the layers of one network; "
        "they compare source networks.")


def tllib_table(result):
    """TLlib's published correlations of each score with the fine-tuned accuracy of 10 ImageNet models (Pearson /
    weighted Kendall τ), and ours (Kendall τ over this network's layers, mean over seeds)."""
    found = _transferability(result)
    if not found:
        return reports.Report(_NO_SCORES)
    paper = found["paper"]
    names = ("hscore", "leep", "logme", "nce")
    lines = [[f"{dataset} (TLlib)", *(" / ".join(f"{value:.2f}" for value in values[name]) for name in names)]
             for dataset, values in paper["scores"].items()]
    ours = found["ranking"]["summary"]
    lines.append(["**ours**: the layers of one network (Kendall τ)",
                  *(_tau(ours[name]) if name in ours else "–" for name in names)])
    return reports.table(lines, headers=["candidates", *(_SCORE_NAMES[name] for name in names)])


def summary(result):
    """What the command line prints after the results table: the lessons, the conclusion and the scores' verdict."""
    parts = ["## Lessons", lessons(result), "## Conclusion", conclusion(result)]
    if _transferability(result):
        parts += ["## Choosing the layer before training", score_verdict(result)]
    return reports.Report.join(*parts)


def _by_layer(result, key="svm_accuracy"):
    return {entry["layer"]: entry[key] for entry in result.metadata["by_layer"]}


def less_data_answer(reference, other):
    """Exercise 1: the best layer with `other`'s training set against `reference`'s, and how far each layer's SVM
    accuracy moved (means over each run's seeds)."""
    sizes = [run.metadata["sizes"]["train_per_seed"] for run in (reference, other)]
    before, after = _by_layer(reference), _by_layer(other)
    best = [run.metadata["findings"]["best_layer"] for run in (reference, other)]
    moves = {layer: after[layer] - before[layer] for layer in after if layer in before}
    if not moves:
        return reports.Report("The two runs share no tapped layer: nothing to compare.")
    most, least = min(moves, key=moves.get), max(moves, key=moves.get)
    return reports.bullets([
        f"**The best layer** with {sizes[1]:,} training images is `{best[1]}` ({reports.percent(after[best[1]])}), "
        + ("the same as" if best[0] == best[1] else "against `" + best[0] + "` with") + f" {sizes[0]:,} "
        f"({reports.percent(before[best[0]])}).",
        f"**Every layer's SVM accuracy moves** between {reports.points(moves[most])} (`{most}`) and "
        f"{reports.points(moves[least])} (`{least}`).",
        f"**Depth:** the layers above the middle of the network move by {_mean_points(moves, reference, upper=True)} "
        f"on average, those below it by {_mean_points(moves, reference, upper=False)}.",
        "Retrieval precision does not depend on the training set: the gallery is the same and retrieval trains "
        "nothing." if _precision(reference) == _precision(other) else
        "**Retrieval precision differs between the runs**, so something besides the training set changed too.",
    ])


def _mean_points(moves, result, upper):
    depths = {entry["layer"]: entry["depth"] for entry in result.metadata["by_layer"]}
    middle = max(depths.values()) / 2
    chosen = [move for layer, move in moves.items() if (depths[layer] > middle) == upper]
    return reports.points(sum(chosen) / len(chosen)) if chosen else "–"


def _precision(result):
    return [{key: value for key, value in entry.items() if key.startswith("precision@")}
            for entry in result.metadata.get("retrieval", [])]


def retrieval_answer(reference_examples, other_examples):
    """Exercise 2: in each retrieval grid (`experiments.off_the_shelf.retrieval_examples`), the share of hits of the
    query's class, and of hits of the same class as their query's nearest neighbour."""
    lines = []
    for examples in (reference_examples, other_examples):
        same = examples["neighbor_labels"] == examples["query_labels"][:, None]
        lines.append(f"**`{examples['layer']}`:** {reports.percent(float(same.mean()))} of the "
                     f"{same.size} hits share their query's class (chance: "
                     f"{reports.percent(1 / len(examples['class_names']))}).")
    shares = [float((examples["neighbor_labels"] == examples["query_labels"][:, None]).mean())
              for examples in (reference_examples, other_examples)]
    lines.append("The first layer's neighbours are " + (
        "less often of the query's class: what they share with it is what edges and colour blobs see, the "
        "colours and the texture of the photo around the item, not the item."
        if shares[1] < shares[0] else
        "as often of the query's class as the top layer's in this grid: a few queries are a small sample, so "
        "compare the precision@k of both layers in `report.layer_table(...)`."))
    return reports.bullets(lines)


def regularisation_answer(reference, other):
    """Exercise 3: the softmax−SVM gap at the top layer and the best layer with `other`'s regularisation against
    `reference`'s."""
    runs = (reference, other)
    gaps = [run.metadata["findings"]["top_softmax_minus_svm"] for run in runs]
    best = [run.metadata["findings"]["best_layer"] for run in runs]
    c = [run.metadata["config"]["svm_c"] for run in runs]
    top = reference.metadata["findings"]["top_layer"]
    return reports.bullets([
        f"**At the top layer** (`{top}`) the softmax minus the SVM is {reports.points(gaps[1])} with C = {c[1]:g}, "
        f"against {reports.points(gaps[0])} with C = {c[0]:g}.",
        f"**The best layer** is `{best[1]}` with C = {c[1]:g}"
        + (", as with C = " if best[0] == best[1] else ", against `" + best[0] + "` with C = ") + f"{c[0]:g}.",
        f"**Every layer's SVM accuracy** moves between "
        f"{reports.points(min(_by_layer(other)[k] - v for k, v in _by_layer(reference).items()))} and "
        f"{reports.points(max(_by_layer(other)[k] - v for k, v in _by_layer(reference).items()))}.",
    ])


__all__ = ["classifier_gap", "conclusion", "findings", "layer_table", "less_data_answer", "lessons", "paper_table",
           "regularisation_answer", "retrieval_answer", "score_ranking", "score_table", "score_verdict", "setup",
           "shape_checks", "source_network", "source_scores", "summary", "tllib_table"]
