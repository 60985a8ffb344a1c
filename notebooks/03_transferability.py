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
# **Last modified:** 2026-12-06<br>
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
#
# The stand-in keeps the conditions under which the lectures recommend transfer: a small target set and a source
# task whose features the target needs. Its halves are Fashion-MNIST items pasted on crops of colour photos (the
# data of notebooks 04 and 08): half A has hundreds of images per class, half B twenty. To recognise an item on a
# photo a network must first separate it from the clutter around it; A's many images can teach the lower layers
# that, B's hundred cannot. Base B is the best this network does on B alone: like every network trained on B, it
# stops at its best epoch on B's validation images.

# %% [markdown]
# ## Setup

# %%
import os

import matplotlib.pyplot as plt

import keras_transfer as kt
from keras_transfer.models import transfer
from keras_transfer.models import yosinski
from keras_transfer.plotting import plot_transferability
from keras_transfer.reports import transferability as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (live: the first), e.g. (0,) for one run per point
WORKERS = int(os.environ.get("KT_WORKERS", "1"))  # networks trained at once, each a Ray task (the rows are the same)

# %% [markdown]
# ## Running the grid
#
# Per seed: two base networks and up to 4 families × 7 values of n (live mode: n = 1, 3, 5, 7 and the two
# families that transfer from A, AnB and AnB+). One progress bar covers the whole grid, and each finished run is
# appended to `runs.jsonl` in the result's folder as soon as it ends: stop the notebook halfway, run it again, and
# it continues where it stopped instead of starting over. With `RESULTS = "auto"` a saved result of the same settings
# (a teacher's pre-run, say) is loaded instead of trained; the first line under the progress bar says which it was.
# The grid's networks do not depend on each other once the base networks are trained: with `WORKERS = 2` two train
# at once, each as a [Ray](https://docs.ray.io) task on its own core (or on a Ray cluster, see the README), and the
# rows are the ones a sequential run gives.

# %%
result = kt.experiments.run("transferability", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS, workers=WORKERS)
report.setup(result, live=LIVE)

# %% [markdown]
# ### How this run departs from the paper
#
# Yosinski et al. trained Caffe's reference ImageNet network on two random halves of ImageNet's 1,000 classes (about
# 645,000 training images each), with SGD with momentum on a training schedule fixed in advance (their supplementary
# material gives the rates), and reported each network's accuracy on the ImageNet validation images of B; one
# point of their figure took 9.5 GPU-days. Every profile here, `full` included, departs from that; the table states
# each departure with this run's settings (from `result.metadata["config"]`).

# %%
report.departures(result)

# %% [markdown]
# ## The network: what "layer n" means
#
# `transfer.small_alexnet` is AlexNet's layout scaled down to small images: five convolutional layers
# `conv1..conv5` and three dense layers `fc6, fc7, fc8`. Pooling, dropout and rescaling hold no weights and are not
# counted, so weighted layer n is the paper's layer n. Cutting at n = 7 keeps everything but the classifier.
# `yosinski.build_network` builds it with the run's widths.

# %%
metadata = result.metadata
network = yosinski.build_network(metadata["config"], len(metadata["class_names"]["b"]), metadata["input_shape"], seed=0)
network.summary()
report.layer_table(layer.name for layer in transfer.weighted_layers(network))

# %% [markdown]
# `transfer.transfer_layers(source_model, target_model, n, trainable=False)` does the copy for any two models of
# the same architecture: the first n weighted layers of the target get bit-identical copies of the source's
# weights and are frozen (`trainable=True` fine-tunes them instead); the layers above keep their fresh random
# initialisation. The experiment builds each of its networks like this:
#
# ```python
# target = transfer.small_alexnet((32, 32, 3), num_classes=5, seed=1)
# transfer.transfer_layers(base_a, target, n=3, trainable=False)  # A3B: conv1..conv3 from base A, frozen
# target.compile(...)
# target.fit(x_b, y_b, validation_data=..., callbacks=[keras.callbacks.EarlyStopping(...)])
# ```

# %% [markdown]
# ## Test accuracy on B
#
# One line per family, one column per n (mean ± standard deviation over seeds when there are several).

# %%
report.accuracy_table(result)

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
# larger than its spread over seeds and than half a point. The fine-tuned families' patterns (AnB+ above base B,
# BnB+ not below it) hold when they hold at five of the seven n (three of four in live mode): with a hundred
# training images one n in seven can miss by chance.

# %%
report.comparison_table(result)

# %% [markdown]
# ## Discussion
#
# Every sentence below is computed from the result above, so it holds for the profile and seeds you ran.

# %%
report.discussion(result)

# %% [markdown]
# ## Conclusion
#
# The layer-transfer experiment takes a few lines with `transfer.transfer_layers`: copy the first n layers, freeze
# or fine-tune them, train the rest. Yosinski et al. used it to separate two reasons why transferred features
# disappoint: features grow specific to the source task in the upper layers, and neighbouring layers that
# co-adapted during training cannot be split apart and re-learned one side at a time. What this run shows:

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, n = 1, 3, 5, 7), a few
# minutes on a laptop in `quick`. A run with changed settings is saved in a folder of its own, so the notebook's
# saved result still loads afterwards. Draw a result with `plot_transferability(...)` and display
# `report.accuracy_table(...)` and `report.patterns(...)`. Worked answers:
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
