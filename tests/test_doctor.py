"""The doctor: its checks, its verdict (exit code) and its time estimates."""

import pytest

from keras_transfer import __main__ as cli
from keras_transfer import doctor
from keras_transfer.datasets import fashion_mnist


def test_the_report_checks_what_the_notebooks_need_and_measures_a_step():
    checks, _ = doctor.run_checks(measure=True)
    names = [check.name for check in checks]
    for name in ("python", "tensorflow", "keras", "cpu", "disk", "fashion-mnist", "mnist-digits", "photos",
                 "jupyter-kernel", "speed"):
        assert name in names
    assert all(check.status in ("ok", "warn", "fail") for check in checks)
    assert all(check.fix for check in checks if check.status == "fail")  # every failure says what to do
    step, parallelism = doctor.measure_step(steps=3)
    assert 0 < step < 30 and parallelism > 0


def test_two_tensorflow_packages_block_and_name_the_fix(monkeypatch):
    versions = {"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0"}
    monkeypatch.setattr(doctor, "_version", lambda name: versions.get(name))
    check = next(check for check in doctor.check_packages() if check.name == "tensorflow")
    assert check.status == "fail"
    assert "tensorflow-cpu" in check.detail and "pip uninstall" in check.fix


def test_missing_offline_data_makes_the_command_fail_with_the_fix(monkeypatch, capsys):
    monkeypatch.setattr(fashion_mnist, "find_fashion_mnist", lambda path=None: None)
    assert cli.main(["doctor", "--no-measure"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] fashion-mnist" in out and "make data" in out and "KT_MIRROR" in out
    assert "Blocking: fashion-mnist" in out


def test_estimates_scale_the_reference_times_by_the_measured_step():
    reference = {"step_cpu_seconds": 0.1, "quick_cpu_seconds": {"01_a.ipynb": 60.0, "02_b.ipynb": 120.0}}
    # twice the CPU per step, two CPU-seconds per second: the same wall time as the reference's CPU time
    assert doctor.estimate_times(0.2, 2.0, reference) == pytest.approx({"01_a.ipynb": 60.0, "02_b.ipynb": 120.0})
    assert doctor.estimate_times(0.1, 1.0, reference) == pytest.approx({"01_a.ipynb": 60.0, "02_b.ipynb": 120.0})
    assert doctor.estimate_times(0.2, 1.0, {"step_cpu_seconds": None, "quick_cpu_seconds": {}}) == {}
    text = doctor.format_report([doctor.Check("cpu", "ok", "2 cores")], {"01_a.ipynb": 90.0})
    assert "01_a.ipynb" in text and "1.5 min" in text and "Ready" in text


def test_workers_check_says_how_to_get_ray_and_which_cluster(monkeypatch):
    real_version = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda name: None if name == "ray" else real_version(name))
    (check,) = doctor.check_workers()
    assert check.status == "warn" and 'pip install "keras-transfer[cluster]"' in check.fix
    monkeypatch.setattr(doctor, "_version", lambda name: "2.60.0" if name == "ray" else real_version(name))
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    (check,) = doctor.check_workers()
    assert check.status == "ok" and "RAY_ADDRESS=ray://head:10001" in check.detail
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setattr(doctor.os, "cpu_count", lambda: 4)
    (check,) = doctor.check_workers()
    assert "--workers 4 trains 4 networks at once here" in check.detail
