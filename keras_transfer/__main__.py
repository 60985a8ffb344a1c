"""The command line: `python -m keras_transfer {run,notebooks,solutions,site,list,doctor}` (also installed as
`keras-transfer`).

```bash
python -m keras_transfer list
python -m keras_transfer run models-1-4 --profile quick                # progress, the results table, verdicts
python -m keras_transfer run models-1-4 --profile smoke --seeds 0 1 --set max_epochs=3 --output /tmp/out
python -m keras_transfer notebooks --profile smoke --only 04_          # executes notebooks/*.ipynb (papermill)
python -m keras_transfer site --profile smoke                          # build/notebooks/smoke -> build/site/smoke
python -m keras_transfer solutions --profile quick --only 02_          # rewrites notebooks/solutions/02_*.md
python -m keras_transfer doctor                                        # is this machine ready? time estimates
```
"""

import argparse
import ast
import os
import sys


def _positive(text):
    """An argparse type: a positive integer (`--workers`)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _parse_setting(text):
    """`KEY=VALUE` -> `(key, value)`; the value is a Python literal if it parses as one (`3`, `1e-4`, `(0, 1)`,
    `None`, `'imagenet'`), else the text itself."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE. Received: {text!r}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    return key.strip(), value


def _parser():
    from keras_transfer import profiles

    parser = argparse.ArgumentParser(
        prog="python -m keras_transfer", description="keras-transfer: run experiments and notebooks."
    )
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{run,notebooks,solutions,site,list,doctor}")

    run = commands.add_parser("run", help="run an experiment and print its results table")
    run.add_argument("name", help="the experiment's name (see `list`)")
    run.add_argument("--profile", default="quick", choices=profiles.PROFILES)
    run.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: the profile's)")
    run.add_argument("--output", default=None, help="folder for result.json (default: results/NAME/PROFILE)")
    run.add_argument(
        "--set",
        dest="settings",
        type=_parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting of the profile's config (repeatable), e.g. --set max_epochs=5",
    )
    run.add_argument("--quiet", action="store_true", help="print only the table")
    run.add_argument(
        "--results", default="train", choices=("train", "auto"),
        help="train (default), or auto: load the saved result of the same settings when there is one",
    )
    run.add_argument("--live", action="store_true", help="one seed, the smallest settings: for a live demo")
    run.add_argument("--workers", type=_positive, default=None, metavar="N",
                     help="train N networks at once with Ray (transferability, models-1-4; default KT_WORKERS or 1)")

    notebooks = commands.add_parser("notebooks", help="execute the notebooks with papermill")
    notebooks.add_argument("--profile", default="smoke", choices=profiles.PROFILES)
    notebooks.add_argument("--only", default=None, help="glob or part of the notebook file names, e.g. 04_")
    notebooks.add_argument(
        "--output", default=None, help="folder for the executed copies (default build/notebooks/PROFILE)"
    )
    notebooks.add_argument(
        "--results", default="auto", choices=("auto", "train"),
        help="auto (default): load saved results of the same settings, train the rest; train: train everything",
    )
    notebooks.add_argument("--live", action="store_true", help="one seed, the smallest settings: for a live demo")
    notebooks.add_argument("--workers", type=_positive, default=None, metavar="N",
                           help="train N networks at once with Ray in the notebooks that can (sets KT_WORKERS)")

    site = commands.add_parser("site", help="an HTML book of the executed notebooks, with each lesson's verdict")
    site.add_argument("--profile", default="smoke", choices=profiles.PROFILES)
    site.add_argument("--executed", default=None, help="the executed notebooks (default build/notebooks/PROFILE)")
    site.add_argument("--output", default=None, help="folder for index.html and the pages (default build/site/PROFILE)")

    solutions = commands.add_parser("solutions", help="regenerate the worked answers to the exercises from runs")
    solutions.add_argument("--profile", default="quick", choices=profiles.PROFILES)
    solutions.add_argument("--only", default=None, help="part of the answer sources' file names, e.g. 02_")
    solutions.add_argument(
        "--output", default=None, help="folder for the pages (default notebooks/solutions for quick, else "
        "build/solutions/PROFILE)"
    )

    commands.add_parser("list", help="list the experiments and the notebooks")

    doctor = commands.add_parser("doctor", help="check this machine for the notebooks and estimate their times")
    doctor.add_argument("--no-measure", action="store_true", help="skip the few seconds of timing")
    return parser


