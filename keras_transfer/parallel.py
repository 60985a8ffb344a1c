"""Independent runs spread over workers with Ray: one task per network, seed or grid cell.

An experiment whose networks do not depend on each other (Yosinski's grid, Models 1-4 x budgets x seeds) hands its
tasks to `Workers.map`. With one worker (the default) the tasks run here, one after another, in the order given;
with more, each becomes a [Ray](https://docs.ray.io) task, on this machine's cores or on a Ray cluster, and results
come back as they finish. Either way the experiment records each result as it arrives (its resume journal, its
progress bar), so an interrupted run resumes, and it assembles its rows in the task order, so a run over workers
gives the rows of a sequential run.

- **Which machine.** A local Ray instance with `workers` task slots is started for the run and stopped after it,
  unless a cluster is named: `RAY_ADDRESS=auto` (a `ray start --head` on this machine) or
  `RAY_ADDRESS=ray://host:10001`, or a `ray.init(...)` made before the run (a notebook's), which is then used as it
  is and left running.
- **Resources per task.** Each task counts as one core for Ray's scheduling (so `workers` tasks run at once), or
  one GPU where the cluster has GPUs. Its thread pools stay the size a sequential run's have here (TensorFlow's and
  XLA's defaults), because their size changes the order of float sums: one thread per worker against two in a
  sequential run gave other test accuracies in 28 of 29 networks of a quick grid (benchmarks/README.md). With
  `threads=k` each task counts as k cores and its pools are capped at k (faster where cores are many, but the
  numbers are those of a k-thread run).
- **Failures.** A task whose worker dies (killed, out of memory, a lost node) is retried, up to `retries` times;
  results are recorded only when a task returns, so a retried task is recorded once. An exception raised by the
  experiment's own code is not retried: it stops the run, as it would sequentially.
- **Without Ray**, `workers > 1` says how to get it and runs the tasks one after another.

The task function must be importable by the workers (a module-level function of an installed package, not a
lambda or a notebook's function) and take `(shared, task)`: `shared` is put in Ray's object store once (the data,
the source networks) and `task` is one item of the list; a task that needs earlier tasks' results (a base
network's weights) names them with `needs` and gets them as further arguments.

Example:

```python
from keras_transfer import parallel

with parallel.Workers(2) as workers:
    for index, result in workers.map(train_one, tasks, shared={"data": data}):
        record(tasks[index], result)
```
"""

import importlib.util
import os

from keras_transfer import paths

INSTALL_HINT = 'pip install "keras-transfer[cluster]"'


