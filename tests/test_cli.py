"""Tests of the command line `python -m keras_transfer` and of the notebook runner's helpers."""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from keras_transfer import __main__ as cli
from keras_transfer import experiments
from keras_transfer import notebooks


def test_list_names_every_experiment_and_notebook():
    process = subprocess.run(
        [sys.executable, "-m", "keras_transfer", "list"], capture_output=True, text=True, timeout=120, check=True
    )
    for name in experiments.EXPERIMENTS:
        assert name in process.stdout
    for path in notebooks.find_notebooks():
        assert path.name in process.stdout


def test_unknown_names_and_settings_get_clear_errors(capsys, data_dir):
    assert cli.main(["run", "models-5-8", "--profile", "smoke"]) == 2
    error = capsys.readouterr().err
    assert "Unknown experiment" in error and "models-1-4" in error and "'models-5-8'" in error
    assert cli.main(["run", "models-1-4", "--profile", "smoke", "--set", "epochs=3"]) == 2
    error = capsys.readouterr().err
    assert "Unknown setting" in error and "max_epochs" in error and "epochs=3" in error
    assert cli.main(["notebooks", "--profile", "smoke", "--only", "no_such_notebook"]) == 2
    assert "No notebook matches 'no_such_notebook'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", "models-1-4", "--profile", "medium"])
    with pytest.raises(SystemExit):
        cli.main(["run", "models-1-4", "--set", "max_epochs"])


def test_settings_are_python_literals():
    assert cli._parse_setting("max_epochs=3") == ("max_epochs", 3)
    assert cli._parse_setting("models=('frozen', 'scratch')") == ("models", ("frozen", "scratch"))
    assert cli._parse_setting("weights=None") == ("weights", None)
    assert cli._parse_setting("path=/data/oxford17") == ("path", "/data/oxford17")
    assert cli._parse_setting("learning_rates={'frozen': 1e-3}") == ("learning_rates", {"frozen": 1e-3})


def test_run_prints_progress_and_the_table(capsys, data_dir, tmp_path):
    status = cli.main(
        ["run", "models-1-4", "--profile", "smoke", "--seeds", "0", "1", "--output", str(tmp_path / "out"),
         "--set", "models=('frozen',)", "--set", "compare_domain=None"]  # the comparison: test_models_1_4.py
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "Models 1-4 (smoke): 100%" in out and "4/4" in out  # one bar over the 2 budgets x 2 seeds, finished
    assert "[smoke seed 0, " not in out  # no line per network at the default verbosity
    assert "## The lecture's claims" in out  # the experiment's report, after its table
    assert "| model | runs |" in out and "test_accuracy" in out and " ± " in out  # mean ± std over the two seeds
    assert "Trained now:" in out  # where the result comes from
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert {row["seed"] for row in saved["rows"]} == {0, 1} and saved["profile"] == "smoke"
    assert any(row["model"].startswith("frozen") for row in saved["rows"])


def _write_notebook(path, source):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell('PROFILE = "quick"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(source),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


@pytest.mark.notebook
def test_notebook_runner_executes_injects_the_profile_and_reports_failures(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _write_notebook(folder / "01_ok.ipynb", "import os\nprint('profile is', PROFILE, os.getcwd())")
    _write_notebook(folder / "02_broken.ipynb", "raise RuntimeError('this notebook is broken')")
    assert [path.name for path in notebooks.find_notebooks(directory=folder)] == ["01_ok.ipynb", "02_broken.ipynb"]
    assert [path.name for path in notebooks.find_notebooks("02_*", directory=folder)] == ["02_broken.ipynb"]
    assert [path.name for path in notebooks.find_notebooks("01", directory=folder)] == ["01_ok.ipynb"]
    runs = notebooks.run_notebooks("smoke", directory=folder, output_dir=tmp_path / "out", verbose=1)
    assert [(run.name, run.status) for run in runs] == [("01_ok.ipynb", "ok"), ("02_broken.ipynb", "failed")]
    assert "this notebook is broken" in runs[1].error and runs[0].error is None
    executed = nbformat.read(tmp_path / "out" / "01_ok.ipynb", as_version=4)
    text = "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))
    assert f"profile is smoke {folder}" in text  # PROFILE injected, the kernel runs in the notebook's folder
    summary = notebooks.format_summary(runs)
    assert "| 01_ok.ipynb | ok |" in summary and "| 02_broken.ipynb | failed: " in summary
    assert "[2/2] 02_broken.ipynb: failed" in capsys.readouterr().out


def test_kernel_is_this_python():
    executable = notebooks.check_kernel("python3")
    assert os.path.realpath(os.path.dirname(executable)) == os.path.realpath(os.path.dirname(sys.executable))
    with pytest.raises(RuntimeError, match="ipykernel install"):
        notebooks.check_kernel("no-such-kernel-here")


def test_workers_reach_the_experiment_and_the_notebooks(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "transferability", "--workers", "0"])
    assert "expected a positive integer, got '0'" in capsys.readouterr().err
    seen = {}

    def fake_run(name, profile, **kwargs):
        seen.update(kwargs, name=name)
        raise ValueError("stopped by the test")

    monkeypatch.setattr(experiments, "run", fake_run)
    assert cli.main(["run", "transferability", "--profile", "smoke", "--workers", "2"]) == 2
    assert seen["name"] == "transferability" and seen["workers"] == 2
    monkeypatch.setenv("KT_WORKERS", "1")  # restored after the test: the command sets it for its kernels
    monkeypatch.setattr(notebooks, "run_notebooks", lambda *args, **kwargs: seen.update(
        kernel_workers=os.environ.get("KT_WORKERS")) or [])
    cli.main(["notebooks", "--profile", "smoke", "--workers", "3"])
    assert seen["kernel_workers"] == "3"  # the kernels inherit it; notebooks 03 and 04 read it as WORKERS
