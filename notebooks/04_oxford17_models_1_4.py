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
# # Same task, different domain: Models 1–4 on Oxford-17 flowers
#
# **Author:** keras-transfer contributors<br>
# **Date created:** 2026-11-22<br>
# **Last modified:** 2026-11-22<br>
# **Description:** VGG19 trained from scratch, used as a frozen feature extractor, fine-tuned, and fine-tuned by
# chain-thaw on a small flower data set; then ULMFiT's slanted triangular learning rate, discriminative learning
# rates and gradual unfreezing.

# %% [markdown]
# ## Introduction
#
# *Myth: you can't do deep learning unless you have a million labelled examples for your problem.* The lecture
# answers it with one experiment. Oxford-17 has 17 kinds of UK flowers and only 80 photographs of each; the official
# splits keep 40 per class for training and 20 for validation. The task is the one ImageNet networks were trained
# for (classify a photograph), the domain is new (flowers, not ImageNet's thousand classes): **same task, different
# domain**.
#
# One network, four ways to train it. The network is VGG19's convolutional base with two new dense layers and a new
# softmax output:
#
# | | base weights | what trains | idea |
# |---|---|---|---|
# | **Model 1** | random | everything | from scratch: no pretrained weights |
# | **Model 2** | ImageNet | the new layers only (base frozen) | feature extractor ("off the shelf") |
# | **Model 3** | ImageNet | everything | fine-tuning |
# | **Model 4** | ImageNet | one part at a time: new layers, then each base layer first to last, then all | chain-thaw (DeepMoji) |
#
# The lecture expects **scratch < frozen < fine-tuned ≤ chain-thaw**: pretrained features beat random ones on 680
# images, adapting them beats keeping them fixed, and chain-thaw adapts each layer "with a reduced risk of
# overfitting" at the price of more training.
#
# Beyond the seed, a **Model 5** adds the slides' "additional fine-tuning techniques" from ULMFiT to Model 3: a
# slanted triangular learning rate (a short linear warm-up, then a long linear decay), discriminative learning rates
# (each layer group below the top trains 2.6 times slower than the one above) and gradual unfreezing (the top group
# trains first; one more group joins every epoch).
#
# Every model stops early on the validation loss and keeps the weights of its best epoch, so epochs are comparable.
# The `full` profile runs exactly the lecture's setup (ImageNet VGG19 at 224×224 on Oxford-17, meant for a GPU).
# The `quick` profile plays the same game on a CPU in minutes: the "ImageNet" is a small VGG the package trains on
# five Fashion-MNIST classes (Pullover, Dress, Coat, Shirt, Sneaker), and the "flowers" are the five other classes
# (T-shirt/top, Trouser, Sandal, Bag, Ankle boot) with Oxford-17's budget: 40 training and 20 validation images per
# class, tested on all 5,000 test images of those classes.

# %% [markdown]
# ## Setup

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from IPython.display import display

import keras_transfer as kt
from keras_transfer.experiments import models_1_4

# %% tags=["parameters"]
PROFILE = "quick"  # "smoke" (seconds, tests), "quick" (minutes on a CPU), "full" (the lecture's setup, GPU)
SEEDS = None  # None: the profile's seeds (quick and full: 0, 1, 2)
MODELS = ("scratch", "frozen", "finetune", "chain_thaw", "ulmfit")
NUM_IMAGES = 8  # test images shown with their predictions

# %%
print(f"Results in this notebook come from the {PROFILE!r} profile: {models_1_4.DESCRIPTIONS[PROFILE]}.")
print(f"Keras {keras.__version__}, backend {keras.backend.backend()}.")

# %% [markdown]
# ## The pretrained network
#
# In the `full` profile it is Keras's VGG19 with ImageNet weights. In `quick` and `smoke` it is
# `kt.models.pretrained_source_network(PROFILE)`: a small VGG with the same layout and layer names (blocks of 3×3
# convolutions and max-pooling, then `fc1`, `fc2`, `predictions`), trained on half A of Fashion-MNIST the first
# time it is asked for and cached on disk.

# %%
if PROFILE == "full":
    source = None
    print("Source network: keras.applications.VGG19(weights='imagenet'), 1000 ImageNet classes.")
else:
    source = kt.models.pretrained_source_network(PROFILE)
    info = kt.models.source_network_info(PROFILE)
    print(
        f"Source network: trained on {info['train_images']:,} images of {', '.join(info['classes'])}; "
        f"test accuracy {info['test_accuracy']:.4f} on {info['test_images']:,} test images of those classes "
        f"(trained in {info['train_seconds']:.0f} s, {info['train_cpu_seconds']:.0f} s of CPU time)."
    )
    source.summary()

