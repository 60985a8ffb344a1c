"""Callbacks that change which layers train inside one `fit()`: chain-thaw (DeepMoji) and gradual unfreezing (ULMFiT).

Both classes live in this one file because they share the mechanics of freezing and thawing (`_Thawer`): copy this
file alone to get both.

How it works in Keras 3 (verified against keras 3.15 on TensorFlow and JAX):

* `fit()` builds its train function once, before `on_train_begin`; a change of `layer.trainable` takes effect only
  after `model.make_train_function(force=True)`: one trace (on JAX, and with `jit_compile`, an XLA compilation)
  at the next training batch, and nothing else is rebuilt. On JAX and with XLA every batch shape is compiled
  anew, so when the training set is not a multiple of the batch size the short last batch of an epoch compiles
  the train step a second time after every change (at the quick profile's sizes about as long as the first):
  where that matters, give `fit()` a set whose size the batch size divides. On JAX the test and predict functions receive the
  trainable and the non-trainable variables as two lists, and a cached trace maps positions to variables: when two
  layers of the same shapes swap roles, a stale function silently computes with the wrong weights. A test step
  does not depend on what trains, so the test function is kept and always called with the partition it was
  traced with (`_FixedPartitionTestFunction`); the predict function is dropped and made again by `predict()`.
* The optimizer only updates variables it was built with, and on JAX (`stateless_apply`) it must be built with
  exactly the current trainable variables, in order. So at every change of trainability these callbacks create a
  fresh optimizer of the compiled class from its config (`from_config(get_config())`), build it over the variables
  that train now (inside the model's `tf.distribute` strategy scope, if any) and assign it to `model.optimizer`.
* Changes happen only between epochs (`on_epoch_begin` / `on_epoch_end`): the JAX fit loop writes its state back
  to the variables at the end of every epoch and reads the trainable variables, the non-trainable variables and
  `model.optimizer.variables` afresh at the start of the next one.
* A frozen `BatchNormalization` layer runs in inference mode in Keras 3 (it uses batch statistics only when
  `training and self.trainable`), so its moving statistics stay fixed while it is frozen. Calling the base with
  `training=False` when building a functional model does NOT keep it in inference mode once it is thawed: `fit()`
  calls the model with `training=True`, which overrides the value recorded in the graph (keras 3.15; see
  keras-team/keras#20285). `freeze_batch_norm=True` keeps every BatchNormalization layer frozen instead.

This file imports only keras, numpy and the standard library, so it can be copied into another project.
"""

import contextlib
import copy
import math
import warnings

import keras
import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# Shared mechanics
# ----------------------------------------------------------------------------------------------------------------


def _entry_name(entry):
    return entry.name if isinstance(entry, keras.layers.Layer) else entry


def _check_entries(entries, argument, allow_none=False):
    """Validates a layer list argument: a name, a layer, or a non-empty list/tuple of names and layers."""
    if entries is None and allow_none:
        return None
    if isinstance(entries, (str, keras.layers.Layer)):
        entries = [entries]
    if not isinstance(entries, (list, tuple)) or not entries:
        raise ValueError(
            f"Argument `{argument}` must be a non-empty list of layer names or layer objects. "
            f"Received: {argument}={entries!r}"
        )
    seen = set()
    for entry in entries:
        if isinstance(entry, str):
            if not entry:
                raise ValueError(f"Argument `{argument}` holds an empty layer name. Received: {argument}={entries!r}")
        elif not isinstance(entry, keras.layers.Layer):
            raise ValueError(
                f"Argument `{argument}` must hold layer names (str) or `keras.layers.Layer` objects; "
                f"found {entry!r} of type {type(entry).__name__}. Received: {argument}={entries!r}"
            )
        key = entry if isinstance(entry, str) else id(entry)
        if key in seen:
            raise ValueError(
                f"Argument `{argument}` names {_entry_name(entry)!r} twice. Received: {argument}={entries!r}"
            )
        seen.add(key)
    return list(entries)


