"""The notebooks and the HTML book in a real client: JupyterLab and headless Chromium driven by selenium.

For each notebook: JupyterLab (from this venv, on a free localhost port, with a token) opens it in Chromium, the test
clicks Run > Run All Cells as a student would, waits until every cell has run, and asserts what the student sees:
no error and no stderr output, at least one rendered table (a `table` element in an output area) and every figure
(as many decoded `img` elements as the executed copy has PNG outputs). Then the HTML book of `python -m
keras_transfer site` is opened from disk the same way: the index lists every notebook with a verdict, and each page
shows its tables and figures.

The notebooks load the results the smoke notebook run saved (`RESULTS=auto`) instead of training again: with
`KT_SMOKE_RUN=DIR` (the Makefile sets it for `notebooks-smoke` and this test) the executed copies are read from
`DIR/executed`, the results from `DIR/results`, the caches from `DIR/kt-data`. A notebook missing there is first run
with papermill into that folder (trained once, then loaded in the browser).

The browser is Debian's `chromium` with its `chromium-driver` (`bash data/install-browser.sh`); nothing is
downloaded. Without it the tests skip outside CI and fail in CI (`CI=true`).
"""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from keras_transfer import notebooks
from keras_transfer import site

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
IDS = [path.name for path in NOTEBOOKS]
INSTALL = "bash data/install-browser.sh (as root with apt), or: apt-get install chromium chromium-driver"
RUN_SECONDS = 600  # per notebook, loading saved results

pytestmark = [pytest.mark.notebook, pytest.mark.browser]


