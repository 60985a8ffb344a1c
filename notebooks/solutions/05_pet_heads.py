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
# # Notebook 05, from classification to object localization: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) and, where the exercise asks for a comparison, the
# notebook's own settings in live mode beside it, and reads them through `keras_transfer.reports.pet_heads`. This
# page is regenerated, never edited: `python -m keras_transfer solutions --profile quick --only 05_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import keras_transfer as kt
from keras_transfer.reports import pet_heads as report

reference = kt.experiments.run("pet-heads", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "05-reference"))
report.by_train_size(reference)

# %% [markdown]
# ## 1. Where does Model 2 land? `models=("frozen", "adapted", "all_layers", "scratch")`

# %%
adapted = kt.experiments.run("pet-heads", PROFILE, live=True, models=("frozen", "adapted", "all_layers", "scratch"),
                             verbose=0, output_dir=kt.paths.results_dir("exercises", "05-adapted"))
display(report.by_train_size(adapted))
report.adapted_answer(adapted)

# %% [markdown]
# A classifier's frozen features say *what* is in the image; a box needs *where*, which the upper layers have to
# relearn. The lecture's rule, "the further the task, the more must adapt", predicts frozen < adapted < all layers;
# where Model 2 lands between the two ends says how much of the localization the upper block alone can learn.
#
# ## 2. A higher start? `max_epochs=3`

# %%
short = kt.experiments.run("pet-heads", PROFILE, live=True, max_epochs=3, verbose=0,
                           output_dir=kt.paths.results_dir("exercises", "05-three-epochs"))
display(report.by_train_size(short))
report.short_training_answer(reference, short)

# %% [markdown]
# Transfer can help in three ways (the lecture's plot): a *higher start* (the pretrained network begins nearer a
# useful solution), a *higher slope* (it learns faster) and a *higher asymptote* (it ends better). Cutting training
# short measures the start and the slope; the gap left after the full schedule is the asymptote.
#
# ## 3. Which loss? `losses=("mse", "giou"), loss_comparison_models=("frozen", "all_layers")`

# %%
compared = kt.experiments.run("pet-heads", PROFILE, live=True, losses=("mse", "giou"),
                              loss_comparison_models=("frozen", "all_layers"), verbose=0,
                              output_dir=kt.paths.results_dir("exercises", "05-losses"))
display(report.loss_comparison(compared))
report.loss_answer(compared)

# %% [markdown]
# MSE treats the four coordinates as independent numbers; GIoU scores the overlap of the two boxes itself, which is
# what the mean IoU measures, and still gives a gradient when the boxes do not overlap. The share of boxes with
# IoU ≥ 0.5 says whether a loss finds more boxes; the mean IoU also rewards tightening boxes already found.
