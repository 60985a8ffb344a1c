"""Execute the teaching notebooks under a profile with papermill, and summarise what ran.

Every notebook in `notebooks/` has a cell tagged `parameters` holding `PROFILE = "quick"`; papermill injects
`PROFILE` (and any other parameters) after it and runs the notebook top to bottom in a fresh kernel, writing the
executed copy, outputs and all, into an output folder (by default `build/notebooks/<profile>/`, git-ignored). The
notebooks in `notebooks/` stay without outputs.

Example:

```python
from keras_transfer import notebooks

runs = notebooks.run_notebooks("smoke", only="04_*")
print(notebooks.format_summary(runs))
```

From the shell: `python -m keras_transfer notebooks --profile smoke [--only PATTERN] [--output DIR]`.
"""

import dataclasses
import fnmatch
import os
import pathlib
import sys
import time

from keras_transfer import paths
from keras_transfer import profiles

KERNEL_NAME = "python3"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclasses.dataclass
class NotebookRun:
    """What happened to one notebook.

    Args:
        name: str. The notebook's file name, e.g. `"04_models_1_4.ipynb"`.
        status: str. `"ok"` or `"failed"`.
        seconds: float. Wall time of the execution, kernel start included.
        output: str. The path of the executed copy.
        error: str or None. The error's type and message when it failed.
    """

    name: str
    status: str
    seconds: float
    output: str
    error: str = None


def repository_root():
    """The folder that holds `notebooks/`: the working directory if it has one, else the package's checkout."""
    for candidate in (pathlib.Path.cwd(), pathlib.Path(__file__).resolve().parents[1]):
        if (candidate / "notebooks").is_dir():
            return candidate
    return pathlib.Path(__file__).resolve().parents[1]


def notebooks_dir():
    """The `notebooks/` folder of `repository_root()`."""
    return repository_root() / "notebooks"


def find_notebooks(only=None, directory=None):
    """The `*.ipynb` files of `directory` (default `notebooks_dir()`), sorted by name.

    Args:
        only: str or None. Keep the notebooks whose file name matches this glob pattern (e.g. `"04_*"`) or
            contains it as a substring (e.g. `"oxford"`).
        directory: path or None. Where to look.

    Returns:
        A list of `pathlib.Path`.

    Raises:
        ValueError: if the folder does not exist, or `only` matches no notebook (the message lists them).
    """
    directory = pathlib.Path(directory) if directory is not None else notebooks_dir()
    if not directory.is_dir():
        raise ValueError(f"No notebooks folder at {directory}: expected a folder of *.ipynb files.")
    found = sorted(path for path in directory.glob("*.ipynb") if not path.name.startswith("."))
    if only:
        selected = [path for path in found if fnmatch.fnmatch(path.name, only) or only in path.name]
        if not selected:
            raise ValueError(
                f"No notebook matches {only!r}: expected a glob or part of one of "
                f"{[path.name for path in found]}. Received: only={only!r}"
            )
        found = selected
    return found


