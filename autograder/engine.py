"""Grade one notebook: read it, run its cells in a sandbox, run the assignment's suite.

Whatever the notebook holds, `grade_notebook` returns a `GradeResult`: a file that is not
a notebook, a missing function, a crash, a hang or a flood of output in learner code all
become feedback on the tests they affect, never an exception from the grader.
"""

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.compare import CheckFailed
from autograder.errors import LearnerError, NotAttempted, capped
from autograder.registry import assignments, suite
from autograder.sandbox import Cell, Limits, RemoteSubmission, Sandbox
from autograder.submission import Submission

SKIP_TAGS = {"skip-grading"}
MAX_CELL_CHARACTERS = 1_000_000  # a longer cell is not run (no notebook needs one)
# What IPython's input transformer changes (IPython.core.inputtransformer2): an escape
# starting a line (%magic, %%cell magic, !shell, ?help, and `,` `;` `/` autocalls),
# `x = %magic` and `x = !shell`, `name?` ending a line that is not a comment, pasted
# `>>>` and `In [1]:` prompts; and a cell whose code is indented as a whole, which it
# dedents. A few plain Python lines match too (a line starting with `/` inside brackets):
# transforming those changes nothing.
IPYTHON_SYNTAX = re.compile(
    r"^[ \t]*[%!?,;/]|=[ \t]*[%!]|^[^#\n]*\?[ \t]*$|^[ \t]*(>>>|\.{3,}:)"
    r"|^(\[\w+\] )?In \[\d+\]: ",
    re.MULTILINE,
)
FIRST_CODE_INDENTED = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]+[^\s#]")


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message says why, for the learner."""


@dataclass
class TestResult:
    name: str
    description: str
    score: float
    max_score: float
    visible: bool
    output: str


@dataclass
class GradeResult:
    notebook: str
    assignment: str
    tests: list = field(default_factory=list)
    messages: list = field(default_factory=list)  # feedback about the notebook as a whole
    status: str = "graded"  # or "unreadable", "unknown assignment", "grader error"
    seconds: float = 0.0

    @property
    def score(self):
        return sum(test.score for test in self.tests)

    @property
    def max_score(self):
        return sum(test.max_score for test in self.tests)

    def to_dict(self):
        return asdict(self) | {"score": self.score, "max_score": self.max_score}


def read_notebook(path):
    """The notebook at `path` as a dict, or NotebookError with a message for the learner."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise NotebookError(f"could not read {path.name}: {error.strerror}") from None
    try:
        notebook = json.loads(data.decode("utf-8-sig"))  # a byte-order mark is allowed
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not a text file, so it is not a notebook") from None
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); it may have been cut off while saving. Open it in JupyterLab, "
            "save it again, and hand in the saved file."
        ) from None
    version = notebook.get("nbformat") if isinstance(notebook, dict) else None
    if isinstance(version, int) and version < 4:
        notebook = upgraded(notebook, path.name)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(
            f"{path.name} is JSON but not a Jupyter notebook (no list of cells); "
            "hand in the .ipynb file you worked in."
        )
    return notebook


def upgraded(notebook, name):
    """An older notebook (nbformat 3 or before, as old Jupyter versions save it) in
    today's format, or NotebookError."""
    import nbformat  # only for old notebooks: most are read as plain JSON

    version = notebook["nbformat"]
    try:
        return nbformat.convert(nbformat.from_dict(notebook), 4)
    except Exception:  # noqa: BLE001 (nbformat fails in many ways on a malformed notebook)
        raise NotebookError(
            f"{name} is a version {version} notebook that could not be converted to today's "
            "format; open it in JupyterLab, save it, and hand in the saved file."
        ) from None


def _text(source):
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _field(mapping, key):
    """mapping[key] if it is a dict, else {}: a notebook edited by hand may hold anything."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def _tags(cell):
    tags = _field(cell, "metadata").get("tags")
    return {tag for tag in tags if isinstance(tag, str)} if isinstance(tags, list) else set()


def is_check_cell(cell):
    """An nbgrader test cell: the grader runs its own copy of every test, so the notebook's
    copy (edited or not) is not run. Any other cell runs, and a check it calls does
    nothing there (see `autograder.worker`), so a learner's code beside a check counts."""
    nbgrader = _field(_field(cell, "metadata"), "nbgrader")
    return bool(nbgrader.get("grade") and not nbgrader.get("solution"))


def python_source(source):
    """Cell text as plain Python: IPython magics and `!commands` become harmless calls.

    Only a cell that holds IPython's own syntax is transformed: IPython takes seconds
    per megabyte, and leaves plain Python as it is.
    """
    if not (IPYTHON_SYNTAX.search(source) or FIRST_CODE_INDENTED.match(source)):
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython, magics stay and show up as syntax errors
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 (a cell IPython cannot parse stays as it is)
        return source


