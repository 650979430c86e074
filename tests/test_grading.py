"""Grading the course's own notebooks: release, source and the sample class."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import find_submissions, grade_class
from autograder.engine import grade_notebook, infer_assignment, is_check_cell, read_notebook
from autograder.registry import suite
from autograder.report import write_atomically, write_gradebook
from autograder.sandbox import Limits
from tests.conftest import REPO, built_assignments
from tests.hostile import LIMITS, complete_notebook, write


@pytest.mark.parametrize("assignment", built_assignments())
def test_release_scores_zero_with_a_line_per_test(assignment):
    """Check that the release as-is gets 0, each test saying it was not attempted."""
    result = grade_notebook(REPO / "release" / assignment / f"{assignment}.ipynb")
    assert result.assignment == assignment
    assert result.score == 0 and result.max_score == sum(t.points for t in suite(assignment))
    assert len(result.tests) == len(suite(assignment))
    assert all(test.output.startswith("Not attempted") for test in result.tests)


@pytest.mark.parametrize("assignment", built_assignments())
def test_source_scores_full_marks(assignment):
    """Check that the instructor notebook, solutions filled in, gets every point."""
    result = grade_notebook(REPO / "source" / assignment / f"{assignment}.ipynb")
    failures = [(t.name, t.output) for t in result.tests if t.score < t.max_score]
    assert failures == [] and result.score == result.max_score > 0
    assert result.messages == []


def test_sample_class_15(tmp_path):
    """Check the sample class of notebook 15: each learner gets what their work earns."""
    submissions = find_submissions(REPO / "samples" / "submitted", "15_encoder_decoder")
    rows = grade_class(submissions, tmp_path, Limits(), jobs=2, progress=False)
    scores = {row["student"]: float(row["score"]) for row in rows}
    full = sum(t.points for t in suite("15_encoder_decoder"))
    assert scores["ada"] == full
    assert 0 < scores["ben"] < full
    assert 0 < scores["cy"] < full
    assert scores["dee"] == 0 and scores["eli"] == 0
    cy = json.loads((tmp_path / "cy" / "15_encoder_decoder" / "results.json").read_text())
    lstm = next(t for t in cy["tests"] if t["number"] == "test_cell_step_lstm")
    assert lstm["score"] == 0 and "gate rows" in lstm["output"]
    eli = json.loads((tmp_path / "eli" / "15_encoder_decoder" / "results.json").read_text())
    assert eli["score"] == 0 and "not valid JSON" in eli["output"]
    assert (tmp_path / "gradebook.csv").read_text().count("\n") == len(submissions) + 1
    assert (tmp_path / "ada" / "15_encoder_decoder" / "feedback.md").exists()


def test_cli_grades_one_notebook_into_gradescope_results(tmp_path):
    """Check `python -m autograder grade NOTEBOOK --results FILE`: exit 0, results.json."""
    results = tmp_path / "results.json"
    notebook = REPO / "release" / "15_encoder_decoder" / "15_encoder_decoder.ipynb"
    command = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(notebook),
        "--results",
        str(results),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert finished.returncode == 0, finished.stderr
    data = json.loads(results.read_text())
    assert data["score"] == 0
    assert {"name", "score", "max_score", "output", "visibility"} <= set(data["tests"][0])
    assert "total: 0 / " in finished.stdout


# Writing the outputs: whatever is in the output folder, the gradebook is written.

UNREADABLE = b'{"cells": ['  # graded in no time: every test says the file is cut off


def flat_class(folder, students):
    """A flat folder of cut-off notebooks of notebook 15, one per student."""
    folder.mkdir(parents=True, exist_ok=True)
    for student in students:
        (folder / f"{student}.ipynb").write_bytes(UNREADABLE)
    return find_submissions(folder, "15_encoder_decoder")


def test_a_folder_in_the_way_of_a_scratch_file_changes_nothing(tmp_path):
    """Check that a folder at a scratch file's old, fixed name does not stop a write."""
    (tmp_path / ".results.json.tmp").mkdir()
    (tmp_path / ".gradebook.csv.tmp").mkdir()
    write_atomically(tmp_path / "results.json", "{}")
    row = {"student": "ada", "assignment": "a", "score": "1", "max_score": "2", "status": "ok"}
    write_gradebook(tmp_path / "gradebook.csv", [row])
    assert (tmp_path / "results.json").read_text() == "{}"
    assert (tmp_path / "gradebook.csv").read_text().splitlines()[1] == "ada,a,1,2,ok"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".gradebook.csv.tmp",
        ".results.json.tmp",
        "gradebook.csv",
        "results.json",
    ]


