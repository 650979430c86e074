"""The graded tests of each assignment, found by name.

An assignment's suite is the module `autograder.suite.test_<assignment>`: its functions
decorated with `@graded(points)` are its tests, in the order they are written. Each test
takes a submission (`sub`) and raises `CheckFailed` or a `LearnerError` when it fails.
The module's `SOLUTIONS` names the reference module that pytest checks by default.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path

SUITE_DIR = Path(__file__).parent / "suite"


@dataclass(frozen=True)
class GradedTest:
    name: str
    points: float
    visible: bool
    description: str
    function: object


def points_text(points):
    """'1 point', '2.5 points'."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def graded(points, visible=False):
    """Mark a suite function as a graded test worth `points`.

    Visible tests are the checks a learner sees in the release notebook; the others are
    hidden tests, whose code never appears in a release or in feedback.
    """

    def mark(function):
        doc = (function.__doc__ or "").strip().splitlines()
        function.graded = GradedTest(
            name=function.__name__,
            points=points,
            visible=visible,
            description=doc[0].rstrip(".") if doc else function.__name__,
            function=function,
        )
        return function

    return mark


def assignments():
    """The ids of the assignments that have a suite, in order."""
    return sorted(path.stem.removeprefix("test_") for path in SUITE_DIR.glob("test_*.py"))


def suite_module(assignment):
    if assignment not in assignments():
        raise KeyError(f"no suite for assignment {assignment!r}; known: {assignments()}")
    return importlib.import_module(f"autograder.suite.test_{assignment}")


def suite(assignment):
    """The graded tests of `assignment`, in the order they are written."""
    module = suite_module(assignment)
    marked = (value.graded for value in vars(module).values() if hasattr(value, "graded"))
    return [test for test in marked if test.function.__module__ == module.__name__]


def find_test(name):
    """The graded test called `name`, in whichever suite holds it."""
    found = [test for a in assignments() for test in suite(a) if test.name == name]
    if len(found) != 1:
        raise KeyError(f"{len(found)} graded tests are called {name!r}; names must be unique")
    return found[0]
