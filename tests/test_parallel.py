"""keras_transfer.parallel: experiments spread over Ray workers give the rows of a sequential run, and a worker killed
mid-run has its task retried with nothing lost or duplicated. (The measured speed-up: benchmarks/parallel_runs.py.)

The sequential reference runs in a subprocess, as a user runs it: the Ray workers keep the default thread pools
(`parallel.worker_environment`), so their rows are the same to the last digit. (Capped at one thread, a worker's
float sums run in another order: the seventh digit of a smoke loss, other accuracies in a quick grid.)
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from keras_transfer import parallel
from keras_transfer import paths
from keras_transfer.experiments import base

TIMING = ("wall_time_s", "cpu_time_s", "resumed")
REFERENCE = """
import json, sys
import keras_transfer as kt
name, output, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
result = kt.experiments.run(name, "smoke", output_dir=output, verbose=0, workers=1, **overrides)
print(json.dumps(result.rows))
"""


def _without_timing(rows):
    return [{key: value for key, value in row.items() if key not in TIMING} for row in rows]


def _sequential_rows(name, output, overrides):
    environment = {**os.environ}
    environment.pop("KT_WORKERS", None)
    completed = subprocess.run([sys.executable, "-c", REFERENCE, name, str(output), json.dumps(overrides)],
                               env=environment, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return _without_timing(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_check_workers_names_the_argument():
    assert parallel.check_workers(3) == 3
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="`workers` must be a positive integer"):
            parallel.check_workers(bad)


def test_kt_workers_sets_the_default(monkeypatch):
    monkeypatch.delenv("KT_WORKERS", raising=False)
    assert parallel.default_workers() == 1
    monkeypatch.setenv("KT_WORKERS", "4")
    assert parallel.default_workers() == 4
    monkeypatch.setenv("KT_WORKERS", "four")
    with pytest.raises(ValueError, match="KT_WORKERS must be a positive integer. Received: 'four'"):
        parallel.default_workers()


def test_one_worker_runs_the_tasks_here_in_order():
    calls = []

    def task(shared, item):
        calls.append(item)
        return shared + item

    with parallel.Workers(1) as workers:
        assert list(workers.map(task, [3, 1, 2], shared=10)) == [(0, 13), (1, 11), (2, 12)]
        assert not workers.parallel
    assert calls == [3, 1, 2]


def test_without_ray_the_tasks_run_here_and_it_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setattr(parallel, "ray_available", lambda: False)
    with parallel.Workers(2) as workers:
        assert list(workers.map(lambda shared, item: item * 2, [1, 2])) == [(0, 2), (1, 4)]
    assert f"Ray is not installed, so the 2 workers asked for are not used" in capsys.readouterr().out
    assert parallel.INSTALL_HINT == 'pip install "keras-transfer[cluster]"'


def test_worker_environment_keeps_the_thread_pools_unless_capped(monkeypatch):
    import keras

    monkeypatch.setenv("KT_DATA_DIR", "/somewhere")
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    environment = parallel.worker_environment()
    assert environment["KERAS_BACKEND"] == keras.backend.backend() and environment["KT_DATA_DIR"] == "/somewhere"
    assert "TF_NUM_INTRAOP_THREADS" not in environment  # TensorFlow's default pool, as in this process
    assert environment["OMP_NUM_THREADS"] == str(os.cpu_count())  # not the 1 Ray would set for a one-core task
    capped = parallel.worker_environment(1)
    assert capped["TF_NUM_INTRAOP_THREADS"] == capped["OMP_NUM_THREADS"] == "1"
    assert "intra_op_parallelism_threads=1" in capped["XLA_FLAGS"]
    assert parallel.worker_environment(2)["TF_NUM_INTRAOP_THREADS"] == "2"


def test_an_experiment_without_workers_says_it_trains_one_after_another(tmp_path, capsys):
    @base.recipe("toy")
    def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
        return base.ExperimentResult("toy", profile, [{"model": "m", "seed": 0, "accuracy": 0.5}], {}, {})

    result = run("smoke", output_dir=tmp_path, workers=2)
    assert "toy trains its networks one after another here" in capsys.readouterr().out
    assert result.metadata["workers"] == 1


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance of 2 workers for the module (its start costs 10-20 s)."""
    import ray

    with paths.environment(**parallel.worker_environment()):  # the workers inherit it
        ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def _kill_one_task(killed, stop):
    """Sends SIGKILL to the first Ray worker seen running a task (its process title is `ray::_task`)."""
    while not stop.is_set():
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    title = handle.read().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(b"ray::_task"):
                time.sleep(0.5)  # into the training, not its first instruction
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(int(entry))
                return
        time.sleep(0.1)


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker's process through /proc")
def test_transferability_over_two_workers_survives_a_killed_worker(local_ray, tmp_path):
    from keras_transfer.experiments import transferability

    expected = _sequential_rows("transferability", tmp_path / "sequential", {"resume": False})
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_one_task, args=(killed, stop), daemon=True)
    killer.start()
    try:
        result = transferability.run("smoke", output_dir=tmp_path / "parallel", verbose=0, workers=2, resume=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was running a task to kill"
    assert _without_timing(result.rows) == expected  # the same rows, to the digit, in the same order
    assert result.metadata["workers"] == 2
    journal = [json.loads(line)["run_id"] for line in (tmp_path / "parallel" / "runs.jsonl").read_text().splitlines()]
    assert sorted(journal) == sorted({*journal}) and len(journal) == 2 + len(result.rows) - 1  # each network once


def test_models_1_4_over_two_workers_gives_the_sequential_rows(local_ray, tmp_path):
    from keras_transfer.experiments import models_1_4

    overrides = {"labels_per_class": [2], "compare_labels_per_class": [2], "models": ["scratch", "fine_tuned"],
                 "compare_models": ["frozen"], "find_learning_rate": False}
    expected = _sequential_rows("models-1-4", tmp_path / "sequential", overrides)
    result = models_1_4.run("smoke", output_dir=tmp_path / "parallel", verbose=0, workers=2, **overrides)
    assert [row["model"] for row in result.rows] == ["scratch/n2", "fine_tuned/n2", "frozen/black/n2"]
    assert _without_timing(result.rows) == expected
    assert result.metadata["transferability"]  # the sources scored in this process after the workers' networks


def test_a_task_gets_the_results_it_needs_and_they_must_come_first():
    def task(shared, item, *earlier):
        return item + sum(earlier)

    with parallel.Workers(1) as workers:
        results = dict(workers.map(task, [1, 10, 100], needs=lambda item: [0, 1] if item == 100 else []))
    assert results == {0: 1, 1: 10, 2: 111}
    with pytest.raises(ValueError, match=r"Task 0 \(1\) needs tasks \(1,\): they must come before it"):
        list(parallel.Workers(1).map(task, [1, 10], needs=lambda item: [1] if item == 1 else []))
