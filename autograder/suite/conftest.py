"""Run the graded suites under pytest, on the reference solutions.

Each suite module names its reference module in `SOLUTIONS`; the `sub` fixture wraps it
as a submission, so `pytest autograder/suite` proves that suite and reference agree.
The summary adds up the points of the graded tests that ran.
"""

import importlib

import pytest

from autograder.submission import LocalSubmission


@pytest.fixture
def sub(request):
    reference = importlib.import_module(request.module.SOLUTIONS)
    return LocalSubmission(vars(reference))


def pytest_terminal_summary(terminalreporter):
    earned = possible = 0.0
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            graded_test = getattr(report, "graded_points", None)
            if graded_test is None or report.when != "call":
                continue
            possible += graded_test
            earned += graded_test if outcome == "passed" else 0
    if possible:
        terminalreporter.write_line(f"graded suite: {earned:g} / {possible:g} points")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    graded_test = getattr(getattr(item, "function", None), "graded", None)
    if graded_test is not None:
        outcome.get_result().graded_points = graded_test.points
