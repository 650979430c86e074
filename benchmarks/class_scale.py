"""Grading a whole class: N submissions, hostile ones among them, none lost or doubled.

Makes a class of N submissions of one assignment in nbgrader's layout
(`submitted/<student>/<assignment>/<assignment>.ipynb`) in a scratch folder, the kinds in
turn:

- each sample learner's notebook (samples/submitted: complete, partial, buggy, stubs,
  corrupt), expected to get what that notebook gets when graded alone;
- hostile notebooks, the complete sample with one cell added at the end: an infinite
  loop (`loop`), `os._exit(3)` (`exit`), a memory hog (`memory`); each is expected to get
  full marks, the bad cell skipped or its error reported;
- a file of random bytes (`garbage`), expected to get 0.

It grades the class with `autograder.batch.grade_class` (jobs = all cores, short limits so
that the loop costs 2 s), then checks that every submission has exactly one gradebook row
and one results.json, with the score its kind should get, and prints the wall time and
the time per submission for each N.

    python benchmarks/class_scale.py [--sizes 50 300] [--assignment 15_encoder_decoder]
"""

import argparse
import csv
import json
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import nbformat

from autograder.batch import find_submissions, grade_class
from autograder.engine import grade_notebook
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "submitted"
LIMITS = Limits(test_seconds=5, cell_seconds=2, notebook_seconds=120, memory_mb=1024)
HOSTILE_CELLS = {
    "loop": "while True:\n    pass",
    "exit": "import os\nos._exit(3)",
    "memory": "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))",
}


def sample_kinds(assignment):
    """kind -> (sample notebook, expected score): the sample class graded one by one."""
    kinds = {}
    for path in sorted(SAMPLES.glob(f"*/{assignment}/{assignment}.ipynb")):
        kinds[path.parent.parent.name] = (path, grade_notebook(path, assignment, LIMITS).score)
    return kinds


def make_class(course, assignment, count, kinds):
    """Write `count` submissions, the kinds in turn; returns student -> (kind, expected)."""
    full = max(kinds.values(), key=lambda kind: kind[1])
    complete = nbformat.read(full[0], as_version=4)
    order = [*kinds, *HOSTILE_CELLS, "garbage"]
    random_bytes = random.Random(0)
    expected = {}
    for number in range(count):
        kind = order[number % len(order)]
        student = f"s{number:04d}_{kind}"
        target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        if kind in kinds:
            shutil.copy(kinds[kind][0], target)
            expected[student] = (kind, kinds[kind][1])
        elif kind in HOSTILE_CELLS:
            notebook = nbformat.from_dict(complete)
            notebook.cells = [*complete.cells, nbformat.v4.new_code_cell(HOSTILE_CELLS[kind])]
            nbformat.write(notebook, target)
            expected[student] = (kind, full[1])
        else:
            target.write_bytes(random_bytes.randbytes(4096))
            expected[student] = (kind, 0.0)
    return expected


def check(out, assignment, expected, rows):
    """Every submission: one gradebook row, one results.json, the score of its kind."""
    problems = []
    counted = Counter(row["student"] for row in rows)
    with (out / "gradebook.csv").open() as file:
        gradebook = list(csv.DictReader(file))
    in_gradebook = Counter(row["student"] for row in gradebook)
    results = {path.parent.parent.name: path for path in out.glob("*/*/results.json")}
    for student, (kind, score) in expected.items():
        if counted[student] != 1 or in_gradebook[student] != 1:
            problems.append(f"{student}: {counted[student]} rows, {in_gradebook[student]} in csv")
        if student not in results:
            problems.append(f"{student}: no results.json")
            continue
        got = json.loads(results[student].read_text())["score"]
        if got != score:
            problems.append(f"{student} ({kind}): score {got}, expected {score}")
    extra = (set(counted) | set(in_gradebook) | set(results)) - set(expected)
    problems += [f"{student}: graded but never submitted" for student in sorted(extra)]
    if len(gradebook) != len(expected) or len(results) != len(expected):
        problems.append(f"{len(gradebook)} gradebook rows, {len(results)} results.json")
    return problems


def run(size, assignment, kinds, jobs):
    with tempfile.TemporaryDirectory(prefix="class-scale-") as scratch:
        course = Path(scratch)
        expected = make_class(course, assignment, size, kinds)
        submissions = find_submissions(course, assignment)
        out = course / "grades"
        started = time.perf_counter()
        rows = grade_class(submissions, out, LIMITS, jobs=jobs, progress=False)
        seconds = time.perf_counter() - started
        problems = check(out, assignment, expected, rows)
        mix = Counter(kind for kind, _ in expected.values())
        return seconds, problems, mix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 300])
    parser.add_argument("--assignment", default="15_encoder_decoder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    kinds = sample_kinds(args.assignment)
    print(
        f"{args.assignment}, jobs={args.jobs}, limits: {LIMITS.cell_seconds:g} s per cell, "
        f"{LIMITS.test_seconds:g} s per test, {LIMITS.memory_mb} MB"
    )
    print("expected per kind: " + ", ".join(f"{k} {v[1]:g}" for k, v in kinds.items()))
    per_submission = {}
    failed = False
    for size in args.sizes:
        seconds, problems, mix = run(size, args.assignment, kinds, args.jobs)
        per_submission[size] = seconds / size
        print(
            f"N={size}: {seconds:.1f} s wall, {seconds / size:.3f} s per submission; "
            f"mix {dict(sorted(mix.items()))}; "
            + ("no lost, doubled or wrong result" if not problems else f"{len(problems)} problems")
        )
        for problem in problems[:20]:
            print("  " + problem)
        failed |= bool(problems)
    sizes = sorted(per_submission)
    for small, large in zip(sizes, sizes[1:]):
        print(
            f"N {small} -> {large} ({large / small:g}x submissions): time per submission "
            f"x{per_submission[large] / per_submission[small]:.2f} (1.00 = linear growth)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
