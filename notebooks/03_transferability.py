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
# **Last modified:** 2026-11-22<br>
# **Description:** Yosinski et al.'s layer-transfer experiment (BnB, AnB, BnB+, AnB+ for n = 1…7) on two halves
# of Fashion-MNIST, with the paper's figure.

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
# This notebook runs that experiment through `keras_transfer.experiments.transferability` (the `quick` profile:
# Fashion-MNIST halves of 5 classes, on a laptop CPU in 10–15 minutes; `full` runs it on CIFAR-100 halves of
# 50 classes on a GPU) and draws the paper's figure.

# %% [markdown]
# ## Setup

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt

from keras_transfer.experiments import transferability
from keras_transfer.models import transfer
from keras_transfer.plotting import plot_transferability

# %% tags=["parameters"]
PROFILE = "quick"  # "smoke" (seconds), "quick" (10-15 minutes on 2 CPU cores), "full" (CIFAR-100, a GPU)
SEEDS = None  # None: the profile's seeds; e.g. (0, 1, 2) for three runs per point

# %%
print(f"The results below come from the {PROFILE} profile (settings: transferability.CONFIGS[{PROFILE!r}]).")

# %% [markdown]
# ## The network: what "layer n" means
#
# `transfer.small_alexnet` is AlexNet's layout scaled down to 28×28 (or CIFAR's 32×32) images: five
# convolutional layers `conv1..conv5` and three dense layers `fc6, fc7, fc8`. Pooling, dropout and rescaling hold
# no weights and are not counted, so weighted layer n is the paper's layer n. Cutting at n = 7 keeps everything
# but the classifier.

# %%
config = transferability.CONFIGS[PROFILE]
network = transferability.build_network(config, seed=0)
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
# target.fit(x_b, y_b, ...)
# ```

# %% [markdown]
# ## Running the grid
#
# Two base networks and 4 families × 7 values of n: about 30 trainings. One progress bar covers the whole grid,
# and each finished run is appended to `runs.jsonl` in the output folder as soon as it ends: stop the notebook
# halfway, run it again, and it continues where it stopped instead of starting over (and a second full run only
# reads the file back).

# %%
result = transferability.run(PROFILE, seeds=SEEDS)

metadata = result.metadata
print(f"Profile: {result.profile}; backend: {metadata['backend']}")
print(f"Half A: {', '.join(metadata['class_names_a'])}")
print(f"Half B: {', '.join(metadata['class_names_b'])}")
print(f"Training images per half: {metadata['train_size']}; test images per half: {metadata['test_size']}")
print(
    f"Base A on A's test set: {metadata['base_accuracy']['A']:.4f}; "
    f"base B on B's test set: {metadata['base_accuracy']['B']:.4f}"
)
print(
    f"Runs trained now: {metadata['runs_trained']}, read back from {metadata['output_dir']}: "
    f"{metadata['runs_resumed']}; training time of all runs: {metadata['training_time_s'] / 60:.1f} min"
)

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
# The paper's pattern in words, our means as percentage points above or below base B, and a verdict
# (differences under half a point count as "the same").

# %%
print(transferability.comparison_table(result))

# %% [markdown]
# ## Discussion
#
# The tables and the figure above are the live numbers of the profile you ran. The words below were written from
# one run of the `quick` profile (TensorFlow, one seed per point, 600 training images per class; your numbers will
# differ a little, and in the `smoke` profile they mean nothing: a tiny network trained for one epoch).
#
# **How precise is a point?** Base B is right on B's test set for about 97.7% of its 5,000 images in our quick
# run, which leaves little room: the sampling error of one accuracy on 5,000 images is about 0.2 points, and with
# one seed per point we do not see how much two trainings of the same network differ. Read any difference under
# half a point as noise.
#
# **Where ours agrees with the paper.**
#
# - *Specificity (AnB).* In our quick run AnB lost accuracy as n grew: by less than a point through the
#   convolutional layers (about −0.1 to −0.8 points at n = 1…5), then steeply once frozen dense layers of base A
#   were kept (about −6.6 points at n = 6 and −16 points at n = 7, where only the classifier is trained on B).
#   Base A's convolutional features, learned on pullovers, dresses, coats, shirts and sneakers, serve T-shirts,
#   trousers, sandals, bags and ankle boots nearly as well as B's own; its fc6 and fc7 are specific to A.
# - *Fine-tuning repairs it (BnB+, AnB+).* With the copied layers fine-tuned, both families stayed within about
#   0.4 points of base B at every n in our quick run, including n = 6 and 7 where frozen AnB collapsed.
#
# **Where it does not.**
#
# - *No co-adaptation dip (BnB).* The paper's selffer networks lost accuracy when cut at n = 4–5. Ours stayed within
#   about 0.3 points of base B at every n, the size of the noise, with no dip in the middle. Our network is tiny and
#   B is an easy task; re-learning the upper layers for six epochs on top of frozen lower ones seems to find an
#   equally good solution. Whether fragile co-adaptation appears with a wider network and a harder task is what the
#   `full` profile (CIFAR-100 halves) can tell.
# - *No clear gain from transfer plus fine-tuning (AnB+).* The paper's AnB+ beat base B at every n. Ours was above
#   base B at 4 of the 7 values of n in our quick run, by at most about 0.4 points and about 0.1 point on average:
#   within the noise. The paper's base A had seen half of ImageNet for a long time; ours saw 3,000 small grayscale
#   images of a different half for six epochs, and base B is already close to perfect.
# - *The shape of AnB.* The paper's AnB declines steadily from n = 3 to 7. Ours is nearly flat through the
#   convolutional layers and falls off a cliff at the dense ones: on 28×28 clothes the convolutional features are
#   general and the specificity sits almost entirely in fc6 and fc7.
#
# To tell noise from effect, rerun with `SEEDS = (0, 1, 2)`: the grid keeps the runs it already has and trains
# only the new seeds.

# %% [markdown]
# ## Conclusion
#
# The layer-transfer experiment takes a few lines with `transfer.transfer_layers`: copy the first n layers, freeze
# or fine-tune them, train the rest. Yosinski et al. used it to separate two reasons why transferred features
# disappoint: the features themselves grow specific to the source task in the upper layers, and neighbouring
# layers that co-adapted during training cannot be split apart and re-learned one side at a time. Fine-tuning
# removes both, and a network initialised from another task and fine-tuned can generalise better than one trained
# on the target from scratch. To check how the pattern holds up on a harder task, run the `full` profile
# (CIFAR-100 halves, three seeds, a GPU), or pass `seeds=(0, 1, 2)` to `quick` to see how much of what you see is
# run-to-run noise.
