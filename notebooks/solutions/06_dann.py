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
# # Notebook 06, domain-adversarial training (DANN): worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) and the notebook's own settings in live mode beside it,
# and reads both through `keras_transfer.reports.dann`. This page is regenerated, never edited:
# `python -m keras_transfer solutions --profile quick --only 06_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import dann as dann_reports

reference = kt.experiments.run("dann", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "06-reference"))
dann_reports.seeds(reference)

# %% [markdown]
# ## 1. Switch the reversal off: `max_strength=0.0`

# %%
off = kt.experiments.run("dann", PROFILE, live=True, max_strength=0.0, models=("source_only", "dann"), verbose=0,
                         output_dir=kt.paths.results_dir("exercises", "06-reversal-off"))
dann_reports.reversal_off_answer(reference, off)

# %% [markdown]
# With `λ_p = 0` the gradient reversal layer passes no gradient back to the feature extractor: the domain classifier
# only watches, as it does beside source only. Both networks start from the seed's weights and see the seed's
# batches, so whatever separates them in the notebook's run is the reversed gradient's doing.
#
# ## 2. A larger learning rate: `learning_rate=0.03`

# %%
faster = kt.experiments.run("dann", PROFILE, live=True, learning_rate=0.03, verbose=0,
                            output_dir=kt.paths.results_dir("exercises", "06-learning-rate"))
dann_reports.learning_rate_answer(reference, faster)

# %% [markdown]
# A minimax game is less forgiving of its step size than a plain classifier: the feature extractor follows two
# opposing gradients, and a step that is too large lets one side overshoot. That is why the paper anneals both the
# learning rate (`μ_p`) and the reversal strength (`λ_p` starts at 0).
#
# **Why validation, not test.** The test images are the measurement reported; a setting picked because it looks best
# on them is fitted to them, and the reported number no longer says how the method does on images nobody looked at.
# **Why validation photos of their own.** Validation digits blended with the very crops the training images use
# would reward a network for remembering those crops; tiles (or photos) that neither the training nor the test
# images use ask the question the test asks.
#
# ## 3. Photos never seen: `photo_split="photos"`

# %%
unseen = kt.experiments.run("dann", PROFILE, live=True, photo_split="photos", verbose=0,
                            output_dir=kt.paths.results_dir("exercises", "06-photos"))
dann_reports.unseen_photos_answer(reference, unseen)

# %% [markdown]
# DANN aligns the source with the target images it trains on. When the test images come from photos no training
# image comes from, they are a third domain: how much of the alignment carries over depends on how alike the photos
# are. That is domain generalisation, not adaptation. In the paper the splits are crops of BSDS500's 200 photos;
# with a handful of photos, only tiles shared out to the splits keep the test images in the domain DANN adapted to.