def _check_int(value, argument, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Argument `{argument}` must be an integer >= {minimum}. Received: {argument}={value!r}")
    return int(value)


def _set_trainable_flag(layer, value):
    """`layer.trainable = value`, always reaching the sub-layers.

    On the TensorFlow backend assigning an attribute the value it already has returns early (Keras's
    `KerasAutoTrackable.__setattr__`), so the setter would not pass the value on to the sub-layers.
    """
    layer.trainable = not value
    layer.trainable = value


def _snapshot(variable):
    """A NumPy copy of a variable's value.

    `np.asarray` rather than `keras.ops.convert_to_numpy`, which passes `copy=` to an `__array__` that does not take
    it (a NumPy `DeprecationWarning` at every call); then a copy, since on JAX the array shares the variable's
    buffer, which the fit loop donates.
    """
    return np.array(np.asarray(variable))


def _weight_ids(layer):
    return {id(weight) for weight in layer.weights}


class _Thawer:
    """Sets which layers of a model train, and gives the model a matching optimizer and train function.

    The model is walked in layer order, descending into nested `keras.Model`s (a base network inside the model),
    so every layer that owns weights is a *leaf* that can be frozen or thawed on its own. A layer that is not a
    model (even one with sub-layers) is one leaf.
    """

    def __init__(self, model, owner, freeze_batch_norm=False, compiled=True):
        self.model = model
        self.owner = owner
        if model is None:
            raise ValueError(f"{owner} needs a model: use it as a callback of `model.fit()`.")
        if not model.built:
            raise ValueError(
                f"{owner} needs a built model to know its layers and weights. Build the model first (give it "
                "a `keras.Input`, or call it once on data) before `fit()`."
            )
        if compiled:
            optimizer = getattr(model, "optimizer", None)
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise ValueError(
                    f"{owner} needs a model compiled with a Keras optimizer. Received: model.optimizer={optimizer!r}"
                )
            # The template of every fresh optimizer: the compiled class and configuration.
            self.optimizer_class = type(optimizer)
            with warnings.catch_warnings():
                # On JAX, Keras's `get_config` reads a built optimizer's learning rate with `np.array(variable)`,
                # a NumPy DeprecationWarning (`__array__` without `copy=`) at every `fit()` that is not ours to fix.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.optimizer_config = optimizer.get_config()

        self.layers = []  # every layer reached, containers included, in order
        self.leaves = []  # the layers that own weights and are frozen or thawed as one
        self.containers = []  # nested models that are walked into
        self.ancestors = {}  # id(layer) -> tuple of the nested models around it
        self._walk(model, ())
        covered = set()
        for leaf in self.leaves:
            covered |= _weight_ids(leaf)
        self.always_frozen = {
            id(leaf) for leaf in self.leaves if freeze_batch_norm and isinstance(leaf, keras.layers.BatchNormalization)
        }
        orphans = [weight.path for weight in model.weights if id(weight) not in covered]
        if orphans:
            raise ValueError(
                f"{owner} freezes and thaws layers, but these weights belong to no layer of the model: {orphans}. "
                "Create them inside a layer."
            )

    def _walk(self, container, ancestors):
        for layer in container.layers:
            if id(layer) in self.ancestors:  # a layer shared by two sub-models: seen already
                continue
            self.layers.append(layer)
            self.ancestors[id(layer)] = ancestors
            if isinstance(layer, keras.Model) and _weight_ids(layer) <= set().union(
                *(_weight_ids(inner) for inner in layer.layers)
            ):
                self.containers.append(layer)
                self._walk(layer, ancestors + (layer,))
            elif layer.weights:
                self.leaves.append(layer)

    def resolve(self, entries, argument):
        """Turns names and layer objects into layers of the model; a clear error for anything else."""
        names = {}
        for layer in self.layers:
            names.setdefault(layer.name, []).append(layer)
        resolved = []
        for entry in entries:
            if isinstance(entry, str):
                found = names.get(entry, [])
                if not found:
                    valid = [layer.name for layer in self.layers if layer.weights]
                    raise ValueError(
                        f"{self.owner}: argument `{argument}` names a layer that is not in the model: {entry!r}. "
                        f"Layers with weights in the model (nested ones included): {valid}. "
                        f"Received: {argument}={[_entry_name(e) for e in entries]!r}"
                    )
                if len(found) > 1:
                    raise ValueError(
                        f"{self.owner}: argument `{argument}` names {entry!r}, which is the name of "
                        f"{len(found)} layers of the model (in different sub-models): pass the layer object. "
                        f"Received: {argument}={[_entry_name(e) for e in entries]!r}"
                    )
                layer = found[0]
            else:
                if id(entry) not in self.ancestors:
                    raise ValueError(
                        f"{self.owner}: argument `{argument}` holds the layer {entry.name!r}, which is not part "
                        f"of the model. Received: {argument}={[_entry_name(e) for e in entries]!r}"
                    )
                layer = entry
            if self.always_frozen and all(id(leaf) in self.always_frozen for leaf in self.leaves_of([layer])):
                raise ValueError(
                    f"{self.owner}: argument `{argument}` names the BatchNormalization layer {layer.name!r}, but "
                    "freeze_batch_norm=True keeps it frozen. "
                    f"Received: {argument}={[_entry_name(e) for e in entries]!r}"
                )
            if not layer.weights:
                raise ValueError(
                    f"{self.owner}: argument `{argument}` names the layer {layer.name!r}, which has no weights "
                    f"to train. Received: {argument}={[_entry_name(e) for e in entries]!r}"
                )
            resolved.append(layer)
        return resolved

    def leaves_of(self, layers):
        """The leaves inside `layers` (a layer is inside itself), in model order."""
        ids = {id(layer) for layer in layers}
        if id(self.model) in ids:
            return list(self.leaves)
        return [
            leaf
            for leaf in self.leaves
            if id(leaf) in ids or any(id(outer) in ids for outer in self.ancestors[id(leaf)])
        ]

    def trainable_flags(self):
        """The `trainable` flags of the model, of every layer reached and of every variable, for `restore_flags`."""
        layer_flags = [(layer, layer.trainable) for layer in [self.model] + self.layers]
        variable_flags = [(variable, variable.trainable) for variable in self.model.weights]
        return layer_flags, variable_flags

    def restore_flags(self, flags):
        layer_flags, variable_flags = flags
        for layer, flag in layer_flags:  # outer layers first: their setter also sets the inner ones
            _set_trainable_flag(layer, flag)
        for variable, flag in variable_flags:
            variable.trainable = flag

    @contextlib.contextmanager
    def all_trainable(self):
        """Makes every layer trainable for the duration, then restores each layer's and variable's flag."""
        flags = self.trainable_flags()
        _set_trainable_flag(self.model, True)
        try:
            yield
        finally:
            self.restore_flags(flags)

    def set_trainable(self, layers):
        """Thaws exactly `layers` (and what is inside them); every other layer with weights is frozen."""
        thawed = {id(leaf) for leaf in self.leaves_of(layers)} - self.always_frozen
        _set_trainable_flag(self.model, True)
        for leaf in self.leaves:
            if id(leaf) not in thawed:
                _set_trainable_flag(leaf, False)
        for container in reversed(self.containers):  # inner models first
            if not any(id(leaf) in thawed for leaf in self.leaves_of([container])):
                _set_trainable_flag(container, False)

    def new_optimizer(self, learning_rate=None, keep_state=False):
        """Gives the model a fresh optimizer of the compiled class, built over the variables that train now.

        With `keep_state`, every optimizer variable whose path and shape match one of the previous optimizer
        (the iteration count, the learning rate, the moments of variables that keep training) takes its value.
        """
        model = self.model
        previous = model.optimizer
        strategy = getattr(model, "distribute_strategy", None)  # TensorFlow only
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            optimizer = self.optimizer_class.from_config(copy.deepcopy(self.optimizer_config))
            if learning_rate is not None:
                try:
                    optimizer.learning_rate = learning_rate
                except (TypeError, AttributeError) as error:
                    raise ValueError(
                        f"{self.owner} sets the learning rate of each step, but the model's optimizer "
                        f"({self.optimizer_class.__name__}) has a learning rate that cannot be set (a "
                        f"`LearningRateSchedule` or a callable: {self.optimizer_config.get('learning_rate')!r}). "
                        "Compile with a float learning rate, or pass learning_rates=None to keep the optimizer's "
                        "own schedule (it then restarts at every step)."
                    ) from error
            optimizer.build(model.trainable_variables)
            if keep_state:
                old = {(variable.path, tuple(variable.shape)): variable for variable in previous.variables}
                for variable in optimizer.variables:
                    match = old.get((variable.path, tuple(variable.shape)))
                    if match is not None:  # a copy: on JAX the fit loop donates (deletes) the state's buffers
                        variable.assign(keras.ops.copy(match.value))
        model.optimizer = optimizer
        return optimizer

    def rebuild(self, final=False):
        """Rebuilds the train function for the variables that train now: one trace, at its first call.

        On JAX the test and predict functions receive the trainable and the non-trainable variables as two lists,
        and a cached trace maps positions to the variables of the partition it was traced with. Rather than a new
        test function (a second trace and compilation at the next validation), the model keeps one that is always
        called with the partition of its trace (`_FixedPartitionTestFunction`); the predict function, which `fit()`
        does not call, is dropped and made again by the next `predict()`. With `final` (the end of `fit()`), the
        test and predict functions are Keras's own again, made afresh for the flags the model has then.
        """
        model = self.model
        model.make_train_function(force=True)
        if keras.backend.backend() != "jax":
            return
        if final:
            model.make_test_function(force=True)
            model.make_predict_function(force=True)
            return
        if not isinstance(model.test_function, _FixedPartitionTestFunction):
            model.test_function = _FixedPartitionTestFunction(model)
        model.predict_function = None


class _FixedPartitionTestFunction:
    """JAX: the model's test function, called with the one partition of variables it was traced with.

    Keras's JAX test function takes `(trainable_values, non_trainable_values, metrics_values)` and its trace maps
    the positions of the two lists to `model.trainable_variables` and `model.non_trainable_variables` as they were
    when it was traced. Chain-thaw moves variables between the two lists at every step, which would need a new
    trace (and XLA compilation) of the test function too. The forward pass of a test step (`training=False`) does
    not depend on which variables train, so this wrapper keeps the first partition: at each call it reorders the
    values into that partition, sets the variables' `trainable` flags to it for the call (so a trace for a new
    batch shape sees the same partition), and gives the state back in the model's current partition.
    """

    def __init__(self, model):
        self.model = model
        model.make_test_function(force=True)
        self.function = model.test_function
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)

    def __call__(self, state, iterator):
        model = self.model
        trainable_values, non_trainable_values, metrics_values = state
        trainable, non_trainable = list(model.trainable_variables), list(model.non_trainable_variables)
        values = {id(variable): value for variable, value in zip(trainable, trainable_values)}
        values.update((id(variable), value) for variable, value in zip(non_trainable, non_trainable_values))
        if len(values) != len(self.trainable) + len(self.non_trainable) or any(
            id(variable) not in values for variable in self.trainable + self.non_trainable
        ):  # the model's variables changed (a layer built late): trace again for the variables it has now
            self.__init__(model)
            model.test_function = self
        flags = [(variable, variable.trainable) for variable in self.trainable + self.non_trainable]
        try:
            for variable in self.trainable:
                variable.trainable = True
            for variable in self.non_trainable:
                variable.trainable = False
            logs, (trainable_values, non_trainable_values, metrics_values) = self.function(
                (
                    [values[id(variable)] for variable in self.trainable],
                    [values[id(variable)] for variable in self.non_trainable],
                    metrics_values,
                ),
                iterator,
            )
        finally:
            for variable, flag in flags:
                variable.trainable = flag
        values = {id(variable): value for variable, value in zip(self.trainable, trainable_values)}
        values.update((id(variable), value) for variable, value in zip(self.non_trainable, non_trainable_values))
        return logs, (
            [values[id(variable)] for variable in trainable],
            [values[id(variable)] for variable in non_trainable],
            metrics_values,
        )


