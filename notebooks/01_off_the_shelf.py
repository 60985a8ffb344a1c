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
# # Off-the-shelf features: a pretrained network's layers as generic features
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-06<br>
# **Description:** A linear SVM and a softmax on the features of each layer of a pretrained CNN, accuracy
# against depth, transferability scores that rank the layers before training, and image retrieval by nearest
# neighbours in feature space.

# %% [markdown]
# ## Introduction
#
# Training a deep network needs many labelled images. Often we have a few dozen per class. The simplest way out
# is also one of the most effective: take a network already trained on a large dataset for a *different* task,
# run our images through it, and use the outputs of one or more of its layers as **generic features** for a new
# *shallow* model, a linear SVM or a softmax. The network is frozen; only the shallow model learns. This is the
# "Off-the-shelf" slide of the lecture *Transfer learning and domain adaptation* (Deep Learning for Computer
# Vision, UPC TelecomBCN 2016): "use outputs of one or more layers of a network trained on a different task as
# generic feature detectors; train a new shallow model on these features". In 2014 this recipe matched or beat the
# hand-made state of the art on PASCAL VOC, Oxford flowers, CUB birds, MIT indoor scenes and on image retrieval
# benchmarks (Razavian et al., 2014; the lecture's slide "Off-the-shelf features"). On Oxford 102 flowers, a CNN
# with a linear SVM reached 74.7% (86.8% with augmentation), against 80.7% for the best hand-made features.
#
# Which layer should we take? Zeiler & Fergus (2014) tapped the features of every layer of an AlexNet-style
# network trained on ImageNet and trained a linear SVM (and a softmax) on Caltech-101 with 30 images per class
# (the slide "Tapping off Features at each Layer" of the lecture *ConvNets as Deep Neural Networks for Vision*):
#
# | layer | 1 | 2 | 3 | 4 | 5 | 7 |
# |---|---|---|---|---|---|---|
# | SVM, Caltech-101 (30/class) | 44.8 | 66.2 | 72.3 | 76.6 | 86.2 | 85.5 |
# | SVM, Caltech-256 (60/class) | 24.6 | 39.6 | 46.0 | 51.3 | 65.6 | 71.7 |
#
# Low at layer 1 (edges and colour blobs say little about an object's class), rising with depth as the features
# grow more abstract, flat near the top. In this notebook we run the same experiment with
# `keras_transfer.experiments.off_the_shelf`. Its profiles differ in data, not in code: the `full` profile (a GPU)
# transfers Keras's ImageNet VGG19 to Oxford-17 flowers; the `quick` profile (a laptop CPU, a few minutes) plays
# the same game with a small network the project pretrains itself and Caltech-101's budget of 30 training images
# per class. The cell after the experiment says which source network and target task this run used.
#
# We also use the same features for **retrieval** (the lecture's slide "Transfer as generic features"): rank a
# gallery of images by cosine similarity to a query.

# %% [markdown]
# ## Setup

# %%
import os

import matplotlib.pyplot as plt

import keras_transfer as kt
from keras_transfer.experiments import off_the_shelf
from keras_transfer.plotting import features as feature_plots
from keras_transfer.reports import off_the_shelf as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)      # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick: 3 draws of the 30 training images per class; live: the first)

# %% [markdown]
# ## The experiment
#
# For each layer and each seed (a new draw of the small training set), the experiment trains a linear SVM
# (`embeddings.linear_svm`) and a multinomial logistic regression, the "softmax" (`embeddings.softmax_classifier`),
# on standardised features, and tests them on the test images of the new task. For retrieval, it ranks a separate
# gallery of labelled images by cosine similarity to each test image (`embeddings.nearest_neighbors`), and reports
# precision@k: the share of the k nearest gallery images that have the query's class.
#
# The features of a convolutional layer are its output maps averaged over the image (one number per channel); a
# dense layer's outputs are used as they are. `embeddings.default_layers` picks every convolutional layer and every
# dense layer except the output (the source task's classifier, useless for new classes). One forward pass of
# `embeddings.tap_model(source, layers)` computes all of them at once; `embeddings.extract_layer_features` runs it
# over the images in batches and, with `cache=True`, keeps the features on disk, so a second run skips the network.
#
# `kt.experiments.run` loads the saved result of the same settings when there is one (`RESULTS = "auto"`), and
# otherwise trains; the line under the progress says which it did.

