"""What notebook 08 displays: the multitask experiment's tables, the gain of sharing per budget, the conclusion.

Each function takes the `ExperimentResult` of `experiments.multitask` and returns a `reports.Report`. The gain of
sharing is paired by seed (the multitask and class-only networks of a seed see the same labelled images), and its
spread is the standard deviation over seeds of the per-seed gain: a gain "beyond the spread" is what survives
another seed set or another machine. `lessons` gives the lesson's verdict line (`**Lesson:** holds. ...`, as
`python -m keras_transfer site` reads it); `summary` is what `python -m keras_transfer run multitask` prints after its
table.
"""

from keras_transfer import reports
from keras_transfer.experiments import base
from keras_transfer.experiments import comparisons

NETWORK_TITLES = {"class_only": "class only", "box_only": "box only", "multitask": "multitask"}


def budgets(rows):
    """The class budgets (labels per class) of `rows`, smallest first."""
    return sorted({row["budget"] for row in rows if row.get("budget") is not None})


def sharing(rows):
    """Per budget, the multitask network's test accuracy minus the class-only network's, paired by seed.

    Returns:
        `{str(budget): {"per_seed": {str(seed): gain}, "mean", "std", "seeds", "verdict"}}`. `std` is the spread
        (over seeds, of the per-seed gain); the verdict is `"helped"` when the mean gain is above the spread,
        `"hurt"` when below minus the spread, `"no clear difference"` otherwise, and `"one seed"` with a single
        seed (no spread to judge by).
    """
    table = {}
    for budget in budgets(rows):
        alone = comparisons.by_seed(rows, network="class_only", budget=budget)
        shared = comparisons.by_seed(rows, network="multitask", budget=budget)
        seeds = [seed for seed in shared if seed in alone]
        if not seeds:
            continue
        step = comparisons.step(alone, shared)
        if len(seeds) < 2:
            verdict = "one seed"
        elif step["holds"]:
            verdict = "helped"
        elif step["difference"] < -step["spread"]:
            verdict = "hurt"
        else:
            verdict = "no clear difference"
        table[str(budget)] = {"per_seed": {str(seed): shared[seed] - alone[seed] for seed in seeds},
                              "mean": step["difference"], "std": step["spread"], "seeds": len(seeds),
                              "verdict": verdict}
    return table


def _values(rows, metric, **where):
    return [value for value in comparisons.values(rows, metric, **where) if value is not None]


_POOLING = {"flatten": "the flattened feature map", "average": "a global average-pooling",
            "max": "a global max-pooling"}


def settings(result):
    """Where the result comes from and what it trained: provenance, images, budgets, box weight, seeds."""
    config = result.metadata.get("config", {})
    sizes = result.metadata.get("sizes", {})
    seeds = sorted({row["seed"] for row in result.rows})
    size = config.get("image_size")
    lines = [base.provenance(result)]
    seconds = result.metadata.get("cpu_time_s")
    took = f", {seconds:,.0f} s of CPU time" if seconds else ""
    lines.append(
        f"{len(result.rows)} networks trained{took}: {sizes.get('train', 0):,} training images of {size}×{size} "
        f"pixels with a box each ({sizes.get('validation', 0):,} validation, {sizes.get('test', 0):,} test), "
        f"{len(result.metadata.get('class_names', []))} classes, class labels for "
        f"{', '.join(str(budget) for budget in budgets(result.rows))} images per class, box loss weight "
        f"{config.get('box_weight', '–'):g}, seed{'s' if len(seeds) != 1 else ''} "
        f"{', '.join(str(seed) for seed in seeds)}.")
    if config.get("scale_range") and config.get("crop_range"):
        (small, large), (near, far) = config["scale_range"], config["crop_range"]
        lines.append(f"Each item's longer side is {small:.0%}–{large:.0%} of the image's side; each background is a "
                     f"photo crop of {near:g}–{far:g} times the image size, shrunk to it.")
    if config.get("class_pooling"):
        lines.append(f"The class head reads the base through {_POOLING[config['class_pooling']]}; the box head reads "
                     "the flattened feature map.")
    if result.profile == "smoke":
        lines.append("The smoke profile is a test run at a tiny size: its numbers only show that the code runs.")
    return reports.Report("\n\n".join(lines))


def data_summary(data, class_names):
    """One line on the images: how many per split, their size and the classes."""
    images = data["train"][0]
    counts = ", ".join(f"{len(split[0]):,} {name}" for name, split in data.items())
    return reports.Report(f"{counts} images of {images.shape[1]}×{images.shape[2]} pixels, each with a class and a "
                          f"box; {len(class_names)} classes: {', '.join(class_names)}.")


