"""Runs every benchmark script on each Keras backend it names, one JSON line per run on stdout (`make bench`).

A script that measures something of the toolkit that runs on any backend says so with a module-level
`BACKENDS = ("tensorflow", "jax")`; the others (TensorFlow's `jit_compile`, its profiler, `tf.data` against a
TensorFlow training step) run on TensorFlow only. Each run is a fresh process with `KERAS_BACKEND` set, so the
JSON lines carry their `"backend"`. Arguments after the script's own (`--smoke`, `--repeats N`) are passed on.

Run: .venv/bin/python benchmarks/run_all.py [--smoke]
"""

import ast
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_BACKENDS = ("tensorflow",)


def backends(script):
    """The `BACKENDS` tuple a script declares (read without importing it), else TensorFlow only."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "BACKENDS" for target in node.targets):
            return tuple(ast.literal_eval(node.value))
    return DEFAULT_BACKENDS


def runs():
    """`(script, backend)` pairs in the order `make bench` runs them: every script on TensorFlow, then on JAX."""
    scripts = sorted(HERE.glob("bench_*.py"))
    return [(script, backend) for backend in ("tensorflow", "jax") for script in scripts if backend in backends(script)]


def main(argv):
    """Runs every pair of `runs()`, printing each JSON line on stdout and each run's wall time on stderr."""
    pairs, start = runs(), time.perf_counter()
    for index, (script, backend) in enumerate(pairs, 1):
        environment = {**os.environ, "KERAS_BACKEND": backend}
        print(f"[bench {index}/{len(pairs)}] {script.name} on {backend} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        completed = subprocess.run([sys.executable, str(script), *argv], env=environment, stdout=subprocess.PIPE)
        sys.stdout.write(completed.stdout.decode())
        sys.stdout.flush()
        print(f"[bench {index}/{len(pairs)}] {script.name} on {backend}: {time.perf_counter() - began:.0f} s",
              file=sys.stderr, flush=True)
        if completed.returncode:
            print(f"{script.name} failed on {backend} (exit status {completed.returncode})", file=sys.stderr)
            return completed.returncode
    print(f"[bench] {len(pairs)} runs in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