# %% [markdown]
# ## Building the models
#
# `kt.models.build_classifier` puts the new head on any backbone; `kt.models.build_vgg19_classifier` does it for
# Keras's VGG19 (`weights="imagenet"`, a local weights file, or `None`). The backbone stays one nested layer, so
# `kt.models.head_layers(model)` names the new layers chain-thaw must train first. Model 2, built by hand:

# %%
if PROFILE == "full":
    model_2 = kt.models.build_vgg19_classifier(17, weights="imagenet", base_trainable=False)
else:
    backbone = kt.models.source_backbone(source)  # the convolutional part, up to block3_pool, pretrained
    model_2 = kt.models.build_classifier(backbone, num_classes=5, base_trainable=False)
model_2.summary()
print("New layers:", [layer.name for layer in kt.models.head_layers(model_2)])

# %% [markdown]
# The experiment builds every model the same way (`models_1_4.build_model`). What each one trains, at the start of
# its training:

# %%
counts = []
for name in MODELS:
    model = models_1_4.build_model(name, PROFILE, source=source)
    parameters = kt.models.parameter_counts(model)
    counts.append(f"| {models_1_4.TITLES[name]} | {parameters['trainable']:,} | {parameters['frozen']:,} |")
display(Markdown("\n".join(["| model | trainable parameters | frozen parameters |", "|---|---|---|", *counts])))

# %% [markdown]
# Models 3, 4 and 5 start from the same network; chain-thaw and gradual unfreezing then freeze and thaw parts of it
# during training (`kt.callbacks.ChainThaw`, `kt.callbacks.GradualUnfreezing`), inside one `fit()` call.
#
# Model 2's base never changes, and no augmentation runs through it, so by default the experiment computes the
# base's outputs once (`kt.models.extract_features`) and trains only the head on them: the same training, without
# running the base every epoch. The cost: no augmentation through the base (`cache_features=False` gives the plain
# way).

# %% [markdown]
# ## Training
#
# `models_1_4.run` trains every model for every seed, tests it, prints a line per model and saves the results
# (`python -m keras_transfer run models-1-4 --profile quick` does the same from a shell). The quick profile takes a
# few minutes on a 2-core CPU (the source network's training included, the first time); the full profile wants a
# GPU.

# %%
result = models_1_4.run(PROFILE, seeds=SEEDS, models=MODELS)

# %% [markdown]
# ## Results

# %%
print(f"Profile {PROFILE!r}; mean ± standard deviation over seeds {result.metadata['seeds']}; "
      f"{result.metadata['sizes']} images; total {result.metadata['wall_time_s']:.0f} s.")
display(Markdown(result.to_markdown(metrics=["test_accuracy", "test_loss", "epochs", "wall_time_s"], digits=3)))

# %%
figure = kt.plotting.plot_metric_bars(result, metric="test_accuracy", title=f"Test accuracy ({PROFILE} profile)")
plt.show()

# %%
means = {entry["model"]: entry["test_accuracy"] for entry in result.summary()}
order = [name for name in ("scratch", "frozen", "finetune", "chain_thaw") if name in means]
holds = all(
    means[low] <= means[high] if high == "chain_thaw" else means[low] < means[high]
    for low, high in zip(order, order[1:])
)
print("Ranking by mean test accuracy:", " < ".join(sorted(means, key=means.get)))
print("The lecture's order scratch < frozen < fine-tuned <= chain-thaw", "holds" if holds else "does NOT hold",
      f"in this run ({PROFILE} profile).")

# %% [markdown]
# ## Training curves
#
# Validation loss and accuracy per epoch for one seed. Dotted lines mark where a chain-thaw step (new layers, each
# convolution, all layers) or a gradual-unfreezing step begins; each chain-thaw step ends by restoring its best
# epoch's weights, which is why its curve jumps back at a step boundary.

# %%
figure = kt.plotting.plot_training_curves(result.histories, seed=result.metadata["seeds"][0])
plt.show()

# %% [markdown]
# ## Predictions
#
# The first test images, with each model's prediction (first seed): green is right, red is wrong.

# %%
images, labels, class_names = models_1_4.sample_test_images(PROFILE, count=NUM_IMAGES)
seed = result.metadata["seeds"][0]
predictions = {name: result.metadata["sample_predictions"][f"{name}/seed{seed}"][:NUM_IMAGES] for name in MODELS}
figure = kt.plotting.plot_predictions(images, labels, predictions, class_names, max_images=NUM_IMAGES)
plt.show()

# %% [markdown]
# ## What the quick profile shows, and why
#
# (Measured with `python -m keras_transfer run models-1-4 --profile quick` on a 2-core CPU; your numbers vary a
# little with the seed and the machine.)
#
# RESULTS-DISCUSSION

# %% [markdown]
# ## Conclusion
#
# CONCLUSION
