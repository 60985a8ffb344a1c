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
# # Different task: from classification to object localization
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-08<br>
# **Description:** A base pretrained to classify, transferred to box regression (the transfer-learning
# lecture's "different task"): frozen (Model 1), adapted (Model 2), every layer trained and from scratch, on training
# sets from a hundred to a few thousand labelled images, with MSE, GIoU and CIoU losses.

# %% [markdown]
# ## Introduction
#
# The notebooks so far transferred a network to a *new domain* of the *same task*: classification in, classification
# out. Localization is a *different task*. A localization model looks like a classifier, but its output is not a
# probability per class: it is where the object is, a box `[xmin, ymin, xmax, ymax]`. The lecture does it on the
# Oxford-IIIT Pet dataset, whose images come with a box around each pet's head, by replacing VGG19's softmax with a
# 4-unit regression output. We compare four networks with the same backbone layout:
#
# | | backbone weights | what trains | from the lecture |
# |---|---|---|---|
# | **Model 1** (`frozen`) | pretrained | the new 4-unit output only | "VGG19 (pre-trained weights) + output layer" |
# | **Model 2** (`adapted`) | pretrained | two new dense layers, the output, the upper block | "with adaptation" |
# | **all layers** (`all_layers`) | pretrained | every layer, from the start | fine-tuning, without notebook 04's head-first step |
# | **from scratch** (`scratch`) | random | every layer | the baseline that shows what transfer is worth |
#
# The all-layers and the scratch networks are the same network trained the same way; only their initial weights
# differ, so the gap between them is exactly what the pretrained weights bring. (Notebook 04's `fine_tuned` trains
# the new head first, then every layer; here every layer trains from the first step, hence another name.)
#
# Transfer learning's promise is that you do not need many labels. So every network is trained on the whole
# training split and on smaller random subsets of it (the same subsets for every network; validation and test
# images do not change). The lecture's three possible benefits of transfer are what to look for: a **higher start**
# (better after the first epoch), a **higher slope** (learns faster) and a **higher asymptote** (better in the end).
#
# Three losses are compared:
#
# - the **mean squared error** of the four coordinates, the plain regression loss;
# - the **GIoU loss** (`keras_transfer.losses.GIoULoss`), one minus the generalized intersection over union
#   ([Rezatofighi et al., 2019](https://arxiv.org/abs/1902.09630)). Localization is judged by the IoU of the
#   predicted and the true box; GIoU optimises that overlap directly and, unlike IoU, still has a gradient when the
#   boxes do not overlap. It is one file that needs only Keras, tested equal to keras-cv's `GIoULoss`.
# - the **CIoU loss** (keras-cv's `CIoULoss`, [Zheng et al., 2020](https://arxiv.org/abs/2005.03572)): IoU, minus
#   the distance between the two boxes' centres relative to the enclosing box, minus a term for their aspect ratios.
#
# Every model is judged on the test split by two numbers: the **mean IoU**, and the share of test boxes found
# with **IoU ≥ 0.5** (PASCAL VOC's "correct localization"), both from `keras_transfer.metrics.box_iou`, which is
# Keras's own `keras.utils.bounding_boxes.compute_iou` taken box by box.
#
# The `full` profile is the lecture's setup (Oxford-IIIT Pet heads at 224×224, ImageNet VGG19) and wants a GPU;
# the cell after the parameters says what the profile that ran uses instead.

# %% [markdown]
# ## Setup

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import keras_transfer as kt
from keras_transfer import datasets
from keras_transfer import plotting
from keras_transfer.experiments import pet_heads
from keras_transfer.experiments import pet_heads_analysis as analysis
from keras_transfer.reports import pet_heads as report

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick: three; live: the first); e.g. (0, 1, 2) for a mean over three runs

# %%
report.settings(PROFILE, LIVE)

# %% [markdown]
# ## The data: images and their true boxes
#
# Boxes are relative to the image size (Keras's `"rel_xyxy"` format): `[0, 0, 1, 1]` is the whole image. With
# pasted objects, the box is the tight box of the object's pasted pixels, so it is exact, and the test images use
# backgrounds cut from a strip of the photos that the training images never use.

# %%
train_images, train_boxes = pet_heads.sample_images(PROFILE, "train", count=16)
figure = plotting.plot_box_gallery(train_images, train_boxes, suptitle="Training images and their true boxes")
plt.show()

# %% [markdown]
# ### Augmentation that moves the box
#
# A random horizontal flip is the augmentation here; it must move the box with the image. The input pipeline
# (`keras_transfer.datasets.make_pipeline(..., boxes=True, augment="flip")`) uses Keras's bounding-box aware
# `RandomFlip` (and, in the full profile, `Resizing`), so the box follows. Below, the same eight images as they
# come out of the training pipeline: the flipped ones have their box flipped too.

