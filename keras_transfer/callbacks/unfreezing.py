"""Callbacks that change which layers train inside one `fit()`: chain-thaw (DeepMoji) and gradual unfreezing (ULMFiT).

Both share the mechanics of freezing and thawing (`_Thawer`): at every change of trainability the model gets a fresh
optimizer built over the variables that train now and a rebuilt train function, between epochs, on TensorFlow and
JAX. How that works with Keras's internals, and what each callback leaves behind: `docs/unfreezing.md`.

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
        """Rebuilds the train function for the variables that train now (one trace, at its first call).

        On JAX the test function keeps the partition of variables it was traced with and the predict function is
        dropped; with `final` (the end of `fit()`) both are Keras's own again (see `docs/unfreezing.md`).
        """
        model = self.model
        model.make_train_function(force=True)
        if keras.backend.backend() != "jax":
            return
        _record_jax_shardings(model)  # Keras 3.10 and 3.11 only
        if final:
            model.make_test_function(force=True)
            model.make_predict_function(force=True)
            return
        if not isinstance(model.test_function, _FixedPartitionTestFunction):
            model.test_function = _FixedPartitionTestFunction(model)
        model.predict_function = None


def _record_jax_shardings(model):
    """Keras 3.9 to 3.11 on JAX: has `fit()` record the state's shardings for the variables that train now.

    Those versions record one sharding per trainable, non-trainable and optimizer variable, by position, when
    `fit()` (or `evaluate()`) starts, and a train function traced later reads them by position: after a change
    of trainability the lists no longer match the state (`IndexError: list index out of range` in the jitted train
    function at the first batch). No public API records them again, so this calls the private method that
    `fit()` calls, the only private call in this file. Keras 3.12 and later compute the shardings in
    `make_train_function` (public) and have no such method. Checked: Keras 3.10.0 and 3.11.3 have it, 3.12.0 and
    3.15.1 do not (`tests/test_unfreezing.py` fails if that changes). Returns whether it did.
    """
    record = getattr(model, "_record_training_state_sharding_spec", None)
    if record is None:
        return False
    record()
    return True


class _FixedPartitionTestFunction:
    """JAX: the model's test function, always called with the partition of variables it was traced with.

    A test step does not depend on which variables train, so the values are reordered into the traced partition
    for the call and back into the model's current one (see `docs/unfreezing.md`): no new trace at every change.
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