def results_table(result):
    """One row per network and budget: test accuracy and box mean IoU (mean ± std over seeds), labels, CPU time."""
    groups = {}
    for row in result.rows:
        groups.setdefault(row["model"], []).append(row)
    rows = []
    for found in groups.values():
        first = found[0]
        rows.append({
            "network": NETWORK_TITLES.get(first["network"], first["network"]),
            "class labels per class": first["budget"] if first["budget"] is not None else "–",
            "seeds": len(found),
            "test accuracy": reports.mean_std(_values(found, "test_accuracy")),
            "box mean IoU": reports.mean_std(_values(found, "test_mean_iou"), digits=3, as_percent=False),
            "class labels": f"{first['class_labels']:,}", "box labels": f"{first['box_labels']:,}",
            "CPU s per network": reports.number(base.mean_std(_values(found, "cpu_time_s"))[0], 0),
        })
    return reports.table(rows)


_VERDICTS = {"helped": "helped (beyond the spread)", "hurt": "**hurt** (beyond the spread)",
             "no clear difference": "no clear difference (within the spread)",
             "one seed": "one seed: no spread to judge by"}


def sharing_table(result):
    """Per budget: class-only and multitask test accuracy, the paired gain with its spread, per seed, verdict."""
    rows = []
    for budget, entry in sharing(result.rows).items():
        per_class = int(budget)
        rows.append({
            "class labels per class": per_class,
            "class only": reports.mean_std(_values(result.rows, "test_accuracy", network="class_only",
                                                   budget=per_class)),
            "multitask": reports.mean_std(_values(result.rows, "test_accuracy", network="multitask",
                                                  budget=per_class)),
            "gain (mean ± spread)": reports.points(entry["mean"]) + (
                f" ± {reports.points(entry['std'], sign=False)}" if entry["seeds"] > 1 else ""),
            "per seed": ", ".join(f"{100 * gain:+.1f}" for gain in entry["per_seed"].values()),
            "sharing": _VERDICTS[entry["verdict"]],
        })
    return reports.table(rows)


def box_table(result):
    """Per budget: the multitask network's box mean IoU beside the box-only network's (which has no budget)."""
    alone = _values(result.rows, "test_mean_iou", network="box_only")
    rows = [{"class labels per class": budget,
             "multitask box IoU": reports.mean_std(_values(result.rows, "test_mean_iou", network="multitask",
                                                           budget=budget), digits=3, as_percent=False),
             "box only box IoU": reports.mean_std(alone, digits=3, as_percent=False)}
            for budget in budgets(result.rows)]
    return reports.table(rows)


def chance(result):
    """The accuracy of guessing: 1 / the number of classes (None when the result does not name its classes)."""
    classes = len(result.metadata.get("class_names", []))
    return 1 / classes if classes else None


def above_chance(result, budget):
    """Whether the class-only network at `budget` labels per class is above chance by more than its spread over
    seeds: `{"mean", "std", "chance", "margin", "holds"}` (`holds` None without classes or rows)."""
    found = _values(result.rows, "test_accuracy", network="class_only", budget=int(budget))
    level = chance(result)
    if not found or level is None:
        return {"mean": None, "std": None, "chance": level, "margin": None, "holds": None}
    mean, std = base.mean_std(found)
    return {"mean": mean, "std": std, "chance": level, "margin": mean - level, "holds": mean - std > level}


def _chance_sentence(result, budget):
    found = above_chance(result, budget)
    if found["holds"] is None:
        return ""
    classes = round(1 / found["chance"])
    head = (f"With {budget} labels per class, class only reaches {reports.percent(found['mean'])}, where chance is "
            f"{reports.percent(found['chance'])} ({classes} classes): {reports.points(found['margin'])} against "
            "chance")
    if found["holds"]:
        return f"{head}, more than its spread over seeds ({reports.points(found['std'], sign=False)}): the class " \
               "task is learnable from these few labels, and the gain above is not a rescue from guessing."
    return f"{head}, within its spread over seeds ({reports.points(found['std'], sign=False)}) of guessing: " \
           "at this budget class only is near chance, so a gain here says little about sharing."


