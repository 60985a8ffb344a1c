"""A static HTML book of the executed notebooks: an index with each notebook's lesson verdict, then a page each.

`python -m keras_transfer notebooks --profile smoke` writes the executed copies (outputs and all) into
`build/notebooks/<profile>/`; `build_site` turns such a folder into `index.html` and one `NN_name.html` per notebook,
rendered by nbconvert's `HTMLExporter` with JupyterLab's look: Markdown outputs (the reports' tables) rendered, figures
embedded in the page as PNG data. No page loads anything from the internet (the lab template's MathJax, require.js,
widget manager and Mermaid scripts are left out: the notebooks write no LaTeX), so the book reads offline, on a
projector or a phone.

The lesson convention: a notebook states a lesson by displaying Markdown (a `display_data` or `execute_result` output
with `text/markdown`, e.g. a `reports.Report`) that holds a line starting with `**Lesson:**`, then the verdict word
(`holds`, `fails` or `not run`, bold or not), then the sentence:

```
**Lesson:** holds. Fine-tuning beats the frozen features at every label budget.
**Lesson:** **fails** (by 0.4 points, within the seeds' spread): the source network's features ...
```

An output may say it in its metadata instead: `{"keras_transfer": {"verdict": "holds", "lesson": "The sentence."}}`.
A notebook's verdict is `fails` if one of its lessons fails, else `holds` if one holds, else `not run` if it has
lessons that were not run, else `no verdict`.

Example:

```python
from keras_transfer import site

book = site.build_site("build/notebooks/smoke", "build/site/smoke")
print(book.index, [page.verdict for page in book.pages])
```

From the shell: `python -m keras_transfer site [--profile smoke] [--executed DIR] [--output DIR]`.
"""

import copy
import dataclasses
import pathlib
import re
import time

LESSON_PREFIX = "**Lesson:**"
METADATA_KEY = "keras_transfer"
VERDICTS = ("holds", "fails", "not run")
NO_VERDICT = "no verdict"
WIDGET_MIMETYPES = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")

_VERDICT_WORD = re.compile(r"^[*_\s]*(holds|fails|not run)\b[*_]*[\s.,;:!\u2013\u2014-]*(.*)$", re.IGNORECASE)

