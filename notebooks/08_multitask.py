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
# # Multitask learning: one base, two heads
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-12-01<br>
# **Last modified:** 2026-12-06<br>
# **Description:** A class head and a box head share one convolutional base; does the task with many labels help
# the task with few?
#
# In the lectures' map of transfer learning, multitask learning sits beside fine-tuning: the target data is
# labelled, and so is the source, but the two are *different tasks on the same images*. Instead of training on one
# task and then moving to the other, we train both at once: "the multi-layer structure makes a neural network
# suitable for multitask learning". The lower layers are shared and learn from both tasks' labels; each task has its
# own head; the loss is a weighted sum, `class loss + w · box loss`.
#
# The question of this notebook: with few class labels and many boxes, does the shared network classify better
# than a network trained on the class labels alone? Three networks with the same base and heads
# (`keras_transfer.models.multitask`), trained from scratch for the same number of steps:
#
# - **class only**: the class head, trained on the images whose class is labelled (a budget of a few per class);
# - **box only**: the box head, trained on every training image's box;
# - **multitask**: both heads on one base; the box loss on every image, the class loss on the labelled images only
#   (a sample weight of 0 on the others). A quarter of every epoch is drawn from the labelled images, so that the
#   few labels reach the class head in every batch (`labelled_share`, chosen on validation images).
#
# The `quick` profile runs offline on a CPU in a few minutes: clothing items pasted at random places on crops of
# colour photos, so every box is exact and free (`keras_transfer.datasets.load_pasted_objects`). The items are small
# and the backgrounds busy, so that naming the item may start with finding it, which is what the box task teaches;
# whether the class task uses it is what the run measures. The `full` profile is Oxford-IIIT Pet, breed and head box (downloaded). `smoke` runs the same code in
# seconds: its numbers only show that everything runs. The settings cell below the training says what this run
# used. `RESULTS = "auto"` loads a saved run of the same settings (a teacher's pre-run, say) instead of training;
# `LIVE = True` trains one seed at the smallest and the largest budget, the smallest run that still shows the lesson,
# for a live demo.
#
# This is the "Multitask Learning" slide ("The multi-layer structure makes NN suitable for multitask learning") of
# the lecture *Transfer learning and domain adaptation* (Giró-i-Nieto and McGuinness, Deep Learning for Computer
# Vision, UPC 2016), in its "Transfer Learning - Overview" map; the lecture *ConvNets as Deep Neural Networks for
# Vision* has the same slide.

# %% [markdown]
# ## Setup

# %%
import os

import keras_transfer as kt
from keras_transfer.experiments import multitask as experiment
from keras_transfer.models import multitask as multitask_models
from keras_transfer.plotting import multitask as multitask_plots
from keras_transfer.reports import multitask as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (three in quick and full; the first one only when LIVE)
OUTPUT_DIR = None  # None: results/multitask/<profile>[-live]
BOX_WEIGHT = None  # None: the profile's weight of the box loss in the multitask network's total loss

# %%
overrides = {} if BOX_WEIGHT is None else {"box_weight": BOX_WEIGHT}
config = experiment.CONFIGS[PROFILE]

# %% [markdown]
# ## The data: every image has a class and a box

# %%
data, class_names = experiment.load_data(PROFILE)
images, labels, boxes = data["train"]
figure = multitask_plots.plot_examples(images, labels, boxes, class_names)
report.data_summary(data, class_names)

# %% [markdown]
# ## The network: one base, two heads
#
# The base is a few blocks of two 3×3 convolutions and a max-pooling. Each head is a dense layer and its output: a
# softmax over the classes, and four sigmoid units for the box `[xmin, ymin, xmax, ymax]` relative to the image,
# trained with a Huber loss. The box head reads the last feature map flattened (it needs to know *where* things
# are); the class head reads it through a global pooling (`class_pooling`: what matters is *what* is there, wherever
# it is). The single-task networks are the same network with one head.

# %%
model = multitask_models.build_multitask_network(images.shape[1:], len(class_names),
                                                 filters=tuple(config["filters"]), head_units=config["head_units"],
                                                 class_pooling=config["class_pooling"])
model.summary()

# %% [markdown]
# ## Class only, box only, multitask
#
# For every seed and class budget: which images are labelled is drawn per seed; the three networks get the same
# number of gradient steps (the class-only network repeats its few labelled images to fill each epoch).

# %%
result = kt.experiments.run("multitask", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS, output_dir=OUTPUT_DIR,
                            verbose=1, **overrides)
report.settings(result)

# %%
report.results_table(result)

# %% [markdown]
# ## Did sharing help the task with few labels?
#
# Per budget: the multitask network's test accuracy minus the class-only network's, paired by seed (both networks
# of a seed see the same labelled images). The spread is the standard deviation of that gain over the seeds. The
# verdict is "helped" when the mean gain is above its spread, "hurt" when it is below minus its spread, and "no
# clear difference" otherwise: a gain within its spread can flip with another seed set or on another machine.

# %%
figure = multitask_plots.plot_multitask_curves(result)
report.sharing_table(result)

# %% [markdown]
# The box panel answers the reverse question for free: does sharing the base with a class head (few labels) change
# the box head, which has all its labels? Read the multitask curve against the box-only band.

# %%
report.box_table(result)

# %% [markdown]
# ## Conclusion
#
# What this run shows, each sentence computed from its result: the lesson's verdict first, then the details.

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# How it is built: a multitask network is one functional Keras model with a dict of outputs, a loss per output and
# `loss_weights` for the weighting; a task whose label is missing for an image gets a sample weight of 0 there. The
# weight of each loss is a setting to choose on validation data (`BOX_WEIGHT` above), never on the test images.
#
# Reference: R. Caruana, *Multitask Learning*, Machine Learning 28, 1997.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, the smallest settings that
# still show the lesson), minutes on a laptop CPU in `quick`; it saves its result apart, so the run above stays as it is.
# Worked answers are in `notebooks/solutions/08_multitask.md` (for the teacher to hand out after).
#
# 1. **A light box loss.** Weigh the box loss as much as the class loss: set `BOX_WEIGHT = 1.0` in the parameters
#    cell, or `kt.experiments.run("multitask", PROFILE, results=RESULTS, live=True, box_weight=1.0)`. What happens to
#    the multitask network's box mean IoU and to its gain over class only? Why does the box task need a large weight
#    here (look at the size of the box loss in `result.histories`)?
# 2. **Fewer labels still.** Give the class head 5 labels per class: `kt.experiments.run("multitask", PROFILE,
#    results=RESULTS, live=True, budgets=(5,))`. How far above chance is class only now? Is the gain of the
#    multitask network larger or smaller than at the profile's smallest budget, and what can a gain over a network
#    that is near chance tell you?
