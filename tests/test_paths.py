"""One results folder whatever the working directory."""

import pathlib

from keras_transfer import paths


def test_results_go_to_the_checkout_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("KT_RESULTS_DIR", raising=False)
    root = paths.repository_root()
    assert root is not None and (root / "pyproject.toml").is_file()
    monkeypatch.chdir(tmp_path)
    from_elsewhere = paths.results_dir("models-1-4", "quick", create=False)
    monkeypatch.chdir(root / "notebooks")
    from_notebooks = paths.results_dir("models-1-4", "quick", create=False)
    assert from_elsewhere == from_notebooks == root / "results" / "models-1-4" / "quick"


def test_kt_results_dir_wins_and_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("KT_RESULTS_DIR", str(tmp_path / "shared"))
    path = paths.results_dir("dann", "smoke")
    assert path == tmp_path / "shared" / "dann" / "smoke" and path.is_dir()


def test_an_installed_package_writes_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("KT_RESULTS_DIR", raising=False)
    monkeypatch.setenv("KT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(paths, "repository_root", lambda: None)
    assert paths.results_dir("x", create=False) == pathlib.Path(tmp_path / "data" / "results" / "x")
