"""What notebook 01 displays about an off-the-shelf result: the setup, the accuracy of each layer's features beside
Zeiler & Fergus's table, the shape checks, what the curve says, SVM against softmax, and the conclusion.

Every function takes the `ExperimentResult` of `experiments.off_the_shelf.run` and returns a `Report`; they read
what the run stored (`rows`, `metadata["by_layer"]`, `["retrieval"]`, `["paper"]`, `["shape_comparison"]`,
`["findings"]`) and import no Keras. `lessons` states the notebook's lessons (one `**Lesson:**` line per shape
check, as `python -m keras_transfer site` reads them); `summary` is what the command line prints after its table.

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
             ("classifiers", metadata.get("classifier_seconds")), ("total", metadata.get("wall_time_s"))]
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
    stand_in = metadata.get("config", {}).get("dataset") == "fashion_mnist_half_b"
    paper_first = metadata["paper"]["svm"].get("1", metadata["paper"]["svm"].get(1))
    if stand_in and paper_first is not None and found["first_svm_accuracy"] > paper_first[0] / 100:
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
        weakest = min(others, key=lambda entry: entry["svm_accuracy"])["layer"]
        return (f"Layer 1 is the weakest layer, as in Zeiler & Fergus's table: `{first}` {_svm(result, first)} with "
                f"the SVM, against {_svm(result, weakest)} for the weakest of the others (`{weakest}`).")
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


def summary(result):
    """What the command line prints after the results table: the lessons and the conclusion (no figures)."""
    return reports.Report.join("## Lessons", lessons(result), "## Conclusion", conclusion(result))


__all__ = ["classifier_gap", "conclusion", "findings", "layer_table", "lessons", "paper_table", "setup",
           "shape_checks", "source_network", "summary"]
