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
# # Same task, different domain: Models 1–4 at several label budgets
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-06<br>
# **Description:** A pretrained network trained from scratch, used as a frozen feature extractor, fine-tuned, and
# fine-tuned by chain-thaw, with 5 to 40 labelled images per class; then the fine-tuning strategy table
# (similar or different data × small or large target set) filled from the run.

# %% [markdown]
# ## Introduction
#
# *Myth: you can't do deep learning unless you have a million labelled examples for your problem.* The lecture
# "Transfer Learning" (Peerapon Vateekul, NVIDIA IVA workshop) answers it with one experiment, on its slides
# "Example: Oxford 17 Flower Datasets" and "Model 1" to "Model 4: VGG (pre-trained weights) + 2 Dense layers +
# Output layer". Oxford-17 has 17 kinds of UK flowers and 80 photographs of each; the official
# splits keep 40 per class for training. The task is the one ImageNet networks were trained for (name the object
# in a photograph), the domain is new (flowers, not ImageNet's thousand classes): **same task, different domain**.
#
# One network, four ways to train it: a pretrained convolutional base with two new dense layers and a new softmax
# output (the *head*):
#
# | lecture | model name | base weights | what trains |
# |---|---|---|---|
# | **Model 1** | `scratch` | random | everything, from scratch |
# | **Model 2** | `frozen` | pretrained | the new head only: the base is a fixed feature extractor |
# | **Model 3** | `fine_tuned` | pretrained | the new head first, then every layer at a small learning rate |
# | **Model 4** | `chain_thaw` | pretrained | the new head, then each base layer alone from first to last, then all (chain-thaw, Felbo et al., 2017) |
#
# The lecture expects **scratch < frozen < fine-tuned ≤ chain-thaw**, and the gap between pretrained and random
# weights to be largest when labels are fewest. Model 3 trains the head before it unfreezes the base (keras-io's
# recipe): a random head sends large, noisy gradients into the pretrained layers, and fine-tuning everything at
# once can end *below* the frozen model (the warning of keras-io's "Transfer learning & fine-tuning" guide). Its
# learning rate for the second stage is chosen on the validation data, never on the test data.
#
# Every model stops early on the validation accuracy and keeps its best epoch. Every model of a seed and budget sees the
# same images and starts from the same head, so the models are compared in pairs.

# %% [markdown]
# ## Setup

# %%
import os

import keras
import matplotlib.pyplot as plt

import keras_transfer as kt
from keras_transfer.experiments import comparisons
from keras_transfer.experiments import models_1_4
from keras_transfer.reports import models_1_4 as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick and full: 0, 1, 2; live mode: the first)
WORKERS = int(os.environ.get("KT_WORKERS", "1"))  # networks trained at once, each a Ray task (the rows are the same)

# %%
config = kt.profiles.select(models_1_4.CONFIGS, PROFILE, models_1_4.LIVE[PROFILE] if LIVE else {})
QUICK = config["data"] == "pasted_objects"  # the CPU stand-in (quick, smoke) rather than Oxford-17 (full)
print("Keras", keras.__version__, "on the", keras.backend.backend(), "backend.")
report.about(PROFILE, LIVE)

# %% [markdown]
# ## The pretrained network and the target
#
# In the `full` profile the pretrained network is Keras's VGG19 with ImageNet weights and the target is Oxford-17.
# On a CPU with no internet the `quick` profile needs its own "ImageNet" and its own "flowers"; the cell below
# loads them (the source network is trained once and cached) and says which they are, from the configuration and
# the cached source network's own record.

# %%
source, target, info = None, None, None
if QUICK:
    source = kt.models.pretrained_source_network(config["source_profile"], domain=config["source_domain"])
    info = kt.models.source_network_info(config["source_profile"], domain=config["source_domain"])
    target = models_1_4.load_target_data(PROFILE, labels_per_class=min(config["labels_per_class"]))
report.setup(config, info, target.class_names if QUICK else None)

# %% [markdown]
# A few training images of the target at the smallest budget, with their labels:

