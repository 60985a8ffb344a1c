"""The notebooks' exercises follow one convention, and no text points at a file outside the repository.

Every exercise that calls `kt.experiments.run(` runs in live mode (`live=True`: one seed, the smallest settings), so
an exercise takes minutes whatever the notebook's `LIVE` parameter is; and no notebook, worked answer or package
docstring cites `FACTS.md`, a file the repository does not hold.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.md"))
PACKAGE = sorted((ROOT / "keras_transfer").rglob("*.py"))
CELL = re.compile(r"^# %%.*$", re.MULTILINE)
RUN_CALL = re.compile(r"kt\.experiments\.run\(")


def _cells(path):
    """The cells of a jupytext percent file, each as its text without the `# %%` line."""
    return [cell.strip("\n") for cell in CELL.split(path.read_text(encoding="utf-8"))[1:]]


def exercises_cell(path):
    """The cell of `path` whose heading is `## Exercises`, or None."""
    for cell in _cells(path):
        if re.search(r"^# ## Exercises\s*$", cell, re.MULTILINE):
            return cell
    return None


def run_calls(text):
    """Every `kt.experiments.run(...)` call in `text`, from its name to its closing parenthesis."""
    calls = []
    for match in RUN_CALL.finditer(text):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        calls.append(text[match.start():end + 1])
    return calls


def _keywords(call):
    """The keyword arguments of one call, as source text, once the Markdown comment marks are stripped."""
    source = re.sub(r"\n#\s*", " ", call)
    tree = ast.parse(source, mode="eval")
    return {keyword.arg: ast.unparse(keyword.value) for keyword in tree.body.keywords}


def test_the_parsing_helpers():
    text = '# %% [markdown]\n# ## Exercises\n#\n# 1. Run\n#    `kt.experiments.run("x", PROFILE, live=True,\n#    seeds=(0, 1))`.\n'
    calls = run_calls(text)
    assert calls == ['kt.experiments.run("x", PROFILE, live=True,\n#    seeds=(0, 1))']
    assert _keywords(calls[0]) == {"live": "True", "seeds": "(0, 1)"}
    assert _keywords('kt.experiments.run("x", live=LIVE)') == {"live": "LIVE"}


def test_every_notebook_has_an_exercises_cell():
    assert len(NOTEBOOKS) >= 8
    missing = [path.name for path in NOTEBOOKS if exercises_cell(path) is None]
    assert not missing, f"notebooks without an '## Exercises' cell: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_exercises_run_live(path):
    cell = exercises_cell(path)
    calls = run_calls(cell or "")
    assert calls, f"{path.name}: its Exercises cell calls no kt.experiments.run("
    for call in calls:
        assert _keywords(call).get("live") == "True", f"{path.name}: an exercise runs without live=True: {call}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.stem)
def test_solutions_run_live(path):
    for call in run_calls(path.read_text(encoding="utf-8")):
        assert _keywords(call).get("live") == "True", f"{path.name}: a worked answer runs without live=True: {call}"


def _docstrings(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [tree, *(node for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))]
    return [text for text in (ast.get_docstring(node) for node in nodes) if text]


def test_no_reference_to_files_outside_the_repository():
    texts = {path: path.read_text(encoding="utf-8") for path in [*NOTEBOOKS, *SOLUTIONS]}
    texts.update({path: path.read_text(encoding="utf-8") for path in sorted((ROOT / "notebooks").glob("*.ipynb"))})
    for path in PACKAGE:
        texts[path] = "\n".join(_docstrings(path))
    for name in ("README.md", "data/README.md"):
        if (ROOT / name).exists():
            texts[ROOT / name] = (ROOT / name).read_text(encoding="utf-8")
    citing = [str(path.relative_to(ROOT)) for path, text in texts.items() if "FACTS.md" in text]
    assert not citing, f"these cite FACTS.md, which is not in the repository: {citing}"
