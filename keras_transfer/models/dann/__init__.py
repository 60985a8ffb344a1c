"""Domain-adversarial neural networks (DANN): unsupervised domain adaptation by backpropagation.

A feature extractor is shared by two heads: a label classifier, trained on the labelled source domain only, and a
domain classifier that tells source from target features. The domain classifier sits behind a `GradientReversal`
layer, so while it learns to separate the domains, the feature extractor receives the *reversed* domain gradient
and learns features the domain classifier cannot separate, yet good enough for the labels. In the end the domain
classifier fails (its accuracy falls toward chance) and the label classifier works on the target domain too.

The training is an ordinary `compile()` / `fit()` of a two-output functional model, so it runs unchanged on every
Keras backend:

- every batch is half source, half target (`pair_domains`), the input is the concatenated batch;
- the `"domain"` output is trained on every sample (0 = source, 1 = target);
- the `"label"` output has a sample weight of 0 on target samples and the loss is averaged over the weighted
  samples only (`reduction="mean_with_sample_weight"`), so target labels, if any, never reach the training;
- `keras_transfer.callbacks.GradientReversalSchedule` sets the reversal strength to `λ_p` per batch and
  `keras_transfer.schedules.InverseProgressDecay` gives the learning rate `μ_p`.

One module per idea: `model` (the network and its losses: `build_dann`, `build_mnist_dann`, `compile_dann`),
`batches` (the half-source, half-target batches: `pair_domains`), `training` (the paper's recipe: `train_dann`) and
`evaluation` (held-out accuracies and features: `evaluate_domains`, `dann_features`); their names are all here.

Example:

```python
import keras
import keras_transfer as kt
from keras_transfer.models import dann

model = dann.build_mnist_dann(input_shape=(28, 28, 3), num_classes=10)
train = dann.pair_domains((x_source, y_source), x_target, batch_size=128, seed=0)
steps = int(train.cardinality()) * epochs
dann.compile_dann(
    model,
    keras.optimizers.SGD(kt.schedules.InverseProgressDecay(0.01, total_steps=steps), momentum=0.9),
)
model.fit(train, epochs=epochs, callbacks=[kt.callbacks.GradientReversalSchedule()])
model.get_layer("feature_extractor")  # the adapted features
```

Reference:
    - [Ganin & Lempitsky, Unsupervised Domain Adaptation by Backpropagation, ICML 2015](
        https://arxiv.org/abs/1409.7495)
    - [Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 2016](https://arxiv.org/abs/1505.07818)
"""

from keras_transfer.models.dann.batches import check_domain
from keras_transfer.models.dann.batches import pair_domains
from keras_transfer.models.dann.evaluation import dann_features
from keras_transfer.models.dann.evaluation import evaluate_domains
from keras_transfer.models.dann.model import DOMAIN_CLASSIFIER
from keras_transfer.models.dann.model import DOMAIN_OUTPUT
from keras_transfer.models.dann.model import FEATURE_EXTRACTOR
from keras_transfer.models.dann.model import GRADIENT_REVERSAL
from keras_transfer.models.dann.model import LABEL_CLASSIFIER
from keras_transfer.models.dann.model import LABEL_OUTPUT
from keras_transfer.models.dann.model import SOURCE_DOMAIN
from keras_transfer.models.dann.model import TARGET_DOMAIN
from keras_transfer.models.dann.model import build_dann
from keras_transfer.models.dann.model import build_mnist_dann
from keras_transfer.models.dann.model import compile_dann
from keras_transfer.models.dann.model import gradient_reversal_strength
from keras_transfer.models.dann.training import train_dann

__all__ = [
    "DOMAIN_CLASSIFIER",
    "DOMAIN_OUTPUT",
    "FEATURE_EXTRACTOR",
    "GRADIENT_REVERSAL",
    "LABEL_CLASSIFIER",
    "LABEL_OUTPUT",
    "SOURCE_DOMAIN",
    "TARGET_DOMAIN",
    "build_dann",
    "build_mnist_dann",
    "check_domain",
    "compile_dann",
    "dann_features",
    "evaluate_domains",
    "gradient_reversal_strength",
    "pair_domains",
    "train_dann",
]
