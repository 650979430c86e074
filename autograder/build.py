"""Generate the course's notebooks from their sources: `python -m autograder build`.

For each assignment, from `source/<a>/<a>.pct.py` (the text), `solutions/` (the code) and
`autograder/suite/` (the tests), write:

1. `source/<a>/<a>.ipynb`, the instructor notebook with nbgrader solution regions and
   hidden tests;
2. `release/<a>/<a>.ipynb`, the learner notebook, made by `nbgrader generate_assignment`;
3. `samples/submitted/<learner>/<a>/<a>.ipynb`, the sample class's submissions, as the
   learners of `samples/learners/<a>.py` would hand them in.

`--check` builds into a scratch folder and lists what differs from the repository.
"""

import ast
import filecmp
import importlib
import inspect
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.registry import assignments, find_test, points_text, suite

REPO = Path(__file__).resolve().parent.parent
GENERATED = ("source", "release", "samples/submitted")
HEADER = re.compile(r"^# %%(?: \[(?P<kind>\w+)\])?(?P<arg>.*)$")
SKIP_GRADING_TAG = "skip-grading"


class BuildError(Exception):
    """A notebook source that cannot be built; the message says where and why."""


@dataclass
class SourceCell:
    kind: str  # markdown, code, given, solution, test or demo
    arg: str  # what follows the kind on the header line
    body: str
    line: int  # where the cell starts in the .pct.py file


def parse_percent(text):
    """Split a jupytext percent-format text into cells."""
    cells = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            cells.append(SourceCell(header["kind"] or "code", header["arg"].strip(), "", number))
        elif cells:
            cells[-1].body += line + "\n"
        elif line.strip():
            raise BuildError(f"line {number}: text before the first '# %%' cell")
    for cell in cells:
        cell.body = cell.body.strip("\n")
        if cell.kind == "markdown":
            cell.body = "\n".join(re.sub(r"^# ?", "", row) for row in cell.body.splitlines())
    return cells


def listed_names(arg):
    """`solutions.module: name, name` -> [names]."""
    return [name.strip() for name in arg.partition(":")[2].split(",") if name.strip()]


def named_objects(arg, where):
    """`solutions.module: name, name` -> (module, [names])."""
    module_name, names = arg.partition(":")[0], listed_names(arg)
    if not names:
        raise BuildError(f"{where}: expected 'module: name, ...', got {arg!r}")
    module = importlib.import_module(module_name.strip())
    missing = [name for name in names if not hasattr(module, name)]
    if missing:
        raise BuildError(f"{where}: {module.__name__} has no {', '.join(missing)}")
    return module, names


def object_source(module, name):
    return textwrap.dedent(inspect.getsource(getattr(module, name))).rstrip()


def with_solution_regions(source):
    """Put the body of every function, and of every method of a class, inside nbgrader's
    solution markers; the signature and the docstring stay for the learner."""
    lines = source.splitlines()
    tree = ast.parse(source)
    functions = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            functions += [item for item in node.body if isinstance(item, ast.FunctionDef)]
        elif isinstance(node, ast.FunctionDef):
            functions.append(node)
    for function in sorted(functions, key=lambda f: f.lineno, reverse=True):
        body = function.body
        has_docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        if has_docstring and len(body) == 1:
            raise BuildError(f"{function.name} has a docstring but no body")
        first = body[1] if has_docstring else body[0]
        start = (body[0].end_lineno + 1) if has_docstring else first.lineno
        while not lines[start - 1].strip():
            start += 1
        indent = " " * first.col_offset
        lines.insert(function.end_lineno, f"{indent}### END SOLUTION")
        lines.insert(start - 1, f"{indent}### BEGIN SOLUTION")
    return "\n".join(lines)


def test_cell_source(test):
    call = f'from autograder.checks import run_test\n\nrun_test("{test.name}", globals())'
    title = f"# {test.description} ({points_text(test.points)})"
    if test.visible:
        return f"{title}\n{call}"
    return (
        f"# Hidden test: {test.description[0].lower()}{test.description[1:]} "
        f"({points_text(test.points)})\n# The autograder runs it when you hand in the notebook.\n"
        f"### BEGIN HIDDEN TESTS\n{call}\n### END HIDDEN TESTS"
    )


def nbgrader_metadata(grade_id, grade=False, solution=False, points=None):
    metadata = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        metadata["points"] = points
    return {"nbgrader": metadata}


def cell_grade_id(kind, names):
    """The grade id of a [given] or [solution] cell; notebook ids hold 64 characters."""
    grade_id = f"{kind}_{'_'.join(names)}"
    if len(grade_id) > 60:
        grade_id = f"{kind}_{names[0]}_and_{len(names) - 1}_more"
    return grade_id


def solution_grade_ids(assignment):
    """The grade ids of the solution cells of `assignment`'s notebook, from its text
    source; none where that is not at hand (a Gradescope bundle holds no notebook text)."""
    path = REPO / "source" / assignment / f"{assignment}.pct.py"
    if not path.exists():
        return set()
    cells = parse_percent(path.read_text())
    return {cell_grade_id(c.kind, listed_names(c.arg)) for c in cells if c.kind == "solution"}


