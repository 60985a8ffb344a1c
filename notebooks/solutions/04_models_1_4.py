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
# # Notebook 04, Models 1–4: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) and, where the exercise asks for a comparison, the
# notebook's own settings in live mode beside it, and reads them through `keras_transfer.reports.models_1_4`. This
# page is regenerated, never edited: `python -m keras_transfer solutions --profile quick --only 04_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import models_1_4 as report

# The smoke profile (the tests' run of this page) draws too few images for 40 labels per class: there, and only
# there, the exercises draw their budgets from the quick profile's pool size, without the "different data" source.
SMOKE_ONLY = {"train_pool": 400, "compare_domain": None} if PROFILE == "smoke" else {}

reference = kt.experiments.run("models-1-4", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "04-reference"))
report.results_table(reference)

# %% [markdown]
# ## 1. When does scratch catch up? `models=("scratch", "frozen"), labels_per_class=(5, 10, 40)`

# %%
curve = kt.experiments.run("models-1-4", PROFILE, live=True, models=("scratch", "frozen"),
                           labels_per_class=(5, 10, 40), verbose=0, **SMOKE_ONLY,
                           output_dir=kt.paths.results_dir("exercises", "04-curve"))
display(report.results_table(curve))
report.scratch_catch_up_answer(curve)

# %% [markdown]
# With few labels a network trained from random weights has almost nothing to learn its features from, while the
# pretrained base already turns each image into features that separate objects; every added label helps scratch
# more than it helps a head on fixed features. How far scratch gets, and at which budget, is what the run measures.
#
# ## 2. A fine-tuning rate that is too large: `fine_tune_learning_rates=(1e-2,), fine_tune_decay=None`

# %%
large = kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,),
                           fine_tune_learning_rates=(1e-2,), fine_tune_decay=None, verbose=0, **SMOKE_ONLY,
                           output_dir=kt.paths.results_dir("exercises", "04-large-rate"))
display(report.results_table(large))
report.large_rate_answer(reference, large)

# %% [markdown]
# The second stage unfreezes every pretrained layer. Adam moves each weight by about the learning rate per step,
# whatever the gradient's size, so a large rate rewrites the pretrained filters within a few batches; early stopping
# can only keep the best epoch *of the second stage*, not return to the frozen model it started from. keras-io's
# recipe trains the head first on the frozen base and then fine-tunes at a small rate for that reason: the
# pretrained weights are a good starting point only as long as training stays near them.
#
# ## 3. One rate for every layer: `fine_tune_decay=None, fine_tune_learning_rates=(1e-4, 3e-4)`

# %%
plain = kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,),
                           fine_tune_decay=None, fine_tune_learning_rates=(1e-4, 3e-4), verbose=0, **SMOKE_ONLY,
                           output_dir=kt.paths.results_dir("exercises", "04-one-rate"))
report.one_rate_answer(reference, plain)

# %% [markdown]
# With discriminative rates the head learns at the chosen rate, the block below it 2.6 times slower, the one below
# that 6.8 times slower: the lowest blocks, whose edges and textures transfer best, barely move, the top ones adapt
# (the slide "Freeze or fine-tune?": "set learning rates to be different for each layer to find a tradeoff between
# freezing and fine tuning"). Which of the two settings the profile keeps is decided on the validation images over
# its three seeds, never on the test images.
