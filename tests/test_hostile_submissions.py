"""Hostile submissions of notebook 15: the grader returns, isolates and cannot be gamed.

Each notebook is the complete sample notebook with some functions replaced by hostile
ones and some hostile cells added (see `tests.hostile`). Every case checks that grading
returns a result, that exactly the tests of the hostile functions fail, each with
feedback that says why, and that the score is exactly what honest code would earn: the
points of the untouched functions, never more.
"""

import contextlib
import json
import linecache
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import numpy as np
import pytest

import autograder.engine
from autograder.batch import Submission, grade_class
from autograder.engine import gradable_cells, grade_notebook, python_source, run_test
from autograder.errors import MESSAGE_KEPT, RaisedException, TimeLimit
from autograder.registry import GradedTest
from autograder.report import gradescope_results
from autograder.sandbox import Cell, RemoteSubmission, Sandbox, jail_settings
from autograder.submission import LocalSubmission
from tests.conftest import REPO
from tests.hostile import (
    ALL_TESTS,
    ASSIGNMENT,
    COMPLETE,
    LIMITS,
    POINTS,
    add_cells,
    affected_tests,
    code,
    complete_notebook,
    failing,
    grade,
    outputs,
    points_without,
    replace_function,
    solution_index,
    write,
)

FULL = sum(POINTS.values())
TIME_LIMIT = f"ran past the time limit of {LIMITS.test_seconds:g} s for this test"
CELL_TIME_LIMIT = f"ran past the time limit of {LIMITS.cell_seconds:g} s per cell"

HONEST_CROSS_ENTROPY = """
def cross_entropy(logits, target):
    shifted = logits - np.max(logits)
    return float(np.log(np.sum(np.exp(shifted))) - shifted[target])
"""


def cell_number(notebook, marker):
    """The number (from 1) of the only cell whose source holds `marker`."""
    numbers = [n for n, cell in enumerate(notebook.cells, 1) if marker in cell.source]
    assert len(numbers) == 1, (marker, numbers)
    return numbers[0]


def note_about(result, number):
    """The notebook-level message about cell `number`."""
    notes = [m for m in result.messages if m.startswith(f"Cell {number} ")]
    assert len(notes) == 1, result.messages
    return notes[0]


def assert_only_these_fail(result, *functions):
    """The tests of `functions` fail, every other test passes, the score is honest."""
    assert result.status == "graded"
    assert [test.name for test in result.tests] == ALL_TESTS  # every test was run
    assert failing(result) == affected_tests(*functions)
    assert result.score == points_without(*functions)


# Cells that hang or kill the learner's process: each is skipped, the rest is graded.

KILLER_CELLS = {
    "loop": "while True:  # loop\n    pass",
    "exit": "import sys\nsys.exit(1)  # exit",
    "os_exit": "import os\nos._exit(3)  # os_exit",
    "interrupt": "raise KeyboardInterrupt  # interrupt",
    "segfault": "import ctypes\nctypes.string_at(0)  # segfault",
    "sleep": "import time\ntime.sleep(100)  # sleep",
    "alarm": """
        import signal  # alarm
        signal.signal(signal.SIGALRM, lambda *args: None)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.alarm(1)
        while True:
            pass
        """,
    "syntax": "def broken(:  # syntax\n    pass",
    "memory": "hog = bytearray(64 << 30)  # memory",
    "flood": "for i in range(300_000):  # flood\n    print('flood', i)",
    "raw_output": "import os  # raw_output\nos.write(1, b'x' * 10**7)\nos.write(2, b'y' * 10**7)",
}

FLOODING_CELL_STEP = """
import os

_honest_cell_step = cell_step


def cell_step(*args, **kwargs):  # prints a flood on every call, then answers honestly
    for i in range(2000):
        print("cell_step flood", i)
    os.write(1, b"x" * 100_000)
    return _honest_cell_step(*args, **kwargs)
"""


@pytest.fixture(scope="module")
def killers(tmp_path_factory):
    notebook = complete_notebook()
    add_cells(notebook, KILLER_CELLS["loop"], after="cell_step")  # before most definitions
    add_cells(notebook, FLOODING_CELL_STEP, after="cell_step")
    add_cells(notebook, *(source for name, source in KILLER_CELLS.items() if name != "loop"))
    # Magics and shell lines on the cells that define graded functions.
    replace_function(
        notebook, "cross_entropy", "%%time\nimport numpy as np\n" + HONEST_CROSS_ENTROPY
    )
    seq2seq_loss = notebook.cells[cell_number(notebook, "def seq2seq_loss") - 1]
    seq2seq_loss.source = "%matplotlib inline\n!pip install nothing-at-all\n" + seq2seq_loss.source
    path = write(notebook, tmp_path_factory.mktemp("killers") / f"{ASSIGNMENT}.ipynb")
    return notebook, grade(path)


def test_killer_cells_are_skipped_and_everything_else_is_graded(killers):
    """Check that hanging and crashing cells cost nothing: full marks, all 15 tests run."""
    _, result = killers
    assert_only_these_fail(result)
    assert result.score == FULL


