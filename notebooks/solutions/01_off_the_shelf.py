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
# # Notebook 01, off-the-shelf features: worked answers to the exercises

# %% [markdown]
# Each answer runs the exercise's call (live mode: one seed) and the notebook's own settings in live mode beside it,
# and reads both through `keras_transfer.reports.off_the_shelf`. This page is regenerated, never edited:
# `python -m keras_transfer solutions --profile quick --only 01_`.

# %% tags=["parameters"]
PROFILE = "quick"

# %%
import matplotlib.pyplot as plt

import keras_transfer as kt
from keras_transfer.experiments import off_the_shelf
from keras_transfer.plotting import features as feature_plots
from keras_transfer.reports import off_the_shelf as report

reference = kt.experiments.run("off-the-shelf", PROFILE, live=True, verbose=0,
                               output_dir=kt.paths.results_dir("exercises", "01-reference"))
report.layer_table(reference)

# %% [markdown]
# ## 1. Fewer images: `train_per_class=5`

# %%
five = kt.experiments.run("off-the-shelf", PROFILE, live=True, train_per_class=5, verbose=0,
                          output_dir=kt.paths.results_dir("exercises", "01-five-per-class"))
display(report.layer_table(five))
report.less_data_answer(reference, five)

# %% [markdown]
# With fewer images the classifier has less to average over: each layer's accuracy depends more on which images
# were drawn, so the order of close layers can change from one draw to the next (run the profile's seeds,
# `live=False`, to see the spread). Which layer wins is a question of the features' quality *and* of how many
# images the classifier has to learn from: features that already group the classes need fewer examples.
#
# ## 2. Retrieval from the first layer: `retrieval_layer="block1_conv1"`

# %%
first = kt.experiments.run("off-the-shelf", PROFILE, live=True, retrieval_layer="block1_conv1", verbose=0,
                           output_dir=kt.paths.results_dir("exercises", "01-block1-retrieval"))
first_examples = off_the_shelf.retrieval_examples(first)
feature_plots.plot_retrieval(first_examples)
plt.show()
report.retrieval_answer(off_the_shelf.retrieval_examples(reference), first_examples)

# %% [markdown]
# The first layer's channels respond to edges and colours wherever they are; averaged over the image, they describe
# the photo as much as the item on it. Depth buys features that respond to the item's parts and ignore the rest.
#
# ## 3. Regularisation: `svm_c=0.01, softmax_c=0.01`

# %%
strong = kt.experiments.run("off-the-shelf", PROFILE, live=True, svm_c=0.01, softmax_c=0.01, verbose=0,
                            output_dir=kt.paths.results_dir("exercises", "01-regularisation"))
display(report.layer_table(strong))
report.regularisation_answer(reference, strong)

# %% [markdown]
# The two classifiers differ in their loss (hinge against cross-entropy), and with strong regularisation in how
# much each one shrinks: C multiplies the data term of each, so C = 0.01 keeps the weights small. Whether that
# helps or hurts a layer depends on how far apart its features already put the classes: small weights are enough
# where the margin is wide.
#
# ## 4. Rank the layers before training, with 5 images per class

# %%
display(report.score_table(five))
report.score_verdict(five)

# %% [markdown]
# The scores see only the training images, as the classifiers do: with 5 per class both the scores and the
# accuracies they should predict are noisier. A score is worth its seconds when it picks a layer close to the
# best one, not when it orders every weak layer right.
