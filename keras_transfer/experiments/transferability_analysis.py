"""What the transferability grid shows, beside Yosinski et al.'s Figure 2: differences from base B, verdicts, sentences.

`transferability.run` stores `compare_with_paper(rows)` in `result.metadata["comparison"]`; `report(result)` turns
it into the sentences the notebook and the command line print; the plot reads the verdicts from the result.

Every comparison is paired by seed: a network of seed s is compared with base B of seed s, so a difference's spread
over seeds includes base B's own run-to-run spread. A difference counts ("above", "below", "falls") only when its
mean over seeds is larger than its standard deviation over seeds, and than `tolerance` (half a point by default,
which also decides with one seed).
"""

from keras_transfer.experiments.base import format_mean_std
from keras_transfer.experiments.base import mean_std

# Yosinski et al. (2014), Figure 2, in words (FACTS.md): what each family does as n grows.
PAPER_PATTERN = {
    "BnB": "dips below base B at n = 4-5 (co-adapted layers split apart), recovers at n = 6-7",
    "AnB": "close to base B at n = 1-2, falls further and further from n = 3 to 7 (features grow specific)",
    "BnB+": "about base B at every n (fine-tuning repairs the co-adaptation)",
    "AnB+": "above base B at every n (transfer plus fine-tuning generalises better)",
}


def _by_seed(rows, family):
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
    reference_by_seed = _by_seed(rows, reference)
    table = {}
    for n, by_seed in _by_seed(rows, family).items():
        other = reference_by_seed.get(0 if reference == "baseB" else n, {})
        table[n] = [accuracy - other[seed] for seed, accuracy in by_seed.items() if seed in other]
    return table


def _points(mean, std, runs):
    return f"{100 * mean:+.2f} ± {100 * std:.2f}" if runs > 1 else f"{100 * mean:+.2f}"


def compare_with_paper(rows, tolerance=0.005):
    """The paper's pattern (`PAPER_PATTERN`) beside ours, with a verdict per family.

    - BnB: a dip is seen when its lowest mean at n = 3..6 lies below base B and below every mean at n <= 2 and
      n = 7 by more than the margin (the larger of `tolerance` and the seed spread of the lowest point);
    - AnB: it falls when its accuracy at n = 3 (or the first n >= 3) minus that at the largest n, per seed, has a
      mean above its margin;
    - BnB+: about base B when every mean difference lies within its margin;
    - AnB+: above base B at every n when every mean difference exceeds its margin.

    Args:
        rows: list of dict. `ExperimentResult.rows` of `transferability.run` (base B as `family="baseB"`, `n=0`).
        tolerance: float. The accuracy difference below which two means count as equal.

    Returns:
        A list of dicts, one per family the rows hold: `{"family", "paper", "ours", "agrees", "differences"}` plus the
        family's own figures (`"dip"`, `"fall"`, `"within_n"`, `"above_n"`); `differences` is a list of
        `{"n", "mean", "std", "runs"}` (accuracy minus base B); `agrees` is None where the grid lacks the n it needs.
    """
    comparison = []
    for family, paper in PAPER_PATTERN.items():
        gaps = differences(rows, family)
        if not gaps:
            continue
        stats = {n: (*mean_std(values), len(values)) for n, values in gaps.items()}
        margin = {n: max(tolerance, std) for n, (_, std, _) in stats.items()}
        points = "; ".join(f"n={n}: {_points(*stats[n])}" for n in stats)
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
                        f"({_points(*stats[lowest])} points vs base B, {100 * below_ends:+.2f} below its ends)")
        elif family == "AnB":
            by_seed = _by_seed(rows, "AnB")
            start = min((n for n in by_seed if n >= 3), default=None)
            end = max(by_seed)
            ours = f"no two n from 3 up to compare; points vs base B: {points}"
            if start is not None and start < end:
                falls = [by_seed[start][seed] - by_seed[end][seed] for seed in by_seed[start] if seed in by_seed[end]]
                mean, std = mean_std(falls)
                entry["agrees"] = bool(mean > max(tolerance, std))
                entry["fall"] = {"from_n": start, "to_n": end, "mean": mean, "std": std, "runs": len(falls)}
                spread = f" ± {100 * std:.2f}" if len(falls) > 1 else ""
                ours = f"loses {100 * mean:.2f}{spread} points from n={start} to n={end}"
        elif family == "BnB+":
            within = [n for n, (mean, _, _) in stats.items() if abs(mean) <= margin[n]]
            entry.update(agrees=len(within) == len(stats), within_n=within)
            ours = f"within the seed spread of base B at {len(within)} of {len(stats)} n; points: {points}"
        else:
            above = [n for n, (mean, _, _) in stats.items() if mean > margin[n]]
            entry.update(agrees=len(above) == len(stats), above_n=above)
            ours = f"above base B by more than the seed spread at {len(above)} of {len(stats)} n; points: {points}"
        comparison.append({**entry, "ours": ours})
    return comparison


