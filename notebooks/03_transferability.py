# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How transferable are features in deep neural networks?
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-01<br>
# **Description:** Yosinski et al.'s layer-transfer experiment (BnB, AnB, BnB+, AnB+ for n = 1…7) on two halves
# of a dataset's classes, with the paper's figure and a computed comparison.

# %% [markdown]
# ## Introduction
#
# Every network trained on natural images seems to learn the same first layer: Gabor-like edge detectors and colour
# blobs, whatever the task. The last layer, on the other hand, is as specific as it gets: one unit per class of the
# task it was trained on. Somewhere between the two, features turn from *general* to *specific*.
# [Yosinski et al. (2014)](https://arxiv.org/abs/1411.1792) measured where, with one simple experiment:
#
# 1. Split the classes into two disjoint halves, A and B, and train the same 8-layer network on each: **base A**
#    and **base B**.
# 2. For every n = 1…7, build a fresh network, copy the first n layers into it and train the layers above on B:
#    - **AnB**: the first n layers come from base A and stay frozen. If AnB matches base B, layer n's features are
#      general (good for B although learned on A); if it falls short, they are specific to A.
#    - **BnB**, the "selffer" control: the first n layers come from base B itself and stay frozen. Nothing is
#      transferred from another task, so any drop here has another cause: the layers above n were *co-adapted*
#      with the layers below, and re-learning them alone on top of frozen features cannot recover what they had.
#    - **AnB+** and **BnB+**: the same, with the copied layers *fine-tuned* instead of frozen.
#
# The paper found two separate effects: co-adaptation (BnB dips when the network is cut in the middle, at
# n = 4–5) and specificity (AnB falls further and further as n grows), and one pleasant surprise: AnB+, a
# transferred and fine-tuned network, beats base B at every n, although both saw the same data from B.
#
# The lectures "Transfer learning and domain adaptation" (Deep Learning for Computer Vision, UPC TelecomBCN 2016) and
# "Transfer Learning" (Vateekul, NVIDIA IVA workshop) summarise it on their slides "How transferable are features":
# lower layers general, higher layers specific, and transfer plus fine-tuning often better than training from
# scratch on the target data.
#
# This notebook runs that experiment through `keras_transfer.experiments.transferability`, draws the paper's figure
# and compares the two. The `quick` profile is a stand-in that runs on a laptop CPU in minutes; `full` runs it on
# CIFAR-100 halves of 50 classes on a GPU. The cell after the parameters says what the profile you run uses.

# %% [markdown]
# ## Setup

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
from IPython.display import Markdown, display  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.experiments import transferability  # noqa: E402
from keras_transfer.models import transfer  # noqa: E402
from keras_transfer.models import yosinski  # noqa: E402
from keras_transfer.plotting import plot_transferability  # noqa: E402

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (live: the first), e.g. (0,) for one run per point

# %% [markdown]
# ## Running the grid
#
# Per seed: two base networks and up to 4 families × 7 values of n (live mode: n = 1, 3, 5, 7 and the two
# families that transfer from A, AnB and AnB+). One progress bar covers the whole grid, and each finished run is
# appended to `runs.jsonl` in the result's folder as soon as it ends: stop the notebook halfway, run it again, and
# it continues where it stopped instead of starting over. With `RESULTS = "auto"` a saved result of the same settings
# (a teacher's pre-run, say) is loaded instead of trained; the line under the progress says which it was.

