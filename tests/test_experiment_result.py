"""The results table every experiment prints: mean ± std cells, counts as whole numbers, and a JSON round trip."""

from keras_transfer.experiments import ExperimentResult


def _result():
    rows = [
        {"model": "a", "seed": 0, "test_accuracy": 1.0, "epochs": 12, "params": 401557, "wall_time_s": 4.25},
        {"model": "a", "seed": 1, "test_accuracy": 0.5, "epochs": 15, "params": 401557, "wall_time_s": 5.75},
        {"model": "b", "seed": 0, "test_accuracy": 1.0, "epochs": 7, "params": 1200, "wall_time_s": 1.0},
    ]
    return ExperimentResult(name="demo", profile="smoke", rows=rows)


def test_markdown_cells():
    lines = _result().to_markdown().splitlines()
    assert lines[0] == "| model | runs | test_accuracy | epochs | params | wall_time_s |"
    # accuracy: 4 decimals and the sample std; epochs vary: one decimal; params do not: a whole number; times: 1 dp
    assert lines[2] == "| a | 2 | 0.7500 ± 0.3536 | 13.5 ± 2.1 | 401,557 | 5.0 ± 1.1 |"
    # one run: no ± part; an accuracy of exactly 1.0 stays an accuracy (a float), not a count
    assert lines[3] == "| b | 1 | 1.0000 | 7 | 1,200 | 1.0 |"


def test_markdown_survives_a_json_round_trip(tmp_path):
    result = _result()
    loaded = ExperimentResult.load(result.save(tmp_path))
    assert loaded.to_markdown() == result.to_markdown()
    assert loaded.to_markdown(metrics=["test_accuracy"], digits=2).splitlines()[2] == "| a | 2 | 0.75 ± 0.35 |"


def test_rows_group_by_several_columns_and_the_result_names_its_own_grouping(tmp_path):
    rows = [{"source": source, "model": "fc7", "seed": seed, "test_accuracy": accuracy}
            for source, seed, accuracy in [("matched", 0, 0.9), ("matched", 1, 0.8), ("mismatched", 0, 0.5)]]
    result = ExperimentResult(name="demo", profile="smoke", rows=rows)
    # grouped by model alone, the two sources' runs are mixed into one line
    assert result.to_markdown(metrics=["test_accuracy"]).splitlines()[2] == "| fc7 | 3 | 0.7333 ± 0.2082 |"
    result.metadata["table_by"] = ["source", "model"]
    lines = ExperimentResult.load(result.save(tmp_path)).to_markdown(metrics=["test_accuracy"]).splitlines()
    assert lines[0] == "| source | model | runs | test_accuracy |"
    assert lines[2:] == ["| matched | fc7 | 2 | 0.8500 ± 0.0707 |", "| mismatched | fc7 | 1 | 0.5000 |"]
    assert [entry["source"] for entry in result.summary()] == ["matched", "mismatched"]
