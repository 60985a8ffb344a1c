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


def step(lower, higher, strict=True):
    """Whether `higher` is above `lower` by more than their seed spread (the larger of the two stds).

    `strict=False` is the `<=` of an order: it holds unless `higher` falls below `lower` by more than the spread.

    Returns:
        A dict: `lower_mean`, `lower_std`, `higher_mean`, `higher_std`, `difference`, `spread`, `holds`, or
        `holds: None` when either has no values.
    """
    (low, low_std), (high, high_std) = base.mean_std(lower), base.mean_std(higher)
    if not lower or not higher:
        return {"holds": None}
    spread, difference = max(low_std, high_std), high - low
    holds = difference > spread if strict else difference >= -spread
    return {"lower_mean": low, "lower_std": low_std, "higher_mean": high, "higher_std": high_std,
            "difference": difference, "spread": spread, "strict": strict, "holds": bool(holds)}


def winner(candidates):
    """The best of `{name: [values over seeds]}` by mean, and whether it beats the runner-up by more than the spread.

    Returns:
        `{"winner", "means", "runner_up", "clear"}`; `clear` is None with one candidate.
    """
    means = {name: base.mean_std(found)[0] for name, found in candidates.items() if found}
    if not means:
        return {"winner": None, "means": {}, "runner_up": None, "clear": None}
    ranked = sorted(means, key=means.get, reverse=True)
    if len(ranked) == 1:
        return {"winner": ranked[0], "means": means, "runner_up": None, "clear": None}
    result = step(candidates[ranked[1]], candidates[ranked[0]])
    return {"winner": ranked[0], "means": means, "runner_up": ranked[1], "clear": result["holds"]}