def _list():
    from keras_transfer import experiments
    from keras_transfer import notebooks

    print("Experiments (python -m keras_transfer run NAME --profile smoke|quick|full):")
    for name, module in experiments.EXPERIMENTS.items():
        print(f"  {name:<18} {module}")
    print("Notebooks (python -m keras_transfer notebooks --profile smoke|quick|full [--only PATTERN]):")
    try:
        found = notebooks.find_notebooks()
    except ValueError as error:
        print(f"  ({error})")
        return 0
    for path in found:
        print(f"  {path.name}")
    return 0


def _run(arguments):
    from keras_transfer import experiments

    try:
        experiments.get(arguments.name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"error: the experiment {arguments.name!r} cannot be imported: {error}", file=sys.stderr)
        return 2
    overrides = dict(arguments.settings)
    try:
        result = experiments.run(
            arguments.name,
            arguments.profile,
            results=arguments.results,
            live=arguments.live,
            seeds=arguments.seeds,
            output_dir=arguments.output,
            verbose=0 if arguments.quiet else 1,
            workers=arguments.workers,
            **overrides,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(f"{arguments.name} ({arguments.profile} profile): mean ± std over seeds")
    print(result.to_markdown())
    summary = "" if arguments.quiet else _report_summary(arguments.name, result)
    if summary:
        print(f"\n{summary}")
    from keras_transfer.experiments import base

    print(f"\n{base.provenance(result)}")
    if "wall_time_s" in result.metadata:
        print(f"\nTotal wall time {result.metadata['wall_time_s']:.0f} s", end="")
        if "cpu_time_s" in result.metadata:
            print(f", CPU time {result.metadata['cpu_time_s']:.0f} s", end="")
        print(".")
    return 0


def _report_summary(name, result):
    """The experiment's verdicts as Markdown text (`keras_transfer.reports.<its module>.summary(result)`), or `""`
    when its report module has none."""
    import importlib

    from keras_transfer import experiments

    module = "keras_transfer.reports." + experiments.EXPERIMENTS[name].rpartition(".")[2]
    try:
        report = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return ""
    return str(report.summary(result)) if hasattr(report, "summary") else ""


def _summarised(call):
    """Runs `call()` (a list of `notebooks.NotebookRun`), prints their table; exit status 0 ok, 1 a run failed, 2 bad
    arguments."""
    from keras_transfer import notebooks

    try:
        runs = call()
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(notebooks.format_summary(runs))
    return 0 if all(run.status == "ok" for run in runs) else 1


def _notebooks(arguments):
    from keras_transfer import notebooks

    if arguments.workers is not None:  # the kernels inherit it; notebooks 03 and 04 read it as WORKERS
        os.environ["KT_WORKERS"] = str(arguments.workers)
    return _summarised(lambda: notebooks.run_notebooks(
        arguments.profile, only=arguments.only, output_dir=arguments.output,
        parameters={"RESULTS": arguments.results, "LIVE": arguments.live},
    ))


def _site(arguments):
    from keras_transfer import site

    try:
        book = site.build_site(arguments.executed, arguments.output, profile=arguments.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(site.format_summary(book))
    return 0


def _solutions(arguments):
    from keras_transfer import solutions

    return _summarised(lambda: solutions.regenerate(arguments.profile, only=arguments.only,
                                                    output_dir=arguments.output))


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 1 a notebook failed, 2 bad arguments)."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "list":
        return _list()
    if arguments.command == "run":
        return _run(arguments)
    if arguments.command == "doctor":
        from keras_transfer import doctor

        return doctor.main(measure=not arguments.no_measure)
    if arguments.command == "site":
        return _site(arguments)
    if arguments.command == "solutions":
        return _solutions(arguments)
    return _notebooks(arguments)


if __name__ == "__main__":
    sys.exit(main())
