"""Discriminative fine-tuning (ULMFiT): a learning rate per layer, as a wrapper around any Keras optimizer."""

import fnmatch
import gc
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


# A nested model's name, found by `_nested_model_ranks`, is less specific than any name on a variable's path.
_MODEL_RANK = 1_000_000


def _nested_model_ranks(names, var_list):
    """`{name: {id(variable): rank}}` for the variables of `var_list` inside a live `keras.Model` named `name`.

    A functional model used as a layer (a `keras.applications` base such as VGG19) builds its layers before it
    exists, so their variable paths (`"block1_conv1/kernel"`) do not carry its name, and an optimizer is never told
    the model it trains. So the models are looked up by name among the live Keras models that hold some of the
    variables. A smaller model ranks as more specific: an inner model wins over an outer one.
    """
    wanted = set(names)
    ids = {id(variable) for variable in var_list}
    ranks = {}
    for candidate in gc.get_objects():
        if not isinstance(candidate, keras.Model) or getattr(candidate, "name", None) not in wanted:
            continue
        try:
            weights = candidate.weights
        except Exception:  # a model still under construction
            continue
        inside = [id(weight) for weight in weights if id(weight) in ids]
        if inside:
            entry = ranks.setdefault(candidate.name, {})
            for key in inside:
                entry[key] = min(entry.get(key, _MODEL_RANK + len(weights)), _MODEL_RANK + len(weights))
    return ranks


