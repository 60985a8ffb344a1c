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
# **Last modified:** 2026-12-01<br>
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.datasets import mnist_m  # noqa: E402
from keras_transfer.embeddings import projection as kt_projection  # noqa: E402
from keras_transfer.experiments import dann as experiment  # noqa: E402
from keras_transfer.models import dann  # noqa: E402
from keras_transfer.plotting import domains as domain_plots  # noqa: E402

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)      # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (three in quick and full; the first one only when LIVE)
OUTPUT_DIR = None  # None: results/dann/<profile>

# %%
config = {**experiment.CONFIGS[PROFILE], **(experiment.LIVE[PROFILE] if LIVE else {})}
seeds = list(SEEDS or (config["seeds"][:1] if LIVE else config["seeds"]))
print(f"The results below come from the {PROFILE!r} profile{' in live mode' if LIVE else ''} "
      f"(settings: experiment.CONFIGS[{PROFILE!r}]{f' with experiment.LIVE[{PROFILE!r}]' if LIVE else ''}).")
print(f"Data: {mnist_m.describe(config['source'], config['photo_split'])}.")
print(
    f"{config['validation_size']:,} training digits held out for validation; {config['steps']:,} steps of "
    f"{config['batch_size'] // 2} source + {config['batch_size'] // 2} target images per network, "
    f"μ0 = {config['learning_rate']}, α = {config['alpha']}"
    f"{' (the paper: 10, see below)' if config['alpha'] != 10 else ''}; seeds {seeds}; Keras backend "
    f"{keras.backend.backend()}."
)

# %% [markdown]
# ## The two domains
#
# Source images carry labels, target images do not (their labels only measure the accuracy). The same digits, a
# different look: a target image is `|photo crop - digit|` per colour channel. From the top: source digits; target
# training images; target validation images (for choosing settings); target test images. Each of the three target
# splits takes its crops from photos, or parts of photos, that the other two never use (printed above).

# %%
data = mnist_m.load_domains(
    config["source"], train_size=config["train_size"], validation_size=config["validation_size"],
    test_size=config["test_size"], data_seed=config["data_seed"], variety=config["photo_variety"],
    photo_split=config["photo_split"], verbose=0,
)
figure, axes = plt.subplots(4, 10, figsize=(12, 5.3))
for row, key in enumerate(("source_train", "target_train", "target_validation", "target_test")):
    images, labels = data[key]
    for column in range(10):
        axes[row, column].imshow(images[column])
        axes[row, column].set_title(f"{key.replace('_', ' ')} · {labels[column]}", fontsize=7)
        axes[row, column].axis("off")
figure.tight_layout()
print({name: images.shape for name, (images, _) in data.items()})

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
print(f"{len(result.rows)} networks, {result.metadata['wall_time_s']:.0f} s "
      f"({result.metadata['cpu_time_s']:.0f} s of CPU time).")

# %% [markdown]
# ## The gap DANN closes, seed by seed
#
# Target test accuracy of the three networks of each seed, and the share of the gap between source only and train
# on target that DANN closes. Adversarial training is unstable, so the numbers move from seed to seed: read the
# mean, and whether every seed gains.

# %%
print(experiment.seed_markdown(result))
gap, outcome = result.metadata["gap_closed"], result.metadata["outcome"]
paper = result.metadata["paper_table_1"][0]
paper_gap = (paper["dann"] - paper["source_only"]) / (paper["train_on_target"] - paper["source_only"])
if gap["mean"] is None:
    print("\nTrain on target did not beat source only on any seed: there is no gap to close in this run.")
else:
    positive = sum(value is not None and value > 0 for value in gap["per_seed"].values())
    print(
        f"\nDANN closes {gap['mean']:.0%} ± {gap['std']:.0%} of the gap (mean ± std over {len(gap['per_seed'])} "
        f"seeds; the paper: {paper_gap:.0%} on {paper['task']}); it gains over source only on {positive} of "
        f"{len(gap['per_seed'])} seeds. The lesson's mark, at least {outcome['goal']:.0%} on average with every seed "
        f"positive, is {'met' if outcome['holds'] else 'not met'}."
    )
validation_gap = result.metadata["gap_closed_validation"]
if gap["mean"] is not None and validation_gap and validation_gap["mean"] is not None:
    apart = mnist_m.validation_photos_apart(config["source"], config["photo_split"])
    photos = ("tiles of the photos that neither the training nor the test images use"
              if config["photo_split"] == "tiles" else
              "photos that neither the training nor the test images use" if apart else "the training photos")
    print(
        f"On the validation images (held-out training digits, blended with {photos}) DANN closes "
        f"{validation_gap['mean']:.0%} of the gap, against {gap['mean']:.0%} on the test images: the spread "
        f"between the two is part of what one run of adversarial training can tell."
    )
    if config["photo_split"] == "tiles":
        print(
            f"Every target split here samples the same {sum(map(len, mnist_m.PACKAGED_PHOTOS.values()))} photos, "
            "cut into tiles that no two splits share: the unlabelled images DANN adapts to come from the test "
            "images' domain, as in the paper, where both are crops of BSDS500 photos. Exercise 3 gives the test "
            "images photos of their own instead."
        )

# %% [markdown]
# ## Our numbers beside the paper's Table 1
#
# The paper's numbers are its four tasks; ours are the mean ± standard deviation over seeds of the run above.

