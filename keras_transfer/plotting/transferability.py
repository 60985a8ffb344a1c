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


def plot_transferability(result, *, ax=None, paper_pattern=True, zoom=True, title=None):
    """Accuracy on B against n: a dot per run, a line through the means of each family, base B as reference.

    Args:
        result: ExperimentResult. What `keras_transfer.experiments.transferability.run` returned (rows with
            `family`, `n`, `test_accuracy`; base B as `family="baseB"`, `n=0`).
        ax: matplotlib Axes or None. Where to draw the main panel alone; by default a new figure with the
            panels that `zoom` and `paper_pattern` ask for.
        paper_pattern: bool. Writes Yosinski et al.'s qualitative pattern (Figure 2) beside the plot, with our
            verdict for each family, as the experiment stored them (`metadata["paper_pattern"]` and
            `metadata["comparison"]`). Ignored when `ax` is given.
        zoom: bool. Adds a panel below with the same runs as percentage points above or below base B, its y axis
            narrowed to the band where most families lie (a family that collapses at some n would otherwise
            flatten the differences between the others). Ignored when `ax` is given.
        title: str or None. The main panel's title (default: names the profile the numbers come from).

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
    text_ax = zoom_ax = None
    if ax is None:
        layout = [["main"], ["zoom"]] if zoom else [["main"]]
        if paper_pattern:
            layout = [row + ["text"] for row in layout]
        figure, axes = plt.subplot_mosaic(
            layout,
            figsize=(12 if paper_pattern else 8, 8 if zoom else 5),
            width_ratios=[3, 1.7] if paper_pattern else None,
            height_ratios=[3, 2] if zoom else None,
            layout="constrained",
        )
        ax, text_ax, zoom_ax = axes["main"], axes.get("text"), axes.get("zoom")
    else:
        figure = ax.figure

    by_family = {}
    for row in result.rows:
        by_family.setdefault(row["family"], {}).setdefault(row["n"], []).append(row["test_accuracy"])
    base = [value for values in by_family.get("baseB", {}).values() for value in values]
    base_mean = statistics.fmean(base) if base else None
    n_values = sorted({n for family, by_n in by_family.items() if family != "baseB" for n in by_n})

    _draw_runs(ax, by_family, base, base_mean, scale=None)
    ax.set_ylabel("test accuracy on B")
    ax.set_title(title or f"How transferable are features? ({result.profile} profile)")
    ax.legend(loc="lower left", fontsize="small")
    axes_with_n = [ax]
    if zoom_ax is not None and base_mean is not None:
        _draw_runs(zoom_ax, by_family, base, base_mean, scale=100.0)
        differences = sorted(
            abs(statistics.fmean(values) - base_mean) * 100.0
            for family, by_n in by_family.items()
            if family != "baseB"
            for values in by_n.values()
        )
        if differences:
            limit = max(0.5, 1.6 * differences[int(0.8 * (len(differences) - 1))])
            zoom_ax.set_ylim(-limit, limit)
            zoom_ax.set_title(f"zoom: points above or below base B (runs beyond ±{limit:.1f} off the panel)")
        zoom_ax.set_ylabel("accuracy − base B (points)")
        axes_with_n.append(zoom_ax)
    for panel in axes_with_n:
        panel.set_xticks([0, *n_values])
        panel.set_xticklabels(["base B", *(str(n) for n in n_values)])
        panel.grid(alpha=0.3)
    axes_with_n[-1].set_xlabel("layer n at which the network is chopped and retrained")

    if text_ax is not None:
        _draw_paper_pattern(text_ax, result)
    return figure


def _draw_runs(ax, by_family, base, base_mean, scale):
    """Dots and mean lines; `scale=None` draws accuracies, else `(accuracy - base_mean) * scale`."""

    def _y(values):
        return list(values) if scale is None else [(value - base_mean) * scale for value in values]

    if base:
        ax.axhline(_y([base_mean])[0], color="0.4", linestyle="--", linewidth=1, label="base B (mean)")
        ax.scatter([0] * len(base), _y(base), s=40, facecolor="white", edgecolor="black", zorder=3, label="base B")
    for family, style in FAMILY_STYLES.items():
        if family not in by_family:
            continue
        by_n = by_family[family]
        xs = [n + style["offset"] for n in sorted(by_n) for _ in by_n[n]]
        ys = _y(value for n in sorted(by_n) for value in by_n[n])
        ax.scatter(xs, ys, s=22, color=style["color"], marker=style["marker"], alpha=0.7, zorder=3)
        means = _y(statistics.fmean(by_n[n]) for n in sorted(by_n))
        ax.plot([n + style["offset"] for n in sorted(by_n)], means, color=style["color"], linewidth=2, label=family)


def _draw_paper_pattern(ax, result):
    """The paper's pattern and our verdicts, as stored by the experiment in `result.metadata`."""
    ax.axis("off")
    pattern = result.metadata.get("paper_pattern", {})
    verdicts = {entry["family"]: entry["agrees"] for entry in result.metadata.get("comparison", [])}
    lines = ["Yosinski et al. 2014, Figure 2 (ImageNet halves):", ""]
    for family, text in pattern.items():
        verdict = {True: "ours agrees", False: "ours differs", None: "grid too small"}.get(verdicts.get(family))
        lines.extend(textwrap.wrap(f"{family}: {text}", width=58, subsequent_indent="    "))
        lines.append(f"    -> {verdict or 'not run'}")
        lines.append("")
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize="small", transform=ax.transAxes)
