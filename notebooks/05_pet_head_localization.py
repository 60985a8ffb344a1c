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
# **Last modified:** 2026-11-22<br>
# **Description:** A backbone pretrained to classify, transferred to box regression (seed 002's "different
# task"): frozen (Model 1), adapted (Model 2) and from scratch, each trained with an MSE and a GIoU loss.

# %% [markdown]
# ## Introduction
#
# The notebooks so far transferred a network to a *new domain* of the *same task*: classification in, classification
# out. Localization is a *different task*. A localization model looks like a classifier, but its output is not a
# probability per class: it is where the object is, a box `[xmin, ymin, xmax, ymax]`. The lecture does it on the
# Oxford-IIIT Pet dataset, whose images come with a box around each pet's head, by replacing VGG19's softmax with a
# 4-unit regression output:
#
# - **Model 1**: ImageNet VGG19, frozen, with the new output layer on top. Only the output layer learns.
# - **Model 2, "with adaptation"**: more layers on top, and the upper VGG19 block fine-tuned. A task far from the
#   source task needs more than new output weights: the upper layers learned features for *what* an object is,
#   and must now also say *where* it is.
#
# We add a third network, **from scratch** (Model 2's network with random weights, every layer trained), to see
# what the pretrained weights are worth, and we train each model with two losses:
#
# - the **mean squared error** of the four coordinates, the plain regression loss;
# - the **GIoU loss** (`keras_transfer.losses.GIoULoss`), one minus the generalized intersection over union
#   ([Rezatofighi et al., 2019](https://arxiv.org/abs/1902.09630)). Localization is judged by the IoU of the
#   predicted and the true box; GIoU optimises that overlap directly and, unlike IoU, still has a gradient when the
#   boxes do not overlap.
#
# Every model is judged on the test split by two numbers: the **mean IoU**, and the share of test boxes found
# with **IoU ≥ 0.5** (PASCAL VOC's "correct localization"), both computed with Keras's own
# `keras.utils.bounding_boxes.compute_iou`.
#
# The `full` profile is the lecture's setup (Oxford-IIIT Pet heads at 224×224, ImageNet VGG19) and wants a GPU.
# The `quick` profile plays the same game offline on a CPU, on a task with *exact* boxes: Fashion-MNIST items
# pasted at random positions and sizes onto crops of colour photos. The items come from the five classes the
# project's source network never saw (half B), and the backbone is that source network, trained to *classify*
# the other five (half A): classification → localization is the transfer.

# %% [markdown]
# ## Setup

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from IPython.display import display

from keras_transfer import datasets
from keras_transfer import plotting
from keras_transfer.experiments import pet_localization
from keras_transfer.models import localization

# %% tags=["parameters"]
PROFILE = "quick"  # "smoke" (seconds), "quick" (minutes on 2 CPU cores), "full" (Oxford-IIIT Pet, a GPU)
SEEDS = None  # None: the profile's seeds; e.g. (0, 1, 2) for a mean over three runs

# %%
print(f"The results below come from the {PROFILE} profile (settings: pet_localization.CONFIGS[{PROFILE!r}]).")
config = pet_localization.CONFIGS[PROFILE]
print(
    f"Images {config['image_size'][0]}x{config['image_size'][1]}; models {', '.join(config['models'])}; "
    f"losses {', '.join(config['losses'])}; at most {config['max_epochs']} epochs, early stopping on the "
    f"validation IoU (patience {config['patience']})."
)

# %% [markdown]
# ## The data: images and their true boxes
#
# Boxes are relative to the image size (Keras's `"rel_xyxy"` format): `[0, 0, 1, 1]` is the whole image. In the
# quick profile each image is a random crop of one of scikit-learn's two sample photos with one Fashion-MNIST item
# pasted on it, and the box is the tight box of the item's pasted pixels, so it is exact. The test images use
# backgrounds cut from a strip of the photos that the training images never use.

