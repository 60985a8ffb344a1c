"""What notebook 05 (pet heads: classification to localization) displays, computed from a `pet_heads.run` result.

- `settings(profile, live)`: which data, networks, losses and training-set sizes the profile uses (before a run).
- `run_summary(result)`: where the result comes from and what ran.
- `first_epoch(result)`: the validation IoU after one epoch (the "higher start" of transfer).
- `whole_split(result)`, `parameters(result)`: the results on the whole training split, and what each network trains.
- `by_train_size(result)`: the test mean IoU per network and training-set size, and each network minus scratch.
- `loss_comparison(result)`: MSE, GIoU and CIoU on the networks trained with every loss.
- `lessons(result)`: the notebook's two lessons with their verdicts (`**Lesson:** holds. ...`, as the site reads them).
- `conclusion(result)`: the lecture's expectations checked on this run.
- `summary(result)`: what `python -m keras_transfer run pet-heads` prints after its table.

Every function reads only the result (rows and metadata), so it works on a loaded one, and returns a `Report`.
"""

from keras_transfer import reports
from keras_transfer.experiments import pet_heads_analysis
from keras_transfer.experiments.base import mean_std
from keras_transfer.reports import Report
from keras_transfer.reports import lesson


def _iou(values):
    """A mean IoU cell: `0.712 ± 0.008` over seeds, `0.712` for one."""
    return reports.mean_std(values, digits=3, as_percent=False)


def _values(result, metric, *, network=None, loss=None, train_size=None):
    return [row[metric] for row in result.rows
            if (network is None or row["network"] == network) and (loss is None or row["loss"] == loss)
            and (train_size is None or row["train_size"] == train_size)]


def _label(result, name):
    return result.metadata.get("labels", {}).get(name, name)


def _networks(result):
    return list(dict.fromkeys(row["network"] for row in result.rows))


def _sizes(result):
    """Training-set sizes that ran, largest first (the whole split, then the subsets)."""
    return sorted({row["train_size"] for row in result.rows}, reverse=True)


def _single(result):
    return len(result.metadata["seeds"]) == 1


def settings(profile, live=False):
    """What the profile (in live mode or not) trains, as read from `pet_heads.CONFIGS` and `pet_heads.LIVE`."""
    from keras_transfer.experiments import pet_heads  # noqa: PLC0415

    config = {**pet_heads.CONFIGS[profile], **(pet_heads.LIVE[profile] if live else {})}
    height, width = config["image_size"]
    where = "pet_heads.CONFIGS[" + repr(profile) + "]" + (" and pet_heads.LIVE" if live else "")
    lines = [
        f"The results below come from the **{profile}** profile{' in live mode' if live else ''} (settings: "
        f"`{where}`): images {height}×{width}; networks {', '.join(config['models'])}; losses "
        f"{', '.join(config['losses'])}; training subsets of {', '.join(map(str, config['few_label_sizes']))} images "
        "besides the whole training split; early stopping on the validation IoU."
    ]
    if config["data"] == "pasted_objects":
        lines.append(_pasted_objects(profile, config))
    return Report.join(*lines)


def _pasted_objects(profile, config, source_info=None):
    if source_info is None:
        from keras_transfer import models  # noqa: PLC0415

        source_info = models.source_network_info(profile, seed=config["source_seed"], domain=config["source_domain"])
    accuracy = (source_info or {}).get("test_accuracy")
    accurate = f", {reports.percent(accuracy)} accurate on its own test images" if accuracy is not None else ""
    return ("The stand-in task, offline on a CPU, with *exact* boxes: Fashion-MNIST items of the five classes the "
            "source network never saw (half B) pasted at random positions and sizes onto crops of scikit-learn's "
            "two photos. The base is the quick source network, trained to *classify* the other five classes (half "
            "A) pasted on crops of scikit-image's photos (other classes, other photos: as ImageNet's photos are not "
            f"Oxford's pets){accurate}. Classification → localization is the transfer.")


def run_summary(result):
    """Where the result comes from, and its runs: per seed, training-set sizes, main loss."""
    from keras_transfer.experiments.base import provenance  # noqa: PLC0415

    sizes = ", ".join(f"{size:,}" for size in _sizes(result))
    runs = len(result.metadata["runs"])
    return Report.join(provenance(result), f"{runs} runs per seed; training sets of {sizes} images; main loss "
                       f"{result.metadata['config']['main_loss']}.")


