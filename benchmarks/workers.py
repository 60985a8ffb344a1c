"""Independent networks over Ray workers against one after another: the wall-time ratio of whole experiments.

Each experiment runs twice in this process, from nothing (no resume, no saved result): one network after another
(`workers=1`, TensorFlow's default thread pools: how a user runs it) and over `--workers` Ray workers (a local Ray
instance started inside the timed run, so its start-up is part of the cost; one core and one thread per worker).
`--size quick`: transferability and models-1-4 in the quick profile (`--seeds 0` runs one seed of each, a third of
the grid); `--smoke`: transferability's smoke grid. Headline: transferability's ratio, sequential wall time / wall
time over the workers (`--only models-1-4`: that one's). Goal: at least 1.4 with 2 workers (issue 28).

Beside it, per experiment: both wall times and the ratio; the rows compared (how many have the same test accuracy,
and the largest difference: one thread per worker against the default pool changes the order of float sums, which
a long training can amplify into another epoch chosen); and a projection to 4 and 8 workers (GPUs) from the
measured per-network wall times of the sequential run: each phase's networks (base networks before the grid that
copies them) dealt longest first to the free worker, `sum of the networks / makespan`. The projection leaves out
what does not split (data loading, Ray's start, scoring in the driver) and assumes a worker trains a network as fast
as the sequential run did: true where each worker has a GPU of its own, not on a CPU, where the sequential run
already keeps more than one core busy. So the CPU figures come beside it: the cores the sequential run kept busy
(its CPU / wall seconds), the ceiling that leaves on this machine (cores / that), and the cores the workers'
networks kept busy (their CPU seconds / the workers' wall time).

Not part of `make bench` (the quick size takes most of an hour); run: `make bench-workers`, or
.venv/bin/python benchmarks/workers.py [--smoke] [--workers 2] [--seeds 0]
"""

import heapq
import json
import os
import pathlib
import tempfile

import _common

NAME = "workers"
GOAL = 1.4
EXPERIMENTS = {"smoke": ("transferability",), "quick": ("transferability", "models-1-4")}
PROJECTED = (2, 4, 8)


def arguments(parser):
    parser.add_argument("--workers", type=int, default=2, help="Ray workers of the parallel run (default 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the profile's)")
    parser.add_argument("--only", default=None, choices=EXPERIMENTS["quick"], help="one experiment of the size's")


def makespan(durations, workers):
    """The finishing time of `durations` dealt longest first to whichever of `workers` frees up first."""
    finish = [0.0] * workers
    for duration in sorted(durations, reverse=True):
        heapq.heapreplace(finish, finish[0] + duration)
    return max(finish)


def network_phases(name, result, output_dir, key="wall_time_s"):
    """The measured `key` (wall or CPU seconds) of every network, per phase that must finish before the next."""
    if name == "transferability":  # base A and base B of every seed, then the grid (the journal has base A too)
        entries = [json.loads(line) for line in (output_dir / "runs.jsonl").read_text().splitlines()]
        return [[entry[key] for entry in entries if entry["run_id"].startswith("base")],
                [entry[key] for entry in entries if not entry["run_id"].startswith("base")]]
    return [[row[key] for row in result.rows]]


def projection(phases, workers):
    """`sum of the networks / makespan` over `workers`, phase after phase."""
    total = sum(sum(phase) for phase in phases)
    return total / sum(makespan(phase, workers) for phase in phases if phase)


def cpu_shares(sequential, parallel_phases, parallel_wall):
    """How many cores the sequential run kept busy (its CPU / wall seconds), the most any number of workers can
    gain on this machine's cores from there, and how many cores the workers' networks kept busy."""
    used = sequential.metadata["cpu_time_s"] / sequential.metadata["wall_time_s"]
    networks = sum(sum(phase) for phase in parallel_phases)
    cores = os.cpu_count() or 1
    return {"sequential_cores_used": round(used, 2), "cpu_ceiling": round(cores / used, 2),
            "workers_network_cores": round(networks / parallel_wall, 2)}


def compare_rows(sequential, parallel):
    """How many rows have the same test accuracy in both runs, and the largest difference (points)."""
    pairs = list(zip(sequential.rows, parallel.rows))
    assert [a["model"] for a, _ in pairs] == [b["model"] for _, b in pairs], "the runs' rows are in another order"
    differences = [abs(a["test_accuracy"] - b["test_accuracy"]) * 100 for a, b in pairs]
    return {"rows": len(pairs), "same_test_accuracy": sum(1 for difference in differences if difference == 0),
            "max_difference_points": round(max(differences), 2)}


def main(args):
    import keras_transfer as kt

    _common.quiet_tensorflow()
    seeds = tuple(args.seeds) if args.seeds else None
    folder = pathlib.Path(tempfile.mkdtemp(prefix="kt-bench-workers-"))
    figures = {}
    for name in [name for name in EXPERIMENTS[args.size] if args.only in (None, name)]:
        overrides = {"resume": False} if name == "transferability" else {}
        runs, times = {}, {}
        for workers in (1, args.workers):
            with _common.Timer() as timer:
                runs[workers] = kt.experiments.run(name, args.size, seeds=seeds, verbose=1, workers=workers,
                                                   output_dir=folder / f"{name}-{workers}", **overrides)
            times[workers] = timer.wall
        phases = network_phases(name, runs[1], folder / f"{name}-1")
        figures[name] = {
            "sequential_s": round(times[1], 1), "workers_s": round(times[args.workers], 1),
            "ratio": round(times[1] / times[args.workers], 3), "networks": sum(len(phase) for phase in phases),
            **compare_rows(runs[1], runs[args.workers]),
            "projected_ratio": {str(count): round(projection(phases, count), 2) for count in PROJECTED},
            **cpu_shares(runs[1], network_phases(name, runs[args.workers], folder / f"{name}-{args.workers}",
                                                 "cpu_time_s"), times[args.workers]),
        }
    ratio = figures[next(iter(figures))]["ratio"]  # transferability's, unless --only names models-1-4
    return {"benchmark": NAME, "value": ratio, "unit": "x (sequential / workers wall time)", "goal": GOAL,
            "met": ratio >= GOAL, "workers": args.workers, "seeds": list(seeds) if seeds else "profile's",
            "experiments": figures}


if __name__ == "__main__":
    _common.run(main, __doc__.splitlines()[0], extra=arguments)
