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
# **Last modified:** 2026-12-01<br>
# **Description:** A base pretrained to classify, transferred to box regression (the transfer-learning
# lecture's "different task"): frozen (Model 1), adapted (Model 2), fully fine-tuned and from scratch, on training
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
# | **fine-tuned** (`fine_tuned`) | pretrained | every layer | fine-tuning, as Model 3 of the flowers notebook |
# | **from scratch** (`scratch`) | random | every layer | the baseline that shows what transfer is worth |
#
# The fine-tuned and the scratch networks are the same network trained the same way; only their initial weights
# differ, so the gap between them is exactly what the pretrained weights bring.
#
# Transfer learning's promise is that you do not need many labels. So every network is trained on the whole
# training split and on smaller random subsets of it (the same subsets for every network; validation and test
# images do not change). The lecture's three possible benefits of transfer are what to look for: a **higher start**
# (better after the first epoch), a **higher slope** (learns faster) and a **higher asymptote** (better in the end).
#
# Three losses are compared, the last two from keras-cv (`keras_cv.losses`):
#
# - the **mean squared error** of the four coordinates, the plain regression loss;
# - the **GIoU loss** (`GIoULoss`), one minus the generalized intersection over union
#   ([Rezatofighi et al., 2019](https://arxiv.org/abs/1902.09630)). Localization is judged by the IoU of the
#   predicted and the true box; GIoU optimises that overlap directly and, unlike IoU, still has a gradient when the
#   boxes do not overlap. (`keras_transfer.losses.GIoULoss` is the same loss in one file that needs only Keras.)
# - the **CIoU loss** (`CIoULoss`, [Zheng et al., 2020](https://arxiv.org/abs/2005.03572)): IoU, minus the distance
#   between the two boxes' centres relative to the enclosing box, minus a term for their aspect ratios.
#
# Every model is judged on the test split by two numbers: the **mean IoU**, and the share of test boxes found
# with **IoU ≥ 0.5** (PASCAL VOC's "correct localization"), both computed with Keras's own
# `keras.utils.bounding_boxes.compute_iou`.
#
# The `full` profile is the lecture's setup (Oxford-IIIT Pet heads at 224×224, ImageNet VGG19) and wants a GPU;
# the cell after the parameters says what the profile that ran uses instead.

# %% [markdown]
# ## Setup

# %%
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no "retracing" notes: every run builds a new model

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from IPython.display import display

import keras_transfer as kt
from keras_transfer import datasets
from keras_transfer import plotting
from keras_transfer import models
from keras_transfer.experiments import pet_heads
from keras_transfer.experiments import pet_heads_analysis
from keras_transfer.models import localization

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick: three; live: the first); e.g. (0, 1, 2) for a mean over three runs

# %%
print(f"The results below come from the {PROFILE} profile{' in live mode' if LIVE else ''} "
      f"(settings: pet_heads.CONFIGS[{PROFILE!r}]{' and pet_heads.LIVE' if LIVE else ''}).")
config = {**pet_heads.CONFIGS[PROFILE], **(pet_heads.LIVE[PROFILE] if LIVE else {})}
print(
    f"Images {config['image_size'][0]}x{config['image_size'][1]}; networks {', '.join(config['models'])}; "
    f"losses {', '.join(config['losses'])}; training subsets of {', '.join(map(str, config['few_label_sizes']))} "
    f"images; early stopping on the validation IoU."
)
if config["data"] == "pasted_objects":
    source_info = models.source_network_info(PROFILE, seed=config["source_seed"], domain=config["source_domain"])
    print(
        "The stand-in task, offline on a CPU, with *exact* boxes: Fashion-MNIST items of the five classes the source "
        "network never saw (half B) pasted at random positions and sizes onto crops of scikit-learn's two photos. "
        "The base is the quick source network, trained to *classify* the other five classes (half A) pasted on "
        "crops of scikit-image's photos (other classes, other photos: as ImageNet's photos are not Oxford's pets)"
        + (f", {source_info['test_accuracy']:.1%} accurate on its own test images" if source_info else "")
        + ". Classification → localization is the transfer."
    )

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
#   (`localization.split_frozen_prefix`); each epoch then trains only the layers above them, on those outputs,
#   with a random flip per image. That is the same training as on the images, at a fraction of the cost;
# - every run uses Adam and stops when the validation IoU stops improving, keeping its best epoch;
# - every run has the same budget: an epoch is the same number of images at every training-set size (a small
#   subset is repeated, reshuffled and re-flipped), so a run on a small subset may take as many optimizer steps as
#   one on the whole split;
# - the learning rates were chosen on the validation split, never on the test split.
#   Counting epochs as passes over the data would stop the slow starters early on a small subset.
#
# `kt.experiments.run` loads the saved result of the same settings when there is one (`RESULTS = "auto"`), and
# otherwise trains; the line under the progress says which it did.

