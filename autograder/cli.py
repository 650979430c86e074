"""The command line of the course's tools.

python -m autograder grade NOTEBOOK --results results.json
python -m autograder grade FOLDER --out grades/ --jobs 4
python -m autograder build [--check]
python -m autograder gradescope ASSIGNMENT --out dist/
"""

import argparse
import json
import sys
from pathlib import Path

from autograder import build
from autograder.batch import find_submissions, grade_class
from autograder.engine import NotebookError, grade_notebook
from autograder.registry import points_text
from autograder.report import gradebook_table, gradescope_results, write_atomically
from autograder.sandbox import Limits


def print_result(result):
    for test in result.tests:
        mark = "\N{CHECK MARK}" if test.score == test.max_score else "\N{BALLOT X}"
        print(f"{mark} {test.score:g}/{points_text(test.max_score)}  {test.description}")
        if test.score < test.max_score:
            print("    " + test.output.replace("\n", "\n    "))
    for message in result.messages:
        print("note: " + message.replace("\n", "\n      "))
    print(f"total: {result.score:g} / {result.max_score:g}  ({result.assignment})")


def grade_command(args):
    limits = Limits(args.test_timeout, args.cell_timeout, args.notebook_timeout, args.memory_mb)
    target = Path(args.path)
    if target.is_dir():
        submissions = find_submissions(target, args.assignment)
        if not submissions:
            print(f"no notebooks found in {target}", file=sys.stderr)
            return 2
        rows = grade_class(submissions, args.out, limits, args.jobs, args.feedback)
        print(gradebook_table(rows))
        print(f"\nwrote {args.out}/gradebook.csv and results and feedback per submission")
        return 0
    if not target.exists():
        print(f"no such file: {target}", file=sys.stderr)
        return 2
    try:
        result = grade_notebook(target, args.assignment, limits)
    except NotebookError as error:
        print(f"cannot grade: {error}", file=sys.stderr)
        if args.results:  # whoever reads the results learns why there is no score
            failure = {"score": 0, "output": f"Not graded: {error}", "tests": []}
            write_atomically(args.results, json.dumps(failure, indent=2))
        return 2
    print_result(result)
    if args.results:
        write_atomically(args.results, json.dumps(gradescope_results(result), indent=2))
    return 0


def build_command(args):
    if args.check:
        stale = build.stale_files(args.assignment)
        for path in stale:
            print(f"stale: {path}")
        if stale:
            print("run `python -m autograder build` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    build.build(only=args.assignment)
    print("built source/, release/ and samples/submitted/")
    return 0


def gradescope_command(args):
    from autograder import gradescope

    return gradescope.build_command(args.assignment, args.out)


def parser():
    commands = argparse.ArgumentParser(
        prog="python -m autograder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subcommands = commands.add_subparsers(dest="command", required=True)

    grade = subcommands.add_parser("grade", help="grade a notebook or a folder of submissions")
    grade.add_argument("path", help="a notebook, or a folder (nbgrader's submitted/ or flat)")
    grade.add_argument("--assignment", help="the assignment id (default: inferred)")
    grade.add_argument("--results", help="for one notebook: write Gradescope's results.json here")
    grade.add_argument("--out", default="grades", help="for a folder: where results go (grades/)")
    grade.add_argument("--jobs", type=int, help="for a folder: parallel graders (all cores)")
    grade.add_argument("--feedback", choices=["md", "html"], default="md", help="feedback format")
    defaults = Limits()
    grade.add_argument(
        "--test-timeout", type=float, default=defaults.test_seconds, help="seconds per test"
    )
    grade.add_argument(
        "--cell-timeout", type=float, default=defaults.cell_seconds, help="seconds per cell"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=float,
        default=defaults.notebook_seconds,
        help="seconds per notebook",
    )
    grade.add_argument(
        "--memory-mb", type=int, default=defaults.memory_mb, help="memory limit of learner code"
    )
    grade.set_defaults(run=grade_command)

    build_parser = subcommands.add_parser(
        "build", help="generate source and release notebooks and the sample class"
    )
    build_parser.add_argument("assignment", nargs="*", help="default: every assignment")
    build_parser.add_argument(
        "--check", action="store_true", help="list generated files that are stale; change nothing"
    )
    build_parser.set_defaults(run=build_command)

    gradescope_parser = subcommands.add_parser(
        "gradescope", help="build the autograder zip of an assignment for Gradescope"
    )
    gradescope_parser.add_argument("assignment", help="the assignment id")
    gradescope_parser.add_argument("--out", default="dist", help="where the zip goes (dist/)")
    gradescope_parser.set_defaults(run=gradescope_command)
    return commands


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except build.BuildError as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 2