@pytest.mark.parametrize(
    "cell, says",
    [
        ("loop", f"was skipped while grading: it {CELL_TIME_LIMIT}"),
        ("sleep", f"was skipped while grading: it {CELL_TIME_LIMIT}"),
        ("alarm", f"was skipped while grading: it {CELL_TIME_LIMIT}"),
        ("os_exit", "stopped the Python process: the process exited with status 3"),
        ("segfault", "crashed with a segmentation fault (SIGSEGV"),
        ("exit", 'raised an error while grading:\n  File "<cell'),
        ("interrupt", "raise KeyboardInterrupt  # interrupt\n"),
        ("syntax", "SyntaxError"),
        ("memory", "MemoryError"),
    ],
)
def test_killer_cells_are_reported_by_number(killers, cell, says):
    """Check that each hostile cell gets one message, naming its number and the cause."""
    notebook, result = killers
    marker = f"# {cell}"
    assert says in note_about(result, cell_number(notebook, marker))


def test_output_floods_are_not_skipped_or_reported(killers):
    """Check that cells and functions printing floods of output run to the end."""
    notebook, result = killers
    for cell in ("flood", "raw_output"):
        number = cell_number(notebook, f"# {cell}")
        assert not [m for m in result.messages if m.startswith(f"Cell {number} ")]
    assert "cell_step" not in " ".join(failing(result))


def test_magics_and_shell_lines_do_not_hide_code(killers):
    """Check that %%time, %matplotlib and !pip cells still define their functions."""
    _, result = killers
    assert {name: score for name, (score, _) in outputs(result).items()} == POINTS


IPYTHON_CELLS = [
    "%time x = 1",
    "%%time\nx = 1",
    "x = 1\n!pip install nothing-at-all",
    "files = !ls",
    "elapsed = %time 1",
    "x = 1\nlen?",
    "?len",
    "    x = 1\n    y = 2",  # indented as a whole
    ">>> x = 1",
    "In [3]: x = 1",
]
PYTHON_CELLS = [
    "x = 7 % 2\ny = x != 3\nx %= 2",
    "\n\ndef f():\n    return 'what?'  # really?\n",
    "  # a comment\nx = 1",
]


@pytest.mark.parametrize("source", IPYTHON_CELLS)
def test_cells_with_ipython_syntax_become_python(source):
    """Check that magics, shell lines, help, prompts and indentation are transformed."""
    transformed = python_source(source)
    assert transformed != source
    compile(transformed, "<cell>", "exec")


@pytest.mark.parametrize("source", PYTHON_CELLS)
def test_plain_python_cells_are_left_as_they_are(source):
    """Check that a cell without IPython's syntax is not transformed (a 5 MB cell took 66 s)."""
    assert python_source(source) is source


def test_cells_too_long_to_grade_are_not_run(tmp_path):
    """Check a 5 MB cell: not run, the notebook says so, its functions are not defined."""
    notebook = complete_notebook()
    padding = "# a line of padding, written out to make the cell long\n" * 90_000  # 5 MB
    replace_function(notebook, "cross_entropy", HONEST_CROSS_ENTROPY + padding)
    result = grade(write(notebook, tmp_path / "long.ipynb"))
    assert_only_these_fail(result, "cross_entropy")
    number = cell_number(notebook, "def cross_entropy(")
    length = len(notebook.cells[number - 1].source)
    assert note_about(result, number) == (
        f"Cell {number} was skipped while grading: it holds {length:,} characters; "
        "a cell may hold at most 1,000,000."
    )
    for test in affected_tests("cross_entropy"):
        assert outputs(result)[test][1].startswith("`cross_entropy` is not defined")
    assert result.seconds < 20


# Graded functions that hang, exit, crash or hog memory: their tests fail, with why.


@pytest.fixture(scope="module")
def hanging(tmp_path_factory):
    notebook = complete_notebook()
    replace_function(
        notebook,
        "cross_entropy",
        "def cross_entropy(logits, target):\n    while True:\n        pass",
    )
    replace_function(
        notebook, "seq2seq_loss", "import time\n\ndef seq2seq_loss(*args):\n    time.sleep(1000)"
    )
    replace_function(
        notebook,
        "greedy_decode",
        """
        import signal

        def greedy_decode(*args):
            signal.signal(signal.SIGALRM, lambda *args: None)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.alarm(1)
            while True:
                pass
        """,
    )
    return grade(write(notebook, tmp_path_factory.mktemp("hanging") / "hanging.ipynb"))


def test_hanging_functions_fail_their_tests_only(hanging):
    """Check that a loop, a sleep and a loop ignoring SIGALRM fail only their own tests."""
    assert_only_these_fail(hanging, "cross_entropy", "seq2seq_loss", "greedy_decode")


def test_hanging_functions_are_named_with_the_time_limit(hanging):
    """Check that a hanging function's feedback names it and the time limit."""
    feedback = outputs(hanging)
    for function in ("cross_entropy", "seq2seq_loss", "greedy_decode"):
        for test in affected_tests(function):
            assert feedback[test][1].startswith(f"`{function}` {TIME_LIMIT}")


@pytest.fixture(scope="module")
def exiting(tmp_path_factory):
    notebook = complete_notebook()
    replace_function(
        notebook, "cross_entropy", "import sys\n\ndef cross_entropy(*args):\n    sys.exit(0)"
    )
    replace_function(
        notebook, "seq2seq_loss", "import os\n\ndef seq2seq_loss(*args):\n    os._exit(0)"
    )
    replace_function(
        notebook, "greedy_decode", "def greedy_decode(*args):\n    raise KeyboardInterrupt"
    )
    replace_function(
        notebook,
        "decoder_forward",
        "import ctypes\n\ndef decoder_forward(*args):\n    return ctypes.string_at(0)",
    )
    replace_function(
        notebook,
        "encoder_forward",
        "def encoder_forward(*args):\n    return np.empty((1 << 20, 1 << 20))  # 8 TB",
    )
    return grade(write(notebook, tmp_path_factory.mktemp("exiting") / "exiting.ipynb"))