# %%
result = kt.experiments.run("off-the-shelf", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
print(kt.experiments.base.provenance(result))
report.setup(result, live=LIVE)

# %% [markdown]
# ## The source network and its layers

# %%
report.source_network(result)

# %% [markdown]
# ## Accuracy against depth
#
# Our table: the test accuracy of each layer's features (mean ± standard deviation over seeds), and the retrieval
# precision@k of the same features.

# %%
report.layer_table(result)

# %% [markdown]
# Zeiler & Fergus's table, as the experiment stores it (their network has 7 layers with features, ours has the
# number above; "–" where the paper gives no number):

# %%
report.paper_table(result)

# %%
figure = feature_plots.plot_accuracy_by_depth(result)
plt.show()

# %% [markdown]
# Does our curve have the shape of the paper's? Each line below is a property of Zeiler & Fergus's table, checked
# on the paper's numbers and on ours by the experiment.

# %%
report.shape_checks(result)

# %% [markdown]
# Read the two curves for their shape more than their level: the tasks, the networks and the number of classes
# differ. What this run's curve says:

# %%
report.findings(result)

# %% [markdown]
# ## SVM or softmax?
#
# In Zeiler & Fergus's table the two classifiers are close on the top layer (Caltech-101: 85.5 for the SVM, 85.4
# for the softmax on layer 7). The two per layer in our run (means over seeds), and their difference in accuracy
# points (softmax minus SVM):

# %%
report.classifier_gap(result)

# %% [markdown]
# ## Choosing the layer before training: transferability scores
#
# Above, we chose the layer by training a classifier on every layer and testing it. Transferability scores try to
# answer the same question from one forward pass over the labelled training images, before anything is trained
# (`keras_transfer.selection`):
#
# - **LogME** (You et al., ICML 2021): how well a Bayesian linear model explains each class's 0/1 label from the
#   layer's features, its evidence maximised over the prior's and the noise's precisions (higher is better);
# - **H-score** (Bao et al., 2019): `tr(cov(f)^-1 cov(E[f | y]))`, how much of the features' variance lies between
#   the classes (higher is better, at most classes − 1);
# - **LEEP** (Nguyen et al., 2020) and **NCE** (Tran et al., 2019) read the source network's own predictions
#   (its softmax over the source classes), not a layer's features.
#
# The experiment scores the features it has already extracted (and cached) for the SVMs: the scores cost seconds,
# against training a classifier per layer. Each score per layer, beside the accuracy it should predict:

# %%
report.score_table(result)

# %% [markdown]
# How well did each score rank the layers? Kendall's τ compares two orderings of the same layers: +1 when the score
# orders them exactly as the SVM's test accuracy does, 0 when the two orders are unrelated, −1 when reversed. It is
# computed per seed (each seed has its own training images, so its own scores and accuracies), then averaged. A
# ranking can be good on the whole and still miss the best layer, so the table also says how often the layer a
# score ranks first was the best one, and how much accuracy taking it would have cost.

# %%
report.score_ranking(result)

# %%
report.score_verdict(result)

# %%
report.source_scores(result)

# %% [markdown]
# TLlib's benchmark (`examples/model_selection` of the Transfer-Learning-Library) scored 10 ImageNet models on each
# of eight datasets and correlated each score with the accuracy after fine-tuning: the table gives its Pearson
# correlation and weighted Kendall τ. Agostinelli et al. (ECCV 2022) found in a larger study that no score ranks
# best everywhere. The candidates differ from ours (whole networks fine-tuned, not the layers of one frozen
# network), so read the comparison for its sign and rough size:

# %%
report.tllib_table(result)

# %% [markdown]
# ## Retrieval: the nearest images in feature space
#
# Each row is a test image (the query) followed by its nearest gallery images by cosine similarity of the last
# hidden layer's features: a green frame is a hit of the query's class, a red one a miss. The table above holds
# precision@k for every layer. The images come from `retrieval_examples.npz`, saved beside the result.

# %%
examples = off_the_shelf.retrieval_examples(result)
figure = feature_plots.plot_retrieval(examples)
plt.show()

# %% [markdown]
# ## Conclusion
#
# A frozen network trained on another task, a forward pass, and a linear model: that is the whole off-the-shelf
# recipe, and on a few dozen images per class it gives a strong baseline for classification and for retrieval.
# Which layer to take matters: the first layers carry too little, the last ones can be too specific to the source
# task.

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# The next notebook, `02_full_network_embedding`, stops choosing: the Full-Network Embedding uses every layer at
# once. To see the paper's setting, run the `full` profile (ImageNet VGG19 on Oxford-17, a GPU); to see how stable
# the curve is, pass more seeds.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed), well under a minute on a
# laptop once the source network is on disk (if the result above was loaded, not trained, the first exercise may
# train it first: a few minutes more in `quick`). The `output_dir` keeps your run apart from the notebook's saved
# result, which a
# later `RESULTS = "auto"` run still loads. Worked answers: `notebooks/solutions/01_off_the_shelf.md`.
#
# 1. **Fewer images.** Run
#    `kt.experiments.run("off-the-shelf", PROFILE, live=True, train_per_class=5, output_dir=kt.paths.results_dir("exercises", "01-five-per-class"))`
#    and display `report.layer_table(...)`. With 5 training images per class instead of 30, which layer is
#    best now, and how far does each layer's SVM accuracy fall? Which layers lose the most?
# 2. **Retrieval from the first layer.** Pass `retrieval_layer="block1_conv1"` (smoke/quick network; for `full`,
#    `"block1_conv1"` too) and draw `feature_plots.plot_retrieval(off_the_shelf.retrieval_examples(...))`. What do
#    the neighbours share with the query when the features are edges and blobs: its class, or its colours and
#    its background?
# 3. **Regularisation.** Pass `svm_c=0.01, softmax_c=0.01` (100 times stronger regularisation). Does the gap
#    between the SVM and the softmax at the top layer change, and does the best layer move?
# 4. **Rank the layers before training.** In the run of exercise 1, read `report.score_table(...)` before
#    `report.layer_table(...)`: which layer would LogME have you take with 5 images per class, and H-score? Then
#    display `report.score_verdict(...)`: did the ranking survive the smaller training set, and would its choice
#    have been the best layer?
