"""Independent implementations get full marks: the suites grade what the contract says,
not how the reference does it.

Each module of tests/implementations/, nb<assignment number>_<name>.py, implements one
assignment's graded names to the contract, in styles of its own (named in its docstring),
on the code the notebook gives.
"""

import importlib
from pathlib import Path

import pytest

from autograder.registry import assignments
from tests.planting import failures

IMPLEMENTATIONS = sorted(
    path.stem for path in (Path(__file__).parent / "implementations").glob("nb[0-9]*.py")
)


def assignment_of(implementation):
    """'nb07_alt1' -> '07_transformer_block'."""
    number = implementation.removeprefix("nb").partition("_")[0]
    return next(a for a in assignments() if a.startswith(f"{number}_"))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_independent_implementation_gets_full_marks(implementation):
    """Check that an implementation in another style fails no graded test."""
    module = importlib.import_module(f"tests.implementations.{implementation}")
    assert failures(assignment_of(implementation), vars(module)) == {}