def first_epoch(result):
    """The validation IoU after one epoch, per network, on the whole training split and the smallest subset."""
    main_loss = result.metadata["config"]["main_loss"]
    sizes = _sizes(result)
    shown = sorted({sizes[0], sizes[-1]}, reverse=True)
    networks = _networks(result)
    rows = []
    for size in shown:
        cells = [_iou(_values(result, "first_val_iou", network=name, loss=main_loss, train_size=size)) or "–"
                 for name in networks]
        rows.append([f"{size:,}", *cells])
    headers = ["training images", *[_label(result, name) for name in networks]]
    return Report.join("**Validation IoU after one epoch** (the start; main loss):",
                       reports.table(rows, headers=headers))


def whole_split(result):
    """One row per network and loss on the whole training split: test IoU, share of boxes found, epochs, time."""
    whole = pet_heads_analysis.at_train_size(result)
    rows = []
    for entry in whole.summary(by="variant", metrics=["mean_iou"]):
        network, loss = entry["variant"].split("/")
        values = lambda metric: _values(whole, metric, network=network, loss=loss)  # noqa: E731
        rows.append({
            "network": _label(result, network),
            "loss": result.metadata.get("loss_titles", {}).get(loss, loss),
            "runs": entry["runs"],
            "test mean IoU": _iou(values("mean_iou")),
            "IoU ≥ 0.5": reports.mean_std(values("iou_at_0_5")),
            "test loss (own scale)": reports.mean_std(values("test_loss"), digits=3, as_percent=False),
            "epochs (best)": f"{mean_std(values('epochs'))[0]:.1f} ({mean_std(values('best_epoch'))[0]:.1f})",
            "CPU s": reports.number(mean_std(values("cpu_time_s"))[0], 0),
        })
    return reports.table(rows)


def parameters(result):
    """Trainable and frozen parameters of each network (on the whole training split, first seed)."""
    seen, rows = set(), []
    for row in result.rows:
        if row["network"] not in seen:
            seen.add(row["network"])
            rows.append({"network": _label(result, row["network"]), "trainable": f"{row['trainable_params']:,}",
                         "frozen": f"{row['frozen_params']:,}"})
    return reports.table(rows)


def by_train_size(result):
    """Test mean IoU (main loss) per training-set size and network, the best in bold, and each minus scratch."""
    curves = pet_heads_analysis.learning_curves(result)
    networks = list(curves)
    means = {(name, size): mean for name, points in curves.items() for size, mean, _ in points}
    cells = {(name, size): _iou(_values(result, "mean_iou", network=name, loss=result.metadata["config"]["main_loss"],
                                        train_size=size)) for name, size in means}
    others = [name for name in networks if name != "scratch"] if "scratch" in networks else []
    rows = []
    for size in _sizes(result):
        ran = [name for name in networks if (name, size) in means]
        best = max(ran, key=lambda name: means[(name, size)]) if len(ran) > 1 else None  # bold: the best of several
        row = [f"{size:,}"] + [("**" + cells[(name, size)] + "**" if name == best else cells[(name, size)])
                               if (name, size) in means else "–" for name in networks]
        row += [f"{means[(name, size)] - means[('scratch', size)]:+.3f}"
                if (name, size) in means and ("scratch", size) in means else "–" for name in others]
        rows.append(row)
    headers = ["training images", *[_label(result, name) for name in networks],
               *[_label(result, name) + " − scratch" for name in others]]
    return reports.table(rows, headers=headers)


def loss_comparison(result):
    """The test IoU of each network of `loss_comparison_models` with each loss, whole training split, best first."""
    whole = pet_heads_analysis.at_train_size(result)
    titles = result.metadata.get("loss_titles", {})
    rows = []
    for name in result.metadata["config"]["loss_comparison_models"]:
        losses = [loss for loss in titles if _values(whole, "mean_iou", network=name, loss=loss)]
        if len(losses) < 2:
            continue
        losses.sort(key=lambda loss: mean_std(_values(whole, "mean_iou", network=name, loss=loss))[0], reverse=True)
        for rank, loss in enumerate(losses, start=1):
            rows.append({"network": _label(result, name), "rank": rank, "loss": titles[loss],
                         "test mean IoU": _iou(_values(whole, "mean_iou", network=name, loss=loss)),
                         "IoU ≥ 0.5": reports.mean_std(_values(whole, "iou_at_0_5", network=name, loss=loss))})
    if not rows:
        return Report("No network was trained with more than one loss in this run (`loss_comparison_models`).")
    return reports.table(rows)


