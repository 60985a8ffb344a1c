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
# # Same task, different domain: Models 1–4 at several label budgets
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-12-01<br>
# **Description:** A pretrained network trained from scratch, used as a frozen feature extractor, fine-tuned, and
# fine-tuned by chain-thaw, with 5 to 40 labelled images per class; then the fine-tuning strategy table
# (similar or different data × small or large target set) filled from the run.

# %% [markdown]
# ## Introduction
#
# *Myth: you can't do deep learning unless you have a million labelled examples for your problem.* The lecture
# "Transfer Learning" (Peerapon Vateekul, NVIDIA IVA workshop) answers it with one experiment, on its slides
# "Example: Oxford 17 Flower Datasets" and "Model 1" to "Model 4: VGG (pre-trained weights) + 2 Dense layers +
# Output layer". Oxford-17 has 17 kinds of UK flowers and 80 photographs of each; the official
# splits keep 40 per class for training. The task is the one ImageNet networks were trained for (name the object
# in a photograph), the domain is new (flowers, not ImageNet's thousand classes): **same task, different domain**.
#
# One network, four ways to train it: a pretrained convolutional base with two new dense layers and a new softmax
# output (the *head*):
#
# | lecture | model name | base weights | what trains |
# |---|---|---|---|
# | **Model 1** | `scratch` | random | everything, from scratch |
# | **Model 2** | `frozen` | pretrained | the new head only: the base is a fixed feature extractor |
# | **Model 3** | `fine_tuned` | pretrained | the new head first, then every layer at a small learning rate |
# | **Model 4** | `chain_thaw` | pretrained | the new head, then each base layer alone from first to last, then all (chain-thaw, Felbo et al., 2017) |
#
# The lecture expects **scratch < frozen < fine-tuned ≤ chain-thaw**, and the gap between pretrained and random
# weights to be largest when labels are fewest. Model 3 trains the head before it unfreezes the base (keras-io's
# recipe): a random head sends large, noisy gradients into the pretrained layers, and fine-tuning everything at
# once can end *below* the frozen model (measured for this design in `FACTS.md`'s design probe). Its learning rate
# for the second stage is chosen on the validation data, never on the test data.
#
# Every model stops early on the validation accuracy and keeps its best epoch. Every model of a seed and budget sees the
# same images and starts from the same head, so the models are compared in pairs.

# %% [markdown]
# ## Setup

# %%
import os

import keras
import matplotlib.pyplot as plt
from IPython.display import Markdown
from IPython.display import display

import keras_transfer as kt
from keras_transfer.experiments import comparisons
from keras_transfer.experiments import models_1_4

# %% tags=["parameters"]
PROFILE = os.environ.get("KT_PROFILE", "quick")  # "smoke": seconds (tests); "quick": minutes on a laptop CPU; "full": the lecture's setup, a GPU
RESULTS = os.environ.get("KT_RESULTS", "auto")   # "auto": load a saved result of the same settings if there is one, else train; "train": always train
LIVE = os.environ.get("KT_LIVE", "0") in ("1",)  # True: one seed, the smallest settings that still show the lesson (for a live demo)
SEEDS = None  # None: the profile's seeds (quick and full: 0, 1, 2; live mode: the first)

# %%
config = kt.profiles.select(models_1_4.CONFIGS, PROFILE, models_1_4.LIVE[PROFILE] if LIVE else {})
QUICK = config["data"] == "pasted_objects"  # the CPU stand-in (quick, smoke) rather than Oxford-17 (full)
print(f"Results in this notebook come from the {PROFILE!r} profile{' in live mode' if LIVE else ''}: "
      f"{models_1_4.DESCRIPTIONS[PROFILE]}{models_1_4.LIVE_DESCRIPTIONS[PROFILE] if LIVE else ''}.")
print(f"Keras {keras.__version__}, backend {keras.backend.backend()}.")