# ----------------------------------------------------------------------------------------------------------------
# ChainThaw
# ----------------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_transfer")
class ChainThaw(keras.callbacks.Callback):
    """Fine-tunes a pretrained model by chain-thaw, all inside one `model.fit()` call.

    Chain-thaw (DeepMoji) trains one part of the network at a time:

    1. the new layers, all together (for example a two-layer dense head and the output layer), with
       `learning_rates[0]`;
    2. every other layer that has weights, alone, from the first to the last (descending into a base network nested
       in the model, such as a VGG19), or in the order given by `layers`, with `learning_rates[1]`;
    3. the whole model, with `learning_rates[1]`.

    Each step trains for at most `epochs_per_step` epochs and ends earlier when `monitor` has not improved for
    `patience` epochs; the step then restores the weights of its best epoch. When the last step ends the callback
    sets `model.stop_training = True`, so give `fit()` enough `epochs` (at most
    `len(plan) * epochs_per_step`, see `plan()`) and let the callback stop it.

    What trains really changes: in each step every other layer is frozen (`trainable = False`), so its weights
    stay bit-for-bit unchanged. At the start of every step the callback rebuilds the train function and gives the
    model a fresh optimizer of the compiled class and config, built over the variables of that step: moments start
    again from their initial values (zero for Adam) and the iteration count from 0, exactly as DeepMoji recompiles
    with a new Adam at every step (this keeps Adam's bias correction right). Works on the TensorFlow backend (also under `tf.distribute` strategies and with
    `jit_compile`) and on JAX: changes happen between epochs, where the JAX fit loop re-reads its state.

    BatchNormalization: a frozen BatchNormalization layer runs in inference mode in Keras 3 and keeps its moving
    statistics. While its own step or the final step trains it, it normalises with batch statistics and updates
    them, even when the base was called with `training=False` in the functional model: in Keras 3 `fit()`'s
    `training=True` overrides that value. To keep the statistics of the pretrained network (as the keras-io
    transfer-learning guide recommends for small data sets), pass `freeze_batch_norm=True`: BatchNormalization
    layers then stay frozen, in inference mode, in every step, and get no step of their own.

    When `fit()` ends, after the last step or cut short by a small `epochs`, the model is left as compiled: every
    layer gets back the `trainable` flag it had before `fit()`, and the model gets a fresh optimizer of the compiled
    class and configuration (the compiled learning rate, not the steps' rates), built over the variables that train
    then, with train, test and predict functions to match. So a later `fit()` trains what it would have trained
    without chain-thaw, not the last step's layers; the weights stay as chain-thaw left them. `model.optimizer` is
    a new object after `fit()`.

    Each epoch's logs get `logs["chain_thaw_step"]` (the step index, from 0). After `fit()`, `step_epochs` holds
    `(step_index, description, first_epoch, last_epoch, best_monitor)` per step, to mark the steps on a learning
    curve, and `steps_log` one dict per step with the layers, learning rate, best epoch and whether the step stopped
    early. Steps are announced as they start when `verbose` is on.

    Args:
        new_layers: List of layer names or layer objects (or a single one). The layers added for the new task,
            trained together in the first step. They may be sub-models.
        layers: List of layer names or layer objects, or `None`. The layers trained alone in the middle steps, in
            this order; names may refer to layers nested inside a sub-model (a base network). `None` (default)
            takes every layer with trainable weights that is not in `new_layers`, first to last, descending into
            nested models.
        epochs_per_step: Int >= 1. The most epochs a step trains. Defaults to `5`.
        patience: Int >= 0. A step ends after this many epochs in a row without improvement of `monitor`.
            Defaults to `2` (DeepMoji uses 5).
        monitor: String. The quantity in the epoch logs that decides early stopping and the best weights of a step.
            Defaults to `"val_loss"` (pass `validation_data` to `fit()`).
        learning_rates: Tuple of two floats >= 0, or `None`. The learning rate of the first step and of every
            later step. `None` keeps the compiled optimizer's learning rate (a `LearningRateSchedule` then restarts
            at every step). Defaults to `(1e-3, 1e-4)`, DeepMoji's rates.
        min_delta: Float >= 0. The least change of `monitor` that counts as an improvement. Defaults to `0.0`.
        mode: One of `"auto"`, `"min"`, `"max"`. Whether `monitor` should go down or up; `"auto"` picks `"max"`
            for accuracies and AUC, else `"min"`. Defaults to `"auto"`.
        freeze_batch_norm: Bool. Keep every BatchNormalization layer frozen (inference mode, moving statistics and
            scale/offset unchanged) in every step. Defaults to `False`.
        verbose: Int. 0 is silent; 1 (default) prints a line when a step starts and ends.

    Example:

    ```python
    import keras
    import numpy as np

    # A small base stands in for a pretrained network such as keras.applications.VGG19(include_top=False).
    base_inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(base_inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2")(x)
    base = keras.Model(base_inputs, keras.layers.GlobalAveragePooling2D()(x), name="base")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Dense(16, activation="relu", name="fc1_new")(base(inputs))
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions_new")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="sparse_categorical_crossentropy")

    rng = np.random.default_rng(0)
    x_train, y_train = rng.normal(size=(48, 8, 8, 3)), rng.integers(0, 3, size=48)
    chain_thaw = ChainThaw(new_layers=["fc1_new", "predictions_new"], epochs_per_step=2, patience=1, verbose=0)
    model.fit(x_train, y_train, validation_split=0.25, epochs=100, callbacks=[chain_thaw], verbose=0)
    print([step["description"] for step in chain_thaw.steps_log])
    # ['new layers: fc1_new, predictions_new', 'conv1', 'conv2', 'all layers']
    ```

    Reference:
        - [Felbo et al., 2017](https://arxiv.org/abs/1708.00524) (DeepMoji: chain-thaw)
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146) (ULMFiT: gradual unfreezing)
    """

    def __init__(
        self,
        new_layers,
        layers=None,
        epochs_per_step=5,
        patience=2,
        monitor="val_loss",
        learning_rates=(1e-3, 1e-4),
        min_delta=0.0,
        mode="auto",
        freeze_batch_norm=False,
        verbose=1,
    ):
        super().__init__()
        self.new_layers = _check_entries(new_layers, "new_layers")
        self.layers = _check_entries(layers, "layers", allow_none=True)
        self.epochs_per_step = _check_int(epochs_per_step, "epochs_per_step", 1)
        self.patience = _check_int(patience, "patience", 0)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}")
        self.monitor = monitor
        if learning_rates is not None:
            if (
                not isinstance(learning_rates, (list, tuple))
                or len(learning_rates) != 2
                or any(isinstance(rate, bool) or not isinstance(rate, (int, float)) for rate in learning_rates)
                or any(not (math.isfinite(rate) and rate >= 0) for rate in learning_rates)
            ):
                raise ValueError(
                    "Argument `learning_rates` must be a pair of finite numbers >= 0 (first step, later steps) "
                    f"or None. Received: learning_rates={learning_rates!r}"
                )
            learning_rates = (float(learning_rates[0]), float(learning_rates[1]))
        self.learning_rates = learning_rates
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"Argument `min_delta` must be a number >= 0. Received: min_delta={min_delta!r}")
        self.min_delta = float(min_delta)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Argument `mode` must be one of 'auto', 'min', 'max'. Received: mode={mode!r}")
        self.mode = mode
        self.freeze_batch_norm = bool(freeze_batch_norm)
        self.verbose = verbose
        self.steps_log = []
        self.step_epochs = []

    # -- the plan -------------------------------------------------------------------------------------------------

    def _make_plan(self, thawer):
        new = thawer.resolve(self.new_layers, "new_layers")
        if self.layers is not None:
            middle = thawer.resolve(self.layers, "layers")
        else:
            skip = {id(leaf) for leaf in thawer.leaves_of(new)} | thawer.always_frozen
            with thawer.all_trainable():
                middle = [leaf for leaf in thawer.leaves if id(leaf) not in skip and leaf.trainable_weights]
        first_rate, later_rate = self.learning_rates if self.learning_rates is not None else (None, None)
        plan = [("new layers: " + ", ".join(layer.name for layer in new), new, first_rate)]
        plan += [(layer.name, [layer], later_rate) for layer in middle]
        plan.append(("all layers", [thawer.model], later_rate))
        return plan

    def plan(self, model):
        """Returns the steps this callback would run on `model`: a list of `(description, layer_names)`.

        The model is left as it was. `len(plan) * epochs_per_step` is the most epochs chain-thaw can take.
        """
        plan = self._make_plan(_Thawer(model, type(self).__name__, self.freeze_batch_norm, compiled=False))
        return [(description, [layer.name for layer in layers]) for description, layers, _ in plan]

    # -- callback hooks -------------------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.steps_log = []
        self.step_epochs = []
        self._thawer = _Thawer(self.model, type(self).__name__, self.freeze_batch_norm)
        self._plan = self._make_plan(self._thawer)
        self._flags = self._thawer.trainable_flags()
        if self.mode == "max" or (
            self.mode == "auto" and any(key in self.monitor for key in ("acc", "auc", "precision", "recall"))
        ):
            self._sign = -1.0
        else:
            self._sign = 1.0
        self._checked_budget = False
        self._finished = False
        self._start_step(0)

    def _start_step(self, index):
        description, layers, learning_rate = self._plan[index]
        self._step = index
        self._step_first_epoch = None
        self._step_epochs = 0
        self._best = None
        self._best_epoch = None
        self._best_weights = None
        self._wait = 0
        self._thawer.set_trainable(layers)
        self._thawer.new_optimizer(learning_rate)
        self._thawer.rebuild()
        if self.verbose:
            rate = "" if learning_rate is None else f", learning rate {learning_rate:g}"
            trainable = sum(int(np.prod(weight.shape)) for weight in self.model.trainable_weights)
            print(
                f"ChainThaw: step {index + 1}/{len(self._plan)}: {description} "
                f"({trainable:,} trainable parameters{rate})"
            )

    def _step_weights(self):
        return [weight for layer in self._plan[self._step][1] for weight in layer.weights]

    def on_epoch_begin(self, epoch, logs=None):
        if self._step_first_epoch is None:
            self._step_first_epoch = epoch
        if not self._checked_budget:
            self._checked_budget = True
            epochs = (getattr(self, "params", None) or {}).get("epochs")
            needed = len(self._plan) * self.epochs_per_step
            if epochs is not None and epochs - epoch < needed:
                warnings.warn(
                    f"ChainThaw has {len(self._plan)} steps of up to {self.epochs_per_step} epochs (up to {needed} "
                    f"epochs), but fit() has {epochs - epoch} epochs left: the last steps may not run. Pass a "
                    f"larger `epochs` to fit(); ChainThaw stops the training itself after its last step.",
                    stacklevel=2,
                )

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        if self._finished:
            return
        logs["chain_thaw_step"] = self._step
        if self.monitor not in logs:
            raise ValueError(
                f"ChainThaw monitors {self.monitor!r}, which is not in the logs of epoch {epoch}: "
                f"{sorted(key for key in logs if key != 'chain_thaw_step')}. Pass `validation_data` to fit() "
                "(with validation_freq=1) or choose `monitor` among these keys."
            )
        value = float(np.asarray(logs[self.monitor]))
        self._step_epochs += 1
        if math.isfinite(value) and (
            self._best is None or self._sign * (value - self._best) < -self.min_delta
        ):
            self._best = value
            self._best_epoch = epoch
            self._best_weights = [_snapshot(weight) for weight in self._step_weights()]
            self._wait = 0
        else:
            self._wait += 1
        stopped_early = self._wait > 0 and self._wait >= self.patience
        if stopped_early or self._step_epochs >= self.epochs_per_step:
            self._end_step(epoch, stopped_early)
            if self._step + 1 < len(self._plan):
                self._start_step(self._step + 1)
            else:
                self._finished = True
                self.model.stop_training = True
                if self.verbose:
                    print("ChainThaw: all steps done, training stops.")

    def _end_step(self, last_epoch, stopped_early):
        restored = self._best_weights is not None and self._best_epoch != last_epoch
        if restored:
            for weight, value in zip(self._step_weights(), self._best_weights):
                weight.assign(value)
        description, layers, learning_rate = self._plan[self._step]
        self.steps_log.append(
            {
                "step": self._step,
                "description": description,
                "layers": [layer.name for layer in layers],
                "learning_rate": learning_rate,
                "first_epoch": self._step_first_epoch,
                "last_epoch": last_epoch,
                "best_epoch": self._best_epoch,
                "best_monitor": self._best,
                "stopped_early": bool(stopped_early),
                "restored_best": bool(restored),
            }
        )
        self.step_epochs.append((self._step, description, self._step_first_epoch, last_epoch, self._best))
        self._best_weights = None
        if self.verbose:
            best = "no finite value" if self._best is None else f"best {self.monitor} {self._best:.4g}"
            print(
                f"ChainThaw: step {self._step + 1}/{len(self._plan)} ({description}) ended after "
                f"{self._step_epochs} epoch{'s' if self._step_epochs != 1 else ''}, {best} at epoch {self._best_epoch}"
                + ("; restored its weights." if restored else ".")
            )

    def on_train_end(self, logs=None):
        if not self._finished:
            if self._step_epochs > 0:
                self._end_step(self._step_first_epoch + self._step_epochs - 1, stopped_early=False)
                not_run = self._plan[self._step + 1 :]
            else:
                not_run = self._plan[self._step :]
            self._finished = True
            if not_run:
                warnings.warn(
                    f"fit() ended before chain-thaw was complete; steps not run: {[step[0] for step in not_run]}. "
                    "Pass a larger `epochs` to fit().",
                    stacklevel=2,
                )
        # Leave the model as compiled: every layer's own trainable flag, a fresh optimizer of the compiled class and
        # configuration over the variables that train then, and train/test/predict functions that match them.
        self._thawer.restore_flags(self._flags)
        self._thawer.new_optimizer()
        self._thawer.rebuild(final=True)

    def get_config(self):
        return {
            "new_layers": [_entry_name(entry) for entry in self.new_layers],
            "layers": None if self.layers is None else [_entry_name(entry) for entry in self.layers],
            "epochs_per_step": self.epochs_per_step,
            "patience": self.patience,
            "monitor": self.monitor,
            "learning_rates": None if self.learning_rates is None else list(self.learning_rates),
            "min_delta": self.min_delta,
            "mode": self.mode,
            "freeze_batch_norm": self.freeze_batch_norm,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# ----------------------------------------------------------------------------------------------------------------
# GradualUnfreezing
# ----------------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_transfer")
class GradualUnfreezing(keras.callbacks.Callback):
    """Unfreezes a model group by group from the top, ULMFiT-style, inside one `model.fit()` call.

    `layer_groups` lists groups of layers from the bottom of the network to the top. Training starts with only the
    top group trainable; every `every` epochs one more group, the next one down, becomes trainable, until all
    groups train. The schedule counts epochs from 0 as `fit()` does, so with `every=1` epoch `e` trains the top
    `e + 1` groups, and `fit(initial_epoch=k)` resumes it. Layers with weights that are in no group stay frozen
    throughout (leave out a base you never want to train).

    What trains really changes: frozen groups keep their weights bit-for-bit. At every unfreezing the train function
    is rebuilt and the model gets a fresh optimizer of the compiled class and config, built over the variables that
    now train; it takes over the state of the previous optimizer (iteration count, learning rate, the moments of
    the groups that were already training), so a learning-rate schedule or callback keeps its course, and the newly
    unfrozen group starts with fresh moments. Keras counts Adam's bias correction with the optimizer's one iteration
    count, so the first updates of a newly unfrozen group are larger than the learning rate suggests (for a steady
    gradient and Adam's default betas up to about 6 times over the first hundred steps), as if the optimizer had
    been built over every variable from the start. `model.optimizer` is a new object after
    each unfreezing.

    When `fit()` ends, also cut short by a small `epochs` before every group is unfrozen, every layer gets back
    the `trainable` flag it had before `fit()`, and the optimizer is rebuilt over the variables that train then,
    keeping its state as at an unfreezing: a later `fit()` trains what it would have trained without this callback,
    not only the groups unfrozen so far. Optimizers with `use_ema=True` are not supported. Works on TensorFlow (also under
    `tf.distribute` strategies) and JAX.

    A frozen BatchNormalization layer runs in inference mode and keeps its moving statistics; an unfrozen one
    updates them, whatever `training=` the base was called with in the functional model (see `ChainThaw`), unless
    `freeze_batch_norm=True`.

    Each epoch's logs get `logs["unfrozen_groups"]`; `unfreeze_log` lists `(epoch, unfrozen_groups)` for every
    change.

    Args:
        layer_groups: List of groups, bottom to top; each group a list of layer names or layer objects (or a single
            one). Names may refer to layers nested inside a sub-model.
        every: Int >= 1. The number of epochs between two unfreezings. Defaults to `1` (ULMFiT).
        freeze_batch_norm: Bool. Keep every BatchNormalization layer frozen (inference mode), also in unfrozen
            groups. Defaults to `False`.
        verbose: Int. 0 is silent; 1 (default) prints a line at every unfreezing.

    Example:

    ```python
    import keras
    import numpy as np

    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu", name="block1"),
            keras.layers.Dense(16, activation="relu", name="block2"),
            keras.layers.Dense(3, activation="softmax", name="predictions"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x_train, y_train = rng.normal(size=(32, 8)), rng.integers(0, 3, size=32)
    unfreezing = GradualUnfreezing([["block1"], ["block2"], ["predictions"]], verbose=0)
    history = model.fit(x_train, y_train, epochs=4, callbacks=[unfreezing], verbose=0)
    print(history.history["unfrozen_groups"])  # [1, 2, 3, 3]
    ```

    Reference:
        - [Felbo et al., 2017](https://arxiv.org/abs/1708.00524) (DeepMoji: chain-thaw)
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146) (ULMFiT: gradual unfreezing)
    """

    def __init__(self, layer_groups, every=1, freeze_batch_norm=False, verbose=1):
        super().__init__()
        if isinstance(layer_groups, (str, keras.layers.Layer)) or not isinstance(layer_groups, (list, tuple)):
            raise ValueError(
                "Argument `layer_groups` must be a non-empty list of groups (each a list of layer names or "
                f"layer objects), bottom to top. Received: layer_groups={layer_groups!r}"
            )
        if not layer_groups:
            raise ValueError(f"Argument `layer_groups` must not be empty. Received: layer_groups={layer_groups!r}")
        groups = [_check_entries(group, "layer_groups") for group in layer_groups]
        seen = set()
        for group in groups:
            for entry in group:
                key = entry if isinstance(entry, str) else id(entry)
                if key in seen:
                    raise ValueError(
                        f"Argument `layer_groups` puts {_entry_name(entry)!r} in more than one group. "
                        f"Received: layer_groups={layer_groups!r}"
                    )
                seen.add(key)
        self.layer_groups = groups
        self.every = _check_int(every, "every", 1)
        self.freeze_batch_norm = bool(freeze_batch_norm)
        self.verbose = verbose
        self.unfreeze_log = []

    def on_train_begin(self, logs=None):
        self.unfreeze_log = []
        self._thawer = _Thawer(self.model, type(self).__name__, self.freeze_batch_norm)
        if getattr(self.model.optimizer, "use_ema", False):
            raise ValueError(
                "GradualUnfreezing does not support optimizers with use_ema=True: the moving average of a newly "
                "unfrozen group would start from zero. Received: model.optimizer.use_ema=True"
            )
        self._groups = [self._thawer.resolve(group, "layer_groups") for group in self.layer_groups]
        claimed = {}
        for index, group in enumerate(self._groups):
            for leaf in self._thawer.leaves_of(group):
                if id(leaf) in claimed and claimed[id(leaf)] != index:
                    raise ValueError(
                        f"GradualUnfreezing: the layer {leaf.name!r} is in group {claimed[id(leaf)]} and, through a "
                        f"sub-model, in group {index}. Received: layer_groups="
                        f"{[[_entry_name(e) for e in g] for g in self.layer_groups]!r}"
                    )
                claimed[id(leaf)] = index
        self._unfrozen = 0
        self._flags = self._thawer.trainable_flags()

    def on_epoch_begin(self, epoch, logs=None):
        target = min(len(self._groups), 1 + epoch // self.every)
        if target == self._unfrozen:
            return
        layers = [layer for group in self._groups[len(self._groups) - target :] for layer in group]
        self._thawer.set_trainable(layers)
        self._thawer.new_optimizer(keep_state=self._unfrozen > 0)
        self._thawer.rebuild()
        self._unfrozen = target
        self.unfreeze_log.append((epoch, target))
        if self.verbose:
            trainable = sum(int(np.prod(weight.shape)) for weight in self.model.trainable_weights)
            print(
                f"GradualUnfreezing: epoch {epoch + 1}: top {target}/{len(self._groups)} groups trainable "
                f"({trainable:,} trainable parameters)"
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["unfrozen_groups"] = self._unfrozen

    def on_train_end(self, logs=None):
        if self._unfrozen == 0:  # no epoch ran: nothing was changed
            return
        # Every layer gets its own trainable flag back; the optimizer, rebuilt over the variables that train then,
        # keeps the state it has (iterations, learning rate, moments), as at an unfreezing.
        self._thawer.restore_flags(self._flags)
        self._thawer.new_optimizer(keep_state=True)
        self._thawer.rebuild(final=True)

    def get_config(self):
        return {
            "layer_groups": [[_entry_name(entry) for entry in group] for group in self.layer_groups],
            "every": self.every,
            "freeze_batch_norm": self.freeze_batch_norm,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
