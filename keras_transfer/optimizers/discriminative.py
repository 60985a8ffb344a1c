"""Discriminative fine-tuning (ULMFiT): a learning rate per layer, as a wrapper around any Keras optimizer."""

import fnmatch
import math
import warnings

import keras
from keras import ops

_WILDCARDS = ("*", "?", "[")


def _is_pattern(key):
    return any(character in key for character in _WILDCARDS)


def _check_factor(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"Invalid factor: expected a finite number >= 0. Received: {what}={value!r}")
    return float(value)


def _path_candidates(path):
    """The names a `multipliers` key can match on a variable path, each with its rank (lower is more specific).

    `"model/block1_conv1/kernel"` offers its tails that start at a layer name, rank 0 (`"model/block1_conv1/kernel"`,
    `"block1_conv1/kernel"`), then the layer names and runs of them, ranked by their innermost layer:
    `"block1_conv1"` and `"model/block1_conv1"` rank 1, `"model"` rank 2.
    """
    parts = path.split("/")
    candidates = [("/".join(parts[start:]), 0) for start in range(max(1, len(parts) - 1))]
    layers = parts[:-1]
    for end in range(len(layers) - 1, -1, -1):
        rank = len(layers) - end
        candidates.extend(("/".join(layers[start : end + 1]), rank) for start in range(end, -1, -1))
    return candidates


# A nested model's name, found through `model=`, is less specific than any name on a variable's path.
_MODEL_RANK = 1_000_000


def _models_inside(model):
    """`model` and every `keras.Model` inside it, through the public `Model.layers`, each once, outer first."""
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen or not isinstance(layer, keras.Model):
            return
        seen.add(id(layer))
        found.append(layer)
        for child in layer.layers:
            visit(child)

    visit(model)
    return found


def _nested_model_paths(model, names):
    """`{name: [variable paths]}` for each model inside `model` (itself included) whose name is in `names`.

    A functional model used as a layer (a `keras.applications` base such as VGG19) builds its layers before it
    exists, so their variable paths (`"block1_conv1/kernel"`) do not carry its name: its variables are recorded by
    path, the form that survives `get_config` and loading. A path that also names a variable outside that model
    would be ambiguous and raises a `ValueError`.
    """
    paths = {}
    for inner in _models_inside(model):
        if inner.name not in names:
            continue
        inside = {id(weight) for weight in inner.weights}
        own_paths = [weight.path for weight in inner.weights]
        clash = sorted({w.path for w in model.weights if w.path in set(own_paths) and id(w) not in inside})
        if clash:
            raise ValueError(
                f"Invalid value for argument `model`: the nested model {inner.name!r} is recorded by the paths of "
                f"its variables, but {clash[:5]} also name variables outside it. Give the layers unique names, or "
                f"key `multipliers` by layer names. Received: model={model.name!r}"
            )
        entry = paths.setdefault(inner.name, [])
        entry.extend(path for path in own_paths if path not in entry)
    return paths


def _check_nested_models(nested_models):
    if nested_models is None:
        return {}
    if not isinstance(nested_models, dict) or not all(
        isinstance(name, str) and isinstance(paths, (list, tuple)) and all(isinstance(p, str) for p in paths)
        for name, paths in nested_models.items()
    ):
        raise ValueError(
            "Invalid value for argument `nested_models`: expected a dict mapping model names to lists of variable "
            f"paths (what `model=` records). Received: nested_models={nested_models!r}"
        )
    return {name: list(paths) for name, paths in nested_models.items()}


def _learning_rate_from_config(config):
    """The learning rate of an optimizer config: a float or a deserialized `LearningRateSchedule`."""
    learning_rate = config.get("learning_rate")
    if isinstance(learning_rate, dict):
        learning_rate = keras.optimizers.schedules.deserialize(learning_rate)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
        return float(learning_rate)
    raise ValueError(
        "Invalid value for argument `optimizer`: expected an optimizer whose learning rate is a float or a "
        f"`keras.optimizers.schedules.LearningRateSchedule`. Received: learning_rate={learning_rate!r}"
    )


