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
# # Domain-adversarial training: adapting to a domain without its labels
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-06<br>
# **Description:** Unsupervised domain adaptation by backpropagation (DANN) on the paper's own task, MNIST → MNIST-M:
# a gradient reversal layer makes the features of a labelled source domain and an unlabelled target domain
# indistinguishable.
#
# A classifier trained on one domain often fails on another that shows the same classes in a different way:
# handwritten digits in white on black (MNIST) against the same digits blended into colour photos (MNIST-M).
# Fine-tuning fixes that when the target domain has labels (supervised domain adaptation). Here it has none: we have
# labelled source images `(x_s, y_s)` and unlabelled target images `x_t`, and the test is on the target domain.
#
# Ganin & Lempitsky (ICML 2015) add to the network a **domain classifier** that tries to tell from the features
# whether an image comes from the source or the target domain. Between the feature extractor and the domain
# classifier sits a **gradient reversal layer**: the identity going forward, the gradient multiplied by `-λ`
# going backward. So, in one backward pass:
#
# - the label classifier learns the labels of the source images;
# - the domain classifier learns to identify the domains;
# - the feature extractor learns the labels *and*, through the reversed gradient, to fool the domain classifier.
#
# It is a game like a GAN's: the features that win are good for the labels and the same in both domains. The
# domain classifier should struggle more and more, its accuracy falling toward chance (0.5). This is the
# "Unsupervised domain adaptation" slide of the lecture *Transfer learning and domain adaptation* (Giró-i-Nieto and
# McGuinness, Deep Learning for Computer Vision, UPC 2016) and "UDA strategy: 1/ domain-adversarial training" in the
# lecture *ConvNets as Deep Neural Networks for Vision*.
#
# The paper's schedules: with `p` the training progress from 0 to 1, the reversal strength
# `λ_p = 2 / (1 + exp(-10 p)) - 1` rises from 0 to 1 (the domain classifier learns first) and the learning rate
# `μ_p = μ0 / (1 + 10 p) ** 0.75` decays (`μ0 = 0.01`); SGD with momentum 0.9, batches of 64 source and 64 target
# images. The `quick` profile's 2,000 steps per network are far fewer than the paper's, so its learning rate decays
# more slowly (`α = 2`; chosen on the validation images, as `help(experiment)` records).
#
# The paper's Table 1 reports three numbers per task, each an accuracy on the target test set: a network trained on
# the source only (the lower bound), DANN, and a network trained on the labelled target (the upper bound). On
# MNIST → MNIST-M: 57.5%, 81.5% and 98.9%, so DANN closes `(DANN - source only) / (train on target - source only)`
# = 58% of the gap.
#
# MNIST-M is made by the paper's recipe: each digit blended with a random 28×28 crop of a colour photo,
# `|crop - digit|` per channel; the training digits get crops of one set of photos, the test digits crops of other
# photos. The `full` profile is the paper's setup (all of MNIST and the BSDS500 photos, downloaded; for a GPU). The
# `quick` profile runs the same recipe offline on a CPU, on data that install with Python packages; `smoke` runs the
# same code in seconds on a few hundred images, and its numbers only show that everything runs. The cell after the
# parameters says what the profile you run uses. `RESULTS = "auto"` loads a saved run of the same settings (a
# teacher's pre-run, say) instead of training; `LIVE = True` trains one seed with the smallest settings that still
# show the lesson, for a live demo.

# %% [markdown]
# ## Setup

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import keras_transfer as kt
from keras_transfer.datasets import mnist_m
from keras_transfer.embeddings import projection as kt_projection
from keras_transfer.experiments import dann as experiment
from keras_transfer.models import dann
from keras_transfer.plotting import domains as domain_plots
from keras_transfer.reports import dann as dann_reports

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)      # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (three in quick and full; the first one only when LIVE)
OUTPUT_DIR = None  # None: results/dann/<profile>

# %%
config = {**experiment.CONFIGS[PROFILE], **(experiment.LIVE[PROFILE] if LIVE else {})}
dann_reports.settings(config, PROFILE, live=LIVE, seeds=SEEDS)

# %% [markdown]
# ## The two domains
#
# Source images carry labels, target images do not (their labels only measure the accuracy). The same digits, a
# different look: a target image is `|photo crop - digit|` per colour channel. From the top: source digits; target
# training images; target validation images (for choosing settings); target test images. Each of the three target
# splits takes its crops from photos, or parts of photos, that the other two never use (listed above).

# %%
data = mnist_m.load_domains(
    config["source"], train_size=config["train_size"], validation_size=config["validation_size"],
    test_size=config["test_size"], data_seed=config["data_seed"], photo_split=config["photo_split"], verbose=0,
)
figure = domain_plots.plot_domain_samples(data)
dann_reports.data_sizes(data)

# %% [markdown]
# ## The network
#
# The paper's MNIST architecture, built by `keras_transfer.models.dann.build_mnist_dann`: a feature extractor
# (conv 5×5 with 32 filters, max-pool, conv 5×5 with 48 filters, max-pool), a label classifier (dense 100,
# 100, 10) and, behind a `GradientReversal` layer, a domain classifier (dense 100, 2). It is one functional
# Keras model with two outputs, trained with plain `compile()` and `fit()` on every backend
# (`dann.train_dann`): each batch is half source, half target (`dann.pair_domains`); the label loss has sample
# weight 0 on the target half, the domain loss counts every image.

