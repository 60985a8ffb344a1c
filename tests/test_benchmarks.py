"""Every benchmark script runs standalone with `--smoke` and prints one valid JSON line of measured figures.

Goals are reported by the scripts, not asserted here: a shared or slow machine changes the figures, not whether the
scripts work.
"""

import concurrent.futures
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run_all  # noqa: E402 - benchmarks/ is not a package

BENCHMARKS = sorted(path.name for path in (ROOT / "benchmarks").glob("bench_*.py"))
# What `make bench` runs: every script on TensorFlow, the backend-independent ones on JAX as well.
MAKE_BENCH_RUNS = [(script.name, backend) for script, backend in run_all.runs()]
# What the smoke tests run: everything on TensorFlow; on JAX only the script whose measured code takes a JAX-only
# path (ChainThaw's switch keeps one test function there). The other JAX runs time code whose JAX behaviour the
# unit tests already check (`fit_on_features`, `GradientReversal`), through the same script lines as on TensorFlow.
JAX_SMOKE = {"bench_chain_thaw_switch.py"}
RUNS = [(script, backend) for script, backend in MAKE_BENCH_RUNS if backend == "tensorflow" or script in JAX_SMOKE]
REQUIRED = ("benchmark", "backend", "value", "unit", "goal", "met")
# Issue 20: the figures these two print beside their value, measured in the same run.
REQUIRED_BY_SCRIPT = {
    "bench_frozen_features.py": ("bound", "share_of_bound", "fixed_cost_bound", "epoch_ratio", "epoch_flop_bound"),
    "bench_chain_thaw_switch.py": ("floor", "seconds_per_switch", "trace_seconds", "switch_in_traces_by_set"),
}
EXPECTED = {
    "bench_chain_thaw_switch.py",
    "bench_flops.py",
    "bench_frozen_features.py",
    "bench_gradient_reversal.py",
    "bench_input_pipeline.py",
    "bench_jit_compile.py",
}


def test_every_benchmark_is_here():
    assert EXPECTED <= set(BENCHMARKS)
    assert {script for script, backend in MAKE_BENCH_RUNS if backend == "tensorflow"} == set(BENCHMARKS)
    assert {script for script, backend in MAKE_BENCH_RUNS if backend == "jax"} >= {
        "bench_chain_thaw_switch.py",
        "bench_frozen_features.py",
        "bench_gradient_reversal.py",
    }


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """Runs every script with `--smoke` on each backend `make bench` runs it on, two at a time (they are mostly
    single-threaded), each with its own cache."""

    def run(script_backend):
        script, backend = script_backend
        data = tmp_path_factory.mktemp("kt-data")
        env = {**os.environ, "KT_DATA_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": backend}
        env.pop("KT_MIRROR", None)
        return subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS)))


@pytest.mark.parametrize(("script", "backend"), RUNS)
def test_benchmark_smoke_prints_one_json_line(script, backend, smoke_runs):
    completed = smoke_runs[script, backend]
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stdout
    record = json.loads(lines[0])
    for key in REQUIRED + REQUIRED_BY_SCRIPT.get(script, ()):
        assert key in record, f"{script}: no {key!r} in {record}"
    assert record["benchmark"] == script[len("bench_") : -len(".py")]
    assert record["backend"] == backend
    assert isinstance(record["value"], (int, float)) and not isinstance(record["value"], bool)
    assert math.isfinite(record["value"]) and record["value"] > 0, record
    assert isinstance(record["unit"], str) and record["unit"]
    # A benchmark without a goal (FLOP/s: reported only) says so with goal and met both None.
    if record["goal"] is None:
        assert record["met"] is None
    else:
        assert isinstance(record["met"], bool)
    assert record["size"] == "smoke"
    # a figure compared with a bound (a ratio it cannot pass) or a floor (a cost it cannot go under) prints it
    for beside in ("bound", "floor"):
        if beside in record:
            assert isinstance(record[beside], (int, float)) and record[beside] > 0, record
    assert record["machine"]["logical_cpus"] >= 1


def test_chain_thaw_switch_cost_per_switch():
    # Each switch's excess over a typical epoch start, in training order; they add up to the total.
    import bench_chain_thaw_switch

    def epoch(start, first_batch, validation):
        return {"first_batch_begin": start, "batches": [first_batch, 0.1], "test_begin": start + 1.0,
                "test_end": start + 1.0 + validation}

    # a gap of 0.8 s between a validation's end and the next epoch; the switches (epochs 2 and 4) start 0.5 s late,
    # one with a first batch 0.3 s slower, the other with a validation 1.0 s slower
    epochs = [epoch(0.0, 0.1, 0.2), epoch(2.0, 0.1, 0.2), epoch(4.5, 0.4, 0.2), epoch(6.5, 0.1, 0.2),
              epoch(9.0, 0.1, 1.2), epoch(12.0, 0.1, 0.2)]
    excess, _, parts = bench_chain_thaw_switch.switch_cost(epochs, {2, 4})
    assert parts["each"] == pytest.approx([0.5 + 0.3, 0.5 + 1.0])
    assert excess == pytest.approx(sum(parts["each"]))


def test_benchmark_refuses_bad_arguments():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_flops.py"), "--smoke", "--repeats", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "--repeats must be at least 1" in completed.stderr


def test_the_workers_projection_deals_networks_longest_first_phase_by_phase():
    import workers  # benchmarks/workers.py: not in make bench (most of an hour), its arithmetic tested here

    assert workers.makespan([4, 3, 3, 2], 2) == 6  # 4+2 and 3+3
    assert workers.makespan([5, 1, 1, 1], 4) == 5
    # bases (two of 10 s) before the grid (four of 5 s): 2 workers 10 + 10 = 20 of 40 s, 4 workers 10 + 5
    assert workers.projection([[10, 10], [5, 5, 5, 5]], 2) == pytest.approx(40 / 20)
    assert workers.projection([[10, 10], [5, 5, 5, 5]], 4) == pytest.approx(40 / 15)