def _excluded_from_weight_decay(optimizer, variables):
    """The variables `optimizer` exempts from weight decay (`exclude_from_weight_decay`), asked variable by variable.

    The one private Keras call of this file: Keras keeps the exclusions in private attributes and answers through
    `Optimizer._use_weight_decay(variable)` (the same in Keras 3.10.0 and 3.15.1). A Keras without that method raises
    here rather than decaying the wrong variables; `tests/test_discriminative.py` checks the exclusions carry over.
    """
    try:
        use_weight_decay = optimizer._use_weight_decay
    except AttributeError as error:
        raise RuntimeError(
            f"Discriminative was checked on Keras 3.10.0 to 3.15.1; Keras {keras.__version__} has no "
            "`Optimizer._use_weight_decay`, so the weight-decay exclusions of the wrapped optimizer cannot be read."
        ) from error
    return [variable for variable in variables if not use_weight_decay(variable)]


def _clip_by_global_norm(gradients, clip_norm):
    """Keras's `global_clipnorm` clipping, operation for operation as its base optimizer computes it."""
    squared_norms = [ops.sum(ops.square(g)) for g in gradients if g is not None]
    norm = ops.sqrt(ops.sum(ops.stack(squared_norms)))
    scale_for_finite = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm)
    scale = scale_for_finite + (norm - norm)  # NaN when the norm is not finite, as in Keras
    return [g * scale if g is not None else g for g in gradients]


def _group_suffix(factor):
    """A stable name suffix for a factor's optimizer: the same factor gives the same variable paths in every rebuild."""
    return "x" + repr(float(factor)).replace(".", "p").replace("-", "m").replace("+", "")