# %%
model = dann.build_mnist_dann(input_shape=data["source_train"][0].shape[1:], num_classes=10)
model.summary()

# %% [markdown]
# The two schedules of the paper, as `keras_transfer.callbacks.GradientReversalSchedule` and
# `keras_transfer.schedules.InverseProgressDecay` compute them:

# %%
progress = np.linspace(0, 1, 101)
strength_schedule = kt.callbacks.GradientReversalSchedule(gamma=config["gamma"], max_strength=config["max_strength"])
learning_rate_schedule = kt.schedules.InverseProgressDecay(
    config["learning_rate"], total_steps=100, alpha=config["alpha"], beta=config["beta"]
)
figure, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(progress, [strength_schedule.strength_at(p) for p in progress])
axes[0].set(title="reversal strength λ_p", xlabel="training progress p")
axes[1].plot(progress, [float(learning_rate_schedule(100 * p)) for p in progress])
axes[1].set(title="learning rate μ_p", xlabel="training progress p")
figure.tight_layout()

# %% [markdown]
# ## Source only, DANN, train on target
#
# For every seed, three networks of the same architecture, trained on the same batches for the same number of
# steps with the same optimizer:
#
# - **source only**: the reversal strength stays 0. The domain classifier still trains, but as an observer: its
#   accuracy says how separable the two domains are in features that were not adapted.
# - **DANN**: the strength follows `λ_p`.
# - **train on target**: the label loss is on the target half (with its labels), strength 0: the upper bound.

# %%
result = kt.experiments.run("dann", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS, output_dir=OUTPUT_DIR, verbose=1)
print(kt.experiments.base.provenance(result))

# %% [markdown]
# ## The gap DANN closes, seed by seed
#
# Target test accuracy of the three networks of each seed, and the share of the gap between source only and train
# on target that DANN closes. Adversarial training is unstable, so the numbers move from seed to seed: read the
# mean, and whether every seed gains.

# %%
dann_reports.seeds(result)

# %% [markdown]
# ## Our numbers beside the paper's Table 1
#
# The paper's numbers are its four tasks; ours are the mean ± standard deviation over seeds of the run above.

# %%
dann_reports.paper_comparison(result)

# %% [markdown]
# ## Training curves
#
# Against the training step: the target accuracy on the validation images (training digits held out of both
# training sets), the domain classifier's accuracy on the validation images of both domains (chance is 0.5), the
# reversal strength λ_p (per batch for DANN; 0 for the other two) and the learning rate μ_p.

# %%
figure = domain_plots.plot_domain_history(result.histories, suptitle=f"{result.metadata['task']} ({PROFILE})")

# %%
dann_reports.domain_classifier(result)

# %% [markdown]
# ## The features, without and with adaptation
#
# The paper's figure: a 2-D projection of the features the feature extractor computes for source (blue) and target
# (red) test images, for the first seed's source-only and DANN networks (`keras_transfer.embeddings.project_features`,
# computed by the experiment and kept in the result). Without adaptation the domains tend to form separate clouds;
# with adaptation they should mix, which is what it means for the domain classifier to fail.

# %%
projection = result.metadata["projection"]
figure = domain_plots.plot_feature_projection(
    projection["panels"],
    suptitle=f"{kt_projection.METHODS[projection['method']]} of {projection['points']} source and "
    f"{projection['points']} target test images' features",
)

# %% [markdown]
# ## Conclusion
#
# Domain-adversarial training needs nothing from the target domain but its images: one extra head, one layer that
# reverses the gradient, and a schedule for its strength. In Keras it is an ordinary two-output model, with the
# target half of every batch masked out of the label loss by a sample weight, so it trains with `fit()` on every
# backend and saves as a plain `.keras` file. What this run showed, the lesson's verdict first:

# %%
dann_reports.lessons(result)

# %%
dann_reports.conclusion(result)

# %% [markdown]
# Reference: Y. Ganin and V. Lempitsky, *Unsupervised Domain Adaptation by Backpropagation*, ICML 2015
# ([arXiv:1409.7495](https://arxiv.org/abs/1409.7495)).

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, the smallest settings that
# still show the lesson), minutes on a laptop CPU in `quick`; it saves its result apart, so the run above stays as it is.
# Worked answers: `notebooks/solutions/06_dann.md`.
#
# 1. **Switch the reversal off.** Train with `max_strength=0.0`, so that `λ_p` stays 0 and DANN's feature extractor
#    never receives the reversed gradient:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=True, max_strength=0.0, models=("source_only", "dann"))`.
#    Compare DANN's target test accuracy and domain classifier accuracy with source only's. What does that tell you
#    about where DANN's gain comes from?
# 2. **A larger learning rate.** Train with `learning_rate=0.03`, three times the paper's `μ0`:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=True, learning_rate=0.03)`. How much of the gap does
#    DANN close now, on the validation images (`result.metadata["gap_closed_validation"]`) and on the test images?
#    Why must a setting like `μ0` be chosen on the validation images and not on the test images, and why do the
#    validation digits get photos (or tiles of photos) that the training digits do not use?
# 3. **Photos never seen** (`quick`). Give each split photos of its own instead of tiles of the same photos:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=True, photo_split="photos")` (five photos for the
#    training digits, two for validation, four for testing: `mnist_m.PACKAGED_PHOTOS`). How much of the gap does
#    DANN close on the test images now? DANN aligns the source with the target images it trains on: is that the
#    same as working on any photo?

