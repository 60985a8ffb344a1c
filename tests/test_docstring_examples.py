"""Every `Example:` in the docstrings of the core files runs as written (issue 18).

The ```python blocks under `Example:` are executed with the names of their module, as doctest would (the class the
docstring belongs to is defined; everything else the example imports itself). A `print(...)` followed by comment
lines (or an inline comment) states its output: the printed lines must equal those comments.
"""

import contextlib
import importlib
import inspect
import io
import re
import textwrap

import pytest

from test_copy_alone import CORE_FILES

MODULES = [str(path.with_suffix("")).replace("/", ".") for path in CORE_FILES]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_NEXT_SECTION = re.compile(r"^(?:Args|Call arguments|Returns|Raises|Reference|References|Note|Notes):$", re.MULTILINE)
# The pieces of issue 18: each public class has an example (other core files' examples run when they have one).
WITH_EXAMPLES = {
    "keras_transfer.callbacks.gradient_reversal_schedule",
    "keras_transfer.callbacks.lr_finder",
    "keras_transfer.callbacks.slanted_triangular",
    "keras_transfer.callbacks.unfreezing",
    "keras_transfer.layers.gradient_reversal",
    "keras_transfer.optimizers.discriminative",
    "keras_transfer.schedules.inverse_progress_decay",
    "keras_transfer.schedules.slanted_triangular",
}


def _documented(module):
    """The public classes and functions a module defines, by name."""
    return {
        name: item
        for name, item in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(item) or inspect.isfunction(item))
        and item.__module__ == module.__name__
    }


def _example_blocks(item):
    doc = inspect.getdoc(item) or ""
    if "\nExample:" not in doc:
        return []
    section = doc.split("\nExample:", 1)[1]
    section = _NEXT_SECTION.split(section, maxsplit=1)[0]
    return [textwrap.dedent(block) for block in _BLOCK.findall(section)]


def _expected_output(code):
    """The output the example states: comment lines right after a line that prints, or a print's inline comment."""
    expected, after_print = [], False
    for line in code.splitlines():
        stripped = line.strip()
        if after_print and stripped.startswith("# "):
            expected.append(stripped[2:])
            continue
        after_print = "print(" in line
        if after_print and "  # " in line:
            expected.append(line.split("  # ", 1)[1])
            after_print = False
    return expected


def _examples():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, item in _documented(module).items():
            for index, code in enumerate(_example_blocks(item)):
                yield pytest.param(module_name, name, code, id=f"{module_name.split('.', 1)[1]}.{name}[{index}]")


EXAMPLES = list(_examples())


@pytest.mark.multibackend
@pytest.mark.parametrize("module_name, name, code", EXAMPLES)
def test_example_runs_as_written(module_name, name, code):
    namespace = dict(vars(importlib.import_module(module_name)), __name__="__example__")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"<example of {name}>", "exec"), namespace)
    expected = _expected_output(code)
    assert output.getvalue().splitlines() == expected


def test_every_public_class_has_an_example():
    assert WITH_EXAMPLES <= set(MODULES)
    found = {(param.values[0], param.values[1]) for param in EXAMPLES}
    classes = [
        (module_name, name)
        for module_name in sorted(WITH_EXAMPLES)
        for name, item in _documented(importlib.import_module(module_name)).items()
        if inspect.isclass(item)
    ]
    assert len(classes) >= 8 and [entry for entry in classes if entry not in found] == []


def test_expected_output_reading():
    code = "x = 1\nprint(x)  # 1\nfor i in range(2):\n    print(i)\n# 0\n# 1\ny = 2\n# a comment, not output\nprint(3)\n"
    assert _expected_output(code) == ["1", "0", "1"]