# %%
result = kt.experiments.run("transferability", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
print(kt.experiments.base.provenance(result))

metadata = result.metadata
config = metadata["config"]
seeds = config["seeds"]
print(f"The results below come from the {PROFILE} profile{' in live mode' if LIVE else ''} "
      f"(settings: transferability.CONFIGS[{PROFILE!r}]{' and transferability.LIVE' if LIVE else ''}).")
print(f"Backend: {metadata['backend']}; seeds: {seeds}; n: {config['n_values']}; families: {config['families']}")
print(f"Half A: {', '.join(metadata['class_names']['a'])}")
print(f"Half B: {', '.join(metadata['class_names']['b'])}")
print(
    f"Training images: {metadata['train_size']['a']:,} of A for base A; {metadata['train_size']['b']:,} of B "
    f"({metadata['train_size']['b'] // len(metadata['class_names']['b'])} per class) for base B and every transfer "
    f"network. Validation images of B (to choose settings and when to stop): {metadata['validation_size']['b']:,}; "
    f"test images of B: {metadata['test_size']['b']:,}."
)
print(transferability.describe_training(result))
print(
    f"Runs trained now: {metadata['runs_trained']}, read back from the folder: {metadata['runs_resumed']}; training "
    f"time of all runs: {metadata['training_time_s'] / 60:.1f} min ({metadata['training_cpu_time_s'] / 60:.1f} CPU-min)"
)

# %% [markdown]
# ### How this run departs from the paper
#
# Yosinski et al. trained Caffe's reference ImageNet network on two random halves of ImageNet's 1,000 classes (about
# 645,000 training images each), with SGD with momentum on a training schedule fixed in advance (their supplementary
# material gives the rates), and reported each network's accuracy on the ImageNet validation images of B; one
# point of their figure took 9.5 GPU-days. Every profile here, `full` included, departs from that; the table states
# each departure with this run's settings (from `result.metadata["config"]`).

# %%
# Each way this run departs from Yosinski et al. (2014), with the run's own settings.
halves = {half: len(metadata["class_names"][half]) for half in "ab"}
height, width, channels = metadata["input_shape"]
stop_b = (f"early stopping on B's validation accuracy (patience {config['patience_b']}, at most "
          f"{config['epochs_b']} epochs), best epoch kept" if config["patience_b"] is not None
          else f"a fixed {config['epochs_b']} epochs")
validation = metadata["validation_size"]["b"]
rows = [
    ("data", "ImageNet (ILSVRC 2012): 500 + 500 classes, ~645,000 training images per half, 224x224 colour",
     f"{config['dataset']}: {halves['a']} + {halves['b']} classes, {metadata['train_size']['a']:,} + "
     f"{metadata['train_size']['b']:,} training images, {height}x{width}x{channels}"),
    ("network", "Caffe's reference ImageNet network (AlexNet, 8 weighted layers)",
     f"`small_alexnet`: filters {tuple(config['filters'])}, kernels {tuple(config['kernel_sizes'])}, "
     f"dense {tuple(config['units'])}, dropout {config['dropout']}"),
    ("optimizer", "SGD with momentum, the reference network's learning-rate schedule",
     f"Adam (`yosinski.train_network`), learning rate {config['learning_rate']}, batch {config['batch_size']}"),
    ("training length", "a schedule fixed in advance (Caffe solver settings)",
     f"base A: a fixed {config['epochs_a']} epochs; base B and every network of the grid: {stop_b}"),
    ("validation and test", "accuracy on ImageNet's validation images of B (no separate test set)",
     f"{validation:,} images of B held out from its training images "
     + ("decide when B's networks stop" if config["patience_b"] is not None and validation else
        "chose the settings (nothing stops on them)" if validation else "(none here)")
     + f"; accuracy on {metadata['test_size']['b']:,} test images of B"),
    ("A/B split and repeats", "base A and base B trained for each random A/B split; a point per network",
     f"one class split (`split_seed={config['split_seed']}`) for every seed; each seed trains its own base A, "
     f"base B and grid ({len(config['seeds'])} seed(s))"),
]
table = ["| | Yosinski et al. (2014) | this run |", "| --- | --- | --- |"]
display(Markdown("\n".join(table + [f"| {aspect} | {paper} | {ours} |" for aspect, paper, ours in rows])))

# %% [markdown]
# ## The network: what "layer n" means
#
# `transfer.small_alexnet` is AlexNet's layout scaled down to small images: five convolutional layers
# `conv1..conv5` and three dense layers `fc6, fc7, fc8`. Pooling, dropout and rescaling hold no weights and are not
# counted, so weighted layer n is the paper's layer n. Cutting at n = 7 keeps everything but the classifier.
# `yosinski.build_network` builds it with the run's widths.

# %%
network = yosinski.build_network(config, len(metadata["class_names"]["b"]), metadata["input_shape"], seed=0)
network.summary()
print("layer n:", {n: layer.name for n, layer in enumerate(transfer.weighted_layers(network), start=1)})

# %% [markdown]
# `transfer.transfer_layers(source_model, target_model, n, trainable=False)` does the copy for any two models of
# the same architecture: the first n weighted layers of the target get bit-identical copies of the source's
# weights and are frozen (`trainable=True` fine-tunes them instead); the layers above keep their fresh random
# initialisation. The experiment builds each of its networks like this:
#
# ```python
# target = transfer.small_alexnet((28, 28, 1), num_classes=5, seed=1)
# transfer.transfer_layers(base_a, target, n=3, trainable=False)  # A3B: conv1..conv3 from base A, frozen
# target.compile(...)
# target.fit(x_b, y_b, validation_data=..., callbacks=[keras.callbacks.EarlyStopping(...)])
# ```

# %% [markdown]
# ## Test accuracy on B
#
# One line per family, one column per n (mean ± standard deviation over seeds when there are several).

# %%
print(transferability.accuracy_table(result))

# %% [markdown]
# ## The paper's figure
#
# A dot per trained network, a line through the mean of each family, base B as the dashed reference; the paper's
# qualitative pattern is written beside it, with whether our measurement shows it.

# %%
figure = plot_transferability(result)
plt.show()

# %% [markdown]
# ## Ours beside the paper's
#
# The paper's pattern in words, our mean differences from base B in percentage points (± their spread over
# seeds; each network is compared with base B of its own seed), and a verdict. A difference counts only when it is
# larger than its spread over seeds and than half a point.

# %%
print(transferability.comparison_table(result))

# %% [markdown]
# ## Discussion
#
# Every sentence below is computed from the result above, so it holds for the profile and seeds you ran.

# %%
base_b = metadata["base_accuracy"]["B"]
base_mean = sum(base_b) / len(base_b)
test_size = metadata["test_size"]["b"]
sampling_error = math.sqrt(base_mean * (1 - base_mean) / test_size)
print(
    f"How precise is a point? Base B is right on {base_mean:.1%} of B's {test_size:,} test images; the sampling "
    f"error of one such accuracy is about {100 * sampling_error:.2f} points, and {len(seeds)} seed(s) per point "
    "measure how much two trainings of the same network differ."
)
print("\nWhich of the paper's patterns hold here, and why the others do not:")
for line in transferability.report(result):
    print(line)
comparison = {entry["family"]: entry for entry in metadata["comparison"]}
if "AnB" in comparison:
    steps = comparison["AnB"]["differences"]
    drops = [(later["mean"] - earlier["mean"], earlier["n"], later["n"]) for earlier, later in zip(steps, steps[1:])]
    if drops:
        drop, start, end = min(drops)
        print(
            f"AnB's steepest step down is from n={start} to n={end} ({100 * drop:+.2f} points): where base A's "
            "features turn specific to A on this data."
            if drop < 0
            else "AnB never loses accuracy from one n to the next here."
        )
if PROFILE == "quick":
    names_b = ", ".join(metadata["class_names"]["b"])
    per_class = metadata["config"]["train_per_class_b"]
    print(
        f"In this quick stand-in, B is {names_b}, with {per_class} training images per class for every network "
        f"trained on B, against {metadata['config']['train_per_class_a']} per class for base A: a small target set, "
        f"the condition under which the lectures recommend transfer. Base B reaches {base_mean:.1%} on it, "
        f"{100 * (1 - base_mean):.1f} points below a perfect score, so a gain from transfer has room to show."
    )

# %% [markdown]
# ## Conclusion
#
# The layer-transfer experiment takes a few lines with `transfer.transfer_layers`: copy the first n layers, freeze
# or fine-tune them, train the rest. Yosinski et al. used it to separate two reasons why transferred features
# disappoint: features grow specific to the source task in the upper layers, and neighbouring layers that
# co-adapted during training cannot be split apart and re-learned one side at a time. What this run shows:

# %%
held = [family for family, entry in comparison.items() if entry["agrees"]]
missed = [family for family, entry in comparison.items() if entry["agrees"] is False]
if "AnB" in comparison and "fall" in comparison["AnB"]:
    fall = comparison["AnB"]["fall"]
    verb = "grow specific" if comparison["AnB"]["agrees"] else "do not measurably grow more specific"
    print(
        f"- Specificity: frozen features of base A {verb} from layer {fall['from_n']} to layer {fall['to_n']} "
        f"(AnB loses {100 * fall['mean']:.2f} points)."
    )
if "AnB+" in comparison:
    above = comparison["AnB+"]["above_n"]
    total = len(comparison["AnB+"]["differences"])
    gains = [entry["mean"] for entry in comparison["AnB+"]["differences"]]
    print(
        f"- Transfer plus fine-tuning: AnB+ beats base B by more than the seed spread at {len(above)} of {total} n "
        f"(mean gain {100 * min(gains):+.2f} to {100 * max(gains):+.2f} points); the paper saw a gain at every n."
    )
if "BnB" in comparison:
    print(
        "- Co-adaptation: "
        + ("BnB dips in the middle of the network, as in the paper." if comparison["BnB"]["agrees"]
           else "BnB shows no dip in the middle of the network here, unlike the paper's n = 4-5.")
    )
print(
    f"- In all, {len(held)} of the paper's {len(comparison)} family patterns hold in this run"
    + (f" ({', '.join(held)})" if held else "")
    + (f"; {', '.join(missed)} not." if missed else ".")
)
if PROFILE == "quick":
    print(
        "These are the quick stand-in's figures. To check the pattern on natural images, run the `full` profile "
        "(CIFAR-100 halves, three seeds, a GPU)."
    )

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, n = 1, 3, 5, 7), a few
# minutes on a laptop in `quick`. A run with changed settings is saved in a folder of its own, so the notebook's
# saved result still loads afterwards. Draw a result with `plot_transferability(...)` and print
# `transferability.accuracy_table(...)` and `transferability.report(...)`. Worked answers:
# `notebooks/solutions/03_transferability.md`.
#
# 1. **More target data.** The lecture "Transfer learning and domain adaptation" (Deep Learning for Computer Vision,
#    UPC TelecomBCN 2016), slide "How transferable are features?", says to freeze transferred layers when target
#    labels are scarce and to fine-tune them when they are plentiful. Run
#    `kt.experiments.run("transferability", PROFILE, live=True, train_per_class_b=60, n_values=(3, 7))`
#    (3× more images of B, two cuts). How much does base B gain? Does frozen AnB keep up with base B, and
#    does AnB+ still beat it?
# 2. **The selffer control.** Run
#    `kt.experiments.run("transferability", PROFILE, live=True, families=("BnB", "BnB+"))`. Does BnB dip in the
#    middle of the network (co-adaptation, the paper's n = 4-5)? Is BnB+ about base B, as in the paper, or above
#    it, and what would "above" say about base B?
# 3. **One seed or three.** Run the live grid over three seeds:
#    `kt.experiments.run("transferability", PROFILE, live=True, seeds=(0, 1, 2))` (three times the time). Which
#    of the live run's verdicts survive once a gain must exceed its spread over seeds?