# %%
if QUICK:
    images, labels = target.train
    figure, axes = plt.subplots(1, min(8, len(labels)), figsize=(12, 2))
    for axis, image, label in zip(axes, images, labels):
        axis.imshow(image.astype("uint8"))
        axis.set_title(target.class_names[label], fontsize=8)
        axis.axis("off")
    plt.show()

# %% [markdown]
# ## Building the models
#
# `models_1_4.build_model` puts the new head on the pretrained base (`kt.models.build_classifier`); Model 1 gets
# the same architecture with random weights. What each model trains at the start of its training:

# %%
num_classes = len(target.class_names) if QUICK else len(kt.datasets.oxford_flowers17.CLASS_NAMES)
models = {name: models_1_4.build_model(name, config, source, num_classes, seed=0) for name in config["models"]}
report.parameter_table({name: kt.models.parameter_counts(model) for name, model in models.items()})

# %% [markdown]
# Models 3 and 4 start from the same network as Model 2 and unfreeze it during training; chain-thaw does it inside
# one `fit()` call (`kt.callbacks.ChainThaw`). Model 2's base never changes, so its outputs are computed once and
# only the head trains on them (`kt.models.fit_head_on_frozen_base`), the cheapest model by far.

# %% [markdown]
# ## Training
#
# `kt.experiments.run("models-1-4", ...)` trains every model at every budget for every seed, tests it and saves the
# results, with one progress bar over the networks to train; with `RESULTS = "auto"` it loads the saved result of
# the same settings instead, when there is one (a teacher's pre-run: `python -m keras_transfer run models-1-4
# --profile quick` from a shell). With `compare_domain` (the quick profile's default) it also trains Models 2 and 3
# from the source trained on black, for the strategy table at the end; live mode skips it. Every model, budget and
# seed is a network of its own: with `WORKERS = 2` two train at once, each as a [Ray](https://docs.ray.io) task,
# with the rows a sequential run gives.

# %%
result = kt.experiments.run("models-1-4", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS, workers=WORKERS)
print(kt.experiments.base.provenance(result))

# %% [markdown]
# ## Results
#
# Test accuracy as mean ± standard deviation over seeds, one row per label budget and model (and per source network
# when the run has the "different data" one), with the epochs each trained and its CPU time:

# %%
config = result.metadata["config"]  # the settings of the run shown (trained now or loaded)
report.results_table(result)

# %% [markdown]
# Test accuracy against the number of labelled images per class, one line per model; the error bars are one
# standard deviation over seeds. A line above another at a budget is a model that does better with that many labels.

# %%
curves = comparisons.curves(result.rows, "labels_per_class", "network", source=config["source_domain"])
figure = kt.plotting.plot_iou_by_train_size(curves, labels=models_1_4.TITLES, ylabel="test accuracy",
                                            title=f"Target test accuracy by label budget ({PROFILE})")
figure.axes[0].set_xlabel("labelled training images per class (log scale)")
plt.show()

# %% [markdown]
# ## The lecture's claims, measured
#
# Two claims: with the fewest labels, the frozen pretrained base beats training from scratch by at least ten
# points; at Oxford-17's budget the order is scratch < frozen < fine-tuned ≤ chain-thaw. A step `a < b` counts only
# when the difference of the means is larger than the seed spread of the pair. The comparison is paired by seed: the
# two models of a seed are trained on the same images from the same initial head, so the spread is the standard
# deviation over seeds of the per-seed difference (an easy draw of images lifts both models and cancels out), as
# notebook 03 compares its networks with base B. `a ≤ b` holds unless `b` falls below `a` by more than that spread.
# `report.claims` (in `keras_transfer/reports/models_1_4.py`) reads the verdicts `run()` stored in
# `result.metadata["checks"]`:

# %%
report.claims(result)

# %% [markdown]
# Why fine-tuning adds (or not) to what the frozen base gives, read on the validation images every choice was made
# on (Model 3's learning rate among them):

# %%
report.fine_tuning_on_validation(result)

# %% [markdown]
# ## Training curves
#
# Validation loss and accuracy per epoch for the first seed at the largest budget. Dotted lines mark where a step
# of Model 3 (head, then all layers) or of chain-thaw begins; each chain-thaw step ends by restoring its best
# epoch's weights, which is why its curve jumps back at a step boundary.