def _trend_sentence(table):
    """How the gain moves with the class budget (two budgets or more)."""
    if len(table) < 2:
        return ""
    ordered = sorted(table.items(), key=lambda item: int(item[0]))
    gains = [entry["mean"] for _, entry in ordered]
    listed = ", ".join(f"{reports.points(entry['mean'])} at {budget}" for budget, entry in ordered)
    if all(later < earlier for earlier, later in zip(gains, gains[1:])):
        return f"The gain shrinks as the class labels grow ({listed}): the more labels the class task has, the " \
               "less it borrows from the boxes."
    largest = max(ordered, key=lambda item: item[1]["mean"])[0]
    return f"The gain does not shrink steadily with the class labels ({listed}); it is largest at {largest} labels " \
           "per class."


def _gain_sentence(budget, entry, rows):
    alone = base.mean_std(_values(rows, "test_accuracy", network="class_only", budget=budget))[0]
    shared = base.mean_std(_values(rows, "test_accuracy", network="multitask", budget=budget))[0]
    gain = reports.points(entry["mean"])
    head = f"At {budget} labels per class the multitask network reaches {reports.percent(shared)} against " \
           f"{reports.percent(alone)} for class only, a gain of {gain}"
    if entry["verdict"] == "one seed":
        return head + " on one seed: without a spread this is a hint, not a finding."
    spread = reports.points(entry["std"], sign=False)
    tail = {"helped": f"beyond its spread over {entry['seeds']} seeds ({spread}): sharing helped.",
            "hurt": f"below minus its spread over {entry['seeds']} seeds ({spread}): sharing hurt.",
            "no clear difference": f"within its spread over {entry['seeds']} seeds ({spread}): no clear difference."}
    return f"{head}, {tail[entry['verdict']]}"


def lessons(result):
    """The notebook's lesson as a `**Lesson:**` line (see `keras_transfer.site`): at the smallest class budget, the
    multitask network beats the class-only network by more than the spread over seeds of the paired gain
    (`sharing`'s verdict `"helped"`); fails on `"hurt"` or `"no clear difference"`; not run with one seed (no
    spread to judge by) or without a budget with both networks; fails too when class only is within its spread of
    chance there (a gain over guessing is not the lesson). A smoke result adds that its verdict means nothing."""
    table = sharing(result.rows)
    claim = ("At the smallest class budget, sharing the base with the box task helps the class task: the multitask "
             "network's test accuracy beats the class-only network's by more than the spread over seeds of the gain, "
             "paired by seed, where class only is above chance")
    if not table:
        line = reports.lesson(None, claim + ": no budget has both a class-only and a multitask network.")
    else:
        smallest = min(table, key=int)
        entry = table[smallest]
        accuracy = lambda network: reports.mean_std(  # noqa: E731
            _values(result.rows, "test_accuracy", network=network, budget=int(smallest)))
        measured = (f"{claim}. With {smallest} labels per class: multitask {accuracy('multitask')}, class only "
                    f"{accuracy('class_only')}, a gain of {reports.points(entry['mean'])}")
        if entry["verdict"] == "one seed":
            line = reports.lesson(None, f"{measured} on one seed: no spread to judge by.")
        else:
            where = {"helped": "beyond the spread", "hurt": "below minus the spread: sharing hurt",
                     "no clear difference": "within the spread"}[entry["verdict"]]
            guessing = above_chance(result, smallest)
            against = "" if guessing["holds"] is None else (
                f" Class only is {reports.points(guessing['margin'])} against chance "
                f"({reports.percent(guessing['chance'])}), "
                + ("beyond its spread: a task it learns, not a guess." if guessing["holds"] else
                   "within its spread: near chance, so the gain is not the lesson's evidence."))
            line = reports.lesson(entry["verdict"] == "helped" and guessing["holds"] is not False,
                                  f"{measured} ± {reports.points(entry['std'], sign=False)} over {entry['seeds']} "
                                  f"seeds, {where}.{against}")
    parts = [line]
    if result.profile == "smoke":
        parts.append("(smoke profile: a test run, its verdict means nothing)")
    return reports.Report.join(*parts)