def check_workers(workers, name="workers"):
    """`workers` as a positive int; a `ValueError` naming `name` otherwise."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`{name}` must be a positive integer (1: one network after another). "
                         f"Received: {name}={workers!r}")
    return workers


def default_workers():
    """The workers asked for by `KT_WORKERS` (how `python -m keras_transfer notebooks --workers N` reaches the
    notebooks), 1 when it is not set."""
    value = os.environ.get("KT_WORKERS", "").strip()
    if not value:
        return 1
    try:
        return check_workers(int(value), "KT_WORKERS")
    except ValueError:
        raise ValueError(f"The environment variable KT_WORKERS must be a positive integer. "
                         f"Received: {value!r}") from None


def ray_available():
    """Whether Ray can be imported here."""
    return importlib.util.find_spec("ray") is not None


def worker_environment(threads=None):
    """The environment variables each Ray worker runs under: this process's Keras backend, keras-transfer settings
    and thread settings; with `threads`, thread pools capped at that many threads."""
    keep = {key: value for key, value in os.environ.items()
            if key.startswith(("KT_", "KERAS_", "TF_", "XLA_", "OMP_")) or key in ("XDG_CACHE_HOME", "MPLBACKEND")}
    import keras  # noqa: PLC0415

    environment = {**keep, "KERAS_BACKEND": keras.backend.backend(), "KT_PROGRESS": "off"}
    if threads is None:  # Ray would set OMP_NUM_THREADS to the task's cores: keep this process's setting instead
        environment.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
        return environment
    threads = str(check_workers(threads, "threads"))
    environment.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads, OMP_NUM_THREADS=threads)
    if threads == "1":
        flags = os.environ.get("XLA_FLAGS", "")
        environment["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
    return environment


def _task(function, shared, task, *earlier):
    return function(shared, task, *earlier)


class Workers:
    """Runs the tasks of one experiment here (1 worker) or as Ray tasks (more); see the module docstring.

    Args:
        workers: int. How many tasks run at once; 1 runs them here, one after another.
        threads: int or None. None (default): each task counts as one core and keeps the default thread pools,
            so its numbers are a sequential run's; k: each task counts as k cores, its pools capped at k.
        retries: int. How many times a task whose worker died is run again.
        address: str or None. A Ray cluster to use (`"auto"`, `"ray://host:10001"`); default `RAY_ADDRESS` if set,
            else a local instance started for this run.
        verbose: int. 0 silent; 1 says where the tasks run.
    """

    def __init__(self, workers=1, *, threads=None, retries=3, address=None, verbose=1):
        self.workers = check_workers(workers)
        self.threads = None if threads is None else check_workers(threads, "threads")
        self.cores = self.threads or 1  # per task, for Ray's scheduling
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"`retries` must be a non-negative integer. Received: retries={retries!r}")
        self.retries = retries
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.verbose = verbose
        self.parallel = False
        self._started = False

    def __enter__(self):
        if self.workers == 1:
            return self
        if not ray_available():
            if self.verbose:
                print(f"Ray is not installed, so the {self.workers} workers asked for are not used: the networks "
                      f"train one after another. To spread them over workers: {INSTALL_HINT}.")
            return self
        import ray  # noqa: PLC0415

        self.parallel = True
        if ray.is_initialized():
            return self
        options = {"include_dashboard": False, "log_to_driver": self.verbose >= 2, "logging_level": "ERROR"}
        environment = worker_environment(self.threads)
        if self.address:  # the cluster's workers run under the environment Ray gives them
            ray.init(address=self.address, runtime_env={"env_vars": environment}, **options)
        else:  # the local workers inherit it from the processes ray.init starts (faster than a runtime_env)
            with paths.environment(**environment):
                ray.init(num_cpus=self.workers * self.cores, **options)  # GPUs: as Ray finds them
        self._started = True
        if self.verbose:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            threads = "default thread pools" if self.threads is None else f"{self.threads} thread(s) each"
            print(f"{self.workers} workers on {where}, {threads}.", flush=True)
        return self

    def __exit__(self, *exc_info):
        if self._started:
            import ray  # noqa: PLC0415

            ray.shutdown()
            self._started = False
        return False

    def map(self, function, tasks, shared=None, needs=None):
        """Yields `(index, result)` for every task: in order with one worker, else as each finishes (at most
        `workers` at a time).

        `result` is `function(shared, tasks[index], *earlier)`, where `earlier` are the results of the tasks at the
        indices `needs(tasks[index])` returns (default: none). A task waits for those, not for every task before it
        (Yosinski's grid: a run copying base B starts as soon as base B is trained, while base A still trains);
        they must come earlier in `tasks`. Results reach the workers through Ray's object store.
        """
        tasks = list(tasks)
        needed = [tuple(needs(task)) if needs else () for task in tasks]
        for index, indices in enumerate(needed):
            if any(not 0 <= earlier < index for earlier in indices):
                raise ValueError(f"Task {index} ({tasks[index]!r}) needs tasks {indices}: they must come before it.")
        if not self.parallel:
            results = {}
            for index, task in enumerate(tasks):
                results[index] = function(shared, task, *(results[earlier] for earlier in needed[index]))
                yield index, results[index]
            return
        yield from self._map_over_ray(function, tasks, shared, needed)

    def _map_over_ray(self, function, tasks, shared, needed):
        import ray  # noqa: PLC0415

        resources = {"num_gpus": 1} if ray.cluster_resources().get("GPU") else {"num_cpus": self.cores}
        remote = ray.remote(max_retries=self.retries, retry_exceptions=False, **resources)(_task)
        shared_ref = ray.put(shared)
        pending, waiting, finished = {}, list(range(len(tasks))), {}
        try:
            while waiting or pending:
                for index in [index for index in waiting if all(earlier in finished for earlier in needed[index])]:
                    if len(pending) >= self.workers:
                        break
                    waiting.remove(index)
                    earlier = [finished[earlier] for earlier in needed[index]]  # already in the object store
                    pending[remote.remote(function, shared_ref, tasks[index], *earlier)] = index
                done, _ = ray.wait(list(pending), num_returns=1)
                for reference in done:
                    index = pending.pop(reference)
                    try:
                        result = ray.get(reference)
                    except ray.exceptions.RayTaskError as error:
                        raise error.as_instanceof_cause() from None
                    finished[index] = reference
                    yield index, result
        finally:
            for reference in pending:
                ray.cancel(reference, force=True)