def check_kernel(kernel_name=KERNEL_NAME):
    """Checks that the Jupyter kernel `kernel_name` exists and returns the Python it runs.

    Raises:
        RuntimeError: if there is no such kernel, with the command that installs one for this Python.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as error:
        raise RuntimeError(
            f"No Jupyter kernel named {kernel_name!r}. Install one for this Python with: "
            f"{sys.executable} -m ipykernel install --sys-prefix --name {kernel_name}"
        ) from error
    return spec.argv[0]


def default_output_dir(profile):
    """`build/notebooks/<profile>/` under `repository_root()` (git-ignored)."""
    return repository_root() / "build" / "notebooks" / profiles.check_profile(profile)


def execute_notebook(path, profile="smoke", *, output_dir=None, parameters=None, kernel_name=KERNEL_NAME, timeout=None,
                     progress_bar=False, bars=None):
    """Runs one notebook with papermill under `profile` and returns a `NotebookRun` (it does not raise on failure).

    The kernel starts in the notebook's folder and inherits this process's environment (`KT_DATA_DIR`,
    `KERAS_BACKEND`, ...), with matplotlib's inline backend so figures land in the outputs and, unless
    `KT_RESULTS_DIR` is set, `KT_RESULTS_DIR=<repository>/results` so results land where `python -m keras_transfer
    run` puts them (not in `notebooks/results`). Papermill has no widget front end, so the kernel draws its progress
    bars as text (`KT_PROGRESS=text`, unless `KT_PROGRESS=off` is set); TensorFlow's C++ logs stay below warnings
    (`TF_CPP_MIN_LOG_LEVEL=2` unless set), so no log line lands in a notebook's stderr.

    Args:
        path: path. The `.ipynb` to run.
        profile: str. Injected as the parameter `PROFILE`.
        output_dir: path or None. Where the executed copy goes (default `default_output_dir(profile)`).
        parameters: dict or None. More parameters to inject (names of the notebook's `parameters` cell).
        kernel_name: str. The Jupyter kernel (`python3`, the one `make install` registers for the venv).
        timeout: float or None. Per-cell time limit in seconds.
        progress_bar: bool. Papermill's per-cell progress bar.
        bars: str or None. The kernel's own progress bars, `"text"` or `"off"` (default: `"off"` if `KT_PROGRESS=off`
            is set, else `"text"`).
    """
    import papermill

    profiles.check_profile(profile)
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"No notebook at {path}: expected an .ipynb file.")
    if bars is None:
        bars = "off" if os.environ.get("KT_PROGRESS", "").strip().lower() == "off" else "text"
    elif bars not in ("text", "off"):
        raise ValueError(f"`bars` must be 'text', 'off' or None. Received: bars={bars!r}")
    output_dir = pathlib.Path(output_dir) if output_dir is not None else default_output_dir(profile)
    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / path.name
    check_kernel(kernel_name)
    start = time.perf_counter()
    error = None
    try:
        results = os.environ.get("KT_RESULTS_DIR") or str(repository_root() / "results")
        logs = os.environ.get("TF_CPP_MIN_LOG_LEVEL") or "2"
        with paths.environment(MPLBACKEND=INLINE_BACKEND, KT_RESULTS_DIR=results, KT_PROGRESS=bars,
                          TF_CPP_MIN_LOG_LEVEL=logs):
            papermill.execute_notebook(
                str(path),
                str(output),
                parameters={"PROFILE": profile, **(parameters or {})},
                kernel_name=kernel_name,
                cwd=str(path.parent),
                progress_bar=progress_bar,
                execution_timeout=timeout,
                # the kernel's own start-up warnings (a local kernel "running over TCP without encryption") are not
                # the notebook's: they would fill the terminal of every run
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
    except Exception as caught:  # papermill's execution error, a dead kernel, a timeout: all are a failed run
        error = f"{type(caught).__name__}: {getattr(caught, 'evalue', None) or caught}".strip()
    seconds = time.perf_counter() - start
    return NotebookRun(path.name, "failed" if error else "ok", round(seconds, 1), str(output), error)


def run_notebooks(profile="smoke", *, only=None, output_dir=None, directory=None, parameters=None, verbose=1):
    """Runs every notebook (or those matching `only`) under `profile`, one after the other.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        only: str or None. A glob or substring of the notebooks' file names (see `find_notebooks`).
        output_dir: path or None. Where the executed copies go (default `build/notebooks/<profile>/`).
        directory: path or None. The notebooks' folder (default `notebooks/`).
        parameters: dict or None. Extra parameters injected into every notebook.
        verbose: int. 0 silent, 1 a line per notebook as it finishes.

    Returns:
        A list of `NotebookRun`, one per notebook, in name order.
    """
    profiles.check_profile(profile)
    paths = find_notebooks(only=only, directory=directory)
    output_dir = pathlib.Path(output_dir) if output_dir is not None else default_output_dir(profile)
    runs = []
    for index, path in enumerate(paths, start=1):
        if verbose:
            print(f"[{index}/{len(paths)}] {path.name} ({profile}) ...", flush=True)
        run = execute_notebook(path, profile, output_dir=output_dir, parameters=parameters)
        runs.append(run)
        if verbose:
            print(f"[{index}/{len(paths)}] {path.name}: {run.status} in {run.seconds:.1f} s"
                  + (f" -- {run.error}" if run.error else ""), flush=True)
    return runs


def format_summary(runs):
    """A Markdown table of notebook runs: notebook, status, seconds, output (and the error of a failed one)."""
    lines = ["| notebook | status | seconds | output |", "|---|---|---|---|"]
    for run in runs:
        status = run.status if not run.error else f"{run.status}: {run.error.splitlines()[0][:120]}"
        lines.append(f"| {run.name} | {status} | {run.seconds:.1f} | {run.output} |")
    return "\n".join(lines)
