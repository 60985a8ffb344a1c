"""What the transferability grid shows, beside Yosinski et al.'s Figure 2: differences from base B and verdicts.

`transferability.run` stores `compare_with_paper(rows)` in `result.metadata["comparison"]`;
`keras_transfer.reports.transferability` turns it into the tables and sentences the notebook displays; the plot
reads the verdicts from the result.

Every comparison is paired by seed: a network of seed s is compared with base B of seed s, so a difference's spread
over seeds includes base B's own run-to-run spread. A difference counts ("above", "below", "falls") only when its
mean over seeds is larger than its standard deviation over seeds, and than `tolerance` (half a point by default,
which also decides with one seed). A fine-tuned family's pattern holds when it holds at most of the n the grid
has (`most(count)`: five of seven, three of four, every one of three or fewer): one n out of seven can miss by
chance when each point is three trainings on a hundred images.
"""

import math

from keras_transfer.experiments.base import mean_std

# A difference of two mean accuracies smaller than this (half a point) counts as none, even with no seed spread.
TOLERANCE = 0.005

# Yosinski et al. (2014), Figure 2, in words: what each family does as n grows.
PAPER_PATTERN = {
    "BnB": "dips below base B at n = 4-5 (co-adapted layers split apart), recovers at n = 6-7",
    "AnB": "close to base B at n = 1-2, falls further and further from n = 3 to 7 (features grow specific)",
    "BnB+": "about base B at every n (fine-tuning repairs the co-adaptation)",
    "AnB+": "above base B at every n (transfer plus fine-tuning generalises better)",
}


def most(count):
    """How many of `count` values of n a fine-tuned family's pattern must hold at: five sevenths, rounded up."""
    return math.ceil(5 * count / 7)


def by_seed(rows, family):
    """`{n: {seed: test accuracy}}` of one family (`n=0` for base B)."""
    table = {}
    for row in rows:
        if row["family"] == family:
            table.setdefault(row["n"], {})[row["seed"]] = row["test_accuracy"]
    return dict(sorted(table.items()))


def differences(rows, family, reference="baseB"):
    """`{n: [accuracy - the reference's accuracy, one per seed]}`, paired by seed (and by n for a family).

    With `reference="baseB"` each network is compared with base B of its own seed; with a family, e.g.
    `differences(rows, "AnB+", "BnB+")`, with that family's network of the same seed and n.
    """
    reference_by_seed = by_seed(rows, reference)
    table = {}
    for n, accuracies in by_seed(rows, family).items():
        other = reference_by_seed.get(0 if reference == "baseB" else n, {})
        table[n] = [accuracy - other[seed] for seed, accuracy in accuracies.items() if seed in other]
    return table


def counts(mean, std, tolerance=TOLERANCE):
    """Whether a mean difference `mean` (over seeds, spread `std`) exceeds its margin: `std` and `tolerance`."""
    return mean > max(tolerance, std)


def format_points(mean, std, runs):
    """A mean difference in percentage points, with its spread over seeds when there are several: `"+1.80 ± 0.40"`."""
    return f"{100 * mean:+.2f} ± {100 * std:.2f}" if runs > 1 else f"{100 * mean:+.2f}"