# %%
largest = max(config["labels_per_class"])
figure = kt.plotting.plot_training_curves(
    result.histories, seed=result.metadata["seeds"][0], models=[f"{name}/n{largest}" for name in config["models"]]
)
plt.show()

# %% [markdown]
# ## When to freeze, when to fine-tune: the strategy table
#
# The lectures end on a rule of thumb with two questions: is the target data **similar** to the source's, and is
# the labelled target set **small** or **large**? Here "similar data" is the source network trained on items
# pasted on photos, like the target; "different data" is the same network, same classes, same training, but with
# every item on black (`domain="black"`): the same task on a different domain, the case where the source has never
# seen a photograph. Both are transferred to the same target, and scratch (which uses no source) is shared.
# Each cell names the model with the best mean test accuracy (among scratch and the models trained from that
# source), whether it beats the runner-up by more than the seed spread, and the lecture's rule for that cell.

# %%
report.strategy_table(result)

# %% [markdown]
# ## Choosing before training
#
# The table above was filled by training every model from both sources. Two tools answer part of it before
# training anything (`keras_transfer.selection`, `keras_transfer.callbacks.LearningRateFinder`).
#
# **Which source?** Transferability scores read one forward pass of each source network over a budget's training
# images: LogME (You et al., 2021) how well a Bayesian linear model explains the labels from the backbone's
# features, LEEP (Nguyen et al., 2020) and NCE (Tran et al., 2019) how well the source classifier's own predictions
# do. Each source's scores, beside what Models 2 and 3 reached from it:

# %%
report.source_score_table(result)

# %%
report.source_score_verdict(result)

# %% [markdown]
# **Which strategy?** `selection.recommend(labels_per_class, similar)` is the lectures' table as a function. Taking
# as "similar" the source a score ranks first at each budget (what a user knows before training), its advice for
# each cell of the table above, beside the winner measured there:

# %%
report.recommendation_table(result)

# %% [markdown]
# **Which learning rate?** ULMFiT starts from a learning-rate range test (Smith, 2017): one short fit at an
# exponentially rising rate, read off the loss curve. The experiment ran it where Model 3's fine-tuning starts and
# recorded its suggestions beside the rate Model 3 chose on validation (the medians over seeds):

# %%
report.finder_table(result)

# %% [markdown]
# ## Conclusion
#
# What this run says, computed from its results:

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# ## Exercises
#
# Each is one call in live mode (the first seed; a few minutes on a laptop CPU). A run with changed settings is
# saved in a folder of its own, so the notebook's own result still loads afterwards. Worked answers:
# `notebooks/solutions/04_models_1_4.md`.
#
# 1. **When does scratch catch up?** Train only Models 1 and 2 at more budgets:
#    `curve = kt.experiments.run("models-1-4", PROFILE, live=True, models=("scratch", "frozen"), labels_per_class=(5, 10, 40))`,
#    then `report.results_table(curve)` in a cell of its own (it displays as a table). How does the gap between
#    pretrained features and random weights change with the number of labels? What does that say about the lecture's
#    myth?
# 2. **A fine-tuning rate that is too large.** Fine-tune at a rate a hundred times the usual one:
#    `kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,), fine_tune_learning_rates=(1e-2,), fine_tune_decay=None)`
#    (one rate for every layer). Does the fine-tuned model stay above the frozen one? Why does keras-io's recipe fine-tune at a small rate?
# 3. **Different learning rates for different layers** ("Freeze or fine-tune?" in the lecture "Transfer learning and
#    domain adaptation", UPC Deep Learning for Computer Vision, 2016; discriminative rates, Howard & Ruder, 2018).
#    The profile fine-tunes with discriminative rates (`fine_tune_decay=2.6`: each block below the head learns 2.6
#    times slower than the one above). Fine-tune with one rate for every layer instead:
#    `kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,), fine_tune_decay=None, fine_tune_learning_rates=(1e-4, 3e-4))`.
#    Which rate does the validation data choose, and how far above the frozen base does fine-tuning end, compared
#    with the notebook's own run? Compare `validation_accuracy` and `test_accuracy` in `result.rows`.
#
