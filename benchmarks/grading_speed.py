"""Grading speed: this engine against `nbgrader autograde`, per submission.

Makes a class of N submissions of notebook 15 (copies of the sample class's notebooks,
mixed: complete, partial, buggy, stubs only, corrupt) in a scratch nbgrader course, then
grades it

  (a) with this engine (`grade_class`), with 1 and with 2 grader processes, and
  (b) with `nbgrader autograde`, which runs every cell of each notebook in a Jupyter
      kernel (the training cells tagged skip-grading included: nbgrader has no such tag).

and prints the seconds per submission of each and their ratio.

    python benchmarks/grading_speed.py [--submissions 50] [--nbgrader-submissions 10]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.batch import find_submissions, grade_class
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "15_encoder_decoder"
SAMPLES = REPO / "samples" / "submitted"


def make_class(course, count):
    """Copy the sample notebooks, in turn, into course/submitted/<student>/<assignment>/."""
    samples = sorted(SAMPLES.glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    for number in range(count):
        sample = samples[number % len(samples)]
        student = f"s{number:03d}_{sample.parent.parent.name}"
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(sample, folder / f"{ASSIGNMENT}.ipynb")


def time_engine(course, jobs):
    """Seconds to grade the class with `jobs` grader processes (pool start included)."""
    submissions = find_submissions(course, ASSIGNMENT)
    started = time.perf_counter()
    rows = grade_class(submissions, course / f"grades-{jobs}", Limits(), jobs=jobs, progress=False)
    seconds = time.perf_counter() - started
    assert len(rows) == len(submissions)
    return seconds, len(rows)


def run(command, course, check=True):
    """Run a command in the course with the venv's tools (jupyter, alembic) first on PATH."""
    tools = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environment = dict(os.environ, PATH=tools)
    finished = subprocess.run(command, cwd=course, env=environment, capture_output=True, text=True)
    if check and finished.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{finished.stdout}\n{finished.stderr}")
    return finished


def time_nbgrader(course, count):
    """Seconds for `nbgrader autograde` of the first `count` submissions of the class."""
    nbgrader_course = course / "nbgrader"
    (nbgrader_course / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", nbgrader_course)
    shutil.copytree(REPO / "source" / ASSIGNMENT, nbgrader_course / "source" / ASSIGNMENT)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run([*nbgrader, "generate_assignment", ASSIGNMENT, "--force"], nbgrader_course)
    students = sorted((course / "submitted").iterdir())[:count]
    for student in students:
        shutil.copytree(student, nbgrader_course / "submitted" / student.name)
    started = time.perf_counter()
    # It exits with an error when a submission fails (the corrupt one); it grades the rest.
    run([*nbgrader, "autograde", ASSIGNMENT, "--force"], nbgrader_course, check=False)
    seconds = time.perf_counter() - started
    graded = list((nbgrader_course / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    return seconds, len(students), len(graded)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=50, help="class size (50)")
    parser.add_argument(
        "--nbgrader-submissions",
        type=int,
        default=10,
        help="how many of them nbgrader grades (10; it takes seconds per notebook)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading-speed-") as scratch:
        course = Path(scratch)
        make_class(course, args.submissions)
        print(f"{args.submissions} submissions of {ASSIGNMENT} (the sample class's 5, in turn)")

        per = {}
        for jobs in (1, 2):
            seconds, count = time_engine(course, jobs)
            per[jobs] = seconds / count
            print(
                f"engine, jobs={jobs}: {seconds:.1f} s for {count} submissions, "
                f"{per[jobs]:.3f} s per submission"
            )
        speedup = per[1] / per[2]
        cores = os.cpu_count()
        print(f"scaling 1 -> 2 jobs: {speedup:.2f}x (linear: 2x; this machine has {cores} cores)")

        count = min(args.nbgrader_submissions, args.submissions)
        seconds, graded, written = time_nbgrader(course, count)
        nbgrader_per = seconds / graded
        print(
            f"nbgrader autograde: {seconds:.1f} s for {graded} submissions ({written} notebooks "
            f"autograded), {nbgrader_per:.3f} s per submission"
            + (
                f" (only {graded} of {args.submissions}, to save time)"
                if graded < args.submissions
                else ""
            )
        )
        print(
            f"per submission, nbgrader / engine: {nbgrader_per / per[1]:.1f}x (engine jobs=1), "
            f"{nbgrader_per / per[2]:.1f}x (engine jobs=2)"
        )


if __name__ == "__main__":
    main()
