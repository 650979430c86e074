"""Hostile submissions of notebook 15, built from the sample class's complete notebook.

A hostile notebook is ada's notebook (every function the reference's) with some
functions replaced and some cells added. Tests grade it with small limits and check
which tests pass, which fail and what their feedback says.
"""

import copy
import textwrap
from functools import cache

import nbformat

from autograder.engine import grade_notebook
from autograder.registry import suite
from autograder.sandbox import Limits
from tests.conftest import REPO

ASSIGNMENT = "15_encoder_decoder"
COMPLETE = REPO / "samples" / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LIMITS = Limits(test_seconds=2, cell_seconds=2, notebook_seconds=60, memory_mb=1024)

# The graded tests that call each learner function (cell_step is called by almost all).
TESTS_OF = {
    "cell_step": [
        "test_cell_step_rnn",
        "test_cell_step_lstm",
        "test_cell_step_gru",
        "test_cell_step_random_sizes",
        "test_cell_step_rejects_unknown_cell_type",
    ],
    "encoder_forward": ["test_encoder_forward", "test_encoder_forward_all_cells"],
    "decoder_forward": ["test_decoder_forward", "test_decoder_forward_all_cells"],
    "cross_entropy": ["test_cross_entropy", "test_cross_entropy_large_logits"],
    "seq2seq_loss": ["test_seq2seq_loss", "test_seq2seq_loss_lengths"],
    "greedy_decode": ["test_greedy_decode", "test_greedy_decode_all_cells"],
}
ALL_TESTS = [test.name for test in suite(ASSIGNMENT)]
POINTS = {test.name: test.points for test in suite(ASSIGNMENT)}


@cache
def _complete():
    return nbformat.read(COMPLETE, as_version=4)


def complete_notebook():
    """A fresh copy of the complete notebook (full marks when graded)."""
    return copy.deepcopy(_complete())


def code(source, tags=()):
    """A code cell, as a learner would add one."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def solution_index(notebook, name):
    """The position of the cell where the learner writes `name`."""
    for position, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == f"solution_{name}":
            return position
    raise KeyError(name)


def replace_function(notebook, name, source):
    """Put `source` in place of the learner's cell for the function `name`."""
    notebook.cells[solution_index(notebook, name)].source = textwrap.dedent(source).strip("\n")
    return notebook


def add_cells(notebook, *sources, after=None):
    """Add code cells at the end, or after the solution cell of the function `after`."""
    cells = [source if isinstance(source, dict) else code(source) for source in sources]
    position = len(notebook.cells) if after is None else solution_index(notebook, after) + 1
    notebook.cells[position:position] = cells
    return notebook


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def grade(path, limits=LIMITS):
    return grade_notebook(path, ASSIGNMENT, limits)


def outputs(result):
    """Test name -> (score, feedback), for assertions."""
    return {test.name: (test.score, test.output) for test in result.tests}


def failing(result):
    return sorted(test.name for test in result.tests if test.score < test.max_score)


def affected_tests(*names):
    return sorted(test for name in names for test in TESTS_OF[name])


def points_without(*names):
    """The score of a notebook whose functions `names` earn nothing, the rest everything."""
    lost = set(affected_tests(*names))
    return sum(points for test, points in POINTS.items() if test not in lost)