# %%
train_images, train_boxes = pet_localization.sample_images(PROFILE, "train", count=16)
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
data = pet_localization.load_data(PROFILE)
augmented = datasets.make_pipeline(
    data.train.take(8),
    batch_size=8,
    image_size=data.resize,
    training=True,
    augment="flip",
    boxes=True,
    shuffle_buffer=1,  # keep the order, so the images line up with the ones above
    seed=1,
)
augmented_images, augmented_boxes = next(augmented.as_numpy_iterator())
figure = plotting.plot_box_gallery(
    np.concatenate([train_images[:8], augmented_images]),
    np.concatenate([train_boxes[:8], augmented_boxes]),
    titles=["original"] * 8 + ["from the pipeline"] * 8,
    suptitle="Top: the images; bottom: a training batch with random flips",
)
plt.show()

# %% [markdown]
# ## Train the models
#
# `pet_localization.run` builds the three models (`keras_transfer.models.localization.build_box_regressor`) and
# trains each with both losses:
#
# - the output layer is a 4-unit sigmoid: targets are relative coordinates in `[0, 1]`, and a sigmoid keeps every
#   prediction inside the image (the lecture's linear output can leave it, a ReLU has no upper bound). A
#   parameter-free `BoxCorners` layer orders each pair of corners, so every prediction is a valid box;
# - the head *flattens* the feature map instead of pooling it: global pooling would throw away where in the image
#   a feature fired, which is what a box needs;
# - Model 1 trains only its output layer, on the frozen backbone's features computed once for every image and its
#   mirror image (a random flip, without running the backbone every epoch);
# - every run uses Adam and stops when the validation IoU stops improving, keeping its best epoch.

# %%
result = pet_localization.run(PROFILE, seeds=SEEDS)

# %% [markdown]
# ## Training curves
#
# The two losses have different units, so the curves compare the IoU, which every run tracks.

# %%
figure = plotting.plot_training_curves(result.histories, metrics=("iou", "val_iou"))
figure.suptitle(f"Training and validation IoU per epoch (seed {result.metadata['seeds'][0]})")
plt.show()

# %% [markdown]
# ## Results
#
# One row per model and loss (a mean ± standard deviation when there are several seeds). `test_loss` is each run's
# own loss, so it compares runs of the same loss only.

