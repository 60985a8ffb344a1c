"""The Oxford-17 input pipeline against the training throughput of the model it feeds.

Pipeline: `keras_transfer.datasets.load_oxford_flowers17(image_size=(224, 224))` (read the JPEG, decode, resize
bilinear with antialiasing) and `make_pipeline(..., batch_size=32, training=True, augment="flip",
preprocess="vgg19", seed=0)` (shuffle, batch, random horizontal flip, VGG19 preprocessing, prefetch), on fixture
JPEGs of the real archive's layout and about its size (500x375, `make_oxford17_fixture`, written to a temporary
folder). The headline pipeline runs with `cache=False`, i.e. it decodes and resizes every image: the first epoch
of a training, the worst case (later epochs read the resized images from the cache: reported as a detail).

Model: the full profile's Model 1 / Model 3 network, Keras's VGG19 at 224x224 (`weights=None`) + two dense layers
+ output (`build_vgg19_classifier(17)`), compiled as the experiment does; a few training steps on CPU (the first
one, which traces, left out).

Headline: images/s of the pipeline divided by images/s of the training, median over interleaved rounds. Goal: at
least 3x (the pipeline never starves the model). Both are measured alone: on a CPU they share the cores when a
real `fit()` runs them together, so 1/ratio is also about the share of the CPU the pipeline takes from training.

Run: .venv/bin/python benchmarks/bench_input_pipeline.py [--smoke]
"""

import pathlib
import sys
import tarfile
import tempfile

import _common

NAME = "input_pipeline"
GOAL = 3.0
SIZES = {
    "smoke": {"fixture_size": (64, 48), "images_per_class": 4, "image_size": (32, 32), "train_batch": 2,
              "train_steps": 2, "repeats": 1},
    "quick": {"fixture_size": (500, 375), "images_per_class": 16, "image_size": (224, 224), "train_batch": 4,
              "train_steps": 2, "repeats": 1},
}
PIPELINE_BATCH = 32


def main(args):
    import keras
    import numpy as np

    from keras_transfer import datasets
    from keras_transfer import models as kt_models
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))  # the test fixtures live there
    import fixtures

    _common.quiet_tensorflow()
    size = SIZES[args.size]
    repeats = args.repeats or size["repeats"]
    with tempfile.TemporaryDirectory(prefix="kt-bench-oxford17-") as folder:
        folder = pathlib.Path(folder)
        fixture = fixtures.make_oxford17_fixture(
            folder / "mirror", images_per_class=size["images_per_class"], image_size=size["fixture_size"]
        )
        with tarfile.open(fixture.files["17flowers.tgz"]) as archive:
            archive.extractall(folder / "oxford17", filter="data")
        (folder / "oxford17" / "datasplits.mat").write_bytes(fixture.files["datasplits.mat"].read_bytes())
        flowers = datasets.load_oxford_flowers17(1, image_size=size["image_size"], path=folder / "oxford17", verbose=0)
        jpeg_bytes = [path.stat().st_size for path in (folder / "oxford17" / "jpg").glob("*.jpg")]

        def pipeline(cache):
            return datasets.make_pipeline(
                flowers.train, batch_size=PIPELINE_BATCH, training=True, augment="flip", preprocess="vgg19",
                cache=cache, seed=0,
            )

        uncached = pipeline(False)
        cached = pipeline(True)
        for _ in cached:  # fills the cache: later passes are the steady epochs
            pass

        def one_pass(dataset):
            def run():
                count = 0
                for images, _ in dataset:
                    count += int(images.shape[0])
                return {"images": count}

            return run

        keras.utils.set_random_seed(0)
        model = kt_models.build_vgg19_classifier(
            len(flowers.class_names), weights=None, input_shape=(*size["image_size"], 3)
        )
        model.compile(
            optimizer=keras.optimizers.Adam(1e-4, clipnorm=1.0),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        batch = size["train_batch"]
        images, labels = next(iter(uncached))
        x = np.asarray(images)[:batch]
        y = np.asarray(labels)[:batch]
        steps = size["train_steps"]
        x_train = np.concatenate([x] * (steps + 1))
        y_train = np.concatenate([y] * (steps + 1))

        def train():
            timer = _common.batch_timer()
            model.fit(x_train, y_train, batch_size=batch, epochs=1, shuffle=False, callbacks=[timer], verbose=0)
            step = _common.median(timer.steady_batches())
            return {"images": batch, "step_s": step}

        # No warm-up fit: each fit's first batch, which traces the train function, is left out of its step time.
        one_pass(uncached)()  # builds the pipeline's functions and thread pools
        rounds = _common.interleave(
            {"pipeline": one_pass(uncached), "training": train, "pipeline_cached": one_pass(cached)}, repeats
        )
    def per_image(name, key):
        return [run["images"] / seconds for run, seconds in zip(rounds[name]["extra"], rounds[name][key])]

    pipeline_rates = per_image("pipeline", "wall")
    pipeline_cpu = [1 / rate for rate in per_image("pipeline", "cpu")]
    cached_rates = per_image("pipeline_cached", "wall")
    training_rates = [run["images"] / run["step_s"] for run in rounds["training"]["extra"]]
    ratios = _common.paired_ratios(pipeline_rates, training_rates)
    cached_ratios = _common.paired_ratios(cached_rates, training_rates)
    value = _common.median(ratios)
    return {
        "benchmark": NAME,
        "value": round(value, 2),
        "unit": "x (pipeline images/s / training images/s)",
        "goal": f">= {GOAL:g}x",
        "met": bool(value >= GOAL),
        "ratio_rounds": _common.spread(ratios, 2),
        "ratio_cached_epochs": _common.spread(cached_ratios, 2),
        "pipeline_images_per_s": _common.spread(pipeline_rates, 2),
        "pipeline_cached_images_per_s": _common.spread(cached_rates, 2),
        "pipeline_cpu_ms_per_image": _common.spread([1000 * value for value in pipeline_cpu], 2),
        "training_images_per_s": _common.spread(training_rates, 3),
        "training_step_s": _common.spread([run["step_s"] for run in rounds["training"]["extra"]], 3),
        "training_batch_size": batch,
        "pipeline_batch_size": PIPELINE_BATCH,
        "pipeline_images_per_pass": int(rounds["pipeline"]["extra"][0]["images"]),
        "jpeg_size": list(size["fixture_size"]),
        "jpeg_kib_median": round(float(np.median(jpeg_bytes)) / 1024, 1),
        "image_size": list(size["image_size"]),
        "model": "VGG19 (weights=None) + 2 dense + output, trainable",
    }


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0])
