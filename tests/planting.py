"""Plant a learner's mistake in a copy of a reference module, and grade the copy."""

import inspect

from autograder.compare import CheckFailed
from autograder.errors import LearnerError
from autograder.registry import suite
from autograder.submission import LocalSubmission


def planted(module, replacements):
    """The namespace of `module`'s source with each (old, new) replacement made once."""
    source = inspect.getsource(module)
    for old, new in replacements:
        assert source.count(old) == 1, f"{old!r} should appear exactly once"
        source = source.replace(old, new)
    namespace = {"__name__": f"planted_{module.__name__}"}
    exec(compile(source, f"<planted {module.__name__}>", "exec"), namespace)
    return namespace


def failures(assignment, namespace):
    """test name -> feedback message, for each graded test the namespace fails."""
    failed = {}
    for test in suite(assignment):
        try:
            test.function(LocalSubmission(namespace))
        except (CheckFailed, LearnerError) as error:
            failed[test.name] = str(error)
    return failed


def assert_caught(assignment, module, mistake, replacements, expected_hints):
    """Check that `mistake`, planted in `module` by `replacements`, fails every test of
    `expected_hints` (graded test name -> text its feedback must hold)."""
    failed = failures(assignment, planted(module, replacements))
    for test_name, hint in expected_hints.items():
        assert test_name in failed, f"{mistake} passed {test_name}"
        assert hint in failed[test_name], failed[test_name]
