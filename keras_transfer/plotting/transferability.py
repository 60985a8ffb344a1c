"""Yosinski et al.'s Figure 2: test accuracy on B against the number n of transferred layers."""

import statistics
import textwrap

import matplotlib.pyplot as plt

# Colours after the paper's figure: the selffer networks blue, the transfer networks red, fine-tuned ones lighter.
FAMILY_STYLES = {
    "BnB": {"color": "#1f4e9c", "marker": "o", "offset": -0.15},
    "BnB+": {"color": "#7fb2e5", "marker": "o", "offset": -0.05},
    "AnB": {"color": "#b2182b", "marker": "D", "offset": 0.05},
    "AnB+": {"color": "#f4a582", "marker": "D", "offset": 0.15},
}


def plot_transferability(result, *, ax=None, paper_pattern=True, title=None):
    """Accuracy on B against n: a dot per run, a line through the means of each family, base B as reference.

    Args:
        result: ExperimentResult. What `keras_transfer.experiments.transferability.run` returned (rows with
            `family`, `n`, `test_accuracy`; base B as `family="baseB"`, `n=0`).
        ax: matplotlib Axes or None. Where to draw; by default a new figure (with the paper's pattern beside the
            plot when `paper_pattern` is true).
        paper_pattern: bool. Writes Yosinski et al.'s qualitative pattern (Figure 2) beside the plot, with our
            verdict for each family (`compare_with_paper`). Ignored when `ax` is given.
        title: str or None. The plot's title (default: names the profile the numbers come from).

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    result = keras_transfer.experiments.transferability.run("quick")
    figure = plot_transferability(result)
    figure.savefig("transferability.png")
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks? (Figure 2)
    """
    if ax is None:
        if paper_pattern:
            figure, (ax, text_ax) = plt.subplots(
                1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 1.7]}, layout="constrained"
            )
        else:
            figure, ax = plt.subplots(figsize=(8, 5), layout="constrained")
            text_ax = None
    else:
        figure, text_ax = ax.figure, None

    by_family = {}
    for row in result.rows:
        by_family.setdefault(row["family"], {}).setdefault(row["n"], []).append(row["test_accuracy"])
    base = [value for values in by_family.get("baseB", {}).values() for value in values]
    if base:
        ax.axhline(statistics.fmean(base), color="0.4", linestyle="--", linewidth=1, label="base B (mean)")
        ax.scatter([0] * len(base), base, s=40, facecolor="white", edgecolor="black", zorder=3, label="base B")
    n_values = sorted({n for family, by_n in by_family.items() if family != "baseB" for n in by_n})
    for family, style in FAMILY_STYLES.items():
        if family not in by_family:
            continue
        by_n = by_family[family]
        xs = [n + style["offset"] for n in sorted(by_n) for _ in by_n[n]]
        ys = [value for n in sorted(by_n) for value in by_n[n]]
        ax.scatter(xs, ys, s=22, color=style["color"], marker=style["marker"], alpha=0.7, zorder=3)
        means = [statistics.fmean(by_n[n]) for n in sorted(by_n)]
        ax.plot(
            [n + style["offset"] for n in sorted(by_n)], means, color=style["color"], linewidth=2, label=family
        )
    ax.set_xticks([0, *n_values])
    ax.set_xticklabels(["base B", *(str(n) for n in n_values)])
    ax.set_xlabel("layer n at which the network is chopped and retrained")
    ax.set_ylabel("test accuracy on B")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    ax.set_title(title or f"How transferable are features? ({result.profile} profile)")

    if text_ax is not None:
        _draw_paper_pattern(text_ax, result)
    return figure


def _draw_paper_pattern(ax, result):
    from keras_transfer.experiments.transferability import PAPER_PATTERN
    from keras_transfer.experiments.transferability import compare_with_paper

    ax.axis("off")
    verdicts = {entry["family"]: entry["agrees"] for entry in compare_with_paper(result)}
    lines = ["Yosinski et al. 2014, Figure 2 (ImageNet halves):", ""]
    for family, pattern in PAPER_PATTERN.items():
        verdict = {True: "ours agrees", False: "ours differs", None: "grid too small"}.get(verdicts.get(family))
        lines.extend(textwrap.wrap(f"{family}: {pattern}", width=58, subsequent_indent="    "))
        lines.append(f"    -> {verdict or 'not run'}")
        lines.append("")
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize="small", transform=ax.transAxes)
