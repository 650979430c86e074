"""Correct code written in another style than the reference's gets full marks.

Each style is planted in a copy of the reference (see `tests.planting`), and the copy
must pass every graded test of its assignment.
"""

import pytest

import solutions.transformer as transformer
from tests.planting import failures, planted

STYLES = {
    "pe a non-persistent buffer, and a buffer the contract does not name": (
        transformer,
        "17_transformer_encoder_decoder",
        [
            (
                'self.register_buffer("pe", pe)',
                'self.register_buffer("pe", pe, persistent=False)\n'
                '        self.register_buffer("one", torch.ones(()))',
            )
        ],
    ),
}


@pytest.mark.parametrize("style", STYLES)
def test_other_styles_get_full_marks(style):
    """Check that a correct implementation in another style passes every graded test."""
    module, assignment, replacements = STYLES[style]
    assert failures(assignment, planted(module, replacements)) == {}