def test_exiting_functions_fail_their_tests_only(exiting):
    """Check sys.exit, os._exit, KeyboardInterrupt, a segfault and a memory hog in functions."""
    assert_only_these_fail(
        exiting,
        "cross_entropy",
        "seq2seq_loss",
        "greedy_decode",
        "decoder_forward",
        "encoder_forward",
    )


@pytest.mark.parametrize(
    "function, says",
    [
        ("cross_entropy", ["`cross_entropy` raised SystemExit", "sys.exit(0)"]),
        ("seq2seq_loss", ["calling `seq2seq_loss`, the process exited with status 0"]),
        ("greedy_decode", ["`greedy_decode` raised KeyboardInterrupt", "in greedy_decode"]),
        ("decoder_forward", ["calling `decoder_forward`", "segmentation fault", "1024 MB"]),
        ("encoder_forward", ["`encoder_forward` raised", "MemoryError", "np.empty((1 << 20"]),
    ],
)
def test_exiting_functions_say_how_they_stopped(exiting, function, says):
    """Check each function's feedback: the function, how it stopped, the learner's line."""
    for test in affected_tests(function):
        feedback = outputs(exiting)[test][1]
        assert all(part in feedback for part in says), feedback
        assert "<grader" not in feedback and "autograder" not in feedback


# Exceptions with messages of any length: feedback keeps their start and says how much more.

LONG_MESSAGE = "spam " * 1_000_000  # 5,000,000 characters


@pytest.fixture(scope="module")
def loud(tmp_path_factory):
    notebook = complete_notebook()
    replace_function(
        notebook,
        "cross_entropy",
        f"def cross_entropy(*args):\n    raise ValueError({LONG_MESSAGE[:5]!r} * 1_000_000)",
    )
    replace_function(
        notebook,
        "seq2seq_loss",
        "import sys\n\ndef seq2seq_loss(*args):\n    sys.exit('ham ' * 1_000_000)",
    )
    add_cells(notebook, "raise RuntimeError('eggs ' * 1_000_000)  # loud cell")
    add_cells(notebook, "x = (1 +" + " " * 500_000 + "  # long syntax error")
    return notebook, grade(write(notebook, tmp_path_factory.mktemp("loud") / "loud.ipynb"))


def test_long_exception_messages_are_cut_in_feedback(loud):
    """Check that a 5 MB exception message costs kilobytes of feedback, and says so."""
    notebook, result = loud
    assert_only_these_fail(result, "cross_entropy", "seq2seq_loss")
    feedback = outputs(result)
    for function, says in (("cross_entropy", "ValueError: spam spam"), ("seq2seq_loss", "ham ham")):
        for test in affected_tests(function):
            assert says in feedback[test][1] and len(feedback[test][1]) < 3 * MESSAGE_KEPT
            assert "more characters not kept]" in feedback[test][1]
    for marker, says in (("# loud cell", "RuntimeError: eggs eggs"), ("# long syntax", "Syntax")):
        note = note_about(result, cell_number(notebook, marker))
        assert says in note and "more characters not kept]" in note and len(note) < 3 * MESSAGE_KEPT
    assert len(json.dumps(gradescope_results(result))) < 100 * MESSAGE_KEPT


def test_long_exception_messages_are_cut_in_the_learners_notebook():
    """Check the same in the learner's notebook, where probes run in the kernel itself."""

    def cross_entropy(logits, target):
        raise ValueError(LONG_MESSAGE)

    with pytest.raises(RaisedException) as raised:
        LocalSubmission({"cross_entropy": cross_entropy}).call("cross_entropy", [0.0], 0)
    message = str(raised.value)
    assert "ValueError: spam spam" in message and len(message) < 3 * MESSAGE_KEPT
    assert (
        f"[... {len(LONG_MESSAGE) - MESSAGE_KEPT + len('ValueError: ')} more characters" in message
    )


# Errors raised inside libraries: the traceback shows the learner's lines, not NumPy's.

STACKING_CROSS_ENTROPY = """
def cross_entropy(logits, target):
    stacked = np.stack([logits, logits[:-1]])  # shapes differ
    return stacked[0, target]
"""

PARSING_SEQ2SEQ_LOSS = """
import json

def seq2seq_loss(*args):
    return json.loads("{")  # not JSON
"""


def library_frames(feedback):
    """The lines of `feedback` that name a file of NumPy or of Python's standard library."""
    libraries = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"])
    return [line for line in feedback.splitlines() if any(path in line for path in libraries)]


@pytest.fixture(scope="module")
def library_errors(tmp_path_factory):
    notebook = complete_notebook()
    replace_function(notebook, "cross_entropy", STACKING_CROSS_ENTROPY)
    replace_function(notebook, "seq2seq_loss", PARSING_SEQ2SEQ_LOSS)
    add_cells(notebook, "np.stack([np.zeros(2), np.zeros(3)])  # stacking cell")
    path = tmp_path_factory.mktemp("library") / "library.ipynb"
    return notebook, grade(write(notebook, path))


