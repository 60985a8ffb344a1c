"""keras_transfer.plotting: the figures the notebooks show (matplotlib)."""
from keras_transfer.plotting.transferability import plot_transferability  # noqa: F401
from keras_transfer.plotting.features import plot_accuracy_by_depth, plot_fne_comparison, plot_retrieval  # noqa: F401
from keras_transfer.plotting.curves import plot_metric_bars, plot_predictions, plot_training_curves  # noqa: F401
from keras_transfer.plotting.boxes import plot_best_and_worst, plot_box_gallery, plot_iou_by_train_size  # noqa: F401
from keras_transfer.plotting.boxes import plot_iou_distribution  # noqa: F401
from keras_transfer.plotting.domains import plot_domain_history, plot_feature_projection  # noqa: F401
from keras_transfer.plotting.lr_finder import plot_learning_rate_finder  # noqa: F401
from keras_transfer.plotting.multitask import plot_multitask_curves  # noqa: F401
from keras_transfer.plotting.zero_shot import plot_attribute_signatures, plot_unseen_confusion  # noqa: F401
from keras_transfer.plotting.zero_shot import plot_zero_shot_scores  # noqa: F401
