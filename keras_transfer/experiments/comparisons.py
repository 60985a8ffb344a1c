"""Comparisons of models over seeds, read from an experiment's rows: curves, pairwise steps, winners.

A row is one trained model and seed (see `ExperimentResult`); these group rows by the columns named and compare the
mean of a metric over seeds, with the standard deviation over seeds as the spread.
"""

from keras_transfer.experiments import base


def values(rows, metric="test_accuracy", **where):
    """The `metric` of every row whose columns equal `where` (e.g. `network="frozen", labels_per_class=5`)."""
    return [row[metric] for row in rows if all(row.get(key) == value for key, value in where.items())]


def curves(rows, x, line, metric="test_accuracy", **where):
    """`{line value: [(x, mean, std), ...]}` over the rows matching `where`, each list sorted by `x`."""
    grouped = {}
    for row in rows:
        if all(row.get(key) == value for key, value in where.items()):
            grouped.setdefault(row[line], {}).setdefault(row[x], []).append(row[metric])
    return {name: [(point, *base.mean_std(found)) for point, found in sorted(by_x.items())]
            for name, by_x in grouped.items()}


def by_seed(rows, metric="test_accuracy", **where):
    """`{seed: metric}` of the rows whose columns equal `where`, for a paired `step` (one row per seed expected).

    Raises:
        ValueError: if two matching rows share a seed (`where` does not pick one model).
    """
    found = {}
    for row in rows:
        if all(row.get(key) == value for key, value in where.items()):
            if row["seed"] in found:
                raise ValueError(f"Two rows of seed {row['seed']} match {where}: add the column that tells them apart.")
            found[row["seed"]] = row[metric]
    return found


def step(lower, higher, strict=True):
    """Whether `higher` is above `lower` by more than the seed spread.

    With two lists the comparison is unpaired: the spread is the larger of the two standard deviations over seeds.
    With two dicts `{seed: value}` (`by_seed`) it is paired over the seeds both hold, as for two models trained on
    the same images from the same initial head: the spread is the standard deviation over seeds of the per-seed
    difference, so what every model of a seed shares (an easier draw of images) cancels out.
    `strict=False` is the `<=` of an order: it holds unless `higher` falls below `lower` by more than the spread.

    Returns:
        A dict: `lower_mean`, `lower_std`, `higher_mean`, `higher_std`, `difference` (of the means), `spread`,
        `strict`, `paired`, `seeds` (how many), `holds`; or `holds: None` when either has no values.
    """
    paired = isinstance(lower, dict) and isinstance(higher, dict)
    if paired:
        seeds = [seed for seed in lower if seed in higher]
        lower, higher = [lower[seed] for seed in seeds], [higher[seed] for seed in seeds]
    elif isinstance(lower, dict) or isinstance(higher, dict):
        raise TypeError("`lower` and `higher` must both be lists (unpaired) or both dicts by seed (paired).")
    lower, higher = list(lower), list(higher)
    if not lower or not higher:
        return {"holds": None}
    (low, low_std), (high, high_std) = base.mean_std(lower), base.mean_std(higher)
    if paired:
        difference, spread = base.mean_std([b - a for a, b in zip(lower, higher)])
    else:
        spread, difference = max(low_std, high_std), high - low
    holds = difference > spread if strict else difference >= -spread
    return {"lower_mean": low, "lower_std": low_std, "higher_mean": high, "higher_std": high_std,
            "difference": difference, "spread": spread, "strict": strict, "paired": paired,
            "seeds": len(higher) if paired else min(len(lower), len(higher)), "holds": bool(holds)}


def winner(candidates):
    """The best of `{name: values over seeds}` by mean, and whether it beats the runner-up by more than the spread.

    Values are lists (unpaired) or `{seed: value}` dicts (paired; see `step`).

    Returns:
        `{"winner", "means", "runner_up", "clear"}`; `clear` is None with one candidate.
    """
    means = {name: base.mean_std(list(found.values()) if isinstance(found, dict) else found)[0]
             for name, found in candidates.items() if found}
    if not means:
        return {"winner": None, "means": {}, "runner_up": None, "clear": None}
    ranked = sorted(means, key=means.get, reverse=True)
    if len(ranked) == 1:
        return {"winner": ranked[0], "means": means, "runner_up": None, "clear": None}
    result = step(candidates[ranked[1]], candidates[ranked[0]])
    return {"winner": ranked[0], "means": means, "runner_up": ranked[1], "clear": result["holds"]}