def conclusion(result):
    """The conclusion of this run, every sentence computed: the gain per budget judged against its seed spread,
    class only against chance at the smallest budget, and what sharing did to the box head."""
    rows = result.rows
    table = sharing(rows)
    if not table:
        return reports.Report("No budget has both a class-only and a multitask network: nothing to conclude.")
    lines = [_gain_sentence(int(budget), entry, rows) for budget, entry in table.items()]
    smallest = min(int(budget) for budget in table)
    lines.append(_chance_sentence(result, smallest))
    lines.append(_trend_sentence(table))
    box_alone = _values(rows, "test_mean_iou", network="box_only")
    box_shared = _values(rows, "test_mean_iou", network="multitask")
    if box_alone and box_shared:
        difference = base.mean_std(box_shared)[0] - base.mean_std(box_alone)[0]
        lines.append(f"The box head pays for sharing its base: {difference:+.3f} IoU against box only, averaged "
                     "over the budgets." if difference < 0 else
                     f"The box head does not pay for sharing its base: {difference:+.3f} IoU against box only, "
                     "averaged over the budgets.")
    helped = [budget for budget, entry in table.items() if entry["verdict"] == "helped"]
    several = any(entry["seeds"] > 1 for entry in table.values())
    if several:
        lines.append("So in this run the box labels help the class task beyond the seed spread "
                     + (f"at {', '.join(helped)} labels per class." if helped else "at no budget."))
    else:
        lines.append("One seed gives no spread: run the profile's seeds (`LIVE = False`) before calling a gain.")
    if result.profile == "smoke":
        lines.append("(smoke profile: a test run, its verdicts mean nothing)")
    return reports.bullets(lines)


def summary(result):
    """What the command line prints after the results table: the lesson, the gain of sharing per budget and the
    conclusion (no figures)."""
    return reports.Report.join("## Lesson", lessons(result), "## Did sharing help the class task?",
                               sharing_table(result), "## Conclusion", conclusion(result))


# Worked answers to the notebook's exercises (`notebooks/solutions/08_multitask.py`): each compares an exercise's
# live run (`other`) with the notebook's settings run live (`reference`), budget by budget where both have it.


def _gain(result, budget):
    return sharing(result.rows).get(str(budget), {}).get("mean")


def _mean(result, metric, **where):
    found = _values(result.rows, metric, **where)
    return base.mean_std(found)[0] if found else None


def light_box_answer(reference, other):
    """Exercise 1: a lighter box loss. The multitask network's box IoU and its gain over class only, per budget."""
    weights = [run.metadata["config"]["box_weight"] for run in (reference, other)]
    lines = []
    for budget in budgets(other.rows):
        ious = [_mean(run, "test_mean_iou", network="multitask", budget=budget) for run in (reference, other)]
        gains = [_gain(run, budget) for run in (reference, other)]
        if None in ious or None in gains:
            continue
        lines.append(f"**{budget} labels per class:** the multitask network's box IoU {reports.number(ious[1])} with "
                     f"box weight {weights[1]:g}, against {reports.number(ious[0])} with {weights[0]:g}; its gain "
                     f"over class only {reports.points(gains[1])}, against {reports.points(gains[0])}.")
    if not lines:
        return reports.Report("The two runs share no class budget: nothing to compare.")
    lines.append("Class only has no box loss: its accuracy is the same in both runs "
                 + ("(it is)." if all(_mean(reference, "test_accuracy", network="class_only", budget=budget)
                                      == _mean(other, "test_accuracy", network="class_only", budget=budget)
                                      for budget in budgets(other.rows)) else "(**it is not**: something else changed)."))
    return reports.bullets(lines)


def fewer_labels_answer(reference, other):
    """Exercise 2: fewer labels still. Class only against chance at `other`'s budget, and the gain there against the
    reference's smallest budget."""
    budget, smallest = min(budgets(other.rows)), min(budgets(reference.rows))
    found = above_chance(other, budget)
    gains = _gain(reference, smallest), _gain(other, budget)
    if found["mean"] is None or None in gains:
        return reports.Report("One of the two runs has no class-only and multitask network: nothing to compare.")
    return reports.bullets([
        f"**Class only at {budget} labels per class:** {reports.percent(found['mean'])}, "
        f"{reports.points(found['margin'])} against chance ({reports.percent(found['chance'])}).",
        f"**The gain of sharing** is {reports.points(gains[1])} at {budget} labels per class, against "
        f"{reports.points(gains[0])} at {smallest}: "
        + ("larger with fewer labels." if gains[1] > gains[0] else "not larger with fewer labels."),
        "One seed each: these are directions, not verdicts. A gain over a network near chance says the boxes taught "
        "the base something the few labels could not, not how much sharing helps a task that is learnable alone.",
    ])


__all__ = ["above_chance", "box_table", "chance", "conclusion", "data_summary", "fewer_labels_answer", "lessons",
           "light_box_answer", "results_table", "settings", "sharing", "sharing_table", "summary"]