@pytest.mark.parametrize(
    "function, line, error",
    [
        ("cross_entropy", "np.stack([logits, logits[:-1]])  # shapes differ", "ValueError: all"),
        ("seq2seq_loss", 'return json.loads("{")  # not JSON', "JSONDecodeError: Expecting"),
    ],
)
def test_tracebacks_show_the_learners_frames_only(library_errors, function, line, error):
    """Check that an error raised inside NumPy or the standard library shows only the
    learner's frames, ending with the exception."""
    notebook, result = library_errors
    number = cell_number(notebook, line)
    for test in affected_tests(function):
        feedback = outputs(result)[test][1]
        assert f'File "<cell {number}>"' in feedback and line in feedback, feedback
        assert library_frames(feedback) == [] and "File" not in feedback.splitlines()[-1]
        assert error in feedback.splitlines()[-1]


def test_tracebacks_of_cells_show_the_learners_frames_only(library_errors):
    """Check the same for a cell that raises inside NumPy."""
    notebook, result = library_errors
    note = note_about(result, cell_number(notebook, "# stacking cell"))
    assert library_frames(note) == [] and "# stacking cell" in note
    assert note.endswith("ValueError: all input arrays must have the same shape")


def test_tracebacks_in_the_learners_notebook_show_the_learners_frames_only():
    """Check the learner's own kernel, where a cell's file is /tmp/ipykernel_.../N.py."""
    namespace = {"np": np}
    cell_file = "/tmp/ipykernel_123/456.py"
    lines = STACKING_CROSS_ENTROPY.splitlines(True)
    linecache.cache[cell_file] = (len(STACKING_CROSS_ENTROPY), None, lines, cell_file)  # as IPython
    exec(compile(STACKING_CROSS_ENTROPY, cell_file, "exec"), namespace)
    with pytest.raises(RaisedException) as raised:
        LocalSubmission(namespace).call("cross_entropy", np.zeros(3), 0)
    lines = str(raised.value).splitlines()
    assert lines[1:3] == [
        f'  File "{cell_file}", line 3, in cross_entropy',
        "    stacked = np.stack([logits, logits[:-1]])  # shapes differ",
    ]
    assert library_frames("\n".join(lines)) == []
    assert lines[-1] == "ValueError: all input arrays must have the same shape"


# Lying return values and monkeypatching: comparisons happen in the grader's process.

TAMPERING_CELL = """
import sys
import types

import numpy as np

np.allclose = np.isclose = np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *args, **kwargs: None
_asarray = np.asarray
np.asarray = lambda *args, **kwargs: _asarray(*args, **kwargs)
sys.modules["pytest"] = types.ModuleType("pytest")
__builtins__.print = lambda *args, **kwargs: None


class Liar:
    def __eq__(self, other):
        return True

    __ne__ = __lt__ = __gt__ = __le__ = __ge__ = lambda self, other: False

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)

    def __float__(self):
        return 0.0

    def __len__(self):
        return 3

    def __iter__(self):
        return iter([0, 1, 2])


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True


class AlwaysEqualList(list):
    def __eq__(self, other):
        return True


class AlwaysEqualArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)


class FakeTensor:
    __module__ = "torch.fake"

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return Liar()
"""


@pytest.fixture(scope="module")
def tampering(tmp_path_factory):
    notebook = complete_notebook()
    add_cells(notebook, TAMPERING_CELL, after="cell_step")
    replace_function(notebook, "cross_entropy", "def cross_entropy(*args):\n    return Liar()")
    replace_function(
        notebook, "seq2seq_loss", "def seq2seq_loss(*args):\n    return AlwaysEqualFloat(0.0)"
    )
    replace_function(
        notebook, "greedy_decode", "def greedy_decode(*args):\n    return AlwaysEqualList([0])"
    )
    replace_function(
        notebook,
        "decoder_forward",
        "def decoder_forward(c, Y, p, t):\n"
        "    return np.zeros((len(Y), len(p['b_out']))).view(AlwaysEqualArray)",
    )
    replace_function(
        notebook, "encoder_forward", "def encoder_forward(*args):\n    return FakeTensor()"
    )
    return grade(write(notebook, tmp_path_factory.mktemp("tampering") / "tampering.ipynb"))


def test_lying_values_and_patched_numpy_earn_nothing(tampering):
    """Check lying __eq__/__array__/__float__ and patched numpy/pytest: no points gained."""
    assert_only_these_fail(
        tampering,
        "cross_entropy",
        "seq2seq_loss",
        "greedy_decode",
        "decoder_forward",
        "encoder_forward",
    )
    assert tampering.messages == []


@pytest.mark.parametrize(
    "function, says",
    [
        ("cross_entropy", "`cross_entropy` returned an object of type Liar"),
        ("seq2seq_loss", "`seq2seq_loss` returned an object of type AlwaysEqualFloat"),
        ("greedy_decode", "`greedy_decode` returned an object of type AlwaysEqualList"),
        ("decoder_forward", "decoder_forward logits [cell_type="),
        ("encoder_forward", "`encoder_forward` returned an object of type Liar"),
    ],
)
def test_lying_values_are_named_in_feedback(tampering, function, says):
    """Check that feedback says what came back: an object, or values that differ."""
    for test in affected_tests(function):
        assert says in outputs(tampering)[test][1]
    if function == "decoder_forward":
        assert "values differ; largest error" in outputs(tampering)[affected_tests(function)[0]][1]


# Values of the wrong kind: feedback names the function, the case and what came back.

