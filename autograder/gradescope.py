"""Gradescope: the autograder zip of one assignment, and the grading that runs inside it.

    python -m autograder gradescope 15_encoder_decoder --out dist/

writes `dist/15_encoder_decoder-gradescope.zip`, laid out as Gradescope's autograder
specification asks (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

    setup.sh            run once, as root, when Gradescope builds the image: makes a
                        virtual environment and installs requirements.txt into it
    run_autograder      run for each submission: grades the notebook found in
                        /autograder/submission/ and writes /autograder/results/results.json
    run_autograder.py   what run_autograder runs, with the bundle's own copy of the grader
    requirements.txt    the grader's and the learner's packages, pinned (torch CPU)
    autograder/         the grading engine and this assignment's suite, nothing else

Two settings, for trying a bundle outside Gradescope: `AUTOGRADER_ROOT` (default
`/autograder`) is the folder that holds `source/`, `submission/` and `results/`, and
`AUTOGRADER_PYTHON` (default `$AUTOGRADER_ROOT/venv/bin/python`) the Python that grades.

The reference `solutions` package is not in the bundle: no suite needs it (expected
values come from independent oracles), and whatever is in the bundle can be read by the
learner's code, which runs in the same container. If a suite ever imports `solutions`,
the modules it imports are bundled and the build says so.
"""

import json
import os
import subprocess
import sys
import time
import traceback
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT_VARIABLE = "AUTOGRADER_ROOT"
PYTHON_VARIABLE = "AUTOGRADER_PYTHON"
DEFAULT_ROOT = "/autograder"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_VERSION = "2.13.0"
# Installed on Gradescope besides torch: the learner's notebook imports (numpy,
# matplotlib), IPython (cell magics become plain Python) and the grader's own (tqdm).
PINNED = ("numpy", "matplotlib", "ipython", "tqdm", "nbformat")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so that the same sources give the same zip

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"

# A Python >= 3.11: the image's own if it is recent enough (Ubuntu 24.04), else 3.11 from
# Ubuntu's packages (22.04).
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
    PYTHON="$(command -v python3.11)"
fi
if ! "$PYTHON" -m venv "$ROOT/venv"; then
    version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "python$version-venv"
    "$PYTHON" -m venv "$ROOT/venv"
fi

"$ROOT/venv/bin/pip" install --quiet --upgrade pip
# torch from PyTorch's CPU index (no CUDA libraries: the grader needs none), the rest
# from PyPI.
"$ROOT/venv/bin/pip" install --quiet --index-url __TORCH_INDEX__ "torch==__TORCH_VERSION__"
"$ROOT/venv/bin/pip" install --quiet -r requirements.txt
"$ROOT/venv/bin/python" -c "import numpy, torch; print('torch', torch.__version__)"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission, as root, in /autograder. It writes
# /autograder/results/results.json; its own output goes to the instructor only.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export AUTOGRADER_ROOT="$ROOT"
"$PYTHON" "$ROOT/source/run_autograder.py" __ASSIGNMENT__
status=$?
if [ "$status" -ne 0 ]; then
    # The grader did not finish (it writes results.json and exits 0 whatever the score):
    # whatever results.json holds now was not written by it.
    mkdir -p "$ROOT/results"
    why="The grader stopped before it finished (exit status $status)."
    why="$why Please ask your instructor to look at this submission."
    printf '{"score": 0, "output": "%s", "tests": []}\n' "$why" >"$ROOT/results/results.json"
fi
exit "$status"
"""

# Runs with the grader's Python; imports the grader from the bundle and nowhere else (a
# machine where the repository is installed in editable mode would otherwise mix copies).
RUN_AUTOGRADER_PY = r'''"""Grade $AUTOGRADER_ROOT/submission with this bundle's grader."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EDITABLE = "__editable__"


def only_this_bundle():
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not str(getattr(finder, "__module__", "")).startswith(EDITABLE)
    ]
    sys.path[:] = [HERE] + [
        entry
        for entry in sys.path
        if EDITABLE not in entry and not os.path.isdir(os.path.join(entry, "autograder"))
    ]
    sys.path_importer_cache.clear()


if __name__ == "__main__":
    only_this_bundle()
    from autograder.gradescope import main

    sys.exit(main(sys.argv[1:]))
