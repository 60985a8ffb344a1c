"""Where keras-transfer keeps downloads, extracted data, cached models and results."""

import contextlib
import os
import pathlib

DATA_DIR_VARIABLE = "KT_DATA_DIR"
MIRROR_VARIABLE = "KT_MIRROR"


def data_dir():
    """The root of every cache: `$KT_DATA_DIR`, else `$XDG_CACHE_HOME/keras-transfer`, else `~/.cache/keras-transfer`."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return pathlib.Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg).expanduser() if xdg else pathlib.Path.home() / ".cache"
    return base / "keras-transfer"


def cache_dir(*parts, create=True):
    """A folder under `data_dir()`, e.g. `cache_dir("models")`; created unless `create=False`."""
    path = data_dir().joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


RESULTS_DIR_VARIABLE = "KT_RESULTS_DIR"


def repository_root():
    """The checkout this package runs from (the folder with `pyproject.toml` and `notebooks/`), or None.

    None when the package is installed elsewhere (site-packages): then there is no repository to write into.
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def results_dir(*parts, create=True):
    """Where experiments save their tables and histories, whatever the working directory.

    `$KT_RESULTS_DIR` if set; else `results/` at the root of the checkout (git-ignored), so the command line run
    from the root and Jupyter run from `notebooks/` share one folder; else (an installed package)
    `data_dir()/results`.
    """
    configured = os.environ.get(RESULTS_DIR_VARIABLE)
    if configured:
        base = pathlib.Path(configured).expanduser()
    else:
        root = repository_root()
        base = root / "results" if root is not None else data_dir() / "results"
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def environment(**values):
    """Sets the environment variables `values` (None: left as they are) inside the block, then restores them.

    What a child process started inside it inherits: a notebook's kernel (`notebooks.execute_notebook`), a local Ray
    instance's workers (`parallel.Workers`).
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: value for key, value in values.items() if value is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
