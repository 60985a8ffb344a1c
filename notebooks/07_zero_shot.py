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
# # Zero-shot learning: recognising classes no training image showed
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-12-01<br>
# **Last modified:** 2026-12-01<br>
# **Description:** Direct attribute prediction and ESZSL learn from the seen classes' images and a table of
# attributes, then recognise unseen classes by their attributes alone; the generalized setting shows their bias.
#
# The lectures' map of transfer learning has four cells. When the target data is labelled, we fine-tune (notebooks
# 01–05) or train several tasks at once (multitask learning, notebook 08); when the target is unlabelled but its
# task is the source's, we align domains (notebook 06). Zero-shot learning is the last cell: the target classes
# have **no training image at all**. What makes them reachable is *class information* that every class has:
#
# - **attributes**: each class is a row of a table ("furry", "4 legs", "tail"). At training time a network learns
#   to see the attributes in images of the seen classes; at test time an image goes to the class **with the most
#   similar attributes**, seen in training or not. The table must tell the classes apart ("sufficient attributes
#   for a one-to-one mapping").
# - **embeddings**: without an attribute database, an image embedding `f(x)` and a class embedding `g(y)` (of the
#   attributes, or of the class name's word vector) are trained so that `f(x^n)` and `g(y^n)` are **as close as
#   possible**; an image goes to the nearest class.
#
# Two classic methods, one for each idea (`keras_transfer.embeddings.zero_shot`, scikit-learn estimators):
#
# - **Direct attribute prediction** (DAP; Lampert, Nickisch & Harmeling, 2009/2014): one probabilistic classifier
#   per attribute, trained on the seen classes' images (each image inherits its class's attributes). An image's
#   score for class `c` is `Σ_m log p(a_m = s_cm | x) − log p(a_m = s_cm)`.
# - **ESZSL** (Romera-Paredes & Torr, 2015): a bilinear compatibility `score(x, c) = f(x)ᵀ V g(c)` between the
#   image features and the class's attributes; a squared loss with penalties on both sides has a closed-form
#   minimiser, `V = (XᵀX + γI)⁻¹ Xᵀ Y S (SᵀS + λI)⁻¹`.
#
# We measure them as Xian, Lampert, Schiele & Akata (TPAMI 2018) ask: mean per-class top-1 accuracy on the unseen
# classes when the answer is restricted to them (**zero-shot**), and, in the **generalized** setting, on test images
# of seen *and* unseen classes with every class a possible answer: the accuracy on each and their harmonic mean
# `H = 2 s u / (s + u)`.
#
# The `quick` profile runs offline on a CPU in a few minutes: Fashion-MNIST with an attribute table written by
# hand, five random splits of the ten classes into seven seen and three unseen. The `full` profile is the
# benchmark of Xian et al.: Animals with Attributes 2 (85 attributes, 50 classes, their proposed split of 40 seen
# and 10 unseen classes) with their ResNet-101 features, downloaded. `smoke` runs the same code in seconds: its
# numbers only show that everything runs. `RESULTS = "auto"` loads a saved run of the same settings (a
# teacher's pre-run, say) instead of training; `LIVE = True` trains one seed on two splits, the smallest run that
# still shows the lesson, for a live demo.
#
# This follows the slides "Transfer Learning - Overview" and "Zero-shot Learning" (representing each class by its
# attributes; "What if we don't have attribute database"; "Attribute embedding") of the lecture *ConvNets as Deep
# Neural Networks for Vision*; the lecture *Transfer learning and domain adaptation* (Giró-i-Nieto and McGuinness,
# Deep Learning for Computer Vision, UPC 2016) places zero-shot learning in the same map.

# %% [markdown]
# ## Setup

# %%
import os

import keras_transfer as kt
from keras_transfer.experiments import zero_shot as experiment
from keras_transfer.plotting import zero_shot as zero_shot_plots
from keras_transfer.reports import zero_shot as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds of the feature network (the first one only when LIVE)
OUTPUT_DIR = None  # None: results/zero-shot/<profile>[-live]

# %% [markdown]
# ## The class information: an attribute table
#
# Each row is a class's **signature**. Read it as the lecture's table: a class is what it has.

# %%
table = experiment.attribute_table(PROFILE)
figure = zero_shot_plots.plot_attribute_signatures(table.class_names, table.attribute_names, table.signatures)
report.attributes(table)

# %% [markdown]
# An attribute can only be learned from images that have it and images that lack it. When every class that has
# "worn on the feet" is unseen, no training image shows it, and no method can use it. So the quick splits are drawn
# at random among those whose unseen classes differ in attributes the seen classes teach
# (`keras_transfer.datasets.attributes.zero_shot_splits`); a proposed split of a benchmark is built with the same care.

