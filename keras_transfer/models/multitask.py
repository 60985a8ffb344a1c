"""Multitask networks: one base shared by a class head and a box head, and the single-task networks beside it.

The lecture: "the multi-layer structure makes a neural network suitable for multitask learning". The lower layers
compute features every task can use; each task adds its own head on top, and the losses of the tasks are summed
(with weights), so the base learns from the labels of every task. A task with few labels may borrow what the base
learned from another task's many labels.

`build_multitask_network(tasks=("class", "box"))` builds the shared network; `tasks=("class",)` and
`tasks=("box",)` build the two single-task networks with the same base and heads, so the only difference is the
sharing. Outputs are a dict keyed by task: `"class"` (softmax over the classes) and `"box"` (relative
`[xmin, ymin, xmax, ymax]` through a sigmoid, trained with a Huber loss on the coordinates, as box regression
heads usually are). `compile_multitask` sets the loss of each task and the loss weighting.

Example:

```python
model = build_multitask_network((32, 32, 3), num_classes=5)
compile_multitask(model, box_weight=1.0)
model.fit(images, {"class": labels, "box": boxes}, sample_weight={"class": has_label, "box": has_box})
```

Reference:
    R. Caruana, Multitask Learning, Machine Learning 28, 1997.
"""

import keras

TASKS = ("class", "box")


def _check_tasks(tasks):
    tasks = tuple(tasks)
    if not tasks or len(set(tasks)) != len(tasks) or any(task not in TASKS for task in tasks):
        raise ValueError(f"`tasks` must be distinct names out of {TASKS}. Received: tasks={tasks!r}")
    return tasks


CLASS_POOLING = ("flatten", "average", "max")
_GLOBAL_POOLING = {"average": lambda x: keras.layers.GlobalAveragePooling2D(name="class_pooling")(x),
                   "max": lambda x: keras.layers.GlobalMaxPooling2D(name="class_pooling")(x)}


def build_multitask_network(input_shape, num_classes, *, tasks=TASKS, filters=(32, 64, 96), head_units=128,
                            dropout=0.2, class_pooling="flatten", name=None):
    """A small convolutional base with one head per task.

    Base: `rescaling` (pixels in [0, 255] to [0, 1]), then per entry of `filters` two 3x3 convolutions (ReLU)
    and a 2x2 max-pooling, then `flatten` (flattened, not pooled: a box head needs to know *where* things are).
    Each head: a dense layer of `head_units` (ReLU), dropout, and its output.

    Args:
        input_shape: tuple of int. `(height, width, channels)`.
        num_classes: int. Classes of the `"class"` head.
        tasks: tuple of str. Heads to build, out of `TASKS`.
        filters: tuple of int. Filters of each block.
        head_units: int. Units of each head's hidden layer.
        dropout: float. Dropout in each head, in [0, 1).
        class_pooling: str. How the class head reads the base's last feature map: `"flatten"` (as the box head),
            `"average"` or `"max"` (global pooling: where the item is no longer matters to the class head).
        name: str or None. The model's name (default `"multitask"` or `"<task>_only"`).

    Returns:
        An uncompiled functional `keras.Model` whose outputs are a dict keyed by task.
    """
    tasks = _check_tasks(tasks)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2. Received: num_classes={num_classes!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if class_pooling not in CLASS_POOLING:
        raise ValueError(f"`class_pooling` must be one of {CLASS_POOLING}. Received: class_pooling={class_pooling!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for block, width in enumerate(filters, start=1):
        for index in (1, 2):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{block}_conv{index}")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    # the box head reads the flattened map (it needs to know *where*); the class head reads it as `class_pooling` says
    flat = keras.layers.Flatten(name="flatten")(x) if "box" in tasks or class_pooling == "flatten" else None
    features = {"box": flat}
    if "class" in tasks:
        features["class"] = flat if class_pooling == "flatten" else _GLOBAL_POOLING[class_pooling](x)
    outputs = {}
    for task in tasks:
        hidden = keras.layers.Dense(head_units, activation="relu", name=f"{task}_hidden")(features[task])
        hidden = keras.layers.Dropout(dropout, name=f"{task}_dropout")(hidden)
        if task == "class":
            outputs[task] = keras.layers.Dense(num_classes, activation="softmax", name="class")(hidden)
        else:
            outputs[task] = keras.layers.Dense(4, activation="sigmoid", name="box")(hidden)
    default = "multitask" if len(tasks) > 1 else f"{tasks[0]}_only"
    return keras.Model(inputs, outputs, name=name or default)


def compile_multitask(model, *, box_weight=1.0, class_weight=1.0, learning_rate=1e-3):
    """Compiles a network of `build_multitask_network`: cross-entropy for classes, Huber for boxes, weighted sum.

    Args:
        model: keras.Model. Outputs a dict keyed by task.
        box_weight: float. Weight of the box loss in the total loss (the loss weighting of multitask learning).
        class_weight: float. Weight of the class loss.
        learning_rate: float. Adam's learning rate.

    Returns:
        `model`, compiled.
    """
    for key, value in (("box_weight", box_weight), ("class_weight", class_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"`{key}` must be a number >= 0. Received: {key}={value!r}")
    tasks = list(model.output.keys()) if isinstance(model.output, dict) else []
    if not tasks or any(task not in TASKS for task in tasks):
        raise ValueError(f"`model` must output a dict keyed by tasks out of {TASKS}. Received: model={model.name!r}")
    losses = {"class": keras.losses.SparseCategoricalCrossentropy(), "box": keras.losses.Huber(delta=0.1)}
    weights = {"class": float(class_weight), "box": float(box_weight)}
    metrics = {"class": ["accuracy"], "box": []}
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={task: losses[task] for task in tasks},
        loss_weights={task: weights[task] for task in tasks},
        metrics={task: metrics[task] for task in tasks},
    )
    return model
