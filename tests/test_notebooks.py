"""The notebooks run: the source top to bottom, the release up to its first stub."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import REPO, built_assignments

TIMEOUT = 600  # seconds per cell; the demos train small models


def execute(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    return notebook, client


@pytest.mark.parametrize("assignment", built_assignments())
def test_source_notebook_runs_clean(assignment, tmp_path):
    """Check that the instructor notebook runs top to bottom and every check passes."""
    notebook, client = execute(REPO / "source" / assignment / f"{assignment}.ipynb", tmp_path)
    client.execute()
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert outputs.count("\N{CHECK MARK}") == sum(
        1 for cell in notebook.cells if "run_test(" in cell.source
    )


@pytest.mark.parametrize("assignment", built_assignments())
def test_release_stops_at_first_stub(assignment, tmp_path):
    """Check that the learner notebook stops with NotImplementedError at its first check."""
    notebook, client = execute(REPO / "release" / assignment / f"{assignment}.ipynb", tmp_path)
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    assert stopped.value.ename == "NotImplementedError"
    executed = [cell for cell in notebook.cells if cell.get("execution_count")]
    first_solution = next(
        index
        for index, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("solution")
    )
    last_run = notebook.cells.index(executed[-1])
    assert last_run > first_solution
    stubs_before = [
        cell for cell in notebook.cells[:last_run] if "raise NotImplementedError()" in cell.source
    ]
    assert len(stubs_before) == 1, "it stops at the check of the first stub"