def _comparison(result):
    return result.metadata.get("comparison") or compare_with_paper(result.rows)


def accuracy_table(result, digits=4):
    """A Markdown table: one line per family, one column per n, `mean ± std` over seeds (`mean` with one seed)."""
    n_values = sorted({row["n"] for row in result.rows if row["family"] != "baseB"})
    lines = ["| family | " + " | ".join(f"n={n}" for n in n_values) + " |", "|---|" + "---|" * len(n_values)]
    base = list(_by_seed(result.rows, "baseB").get(0, {}).values())
    if base:
        lines.append("| baseB (n=0) | " + " | ".join([format_mean_std(base, digits)] * len(n_values)) + " |")
    for family in PAPER_PATTERN:
        by_n = _by_seed(result.rows, family)
        if by_n:
            cells = [format_mean_std(list(by_n.get(n, {}).values()), digits) for n in n_values]
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_table(result):
    """The stored comparison as a Markdown table (differences in percentage points)."""
    lines = ["| family | Yosinski et al. 2014 (Fig. 2) | ours (points vs base B) | agrees |", "|---|---|---|---|"]
    for entry in _comparison(result):
        verdict = {True: "yes", False: "no", None: "n/a (grid too small)"}[entry["agrees"]]
        lines.append(f"| {entry['family']} | {entry['paper']} | {entry['ours']} | {verdict} |")
    return "\n".join(lines)


def describe_training(result):
    """One sentence on how long the networks trained on B ran: the stopping rule and the epochs it chose."""
    config = result.metadata["config"]
    if config.get("patience_b") is None:
        return f"Every network trained on B trains for {config['epochs_b']} epochs (no early stopping)."
    base = [row["epochs"] for row in result.rows if row["family"] == "baseB"]
    grid = sorted(row["epochs"] for row in result.rows if row["family"] != "baseB")
    capped = sum(row.get("epochs_trained", 0) >= config["epochs_b"] for row in result.rows)
    return (
        f"Every network trained on B (base B and the grid alike) stops once its accuracy on B's validation images "
        f"has not improved for {config['patience_b']} epochs (at most {config['epochs_b']}) and keeps the weights of its "
        f"best validation epoch: base B's best epoch {'/'.join(map(str, base))} (per seed)"
        + (f", the grid's {grid[0]}-{grid[-1]} (median {grid[len(grid) // 2]})" if grid else "")
        + f"; {capped} of {len(result.rows)} networks reached the cap."
    )


