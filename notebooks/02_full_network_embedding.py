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
# # The Full-Network Embedding
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-01<br>
# **Description:** Garcia-Gasulla et al.'s Full-Network Embedding (pooling, standardisation, discretisation of
# every layer) against the last layer's features, with a linear SVM, step by step.

# %% [markdown]
# ## Introduction
#
# The usual off-the-shelf recipe takes the features of one layer, typically the last hidden one (`fc7` of VGG16),
# and trains a linear SVM on them. It works best when the new task resembles the one the network was trained
# on. The previous notebook showed why one layer is a gamble: the early layers carry generic but weak features,
# the last ones strong but task-specific ones.
#
# The **Full-Network Embedding** ([Garcia-Gasulla et al., 2017](https://arxiv.org/abs/1705.07706)) keeps them
# all, in three steps (the slide "Full-Network Embedding Recipe" of the lecture *Transfer learning*, Barcelona
# Supercomputing Center):
#
# 1. **Spatial average pooling** of every convolutional layer's output (one value per channel), plus the fully
#    connected layers except the output layer, concatenated. For VGG16 that is 12,416 features.
# 2. **Standardisation** of each feature with the mean and standard deviation of the *training set*. Layers have
#    very different ranges; after this step a value says whether a feature is unusually high or low for an image
#    *in the context of this dataset*.
# 3. **Discretisation** to {-1, 0, 1}: `> 0.15 → 1`, `< -0.25 → -1`, else 0. The authors found these thresholds by
#    separating the values of features that characterise a class from those that behave at random (on mit67,
#    cub200 and flowers102 the best thresholds came out between 0.14 and 0.20, and -0.23 and -0.24): the step
#    removes noise and makes the embedding sparse.
#
# Then a linear SVM. The paper reports that this beats `fc7` + SVM on most datasets, by 4.2 points on average
# (2.9 over `fc6`), and by more when the new task is far from the source one. This notebook builds the embedding
# with `keras_transfer.embeddings.FullNetworkEmbedding` (a scikit-learn transformer) and measures, on the
# profile's task, the embedding against the last layers and what each of the three steps adds.

# %% [markdown]
# ## Setup

# %%
import os

import matplotlib.pyplot as plt

import keras_transfer as kt
from keras_transfer.plotting import features as feature_plots
from keras_transfer.reports import full_network_embedding as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)      # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick: 3 draws of the 30 training images per class; live: the first)

# %% [markdown]
# ## The embedding as a scikit-learn transformer
#
# `FullNetworkEmbedding(model)` is a scikit-learn transformer: `fit` computes the pooled features of the training
# images and keeps their mean and standard deviation, `transform` embeds any images with those *training*
# statistics. In a `Pipeline` with a `LinearSVC` it is the paper's whole method, three lines on your own images:
#
# ```python
# from sklearn.pipeline import make_pipeline
# from sklearn.svm import LinearSVC
#
# classifier = make_pipeline(kt.embeddings.FullNetworkEmbedding(source_network), LinearSVC())
# classifier.fit(x_train, y_train)
# classifier.score(x_test, y_test)
# ```
#
# The experiment below trains the same `LinearSVC` on five representations, each such a pipeline over the same
# training images (the off-the-shelf experiment's source network and task), for every seed:
#
# - the last two hidden layers alone (the paper's `fc6` and `fc7` baselines), standardised;
# - every layer, pooled and concatenated, nothing more (`FNE: pooling`);
# - plus standardisation with the training statistics (`FNE: + standardisation`);
# - plus discretisation (`FNE: + discretisation`, the full method).
#
# `kt.experiments.run` loads the saved result of the same settings when there is one (`RESULTS = "auto"`), and
# otherwise trains; the line after the run says which it did.

# %%
result = kt.experiments.run("full-network-embedding", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
print(kt.experiments.base.provenance(result))
report.setup(result, live=LIVE)

# %% [markdown]
# What the full embedding of the first seed's training images looked like: its layers, its width, and how sparse
# the discretised codes are (the share of -1, 0 and 1).

# %%
report.embedding(result)

# %% [markdown]
# ## One layer against the full embedding, step by step
#
# Test accuracy of the linear SVM on each representation (mean ± standard deviation over seeds):

# %%
report.method_table(result)

# %%
report.convergence(result)

# %% [markdown]
# ## Ours beside the paper's
#
# The paper's numbers on the nine datasets of the lecture's slide (VGG16 pretrained on Places2 for mit67, on
# ImageNet for the rest: a source task close to each target; accuracy in %), with our last two hidden layers in the
# roles of `fc6` and `fc7` as the last line. The embedding beats `fc7` on most datasets, not on all: on the two dog
# datasets (cats-dogs, sdogs) the last layer of an ImageNet network, which has learned over a hundred dog breeds,
# is already as good.

# %%
report.paper_table(result)

# %% [markdown]
# The lecture's slide "Most frequent real-world scenario" swaps the source networks (ImageNet for mit67, Places2 for
# the rest), so that the source task is *far* from the target's, as it usually is when we borrow a network. Both
# methods lose accuracy, the last layer much more: the embedding's gain grows, to 17.5 points on cats-dogs.
#
# Where the profile has a second source network at hand (quick and smoke: the same small VGG, trained on the same
# classes but on other images, `mismatched_source_domain`), the experiment also fits the last hidden layer and the
# full embedding on it. The last line is that run, mean ± std over seeds, beside our gain on the matched source; the
# line under the table names both sources, and the lesson in the conclusion compares the two gains paired by seed.

# %%
report.mismatched_source_table(result)

# %% [markdown]
# Then the paper's claims, checked by the experiment on this run: our difference in points, beside the larger
# standard deviation over seeds of the two methods compared.

# %%
report.verdict_table(result)

# %%
figure = feature_plots.plot_fne_comparison(result)
plt.show()

# %% [markdown]
# ## Conclusion
#
# The Full-Network Embedding is a forward pass, a mean and standard deviation per feature, and two thresholds:
# no training of the network and no choice of layer. In the paper (and in the lecture's summary slide) it is the
# more robust of the simple recipes when the new task and domain differ from the source's and the data is small.
# What this run says:

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# The spread over seeds beside each difference says how much of it another draw of the small training set could
# change; pass more seeds to narrow it. For the paper's setting run the `full` profile (ImageNet VGG19 on Oxford-17
# flowers, a GPU). `FullNetworkEmbedding` drops into any scikit-learn pipeline, so the same three lines embed your
# own images.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed), well under a minute on a
# laptop once the source network is on disk (if the result above was loaded, not trained, the first exercise may
# train it first: a few minutes more in `quick`). The `output_dir` keeps your run apart from the notebook's saved
# result, which a
# later `RESULTS = "auto"` run still loads. Worked answers: `notebooks/solutions/02_full_network_embedding.md`.
#
# 1. **Other thresholds.** Run
#    `kt.experiments.run("full-network-embedding", PROFILE, live=True, thresholds=(-1.0, 1.0), output_dir=kt.paths.results_dir("exercises", "02-thresholds"))`
#    and compare its `report.embedding(...)` and `report.method_table(...)` with the run above. How much
#    sparser is the embedding, and what does discretisation now do to the accuracy?
# 2. **Less data.** Pass `train_per_class=5` (instead of 30). The paper says the embedding "works with little
#    data": does the full embedding's gain over the last hidden layer (`metadata["gains"]`) grow or shrink?
# 3. **Which layers matter?** Pass `layers=["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]` (the
#    embedding of the first two blocks only). How close does the embedding of the early layers come to the last
#    hidden layer alone?