def _transfer_line(size, networks, start, single):
    (tuned, tuned_std), (scratch, scratch_std) = networks["all_layers"], networks["scratch"]
    spread = max(tuned_std, scratch_std)
    verdict = ("the pretrained weights gave the better boxes" if tuned - scratch > spread
               else "random weights gave the better boxes" if scratch - tuned > spread
               else "the gap is within the spread over seeds")
    if single:
        verdict += " for this seed (one seed has no spread to compare the gap with)"
    show = (lambda mean, std: reports.number(mean, 3)) if single else (  # noqa: E731
        lambda mean, std: f"{reports.number(mean, 3)} ± {reports.number(std, 3)}")
    line = (f"**{size:,} training images:** test mean IoU {show(tuned, tuned_std)} from the pretrained weights, "
            f"{show(scratch, scratch_std)} from random weights (the same network): {verdict}.")
    if start and {"all_layers", "scratch"} <= set(start):
        line += (f" After one epoch: {reports.number(start['all_layers'][0], 3)} against "
                 f"{reports.number(start['scratch'][0], 3)} (validation IoU, the start).")
    return line


def _show(mean, std, single):
    return reports.number(mean, 3) if single else f"{reports.number(mean, 3)} ± {reports.number(std, 3)}"


def lessons(result):
    """The notebook's two lessons, one `**Lesson:**` line each with its verdict (`pet_heads_analysis.outcomes`):

    - with few boxes (at most `few_labels` training images), the all-layers network beats the same network from
      random weights by more than the spread over seeds, at every such size (`transfer_beats_scratch`); not run
      without such a size with both networks, or with one seed (no spread to compare the gap with);
    - the more of the base adapts, the better: frozen (Model 1) < adapted (Model 2) < all layers, at every size
      where the three ran (`ordered`); not run where they did not.
    """
    outcomes = pet_heads_analysis.outcomes(result)
    single = _single(result)
    few, beats, by_size = outcomes["few_labels"], outcomes["transfer_beats_scratch"], outcomes["by_size"]
    claim = (f"With few boxes (≤ {few:,} training images), the all-layers network from pretrained weights beats the "
             "same network from random weights by more than the spread over seeds (test mean IoU, main loss)")
    if not beats:
        first = lesson(None, claim + ": no training-set size that small ran with both networks.")
    elif single:
        first = lesson(None, claim + ": one seed has no spread to compare the gap with.")
    else:
        measured = "; ".join(
            f"{_show(*by_size[size]['all_layers'], single)} against {_show(*by_size[size]['scratch'], single)} "
            f"with {size:,} images" for size in beats)
        first = lesson(all(beats.values()), f"{claim}: {measured}.")
    ordered = outcomes["ordered"]
    claim = ("The more of the base adapts, the better the boxes: frozen (Model 1) < adapted upper block (Model 2) < "
             "every layer (test mean IoU, main loss)")
    if not ordered:
        second = lesson(None, claim + ": the three networks did not run on one training-set size.")
    else:
        measured = "; ".join(
            ", ".join(_show(*by_size[size][name], single) for name in ("frozen", "adapted", "all_layers"))
            + f" with {size:,} images" for size in ordered)
        second = lesson(all(ordered.values()), f"{claim}: {measured}.")
    return Report.join(first, second)