WRONG_KIND_GREEDY_DECODE = """
def greedy_decode(context, embedding, start, end, max_len, params, cell_type="rnn"):
    if max_len == 6:  # test_greedy_decode's case
        return np.zeros((max_len, 2), dtype=int)
    return np.matrix(np.arange(max_len))
"""


@pytest.fixture(scope="module")
def wrong_kinds(tmp_path_factory):
    notebook = complete_notebook()
    replace_function(notebook, "greedy_decode", WRONG_KIND_GREEDY_DECODE)
    replace_function(notebook, "cross_entropy", "def cross_entropy(*args):\n    return 10**400")
    return grade(write(notebook, tmp_path_factory.mktemp("kinds") / "kinds.ipynb"))


@pytest.mark.parametrize(
    "test, says",
    [
        (
            "test_greedy_decode",
            "greedy_decode tokens [cell_type='rnn', V=5, max_len=6, H=4]: expected a list of "
            "int token ids, got an array of shape (6, 2) and dtype int64",
        ),
        (
            "test_greedy_decode_all_cells",
            "greedy_decode tokens [cell_type='rnn', V=3, max_len=1, H=3]: expected a list of "
            "int token ids, got an array of shape (1, 1) and dtype int64",
        ),
        (
            "test_cross_entropy",
            "cross_entropy [V=2, target=0]: expected an array or a number, "
            "got an int too large for a float (1329 bits)",
        ),
        (
            "test_cross_entropy_large_logits",
            "cross_entropy [logits of magnitude 1e4, target=5]: expected an array or a number",
        ),
    ],
)
def test_values_of_the_wrong_kind_are_named(wrong_kinds, test, says):
    """Check a 2-D array or np.matrix for a list of tokens, and an int beyond float64."""
    assert_only_these_fail(wrong_kinds, "greedy_decode", "cross_entropy")
    assert outputs(wrong_kinds)[test][1].startswith(says)


def test_a_value_the_test_cannot_compare_is_named(tmp_path):
    """Check the message when a test's own code fails on a returned value."""

    def compares_badly(sub):
        """Check that a test failing on a value names the function."""
        return sub.call("cross_entropy", np.zeros(3), 0) < "a string"  # TypeError

    test = GradedTest("test_compares_badly", 1, False, "Check it", compares_badly)
    notebook = complete_notebook()
    with Sandbox(gradable_cells(notebook), LIMITS) as sandbox:
        result = run_test(test, sandbox, LIMITS)
    assert result.score == 0
    assert result.output == (
        "`cross_entropy` returned a value that could not be compared with the expected one: "
        "TypeError: '<' not supported between instances of 'float' and 'str'"
    )


# Reaching for the reference, the hidden tests or the results file.

CHEATING_CELL = """
import importlib
import json
import sys

outcomes = {}


def try_import(label, name):
    try:
        outcomes[label] = importlib.import_module(name)
    except BaseException as error:
        outcomes[label] = type(error).__name__


for name in ("solutions", "solutions.seq2seq", "autograder.suite", "autograder.engine"):
    try_import(name, name)
try_import("suite test", "autograder.suite.test_15_encoder_decoder")
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "BlockedImports"]
try_import("bypass solutions", "solutions.seq2seq")
try_import("bypass suite", "autograder.suite.recurrent_oracle")

fake = {"score": 1000, "tests": [{"name": "all", "score": 1000, "max_score": 1}]}
for path in ("results.json", RESULTS_PATH):
    try:  # in the jail, the results' folder is out of sight
        with open(path, "w") as file:
            json.dump(fake, file)
    except OSError:
        pass


def import_outcomes():
    return {label: str(value) for label, value in outcomes.items()}
"""

CHEATING_CROSS_ENTROPY = """
def cross_entropy(logits, target):
    reference = outcomes["bypass solutions"]
    if isinstance(reference, str):
        raise NotImplementedError
    return reference.cross_entropy(logits, target)
"""

CHEATING_GREEDY_DECODE = """
def greedy_decode(context, embedding, start, end, max_len, params, cell_type="rnn"):
    oracle = outcomes["bypass suite"]
    if isinstance(oracle, str):
        raise NotImplementedError
    return oracle.greedy_tokens(context, embedding, start, end, max_len, params, cell_type)
"""


def cheating_notebook(results_path):
    notebook = complete_notebook()
    add_cells(
        notebook, f"RESULTS_PATH = {str(results_path)!r}\n" + CHEATING_CELL, after="cell_step"
    )
    replace_function(notebook, "cross_entropy", CHEATING_CROSS_ENTROPY)
    replace_function(notebook, "greedy_decode", CHEATING_GREEDY_DECODE)
    return notebook


def test_grader_packages_cannot_be_imported_by_learner_code(tmp_path):
    """Check that solutions and the hidden tests stay out of reach, BlockedImports or not."""
    notebook = cheating_notebook(tmp_path / "results.json")
    with Sandbox(gradable_cells(notebook), LIMITS) as sandbox:
        found = RemoteSubmission(sandbox, LIMITS.test_seconds).call("import_outcomes")
        assert sandbox.cell_errors == {} and sandbox.skipped == {}
    assert set(found) == {
        "solutions",
        "solutions.seq2seq",
        "autograder.suite",
        "autograder.engine",
        "suite test",
        "bypass solutions",
        "bypass suite",
    }
    assert set(found.values()) == {"ModuleNotFoundError"}, found


