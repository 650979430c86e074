"""Grade a whole class: every submission in a folder, in parallel.

Two layouts are understood: nbgrader's `submitted/<student>/<assignment>/<notebook>.ipynb`,
and a flat folder of notebooks, one per student (the student is the file's name). Each
submission's results.json and feedback are written as soon as it is graded, and the
gradebook at the end; a broken submission, or outputs that cannot be written (the
gradebook row says why), never stops the batch, and running the batch again rewrites the
same files.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.engine import GradeResult, NotebookError, grade_notebook
from autograder.registry import assignments
from autograder.report import write_gradebook, write_submission_outputs

GRADEBOOK = "gradebook.csv"  # in the output folder, beside a folder per student


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str  # None when it is to be inferred from the notebook
    path: Path
    ignored: tuple = ()  # the other notebooks in an assignment folder, not graded


def find_submissions(folder, assignment=None):
    """The submissions in `folder`, in either layout, sorted by student and assignment.

    In nbgrader's layout, an assignment folder that holds several notebooks (a copy
    saved beside the work) is one submission: see `chosen_notebook`.
    """
    folder = Path(folder)
    if (folder / "submitted").is_dir():
        folder = folder / "submitted"
    known = assignments()
    notebooks = {}  # (student, assignment) -> the notebooks in its folder
    for path in sorted(folder.glob("*/*/*.ipynb")):
        student, assignment_dir = path.parent.parent.name, path.parent.name
        if assignment_dir in known and ".ipynb_checkpoints" not in path.parts:
            if assignment in (None, assignment_dir):
                notebooks.setdefault((student, assignment_dir), []).append(path)
    found = []
    for (student, assignment_dir), paths in sorted(notebooks.items()):
        chosen = chosen_notebook(paths, assignment_dir)
        ignored = tuple(path for path in paths if path != chosen)
        found.append(Submission(student, assignment_dir, chosen, ignored))
    if not found:
        found = [Submission(path.stem, assignment, path) for path in sorted(folder.glob("*.ipynb"))]
    return found


def chosen_notebook(paths, assignment):
    """The notebook graded among several in one assignment folder: the one named after
    the assignment, as nbgrader releases it, else the one saved last."""
    for path in paths:
        if path.name == f"{assignment}.ipynb":
            return path
    return max(paths, key=lambda path: path.stat().st_mtime)


def ignored_message(submission):
    """What the feedback says about the notebooks of an assignment folder not graded."""
    graded = submission.path
    if graded.name == f"{submission.assignment}.ipynb":
        why = "the notebook named after the assignment"
    else:
        why = "the notebook saved last"
    others = ", ".join(path.name for path in submission.ignored)
    return (
        f"Graded {graded.name}, {why}; not graded: {others} (one notebook per assignment "
        "is graded: hand in only the one you worked in)."
    )


def output_folder(out, student, assignment):
    """Where a submission's results.json and feedback go: out/<student>/<assignment>/.

    A student named like the gradebook, or "." or ".." (the flat-folder notebooks
    `..ipynb` and `...ipynb`), would write over it or outside `out`: their folder is
    named "student-<name>" instead.
    """
    if student in (GRADEBOOK, ".", ".."):
        student = f"student-{student}"
    return Path(out) / student / assignment


def grade_submission(submission, limits):
    """Grade one submission; a notebook of unknown assignment gets a result that says so."""
    try:
        result = grade_notebook(submission.path, submission.assignment, limits)
    except NotebookError as error:
        result = GradeResult(str(submission.path), "unknown", messages=[str(error)])
        result.status = "unknown assignment"
    if submission.ignored:
        result.messages.append(ignored_message(submission))
    return result


def _start_grader_process():
    import torch  # the oracles' import, paid once per grader process

    torch.set_num_threads(1)


def grade_class(submissions, out, limits, jobs=None, feedback_format="md", progress=True):
    """Grade every submission with `jobs` processes; returns the gradebook rows."""
    jobs = jobs or os.cpu_count() or 1
    rows = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_grader_process) as pool:
        futures = {pool.submit(grade_submission, sub, limits): sub for sub in submissions}
        bar = tqdm(total=len(futures), unit="notebook", disable=not progress, desc="grading")
        for future in as_completed(futures):
            submission = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 (a grader process lost: say so, go on)
                message = f"Internal grader error, please report it: {type(error).__name__}"
                result = GradeResult(str(submission.path), submission.assignment or "unknown")
                result.messages.append(message)
                result.status = "grader error"
            folder = output_folder(out, submission.student, result.assignment)
            status = result.status
            try:
                write_submission_outputs(folder, result, submission.student, feedback_format)
            except OSError as error:  # something in the way: say so in the gradebook, go on
                status = f"not written: {error}"
            rows.append(
                {
                    "student": submission.student,
                    "assignment": result.assignment,
                    "score": f"{result.score:g}",
                    "max_score": f"{result.max_score:g}",
                    "status": status,
                }
            )
            bar.update()
        bar.close()
    write_gradebook(Path(out) / GRADEBOOK, rows)
    return rows
