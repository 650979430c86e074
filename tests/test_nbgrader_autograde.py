"""nbgrader's own workflow gives every sample learner the score our engine gives.

In a scratch course folder, as an instructor would: `nbgrader db student add` for each
sample learner, `nbgrader generate_assignment` with the gradebook database, the sample
class copied to `submitted/`, `nbgrader autograde`; then the gradebook's totals and
per-test scores against `grade_notebook`'s. nbgrader runs every cell in a Jupyter kernel
of this venv's Python (the check cells import `autograder.checks`), so it takes about a
minute per assignment: by default only notebook 15 is compared; set
NBGRADER_ASSIGNMENTS=all (or a comma-separated list) for more.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.engine import grade_notebook, read_notebook
from autograder.registry import assignments
from tests.conftest import REPO, built_assignments

SAMPLES = REPO / "samples" / "submitted"


def compared_assignments():
    chosen = os.environ.get("NBGRADER_ASSIGNMENTS", "15_encoder_decoder")
    names = assignments() if chosen == "all" else chosen.split(",")
    return [name for name in names if name in built_assignments()]


def nbgrader(course, *arguments, check=True):
    """Run nbgrader in `course` with this venv's tools (jupyter, alembic) first on PATH."""
    tools = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environment = dict(os.environ, PATH=tools)
    environment.pop("PYTHONPATH", None)
    finished = subprocess.run(
        [sys.executable, "-m", "nbgrader", *arguments, "--log-level=WARN"],
        cwd=course,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check:
        assert finished.returncode == 0, f"nbgrader {arguments}:\n{finished.stderr}"
    return finished


def readable(path):
    try:
        read_notebook(path)
    except Exception:  # noqa: BLE001 (any reason counts: nbgrader cannot open it either)
        return False
    return True


@pytest.mark.parametrize("assignment", compared_assignments())
def test_nbgrader_autograde_totals_equal_the_engines(tmp_path, assignment):
    """Check that nbgrader autograde gives each learner the engine's total and per-test
    scores; a notebook nbgrader cannot open gets no autograded copy, and 0 from the
    engine with a message that says why."""
    learners = sorted(path.parent.parent.name for path in SAMPLES.glob(f"*/{assignment}/*.ipynb"))
    assert learners
    course = tmp_path
    shutil.copy(REPO / "nbgrader_config.py", course)
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(
        REPO / "source" / assignment / f"{assignment}.ipynb", course / "source" / assignment
    )
    for learner in learners:
        nbgrader(course, "db", "student", "add", learner)
    nbgrader(course, "generate_assignment", assignment, "--force")
    for learner in learners:
        shutil.copytree(SAMPLES / learner / assignment, course / "submitted" / learner / assignment)
    # Exits 1 when a notebook cannot be autograded (the corrupt one); grades the others.
    nbgrader(course, "autograde", assignment, "--force", check=False)

    engine = {
        learner: grade_notebook(SAMPLES / learner / assignment / f"{assignment}.ipynb", assignment)
        for learner in learners
    }
    unreadable = [
        learner
        for learner in learners
        if not readable(SAMPLES / learner / assignment / f"{assignment}.ipynb")
    ]
    autograded = course / "autograded"
    compared = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for learner in learners:
            if learner in unreadable:
                assert not (autograded / learner / assignment / f"{assignment}.ipynb").exists()
                result = engine[learner]
                assert result.score == 0 and result.status == "unreadable"
                assert "not valid JSON" in result.messages[0]
                continue
            assert (autograded / learner / assignment / f"{assignment}.ipynb").exists(), learner
            submission = gradebook.find_submission_notebook(assignment, assignment, learner)
            by_test = {grade.name: grade.score for grade in submission.grades}
            ours = engine[learner]
            assert {t.name: t.score for t in ours.tests} == by_test, learner
            assert submission.score == ours.score and submission.max_score == ours.max_score
            compared.append(learner)
    # The comparison covered full marks, part marks and nothing.
    totals = {engine[learner].score for learner in compared}
    assert len(compared) == len(learners) - len(unreadable)
    if assignment == "15_encoder_decoder":
        assert unreadable == ["eli"] and len(totals) >= 3 and 0 in totals