# %% [markdown]
# ## Training on the seen classes, testing on the unseen ones
#
# For every split: image features `f(x)` from a network that saw the **seen classes only** (in `quick`, a small VGG
# trained anew for each split: the project's pretrained quick source network saw half of the classes, some of
# which a split makes unseen, so it would leak them). Then each method's regularisation is chosen on *validation
# classes*: two seen classes pretend to be unseen, each candidate is fitted on the other seen classes and scored
# on them. The chosen settings are refitted on all seen classes and tested.

# %%
result = kt.experiments.run("zero-shot", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS, output_dir=OUTPUT_DIR,
                            verbose=1)
report.settings(result)

# %% [markdown]
# One row per method, mean ± standard deviation over the splits (and seeds): the zero-shot accuracy on the unseen
# classes with chance beside it, then the generalized setting.

# %%
report.results_table(result)

# %% [markdown]
# Each split on its own, with the settings each method chose on the validation classes:

# %%
report.splits_table(result)

# %%
report.above_chance(result)

# %% [markdown]
# ## Which unseen classes are confused?
#
# The zero-shot setting of the first split: rows are the true unseen classes, columns the unseen class each method
# answered. Read it beside the signatures below (the split's unseen classes in bold): classes whose signatures
# differ in few attributes, or only in attributes that few seen classes teach, are the ones to expect confused.

# %%
figure = zero_shot_plots.plot_unseen_confusion(result, split=0)
unseen = result.metadata["splits"][0]["unseen"]
figure = zero_shot_plots.plot_attribute_signatures(table.class_names, table.attribute_names, table.signatures,
                                                   highlight=unseen)

# %% [markdown]
# ## The generalized setting: a bias toward the seen classes
#
# Restricting the answer to the unseen classes is a strong hint a real system does not get. When the seen classes
# are possible answers too, a method whose scores were fitted on the seen classes tends to prefer them. The bars
# below set the two settings side by side; the harmonic mean is high only when both the seen and the unseen classes
# are recognised, and `unseen_called_seen` counts the unseen-class images given a seen class.

# %%
figure = zero_shot_plots.plot_zero_shot_scores(result)
report.generalized(result)

# %% [markdown]
# ## Beside the paper
#
# Xian et al. report the same two methods on AwA2 with their proposed split and ResNet-101 features (Tables 3 and
# 4; mean per-class top-1 in %): DAP 46.1 zero-shot and, generalized, 0.0 unseen / 84.7 seen / H 0.0; ESZSL 58.6
# zero-shot, 5.9 / 77.8 / H 11.0. The same pattern: well above chance when only unseen classes are answered, a
# collapse in the generalized setting.

# %%
report.paper(result)

# %% [markdown]
# ## Conclusion
#
# This run's two lessons, measured:

# %%
report.lessons(result)

# %% [markdown]
# With a table that tells the classes apart and attributes that the seen classes teach, a classifier can name
# classes it never saw an image of: direct attribute prediction through one classifier per attribute, ESZSL
# through one bilinear map between images and attributes, fitted in closed form. Two cautions carry over to every
# zero-shot method. The unseen classes must be really unseen: not by the classifier, and not by the network the
# features come from. And the zero-shot accuracy flatters: a model that must also recognise the seen classes
# prefers them, which the generalized setting's harmonic mean shows; calibrating the seen classes' scores down
# (Chao et al., ECCV 2016) or generating features for the unseen classes (Xian et al., CVPR 2018) are the usual
# remedies.
#
# References: C. H. Lampert, H. Nickisch and S. Harmeling, *Attribute-Based Classification for Zero-Shot Visual
# Object Categorization*, TPAMI 2014; B. Romera-Paredes and P. Torr, *An Embarrassingly Simple Approach to
# Zero-Shot Learning*, ICML 2015; Y. Xian, C. H. Lampert, B. Schiele and Z. Akata, *Zero-Shot Learning — A
# Comprehensive Evaluation of the Good, the Bad and the Ugly*, TPAMI 2018.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, the smallest settings that
# still show the lesson), minutes on a laptop CPU in `quick`; it saves its result apart, so the run above stays as it is.
# Worked answers are in `notebooks/solutions/07_zero_shot.md` (for the teacher to hand out after).
#
# 1. **Weaker features.** Train the feature network on fewer images of the seen classes:
#    `kt.experiments.run("zero-shot", PROFILE, results=RESULTS, live=True, train_per_class=100)`.
#    How much do the zero-shot accuracies fall, and which method suffers more? What does that say about where a
#    zero-shot method's knowledge of the attributes comes from?
# 2. **More unseen classes.** Hide four classes instead of three: `num_unseen=4` (chance falls from 1/3 to 1/4).
#    Is each method still well above chance (compare the ratio to chance, not the accuracy), and does the generalized
#    setting's harmonic mean move? Why does a larger unseen set also leave fewer seen classes to learn attributes from?