# %%
metrics = ["mean_iou", "iou_at_0_5", "test_loss", "epochs", "best_epoch", "wall_time_s"]
display(Markdown(result.to_markdown(by="variant", metrics=metrics)))
for row in result.rows[: len(result.rows) // len(result.metadata["seeds"])]:
    print(f"{row['variant']}: {row['trainable_params']:,} trainable and {row['frozen_params']:,} frozen parameters")

# %%
summary = {entry["variant"]: entry for entry in result.summary(by="variant")}
figure, axes = plt.subplots(1, 2, figsize=(13, 4))
plotting.plot_metric_bars(result.summary(by="variant"), metric="mean_iou", by="variant", ax=axes[0],
                        title="Mean IoU on the test split")
plotting.plot_metric_bars(result.summary(by="variant"), metric="iou_at_0_5", by="variant", ax=axes[1],
                        title="Share of test boxes with IoU ≥ 0.5")
figure.tight_layout()
plt.show()

# %% [markdown]
# What the table says, in words (computed from it, so it holds for whichever profile ran):

# %%
models = result.metadata["config"]["models"]
losses = result.metadata["config"]["losses"]
for loss in losses:
    means = {name: summary[f"{name}/{loss}"]["mean_iou"] for name in models}
    ranked = sorted(means, key=means.get, reverse=True)
    print(
        f"With the {pet_localization.LOSS_TITLES[loss]}, models by test mean IoU: "
        + " > ".join(f"{name} ({means[name]:.3f})" for name in ranked)
    )
if {"mse", "giou"} <= set(losses):
    for name in models:
        mse, giou = summary[f"{name}/mse"], summary[f"{name}/giou"]
        difference = giou["mean_iou"] - mse["mean_iou"]
        ahead = "a tie" if abs(difference) < 5e-4 else ("GIoU is ahead" if difference > 0 else "MSE is ahead")
        print(
            f"{name}: mean IoU {giou['mean_iou']:.3f} with the GIoU loss vs {mse['mean_iou']:.3f} with MSE; "
            f"IoU >= 0.5 for {giou['iou_at_0_5']:.1%} vs {mse['iou_at_0_5']:.1%} of the test boxes: {ahead}."
        )
overall = {variant: entry["mean_iou"] for variant, entry in summary.items()}
best_variant = max(overall, key=overall.get)
print(f"Best run overall: {best_variant} (mean IoU {overall[best_variant]:.3f}).")

# %% [markdown]
# ## How good are the boxes? Best and worst test images
#
# A mean hides the failures. The test images of the best model, ordered by IoU: the six worst predictions on top,
# the six best below (green: true box; red, dashed: predicted).

# %%
test_images, test_boxes = pet_localization.sample_images(PROFILE, "test")
first_seed = result.metadata["seeds"][0]
predicted = np.array(result.metadata["test_predictions"][f"{best_variant}/seed{first_seed}"], np.float32)
ious = localization.box_ious(test_boxes, predicted)
figure = plotting.plot_best_and_worst(
    test_images, test_boxes, predicted, ious, count=6, suptitle=f"{best_variant} (seed {first_seed}): worst and best"
)
plt.show()

# %% [markdown]
# The same eight test images, boxed by each model trained with the GIoU loss (or the first loss of the run):

# %%
loss_shown = "giou" if "giou" in losses else losses[0]
for name in models:
    predicted_here = np.array(result.metadata["test_predictions"][f"{name}/{loss_shown}/seed{first_seed}"], np.float32)
    figure = plotting.plot_box_gallery(
        test_images[:8],
        test_boxes[:8],
        predicted_here[:8],
        ious=localization.box_ious(test_boxes[:8], predicted_here[:8]),
        suptitle=pet_localization.TITLES[name],
    )
    plt.show()

# %% [markdown]
# And the whole distribution: the IoU of every test image, per run. The dashed line is IoU = 0.5.

# %%
figure = plotting.plot_iou_distribution(
    {
        variant: localization.box_ious(
            test_boxes, np.array(result.metadata["test_predictions"][f"{variant}/seed{first_seed}"], np.float32)
        )
        for variant in summary
    },
    title=f"Test IoUs (seed {first_seed})",
)
plt.show()

# %% [markdown]
# ## Conclusion
#
# The same recipe that turns a pretrained network into a classifier for a new dataset turns it into a localizer:
# cut off the classifier, flatten the features so they keep *where* things are, and put a 4-unit box output on top.
# Whether that is enough is the experiment's question, and the lines printed above answer it for the profile that
# ran:
#
# - **Frozen vs adapted.** Model 1 can only combine the features the source task learned; Model 2 re-trains the
#   upper block for the new task. The lecture's expectation is that the further the new task is from the source
#   task, the more adaptation matters; classification → localization is such a step.
# - **Transfer vs scratch.** The scratch network has exactly Model 2's layout; any gap between them is what the
#   pretrained weights bring with the same data and the same training budget.
# - **MSE vs GIoU.** MSE treats the four coordinates as independent numbers; GIoU scores the box as a whole, with
#   the metric the task is judged by. The printed comparison tells, per model, which loss gave the better boxes here.
#
# The worst cases above are the place to look next: are they small objects, objects that look like their
# background, objects cut by the border? In the `full` profile (a GPU; `PROFILE = "full"`, with the
# Oxford-IIIT Pet archives downloaded once, about 800 MB), the same code fine-tunes VGG19's block 5 on pet heads.
