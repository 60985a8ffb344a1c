"""keras_transfer.models: classifiers on pretrained backbones, and the quick profile's pretrained source network.

- `build_classifier(backbone, num_classes, ...)`, `build_vgg19_classifier(num_classes, weights=...)`: a backbone,
  two new dense layers and an output (the lecture's Models 1-4), with `base_layer`, `head_layers`,
  `backbone_layers`, `classifier_head` and `parameter_counts` to take them apart.
- `fit_classifier`, `fit_head_on_frozen_base`, `choose_on_validation`, `evaluate_classifier`: the training steps
  the recipes share (`models.training`).
- `extract_features(base, data)`: a frozen base's outputs computed once, to train the head on.
- `fit_on_features(head, train, validation)`: trains a head on cached features without per-epoch iterator costs.
- `pretrained_source_network(profile)`, `to_source_input(x)`, `source_backbone(model)`: the "ImageNet VGG19" of the
  quick profile (a small VGG trained on half of Fashion-MNIST) and how to feed and cut it.
- Submodules `transfer` (Yosinski et al.'s layer transfer), `yosinski` (the networks of their experiment, built from
  a profile's settings) and `dann` (domain-adversarial networks).
"""

from keras_transfer.models.backbones import backbone_layers
from keras_transfer.models.backbones import block_groups
from keras_transfer.models.backbones import base_layer
from keras_transfer.models.backbones import build_classifier
from keras_transfer.models.backbones import build_vgg19_classifier
from keras_transfer.models.backbones import classifier_head
from keras_transfer.models.backbones import head_layers
from keras_transfer.models.backbones import parameter_counts
from keras_transfer.models.backbones import backbone_from_config
from keras_transfer.models.backbones import vgg19_backbone
from keras_transfer.models.features import extract_features
from keras_transfer.models.features import extract_mirrored_features
from keras_transfer.models.features import fit_on_features
from keras_transfer.models.training import EpochProgress
from keras_transfer.models.training import choose_on_validation
from keras_transfer.models.training import early_stopping
from keras_transfer.models.training import evaluate_classifier
from keras_transfer.models.training import fit_classifier
from keras_transfer.models.training import fit_head_on_frozen_base
from keras_transfer.models.training import quiet_retracing
from keras_transfer.models.training import steps_per_epoch
from keras_transfer.models.dann import build_dann
from keras_transfer.models.dann import build_mnist_dann
from keras_transfer.models.dann import compile_dann
from keras_transfer.models.dann import pair_domains
from keras_transfer.models.localization import build_box_regressor
from keras_transfer.models.localization import build_vgg19_box_regressor
from keras_transfer.models.transfer import LAYER_NAMES
from keras_transfer.models.transfer import small_alexnet
from keras_transfer.models.transfer import transfer_layers
from keras_transfer.models.transfer import weighted_layers
from keras_transfer.models.source import PHOTO_SETTINGS
from keras_transfer.models.source import SOURCE_CONFIGS
from keras_transfer.models.source import SOURCE_DOMAINS
from keras_transfer.models.source import build_source_network
from keras_transfer.models.source import pretrained_source_network
from keras_transfer.models.source import source_backbone
from keras_transfer.models.source import source_config
from keras_transfer.models.source import source_network_info
from keras_transfer.models.source import source_network_path
from keras_transfer.models.source import to_source_input

__all__ = [
    "EpochProgress",
    "LAYER_NAMES",
    "build_box_regressor",
    "build_dann",
    "build_mnist_dann",
    "build_vgg19_box_regressor",
    "compile_dann",
    "pair_domains",
    "small_alexnet",
    "transfer_layers",
    "weighted_layers",
    "PHOTO_SETTINGS",
    "SOURCE_CONFIGS",
    "SOURCE_DOMAINS",
    "source_config",
    "backbone_layers",
    "block_groups",
    "choose_on_validation",
    "early_stopping",
    "evaluate_classifier",
    "fit_classifier",
    "fit_head_on_frozen_base",
    "quiet_retracing",
    "steps_per_epoch",
    "base_layer",
    "build_classifier",
    "build_source_network",
    "build_vgg19_classifier",
    "classifier_head",
    "extract_features",
    "extract_mirrored_features",
    "fit_on_features",
    "head_layers",
    "parameter_counts",
    "pretrained_source_network",
    "backbone_from_config",
    "source_backbone",
    "source_network_info",
    "source_network_path",
    "to_source_input",
    "vgg19_backbone",
]