def test_a_submission_that_cannot_be_written_is_in_the_gradebook(tmp_path):
    """Check that a result that cannot be written is noted in its row; the rest go on."""
    submissions = flat_class(tmp_path / "class", ["ada", "ben"])
    out = tmp_path / "grades"
    (out / "ada" / "15_encoder_decoder" / "results.json").mkdir(parents=True)
    rows = grade_class(submissions, out, Limits(), jobs=1, progress=False)
    status = {row["student"]: row["status"] for row in rows}
    assert status["ada"].startswith("not written: [Errno 21] Is a directory")
    assert status["ben"] == "unreadable"
    assert (out / "ben" / "15_encoder_decoder" / "results.json").exists()
    assert "not written: [Errno 21]" in (out / "gradebook.csv").read_text()


def test_students_named_like_the_gradebook_or_a_parent_folder_stay_apart(tmp_path):
    """Check flat-folder notebooks `gradebook.csv.ipynb`, `..ipynb` and `...ipynb`."""
    students = ["gradebook.csv", ".", "..", "ada"]
    submissions = flat_class(tmp_path / "class", students)
    assert sorted(submission.student for submission in submissions) == sorted(students)
    out = tmp_path / "grades"
    rows = grade_class(submissions, out, Limits(), jobs=1, progress=False)
    assert sorted(row["status"] for row in rows) == ["unreadable"] * 4
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.json"))
    assert written == sorted(
        f"grades/{folder}/15_encoder_decoder/results.json"
        for folder in ("ada", "student-.", "student-..", "student-gradebook.csv")
    )
    assert (out / "gradebook.csv").read_text().count("\n") == 5


def test_one_notebook_is_graded_per_student_and_assignment(tmp_path):
    """Check an assignment folder with several notebooks: the one named after the
    assignment, else the newest, is graded; the feedback names the others."""
    folder = tmp_path / "submitted"
    notebooks = {  # contents that tell which notebook was graded
        "ada/15_encoder_decoder/15_encoder_decoder.ipynb": b'{"cells": [',
        "ada/15_encoder_decoder/15_encoder_decoder-Copy1.ipynb": b"[1]",
        "ben/15_encoder_decoder/draft.ipynb": b'{"cells": [',
        "ben/15_encoder_decoder/final.ipynb": b"[1]",
    }
    for name, data in notebooks.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    os.utime(folder / "ben/15_encoder_decoder/draft.ipynb", (1e9, 1e9))  # the older one
    submissions = find_submissions(folder)
    assert [(s.student, s.path.name) for s in submissions] == [
        ("ada", "15_encoder_decoder.ipynb"),
        ("ben", "final.ipynb"),
    ]
    rows = grade_class(submissions, tmp_path / "grades", Limits(), jobs=1, progress=False)
    assert sorted(row["student"] for row in rows) == ["ada", "ben"]
    graded = {
        "ada": "Graded 15_encoder_decoder.ipynb, the notebook named after the assignment; "
        "not graded: 15_encoder_decoder-Copy1.ipynb",
        "ben": "Graded final.ipynb, the notebook saved last; not graded: draft.ipynb",
    }
    for student, says in (("ada", "not valid JSON"), ("ben", "not a Jupyter notebook")):
        results = tmp_path / "grades" / student / "15_encoder_decoder" / "results.json"
        output = json.loads(results.read_text())["output"]
        assert says in output and graded[student] in output


@pytest.mark.parametrize("assignment", built_assignments())
def test_a_notebook_without_check_cells_is_recognised_by_its_solution_cells(assignment):
    """Check that a renamed notebook whose check cells were all deleted is still told."""
    notebook = read_notebook(REPO / "release" / assignment / f"{assignment}.ipynb")
    notebook["cells"] = [cell for cell in notebook["cells"] if not is_check_cell(cell)]
    assert infer_assignment(Path("ada.ipynb"), notebook) == assignment


def test_a_flat_folder_notebook_without_check_cells_is_graded_fully(tmp_path):
    """Check ada's notebook 15, handed in as ada.ipynb with every check cell deleted."""
    notebook = complete_notebook()
    notebook.cells = [cell for cell in notebook.cells if not is_check_cell(cell)]
    path = write(notebook, tmp_path / "ada.ipynb")
    result = grade_notebook(path, limits=LIMITS)
    assert result.assignment == "15_encoder_decoder" and result.score == result.max_score > 0
