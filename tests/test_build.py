"""The generated notebooks are fresh, and the release gives nothing away."""

import re

import pytest

from autograder import build
from autograder.registry import assignments, suite
from tests.conftest import REPO, built_assignments, read_notebook


def lines(text):
    """The lines of `text`, stripped, as a set."""
    return {line.strip() for line in text.splitlines()}


def solution_cells(notebook):
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]


@pytest.mark.parametrize("assignment", built_assignments())
def test_generated_files_are_fresh(assignment):
    """Check that source/*.ipynb, release/ and samples/submitted/ match a fresh build."""
    assert build.stale_files([assignment]) == []


def test_solution_regions_are_the_solutions_package(assignment):
    """Check that every solution region holds exactly the code of `solutions/`."""
    text = (REPO / "source" / assignment / f"{assignment}.pct.py").read_text()
    declared = [cell for cell in build.parse_percent(text) if cell.kind == "solution"]
    notebook = read_notebook("source", assignment, f"{assignment}.ipynb")
    in_notebook = {cell.id: cell.source for cell in solution_cells(notebook)}
    assert declared and len(declared) == len(in_notebook)
    for cell in declared:
        module, names = build.named_objects(cell.arg, assignment)
        reference = "\n\n\n".join(build.object_source(module, name) for name in names)
        notebook_code = in_notebook[build.cell_grade_id("solution", names).replace("_", "-")]
        assert re.sub(r"\n *### (BEGIN|END) SOLUTION", "", notebook_code) == reference, names


def test_release_holds_no_solutions_or_hidden_tests(assignment):
    """Check that the release has stubs, no solution code and no hidden test."""
    source = read_notebook("source", assignment, f"{assignment}.ipynb")
    release = read_notebook("release", assignment, f"{assignment}.ipynb")
    text = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    for test in suite(assignment):
        if not test.visible:
            assert f'run_test("{test.name}"' not in text, f"hidden test {test.name} is called"
    released = {c.id: c.source for c in solution_cells(release)}
    solution_region = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    source_text = "\n".join(cell.source for cell in source.cells)
    shown_lines = lines(solution_region.sub("", source_text))  # given code, stub signatures
    for cell in solution_cells(source):
        assert "raise NotImplementedError()" in released[cell.id]
        solution_lines = lines(solution_region.search(cell.source).group(1))
        leaked = [line for line in solution_lines & lines(text) - shown_lines if len(line) > 12]
        assert not leaked, f"{cell.id} leaks {leaked}"


def test_every_graded_test_has_points_and_one_cell(assignment):
    """Check that every test of the suite is worth points and has its cell in the notebook."""
    source = read_notebook("source", assignment, f"{assignment}.ipynb")
    grade_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in source.cells]
    for test in suite(assignment):
        assert test.points > 0, test.name
        assert grade_ids.count(test.name) == 1, test.name


def test_graded_test_names_are_unique_across_suites():
    """Check that a notebook's run_test("name") can only mean one test."""
    names = [test.name for assignment in assignments() for test in suite(assignment)]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