def graded_code(notebook):
    """(index, text) of the code cells that grading is about: not checks, not tagged
    skip-grading."""
    for index, cell in enumerate(notebook["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        if SKIP_TAGS & _tags(cell) or is_check_cell(cell):
            continue
        yield index, _text(cell.get("source", ""))


def gradable_cells(notebook):
    """The code cells to run when grading: not checks, not skip-grading, not too long."""
    return [
        Cell(index, python_source(text))
        for index, text in graded_code(notebook)
        if len(text) <= MAX_CELL_CHARACTERS
    ]


def cells_too_long(notebook):
    """Cell index -> why it is not run, for the cells too long to grade."""
    return {
        index: f"it holds {len(text):,} characters; a cell may hold at most {MAX_CELL_CHARACTERS:,}"
        for index, text in graded_code(notebook)
        if len(text) > MAX_CELL_CHARACTERS
    }


def graded_cell_ids(assignment):
    """The grade ids of the cells that tell `assignment`'s notebook: its check cells are
    named after its tests, its solution cells after the functions they hold."""
    from autograder.build import solution_grade_ids  # notebook tooling, loaded when needed

    return {test.name for test in suite(assignment)} | solution_grade_ids(assignment)


def infer_assignment(path, notebook=None):
    """The assignment a notebook belongs to: from its name, its folder, or its cells."""
    path = Path(path)
    known = assignments()
    for candidate in (path.stem, path.parent.name):
        if candidate in known:
            return candidate
    if notebook:
        grade_ids = {
            str(_field(_field(cell, "metadata"), "nbgrader").get("grade_id"))
            for cell in notebook["cells"]
        }
        overlap = {name: len(grade_ids & graded_cell_ids(name)) for name in known}
        best = max(overlap, key=overlap.get)
        if overlap[best]:
            return best
    return None


def failed(test, output):
    return TestResult(test.name, test.description, 0.0, test.points, test.visible, output)


class NamingSubmission(Submission):
    """A submission that remembers the learner function or class a test called last, so
    that feedback can name it when the test fails on the value that came back."""

    def __init__(self, submission):
        self.submission, self.last_called = submission, None

    def probe(self, probe_name, *args, **kwargs):
        self.last_called = args[0] if args and isinstance(args[0], str) else None
        return self.submission.probe(probe_name, *args, **kwargs)


def run_test(test, sandbox, limits):
    """Run one graded test on the sandboxed submission; always returns a TestResult."""
    try:
        sandbox.ready()  # loading the notebook, before the test's own time starts
    except LearnerError as error:
        return failed(test, str(error))
    submission = NamingSubmission(RemoteSubmission(sandbox, limits.test_seconds))
    try:
        test.function(submission)
    except NotAttempted as error:
        return failed(test, f"Not attempted: {error}")
    except (CheckFailed, LearnerError) as error:
        return failed(test, str(error))
    except Exception as error:  # noqa: BLE001 (a value the checks could not even compare)
        called = submission.last_called
        returned = f"`{called}` returned a value that" if called else "The value returned"
        why = capped(f"{type(error).__name__}: {error}")
        return failed(test, f"{returned} could not be compared with the expected one: {why}")
    return TestResult(
        test.name, test.description, test.points, test.points, test.visible, "Passed."
    )


def notebook_messages(sandbox, not_run):
    """What the notebook's cells did while grading: `not_run` (index -> why) were left
    out, the sandbox skipped others, and some raised."""
    messages = []
    for index, why in sorted((not_run | sandbox.skipped).items()):
        messages.append(f"Cell {index} was skipped while grading: {why}.")
    for index, error in sorted(sandbox.cell_errors.items()):
        if index not in sandbox.skipped:
            messages.append(f"Cell {index} raised an error while grading:\n{error}")
    return messages


DEFAULT_LIMITS = Limits()


def grade_notebook(path, assignment=None, limits=DEFAULT_LIMITS):
    """Grade the notebook at `path` against the suite of `assignment` (inferred if None)."""
    started = time.monotonic()
    try:
        notebook = read_notebook(path)
    except NotebookError as error:
        notebook, problem = None, str(error)
    else:
        problem = None
    assignment = assignment or infer_assignment(path, notebook)
    if assignment is None:
        raise NotebookError(
            f"cannot tell which assignment {Path(path).name} is; name it with --assignment "
            f"(one of {', '.join(assignments())})"
        )
    tests = suite(assignment)
    result = GradeResult(str(path), assignment)
    if problem:
        result.messages.append(problem)
        result.status = "unreadable"
        result.tests = [failed(test, f"Not graded: {problem}") for test in tests]
    else:
        with Sandbox(gradable_cells(notebook), limits) as sandbox:
            result.tests = [run_test(test, sandbox, limits) for test in tests]
            result.messages = notebook_messages(sandbox, cells_too_long(notebook))
    result.seconds = round(time.monotonic() - started, 3)
    return result