def conclusion(result):
    """The lecture's expectations checked on this run: pretrained against random weights per training-set size,
    how much of the base adapts, transfer with few labels, and the value of transfer against the number of labels."""
    outcomes = pet_heads_analysis.outcomes(result)
    single = _single(result)
    lines = []
    for size, networks in outcomes["by_size"].items():
        if {"all_layers", "scratch"} <= set(networks):
            lines.append(_transfer_line(size, networks, outcomes["first_epoch"].get(size), single))
        if {"frozen", "adapted", "all_layers"} <= set(networks):
            order = "the more adapts, the better." if outcomes["ordered"][size] else "not in that order."
            lines.append(f"How much of the base adapts, {size:,} images: none (Model 1) "
                         f"{reports.number(networks['frozen'][0], 3)}, the upper block (Model 2) "
                         f"{reports.number(networks['adapted'][0], 3)}, every layer "
                         f"{reports.number(networks['all_layers'][0], 3)}: {order}")
    if not any({"all_layers", "scratch"} <= set(networks) for networks in outcomes["by_size"].values()):
        lines.append("Pretrained against random weights: not run (it needs both `all_layers` and `scratch`).")
    beats = outcomes["transfer_beats_scratch"]
    if beats and not single:
        held = [size for size, value in beats.items() if value]
        missed = [size for size in beats if size not in held]
        lines.append(f"**Few labels (≤ {outcomes['few_labels']:,} images):** the all-layers network beats the same "
                     "network from scratch by more than the spread over seeds at "
                     + (", ".join(f"{size:,}" for size in held) + " images" if held else "no size")
                     + (", not at " + ", ".join(f"{size:,}" for size in missed) if held and missed else "") + ".")
    gaps = {size: networks["all_layers"][0] - networks["scratch"][0]
            for size, networks in outcomes["by_size"].items() if {"all_layers", "scratch"} <= set(networks)}
    if len(gaps) > 1:
        fewest, most = min(gaps), max(gaps)
        favoured = "pretrained" if gaps[fewest] > gaps[most] else "random"
        line = (f"**Value of transfer against the number of labels:** pretrained minus random weights is "
                f"{gaps[fewest]:+.3f} with {fewest:,} images and {gaps[most]:+.3f} with {most:,}: fewer labels move "
                f"the comparison in favour of the {favoured} weights.")
        if single:
            line += (" One seed's gaps move by about a hundredth from seed to seed: run the profile's seeds "
                     "(`LIVE = False`) before reading a trend into them.")
        lines.append(line)
    return reports.bullets(lines)


def summary(result):
    """What the command line prints after the results table: the lessons, the test mean IoU per training-set size
    and network, and the conclusion (no figures)."""
    return Report.join("## Lessons", lessons(result), "## Test mean IoU per training-set size", by_train_size(result),
                       "## Conclusion", conclusion(result))


__all__ = ["adapted_answer", "by_train_size", "conclusion", "first_epoch", "lessons", "loss_answer", "loss_comparison",
           "parameters", "run_summary", "settings", "short_training_answer", "summary", "whole_split"]


# Worked answers to the notebook's exercises (`notebooks/solutions/05_pet_heads.py`): each reads an exercise's live
# run (one seed), and where the exercise asks for a comparison, the notebook's own settings run live (`reference`).

_ONE_SEED = ("One seed has no spread to judge a small move by: the profile's three seeds (`live=False`) measure how "
             "far the mean IoU moves from seed to seed; read a trend into a move only beyond that.")


def _first(result, network, size, metric="mean_iou", loss=None):
    """`metric` of the first seed's run of `network` on `size` images with `loss` (default the main loss), or None."""
    seed, loss = result.metadata["seeds"][0], loss or result.metadata["config"]["main_loss"]
    return next((row[metric] for row in result.rows if row["network"] == network and row["train_size"] == size
                 and row["loss"] == loss and row["seed"] == seed), None)


def _iou_moves(difference, up="grows", down="shrinks"):
    if not reports.is_finite(difference):
        return "cannot be compared"
    return "stays level" if abs(difference) < 0.0005 else f"{up if difference > 0 else down} by {abs(difference):.3f}"


