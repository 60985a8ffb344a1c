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
# # Notebook 08, multitask learning: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) beside the notebook's own settings in live mode, and
# reads both through `keras_transfer.reports.multitask`. This page is regenerated, never edited:
# `python -m keras_transfer solutions --profile quick --only 08_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import multitask as report

reference = kt.experiments.run("multitask", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "08-reference"))
display(report.results_table(reference))
report.box_table(reference)

# %% [markdown]
# ## 1. A light box loss: `box_weight=1.0`

# %%
light = kt.experiments.run("multitask", PROFILE, live=True, box_weight=1.0, verbose=0,
                           output_dir=kt.paths.results_dir("exercises", "08-light-box-loss"))
display(report.sharing_table(light))
report.light_box_answer(reference, light)

# %% [markdown]
# Why the box task needs a large weight here: its loss is a Huber loss of relative coordinates in [0, 1], small from
# the start and smaller late in training (`light.histories[...]["box_loss"]`), while the class cross-entropy starts
# near the logarithm of the number of classes. With equal weights the class loss drives the shared base almost
# alone, and the base learns little of what finding the item would teach it.
#
# ## 2. Fewer labels still: `budgets=(5,)`

# %%
five = kt.experiments.run("multitask", PROFILE, live=True, budgets=(5,), verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "08-five-per-class"))
display(report.sharing_table(five))
report.fewer_labels_answer(reference, five)
