"""Comparisons for the checks, with messages that show expected against actual.

Every comparison here works on plain data (see `autograder.plain`) in the grader's own
process. A failed comparison raises `CheckFailed`, whose message names the function, the
case, the shapes, the largest error and a hint, in that order.
"""

import numpy as np

from autograder.errors import capped

FLOAT32_ROUNDING = 1e-5  # relative errors this small, in a float64 check, are float32's
FLOAT64_MAX = float(np.finfo(np.float64).max)  # a Python float: compares exactly with ints


class CheckFailed(AssertionError):
    """A failed check, with feedback for the learner."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback: the message is the feedback.
        return [f"\N{BALLOT X} {self}"]


def fail(what, case, problem, hint=None):
    """Raise CheckFailed with a message in the house format."""
    message = f"{what} [{case}]: {problem}" if case else f"{what}: {problem}"
    if hint:
        message += f"\n  Hint: {hint}"
    raise CheckFailed(message)


def _array(value, what, case, hint):
    if isinstance(value, bool) or value is None or isinstance(value, (str, dict)):
        fail(what, case, f"expected an array or a number, got {describe(value)}", hint)
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        fail(what, case, f"expected an array or a number, got {describe(value)}", hint)


def describe(value):
    """What a returned value is, in a few words, for a message that says what came back."""
    if value is None:
        return "None (did you forget a return statement?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if type(value) is int and abs(value) > FLOAT64_MAX:
        return f"an int too large for a float ({value.bit_length()} bits)"
    return f"a value of type {type(value).__name__}"


def assert_close(actual, expected, what, case="", atol=1e-8, rtol=1e-6, hint=None):
    """Check that `actual` has the shape of `expected` and equals it within tolerance.

    The tolerance is the one of `numpy.allclose`: |actual - expected| <= atol + rtol * |expected|.
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = _array(actual, what, case, hint)
    if actual.shape != expected.shape:
        fail(what, case, f"expected shape {expected.shape}, got {actual.shape}", hint)
    if not np.all(np.isfinite(actual)):
        fail(what, case, "the result holds NaN or inf values", hint)
    error = np.abs(actual - expected)
    allowed = atol + rtol * np.abs(expected)
    if np.all(error <= allowed):
        return
    worst = np.unravel_index(np.argmax(error - allowed), error.shape) if error.ndim else ()
    where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
    problem = (
        f"values differ; largest error {error.max():.3g}{where} "
        f"(expected {expected[worst]:.6g}, got {actual[worst]:.6g}; "
        f"tolerance atol={atol:g}, rtol={rtol:g})"
    )
    if atol < 1e-6 and error.max() <= FLOAT32_ROUNDING * max(1.0, np.abs(expected).max()):
        problem += "; an error this small is rounding: compute in float64, not float32"
    fail(what, case, problem, hint)


def assert_equal(actual, expected, what, case="", hint=None):
    """Check exact equality of plain values (token lists, booleans, shapes)."""
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        if np.shape(actual) == np.shape(expected) and np.array_equal(actual, expected):
            return
    elif type(actual) is type(expected) and actual == expected:
        return
    fail(what, case, f"expected {expected!r}, got {capped(repr(actual))}", hint)


def assert_state_close(actual, expected, what, case="", cell_type="rnn", **tolerances):
    """Check a recurrent state: an (H,) array, or an (h, c) pair for 'lstm'."""
    if cell_type != "lstm":
        assert_close(actual, expected, what, case, **tolerances)
        return
    if not isinstance(actual, (tuple, list)) or len(actual) != 2:
        problem = f"an LSTM state is a tuple (h, c), got {describe(actual)}"
        fail(what, case, problem, tolerances.get("hint"))
    assert_close(actual[0], expected[0], f"{what}, h", case, **tolerances)
    assert_close(actual[1], expected[1], f"{what}, c", case, **tolerances)


def matches(actual, expected, atol=1e-8, rtol=1e-6):
    """Whether `actual` has the shape of `expected` and equals it within tolerance."""
    try:
        assert_close(actual, expected, "", atol=atol, rtol=rtol)
    except CheckFailed:
        return False
    return True


def matching_variant(actual, variants, atol=1e-8, rtol=1e-6):
    """The name of the first of `variants` (name -> expected value) that `actual` matches.

    Variants are the outputs of classic mistakes, computed by the oracle; a match turns
    a bare "values differ" into a hint that names the mistake.
    """
    return next(
        (name for name, value in variants.items() if matches(actual, value, atol, rtol)), None
    )
