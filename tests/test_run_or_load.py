"""Results that load instantly: `experiments.run(..., results="auto")` reuses a saved result of the same request."""

import types

import pytest

from keras_transfer.experiments import base


def _fake_experiment():
    calls = []

    def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
        config = {**module.CONFIGS[profile], **overrides}
        seeds = config["seeds"] if seeds is None else seeds
        calls.append({"seeds": tuple(seeds), **overrides})
        rows = [{"model": "frozen", "seed": seed, "test_accuracy": 0.5 + 0.1 * seed} for seed in seeds]
        return base.ExperimentResult("fake", profile, rows, metadata={"wall_time_s": 12.0})

    module = types.SimpleNamespace(
        CONFIGS={"smoke": {"seeds": (0, 1, 2), "epochs": 3}, "quick": {"seeds": (0, 1, 2), "epochs": 30}},
        LIVE={"smoke": {"epochs": 1}},
    )
    module.run = base.recipe("fake", module=module)(run)
    return module, calls


def test_auto_loads_the_same_request_and_trains_a_different_one(tmp_path):
    module, calls = _fake_experiment()
    first = base.run_or_load(module, "fake", "smoke", results="auto", output_dir=tmp_path, verbose=0)
    assert len(calls) == 1 and "loaded_from" not in first.metadata
    assert base.provenance(first).startswith("Trained now")
    again = base.run_or_load(module, "fake", "smoke", results="auto", output_dir=tmp_path, verbose=0)
    assert len(calls) == 1, "the saved result of the same request was not reused"
    assert again.rows == first.rows and again.metadata["loaded_from"].endswith("result.json")
    assert base.provenance(again).startswith(f"Loaded from {tmp_path}")
    other = base.run_or_load(module, "fake", "smoke", results="auto", output_dir=tmp_path, verbose=0, epochs=5)
    assert len(calls) == 2 and calls[-1]["epochs"] == 5 and "loaded_from" not in other.metadata
    base.run_or_load(module, "fake", "smoke", results="train", output_dir=tmp_path, verbose=0, epochs=5)
    assert len(calls) == 3, "results='train' must always train"


def test_live_runs_one_seed_with_the_live_settings_in_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KT_RESULTS_DIR", str(tmp_path))
    module, calls = _fake_experiment()
    result = base.run_or_load(module, "fake", "smoke", live=True, verbose=0)
    assert calls == [{"seeds": (0,), "epochs": 1}]
    assert (tmp_path / "fake" / "smoke-live" / "result.json").exists()
    assert not (tmp_path / "fake" / "smoke").exists()
    assert [row["seed"] for row in result.rows] == [0]


def test_results_mode_is_checked():
    module, _ = _fake_experiment()
    with pytest.raises(ValueError, match="results"):
        base.run_or_load(module, "fake", "smoke", results="load")


def test_changed_settings_are_saved_apart_and_loaded_from_there(tmp_path, monkeypatch):
    monkeypatch.setenv("KT_RESULTS_DIR", str(tmp_path))
    module, calls = _fake_experiment()
    base.run_or_load(module, "fake", "smoke", results="auto", verbose=0)
    exercise = base.run_or_load(module, "fake", "smoke", results="auto", verbose=0, epochs=7)
    folders = sorted(path.name for path in (tmp_path / "fake").iterdir())
    assert folders[0] == "smoke" and len(folders) == 2 and folders[1].startswith("smoke-")
    plain = base.ExperimentResult.load(tmp_path / "fake" / "smoke")
    assert plain.metadata["request"]["config"]["epochs"] == 3, "the exercise replaced the profile's result"
    again = base.run_or_load(module, "fake", "smoke", results="auto", verbose=0, epochs=7)
    assert len(calls) == 2 and again.metadata["loaded_from"].startswith(str(tmp_path / "fake" / folders[1]))
    assert exercise.rows == again.rows


def test_a_run_that_is_not_a_recipe_is_refused():
    module, _ = _fake_experiment()
    module.run = module.run.__wrapped__
    with pytest.raises(TypeError, match="recipe"):
        base.run_or_load(module, "fake", "smoke")


def test_the_recipe_times_records_and_saves_once(tmp_path):
    module, calls = _fake_experiment()
    result = module.run("smoke", output_dir=tmp_path, verbose=0, epochs=2)
    assert calls == [{"seeds": (0, 1, 2), "epochs": 2}]
    for key in ("wall_time_s", "cpu_time_s", "backend", "keras", "keras_transfer", "finished_at", "machine"):
        assert key in result.metadata, key
    assert result.metadata["wall_time_s"] != 12.0, "the recipe's own timing must replace what run() returned"
    assert result.metadata["request"] == base.request_of(module, "fake", "smoke", None, {"epochs": 2})
    saved = base.ExperimentResult.load(tmp_path)
    assert saved.rows == result.rows and saved.metadata["request"] == result.metadata["request"]
    with pytest.raises(ValueError, match="profile"):
        module.run("fast", output_dir=tmp_path)


def test_stopwatch_counts_wall_and_cpu_seconds():
    clock = base.Stopwatch()
    sum(index * index for index in range(200_000))
    times = clock.times()
    assert set(times) == {"wall_time_s", "cpu_time_s"}
    assert clock.wall_s > 0 and clock.cpu_s > 0 and times["wall_time_s"] >= 0