def _why(family, entry, result):
    """Why a pattern is missed, from the figures of the run (None where it holds or cannot be measured)."""
    if entry["agrees"] is not False:
        return None
    gaps = entry["differences"]
    base = [row["test_accuracy"] for row in result.rows if row["family"] == "baseB"]
    if family == "BnB+":
        above = [d["n"] for d in gaps if d["mean"] > max(0.005, d["std"])]
        if len(above) > len(gaps) / 2:
            with_anb = bool(_by_seed(result.rows, "AnB+"))
            fair = "; AnB+ against BnB+ (below) is then the fairer test of transfer" if with_anb else ""
            return (f"BnB+ ends above base B at n = {', '.join(map(str, above))}: a network that starts from base B's "
                    f"lower layers and trains again beats base B itself, so base B has not reached its best in one "
                    f"training{fair}.")
        return ("BnB+ differs from base B by more than the seed spread at some n: on so few training images, one "
                "training run of a network varies more than the paper's large ImageNet halves let it.")
    if family == "BnB":
        return (f"no n in the middle lies below both base B and the ends by more than the seed spread: re-training "
                f"the layers above n on frozen base-B layers loses nothing measurable here, so co-adaptation, if "
                f"any, is smaller than this run resolves with {len(base)} seed(s).")
    if family == "AnB":
        return ("base A's frozen upper layers serve B about as well as its lower ones, within the seed spread: on "
                "this pair of halves the upper layers are not measurably specific to A.")
    below = [d["n"] for d in gaps if d["mean"] < -max(0.005, d["std"])]
    within = [d["n"] for d in gaps if d["n"] not in entry.get("above_n", []) + below]
    reasons = []
    if within:
        spread = (f"its spread over seeds (base B alone varies by ± {100 * mean_std(base)[1]:.2f} points between "
                  "seeds)" if len(base) > 1 else "half a point (one seed: no spread to compare with)")
        reasons.append(f"at n = {', '.join(map(str, within))} the gain over base B is smaller than {spread}")
    if below:
        reasons.append(f"at n = {', '.join(map(str, below))} AnB+ ends below base B: fine-tuning on B's images did "
                       "not undo what the copied layers learned for A")
    return "; ".join(reasons) + "."


def report(result):
    """The run's findings beside the paper's, as sentences computed from the result (printed by notebook and CLI)."""
    comparison = {entry["family"]: entry for entry in _comparison(result)}
    base = [row["test_accuracy"] for row in result.rows if row["family"] == "baseB"]
    test_size = result.metadata.get("test_size", {}).get("b")
    lines = [
        f"Base B: {format_mean_std(base, 4)} on B's test set"
        + (f" ({test_size:,} images)" if test_size else "")
        + f", over {len(base)} seed{'s' if len(base) > 1 else ''}; a difference counts when its mean over seeds "
        "exceeds its spread over seeds (and half a point)."
    ]
    said = {True: "as in the paper", False: "unlike the paper", None: "not measurable on this grid"}
    for family in ("AnB", "AnB+", "BnB", "BnB+"):
        if family in comparison:
            entry = comparison[family]
            lines.append(f"{family}: {entry['ours']} — {said[entry['agrees']]} ({entry['paper']}).")
            why = _why(family, entry, result)
            if why:
                lines.append(f"  Why {family} differs: {why}")
    fair = {n: (*mean_std(values), len(values)) for n, values in differences(result.rows, "AnB+", "BnB+").items()}
    if any(stats[2] for stats in fair.values()):
        above = [n for n, (mean, std, _) in fair.items() if mean > max(0.005, std)]
        lines.append(
            f"AnB+ against BnB+ (equal training, only the copied layers' source differs): above by more than the "
            f"seed spread at {len(above)} of {len(fair)} n; points: "
            + "; ".join(f"n={n}: {_points(*stats)}" for n, stats in fair.items())
            + " (the paper: above at every n, BnB+ being about base B)."
        )
    held = [family for family, entry in comparison.items() if entry["agrees"]]
    missed = [family for family, entry in comparison.items() if entry["agrees"] is False]
    lines.append(
        f"Of the paper's {len(comparison)} family patterns, {len(held)} hold here"
        + (f" ({', '.join(held)})" if held else "")
        + (f"; not {', '.join(missed)}." if missed else ".")
    )
    return lines