'''


class BundleError(Exception):
    """The bundle cannot be built; the message says why."""


# Building the bundle.


def requirements():
    """requirements.txt: the versions installed here, so Gradescope grades like we do."""
    lines = [
        "# Installed by setup.sh into /autograder/venv; torch comes from PyTorch's CPU index.",
        f"torch=={TORCH_VERSION}",
    ]
    for name in PINNED:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(name)
    return "\n".join(lines) + "\n"


IMPORTED = r"""
import json, sys
from autograder import engine, gradescope, registry, report
registry.suite(sys.argv[1])
print(json.dumps(sorted(
    module.__file__ for name, module in list(sys.modules.items())
    if name.partition(".")[0] in ("autograder", "solutions") and getattr(module, "__file__", None)
)))
"""


def grading_files(assignment):
    """The files that grading `assignment` imports, relative to the repository: found by
    importing the engine and the suite in a fresh Python and listing what came in."""
    finished = subprocess.run(
        [sys.executable, "-c", IMPORTED, assignment],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if finished.returncode != 0:
        raise BundleError(f"cannot import the suite of {assignment}:\n{finished.stderr}")
    files = {Path(path).resolve() for path in json.loads(finished.stdout)}
    outside = [path for path in files if REPO not in path.parents]
    if outside:
        raise BundleError(f"grading imports files outside the repository: {outside}")
    # The whole engine (a module imported lazily, such as batch, would otherwise be
    # missing), but of the suites only this assignment's and the helpers it imports.
    files |= {path.resolve() for path in (REPO / "autograder").glob("*.py")}
    return sorted(path.relative_to(REPO) for path in files)


def bundle_files(assignment):
    """{path in the zip: (text, executable)} for the bundle of `assignment`."""
    setup = SETUP_SH.replace("__TORCH_INDEX__", TORCH_INDEX)
    setup = setup.replace("__TORCH_VERSION__", TORCH_VERSION)
    files = {
        "setup.sh": (setup, True),
        "run_autograder": (RUN_AUTOGRADER.replace("__ASSIGNMENT__", assignment), True),
        "run_autograder.py": (RUN_AUTOGRADER_PY, False),
        "requirements.txt": (requirements(), False),
    }
    for path in grading_files(assignment):
        files[path.as_posix()] = ((REPO / path).read_text(), False)
    return files


def build_bundle(assignment, out):
    """Write `out`/<assignment>-gradescope.zip; returns its path and the solutions
    modules it had to include (none, for a suite that uses oracles only)."""
    from autograder.registry import assignments

    if assignment not in assignments():
        raise BundleError(f"no assignment {assignment!r}; known: {', '.join(assignments())}")
    files = bundle_files(assignment)
    path = Path(out) / f"{assignment}-gradescope.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(files):
            text, executable = files[name]
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
    os.replace(scratch, path)
    return path, sorted(name for name in files if name.startswith("solutions/"))


# Grading inside Gradescope's container.

NOTEBOOK_SKIPPED_PARTS = {".ipynb_checkpoints", "__MACOSX"}


def find_notebooks(submission):
    """The .ipynb files of a submission folder, in any subfolder, checkpoints left out."""
    return sorted(
        path
        for path in Path(submission).rglob("*.ipynb")
        if path.is_file()
        and not NOTEBOOK_SKIPPED_PARTS & set(path.relative_to(submission).parts)
        and not path.name.startswith("._")
    )


def not_graded(assignment, why):
    """A result of 0 that says why, with every test listed as not graded."""
    from autograder.engine import GradeResult, failed
    from autograder.registry import suite

    result = GradeResult("", assignment, messages=[why], status="not graded")
    result.tests = [failed(test, f"Not graded: {why}") for test in suite(assignment)]
    return result


def grade_submission(root, assignment, limits=None):
    """The results.json dict for the submission in `root`/submission."""
    from autograder.engine import DEFAULT_LIMITS, NotebookError, grade_notebook
    from autograder.report import gradescope_results

    submission = Path(root) / "submission"
    notebooks = find_notebooks(submission) if submission.is_dir() else []
    if not notebooks:
        found = sorted(p.name for p in submission.iterdir()) if submission.is_dir() else []
        why = (
            "No notebook (.ipynb file) was found in your submission"
            + (f" (it holds: {', '.join(found)})" if found else "")
            + f". Upload the notebook of {assignment} that you worked in, as an .ipynb file."
        )
        result = not_graded(assignment, why)
    elif len(notebooks) > 1:
        names = ", ".join(str(path.relative_to(submission)) for path in notebooks)
        why = (
            f"Your submission holds {len(notebooks)} notebooks ({names}), so it is not "
            f"clear which to grade. Submit again with only your notebook of {assignment}."
        )
        result = not_graded(assignment, why)
    else:
        print(f"grading {notebooks[0]} as {assignment}")
        try:
            result = grade_notebook(notebooks[0], assignment, limits or DEFAULT_LIMITS)
        except NotebookError as error:
            result = not_graded(assignment, str(error))
    return gradescope_results(result) | {"execution_time": round(result.seconds)}


def grader_folders():
    """The folders that the grader's modules were imported from (one: the bundle's)."""
    return sorted(
        {
            str(Path(module.__file__).resolve().parent)
            for name, module in list(sys.modules.items())
            if name.partition(".")[0] in ("autograder", "solutions")
            and getattr(module, "__file__", None)
        }
    )


def main(argv=None):
    """`run_autograder.py ASSIGNMENT`: grade and write results/results.json; exit 0
    whenever results.json was written, whatever the submission holds."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: run_autograder.py ASSIGNMENT", file=sys.stderr)
        return 2
    assignment = argv[0]
    root = Path(os.environ.get(ROOT_VARIABLE, DEFAULT_ROOT))
    from autograder import engine
    from autograder.report import write_atomically

    print(f"grader: {Path(engine.__file__).parent}, Python {sys.executable}")
    started = time.monotonic()
    try:
        results = grade_submission(root, assignment)
    except Exception:  # noqa: BLE001 (a grader bug still gives the learner a results.json)
        traceback.print_exc()
        results = {
            "score": 0,
            "output": "Internal grader error: your notebook could not be graded. "
            "Please tell your instructor.",
            "tests": [],
            "execution_time": round(time.monotonic() - started),
        }
    write_atomically(root / "results" / "results.json", json.dumps(results, indent=2))
    print(f"score: {results['score']:g}")
    print("grader modules from: " + " ".join(grader_folders()))
    return 0


def build_command(assignment, out):
    """The `python -m autograder gradescope` command; returns the exit status."""
    try:
        path, solutions = build_bundle(assignment, out)
    except BundleError as error:
        print(f"cannot build the Gradescope bundle: {error}", file=sys.stderr)
        return 2
    if solutions:
        print(
            "warning: the suite imports the reference solutions, so the bundle holds "
            f"{', '.join(solutions)}, which learner code could read",
            file=sys.stderr,
        )
    print(f"wrote {path}: upload it as the autograder of {assignment} on Gradescope")
    return 0