def compare_with_paper(rows, tolerance=TOLERANCE):
    """The paper's pattern (`PAPER_PATTERN`) beside ours, with a verdict per family.

    - BnB: a dip is seen when its lowest mean at n = 3..6 lies below base B and below every mean at n <= 2 and
      n = 7 by more than the margin (the larger of `tolerance` and the seed spread of the lowest point);
    - AnB: it falls when its accuracy at n = 3 (or the first n >= 3) minus that at the largest n, per seed, has a
      mean above its margin;
    - BnB+: about base B (or above) when its mean difference is not below base B by more than its margin at
      `most(...)` of the n (five of seven);
    - AnB+: above base B when its mean difference exceeds its margin at `most(...)` of the n (five of seven).

    Args:
        rows: list of dict. `ExperimentResult.rows` of `transferability.run` (base B as `family="baseB"`, `n=0`).
        tolerance: float. The accuracy difference below which two means count as equal.

    Returns:
        A list of dicts, one per family the rows hold: `{"family", "paper", "ours", "agrees", "differences"}` plus the
        family's own figures (`"dip"`, `"fall"`; `"within_n"`, `"above_n"`, `"below_n"` and `"needed"`, the n a
        fine-tuned family's pattern needs); `differences` is a list of
        `{"n", "mean", "std", "runs"}` (accuracy minus base B); `agrees` is None where the grid lacks the n it needs.
    """
    comparison = []
    for family, paper in PAPER_PATTERN.items():
        gaps = differences(rows, family)
        if not gaps:
            continue
        stats = {n: (*mean_std(values), len(values)) for n, values in gaps.items()}
        margin = {n: max(tolerance, std) for n, (_, std, _) in stats.items()}
        points = "; ".join(f"n={n}: {format_points(*stats[n])}" for n in stats)
        entry = {"family": family, "paper": paper, "agrees": None,
                 "differences": [{"n": n, "mean": m, "std": s, "runs": k} for n, (m, s, k) in stats.items()]}
        if family == "BnB":
            middle = [n for n in stats if 3 <= n <= 6]
            ends = [n for n in stats if n <= 2 or n >= 7]
            ours = f"no n in 3..6 and at the ends to look for a dip; points vs base B: {points}"
            if middle and ends:
                lowest = min(middle, key=lambda n: stats[n][0])
                below_ends = min(stats[n][0] for n in ends) - stats[lowest][0]
                entry["agrees"] = bool(-stats[lowest][0] > margin[lowest] and below_ends > margin[lowest])
                entry["dip"] = {"n": lowest, "below_base": -stats[lowest][0], "below_ends": below_ends}
                ours = (f"{'a dip' if entry['agrees'] else 'no dip'}: lowest at n={lowest} "
                        f"({format_points(*stats[lowest])} points vs base B, {100 * below_ends:+.2f} below its ends)")
        elif family == "AnB":
            anb = by_seed(rows, "AnB")
            start = min((n for n in anb if n >= 3), default=None)
            end = max(anb)
            ours = f"no two n from 3 up to compare; points vs base B: {points}"
            if start is not None and start < end:
                falls = [anb[start][seed] - anb[end][seed] for seed in anb[start] if seed in anb[end]]
                mean, std = mean_std(falls)
                entry["agrees"] = bool(mean > max(tolerance, std))
                entry["fall"] = {"from_n": start, "to_n": end, "mean": mean, "std": std, "runs": len(falls)}
                spread = f" ± {100 * std:.2f}" if len(falls) > 1 else ""
                ours = f"loses {100 * mean:.2f}{spread} points from n={start} to n={end}"
        else:
            above = [n for n, (mean, _, _) in stats.items() if mean > margin[n]]
            below = [n for n, (mean, _, _) in stats.items() if -mean > margin[n]]
            within = [n for n in stats if n not in above + below]
            needed = most(len(stats))
            entry.update(within_n=within, above_n=above, below_n=below, needed=needed)
            if family == "BnB+":
                entry["agrees"] = len(within) + len(above) >= needed
                ours = (f"within the seed spread of base B at {len(within)} of {len(stats)} n, above at {len(above)}, "
                        f"below at {len(below)} (the pattern needs {needed} not below); points: {points}")
            else:
                entry["agrees"] = len(above) >= needed
                ours = (f"above base B by more than the seed spread at {len(above)} of {len(stats)} n (the pattern "
                        f"needs {needed}); points: {points}")
        comparison.append({**entry, "ours": ours})
    return comparison


def anb_plus_against_bnb_plus(rows, tolerance=TOLERANCE):
    """AnB+ minus BnB+ paired by seed and n (equal training, only the copied layers' source differs).

    Returns:
        `{"differences": {n: (mean, std, runs)}, "above_n": [n where AnB+ is above by more than its margin]}`;
        empty `differences` when the grid lacks one of the two families.
    """
    stats = {n: (*mean_std(values), len(values)) for n, values in differences(rows, "AnB+", "BnB+").items() if values}
    return {"differences": stats, "above_n": [n for n, (mean, std, _) in stats.items() if counts(mean, std, tolerance)]}


def steepest_step(entry):
    """The most negative change between neighbouring n of a comparison `entry` (AnB's): `(change, from_n, to_n)`."""
    steps = entry["differences"]
    changes = [(later["mean"] - earlier["mean"], earlier["n"], later["n"]) for earlier, later in zip(steps, steps[1:])]
    return min(changes) if changes else None
