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
# # Notebook 07, zero-shot learning: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: the first seed, the profile's first splits) and the notebook's own
# settings in live mode beside it, and reads both through `keras_transfer.reports.zero_shot`. This page is
# regenerated, never edited: `python -m keras_transfer solutions --profile quick --only 07_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import zero_shot as report

reference = kt.experiments.run("zero-shot", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "07-reference"))
display(report.results_table(reference))
report.splits_table(reference)

# %% [markdown]
# ## 1. Weaker features: `train_per_class=100`

# %%
weak = kt.experiments.run("zero-shot", PROFILE, live=True, train_per_class=100, verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "07-weaker-features"))
report.weaker_features_answer(reference, weak)

# %% [markdown]
# A zero-shot method knows the attributes only through the seen classes' images: its attribute classifiers (DAP) or
# its map from features to attributes (ESZSL) are fitted on features the network learnt to tell the *seen* classes
# apart. Features tuned hard to that task need not show better the attributes the unseen classes are told apart by,
# so the seen accuracy is the first to answer for fewer images.
#
# ## 2. More unseen classes: `num_unseen=4`

# %%
four = kt.experiments.run("zero-shot", PROFILE, live=True, num_unseen=4, verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "07-four-unseen"))
display(report.splits_table(four))
report.more_unseen_answer(reference, four)

# %% [markdown]
# Chance falls from 1/3 to 1/4, so the accuracy alone is no measure across the two runs: the ratio to chance is.
# With four unseen and the validation classes held out, fewer seen classes remain to learn the attributes from: an
# attribute that only unseen classes have cannot be learnt at all, which is why the splits keep only unseen classes
# that the seen classes' attributes tell apart.
