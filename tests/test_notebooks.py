"""Every notebook in notebooks/: executes in the smoke profile, is committed clean, parameterised and paired.

The executions share one temporary KT_DATA_DIR for the whole session (and across pytest-xdist workers), so the smoke
source network is trained once, and write their results into a temporary KT_RESULTS_DIR. The kernel is the Jupyter
kernel `python3`, which `make install` registers for the venv's Python (`python -m ipykernel install --sys-prefix
--name python3`).
"""

import ast
import json
import os
import pathlib
import re
import sys

import jupytext
import nbformat
import pytest

from keras_transfer import notebooks

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
IDS = [path.name for path in NOTEBOOKS]

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="session")
def notebook_environment(tmp_path_factory):
    # `make test` keeps the run in KT_SMOKE_RUN (executed copies, results, data) for tests/test_browser.py, which
    # then loads the results in JupyterLab instead of training again.
    configured = os.environ.get("KT_SMOKE_RUN")
    root = pathlib.Path(configured).resolve() if configured else tmp_path_factory.mktemp("notebook-runs")
    root.mkdir(parents=True, exist_ok=True)
    # Under pytest-xdist every worker has its own session and temporary folder: the workers share one KT_DATA_DIR
    # beside them (the package writes its caches under a temporary name, then renames), so each smoke source network
    # is trained once, not once per worker.
    shared = root if configured else (
        tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KT_DATA_DIR", str(shared / "kt-data"))
        patch.setenv("KT_RESULTS_DIR", str(root / "results"))
        patch.delenv("KT_MIRROR", raising=False)
        patch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, so figures become outputs
        yield root


def _code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_there_are_notebooks_and_the_kernel_is_this_python():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOKS_DIR}"
    assert len(IDS) >= 6 and all(re.match(r"^\d\d[a-z]?_[a-z0-9_]+\.ipynb$", name) for name in IDS), IDS
    executable = notebooks.check_kernel("python3")
    assert os.path.realpath(os.path.dirname(executable)) == os.path.realpath(os.path.dirname(sys.executable))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_the_smoke_profile(path, notebook_environment):
    run = notebooks.execute_notebook(path, "smoke", output_dir=notebook_environment / "executed", timeout=900,
                                     parameters={"RESULTS": "train"})
    assert run.status == "ok", f"{path.name} failed after {run.seconds:.0f} s: {run.error}"
    executed = nbformat.read(run.output, as_version=4)
    assert all(cell.get("execution_count") for cell in _code_cells(executed))  # every cell ran
    outputs = json.dumps([cell.get("outputs", []) for cell in _code_cells(executed)])
    assert "image/png" in outputs, f"{path.name} drew no figure in the smoke profile"
    assert "smoke" in outputs, f"{path.name} does not say which profile its results come from"
    assert "Traceback" not in outputs
    for line in EXPECTED_OUTPUT.get(path.name, ()):
        assert line in outputs, f"{path.name}: {line!r} missing from its outputs"
    # clean outputs: no warning and no TensorFlow/absl log line reaches a student's page
    stderr = [f"code cell {index}: {''.join(output.get('text', '')).strip()[:300]}"
              for index, cell in enumerate(_code_cells(executed)) for output in cell.get("outputs", [])
              if output.get("output_type") == "stream" and output.get("name") == "stderr"]
    assert not stderr, f"{path.name} wrote to stderr:\n" + "\n".join(stderr)