class _StepMonitor:
    """`EarlyStopping` inside one chain-thaw step: the best value of the monitored log, its epoch and weights.

    `start(weights)` begins a step over `weights`, `begin(epoch)` marks its first epoch, `update(epoch, value)` says
    whether the step should stop early, `restore(last_epoch)` puts the best epoch's weights back (unless it is the
    last one) and says whether it did.
    """

    def __init__(self, patience, min_delta, maximize):
        self.patience, self.min_delta, self.sign = patience, min_delta, -1.0 if maximize else 1.0
        self.start([])

    def start(self, weights):
        self.weights, self.first_epoch, self.epochs, self.wait = weights, None, 0, 0
        self.best, self.best_epoch, self.best_values = None, None, None

    def begin(self, epoch):
        if self.first_epoch is None:
            self.first_epoch = epoch

    def update(self, epoch, value):
        self.epochs += 1
        if math.isfinite(value) and (self.best is None or self.sign * (value - self.best) < -self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_values = [_snapshot(weight) for weight in self.weights]
        else:
            self.wait += 1
        return self.wait > 0 and self.wait >= self.patience

    def restore(self, last_epoch):
        restored = self.best_values is not None and self.best_epoch != last_epoch
        if restored:
            for weight, value in zip(self.weights, self.best_values):
                weight.assign(value)
        self.best_values = None
        return restored


@keras.saving.register_keras_serializable(package="keras_transfer")
class ChainThaw(keras.callbacks.Callback):
    """Fine-tunes a pretrained model by chain-thaw (DeepMoji), all inside one `model.fit()` call.

    Trains the new layers together (at `learning_rates[0]`), then every other layer with weights alone, first to last
    (descending into a nested base network), then the whole model (at `learning_rates[1]`). Each step trains at most
    `epochs_per_step` epochs, stops early on `monitor` as `EarlyStopping` would and restores its best weights; after
    the last step the callback stops `fit()`, so give `fit()` `epochs` of at least `len(plan(model)) *
    epochs_per_step`. Frozen layers keep their weights bit for bit, each step gets a fresh optimizer of the compiled
    class, and after `fit()` every layer has its own `trainable` flag back. Epoch logs get `chain_thaw_step`;
    `steps_log` records each step. Details (optimizer state, BatchNormalization, JAX): `docs/unfreezing.md`.

    Example:

    ```python
    base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, name="dense1"),
                             keras.layers.Dense(8, name="dense2")], name="base")  # stands in for a pretrained VGG19
    model = keras.Sequential([base, keras.layers.Dense(3, activation="softmax", name="new_head")])
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(48, 8)), np.arange(48) % 3
    chain_thaw = ChainThaw(new_layers=["new_head"], epochs_per_step=2, patience=1, verbose=0)
    model.fit(x, y, validation_split=0.25, epochs=100, callbacks=[chain_thaw], verbose=0)
    print([step["description"] for step in chain_thaw.steps_log])
    # ['new layers: new_head', 'dense1', 'dense2', 'all layers']
    ```

    Args:
        new_layers: list of str or `Layer` (or one). The layers added for the new task, trained together first.
        layers: list of str or `Layer`, or `None`. The layers trained alone, in this order; `None` (default): every
            other layer with trainable weights, first to last.
        epochs_per_step: int >= 1. The most epochs a step trains. Defaults to `5`.
        patience: int >= 0. Epochs without improvement after which a step ends. Defaults to `2` (DeepMoji: 5).
        monitor: str. The epoch log that decides early stopping and each step's best weights. Defaults to
            `"val_loss"`.
        learning_rates: pair of floats >= 0, or `None`. The first step's rate and the later steps'; `None` keeps the
            compiled optimizer's. Defaults to `(1e-3, 1e-4)`, DeepMoji's.
        min_delta: float >= 0. The least change of `monitor` that counts as an improvement. Defaults to `0.0`.
        mode: one of `"auto"`, `"min"`, `"max"`. `"auto"` maximises accuracies and AUC. Defaults to `"auto"`.
        freeze_batch_norm: bool. Keep every BatchNormalization layer frozen in every step. Defaults to `False`.
        verbose: int. 0 is silent; 1 (default) prints a line when a step starts and ends.

    Reference:
        - [Felbo et al., 2017](https://arxiv.org/abs/1708.00524) (DeepMoji: chain-thaw)
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
        maximize = self.mode == "max" or (
            self.mode == "auto" and any(key in self.monitor for key in ("acc", "auc", "precision", "recall"))
        )
        self._monitor = _StepMonitor(self.patience, self.min_delta, maximize)
        self._checked_budget = False
        self._finished = False
        self._start_step(0)

    def _start_step(self, index):
        description, layers, learning_rate = self._plan[index]
        self._step = index
        self._monitor.start([weight for layer in layers for weight in layer.weights])
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

    def on_epoch_begin(self, epoch, logs=None):
        self._monitor.begin(epoch)
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
        stopped_early = self._monitor.update(epoch, float(np.asarray(logs[self.monitor])))
        if stopped_early or self._monitor.epochs >= self.epochs_per_step:
            self._end_step(epoch, stopped_early)
            if self._step + 1 < len(self._plan):
                self._start_step(self._step + 1)
            else:
                self._finished = True
                self.model.stop_training = True
                if self.verbose:
                    print("ChainThaw: all steps done, training stops.")

    def _end_step(self, last_epoch, stopped_early):
        monitor = self._monitor
        restored = monitor.restore(last_epoch)
        description, layers, learning_rate = self._plan[self._step]
        self.steps_log.append(
            {
                "step": self._step,
                "description": description,
                "layers": [layer.name for layer in layers],
                "learning_rate": learning_rate,
                "first_epoch": monitor.first_epoch,
                "last_epoch": last_epoch,
                "best_epoch": monitor.best_epoch,
                "best_monitor": monitor.best,
                "stopped_early": bool(stopped_early),
                "restored_best": bool(restored),
            }
        )
        self.step_epochs.append((self._step, description, monitor.first_epoch, last_epoch, monitor.best))
        if self.verbose:
            best = "no finite value" if monitor.best is None else f"best {self.monitor} {monitor.best:.4g}"
            print(
                f"ChainThaw: step {self._step + 1}/{len(self._plan)} ({description}) ended after "
                f"{monitor.epochs} epoch{'s' if monitor.epochs != 1 else ''}, {best} at epoch {monitor.best_epoch}"
                + ("; restored its weights." if restored else ".")
            )

    def on_train_end(self, logs=None):
        if not self._finished:
            if self._monitor.epochs > 0:
                self._end_step(self._monitor.first_epoch + self._monitor.epochs - 1, stopped_early=False)
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

    `layer_groups` lists groups of layers from the bottom of the network to the top. Training starts with the top
    group; every `every` epochs the next group down is unfrozen too (epoch `e` trains the top `e // every + 1`
    groups, so `fit(initial_epoch=k)` resumes the schedule). Layers in no group stay frozen. At each unfreezing the
    model gets a fresh optimizer that keeps the previous one's state (iterations, learning rate, moments); after
    `fit()` every layer has its own `trainable` flag back. Epoch logs get `unfrozen_groups`; `unfreeze_log` lists
    `(epoch, unfrozen_groups)` per change. Optimizers with `use_ema=True` are refused. Details (Adam's bias
    correction for a newly unfrozen group, BatchNormalization, JAX): `docs/unfreezing.md`.

    Example:

    ```python
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="block1"),
                              keras.layers.Dense(16, name="block2"), keras.layers.Dense(3, name="predictions")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x, y = np.random.default_rng(0).normal(size=(32, 8)), np.zeros((32, 3))
    unfreezing = GradualUnfreezing([["block1"], ["block2"], ["predictions"]], verbose=0)
    history = model.fit(x, y, epochs=4, callbacks=[unfreezing], verbose=0)
    print(history.history["unfrozen_groups"])  # [1, 2, 3, 3]
    ```

    Args:
        layer_groups: list of groups, bottom to top; each a list of layer names or `Layer`s (or one). Names may
            refer to layers nested inside a sub-model.
        every: int >= 1. Epochs between two unfreezings. Defaults to `1` (ULMFiT).
        freeze_batch_norm: bool. Keep every BatchNormalization layer frozen, also in unfrozen groups. Defaults to
            `False`.
        verbose: int. 0 is silent; 1 (default) prints a line at every unfreezing.

    Reference:
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