@keras.saving.register_keras_serializable(package="keras_transfer")
class Discriminative(keras.optimizers.Optimizer):
    """Wraps any Keras optimizer so that each layer trains with its own learning rate.

    Discriminative fine-tuning (ULMFiT) gives lower, more general layers of a pretrained network a smaller
    learning rate than the top layers. Each variable gets a `factor` and is updated **exactly** as the wrapped
    optimizer would update it with the learning rate `factor * learning_rate`, where `learning_rate` is this
    optimizer's rate: the wrapped optimizer's float or `LearningRateSchedule`, readable and settable as
    `optimizer.learning_rate`, so one schedule or one callback (`ReduceLROnPlateau`, `LearningRateScheduler`,
    `SlantedTriangular`) moves every layer at once and keeps the ratios. Scaling the gradients instead would be
    wrong for Adam, AdamW, RMSprop and the like, which divide the gradient by its running magnitude: a gradient
    scaled by 0.1 gives (almost) the same Adam step. Here the factor reaches the learning rate itself, also in the
    decoupled weight decay (`variable -= variable * weight_decay * factor * learning_rate`).

    How: when built, the wrapper makes one copy of the wrapped optimizer per distinct factor (`from_config` of its
    `get_config`), whose learning rate is `factor * optimizer.learning_rate`, read at each step, and hands each copy
    its variables and gradients, as `keras.optimizers.MultiOptimizer` (Keras >= 3.15) does with optimizers you
    build yourself. Each copy runs Keras's own update: the step, Adam's bias correction, weight decay (with the
    exclusions of `exclude_from_weight_decay`), `clipnorm`/`clipvalue`, EMA and `gradient_accumulation_steps`.
    The wrapper unscales the gradients (`loss_scale_factor`) and applies `global_clipnorm` over all of them, as the
    wrapped optimizer would. A factor of `0` freezes a variable: no optimizer holds it, so it stays bit for bit the
    same (weight decay included) and has no slots. `optimizer.group_optimizers` maps each factor to its copy.
    Each copy counts its own steps: a group that starts training later (a rebuild by `GradualUnfreezing`) starts
    Adam's bias correction afresh, as PyTorch's per-parameter step count does.
    Works with `fit()` on TensorFlow (`tf.distribute` strategies too) and JAX (`stateless_apply`).

    Compared with `keras.optimizers.MultiOptimizer` (measured in `tests/test_discriminative.py`): with constant
    factors and one `Adam`/`AdamW` per group at `factor * learning_rate`, both give the same weights to float
    rounding. The difference is the learning rate: a `MultiOptimizer`'s cannot be read or set (`AttributeError`),
    Keras 3.15's `ReduceLROnPlateau` multiplies each sub-optimizer's rate (the ratios hold until `min_lr` clips the
    smaller ones), a `LearningRateScheduler` function that returns a rate sets every group to that same rate, a
    callback that sets `model.optimizer.learning_rate` fails, and a `LearningRateSchedule` must be built once per
    group; `global_clipnorm` there clips each group on its own. Here the groups follow the one rate.

    How `multipliers` keys find variables. A variable path such as `"vgg19/block1_conv1/kernel"` offers the
    layer names on it (`"block1_conv1"`, `"vgg19"`) and runs of them (`"vgg19/block1_conv1"`), and its tails that
    start at a layer name (`"vgg19/block1_conv1/kernel"`, `"block1_conv1/kernel"`). A key with none of `*`, `?`,
    `[` is an exact key: it matches a variable when it equals one of those names, so a layer name takes every
    variable of that layer. The name of a nested model (any `keras.Model` used as a layer, such as
    `keras.applications.VGG19`) takes every variable inside it when its paths carry the name (a `Sequential` or
    subclassed model) or when you pass `model=`: a functional model builds its layers before it exists, so VGG19's
    paths read `"block1_conv1/kernel"`, and only the model object knows which variables are inside it. Any other
    key is a glob pattern (`fnmatch`, case-sensitive; `*` also crosses `/`) and matches when it matches one of those
    names: `"block1_*"` takes the layers `block1_conv1` and `block1_conv2`, `"*/kernel"` every kernel, `"fc?"` the
    layers `fc1` and `fc2`. The variable's own name alone (`"kernel"`) is never matched.

    When several keys match a variable: exact keys win over patterns; among exact keys the most specific wins
    (a variable path or tail, then the innermost layer, then the enclosing models outwards, a nested model whose
    name is on no path last, inner before outer); among patterns
    the first in the order of `multipliers` wins. Variables no key matches get `default`.

    The keys are checked when the optimizer is built (on the model's trainable variables, on the first training
    step or when a saved model is loaded): a key that matches no variable raises a `ValueError` naming it and
    listing the layer names there are. Only trainable variables count: a key of a layer that is frozen then
    matches nothing (see `strict`). Build the optimizer while every layer you will ever unfreeze is
    trainable (Keras needs that anyway). `optimizer.variable_factors` then shows each variable's factor.

    Args:
        optimizer: A `keras.optimizers.Optimizer` instance that has not been built yet, or anything
            `keras.optimizers.get` accepts (a name such as `"adam"`, or a serialized optimizer config). Its
            learning rate must be a float or a `LearningRateSchedule`. It serves as a template (its `get_config`
            and its `exclude_from_weight_decay` settings): use the wrapper, not the wrapped optimizer, from then on.
        multipliers: Dict mapping layer names, nested model names, variable paths or glob patterns (see above) to a
            factor >= 0 the learning rate is multiplied by. `geometric_multipliers` builds ULMFiT's
            `lr / 2.6 ** k` ones.
        default: Float >= 0. The factor of the variables no key matches. Defaults to `1.0`.
        strict: Bool. When `True` (the default) a key that matches no variable the optimizer is built with raises a
            `ValueError` (a typo should not silently do nothing). Pass `False` with callbacks that rebuild the
            optimizer over the variables trainable *now* (`GradualUnfreezing`, `ChainThaw`): keys of the layers
            still frozen then match nothing yet.
        model: A `keras.Model` or `None`. The model to be trained (or any model holding the nested models that keys
            name). Needed when a key is the name of a functional model used as a layer (`"vgg19"`): the variable
            paths of every such model inside `model` are recorded then (in `nested_models`, saved with the config),
            so the wrapper keeps no reference to the model.
        name: String. The name of the wrapper optimizer. Defaults to `"discriminative"`.
        nested_models: Dict mapping a nested model's name to the paths of its variables, or `None`. What `model`
            records, kept by `get_config`; pass `model` rather than this.

    Example:

    ```python
    import keras

    # A functional base, as keras.applications.VGG19 is: its variable paths ("block1/kernel") do not carry "base".
    base_inputs = keras.Input((8,))
    x = keras.layers.Dense(16, name="block1")(base_inputs)
    base = keras.Model(base_inputs, keras.layers.Dense(16, name="block2")(x), name="base")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(base(inputs)))
    optimizer = Discriminative(
        keras.optimizers.AdamW(learning_rate=1e-3), multipliers={"base": 0.1, "block2": 0.5}, model=model
    )
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.build(model.trainable_variables)
    for path, factor in optimizer.variable_factors.items():
        print(path, factor)
    # block1/kernel 0.1
    # block1/bias 0.1
    # block2/kernel 0.5
    # block2/bias 0.5
    # head/kernel 1.0
    # head/bias 1.0
    ```

    Reference:
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146), "Universal Language Model Fine-tuning
          for Text Classification", section 3.2.
    """

    def __init__(
        self, optimizer, multipliers, default=1.0, strict=True, model=None, name=None, nested_models=None, **kwargs
    ):
        if kwargs:
            raise ValueError(
                "Discriminative takes only `optimizer`, `multipliers`, `default`, `strict`, `model` and `name`; set "
                f"learning rate, weight decay, clipping and the like on the wrapped optimizer. Received: {kwargs!r}"
            )
        if keras.backend.backend() not in ("tensorflow", "jax"):
            raise NotImplementedError(
                f"Discriminative is tested on the TensorFlow and JAX backends only. Received: backend "
                f"{keras.backend.backend()!r}"
            )
        if isinstance(optimizer, (str, dict)):
            optimizer = keras.optimizers.get(optimizer)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                "Invalid value for argument `optimizer`: expected a Keras optimizer, its name or its config. "
                f"Received: optimizer={optimizer!r}"
            )
        wrappers = tuple(
            getattr(keras.optimizers, wrapper)
            for wrapper in ("LossScaleOptimizer", "MultiOptimizer")
            if hasattr(keras.optimizers, wrapper)
        )
        if isinstance(optimizer, (Discriminative, *wrappers)):
            raise ValueError(
                "Invalid value for argument `optimizer`: expected an optimizer that updates variables itself, not a "
                f"wrapper. Received: optimizer={optimizer!r}"
            )
        if optimizer.built:
            raise ValueError(
                "Invalid value for argument `optimizer`: expected a fresh optimizer, not one that is already built. "
                f"Received: optimizer={optimizer!r}"
            )
        with warnings.catch_warnings():
            # On JAX, Keras's `get_config` reads the learning-rate variable with `np.array(variable)` (a NumPy
            # DeprecationWarning that is not ours to fix).
            warnings.simplefilter("ignore", DeprecationWarning)
            template_config = optimizer.get_config()
        learning_rate = _learning_rate_from_config(template_config)
        if template_config.get("global_clipnorm") and template_config.get("gradient_accumulation_steps"):
            raise ValueError(
                "Invalid value for argument `optimizer`: `global_clipnorm` with `gradient_accumulation_steps` is not "
                "supported (the norm is taken over every group here, after accumulation there); use `clipnorm`. "
                f"Received: optimizer={optimizer!r}"
            )
        if not isinstance(multipliers, dict):
            raise ValueError(
                "Invalid value for argument `multipliers`: expected a dict mapping layer names or glob patterns to "
                f"factors. Received: multipliers={multipliers!r}"
            )
        checked = {}
        for key, value in multipliers.items():
            if not isinstance(key, str) or not key:
                raise ValueError(
                    f"Invalid key in `multipliers`: expected a non-empty string (a layer name, a variable path or a "
                    f"glob pattern). Received: multipliers key {key!r}"
                )
            checked[key] = _check_factor(f"multipliers[{key!r}]", value)
        if not isinstance(strict, bool):
            raise ValueError(f"`strict` must be True or False. Received: strict={strict!r}")
        default = _check_factor("default", default)
        nested = _check_nested_models(nested_models)
        if model is not None:
            if not isinstance(model, keras.Model):
                raise ValueError(
                    "Invalid value for argument `model`: expected the `keras.Model` to be trained (or one holding the "
                    f"nested models that `multipliers` names). Received: model={model!r}"
                )
            exact = [key for key in checked if not _is_pattern(key)]
            nested.update(_nested_model_paths(model, exact))
        super().__init__(
            learning_rate=learning_rate, loss_scale_factor=template_config.get("loss_scale_factor"), name=name
        )
        self._template = optimizer
        self._template_config = template_config
        self._multipliers = checked
        self.default = default
        self.strict = strict
        self._nested_models = nested
        self._factors = None
        self._variable_paths = None
        # Ids and indices only: a list of variables set as an attribute would join the optimizer's own variables.
        self._group_of = None  # id(variable) -> index in `_group_optimizers`, or None for a factor of 0
        self._group_by_position = []  # the same, by position in the list the optimizer was built with
        self._group_optimizers = []
        self._group_factors = []

    @property
    def multipliers(self):
        """The factors by key, as given (a copy)."""
        return dict(self._multipliers)

    @property
    def nested_models(self):
        """Dict mapping each nested model name recorded from `model=` to the paths of its variables (a copy)."""
        return {name: list(paths) for name, paths in self._nested_models.items()}

    @property
    def variable_factors(self):
        """Dict mapping each variable path the optimizer was built with to its learning-rate factor."""
        if self._factors is None:
            raise ValueError("`variable_factors` is known once the optimizer is built. Call `optimizer.build(...)`.")
        return dict(zip(self._variable_paths, self._factors))

    @property
    def group_optimizers(self):
        """Dict mapping each factor > 0 to the copy of the wrapped optimizer that updates its variables (once built).

        Not named `optimizers`: Keras 3.15's learning-rate callbacks would take the wrapper for a `MultiOptimizer`
        and set each copy's rate, where this wrapper's single `learning_rate` is the one to set.
        """
        return dict(zip(self._group_factors, self._group_optimizers))

    def _resolve(self, var_list):
        exact = [key for key in self._multipliers if not _is_pattern(key)]
        patterns = [key for key in self._multipliers if _is_pattern(key)]
        matched = set()
        factors = []
        layer_names = {}
        model_ranks = {
            name: _MODEL_RANK + len(paths) for name, paths in self._nested_models.items() if name in self._multipliers
        }
        model_paths = {name: set(self._nested_models[name]) for name in model_ranks}
        for variable in var_list:
            candidates = _path_candidates(variable.path)
            layer_names.update(dict.fromkeys(variable.path.split("/")[:-1]))
            chosen, best_rank = None, None
            for key in exact:
                ranks = [rank for candidate, rank in candidates if candidate == key]
                if key in model_paths and variable.path in model_paths[key]:
                    ranks.append(model_ranks[key])
                if not ranks:
                    continue
                matched.add(key)
                if best_rank is None or min(ranks) < best_rank:
                    chosen, best_rank = key, min(ranks)
            for key in patterns:
                if any(fnmatch.fnmatchcase(candidate, key) for candidate, _ in candidates):
                    matched.add(key)
                    if chosen is None:
                        chosen = key
            factors.append(self.default if chosen is None else self._multipliers[chosen])
        unknown = [key for key in self._multipliers if key not in matched]
        if unknown and self.strict:
            hint = ""
            unrecorded = [key for key in unknown if not _is_pattern(key) and key not in self._nested_models]
            if unrecorded:
                hint = (
                    f" If {unrecorded} name(s) a nested model whose variable paths do not carry its name (a functional "
                    "model used as a layer, such as keras.applications.VGG19), pass the model: "
                    "Discriminative(..., model=model)."
                )
            raise ValueError(
                f"`multipliers` key(s) {unknown} match no trainable variable of the model (a key is a layer name, a "
                f"nested model's name, a variable path or a glob pattern over them; see `Discriminative`). "
                f"Available layer names: {list(layer_names)}. A key of a layer that is frozen now matches nothing: "
                "build the optimizer while that layer is trainable, or pass strict=False when a callback thaws "
                f"layers later and rebuilds the optimizer (GradualUnfreezing, ChainThaw).{hint} "
                f"Received: multipliers={self._multipliers!r}"
            )
        return factors

    def _scaled_learning_rate(self, factor):
        def learning_rate():
            rate = self.learning_rate
            return rate if factor == 1.0 else ops.multiply(rate, factor)

        return learning_rate

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        factors = tuple(self._resolve(var_list))
        excluded = {id(variable) for variable in _excluded_from_weight_decay(self._template, var_list)}
        groups = {}
        for variable, factor in zip(var_list, factors):
            if factor != 0.0:
                groups.setdefault(factor, []).append(variable)
        group_of = {id(variable): None for variable in var_list}
        optimizers = []
        template_class = type(self._template)
        for index, (factor, variables) in enumerate(groups.items()):
            config = dict(self._template_config)
            config.update(
                name=f"{self._template_config['name']}_{_group_suffix(factor)}",
                learning_rate=self._scaled_learning_rate(factor),
                loss_scale_factor=None,  # unscaled here, before the groups
                global_clipnorm=None,  # clipped here, over every group
            )
            optimizer = template_class.from_config(config)
            exempt = [variable for variable in variables if id(variable) in excluded]
            if exempt:
                optimizer.exclude_from_weight_decay(var_list=exempt)
            optimizer.build(variables)
            optimizers.append(optimizer)
            group_of.update((id(variable), index) for variable in variables)
        self._variable_paths = [variable.path for variable in var_list]
        self._factors = factors
        self._group_factors = list(groups)
        self._group_optimizers = optimizers
        self._group_of = group_of
        self._group_by_position = [group_of[id(variable)] for variable in var_list]
        super().build(var_list)

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                    "variables. Call `optimizer.build(trainable_variables)` first."
                )
            groups = self._group_by_position
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
            unknown = [variable.path for variable in trainable_variables if id(variable) not in self._group_of]
            if unknown:
                raise ValueError(
                    f"Unknown variables {unknown[:5]}: the optimizer was built over other variables. Build a new "
                    "optimizer for a new set of variables."
                )
            groups = [self._group_of[id(variable)] for variable in trainable_variables]
        if len(grads) != len(groups):
            raise ValueError(
                f"Expected one gradient per variable the optimizer was built with. Received {len(grads)} gradients "
                f"for {len(groups)} variables."
            )
        scale = self.loss_scale_factor
        if scale is not None:
            grads = [g if g is None else g / scale for g in grads]
        clip_norm = self._template_config.get("global_clipnorm")
        if clip_norm and clip_norm > 0:
            grads = _clip_by_global_norm(grads, clip_norm)
        per_group = [([], []) for _ in self._group_optimizers]
        for position, (gradient, index) in enumerate(zip(grads, groups)):
            if index is not None:
                per_group[index][0].append(gradient)
                if trainable_variables is not None:
                    per_group[index][1].append(trainable_variables[position])
        for optimizer, (group_grads, group_variables) in zip(self._group_optimizers, per_group):
            if group_grads:
                optimizer.apply(group_grads, group_variables or None)
        super().iterations.assign_add(1)

    @property
    def iterations(self):
        # Update steps, as the wrapped optimizer counts them (a step per `gradient_accumulation_steps` batches).
        count = super().iterations
        steps = self._template_config.get("gradient_accumulation_steps") if hasattr(self, "_template_config") else None
        return ops.floor_divide(count, steps) if steps else count

    @property
    def variables(self):
        own = super().variables
        return own + [variable for optimizer in self._group_optimizers for variable in optimizer.variables]

    def set_weights(self, weights):
        if not self.built:
            raise ValueError("Call `optimizer.build(trainable_variables)` before `set_weights()`.")
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(f"Expected {len(variables)} weights. Received {len(weights)}.")
        for variable, weight in zip(variables, weights):
            variable.assign(weight)

    def save_own_variables(self, store):
        # Each group's optimizer saves its own variables (it is in the attribute `_group_optimizers`).
        for index, variable in enumerate(super().variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store):
        own = super().variables
        if len(store.keys()) != len(own):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has {len(own)} variables of "
                f"its own, the saved one {len(store.keys())}.",
                stacklevel=2,
            )
            return
        for index, variable in enumerate(own):
            variable.assign(store[str(index)])

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._template.exclude_from_weight_decay(var_list=var_list, var_names=var_names)

    def finalize_variable_values(self, var_list):
        per_group = [[] for _ in self._group_optimizers]
        for variable in var_list:
            index = (self._group_of or {}).get(id(variable))
            if index is not None:
                per_group[index].append(variable)
        for optimizer, variables in zip(self._group_optimizers, per_group):
            if variables:
                optimizer.finalize_variable_values(variables)

    def get_config(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see `__init__`
            optimizer = keras.optimizers.serialize(self._template)
        config = dict(self._template_config)
        if not isinstance(config.get("learning_rate"), dict):  # a float: the current one, callbacks may set it
            config["learning_rate"] = float(ops.convert_to_numpy(self.learning_rate))
        optimizer["config"] = config
        return {
            "name": self.name,
            "optimizer": optimizer,
            "multipliers": dict(self._multipliers),
            "default": self.default,
            "strict": self.strict,
            "nested_models": self.nested_models,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("optimizer"), dict):
            config["optimizer"] = keras.optimizers.deserialize(config["optimizer"], custom_objects=custom_objects)
        return cls(**config)


def geometric_multipliers(layer_groups, decay=2.6):
    """Learning-rate factors that shrink geometrically from the top layer group down (ULMFiT's `lr / 2.6`).

    ULMFiT fine-tunes layer `l - 1` with `lr_{l-1} = lr_l / 2.6`. Given the layer groups ordered from the bottom
    (input side) to the top (output side), the top group gets factor `1`, the one below `1 / decay`, the next
    `1 / decay**2`, and so on. A group is one key or a list of keys; keys are whatever `Discriminative` accepts
    (layer names, variable paths, glob patterns).

    Args:
        layer_groups: List of groups, bottom first. Each group is a string or a list/tuple of strings.
        decay: Float > 0. The ratio between the rates of neighbouring groups. Defaults to `2.6` (ULMFiT).

    Returns:
        A dict `{key: factor}` for `Discriminative(optimizer, multipliers=...)`, bottom keys first.

    Example:

    ```python
    print(geometric_multipliers([["block1_conv1", "block1_conv2"], "block2_*", "predictions"], decay=2.0))
    # {'block1_conv1': 0.25, 'block1_conv2': 0.25, 'block2_*': 0.5, 'predictions': 1.0}
    ```

    Reference:
        - [Howard & Ruder, 2018](https://arxiv.org/abs/1801.06146), section 3.2.
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not (decay > 0 and math.isfinite(decay)):
        raise ValueError(f"Invalid value for argument `decay`: expected a finite number > 0. Received: decay={decay!r}")
    if isinstance(layer_groups, (str, dict)) or not hasattr(layer_groups, "__len__") or len(layer_groups) == 0:
        raise ValueError(
            "Invalid value for argument `layer_groups`: expected a non-empty list of groups (each a layer name or a "
            f"list of layer names), bottom group first. Received: layer_groups={layer_groups!r}"
        )
    multipliers = {}
    depth = len(layer_groups)
    for position, group in enumerate(layer_groups):
        keys = [group] if isinstance(group, str) else group
        if not isinstance(keys, (list, tuple)) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError(
                "Invalid group in `layer_groups`: expected a layer name or a non-empty list of layer names. "
                f"Received: layer_groups[{position}]={group!r}"
            )
        factor = 1.0 / float(decay) ** (depth - 1 - position)
        for key in keys:
            if key in multipliers:
                raise ValueError(
                    f"Invalid value for argument `layer_groups`: the key {key!r} appears in more than one group. "
                    f"Received: layer_groups={layer_groups!r}"
                )
            multipliers[key] = factor
    return multipliers