def test_cheating_notebook_earns_only_its_honest_points_via_the_cli(tmp_path):
    """Check the CLI: a notebook that imports the reference and fakes results.json."""
    results = tmp_path / "results.json"
    notebook = write(cheating_notebook(results), tmp_path / "cheat" / f"{ASSIGNMENT}.ipynb")
    command = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(notebook),
        "--results",
        str(results),
    ]
    command += ["--test-timeout", "5", "--cell-timeout", "5", "--notebook-timeout", "60"]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert finished.returncode == 0, finished.stderr
    data = json.loads(results.read_text())
    assert data["score"] == points_without("cross_entropy", "greedy_decode")
    by_test = {test["number"]: test for test in data["tests"]}
    assert sorted(t for t, test in by_test.items() if test["score"] < test["max_score"]) == (
        affected_tests("cross_entropy", "greedy_decode")
    )
    for test in affected_tests("cross_entropy", "greedy_decode"):
        assert by_test[test]["output"].startswith("Not attempted: `")
    assert not (tmp_path / "cheat" / "results.json").exists()  # cwd is a scratch folder


# The jail: where the machine allows namespaces, learner code changes no file, reads none
# of the grader's or other learners', signals no process of the grader's, and leaves none.

JAILBREAK_CELL = """
import os, signal, subprocess, sys

attempts = {"parent pid": os.getppid()}


def attempt(label, action):
    try:
        attempts[label] = action()
    except BaseException as error:
        attempts[label] = type(error).__name__


attempt("read the grader", lambda: open(GRADER_FILE).read()[:10])
attempt("read the reference", lambda: open(REFERENCE_FILE).read()[:10])
attempt("read another learner", lambda: open(OTHER_SUBMISSION).read()[:10])
attempt("list the grader's folder", lambda: os.listdir(GRADER_FOLDER))
attempt("write to the Python installation", lambda: open(sys.prefix + "/jailbreak", "w").close())
attempt("write to its working folder", lambda: open("scratch.txt", "w").write("ok"))
attempt("stop the grader", lambda: os.kill(GRADER_PID, signal.SIGSTOP))
attempt("start a daemon", lambda: subprocess.Popen(DAEMON, start_new_session=True).pid > 0)


def jailbreak_attempts():
    return {label: str(outcome) for label, outcome in attempts.items()}
"""


def processes_running(command):
    """The pids of running processes whose command line is `command` (a list)."""
    wanted = "\0".join(command) + "\0"
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_text() == wanted:
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


@pytest.mark.skipif(jail_settings() is None, reason="this machine cannot make namespaces")
def test_jailed_learner_code_reaches_nothing_of_the_grader(tmp_path):
    """Check the jail: no grader file, no other learner, no grader process, no daemon."""
    daemon = ["sleep", f"{900 + os.getpid() % 1000}.5"]  # a command line no one else runs
    settings = {
        "GRADER_FILE": autograder.engine.__file__,
        "GRADER_FOLDER": str(Path(autograder.engine.__file__).parent),
        "REFERENCE_FILE": str(REPO / "solutions" / "seq2seq.py"),
        "OTHER_SUBMISSION": str(COMPLETE),
        "GRADER_PID": os.getpid(),
        "DAEMON": daemon,
    }
    notebook = complete_notebook()
    preamble = "".join(f"{name} = {value!r}\n" for name, value in settings.items())
    add_cells(notebook, preamble + JAILBREAK_CELL, after="cell_step")
    with Sandbox(gradable_cells(notebook), LIMITS) as sandbox:
        found = RemoteSubmission(sandbox, LIMITS.test_seconds).call("jailbreak_attempts")
        assert sandbox.cell_errors == {} and len(processes_running(daemon)) == 1
    assert found.pop("list the grader's folder") in ("FileNotFoundError", "[]")  # covered
    assert found == {
        "parent pid": "0",  # the first process of its own PID namespace
        "read the grader": "FileNotFoundError",
        "read the reference": "FileNotFoundError",
        "read another learner": "FileNotFoundError",
        "write to the Python installation": "OSError",  # read-only file system
        "write to its working folder": "2",
        "stop the grader": "ProcessLookupError",
        "start a daemon": "True",
    }
    assert not (Path(sys.prefix) / "jailbreak").exists()
    assert processes_running(daemon) == []  # it died with the learner's process


def test_without_a_jail_grading_is_the_same(tmp_path, monkeypatch):
    """Check grading on a machine that cannot make namespaces: the plain sandbox."""
    monkeypatch.setattr("autograder.sandbox.jail_settings", lambda: None)
    result = grade(write(complete_notebook(), tmp_path / "complete.ipynb"))
    assert result.score == FULL and result.messages == []


# The pipes to the grader: a learner who stops reading or forges messages.


@contextlib.contextmanager
def failing_after(seconds):
    """Fail, instead of hanging, if the block takes more than `seconds`."""

    def give_up(*args):
        raise AssertionError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


STALLING_CELL = """
import fcntl, sys, time

fcntl.fcntl(int(sys.argv[1]), 1031, 4096)  # F_SETPIPE_SZ: the grader's pipe, made small
sys.modules["autograder.worker"].Channel.receive = lambda self: time.sleep(10**6)


def echo(value):
    return value
"""


def test_a_learner_who_stops_reading_cannot_stall_the_grader():
    """Check that a probe the process does not read ends at the test's time limit."""
    with failing_after(60), Sandbox([Cell(1, STALLING_CELL)], LIMITS) as sandbox:
        with pytest.raises(TimeLimit, match="ran past the time limit"):
            RemoteSubmission(sandbox, LIMITS.test_seconds).call("echo", np.zeros(100_000))


