"""Where keras-transfer keeps downloads, extracted data, cached models and results."""

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


def results_dir(*parts, create=True):
    """Where experiments save their tables and histories: `./results/...` (git-ignored) unless `$KT_RESULTS_DIR`."""
    base = pathlib.Path(os.environ.get("KT_RESULTS_DIR", "results"))
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