# %%
data = pet_heads.load_data(PROFILE)
augmented = datasets.make_pipeline(
    data.train.take(8), batch_size=8, image_size=data.resize, training=True, augment="flip", boxes=True,
    shuffle_buffer=1,  # keep the order, so the images line up with the ones above
    seed=1,
)
augmented_images, augmented_boxes = next(augmented.as_numpy_iterator())
figure = plotting.plot_box_gallery(
    np.concatenate([train_images[:8], augmented_images]), np.concatenate([train_boxes[:8], augmented_boxes]),
    titles=["original"] * 8 + ["from the pipeline"] * 8,
    suptitle="Top: the images; bottom: a training batch with random flips",
)
plt.show()

# %% [markdown]
# ## Train the networks
#
# `pet_heads.run` builds the networks (`keras_transfer.models.localization.build_box_regressor`) and trains
# them (`pet_heads.plan(PROFILE)` lists the runs):
#
# - the output layer is a 4-unit sigmoid: targets are relative coordinates in `[0, 1]`, and a sigmoid keeps every
#   prediction inside the image (the lecture's linear output can leave it, a ReLU has no upper bound). A
#   parameter-free `BoxCorners` layer orders each pair of corners, so every prediction is a valid box;
# - the head *flattens* the feature map instead of pooling it: global pooling would throw away where in the image
#   a feature fired, which is what a box needs;
# - the frozen layers of Model 1 and Model 2 run once per image and per mirror image
#   (`keras_transfer.models.surgery.split_frozen_prefix`); each epoch then trains only the layers above them, on
#   those outputs, with a random flip per image. That is the same training as on the images, at a fraction of the
#   cost;
# - every run uses Adam and stops when the validation IoU stops improving, keeping its best epoch;
# - every run has the same budget: an epoch is the same number of images at every training-set size (a small
#   subset is repeated, reshuffled and re-flipped), so a run on a small subset may take as many optimizer steps as
#   one on the whole split;
# - the learning rates were chosen on the validation split, never on the test split.
#   Counting epochs as passes over the data would stop the slow starters early on a small subset.
#
# `kt.experiments.run` loads the saved result of the same settings when there is one (`RESULTS = "auto"`), and
# otherwise trains; the first line under the progress bar says which it did.

