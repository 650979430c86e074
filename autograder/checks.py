"""The checks a learner runs in the notebook: graded tests, run on the notebook itself.

A check cell holds one line, `run_test("test_name", globals())`. It runs the same test
function that the autograder runs, so a check is written once, and prints a one-line
verdict, or raises `CheckFailed` whose message says what to look at.
"""

from autograder.compare import CheckFailed
from autograder.errors import LearnerError, NotAttempted
from autograder.registry import find_test, points_text
from autograder.submission import LocalSubmission


def run_test(name, namespace):
    """Run the graded test `name` on the definitions in `namespace` (pass `globals()`)."""
    test = find_test(name)
    try:
        test.function(LocalSubmission(namespace))
    except NotAttempted as error:
        # nbgrader's convention: an unfinished stub stops the notebook with this error.
        raise NotImplementedError(f"{test.description}\n  {error}") from None
    except LearnerError as error:
        raise CheckFailed(f"{test.description}\n  {error}") from None
    except CheckFailed as error:
        raise CheckFailed(f"{test.description}\n  {error}") from None
    print(f"\N{CHECK MARK} {test.description} ({points_text(test.points)})")
