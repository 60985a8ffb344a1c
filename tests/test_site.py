"""`keras_transfer.site`: the lesson convention, the verdicts, and the HTML book of small synthetic notebooks.

No notebook is executed here (the executed smoke notebooks are checked in a browser in `test_browser.py`): the
notebooks below are built with nbformat, outputs and all, so these tests take a second or two.
"""

import re

import nbformat
import pytest

from keras_transfer import __main__ as cli
from keras_transfer import site

# A 2x2 PNG (red, green / blue, white), as a figure output would hold it
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DA8J+BkYHh////DAAe9gT9Ce00PgAAAABJRU5ErkJggg=="
)
TABLE = "| model | accuracy |\n|---|---|\n| frozen | 91.2% ± 0.4% |\n| fine-tuned | 93.0% ± 0.3% |"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?(?:https?:)?//""", re.I)


def _notebook(heading, *outputs, profile="smoke"):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["papermill"] = {"parameters": {"PROFILE": profile}}
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# {heading}\n\nWhat the notebook asks."),
        nbformat.v4.new_code_cell("result = kt.experiments.run(...)", execution_count=1, outputs=list(outputs)),
    ]
    return notebook


def _markdown(text, metadata=None):
    return nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text},
                                  metadata=metadata or {})


def _figure():
    return nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})


@pytest.mark.parametrize(
    "line, verdict, text",
    [
        ("**Lesson:** holds. Fine-tuning beats frozen features.", "holds", "Fine-tuning beats frozen features."),
        ("**Lesson:** **fails** — by 0.4 points.", "fails", "by 0.4 points."),
        ("**Lesson:** **fails**. Frozen beats fine-tuned.", "fails", "Frozen beats fine-tuned."),
        ("  **Lesson:** Not run: the full profile only.", "not run", "the full profile only."),
        ("**Lesson:** HOLDS", "holds", ""),
        ("**Lesson:** probably fine", None, "probably fine"),
    ],
)
def test_a_lesson_line_gives_its_verdict_and_sentence(line, verdict, text):
    assert site.parse_lesson_line(line) == site.Lesson(verdict, text)


def test_lines_that_are_not_lessons_are_ignored():
    assert site.parse_lesson_line("Lesson: holds") is None
    assert site.parse_lesson_line("- **Lesson:** holds") is None  # the line must start with the marker
    notebook = _notebook(
        "Printed, not displayed",
        nbformat.v4.new_output("stream", name="stdout", text="**Lesson:** holds. Printed text is not a report.\n"),
    )
    assert site.lessons(notebook) == []
    assert site.notebook_verdict(site.lessons(notebook)) == "no verdict"


def test_lessons_come_from_markdown_outputs_and_output_metadata():
    notebook = _notebook(
        "Two lessons",
        _markdown(TABLE + "\n\n**Lesson:** holds. A first claim.\n\nMore prose."),
        _markdown("A table without a marker.", metadata={"keras_transfer": {"verdict": "fails", "lesson": "Second."}}),
    )
    assert site.lessons(notebook) == [site.Lesson("holds", "A first claim."), site.Lesson("fails", "Second.")]


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        (["holds", "fails", "not run"], "fails"),
        (["holds", "not run"], "holds"),
        (["holds", None], "holds"),
        (["not run"], "not run"),
        ([None], "no verdict"),
        ([], "no verdict"),
    ],
)
def test_a_notebook_fails_if_one_lesson_fails(verdicts, expected):
    assert site.notebook_verdict([site.Lesson(verdict, "") for verdict in verdicts]) == expected


@pytest.fixture
def book(tmp_path):
    executed = tmp_path / "executed"
    executed.mkdir()
    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "HBox(children=(HTML(value='Training'),))"})
    notebooks = {
        "01_holds.ipynb": _notebook("Off-the-shelf features", widget, _markdown(TABLE + "\n\n**Lesson:** holds. Yes."),
                                    _figure()),
        "02_fails.ipynb": _notebook("Transferability", _markdown("**Lesson:** **fails**: not by enough."),
                                    nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])),
        "03_silent.ipynb": _notebook("No lesson stated", _figure(), profile="quick"),
    }
    for name, notebook in notebooks.items():
        notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
        nbformat.write(notebook, executed / name)
    return site.build_site(executed, tmp_path / "site")


def test_the_index_lists_every_notebook_with_its_title_and_verdict(book):
    assert book.index.name == "index.html" and [page.name for page in book.pages] == [
        "01_holds.ipynb", "02_fails.ipynb", "03_silent.ipynb"]
    assert [page.verdict for page in book.pages] == ["holds", "fails", "no verdict"]
    assert [page.errors for page in book.pages] == [0, 1, 0]
    index = book.index.read_text()
    rows = re.findall(r'<tr class="notebook">(.*?)</tr>', index, re.S)
    assert len(rows) == 3
    for row, (href, heading, verdict) in zip(rows, [
        ("01_holds.html", "Off-the-shelf features", "holds"),
        ("02_fails.html", "Transferability", "fails"),
        ("03_silent.html", "No lesson stated", "no verdict"),
    ]):
        assert f'<a href="{href}">{heading}</a>' in row
        assert re.search(rf'class="verdict [a-z-]+">{verdict}</td>', row)
    assert "<strong>holds</strong>: Yes." in rows[0] and "1 error output(s)" in rows[1]
    assert book.size_bytes == sum(path.stat().st_size for path in book.index.parent.iterdir())


def test_a_page_renders_tables_and_embeds_figures_with_nothing_from_the_internet(book):
    pages = {page.name: page.path.read_text() for page in book.pages}
    first = pages["01_holds.ipynb"]
    assert "<title>Off-the-shelf features</title>" in first
    # the Markdown output is a rendered table inside an output area, not pipe text
    assert re.search(r'jp-RenderedMarkdown[^>]*>\s*<table>.*?<td>fine-tuned</td>', first, re.S)
    assert "|---|" not in first
    assert f'src="data:image/png;base64,{PNG}"' in first
    # the widget's view and state are gone (a static page has no widget manager), so is its text fallback
    assert "widget-view+json" not in first and "widget-state+json" not in first and "HBox(children" not in first
    # the navigation bar: back to the index, on to the next page, the profile and the verdict
    assert 'href="index.html"' in first and 'href="02_fails.html"' in first and "Profile: smoke" in first
    assert "Profile: quick" in pages["03_silent.ipynb"] and 'href="02_fails.html"' in pages["03_silent.ipynb"]
    for name, text in {**pages, "index.html": book.index.read_text()}.items():
        assert not EXTERNAL.search(text), f"{name} loads {EXTERNAL.search(text).group(0)!r}"
        assert "mathjax" not in text.lower() and "require.js" not in text.lower(), name


def test_the_site_command_builds_the_book_and_names_a_missing_folder(book, tmp_path, capsys):
    executed = book.index.parent.parent / "executed"
    assert cli.main(["site", "--executed", str(executed), "--output", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "| 02_fails.ipynb | fails |" in out and "3 pages" in out
    assert (tmp_path / "again" / "index.html").is_file() and (tmp_path / "again" / "03_silent.html").is_file()
    assert cli.main(["site", "--executed", str(tmp_path / "nothing"), "--output", str(tmp_path / "none")]) == 2
    error = capsys.readouterr().err
    assert "No executed notebooks" in error and "python -m keras_transfer notebooks --profile smoke" in error
    with pytest.raises(ValueError, match="executed_dir"):
        site.build_site(tmp_path / "nothing", tmp_path / "none")
    assert not (tmp_path / "none").exists()