# %% [markdown]
# ## The pretrained network and the target
#
# In the `full` profile the pretrained network is Keras's VGG19 with ImageNet weights and the target is Oxford-17.
# On a CPU with no internet the `quick` profile needs its own "ImageNet" and its own "flowers"; the cell below
# says which, from the configuration and the cached source network's own record.

# %%
if QUICK:
    source = kt.models.pretrained_source_network(config["source_profile"], domain=config["source_domain"])
    info = kt.models.source_network_info(config["source_profile"], domain=config["source_domain"])
    target = models_1_4.load_target_data(PROFILE, labels_per_class=min(config["labels_per_class"]))
    print(
        f"Source network ('ImageNet' here): a small VGG (blocks of 3x3 convolutions, then fc1, fc2, predictions) "
        f"trained on {info['train_images']:,} images of {', '.join(info['classes'])} from Fashion-MNIST, each item "
        f"pasted at a random place and size on a crop of scikit-image's photos; test accuracy "
        f"{info['test_accuracy']:.1%} on {info['test_images']:,} items pasted on photo strips it never saw."
    )
    print(
        "Why photos: ImageNet's images are objects on photos, and the lecture's claim is about a network that has "
        "learnt 'objects on photos'; a network that saw its items only on black has no such features to transfer "
        "(the strategy table at the end measures that, with the same network trained on black as the 'different "
        "data' source)."
    )
    print(
        f"Target ('Oxford-17' here): the five other classes, {', '.join(target.class_names)}, "
        f"pasted on crops of scikit-learn's two photos (other photos than the source's): the same task, new classes "
        f"and a new domain. Budgets {', '.join(map(str, config['labels_per_class']))} labelled images per class, "
        f"{config['validation_per_class']} validation images per class, {config['test_size']:,} test images whose "
        f"backgrounds come from a strip of each photo no training image touches."
    )
else:
    source = None
    print("Source network: keras.applications.VGG19(weights='imagenet'); target: Oxford-17 split "
          f"{config['split_id']}, 40 training and 20 validation images per class.")

# %% [markdown]
# A few training images of the target at the smallest budget, with their labels:

# %%
if QUICK:
    images, labels = target.train
    figure, axes = plt.subplots(1, min(8, len(labels)), figsize=(12, 2))
    for axis, image, label in zip(axes, images, labels):
        axis.imshow(image.astype("uint8"))
        axis.set_title(target.class_names[label], fontsize=8)
        axis.axis("off")
    plt.show()

# %% [markdown]
# ## Building the models
#
# `models_1_4.build_model` puts the new head on the pretrained base (`kt.models.build_classifier`); Model 1 gets
# the same architecture with random weights. What each model trains at the start of its training:

# %%
num_classes = len(target.class_names) if QUICK else len(kt.datasets.oxford_flowers17.CLASS_NAMES)
lines = ["| model | trainable parameters | frozen parameters |", "|---|---|---|"]
for name in config["models"]:
    model = models_1_4.build_model(name, config, source, num_classes, seed=0)
    counts = kt.models.parameter_counts(model)
    lines.append(f"| {models_1_4.TITLES[name]} | {counts['trainable']:,} | {counts['frozen']:,} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# Models 3 and 4 start from the same network as Model 2 and unfreeze it during training; chain-thaw does it inside
# one `fit()` call (`kt.callbacks.ChainThaw`). Model 2's base never changes, so its outputs are computed once and
# only the head trains on them (`kt.models.fit_head_on_frozen_base`), the cheapest model by far.

# %% [markdown]
# ## Training
#
# `kt.experiments.run("models-1-4", ...)` trains every model at every budget for every seed, tests it, prints a
# line per run and saves the results; with `RESULTS = "auto"` it loads the saved result of the same settings
# instead, when there is one (a teacher's pre-run: `python -m keras_transfer run models-1-4 --profile quick` from a
# shell). With `compare_domain` (the quick profile's default) it also trains Models 2 and 3 from the source trained
# on black, for the strategy table at the end; live mode skips it.

# %%
result = kt.experiments.run("models-1-4", PROFILE, results=RESULTS, live=LIVE, seeds=SEEDS)
print(kt.experiments.base.provenance(result))

# %% [markdown]
# ## Results
#
# Mean ± standard deviation over seeds, one row per model and budget (`n5` = 5 labelled images per class):

# %%
meta = result.metadata
config = meta["config"]  # the settings of the run shown (trained now or loaded)
print(f"Profile {PROFILE!r}; seeds {meta['seeds']}; total {meta['wall_time_s']:.0f} s wall, "
      f"{meta['cpu_time_s']:.0f} s CPU.")
display(Markdown(result.to_markdown(metrics=["test_accuracy", "epochs", "cpu_time_s"], digits=3)))

# %% [markdown]
# Test accuracy against the number of labelled images per class, one line per model; the error bars are one
# standard deviation over seeds. A line above another at a budget is a model that does better with that many labels.

# %%
main = config["source_domain"]
curves = comparisons.curves(result.rows, "labels_per_class", "network", source=main)
figure = kt.plotting.plot_iou_by_train_size(
    curves, labels=models_1_4.TITLES, ylabel="test accuracy", title=f"Target test accuracy by label budget ({PROFILE})"
)
figure.axes[0].set_xlabel("labelled training images per class (log scale)")
plt.show()

# %% [markdown]
# ## The lecture's claims, measured
#
# Two claims: with the fewest labels, the frozen pretrained base beats training from scratch by at least ten
# points; at Oxford-17's budget the order is scratch < frozen < fine-tuned ≤ chain-thaw. A step `a < b` counts only
# when the difference of the means is larger than the seed spread of the pair. The comparison is paired by seed: the
# two models of a seed are trained on the same images from the same initial head, so the spread is the standard
# deviation over seeds of the per-seed difference (an easy draw of images lifts both models and cancels out), as
# notebook 03 compares its networks with base B. `a ≤ b` holds unless `b` falls below `a` by more than that spread.

# %%
checks = meta["checks"]
gain = checks["frozen_gain"]
if gain["holds"] is None:
    print("Frozen against scratch at the smallest budget: not run (both models are needed).")
else:
    print(
        f"At {gain['labels_per_class']} labels per class, frozen {gain['higher_mean']:.1%} ± {gain['higher_std']:.1%} "
        f"against scratch {gain['lower_mean']:.1%} ± {gain['lower_std']:.1%}: a gain of "
        f"{100 * gain['difference']:.1f} points (spread of the per-seed gain {100 * gain['spread']:.1f}). The claim (at least "
        f"{100 * gain['threshold']:.0f} points, beyond the spread) {'holds' if gain['holds'] else 'FAILS'}."
    )
order = checks["order"]
print(f"\nAt {order['labels_per_class']} labels per class:")
for step in order["steps"]:
    low, high = step["pair"]
    sign = "<" if step.get("strict", True) else "≤"
    if step["holds"] is None:
        print(f"  {low} {sign} {high}: not run.")
        continue
    print(
        f"  {low} {sign} {high}: {step['lower_mean']:.1%} ± {step['lower_std']:.1%} vs {step['higher_mean']:.1%} ± "
        f"{step['higher_std']:.1%}, difference {100 * step['difference']:+.1f} points, spread "
        f"of the per-seed difference {100 * step['spread']:.1f}: {'holds' if step['holds'] else 'FAILS'}."
    )
failing = [" < ".join(step["pair"]) for step in order["steps"] if step["holds"] is False]
if gain["holds"] is False:
    failing.insert(0, "frozen beats scratch by 10 points at the smallest budget")
print("\nEvery claim holds in this run." if not failing else f"\nNot shown by this run: {'; '.join(failing)}. "
      "A step fails when its mean difference is below the spread of the per-seed differences: the seeds "
      "disagree about it (more seeds or a larger test set would tell), or a design with a larger gap is needed.")
if len(meta["seeds"]) == 1:
    print("One seed (live mode): there is no seed spread to compare with, so a step 'holds' here on the sign of its "
          "difference alone; run the profile's seeds (LIVE = False) to see whether it stands beyond the spread.")
# Why fine-tuning adds (or not) what the frozen base gives, read on the validation images every choice was made on
reference = {name: [row for row in result.rows if row["network"] == name and row["labels_per_class"] ==
                    order["labels_per_class"] and row["source"] == config["source_domain"]]
             for name in ("frozen", "fine_tuned")}
if all(reference.values()) and all("validation_accuracy" in row for row in reference["fine_tuned"]):
    validation = {name: kt.experiments.base.mean_std([row["validation_accuracy"] for row in found])[0]
                  for name, found in reference.items()}
    rates = sorted({row["learning_rate"] for row in reference["fine_tuned"]})
    decay = config["fine_tune_decay"]
    print(
        f"\nFine-tuning against the frozen base at {order['labels_per_class']} labels per class, on the validation "
        f"images: {validation['fine_tuned']:.1%} against {validation['frozen']:.1%} (learning rate chosen there: "
        f"{', '.join(f'{rate:g}' for rate in rates)}"
        f"{f', each block below the head at the rate of the one above / {decay:g}' if decay else ', every layer'}). "
        + ("Fine-tuning starts from the frozen model's weights, so what it adds is what the pretrained base still "
           "had to adapt to the new photos and classes"
           + (": on validation it adds little, and on the test images it stays within the seed spread."
              if order["steps"][1]["holds"] is False else ".")))

# %% [markdown]
# ## Training curves
#
# Validation loss and accuracy per epoch for the first seed at the largest budget. Dotted lines mark where a step
# of Model 3 (head, then all layers) or of chain-thaw begins; each chain-thaw step ends by restoring its best
# epoch's weights, which is why its curve jumps back at a step boundary.

# %%
largest = max(config["labels_per_class"])
figure = kt.plotting.plot_training_curves(
    result.histories, seed=meta["seeds"][0], models=[f"{name}/n{largest}" for name in config["models"]]
)
plt.show()

# %% [markdown]
# ## When to freeze, when to fine-tune: the strategy table
#
# The lectures end on a rule of thumb with two questions: is the target data **similar** to the source's, and is
# the labelled target set **small** or **large**? Here "similar data" is the source network trained on items
# pasted on photos, like the target; "different data" is the same network, same classes, same training, but with
# every item on black (`domain="black"`): the same task on a different domain, the case where the source has never
# seen a photograph. Both are transferred to the same target, and scratch (which uses no source) is shared.
# Each cell names the model with the best mean test accuracy (among scratch and the models trained from that
# source), whether it beats the runner-up by more than the seed spread, and the lecture's rule for that cell.

# %%
strategy = meta["strategy"]
if strategy is None:
    print("The strategy table needs a second source network ('different data'); this profile has none "
          "(compare_domain=None).")
else:
    lines = ["| source data | target set | winner (mean test accuracy) | runner-up | clear win? | lecture's rule | "
             "agrees? |", "|---|---|---|---|---|---|---|"]
    for cell in strategy:
        means = cell["means"]
        runner = f"{cell['runner_up']} ({means[cell['runner_up']]:.1%})" if cell["runner_up"] else ""
        clear = {True: "yes", False: "no (within the seed spread)", None: ""}[cell["clear"]]
        lines.append(
            f"| {cell['data']} ({cell['source']}) | {cell['target']} ({cell['labels_per_class']}/class) | "
            f"**{cell['winner']}** ({means[cell['winner']]:.1%}) | {runner} | {clear} | {cell['lecture_rule']} "
            f"({', '.join(cell['lecture_models'])}) | {'yes' if cell['agrees'] else 'no'} |"
        )
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Conclusion
#
# What this run says, computed from its results:

# %%
lines = []
if gain["holds"] is not None:
    lines.append(
        f"- With {gain['labels_per_class']} labels per class, pretrained features are worth "
        f"{100 * gain['difference']:.0f} points of test accuracy over training from scratch "
        f"({gain['higher_mean']:.0%} against {gain['lower_mean']:.0%})."
    )
steps = {tuple(step["pair"]): step for step in order["steps"] if step["holds"] is not None}
if steps:
    shown = [f"{' < '.join(pair) if step.get('strict', True) else ' ≤ '.join(pair)}" for pair, step in steps.items()
             if step["holds"]]
    lines.append(f"- At {order['labels_per_class']} labels per class the steps this run shows beyond the seed "
                 f"spread: {', '.join(shown) if shown else 'none'}.")
if strategy:
    by_cell = {(cell["data"], cell["target"]): cell for cell in strategy}
    for data_kind in ("similar", "different"):
        small, large = by_cell[data_kind, "small"], by_cell[data_kind, "large"]
        lines.append(
            f"- {data_kind.capitalize()} source data: with a small target set ({small['labels_per_class']}/class) "
            f"**{small['winner']}** wins, with a larger one ({large['labels_per_class']}/class) **{large['winner']}** "
            f"({'as' if small['agrees'] and large['agrees'] else 'not entirely as'} the lecture's rule says: "
            f"{small['lecture_rule']}; then {large['lecture_rule']})."
        )
    disagree = [f"{cell['data']} data, {cell['target']} set" for cell in strategy if not cell["agrees"]]
    if disagree:
        lines.append(f"- Where this run departs from the rule: {'; '.join(disagree)} (see the table for the margins).")
display(Markdown("\n".join(lines)))
if QUICK:
    print("These numbers come from the CPU stand-in (Fashion-MNIST items pasted on photos, a small VGG); the "
          "`full` profile runs the lecture's ImageNet VGG19 on Oxford-17 on a GPU.")

# %% [markdown]
# ## Exercises
#
# Each is one call in live mode (the first seed; a few minutes on a laptop CPU). A run with changed settings is
# saved in a folder of its own, so the notebook's own result still loads afterwards. Worked answers:
# `notebooks/solutions/04_models_1_4.md`.
#
# 1. **When does scratch catch up?** Train only Models 1 and 2 at more budgets:
#    `kt.experiments.run("models-1-4", PROFILE, live=True, models=("scratch", "frozen"), labels_per_class=(5, 10, 40))`.
#    Print `result.to_markdown(metrics=["test_accuracy"])`. How does the gap between pretrained features and random
#    weights change with the number of labels? What does that say about the lecture's myth?
# 2. **A fine-tuning rate that is too large.** Fine-tune at a rate a hundred times the usual one:
#    `kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,), fine_tune_learning_rates=(1e-2,), fine_tune_decay=None)`
#    (one rate for every layer). Does the fine-tuned model stay above the frozen one? Why does keras-io's recipe fine-tune at a small rate?
# 3. **Different learning rates for different layers** ("Freeze or fine-tune?" in the lecture "Transfer learning and
#    domain adaptation", UPC Deep Learning for Computer Vision, 2016; discriminative rates, Howard & Ruder, 2018).
#    The profile fine-tunes with discriminative rates (`fine_tune_decay=2.6`: each block below the head learns 2.6
#    times slower than the one above). Fine-tune with one rate for every layer instead:
#    `kt.experiments.run("models-1-4", PROFILE, live=True, models=("frozen", "fine_tuned"), labels_per_class=(40,), fine_tune_decay=None, fine_tune_learning_rates=(1e-4, 3e-4))`.
#    Which rate does the validation data choose, and how far above the frozen base does fine-tuning end, compared
#    with the notebook's own run? Compare `validation_accuracy` and `test_accuracy` in `result.rows`.
#
