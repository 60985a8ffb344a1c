"""Tests of the progress bars: `keras_transfer.progress.bar`, the `EpochProgress` callback, and the notebooks' mode."""

import os

import keras
import numpy as np
import pytest

from keras_transfer import notebooks
from keras_transfer import progress
from keras_transfer.models import training


def _draw(total=3, **kwargs):
    with progress.bar(total, "Counting", unit="network", mininterval=0, **kwargs) as bar:
        for _ in range(total):
            bar.update(1)
        bar.set_postfix_str("last 91.0%")


def test_the_text_bar_writes_to_stdout_not_stderr(monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", "text")
    _draw(3, verbose=1)
    captured = capsys.readouterr()
    assert "Counting" in captured.out and "3/3" in captured.out and "last 91.0%" in captured.out
    assert captured.err == ""


def test_the_mode_outside_a_kernel_is_text(monkeypatch):
    monkeypatch.delenv("KT_PROGRESS", raising=False)
    assert progress.mode() == "text"
    monkeypatch.setenv("KT_PROGRESS", " Widget ")
    assert progress.mode() == "widget"


@pytest.mark.parametrize("mode", ["text", "off"])
def test_verbose_0_draws_nothing(mode, monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", mode)
    _draw(3, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_kt_progress_off_hides_every_bar(monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", "off")
    assert progress.mode() == "off"
    _draw(3, verbose=2)
    assert capsys.readouterr() == ("", "")


def test_an_invalid_kt_progress_raises_a_value_error_naming_it(monkeypatch):
    monkeypatch.setenv("KT_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="KT_PROGRESS.*fancy"):
        progress.mode()
    with pytest.raises(ValueError, match="KT_PROGRESS"):
        progress.bar(3, "Counting")


def _tiny_model():
    inputs = keras.Input((4,), name="values")
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.multibackend
def test_the_keras_callback_advances_one_step_per_epoch(monkeypatch, capsys):
    monkeypatch.setenv("KT_PROGRESS", "text")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 2, 10)
    model = _tiny_model()
    with progress.bar(5, "Training", unit="epoch", mininterval=0) as bar:
        callback = training.EpochProgress(bar)
        history = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=[callback])
        assert bar.n == 2
        assert bar.postfix == f"val accuracy {history.history['val_accuracy'][-1]:.1%}"
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callback])  # one instance, a second fit, no validation
        assert bar.n == 4
        assert bar.postfix.startswith("accuracy ")
    output = capsys.readouterr()
    assert "Training" in output.out and "4/5" in output.out and "Epoch" not in output.out and output.err == ""
    with progress.bar(2, "Loss", mininterval=0) as bar:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[training.EpochProgress(bar, monitor="loss")])
        assert bar.n == 1 and bar.postfix.startswith("loss ") and "%" not in bar.postfix


def test_the_keras_callback_refuses_bad_arguments():
    with pytest.raises(ValueError, match="bar"):
        training.EpochProgress("a bar")
    with progress.bar(1, "Counting", verbose=0) as bar:
        with pytest.raises(ValueError, match="monitor"):
            training.EpochProgress(bar, monitor="")


@pytest.mark.parametrize(("given", "expected"), [(None, "text"), ("widget", "text"), ("off", "off")])
def test_executed_notebooks_draw_text_bars(given, expected, monkeypatch, tmp_path):
    """Papermill has no widget front end: `execute_notebook` gives the kernel `KT_PROGRESS=text` (off stays off)."""
    import papermill

    seen = {}

    def fake_execute(source, output, **kwargs):
        seen.update(KT_PROGRESS=os.environ.get("KT_PROGRESS"), TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL"))

    if given is None:
        monkeypatch.delenv("KT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("KT_PROGRESS", given)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    notebook = tmp_path / "00_empty.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    run = notebooks.execute_notebook(notebook, "smoke", output_dir=tmp_path / "executed")
    assert run.status == "ok", run.error
    assert seen == {"KT_PROGRESS": expected, "TF_CPP_MIN_LOG_LEVEL": "2"}
    assert os.environ.get("KT_PROGRESS") == given  # restored afterwards


@pytest.mark.parametrize(("given", "widgets", "status"),
                         [(None, True, "ok"), (None, False, "warn"), ("off", True, "warn"), ("fancy", True, "fail")])
def test_the_doctor_checks_how_bars_will_draw(given, widgets, status, monkeypatch):
    from keras_transfer import doctor

    if given is None:
        monkeypatch.delenv("KT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("KT_PROGRESS", given)
    monkeypatch.setattr(doctor, "_widgets_installed", lambda: widgets)
    (check,) = doctor.check_progress()
    assert check.name == "progress-bars" and check.status == status
    if status != "ok":
        assert check.fix
    if given == "fancy":
        assert "fancy" in check.detail and "KT_PROGRESS" in check.fix
    if not widgets:
        assert "ipywidgets" in check.fix