# What a notebook must print in every profile, beyond running (its computed tables)
EXPECTED_OUTPUT = {
    # the departures from Yosinski et al. (2014), filled from the run's config (smoke: Adam, early stopping on B),
    # displayed as a rendered table (a Report's text/markdown), and the accuracy table beside it
    "03_transferability.ipynb": ("| optimizer | SGD with momentum", "Adam (`yosinski.train_network`)",
                                 "early stopping on B's validation accuracy (patience 1, at most 2 epochs)",
                                 '"text/markdown": "|  | Yosinski et al. (2014) | this run |',
                                 '"text/markdown": "| family | n = 1 | n = 4 | n = 7 |'),
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them (jupytext --sync from the .py)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_has_a_parameters_cell_with_profile(path):
    notebook = nbformat.read(path, as_version=4)
    cells = [cell for cell in _code_cells(notebook) if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: expected one code cell tagged 'parameters', found {len(cells)}"
    source = cells[0].source
    assert re.search(r"^PROFILE\s*=", source, re.MULTILINE), f"{path.name}: no `PROFILE = ...` there"
    # a room chooses without editing a cell: KT_PROFILE, KT_RESULTS and KT_LIVE are the defaults
    for name, variable in (("PROFILE", "KT_PROFILE"), ("RESULTS", "KT_RESULTS"), ("LIVE", "KT_LIVE")):
        assert re.search(rf"^{name}\s*=.*{variable}", source, re.MULTILINE), f"{path.name}: {name} does not read {variable}"
    # papermill parses a parameter line only if it holds one "=" (else it warns "Unable to parse line" on every run)
    unparsable = [line for line in source.splitlines() if not line.lstrip().startswith("#") and line.count("=") > 1]
    assert not unparsable, f"{path.name}: papermill cannot parse {unparsable}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_cites_lectures_and_papers_by_name_not_by_file_id(path):
    text = path.with_suffix(".py").read_text()
    found = re.findall(r"\bseeds? 0\d\d\b|\b00[0-4]_[0-9a-f]{6,}", text)
    assert not found, f"{path.name} cites internal file ids {found}: cite the lecture's title or the paper"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_ends_with_exercises_whose_solutions_are_kept_apart(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert any(re.search(r"^#+\s*Exercises", text, re.MULTILINE) for text in markdown), f"{path.name}: no Exercises"
    solutions = NOTEBOOKS_DIR / "solutions" / path.with_suffix(".md").name
    assert solutions.is_file() and solutions.read_text().strip(), f"{path.name}: no worked solutions at {solutions}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_in_sync_with_its_py_percent_pair(path):
    pair = path.with_suffix(".py")
    assert pair.exists(), f"{path.name} has no paired {pair.name} (jupytext --set-formats ipynb,py:percent)"
    text = pair.read_text()
    assert text.lstrip().startswith("# ---") or "# %%" in text, f"{pair.name} is not in jupytext py:percent format"
    from_py = jupytext.read(pair)
    from_ipynb = nbformat.read(path, as_version=4)

    def cells(notebook):
        return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", []))) for cell in notebook.cells]

    assert cells(from_py) == cells(from_ipynb), f"{path.name} and {pair.name} differ: run jupytext --sync {pair}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_defines_no_function_or_class(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(_code_cells(notebook)):
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source, filename=f"{path.name} code cell {index}")
        found = [
            f"{type(node).__name__} {node.name!r} (line {node.lineno})"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        assert not found, f"{path.name} code cell {index} defines {found}: put it in the package"


def test_a_notebook_runs_under_jupyters_own_tools_and_loads_its_saved_result(notebook_environment, tmp_path):
    """`jupyter nbconvert --execute`, as a student's Jupyter runs it (no papermill), twice: trains, then loads."""
    import subprocess

    path = NOTEBOOKS_DIR / "02_full_network_embedding.ipynb"
    environment = {**os.environ, "KT_PROFILE": "smoke", "KT_RESULTS": "auto", "MPLBACKEND": notebooks.INLINE_BACKEND,
                   "KT_RESULTS_DIR": str(tmp_path / "results")}  # its own results: the first run must train
    outputs = []
    for attempt in (1, 2):
        output = tmp_path / f"run{attempt}.ipynb"
        completed = subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.kernel_name=python3",
             "--output", str(output), str(path)],
            cwd=NOTEBOOKS_DIR, env=environment, capture_output=True, text=True, timeout=900,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        outputs.append(json.dumps([cell.get("outputs", []) for cell in _code_cells(nbformat.read(output, 4))]))
    assert "smoke" in outputs[0] and "Trained now" in outputs[0] and "Traceback" not in outputs[0]
    assert "Loaded from" in outputs[1], "the second run did not load the result the first one saved"
    assert "image/png" in outputs[1]