# %%
print(experiment.comparison_markdown(result))
summary = {entry["model"]: entry for entry in result.summary(by="model")}
print(
    f"\nSource only: {summary['source_only']['target_accuracy']:.1%} on the target test set against "
    f"{summary['source_only']['source_accuracy']:.1%} on the source test set (the paper: {paper['source_only']:.1%} "
    f"on the target); train on target: {summary['train_on_target']['target_accuracy']:.1%} (the paper: "
    f"{paper['train_on_target']:.1%})."
)
if config["source"] == "mnist_5k":
    photo_count = sum(map(len, mnist_m.PACKAGED_PHOTOS.values())) if config["photo_split"] == "tiles" else len(
        mnist_m.PACKAGED_PHOTOS["train"])
    print(
        f"This run trains on {result.metadata['sizes']['source_train']:,} digits per domain instead of MNIST's "
        f"60,000, with crops of {photo_count} photos instead of BSDS500's 200, for "
        f"{config['steps']:,} steps per network, far fewer than the paper's: its upper bound is lower than the "
        "paper's, and DANN has less time to win its game. The `full` profile is the paper's setup."
    )

# %% [markdown]
# ## Training curves
#
# Against the training step: the target accuracy on the validation images (training digits held out of both
# training sets), the domain classifier's accuracy on the validation images of both domains (chance is 0.5), the
# reversal strength λ_p (per batch for DANN; 0 for the other two) and the learning rate μ_p.

# %%
figure = domain_plots.plot_domain_history(result.histories, suptitle=f"{result.metadata['task']} ({PROFILE})")

# %%
print(
    f"Final domain classifier accuracy on the test images of both domains (chance 0.5): source only "
    f"{summary['source_only']['domain_accuracy']:.3f}, DANN {summary['dann']['domain_accuracy']:.3f}, "
    f"train on target {summary['train_on_target']['domain_accuracy']:.3f}."
)
print(
    f"Source test accuracy: source only {summary['source_only']['source_accuracy']:.3f}, "
    f"DANN {summary['dann']['source_accuracy']:.3f}: what adapting costs on the source domain."
)

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
# backend and saves as a plain `.keras` file. What this run showed:

# %%
so, adapted, on_target = (summary[model]["target_accuracy"] for model in ("source_only", "dann", "train_on_target"))
print(
    f"- On {result.metadata['task']}, DANN's target accuracy is {adapted:.1%} against {so:.1%} for source only "
    f"and {on_target:.1%} for train on target (mean over seeds)."
)
if gap["mean"] is not None:
    print(f"- That closes {gap['mean']:.0%} of the gap on average ({paper_gap:.0%} in the paper), "
          f"{'with every seed gaining' if gap['every_seed_positive'] else 'but not on every seed'}.")
fooled = summary["dann"]["domain_accuracy"] < summary["source_only"]["domain_accuracy"]
print(
    f"- Its domain classifier ends at {summary['dann']['domain_accuracy']:.2f} accuracy, against "
    f"{summary['source_only']['domain_accuracy']:.2f} for the observer of the source-only network: "
    + ("the adapted features are harder to tell apart." if fooled else "adapting did not make the domains harder to "
       "tell apart.")
)
if config["source"] == "mnist_5k":
    verdict = "already show" if outcome["holds"] else "are not enough to show"
    print(f"- {result.metadata['sizes']['source_train']:,} digits per domain and {config['steps']:,} steps {verdict} "
          "the paper's effect at the lesson's mark "
          "(DANN closes at least that share of the gap, every seed gaining); the paper's numbers come from all of "
          "MNIST, BSDS500 and far longer training: run the `full` profile on a GPU to set yours beside them.")

# %% [markdown]
# Reference: Y. Ganin and V. Lempitsky, *Unsupervised Domain Adaptation by Backpropagation*, ICML 2015
# ([arXiv:1409.7495](https://arxiv.org/abs/1409.7495)).

# %% [markdown]
# ## Exercises
#
# Each is one call, minutes in live mode (`LIVE = True`); it saves its result apart, so the run above stays as it is.
#
# 1. **Switch the reversal off.** Train with `max_strength=0.0`, so that `λ_p` stays 0 and DANN's feature extractor
#    never receives the reversed gradient:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=LIVE, max_strength=0.0, models=("source_only", "dann"))`.
#    Compare DANN's target test accuracy and domain classifier accuracy with source only's. What does that tell you
#    about where DANN's gain comes from?
# 2. **A larger learning rate.** Train with `learning_rate=0.03`, three times the paper's `μ0`:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=LIVE, learning_rate=0.03)`. How much of the gap does
#    DANN close now, on the validation images (`result.metadata["gap_closed_validation"]`) and on the test images?
#    Why must a setting like `μ0` be chosen on the validation images and not on the test images, and why do the
#    validation digits get photos (or tiles of photos) that the training digits do not use?
# 3. **Photos never seen** (`quick`). Give each split photos of its own instead of tiles of the same photos:
#    `kt.experiments.run("dann", PROFILE, results=RESULTS, live=LIVE, photo_split="photos")` (five photos for the
#    training digits, two for validation, four for testing: `mnist_m.PACKAGED_PHOTOS`). How much of the gap does
#    DANN close on the test images now? DANN aligns the source with the target images it trains on: is that the
#    same as working on any photo?

