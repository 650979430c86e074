"""The Gradescope bundle: built, unpacked into a fake /autograder, run on every sample.

Each test unpacks the zip the way Gradescope does (its files into `root/source`, the
script copied to `root/run_autograder`), puts a submission in `root/submission`, and runs
`root/run_autograder` with this venv's Python (AUTOGRADER_PYTHON) instead of the venv
that setup.sh would install.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import nbformat
import pytest

from autograder.engine import grade_notebook
from autograder.gradescope import build_bundle
from autograder.registry import assignments, suite
from autograder.report import gradescope_results
from autograder.sandbox import jail_settings
from tests.conftest import REPO

SAMPLES = REPO / "samples" / "submitted"


def sample_submissions():
    """(assignment, learner) for every sample notebook of an assignment with a suite."""
    return [
        (path.parent.name, path.parent.parent.name)
        for path in sorted(SAMPLES.glob("*/*/*.ipynb"))
        if path.parent.name in assignments() and path.stem == path.parent.name
    ]


def sample(assignment, learner):
    return SAMPLES / learner / assignment / f"{assignment}.ipynb"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """assignment -> its zip, built once per assignment."""
    out = tmp_path_factory.mktemp("bundles")
    built = {}

    def bundle(assignment):
        if assignment not in built:
            built[assignment], solutions = build_bundle(assignment, out)
            assert solutions == []  # no suite needs the reference: it stays out
        return built[assignment]

    return bundle


def unpack(zip_path, root):
    """Lay the bundle out as Gradescope does; returns the fake /autograder."""
    with zipfile.ZipFile(zip_path) as bundle:
        bundle.extractall(root / "source")
        for info in bundle.infolist():  # extractall drops the executable bits
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def run_autograder(root):
    """Run the bundle's run_autograder as Gradescope would, in `root`; its results."""
    environment = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    environment.pop("PYTHONPATH", None)
    finished = subprocess.run(
        [str(root / "run_autograder")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr
    # The grader's modules came from the bundle, and only from it.
    folders = finished.stdout.split("grader modules from: ")[1].split()
    assert folders and all(
        folder.startswith(str((root / "source").resolve())) for folder in folders
    ), folders
    return json.loads((root / "results" / "results.json").read_text())


def test_bundle_layout(bundles):
    """Check the zip: the two scripts at its root, executable; the pinned requirements;
    the engine and this assignment's suite, copied unchanged; no other suite, no solutions."""
    assignment = "15_encoder_decoder"
    with zipfile.ZipFile(bundles(assignment)) as bundle:
        names = set(bundle.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
        requirements = bundle.read("requirements.txt").decode()
        setup = bundle.read("setup.sh").decode()
        run = bundle.read("run_autograder").decode()
        for name in names:
            if name.startswith("autograder/"):
                assert bundle.read(name) == (REPO / name).read_bytes(), name
    assert {"setup.sh", "run_autograder", "requirements.txt", "run_autograder.py"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert setup.startswith("#!") and run.startswith("#!") and assignment in run
    assert "torch==2.13.0" in requirements.splitlines()
    assert "download.pytorch.org/whl/cpu" in setup and "-r requirements.txt" in setup
    assert f"autograder/suite/test_{assignment}.py" in names
    assert "autograder/engine.py" in names and "autograder/worker.py" in names
    others = {f"autograder/suite/test_{a}.py" for a in assignments() if a != assignment}
    assert not names & others
    assert not [name for name in names if name.startswith("solutions")]


@pytest.mark.parametrize(("assignment", "learner"), sample_submissions())
def test_results_equal_the_engines(bundles, tmp_path, assignment, learner):
    """Check that run_autograder writes what the engine gives for the same notebook:
    the score, and every test's score, points, output and visibility."""
    root = unpack(bundles(assignment), tmp_path)
    shutil.copy(sample(assignment, learner), root / "submission")
    results = run_autograder(root)
    expected = gradescope_results(grade_notebook(sample(assignment, learner), assignment))
    assert isinstance(results.pop("execution_time"), int)
    assert results == expected
    hidden = {test.name for test in suite(assignment) if not test.visible}
    for test in results["tests"]:
        assert test["visibility"] == ("after_published" if test["number"] in hidden else "visible")
    assert hidden and len(hidden) < len(results["tests"])


def test_any_notebook_name_in_any_folder(bundles, tmp_path):
    """Check that a notebook named anything, in a subfolder, is found and graded."""
    assignment = "15_encoder_decoder"
    root = unpack(bundles(assignment), tmp_path)
    (root / "submission" / "homework").mkdir()
    shutil.copy(sample(assignment, "ben"), root / "submission" / "homework" / "my work.ipynb")
    (root / "submission" / "homework" / ".ipynb_checkpoints").mkdir()
    shutil.copy(
        sample(assignment, "ada"),
        root / "submission" / "homework" / ".ipynb_checkpoints" / "my work-checkpoint.ipynb",
    )
    results = run_autograder(root)
    assert results["score"] == grade_notebook(sample(assignment, "ben"), assignment).score > 0


@pytest.mark.parametrize("notebooks", [[], ["a.ipynb", "b.ipynb"]])
def test_no_notebook_or_several(bundles, tmp_path, notebooks):
    """Check that a submission with no notebook, or two, gets 0 and a message saying so,
    every test listed as not graded."""
    assignment = "15_encoder_decoder"
    root = unpack(bundles(assignment), tmp_path)
    (root / "submission" / "notes.txt").write_text("my answers are in the notebook")
    for name in notebooks:
        shutil.copy(sample(assignment, "ada"), root / "submission" / name)
    results = run_autograder(root)
    assert results["score"] == 0
    if notebooks:
        assert "2 notebooks (a.ipynb, b.ipynb)" in results["output"]
    else:
        assert "No notebook (.ipynb file)" in results["output"]
        assert "notes.txt" in results["output"]
    assert [test["number"] for test in results["tests"]] == [t.name for t in suite(assignment)]
    assert all(t["score"] == 0 and t["output"].startswith("Not graded") for t in results["tests"])


# A learner who tries to take cell_step from the grader's side instead of writing it.
REACH_CELL = """
import importlib.util, sys
sys.path.append({source!r})
cell_step = None
try:  # by name: the sandbox blocks the grader's packages
    {import_line}
except ImportError:
    pass
if cell_step is None and {by_path}:  # by file: only what the bundle holds can be read
    try:
        spec = importlib.util.spec_from_file_location("copied", {file!r})
        copied = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(copied)
        cell_step = copied.cell_step
    except (OSError, ImportError):
        pass
if cell_step is None:
    def cell_step(x, state, params, cell_type="rnn"):
        raise NotImplementedError()
"""

CELL_STEP_TESTS = [
    "test_cell_step_rnn",
    "test_cell_step_lstm",
    "test_cell_step_gru",
    "test_cell_step_random_sizes",
]


def reaching_cell(root, import_line, file, by_path):
    return textwrap.dedent(
        REACH_CELL.format(
            source=str(root / "source"),
            import_line=import_line,
            file=str(root / "source" / file),
            by_path=by_path,
        )
    )


def reaching_notebook(root, import_line, file, by_path):
    notebook = nbformat.read(sample("15_encoder_decoder", "ada"), as_version=4)
    cell = next(
        cell
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "solution_cell_step"
    )
    cell.source = reaching_cell(root, import_line, file, by_path)
    nbformat.write(notebook, root / "submission" / "15_encoder_decoder.ipynb")


def cell_step_scores(results):
    return {t["number"]: t["score"] for t in results["tests"] if t["number"] in CELL_STEP_TESTS}


@pytest.mark.parametrize(
    "import_line",
    [
        "from solutions.seq2seq import cell_step",
        "from autograder.suite.recurrent_oracle import cell_step",
    ],
)
def test_grader_packages_cannot_be_imported_in_the_bundle(bundles, tmp_path, import_line):
    """Check that learner code cannot import `solutions` or `autograder` inside the bundle
    layout, not even with the bundle's folder on sys.path and the reference copied there."""
    root = unpack(bundles("15_encoder_decoder"), tmp_path)
    shutil.copytree(REPO / "solutions", root / "source" / "solutions")  # worse than we ship
    reaching_notebook(root, import_line, "none.py", by_path=False)
    assert set(cell_step_scores(run_autograder(root)).values()) == {0}


def test_reference_is_not_in_the_bundle_to_read(bundles, tmp_path):
    """Check that reading the reference by its file path finds nothing in the bundle,
    where the same cell, run unsandboxed beside a copy of the reference, finds it."""
    root = unpack(bundles("15_encoder_decoder"), tmp_path / "shipped")
    reaching_notebook(root, "pass", "solutions/seq2seq.py", by_path=True)
    assert set(cell_step_scores(run_autograder(root)).values()) == {0}

    root = unpack(bundles("15_encoder_decoder"), tmp_path / "with_reference")
    shutil.copytree(REPO / "solutions", root / "source" / "solutions")
    namespace = {}
    exec(reaching_cell(root, "pass", "solutions/seq2seq.py", by_path=True), namespace)
    assert namespace["cell_step"].__module__ == "copied"  # the reading works


@pytest.mark.skipif(
    jail_settings() is None,
    reason="this machine cannot make namespaces, so learner code can read files by path",
)
def test_oracles_cannot_be_read_by_path(bundles, tmp_path):
    """Check that learner code cannot load the suite's oracle by its file path."""
    root = unpack(bundles("15_encoder_decoder"), tmp_path)
    reaching_notebook(root, "pass", "autograder/suite/recurrent_oracle.py", by_path=True)
    assert set(cell_step_scores(run_autograder(root)).values()) == {0}


def test_a_grader_that_does_not_finish_leaves_no_forged_results(bundles, tmp_path):
    """Check run_autograder when the grader is killed after learner code wrote results.json
    (as unjailed learner code could): the results say grading stopped, with score 0."""
    root = unpack(bundles("15_encoder_decoder"), tmp_path)
    killed_grader = tmp_path / "killed_grader"
    killed_grader.write_text(
        "#!/usr/bin/env bash\n"
        'echo \'{"score": 29, "tests": []}\' >"$AUTOGRADER_ROOT/results/results.json"\n'
        "kill -9 $$\n"
    )
    killed_grader.chmod(0o755)
    environment = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=killed_grader)
    finished = subprocess.run([str(root / "run_autograder")], env=environment, timeout=60)
    assert finished.returncode == 137  # 128 + SIGKILL, passed on to Gradescope
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["tests"] == []
    assert "grader stopped before it finished (exit status 137)" in results["output"]
