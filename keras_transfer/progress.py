"""One progress bar per long job: a tqdm bar with an ETA, as a widget in JupyterLab and as text elsewhere.

`bar(total, description, verbose=verbose)` is what a recipe wraps around its grid of networks (or a pretraining
around its epochs). Where it draws:

- in a Jupyter kernel with ipywidgets, the widget bar (`tqdm.notebook`);
- in a Jupyter kernel without a widget front end (papermill, nbconvert, `KT_PROGRESS=text`), one text output that
  is redrawn in place (an updatable display), so the executed notebook holds the bar's last state, not its history;
- on the command line, text on stdout (redrawn at most every `mininterval` seconds when stdout is not a terminal);
- nowhere at `verbose=0` (`--quiet`).

`KT_PROGRESS=text` forces the text bar (`keras_transfer.notebooks` sets it for the notebooks it executes),
`KT_PROGRESS=off` hides every bar.
"""

import os
import sys

MODES = ("auto", "widget", "text", "off")


def mode():
    """`"widget"`, `"text"` or `"off"`: where a bar made now would draw (see the module docstring)."""
    chosen = os.environ.get("KT_PROGRESS", "auto").strip().lower() or "auto"
    if chosen not in MODES:
        raise ValueError(f"KT_PROGRESS must be one of {MODES}. Received: KT_PROGRESS={chosen!r}")
    if chosen != "auto":
        return chosen
    return "widget" if _in_kernel() and _has_widgets() else "text"


def _in_kernel():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _has_widgets():
    try:
        import ipywidgets  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def bar(total, description, *, verbose=1, unit="network", mininterval=None):
    """A tqdm progress bar over `total` steps of `unit`, labelled `description`.

    Args:
        total: int or None. The number of steps (None: a counter without an ETA).
        description: str. What the bar counts, shown before it.
        verbose: int. 0 gives a disabled bar (every method still works and draws nothing).
        unit: str. The name of one step.
        mininterval: float or None. Seconds between redraws; None: 0.1 on a terminal or widget, 10 otherwise.

    Returns:
        A `tqdm` bar: `update(n)`, `set_postfix_str(text)` (the last finished step's result; it waits for the next
        `update` to be drawn, so the redraw interval holds), `close()`, and a context manager.
    """
    kind = "off" if not verbose else mode()
    if kind == "widget":
        from tqdm.notebook import tqdm  # noqa: PLC0415

        return _postfix_without_redraw(tqdm(total=total, desc=description, unit=unit))
    from tqdm import tqdm  # noqa: PLC0415

    if kind == "text" and _in_kernel():
        return _postfix_without_redraw(tqdm(total=total, desc=description, unit=unit, file=_DisplayLine(), ascii=False,
                                            mininterval=1.0 if mininterval is None else mininterval, ncols=100))
    terminal = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    interval = mininterval if mininterval is not None else (0.1 if terminal else 10.0)
    return _postfix_without_redraw(tqdm(total=total, desc=description, unit=unit, file=sys.stdout,
                                        disable=kind == "off", mininterval=interval, dynamic_ncols=terminal,
                                        ncols=None if terminal else 100))


def _postfix_without_redraw(progress_bar):
    """tqdm's `set_postfix_str` redraws at once by default, past `mininterval`: here it waits for `update`."""
    original = progress_bar.set_postfix_str

    def set_postfix_str(text="", refresh=False):
        original(text, refresh=refresh)

    progress_bar.set_postfix_str = set_postfix_str
    return progress_bar


class _DisplayLine:
    """A file for tqdm inside a Jupyter kernel: every redraw replaces one `text/plain` output (a display id)."""

    def __init__(self):
        self._handle = None

    def write(self, text):
        line = text.replace("\r", "").strip("\n")
        if not line.strip():
            return
        from IPython.display import display  # noqa: PLC0415

        bundle = {"text/plain": line}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def flush(self):
        pass