FORGING_CELL = """
import os, sys

forged = sys.modules["autograder.plain"].encode(
    {"event": "cell_done", "index": "forged", "error": "x", "output": ""}
)
os.write(int(sys.argv[2]), len(forged).to_bytes(8, "big") + forged)  # the grader's pipe
"""


def test_forged_messages_are_a_garbled_answer(tmp_path):
    """Check that a message forged on the grader's pipe costs only the cell that sent it."""
    notebook = add_cells(complete_notebook(), FORGING_CELL)
    result = grade(write(notebook, tmp_path / "forged.ipynb"))
    assert result.score == FULL
    assert "the process sent a garbled answer" in note_about(result, len(notebook.cells))


# Notebook structure: syntax errors, missing and renamed functions, edited checks, tags.

CRASHING_ENCODER = """
def _step_all(X_seq, state, params, cell_type):
    for t in range(len(X_seq) + 1):
        state = cell_step(X_seq[t], state, params, cell_type)  # one step too many
    return state


def encoder_forward(X_seq, h0, encoder_params, cell_type="rnn"):
    return _step_all(X_seq, h0, encoder_params, cell_type)
"""


@pytest.fixture(scope="module")
def restructured(tmp_path_factory):
    notebook = complete_notebook()
    add_cells(notebook, "x = (1,  # syntax error\n", after="cell_step")
    replace_function(notebook, "encoder_forward", CRASHING_ENCODER)
    del notebook.cells[cell_number(notebook, "def decoder_forward(") - 1]
    greedy = notebook.cells[cell_number(notebook, "def greedy_decode(") - 1]
    greedy.source = greedy.source.replace("def greedy_decode(", "def greedy_decoding(")
    checks = [cell for cell in notebook.cells if "run_test(" in cell.source]
    for cell in checks[: len(checks) // 2]:  # edit half the check cells, delete the rest
        cell.source = 'print("\\N{CHECK MARK} all tests pass")'
    notebook.cells = [cell for cell in notebook.cells if cell not in checks[len(checks) // 2 :]]
    for cell in notebook.cells:  # the learner removes every skip-grading tag
        cell.metadata.pop("tags", None)
    notebook.cells.append(code("raise RuntimeError('last cell')"))
    return notebook, grade(
        write(notebook, tmp_path_factory.mktemp("structure") / "restructured.ipynb")
    )


def test_restructured_notebook_is_still_graded_fully(restructured):
    """Check syntax errors, missing/renamed functions, edited/deleted checks, removed tags."""
    _, result = restructured
    assert_only_these_fail(result, "encoder_forward", "decoder_forward", "greedy_decode")


def test_missing_and_renamed_functions_are_named(restructured):
    """Check the feedback of a deleted and of a renamed function."""
    _, result = restructured
    for test in affected_tests("decoder_forward"):
        assert outputs(result)[test][1].startswith("`decoder_forward` is not defined")
    for test in affected_tests("greedy_decode"):
        assert outputs(result)[test][1].startswith("`greedy_decode` is not defined")


def test_crash_in_learner_code_shows_the_learners_lines(restructured):
    """Check that a crash's traceback is trimmed to the learner's cells and shows the line."""
    notebook, result = restructured
    number = cell_number(notebook, "def _step_all(")
    feedback = outputs(result)["test_encoder_forward"][1]
    assert feedback.startswith("`encoder_forward` raised IndexError:")
    assert f'File "<cell {number}>", line 3, in _step_all' in feedback
    assert "one step too many" in feedback and feedback.endswith(
        "IndexError: index 5 is out of bounds for axis 0 with size 5"
    )
    assert "<grader" not in feedback and "autograder" not in feedback


def test_notebook_messages_name_the_broken_cells(restructured):
    """Check that the syntax error, the untagged training cells and the last cell are noted."""
    notebook, result = restructured
    assert "SyntaxError" in note_about(result, cell_number(notebook, "# syntax error"))
    assert "RuntimeError: last cell" in note_about(result, len(notebook.cells))
    training = cell_number(notebook, "def random_batch(")
    assert "Cell" in note_about(result, training)  # skipped for time, or raised (memory)


def test_check_calls_in_the_learners_own_cells_cost_nothing(tmp_path):
    """Check a learner who copies check calls into their cells: the code beside them runs."""
    notebook = complete_notebook()
    for name in ("cell_step", "encoder_forward"):  # a check at the end, as learners copy it
        cell = notebook.cells[solution_index(notebook, name)]
        cell.source += (
            f'\n\nfrom autograder.checks import run_test\nrun_test("test_{name}", globals())'
        )
    decoder = notebook.cells[solution_index(notebook, "decoder_forward")]  # a check mid-cell,
    decoder.source = 'run_test("test_cell_step_rnn", globals())\n' + decoder.source  # no import
    import_module = "import autograder.checks\nautograder.checks.run_test('test_greedy_decode', {})"
    add_cells(notebook, import_module, after="greedy_decode")  # an untagged check cell
    result = grade(write(notebook, tmp_path / "checks_copied.ipynb"))
    assert result.score == FULL and result.messages == []


# Files that are not notebooks.

NOT_NOTEBOOKS = {
    "empty": (b"", "not valid JSON"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\xff", "not a text file"),
    "cut off": (b'{"cells": [{"cell_type": "code", "sour', "not valid JSON (line 1"),
    "a list": (b"[1, 2, 3]", "JSON but not a Jupyter notebook"),
    "no cells": (b'{"metadata": {}, "nbformat": 4}', "JSON but not a Jupyter notebook"),
    "version 3, no worksheets": (b'{"nbformat": 3}', "a version 3 notebook that could not"),
    "a mark, then garbage": (b"\xef\xbb\xbf[1, 2", "not valid JSON (line 1"),
}


@pytest.mark.parametrize("kind", NOT_NOTEBOOKS)
def test_files_that_are_not_notebooks_get_zero_with_a_reason(tmp_path, kind):
    """Check that grading returns a result whose every test says why it was not graded."""
    data, says = NOT_NOTEBOOKS[kind]
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    path.write_bytes(data)
    result = grade_notebook(path)  # the assignment is inferred from the name
    assert result.status == "unreadable" and result.score == 0
    assert len(result.tests) == len(ALL_TESTS)
    assert says in result.messages[0]
    assert all(
        test.output.startswith("Not graded: ") and says in test.output for test in result.tests
    )


SAVED_OTHERWISE = {
    "version 3": lambda notebook: nbformat.writes(nbformat.convert(notebook, 3)).encode(),
    "byte-order mark": lambda notebook: b"\xef\xbb\xbf" + nbformat.writes(notebook).encode(),
}


@pytest.mark.parametrize("kind", SAVED_OTHERWISE)
def test_notebooks_saved_otherwise_are_graded(tmp_path, kind):
    """Check an nbformat 3 notebook, and one that starts with a UTF-8 byte-order mark."""
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    path.write_bytes(SAVED_OTHERWISE[kind](complete_notebook()))
    result = grade_notebook(path, limits=LIMITS)
    assert result.status == "graded" and result.messages == []
    assert result.score == FULL


def test_malformed_cells_are_graded_not_a_crash(tmp_path):
    """Check a notebook whose cells and metadata have the wrong types."""
    cells = [
        5,
        None,
        {"cell_type": "code"},
        {"cell_type": "code", "source": 7, "metadata": []},
        {"cell_type": "code", "source": ["x = 1\n"], "metadata": {"tags": 5, "nbgrader": "yes"}},
        {"cell_type": "code", "source": [1, 2], "metadata": {"nbgrader": {"grade_id": ["a"]}}},
        {"cell_type": "code", "source": HONEST_CROSS_ENTROPY, "metadata": {"tags": [None]}},
        {"cell_type": "code", "source": "import numpy as np", "metadata": {}},
    ]
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    result = grade_notebook(path, ASSIGNMENT, LIMITS)
    assert result.status == "graded"
    assert failing(result) == sorted(set(ALL_TESTS) - set(affected_tests("cross_entropy")))
    assert outputs(result)["test_cell_step_rnn"][1].startswith("`cell_step` is not defined")


def test_cli_writes_results_for_a_file_that_is_not_json(tmp_path):
    """Check `grade BAD --results f`: exit status 0 and a results.json that says why."""
    bad, results = tmp_path / "BAD", tmp_path / "out" / "results.json"
    bad.write_text("this is not a notebook")
    command = [sys.executable, "-m", "autograder", "grade", str(bad), "--results", str(results)]
    finished = subprocess.run(
        command + ["--assignment", ASSIGNMENT], capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
    data = json.loads(results.read_text())
    assert data["score"] == 0 and len(data["tests"]) == len(ALL_TESTS)
    assert "BAD is not valid JSON" in data["output"]


# A whole class with broken and hostile submissions.


def test_batch_with_broken_submissions_finishes_and_is_repeatable(tmp_path):
    """Check grade_class on a class with hostile and broken notebooks, run twice."""
    out = tmp_path / "grades"
    killer = complete_notebook()
    fake = out / "mallory" / ASSIGNMENT / "results.json"
    add_cells(
        killer,
        f"import json, os, pathlib\npath = pathlib.Path({str(fake)!r})\n"
        "path.parent.mkdir(parents=True, exist_ok=True)\n"
        "path.write_text(json.dumps({'score': 1000}))\nos._exit(0)",
        after="cross_entropy",
    )
    folder = tmp_path / "submitted"
    paths = {
        "ada": write(complete_notebook(), folder / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "mallory": write(killer, folder / "mallory" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
    }
    for student, data in (("eli", b'{"cells": ['), ("zed", b"")):
        paths[student] = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        paths[student].parent.mkdir(parents=True)
        paths[student].write_bytes(data)
    submissions = [Submission(student, ASSIGNMENT, path) for student, path in sorted(paths.items())]

    def run_batch():
        rows = grade_class(submissions, out, LIMITS, jobs=2, progress=False)
        files = sorted(path for path in out.rglob("*") if path.is_file())
        return rows, {path.relative_to(out): path.read_bytes() for path in files}

    rows, first = run_batch()
    scores = {row["student"]: float(row["score"]) for row in rows}
    assert scores == {"ada": FULL, "mallory": FULL, "eli": 0, "zed": 0}
    assert {row["student"]: row["status"] for row in rows}["eli"] == "unreadable"
    assert json.loads(fake.read_text())["score"] == FULL  # the fake was overwritten
    assert len(first) == 1 + 2 * len(paths)  # gradebook, results.json and feedback.md each
    _, second = run_batch()
    assert second == first