def _missing(reason):
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must run the browser test: {INSTALL}")
    pytest.skip(f"{reason}: {INSTALL}")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -r requirements.txt)")
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        _missing(f"no {'chromium' if chromium is None else 'chromedriver'} on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--window-size=1400,1000", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not fetch a browser or a driver
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield chrome
    chrome.quit()


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The folder of the smoke notebook run: `executed/`, `results/`, `kt-data/` (see the module docstring)."""
    configured = os.environ.get("KT_SMOKE_RUN")
    root = pathlib.Path(configured).resolve() if configured else tmp_path_factory.mktemp("smoke-run")
    (root / "executed").mkdir(parents=True, exist_ok=True)
    return root


def _environment(root):
    return {"KT_RESULTS_DIR": str(root / "results"), "KT_DATA_DIR": str(root / "kt-data")}


def _executed(path, root):
    """The executed smoke copy of `path` in `root/executed`; runs it with papermill first if it is not there, or if
    that copy's run failed (papermill marks it `exception: true`)."""
    output = root / "executed" / path.name
    failed = output.is_file() and (nbformat.read(output, as_version=4).metadata.get("papermill") or {}).get("exception")
    if not output.is_file() or failed:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in _environment(root).items():
                patch.setenv(key, value)
            patch.delenv("KT_MIRROR", raising=False)
            run = notebooks.execute_notebook(path, "smoke", output_dir=root / "executed", timeout=900,
                                             parameters={"RESULTS": "auto"})
        assert run.status == "ok", f"{path.name} failed under papermill after {run.seconds:.0f} s: {run.error}"
    return nbformat.read(output, as_version=4)


def _outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(browser, smoke_run, tmp_path_factory):
    """JupyterLab on a free localhost port with a token, on a copy of the notebooks (its autosave stays there)."""
    import secrets

    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, root / path.name)
    token = secrets.token_hex(16)
    port = _free_port()
    environment = {
        **os.environ, **_environment(smoke_run),
        "KT_PROFILE": "smoke", "KT_RESULTS": "auto", "MPLBACKEND": notebooks.INLINE_BACKEND,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    for name in ("KT_LIVE", "KT_MIRROR", "KT_PROGRESS"):
        environment.pop(name, None)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "lab.log"
    with open(log, "w") as stream:
        server = subprocess.Popen(command, cwd=root, env=environment, stdout=stream, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"JupyterLab did not start: {log.read_text()[-3000:]}")
        time.sleep(0.5)
    yield {"url": url, "token": token, "log": log, "root": root}
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def _shut_down_kernels(lab):
    import json

    request = urllib.request.Request(f"{lab['url']}/api/sessions?token={lab['token']}")
    with urllib.request.urlopen(request, timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        urllib.request.urlopen(urllib.request.Request(
            f"{lab['url']}/api/sessions/{session['id']}?token={lab['token']}", method="DELETE"), timeout=30)


# What the active notebook shows: every code cell's prompt, the stderr and error outputs, tables, figures.
_READ_NOTEBOOK = """
const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
if (!panel) { return null; }
const area = (selector) => Array.from(panel.querySelectorAll('.jp-OutputArea-output ' + selector));
return {
  prompts: Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')).map(e => e.textContent.trim()),
  status: (panel.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status || null,
  stderr: Array.from(panel.querySelectorAll(
      '[data-mime-type="application/vnd.jupyter.stderr"], [data-mime-type="application/vnd.jupyter.error"]'))
      .map(e => e.textContent.slice(0, 500)),
  tables: area('table').length,
  images: area('img').map(e => e.complete && e.naturalWidth > 0),
};
"""


def _wait(browser, condition, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        state = browser.execute_script(_READ_NOTEBOOK)
        if state is not None and condition(state):
            return state
        if time.monotonic() > deadline:
            screenshot = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"kt-browser-{int(time.time())}.png"
            browser.save_screenshot(str(screenshot))
            pytest.fail(f"timed out after {seconds} s waiting for {what}; the page shows {state} ({screenshot})")
        time.sleep(1)


def _click(browser, xpath, seconds=30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, seconds).until(expected_conditions.element_to_be_clickable((By.XPATH, xpath))).click()


def _started(state):
    return any(prompt == "[*]:" for prompt in state["prompts"]) or all(
        prompt[1:-2].isdigit() for prompt in state["prompts"])


def _run_all(browser, attempts=3):
    """Run > Run All Cells, as a student clicks it; again if the click came before the notebook took the focus."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.keys import Keys

    enabled = "//li[contains(@class, 'lm-Menu-item') and not(contains(@class, 'lm-mod-disabled'))]"
    for attempt in range(1, attempts + 1):
        try:
            browser.find_element("css selector", ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").click()
            _click(browser, "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Run']")
            _click(browser, f"{enabled}/div[contains(@class, 'lm-Menu-itemLabel') and text()='Run All Cells']")
        except WebDriverException:  # the lab re-rendered under the click (stale element), or a menu was late
            time.sleep(2)
            continue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _started(browser.execute_script(_READ_NOTEBOOK)):
                return
            time.sleep(0.5)
        browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    _wait(browser, _started, 0, f"Run All to start after {attempts} clicks")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_run_all_in_jupyterlab_shows_tables_and_figures_and_no_stderr(path, browser, lab, smoke_run):
    figures = sum("image/png" in output.get("data", {}) for output in _outputs(_executed(path, smoke_run)))
    browser.get(f"{lab['url']}/lab/tree/{path.name}?reset&token={lab['token']}")
    try:
        _wait(browser, lambda state: state["prompts"] and state["status"] == "idle", 180, "the kernel to start")
        _run_all(browser)
        state = _wait(browser, lambda state: state["status"] == "idle"
                      and all(prompt[1:-2].isdigit() for prompt in state["prompts"]), RUN_SECONDS, "Run All to end")
    finally:
        _shut_down_kernels(lab)
    assert not state["stderr"], f"{path.name}: error or stderr output in JupyterLab: {state['stderr']}"
    assert state["tables"] >= 1, f"{path.name}: no rendered table in any output"
    assert figures >= 1 and len(state["images"]) >= figures, (
        f"{path.name}: {len(state['images'])} img elements, the executed copy has {figures} figures")
    assert all(state["images"]), f"{path.name}: a figure did not decode: {state['images']}"


def test_the_html_book_lists_every_notebook_and_shows_tables_and_figures(browser, smoke_run, tmp_path):
    from selenium.webdriver.common.by import By

    executed = {path.name: _executed(path, smoke_run) for path in NOTEBOOKS}
    book = site.build_site(smoke_run / "executed", tmp_path / "site")
    browser.get(book.index.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.notebook")
    assert len(rows) == len(executed) == len(book.pages)
    verdicts = [row.find_element(By.CSS_SELECTOR, "td.verdict").text for row in rows]
    assert set(verdicts) <= {"holds", "fails", "not run", "no verdict"}, verdicts
    links = [row.find_element(By.TAG_NAME, "a") for row in rows]
    pages = [(link.text, link.get_attribute("href")) for link in links]
    tables = 0
    for (heading, href), page in zip(pages, book.pages):
        assert heading == site.title(executed[page.name], page.name)
        browser.get(href)
        assert browser.title == heading
        state = browser.execute_script(
            "const area = (s) => Array.from(document.querySelectorAll('.jp-OutputArea-output ' + s));"
            "return {tables: area('table').length, images: area('img').map(e => e.complete && e.naturalWidth > 0),"
            " nav: !!document.querySelector('nav.kt-nav a[href=\"index.html\"]')};"
        )
        figures = sum("image/png" in output.get("data", {}) for output in _outputs(executed[page.name]))
        assert len(state["images"]) == figures and all(state["images"]), f"{page.name}: {state} vs {figures} figures"
        assert state["nav"], f"{page.name}: no link back to the index"
        tables += state["tables"]
    assert tables >= 1, "no page of the book shows a rendered table"