def notebook_cell(cell, index, where):
    """The .ipynb cell that a source cell becomes."""
    if cell.kind == "markdown":
        return nbformat.v4.new_markdown_cell(cell.body, id=f"text-{index}")
    if cell.kind in ("code", "demo"):
        made = nbformat.v4.new_code_cell(cell.body, id=f"code-{index}")
        if cell.kind == "demo":
            made.metadata["tags"] = [SKIP_GRADING_TAG]
        return made
    if cell.body.strip():
        raise BuildError(f"{where}: a [{cell.kind}] cell is generated; leave its body empty")
    if cell.kind == "test":
        test = find_test(cell.arg)
        made = nbformat.v4.new_code_cell(test_cell_source(test), id=test.name.replace("_", "-"))
        made.metadata.update(nbgrader_metadata(test.name, grade=True, points=test.points))
        return made
    if cell.kind in ("given", "solution"):
        module, names = named_objects(cell.arg, where)
        sources = [object_source(module, name) for name in names]
        if cell.kind == "solution":
            sources = [with_solution_regions(source) for source in sources]
        grade_id = cell_grade_id(cell.kind, names)
        made = nbformat.v4.new_code_cell("\n\n\n".join(sources), id=grade_id.replace("_", "-"))
        made.metadata.update(nbgrader_metadata(grade_id, solution=cell.kind == "solution"))
        return made
    raise BuildError(f"{where}: unknown cell kind [{cell.kind}]")


def instructor_notebook(assignment):
    """The source notebook of `assignment`, built from its .pct.py text."""
    path = REPO / "source" / assignment / f"{assignment}.pct.py"
    if not path.exists():
        raise BuildError(
            f"{assignment} has a suite but no notebook text at {path.relative_to(REPO)}"
        )
    cells = parse_percent(path.read_text())
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells = [
        notebook_cell(cell, index, f"{path.relative_to(REPO)}:{cell.line}")
        for index, cell in enumerate(cells)
    ]
    tested = [cell.arg for cell in cells if cell.kind == "test"]
    expected = [test.name for test in suite(assignment)]
    if sorted(tested) != sorted(expected):
        raise BuildError(
            f"{path.relative_to(REPO)}: every graded test needs exactly one [test] cell; "
            f"missing {sorted(set(expected) - set(tested))}, "
            f"extra or repeated {sorted(set(tested) - set(expected)) or _repeated(tested)}"
        )
    return notebook


def _repeated(names):
    return sorted({name for name in names if names.count(name) > 1})


def release(assignment, root):
    """Run `nbgrader generate_assignment` on `root`/source/<a> into `root`/release/<a>.

    nbgrader runs in a scratch course folder, so it leaves no database or log behind.
    """
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copy(REPO / "nbgrader_config.py", course)
        shutil.copytree(root / "source" / assignment, course / "source" / assignment)
        tools = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment]
        command += ["--force", "--no-db", "--log-level=WARN"]
        result = subprocess.run(
            command, cwd=course, env=dict(os.environ, PATH=tools), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise BuildError(f"nbgrader generate_assignment {assignment} failed:\n{result.stderr}")
        shutil.rmtree(root / "release" / assignment, ignore_errors=True)
        shutil.copytree(course / "release" / assignment, root / "release" / assignment)


def learner_notebook(assignment, instructor, released, plan):
    """The notebook a learner hands in: the release with some stubs filled in."""
    notebook = nbformat.from_dict(released)
    solution_cells = {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in instructor.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    edits = dict(plan.get("edit", {}))
    solve = plan.get("solve", [])
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id not in solution_cells:
            continue
        names = _object_names(solution_cells[grade_id].source)
        if solve != "all" and not set(names) <= set(solve):
            if set(names) & set(solve):
                raise BuildError(f"{assignment}: a learner solves part of cell {grade_id}")
            continue
        source = re.sub(r"\n *### (BEGIN|END) SOLUTION", "", solution_cells[grade_id].source)
        for name in names:
            for old, new in edits.pop(name, []):
                if old not in source:
                    raise BuildError(f"{assignment}: edit of {name}: {old!r} not found")
                source = source.replace(old, new)
        cell.source = source
    if edits:
        raise BuildError(f"{assignment}: edits of unsolved objects {sorted(edits)}")
    return notebook


def _object_names(source):
    return [node.name for node in ast.parse(source).body if hasattr(node, "name")]


def write_samples(assignment, root):
    learners_file = REPO / "samples" / "learners" / f"{assignment}.py"
    if not learners_file.exists():
        return
    learners = runpy.run_path(str(learners_file))["LEARNERS"]
    instructor = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", 4)
    release_file = root / "release" / assignment / f"{assignment}.ipynb"
    released = nbformat.read(release_file, 4)
    for name, plan in learners.items():
        target = root / "samples" / "submitted" / name / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        if plan.get("corrupt"):
            text = release_file.read_text()
            target.write_text(text[: len(text) // 2])  # a file cut off mid-save
        else:
            nbformat.write(learner_notebook(assignment, instructor, released, plan), target)


def build(root=REPO, only=None):
    """Build every assignment (or those in `only`) into the folders under `root`."""
    for assignment in only or assignments():
        source_dir = root / "source" / assignment
        source_dir.mkdir(parents=True, exist_ok=True)
        if root != REPO:
            shutil.copy(REPO / "source" / assignment / f"{assignment}.pct.py", source_dir)
        nbformat.write(instructor_notebook(assignment), source_dir / f"{assignment}.ipynb")
        release(assignment, root)
        write_samples(assignment, root)


def stale_files(only=None):
    """Generated files that differ from a fresh build, as paths relative to the repo."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        build(scratch, only)
        fresh = _files(scratch)
        committed = {
            path for path in _files(REPO) if _assignment_of(path) in (only or assignments())
        }
        differing = {
            path
            for path in fresh & committed
            if not filecmp.cmp(scratch / path, REPO / path, shallow=False)
        }
        return sorted(differing | (fresh ^ committed))


def _files(root):
    found = set()
    for folder in GENERATED:
        for path in (root / folder).rglob("*"):
            if path.is_file() and not path.name.endswith(".pct.py"):
                found.add(path.relative_to(root))
    return found


def _assignment_of(path):
    return next((part for part in path.parts if part in assignments()), None)