# The lab template without the scripts it fetches from CDNs, and a bar linking the pages together.
_PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
nav.kt-nav { display: flex; gap: 1.5em; flex-wrap: wrap; padding: 0.6em 1em; margin-bottom: 1em;
  border-bottom: 1px solid #ccc; font-family: var(--jp-ui-font-family, sans-serif); }
.kt-verdict { font-weight: bold; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<nav class="kt-nav">
  <a href="index.html">&#8593; All notebooks</a>
  {%- if resources.kt_nav.previous %}<a href="{{ resources.kt_nav.previous }}">&#8592; Previous</a>{% endif %}
  {%- if resources.kt_nav.next %}<a href="{{ resources.kt_nav.next }}">Next &#8594;</a>{% endif %}
  <span>Profile: {{ resources.kt_nav.profile }}</span>
  <span>Lesson: <span class="kt-verdict">{{ resources.kt_nav.verdict }}</span></span>
</nav>
{%- endblock body_header -%}
"""

_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.5em; text-align: left; vertical-align: top; }
td p { margin: 0 0 0.4em 0; }
.holds { color: #1a7f37; } .fails { color: #cf222e; } .not-run, .no-verdict { color: #6e7781; }
.verdict { font-weight: bold; white-space: nowrap; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ pages | length }} notebooks, executed in the <strong>{{ profile }}</strong> profile. Each lesson's verdict is
computed by the run, not written by hand.</p>
<table id="notebooks">
<thead><tr><th>Notebook</th><th>Lesson</th><th>What the run says</th></tr></thead>
<tbody>
{%- for page in pages %}
<tr class="notebook">
  <td><a href="{{ page.href }}">{{ page.title }}</a><br><small>{{ page.name }}{% if page.errors %},
    <span class="fails">{{ page.errors }} error output(s)</span>{% endif %}</small></td>
  <td class="verdict {{ page.verdict | replace(' ', '-') }}">{{ page.verdict }}</td>
  <td>{% for lesson in page.lessons %}{{ lesson.html }}{% endfor %}</td>
</tr>
{%- endfor %}
</tbody>
</table>
</body>
</html>
"""


@dataclasses.dataclass
class Lesson:
    """One lesson a notebook states, with the verdict its run computed.

    Args:
        verdict: str or None. `"holds"`, `"fails"`, `"not run"`, or None when the line names none of them.
        text: str. The sentence after the verdict (Markdown).
    """

    verdict: str
    text: str


@dataclasses.dataclass
class Page:
    """One notebook's page of the book.

    Args:
        name: str. The notebook's file name, e.g. `"04_models_1_4.ipynb"`.
        title: str. Its first Markdown heading.
        verdict: str. `"holds"`, `"fails"`, `"not run"` or `"no verdict"` (see `notebook_verdict`).
        lessons: list of `Lesson`.
        errors: int. How many error outputs the executed notebook holds.
        path: `pathlib.Path`. The HTML page written.
    """

    name: str
    title: str
    verdict: str
    lessons: list
    errors: int
    path: pathlib.Path


@dataclasses.dataclass
class Site:
    """What `build_site` wrote: the index page, the notebook pages, total bytes and seconds."""

    index: pathlib.Path
    pages: list
    size_bytes: int
    seconds: float


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


def parse_lesson_line(line):
    """`"**Lesson:** holds. The sentence."` -> `Lesson("holds", "The sentence.")`; None if not a lesson line."""
    line = line.strip()
    if not line.startswith(LESSON_PREFIX):
        return None
    rest = line[len(LESSON_PREFIX):].strip()
    match = _VERDICT_WORD.match(rest)
    if match is None:
        return Lesson(None, rest)
    return Lesson(match.group(1).lower(), match.group(2).strip())


def lessons(notebook):
    """The lessons an executed notebook states, in order (see the module docstring for the convention).

    Args:
        notebook: `nbformat.NotebookNode`. An executed notebook.

    Returns:
        A list of `Lesson`.
    """
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = output.get("data", {})
            markdown = _text(data.get("text/markdown", ""))
            tagged = (output.get("metadata") or {}).get(METADATA_KEY) or {}
            if tagged.get("verdict") is not None:
                verdict = str(tagged["verdict"]).strip().lower()
                text = tagged.get("lesson") or markdown or _text(data.get("text/plain", ""))
                found.append(Lesson(verdict if verdict in VERDICTS else None, str(text).strip()))
                continue
            for line in markdown.splitlines():
                lesson = parse_lesson_line(line)
                if lesson is not None:
                    found.append(lesson)
    return found


def notebook_verdict(notebook_lessons):
    """`"fails"` if a lesson fails, else `"holds"` if one holds, else `"not run"` if any, else `"no verdict"`."""
    verdicts = {lesson.verdict for lesson in notebook_lessons}
    for verdict in ("fails", "holds", "not run"):
        if verdict in verdicts:
            return verdict
    return NO_VERDICT


def title(notebook, default):
    """The notebook's first Markdown heading (`# Title`), else `default`."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return default


def _profile(notebook):
    parameters = (notebook.metadata.get("papermill") or {}).get("parameters") or {}
    return parameters.get("PROFILE", "")


def _error_outputs(notebook):
    return sum(
        output.get("output_type") == "error"
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def _without_widgets(notebook):
    """A copy without widget views and state: a static page has no widget manager to draw them."""
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                output for output in cell.get("outputs", [])
                if not any(mimetype in output.get("data", {}) for mimetype in WIDGET_MIMETYPES)
            ]
    return notebook


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"keras_transfer_page.html.j2": _PAGE_TEMPLATE})],
        template_file="keras_transfer_page.html.j2",
        embed_images=True,
    )
    return exporter


def render_page(notebook, *, name, profile="", verdict=NO_VERDICT, previous=None, following=None, exporter=None):
    """One notebook as a self-contained HTML page (nbconvert's lab template, no script from the internet).

    Args:
        notebook: `nbformat.NotebookNode`. An executed notebook.
        name: str. The page's title when the notebook has no heading.
        profile: str. Shown in the page's bar.
        verdict: str. The notebook's verdict, shown in the page's bar.
        previous: str or None. The previous page's file name.
        following: str or None. The next page's file name.
        exporter: `nbconvert.HTMLExporter` or None. Reused across pages (building one takes a moment).

    Returns:
        The HTML text.
    """
    exporter = exporter or _exporter()
    resources = {
        "metadata": {"name": title(notebook, name)},
        "kt_nav": {"previous": previous, "next": following, "profile": profile or "?", "verdict": verdict},
    }
    body, _ = exporter.from_notebook_node(_without_widgets(notebook), resources=resources)
    return body


def render_index(pages, *, profile, title="keras-transfer: the notebooks"):
    """The index page: each notebook's title (a link), its verdict and its lessons' sentences."""
    import jinja2
    import markupsafe
    from nbconvert.filters import markdown2html

    rows = []
    for page in pages:
        rows.append({
            "href": page.path.name,
            "title": page.title,
            "name": page.name,
            "verdict": page.verdict,
            "errors": page.errors,
            # the lessons' HTML is rendered from the Markdown the notebooks computed; everything else is escaped
            "lessons": [
                {"html": markupsafe.Markup(markdown2html(f"**{lesson.verdict or NO_VERDICT}**: {lesson.text}"))}
                for lesson in page.lessons
            ],
        })
    template = jinja2.Environment(autoescape=True).from_string(_INDEX_TEMPLATE)
    return template.render(title=title, profile=profile, pages=rows)


def build_site(executed_dir=None, output_dir=None, *, profile="smoke"):
    """Writes the HTML book of a folder of executed notebooks and returns a `Site`.

    Args:
        executed_dir: path or None. The executed `*.ipynb` (default `build/notebooks/<profile>/`, where
            `python -m keras_transfer notebooks --profile PROFILE` writes them).
        output_dir: path or None. Where `index.html` and the pages go (default `build/site/<profile>/`).
        profile: str. Names the default folders; the pages show the profile each notebook ran under.

    Returns:
        A `Site`.

    Raises:
        ValueError: if `executed_dir` holds no notebook (the message gives the command that makes them).
    """
    import nbformat

    from keras_transfer import notebooks
    from keras_transfer import profiles

    start = time.perf_counter()
    profiles.check_profile(profile)
    executed_dir = pathlib.Path(executed_dir) if executed_dir is not None else notebooks.default_output_dir(profile)
    output_dir = (pathlib.Path(output_dir) if output_dir is not None
                  else notebooks.repository_root() / "build" / "site" / profile)
    paths = sorted(path for path in executed_dir.glob("*.ipynb") if not path.name.startswith(".")) \
        if executed_dir.is_dir() else []
    if not paths:
        raise ValueError(
            f"No executed notebooks in {executed_dir}: run `python -m keras_transfer notebooks --profile {profile}` "
            f"first, or pass the folder that holds them. Received: executed_dir={str(executed_dir)!r}"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    loaded = [nbformat.read(path, as_version=4) for path in paths]
    exporter = _exporter()
    pages = []
    for index, (path, notebook) in enumerate(zip(paths, loaded)):
        found = lessons(notebook)
        verdict = notebook_verdict(found)
        page_path = output_dir / path.with_suffix(".html").name
        text = render_page(
            notebook,
            name=path.stem,
            profile=_profile(notebook) or profile,
            verdict=verdict,
            previous=paths[index - 1].with_suffix(".html").name if index > 0 else None,
            following=paths[index + 1].with_suffix(".html").name if index + 1 < len(paths) else None,
            exporter=exporter,
        )
        page_path.write_text(text, encoding="utf-8")
        pages.append(Page(path.name, title(notebook, path.stem), verdict, found, _error_outputs(notebook), page_path))
    index = output_dir / "index.html"
    index.write_text(render_index(pages, profile=profile), encoding="utf-8")
    size = sum(page.path.stat().st_size for page in pages) + index.stat().st_size
    return Site(index, pages, size, round(time.perf_counter() - start, 2))


def format_summary(book):
    """A Markdown table of the book's pages (notebook, verdict, size) and where its index is."""
    lines = ["| notebook | lesson | page |", "|---|---|---|"]
    for page in book.pages:
        lines.append(f"| {page.name} | {page.verdict} | {page.path.stat().st_size / 1e6:.1f} MB |")
    lines.append("")
    lines.append(f"{len(book.pages)} pages, {book.size_bytes / 1e6:.1f} MB in {book.seconds:.1f} s: "
                 f"open {book.index}")
    return "\n".join(lines)