# %%
result = kt.experiments.run("pet-heads", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
print(kt.experiments.base.provenance(result))
runs = [tuple(entry) for entry in result.metadata["runs"]]
sizes = result.metadata["train_sizes"]  # largest first: the whole training split, then the subsets
main_loss = result.metadata["config"]["main_loss"]
labels = result.metadata["labels"]
first_seed = result.metadata["seeds"][0]
print(f"{len(runs)} runs per seed; training sets of {', '.join(map(str, sizes))} images; main loss {main_loss}.")

# %% [markdown]
# ## Higher start, higher slope? The training curves
#
# The validation IoU after each epoch of the runs with the main loss, on the whole training split and on the
# smallest subset. Compare where each curve starts and how fast it climbs, not only where it ends.

# %%
for size in (sizes[0], sizes[-1]):
    names = [f"{name}/{loss}/n{size}" for name, loss, run_size in runs if loss == main_loss and run_size == size]
    figure = plotting.plot_training_curves(result.histories, metrics=("iou", "val_iou"), models=names,
                                           seed=first_seed)
    figure.suptitle(f"Training and validation IoU per epoch, {size} training images (seed {first_seed})")
    plt.show()
    first_epoch = {name: result.histories[f"{name}/seed{first_seed}"]["val_iou"][0] for name in names}
    print(f"{size} training images, validation IoU after one epoch: "
          + ", ".join(f"{name.split('/')[0]} {value:.3f}" for name, value in first_epoch.items()))

# %% [markdown]
# ## Results on the whole training split
#
# One row per network and loss (a mean ± standard deviation when there are several seeds). `test_loss` is each run's
# own loss, so it compares runs of the same loss only; `cpu_time_s` is the training's CPU time.

# %%
whole = pet_heads_analysis.at_train_size(result)
metrics = ["mean_iou", "iou_at_0_5", "test_loss", "epochs", "best_epoch", "cpu_time_s"]
display(Markdown(whole.to_markdown(metrics=metrics)))
for row in whole.rows[: len(whole.rows) // len(result.metadata["seeds"])]:
    print(f"{row['model']}: {row['trainable_params']:,} trainable and {row['frozen_params']:,} frozen parameters")

# %%
summary = whole.summary()
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
# network minus the network trained from scratch on the same images: above the dashed line, transfer helped.

# %%
curves = pet_heads_analysis.learning_curves(result)
figure = plotting.plot_iou_by_train_size(curves, baseline="scratch" if "scratch" in curves else None, labels=labels,
                                        title=f"Test mean IoU against training images ({main_loss} loss)")
plt.show()
by_size = {size: {name: mean for name, points in curves.items() for run_size, mean, _ in points if run_size == size}
           for size in sizes}
for size, means in by_size.items():
    ranked = sorted(means, key=means.get, reverse=True)
    print(f"{size} training images: " + " > ".join(f"{name} ({means[name]:.3f})" for name in ranked))
    if "scratch" in means:
        print("    minus scratch: " + ", ".join(f"{name} {means[name] - means['scratch']:+.3f}"
                                              for name in ranked if name != "scratch"))

# %% [markdown]
# ## MSE, GIoU or CIoU?
#
# The networks of `loss_comparison_models` were trained with every loss on the whole training split. Only the test
# IoU compares them: each loss's own value is on its own scale.

# %%
whole_means = {tuple(entry["model"].split("/")[:2]): entry for entry in summary}  # (network, loss) -> means
loss_titles = result.metadata["loss_titles"]
for name in result.metadata["config"]["loss_comparison_models"]:
    compared = [(loss, whole_means[(name, loss)]) for loss in loss_titles if (name, loss) in whole_means]
    if len(compared) > 1:
        ranked = sorted(compared, key=lambda item: item[1]["mean_iou"], reverse=True)
        print(f"{labels.get(name, name)}, {sizes[0]} training images: " + " > ".join(
            f"{loss_titles[loss]} (mean IoU {entry['mean_iou']:.3f}, IoU >= 0.5 for {entry['iou_at_0_5']:.1%})"
            for loss, entry in ranked))

# %% [markdown]
# ## How good are the boxes? Best and worst test images
#
# A mean hides the failures. The test images of the best run on the whole training split, ordered by IoU: the six
# worst predictions on top, the six best below (green: true box; red, dashed: predicted).

# %%
test_images, test_boxes = pet_heads.sample_images(PROFILE, "test")
overall = {entry["model"]: entry["mean_iou"] for entry in summary}
best_model = max(overall, key=overall.get)
predicted = np.array(result.metadata["test_predictions"][f"{best_model}/seed{first_seed}"], np.float32)
ious = localization.box_ious(test_boxes, predicted)
figure = plotting.plot_best_and_worst(
    test_images, test_boxes, predicted, ious, count=6, suptitle=f"{best_model} (seed {first_seed}): worst and best"
)
plt.show()

# %% [markdown]
# The same eight test images, boxed by each network trained with the main loss, on the whole training split and on
# the smallest subset:

# %%
for name, loss, size in runs:
    if loss != main_loss or size not in (sizes[0], sizes[-1]):
        continue
    predicted_here = np.array(result.metadata["test_predictions"][f"{name}/{loss}/n{size}/seed{first_seed}"],
                              np.float32)
    figure = plotting.plot_box_gallery(
        test_images[:8],
        test_boxes[:8],
        predicted_here[:8],
        ious=localization.box_ious(test_boxes[:8], predicted_here[:8]),
        suptitle=f"{pet_heads.TITLES[name]}; {size} training images",
    )
    plt.show()

# %% [markdown]
# And the whole distribution: the IoU of every test image, per network (main loss, whole training split). The dashed
# line is IoU = 0.5.

# %%
figure = plotting.plot_iou_distribution(
    {
        labels[name]: localization.box_ious(
            test_boxes,
            np.array(result.metadata["test_predictions"][f"{name}/{loss}/n{size}/seed{first_seed}"], np.float32),
        )
        for name, loss, size in runs
        if loss == main_loss and size == sizes[0]
    },
    title=f"Test IoUs, {sizes[0]} training images (seed {first_seed})",
)
plt.show()

# %% [markdown]
# ## Conclusion
#
# What this run says, written from its numbers (so it holds for whichever profile ran):

# %%
outcomes = result.metadata["outcomes"]
single = len(result.metadata["seeds"]) == 1  # one seed: no spread to compare a gap with
lines = []
for size, networks in outcomes["by_size"].items():
    start = outcomes["first_epoch"][size]
    if {"fine_tuned", "scratch"} <= set(networks):
        (tuned, tuned_std), (scratch, scratch_std) = networks["fine_tuned"], networks["scratch"]
        verdict = ("the pretrained weights gave the better boxes" if tuned - scratch > max(tuned_std, scratch_std)
                   else "random weights gave the better boxes" if scratch - tuned > max(tuned_std, scratch_std)
                   else "the gap is within the spread over seeds")
        if single:
            verdict += " for this seed (one seed has no spread to compare the gap with)"
        tuned_text = f"{tuned:.3f}" + ("" if single else f" ± {tuned_std:.3f}")
        scratch_text = f"{scratch:.3f}" + ("" if single else f" ± {scratch_std:.3f}")
        lines.append(f"- **{size} training images:** test mean IoU {tuned_text} from the pretrained "
                     f"weights, {scratch_text} from random weights (the same network): {verdict}. "
                     f"After one epoch: {start['fine_tuned'][0]:.3f} against {start['scratch'][0]:.3f} "
                     "(validation IoU, the start).")
    if {"frozen", "adapted", "fine_tuned"} <= set(networks):
        ordered = outcomes["ordered"][size]
        lines.append(f"    - how much of the base adapts: none (Model 1) {networks['frozen'][0]:.3f}, the upper block "
                     f"(Model 2) {networks['adapted'][0]:.3f}, every layer {networks['fine_tuned'][0]:.3f}: "
                     + ("the more adapts, the better." if ordered else "not in that order."))
beats = outcomes["transfer_beats_scratch"]
if beats and not single:
    held = [size for size, value in beats.items() if value]
    lines.append(f"- **Few labels (≤ {outcomes['few_labels']} images):** the fine-tuned network beats the same network "
                 "from scratch by more than the spread over seeds at "
                 + (", ".join(f"{size}" for size in held) + " images" if held else "no size")
                 + (f", not at {', '.join(str(size) for size in beats if size not in held)}" if len(held) < len(beats)
                    else "") + ".")
gaps = {int(size): networks["fine_tuned"][0] - networks["scratch"][0]  # int: a loaded result has str keys
        for size, networks in outcomes["by_size"].items()
        if {"fine_tuned", "scratch"} <= set(networks)}
if len(gaps) > 1:
    fewest, most = min(gaps), max(gaps)
    lines.append(f"- **Value of transfer against the number of labels:** pretrained minus random weights is "
                 f"{gaps[fewest]:+.3f} with {fewest} images and {gaps[most]:+.3f} with {most}: fewer labels move "
                 "the comparison in favour of the " + ("pretrained" if gaps[fewest] > gaps[most] else "random")
                 + " weights." + (" One seed's gaps move by about a hundredth from seed to seed: run the profile's "
                                  "seeds (`LIVE = False`) before reading a trend into them." if single else ""))
display(Markdown("\n".join(lines)))

# %% [markdown]
# How to read it, and what the lecture expects:
#
# - **Frozen vs adapted vs every layer.** Model 1 can only combine the features the source task learned; Model 2
#   re-trains the upper block; the fine-tuned network re-trains everything. The lecture's rule is that the further
#   the new task is from the source task, the more of the network must adapt: a classifier's features say *what*
#   is in the image, a box needs *where*.
# - **Pretrained vs random weights.** The fine-tuned and the scratch networks differ only in where training
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
# mean and a spread; `LIVE = True` runs one seed of Model 1, the fine-tuned and the scratch network on the smallest
# subset and the whole split, with the main loss only. In the `full` profile (a GPU;
# `PROFILE = "full"`, with the Oxford-IIIT Pet archives downloaded once, about 800 MB), the same code trains VGG19 with block 5 fine-tuned, fully fine-tuned, and from
# scratch on pet heads.

# %% [markdown]
# ## Exercises
#
# Each exercise is one call with a changed setting in live mode (`live=True`: one seed, a few minutes on a laptop
# CPU in `quick`). A changed setting is saved in a folder of its own, so the notebook's saved result still loads.
# Worked answers: `notebooks/solutions/05_pet_heads.md`.
#
# 1. **Where does Model 2 land?** Run
#    `adapted = kt.experiments.run("pet-heads", PROFILE, live=True, models=("frozen", "adapted", "fine_tuned", "scratch"))`
#    and print `pet_heads_analysis.learning_curves(adapted)`. With 100 and with all the training images, is the
#    adapted network (upper block re-trained) closer to the frozen one or to the one fine-tuned everywhere?
# 2. **A higher start?** Run it with `max_epochs=3` (three epochs instead of up to fifteen). Does the gap between
#    the pretrained and the random weights grow or shrink when training is cut short, and what does that say about
#    the "higher start" against the "higher asymptote"?
# 3. **Which loss?** Run it with `losses=("mse", "giou"), loss_comparison_models=("frozen", "fine_tuned")` and
#    compare the test mean IoU of each network trained with MSE and with GIoU on the whole training split. Does
#    the loss that scores the box's overlap help both networks, or only one?
