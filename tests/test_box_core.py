"""The box regressor's core pieces (`layers.BoxCorners`, `metrics.BoxIoU` and `metrics.box_iou`): registered by a plain
`import keras_transfer`, so a saved box regressor loads after that import alone, and each file works copied alone."""

import pathlib
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np

import keras_transfer
from keras_transfer import losses
from keras_transfer.models import localization

PACKAGE = pathlib.Path(keras_transfer.__file__).resolve().parent


def _run(code, cwd):
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_saved_box_regressor_loads_after_a_plain_import_and_the_core_files_work_copied_alone(tmp_path):
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", name="block1_conv1")(inputs)
    backbone = keras.Model(inputs, keras.layers.MaxPooling2D(2, name="block1_pool")(features), name="backbone")
    model = localization.build_box_regressor(backbone, head_units=(8,), trainable_from="block1_conv1")
    model.compile("adam", loss=losses.GIoULoss(), metrics=[keras_transfer.metrics.BoxIoU()])
    x = np.random.default_rng(0).uniform(0, 255, size=(4, 8, 8, 3)).astype("float32")
    model.fit(x, np.tile([[0.1, 0.2, 0.5, 0.6]], (4, 1)).astype("float32"), epochs=1, verbose=0)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    model.save(tmp_path / "regressor.keras")
    # A fresh interpreter that imports keras_transfer and nothing below it (not keras_transfer.models).
    output = _run(
        """
        import sys
        import keras
        import numpy as np
        import keras_transfer
        assert "keras_transfer.models" not in sys.modules
        model = keras.saving.load_model("regressor.keras", safe_mode=True)
        np.testing.assert_allclose(model.predict(np.load("x.npy"), verbose=0), np.load("expected.npy"), rtol=1e-5)
        scores = model.evaluate(np.load("x.npy"), np.load("expected.npy"), return_dict=True, verbose=0)
        print(type(model.get_layer("box")).__name__, type(model.loss).__name__, ",".join(sorted(scores)), scores["iou"], sep="|")
        """,
        cwd=tmp_path,
    )
    layer, loss, names, iou = output.strip().split("|")
    assert (layer, loss, names) == ("BoxCorners", "GIoULoss", "iou,loss")
    assert float(iou) > 0.999  # the model's own predictions as targets: IoU 1
    # Copied into another project without the package: each file imports only keras, numpy and the standard library.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PACKAGE / "layers" / "box_corners.py", project)
    shutil.copy(PACKAGE / "metrics.py", project / "box_metrics.py")
    output = _run(
        """
        import sys
        import numpy as np
        import box_corners, box_metrics
        assert not any(name.startswith("keras_transfer") for name in sys.modules)
        boxes = box_corners.BoxCorners()(np.array([[0.6, 0.1, 0.2, 0.5]], "float32"))
        metric = box_metrics.BoxIoU(threshold=0.5)
        metric.update_state([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.5]], [[0.0, 0.0, 0.5, 0.4], [0.5, 0.5, 1, 1]])
        np.testing.assert_allclose(np.asarray(boxes), [[0.2, 0.1, 0.6, 0.5]], atol=1e-7)
        np.testing.assert_allclose(np.asarray(box_metrics.box_iou([[0.0, 0.0, 0.5, 0.5]], [[0.0, 0.0, 0.5, 0.4]])),
                                   [0.8], atol=1e-5)
        print(float(metric.result()))
        """,
        cwd=project,
    )
    assert float(output) == 0.5  # IoU 0.8 for the first pair, 0 for the second
