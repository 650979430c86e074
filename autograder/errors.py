"""What can go wrong when the grader calls learner code, as exceptions with feedback.

Each one carries a message written for the learner. A test that meets one of them fails
with that message; the grader itself never fails because of learner code.
"""

MESSAGE_KEPT = 4000  # characters kept of a text that learner code controls


def capped(text, kept=MESSAGE_KEPT):
    """`text`, or its first `kept` characters and a note of how many more there were:
    learner code can raise an exception whose message is megabytes long."""
    if len(text) <= kept:
        return text
    return f"{text[:kept]}\n[... {len(text) - kept} more characters not kept]"


class LearnerError(Exception):
    """Learner code could not produce a value; the message says why, for the learner."""


class NotAttempted(LearnerError):
    """The function still raises NotImplementedError: the stub is not filled in."""


class MissingName(LearnerError):
    """The notebook defines no function or class of that name."""


class RaisedException(LearnerError):
    """Learner code raised; the message holds the traceback trimmed to the learner's cells."""

    def __init__(self, message, exception_type="Exception"):
        super().__init__(message)
        self.exception_type = exception_type  # the name of the learner's exception class


class BadReturn(LearnerError):
    """The value returned is not something the contract allows (an object, a string...)."""


class TimeLimit(LearnerError):
    """Learner code ran past its time limit and its process was stopped."""


class Crash(LearnerError):
    """The learner's process died (os._exit, a segfault, the memory limit)."""
