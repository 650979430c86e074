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