@keras.saving.register_keras_serializable(package="keras_transfer")
class Discriminative(keras.optimizers.Optimizer):
    """Wraps any Keras optimizer so that each layer trains with its own learning rate.

    Discriminative fine-tuning (ULMFiT) gives lower, more general layers of a pretrained network a smaller
    learning rate than the top layers. Each variable gets a `factor` and is updated **exactly** as the wrapped
    optimizer would update it with the learning rate `factor * learning_rate` (the current value of the wrapped
    optimizer's rate or `LearningRateSchedule`). Scaling the gradients instead would be wrong for Adam, AdamW,
    RMSprop and the like, which divide the gradient by its running magnitude: a gradient scaled by 0.1 gives
    (almost) the same Adam step. Here the factor reaches the learning rate itself, in `update_step` and in the
    decoupled weight decay (`variable -= variable * weight_decay * factor * learning_rate`).

    A factor of `0` freezes a variable: no update step runs for it, so it stays bit for bit the same (weight decay
    included) and its optimizer slots (momentum, velocity) stay at their initial values. The rest of the wrapped
    optimizer works as usual: gradient clipping, `loss_scale_factor`, `gradient_accumulation_steps`, EMA (its
    average of a frozen variable may differ from the variable in the last bit), iterations and Adam's bias
    correction, `tf.distribute` strategies on TensorFlow and `stateless_apply` on JAX. Its variables are
    `optimizer.inner_optimizer.variables` and are saved and restored with the model. `optimizer.learning_rate`
    and `optimizer.iterations` are those of the wrapped optimizer, so learning-rate callbacks keep working.

    How `multipliers` keys find variables. A variable path such as `"vgg19/block1_conv1/kernel"` offers the
    layer names on it (`"block1_conv1"`, `"vgg19"`) and runs of them (`"vgg19/block1_conv1"`), and its tails that
    start at a layer name (`"vgg19/block1_conv1/kernel"`, `"block1_conv1/kernel"`). A key with none of `*`, `?`,
    `[` is an exact key: it matches a variable when it equals one of those names, so a layer name takes every
    variable of that layer. The name of a nested model (any `keras.Model` used as a layer, such as
    `keras.applications.VGG19`) takes every variable inside it, also when the paths do not carry it: a functional
    model builds its layers before it exists, so VGG19's paths read `"block1_conv1/kernel"`. Such a name, found on
    no path, is looked up among the live Keras models that hold the variables. Any other key is a glob pattern
    (`fnmatch`, case-sensitive; `*` also crosses `/`) and matches when it matches one of those names:
    `"block1_*"` takes the layers `block1_conv1` and `block1_conv2`, `"*/kernel"` every kernel, `"fc?"` the
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

    Works on the TensorFlow and JAX backends (on torch, Keras swaps in multi-tensor optimizers that bypass
    `update_step`).

    Args:
        optimizer: A `keras.optimizers.Optimizer` instance that has not been built yet, or anything
            `keras.optimizers.get` accepts (a name such as `"adam"`, or a serialized optimizer config). The
            wrapper takes it over: use the wrapper, not the wrapped optimizer, from then on.
        multipliers: Dict mapping layer names, variable paths or glob patterns (see above) to a factor >= 0
            the learning rate is multiplied by. `geometric_multipliers` builds ULMFiT's `lr / 2.6 ** k` ones.
        default: Float >= 0. The factor of the variables no key matches. Defaults to `1.0`.
        strict: Bool. When `True` (the default) a key that matches no variable the optimizer is built with raises a
            `ValueError` (a typo should not silently do nothing). Pass `False` with callbacks that rebuild the
            optimizer over the variables trainable *now* (`GradualUnfreezing`, `ChainThaw`): keys of the layers
            still frozen then match nothing yet.
        name: String. The name of the wrapper optimizer. Defaults to `"discriminative"`.

    Example:

    ```python
    import keras

    # A functional base, as keras.applications.VGG19 is: its variable paths ("block1/kernel") do not carry "base".
    base_inputs = keras.Input((8,))
    x = keras.layers.Dense(16, name="block1")(base_inputs)
    base = keras.Model(base_inputs, keras.layers.Dense(16, name="block2")(x), name="base")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(base(inputs)))
    optimizer = Discriminative(keras.optimizers.AdamW(learning_rate=1e-3), multipliers={"base": 0.1, "block2": 0.5})
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

    def __init__(self, optimizer, multipliers, default=1.0, strict=True, name=None, **kwargs):
        if kwargs:
            raise ValueError(
                "Discriminative takes only `optimizer`, `multipliers`, `default`, `strict` and `name`; set learning rate, "
                f"weight decay, clipping and the like on the wrapped optimizer. Received: {kwargs!r}"
            )
        # The wrapper has no learning rate of its own: `learning_rate` is the wrapped optimizer's.
        super().__init__(learning_rate=self._inner_learning_rate, name=name)
        if keras.backend.backend() == "torch":
            raise NotImplementedError(
                "Discriminative needs the TensorFlow or JAX backend: on torch, Keras swaps in multi-tensor optimizers "
                "that bypass `update_step`."
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
        if optimizer.built or getattr(optimizer, "_discriminative_owner", None) is not None:
            raise ValueError(
                "Invalid value for argument `optimizer`: expected a fresh optimizer, not one that is already built "
                f"or wrapped. Received: optimizer={optimizer!r}"
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
        object.__setattr__(optimizer, "_discriminative_owner", self.name)
        self.inner_optimizer = optimizer
        self._multipliers = checked
        self.default = _check_factor("default", default)
        if not isinstance(strict, bool):
            raise ValueError(f"`strict` must be True or False. Received: strict={strict!r}")
        self.strict = strict
        self._factors = None
        self._variable_paths = None

    def _inner_learning_rate(self):
        return self.inner_optimizer.learning_rate

    @property
    def multipliers(self):
        """The factors by key, as given (a copy)."""
        return dict(self._multipliers)

    @property
    def variable_factors(self):
        """Dict mapping each variable path the optimizer was built with to its learning-rate factor."""
        if self._factors is None:
            raise ValueError("`variable_factors` is known once the optimizer is built. Call `optimizer.build(...)`.")
        return dict(zip(self._variable_paths, self._factors))

    def _resolve(self, var_list):
        exact = [key for key in self._multipliers if not _is_pattern(key)]
        patterns = [key for key in self._multipliers if _is_pattern(key)]
        matched = set()
        factors = []
        layer_names = {}
        candidates_of = [_path_candidates(variable.path) for variable in var_list]
        on_paths = {candidate for candidates in candidates_of for candidate, _ in candidates}
        model_ranks = _nested_model_ranks([key for key in exact if key not in on_paths], var_list)
        for variable, candidates in zip(var_list, candidates_of):
            layer_names.update(dict.fromkeys(variable.path.split("/")[:-1]))
            chosen, best_rank = None, None
            for key in exact:
                ranks = [rank for candidate, rank in candidates if candidate == key]
                if id(variable) in model_ranks.get(key, {}):
                    ranks.append(model_ranks[key][id(variable)])
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
            raise ValueError(
                f"`multipliers` key(s) {unknown} match no trainable variable of the model (a key is a layer name, a "
                f"nested model's name, a variable path or a glob pattern over them; see `Discriminative`). "
                f"Available layer names: {list(layer_names)}. A key of a layer that is frozen now matches nothing: "
                "build the optimizer while that layer is trainable, or pass strict=False when a callback thaws "
                "layers later and rebuilds the optimizer (GradualUnfreezing, ChainThaw). "
                f"Received: multipliers={self._multipliers!r}"
            )
        return factors

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        factors = tuple(self._resolve(var_list))
        self._variable_paths = [variable.path for variable in var_list]
        self._factors = factors
        self.inner_optimizer.build(var_list)
        self._install_hooks(factors)
        super().build(var_list)

    def _install_hooks(self, factors):
        """Makes the wrapped optimizer run each variable's update with `factor * learning_rate`.

        Keras optimizers update every variable through `update_step(gradient, variable, learning_rate)`, called
        by `apply` once the gradients are unscaled, accumulated and clipped (on TensorFlow from inside
        `tf.distribute`'s per-variable update). The hook looks the variable's factor up, skips the variable when it
        is 0 and otherwise calls the optimizer's own `update_step` with the scaled rate. Keras's decoupled weight
        decay, `variable -= variable * weight_decay * learning_rate` applied just before the update steps, moves
        into the hook with the same scaled rate. An optimizer with its own weight decay (Muon) keeps it, run
        group by group while its `learning_rate` reads scaled; that shared scale assumes replicas meet in merge
        calls (as `MirroredStrategy` does unless XLA runs on GPUs), so prefer standard weight decay there.
        """
        inner = self.inner_optimizer
        plain_update_step = inner.update_step
        standard_weight_decay = type(inner)._apply_weight_decay is keras.optimizers.Optimizer._apply_weight_decay

        def update_step(gradient, variable, learning_rate):
            factor = factors[inner._get_variable_index(variable)]
            if factor == 0.0:
                return None
            if factor != 1.0:
                learning_rate = ops.multiply(learning_rate, factor)
            if standard_weight_decay and inner.weight_decay is not None and inner._use_weight_decay(variable):
                lr = ops.cast(learning_rate, variable.dtype)
                wd = ops.cast(inner.weight_decay, variable.dtype)
                inner.assign(variable, variable - variable * wd * lr)
            return plain_update_step(gradient, variable, learning_rate)

        if standard_weight_decay:

            def apply_weight_decay(variables):
                return None  # applied per variable in `update_step`

        else:
            plain_apply_weight_decay = inner._apply_weight_decay
            plain_learning_rate = inner._get_current_learning_rate
            scale = [1.0]

            def current_learning_rate():
                learning_rate = plain_learning_rate()
                return learning_rate if scale[0] == 1.0 else ops.multiply(learning_rate, scale[0])

            def apply_weight_decay(variables):
                groups = {}
                for variable in variables:
                    factor = factors[inner._get_variable_index(variable)]
                    if factor != 0.0:
                        groups.setdefault(factor, []).append(variable)
                try:
                    for factor, group in groups.items():
                        scale[0] = factor
                        plain_apply_weight_decay(group)
                finally:
                    scale[0] = 1.0

            object.__setattr__(inner, "_get_current_learning_rate", current_learning_rate)

        object.__setattr__(inner, "update_step", update_step)
        object.__setattr__(inner, "_apply_weight_decay", apply_weight_decay)

    def apply(self, grads, trainable_variables=None):
        if len(grads) == 0:
            return
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
        elif not self.built:
            raise ValueError(
                "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                "variables. Call `optimizer.build(trainable_variables)` first."
            )
        self.inner_optimizer.apply(grads, trainable_variables)
        self._iterations.assign_add(1)

    @property
    def variables(self):
        return self._variables[:] + self.inner_optimizer.variables

    def set_weights(self, weights):
        own = len(self._variables)
        super().set_weights(weights[:own])
        self.inner_optimizer.set_weights(weights[own:])

    def save_own_variables(self, store):
        # The wrapped optimizer saves its own variables (it is the attribute `inner_optimizer`).
        for index, variable in enumerate(self._variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self._variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has {len(self._variables)} variables of "
                f"its own, the saved one {len(store.keys())}.",
                stacklevel=2,
            )
            return
        for index, variable in enumerate(self._variables):
            variable.assign(store[str(index)])

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def loss_scale_factor(self):
        inner = getattr(self, "inner_optimizer", None)
        return None if inner is None else inner.loss_scale_factor

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        inner = getattr(self, "inner_optimizer", None)
        if inner is not None:
            inner.loss_scale_factor = value

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        self.inner_optimizer.exclude_from_weight_decay(var_list=var_list, var_names=var_names)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.inner_optimizer),
            "multipliers": dict(self._multipliers),
            "default": self.default,
            "strict": self.strict,
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
