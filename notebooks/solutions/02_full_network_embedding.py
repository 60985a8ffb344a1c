# ---
# jupyter:
#   jupytext:
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
# # Notebook 02, the Full-Network Embedding: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) and the notebook's own settings in live mode beside it,
# and reads both through `keras_transfer.reports.full_network_embedding`. This page is regenerated, never edited:
# `python -m keras_transfer solutions --profile quick --only 02_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import full_network_embedding as report

reference = kt.experiments.run("full-network-embedding", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "02-reference"))
report.method_table(reference)

# %% [markdown]
# ## 1. Other thresholds: `thresholds=(-1.0, 1.0)`

# %%
wide = kt.experiments.run("full-network-embedding", PROFILE, live=True, thresholds=(-1.0, 1.0), verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "02-thresholds"))
display(report.method_table(wide))
report.thresholds_answer(reference, wide)

# %% [markdown]
# A ReLU feature that is zero for many images has its zero standardised to a value below its mean, so "off" often
# becomes -1 with the paper's thresholds; with wide thresholds only a feature far from its mean keeps a code. The
# paper chose its thresholds on its own datasets: on ours, choosing them is a question for validation data.
#
# ## 2. Less data: `train_per_class=5`

# %%
five = kt.experiments.run("full-network-embedding", PROFILE, live=True, train_per_class=5, verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "02-five-per-class"))
display(report.method_table(five))
report.less_data_answer(reference, five)

# %% [markdown]
# ## 3. Which layers matter? The first two blocks only

# %%
early = kt.experiments.run("full-network-embedding", PROFILE, live=True, verbose=0,
                           layers=["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"],
                           output_dir=kt.paths.results_dir("exercises", "02-early-layers"))
display(report.method_table(early))
report.layers_answer(reference, early)

# %% [markdown]
# Raw pooled, layers with very different ranges make the SVM's problem badly conditioned; standardisation puts
# every feature on one scale. With few features, three levels per feature can throw away more than they denoise:
# the embedding's strength is the number of features it combines, not any one of its steps.