# %%
result = kt.experiments.run("pet-heads", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
sizes = result.metadata["train_sizes"]  # largest first: the whole training split, then the subsets
first_seed = result.metadata["seeds"][0]
report.run_summary(result)

# %% [markdown]
# ## Higher start, higher slope? The training curves
#
# The validation IoU after each epoch of the runs with the main loss, on the whole training split and on the
# smallest subset. Compare where each curve starts and how fast it climbs, not only where it ends.

# %%
for size in dict.fromkeys((sizes[0], sizes[-1])):
    names = [analysis.run_name(*run) for run in analysis.main_runs(result, size)]
    figure = plotting.plot_training_curves(result.histories, metrics=("iou", "val_iou"), models=names,
                                           seed=first_seed)
    figure.suptitle(f"Training and validation IoU per epoch, {size} training images (seed {first_seed})")
    plt.show()
report.first_epoch(result)

# %% [markdown]
# ## Results on the whole training split
#
# One row per network and loss (a mean ± standard deviation when there are several seeds). The test loss is each
# run's own loss, so it compares runs of the same loss only; CPU s is the training's CPU time. Below it, what each
# network trains.

# %%
report.whole_split(result)

# %%
report.parameters(result)

# %%
summary = analysis.at_train_size(result).summary()
figure, axes = plt.subplots(1, 2, figsize=(14, 4))
plotting.plot_metric_bars(summary, metric="mean_iou", ax=axes[0], title="Mean IoU on the test split")
plotting.plot_metric_bars(summary, metric="iou_at_0_5", ax=axes[1], title="Share of test boxes with IoU ≥ 0.5")
for axis in axes:
    axis.tick_params(axis="x", labelrotation=30)
figure.tight_layout()
plt.show()

# %% [markdown]
# ## How much is transfer worth, with many and with few labels?
#
# The test mean IoU of each network against the number of training images (main loss), and on the right each
# network minus the network trained from scratch on the same images: above the dashed line, transfer helped. The
# table gives the same numbers: the best network of each size in bold, then each minus scratch.

# %%
curves = analysis.learning_curves(result)
figure = plotting.plot_iou_by_train_size(curves, baseline="scratch" if "scratch" in curves else None,
                                        labels=result.metadata["labels"],
                                        title="Test mean IoU against training images (main loss)")
plt.show()
report.by_train_size(result)

# %% [markdown]
# ## MSE, GIoU or CIoU?
#
# The networks of `loss_comparison_models` were trained with every loss on the whole training split. Only the test
# IoU compares them: each loss's own value is on its own scale.

# %%
report.loss_comparison(result)

# %% [markdown]
# ## How good are the boxes? Best and worst test images
#
# A mean hides the failures. The test images of the best run on the whole training split, ordered by IoU: the six
# worst predictions on top, the six best below (green: true box; red, dashed: predicted).

# %%
test_images, test_boxes = pet_heads.sample_images(PROFILE, "test")
best = analysis.best_model(result)
figure = plotting.plot_best_and_worst(
    test_images, test_boxes, analysis.predictions(result, best), analysis.test_ious(result, test_boxes, best),
    count=6, suptitle=f"{best} (seed {first_seed}): worst and best",
)
plt.show()

# %% [markdown]
# The same eight test images, boxed by each network trained with the main loss, on the whole training split and on
# the smallest subset:

# %%
for size in dict.fromkeys((sizes[0], sizes[-1])):
    for run in analysis.main_runs(result, size):
        model = analysis.run_name(*run)
        figure = plotting.plot_box_gallery(
            test_images[:8], test_boxes[:8], analysis.predictions(result, model)[:8],
            ious=analysis.test_ious(result, test_boxes, model)[:8],
            suptitle=f"{pet_heads.TITLES[run[0]]}; {size} training images",
        )
        plt.show()

# %% [markdown]
# And the whole distribution: the IoU of every test image, per network (main loss, whole training split). The dashed
# line is IoU = 0.5.

# %%
figure = plotting.plot_iou_distribution(
    {result.metadata["labels"][run[0]]: analysis.test_ious(result, test_boxes, analysis.run_name(*run))
     for run in analysis.main_runs(result, sizes[0])},
    title="Test IoUs on the whole training split (first seed)",
)
plt.show()

# %% [markdown]
# ## Conclusion
#
# What this run says, written from its numbers (so it holds for whichever profile ran): first the notebook's two
# lessons with their verdicts, then the details.

# %%
report.lessons(result)

# %%
report.conclusion(result)

# %% [markdown]
# How to read it, and what the lecture expects:
#
# - **Frozen vs adapted vs every layer.** Model 1 can only combine the features the source task learned; Model 2
#   re-trains the upper block; the all-layers network re-trains everything. The lecture's rule is that the further
#   the new task is from the source task, the more of the network must adapt: a classifier's features say *what*
#   is in the image, a box needs *where*.
# - **Pretrained vs random weights.** The all-layers and the scratch networks differ only in where training
#   starts, and every run had the same budget of optimizer steps. The lecture lists three possible benefits of
#   transfer: a higher start, a higher slope, a higher asymptote. The "start" lines above and the training curves
#   show the first two; the "end" lines show whether the third followed.
# - **Few vs many labels.** The lecture's expectation is that a pretrained start is worth most when the target task
#   has few labels, and that with many, a network trained from scratch catches up. The right-hand panel of the
#   learning-curve figure tests that expectation; the last line above says which way it went here.
# - **When transfer does not pay.** A pretrained start can end *below* random weights: negative transfer. It
#   happens when the source's images are far from the target's (a network that never saw an object on a photo
#   has little to give to a task that must find one there) and the target task is easy to learn from its own data.
# - **MSE vs GIoU vs CIoU.** MSE treats the four coordinates as independent numbers; GIoU and CIoU score the box as
#   a whole, with the overlap the task is judged by.
#
# The worst cases above are the place to look next: are they small objects, objects that look like their
# background, objects cut by the border? The `quick` and `full` profiles train every network with three seeds, for a
# mean and a spread; `LIVE = True` runs one seed of Model 1, the all-layers and the scratch network on the smallest
# subset and the whole split, with the main loss only. In the `full` profile (a GPU;
# `PROFILE = "full"`, with the Oxford-IIIT Pet archives downloaded once, about 800 MB), the same code trains VGG19
# with block 5 fine-tuned, with every layer trained, and from scratch on pet heads.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, a few minutes on a laptop
# CPU in `quick`). A changed setting is saved in a folder of its own, so the notebook's saved result still loads.
# Worked answers: `notebooks/solutions/05_pet_heads.md`.
#
# 1. **Where does Model 2 land?** Run
#    `adapted = kt.experiments.run("pet-heads", PROFILE, live=True, models=("frozen", "adapted", "all_layers", "scratch"))`
#    and show `report.by_train_size(adapted)`. With 100 and with all the training images, is the adapted network
#    (upper block re-trained) closer to the frozen one or to the one trained in every layer?
# 2. **A higher start?** Run it with `max_epochs=3` (three epochs instead of up to fifteen). Does the gap between
#    the pretrained and the random weights grow or shrink when training is cut short, and what does that say about
#    the "higher start" against the "higher asymptote"?
# 3. **Which loss?** Run it with `losses=("mse", "giou"), loss_comparison_models=("frozen", "all_layers")` and
#    compare the test mean IoU of each network trained with MSE and with GIoU on the whole training split. Does
#    the loss that scores the box's overlap help both networks, or only one?