def adapted_answer(result):
    """Exercise 1: where Model 2 (the upper block re-trained) lands at each training-set size, between Model 1
    (frozen) and the network trained in every layer, and against scratch."""
    lines = []
    for size in _sizes(result):
        iou = {name: _first(result, name, size) for name in ("frozen", "adapted", "all_layers", "scratch")}
        if None in (iou["frozen"], iou["adapted"], iou["all_layers"]):
            continue
        below, above = iou["adapted"] - iou["frozen"], iou["all_layers"] - iou["adapted"]
        closer = "the network trained in every layer" if above < below else "Model 1 (frozen)"
        order = ("frozen < adapted < all layers" if iou["frozen"] < iou["adapted"] < iou["all_layers"]
                 else "not in the order frozen < adapted < all layers")
        side = lambda difference: "above" if difference >= 0 else "below"  # noqa: E731
        line = (f"**{size:,} training images: closer to {closer}.** Model 2 reaches {iou['adapted']:.3f}, "
                f"{abs(below):.3f} {side(below)} Model 1 ({iou['frozen']:.3f}) and {abs(above):.3f} {side(-above)} "
                f"every layer ({iou['all_layers']:.3f}): {order}.")
        if iou["scratch"] is not None:
            versus = iou["adapted"] - iou["scratch"]
            line += (f" Against scratch ({iou['scratch']:.3f}) it is {versus:+.3f}: "
                     + ("above." if versus > 0 else "not above."))
        lines.append(line)
    if not lines:
        return Report("The run has not Models 1 and 2 and the all-layers network on one training-set size.")
    return reports.bullets([*lines, _ONE_SEED])


def short_training_answer(reference, short):
    """Exercise 2: the gap between pretrained and random weights (all layers minus scratch) after `short`'s few
    epochs against the notebook's own run (`reference`), per training-set size, and what it says about the start."""
    epochs = [run.metadata["config"].get("max_epochs") for run in (reference, short)]
    lines = []
    for size in _sizes(short):
        gaps = []
        for run in (reference, short):
            tuned, scratch = _first(run, "all_layers", size), _first(run, "scratch", size)
            gaps.append(None if tuned is None or scratch is None else tuned - scratch)
        if None in gaps:
            continue
        lines.append(f"**{size:,} training images:** pretrained minus random weights is {gaps[1]:+.3f} after at most "
                     f"{epochs[1]} epochs against {gaps[0]:+.3f} after at most {epochs[0]}: cut short, the gap "
                     f"{_iou_moves(gaps[1] - gaps[0])}.")
        frozen, scratch = _first(short, "frozen", size), _first(short, "scratch", size)
        if frozen is not None and scratch is not None and frozen > scratch:
            lines.append(f"With {size:,} images and {epochs[1]} epochs even Model 1, a frozen base with a new head, "
                         f"is above the whole network from random weights ({frozen:.3f} against {scratch:.3f}).")
    whole = max(_sizes(reference))
    start = {name: _first(reference, name, whole, "first_val_iou") for name in ("all_layers", "scratch")}
    if None not in start.values():
        lines.append(f"After one epoch on the whole training split (validation IoU, the notebook's run): "
                     f"{start['all_layers']:.3f} from pretrained weights against {start['scratch']:.3f} from random "
                     "ones: the start the short run stops near.")
    if not lines:
        return Report("The runs have not both all layers and scratch on one training-set size.")
    return reports.bullets([*lines, _ONE_SEED])


def loss_answer(result):
    """Exercise 3: per network trained with several losses on the whole training split, the test mean IoU and the
    share of boxes found with each, and whether the overlap loss (GIoU) helps it against MSE."""
    size = max(_sizes(result))
    lines = []
    helped = {}
    for name in result.metadata["config"]["loss_comparison_models"]:
        iou = {loss: _first(result, name, size, loss=loss) for loss in ("mse", "giou")}
        found = {loss: _first(result, name, size, "iou_at_0_5", loss=loss) for loss in ("mse", "giou")}
        if None in iou.values():
            continue
        helped[name] = iou["giou"] - iou["mse"]
        lines.append(f"**{_label(result, name)}:** GIoU {iou['giou']:.3f}, MSE {iou['mse']:.3f} test mean IoU "
                     f"({helped[name]:+.3f}); boxes with IoU ≥ 0.5 {reports.percent(found['giou'])} against "
                     f"{reports.percent(found['mse'])}.")
    if not helped:
        return Report("No network ran with both MSE and GIoU in this run.")
    better = [_label(result, name) for name, gain in helped.items() if gain >= 0.0005]
    if len(better) == len(helped):
        verdict = "GIoU gives the better boxes for every network compared."
    elif better:
        verdict = f"GIoU gives the better boxes only for {', '.join(better)}."
    else:
        verdict = "GIoU gives the better boxes for no network compared here."
    return reports.bullets([*lines, f"**{verdict}** {_ONE_SEED}"])
