"""Classic mistakes of notebook 16, planted in the reference, lose points with a hint."""

import pytest

import solutions.attention as reference
from tests.planting import assert_caught, failures

MISTAKES = {
    "no 1/sqrt(d)": (
        [("keys @ query / np.sqrt(len(query))", "keys @ query")],
        "test_dot_product_attention",
        "sqrt(d)",
    ),
    "attending with the new state": (
        [
            (
                "        query = hidden_of(state, cell_type)  # (H,)\n"
                "        context, weights[t] = attend(query, encoder_hidden, encoder_hidden)",
                "        context = context if t else np.zeros(encoder_hidden.shape[1])",
            ),
            (
                "cell_type)\n        # 3.",
                "cell_type)\n"
                "        query = hidden_of(state, cell_type)\n"
                "        context, weights[t] = attend(query, encoder_hidden, encoder_hidden)\n"
                "        # 3.",
            ),
        ],
        "test_attention_decoder_forward",
        "before the step",
    ),
    "softmax forgotten in additive attention": (
        [
            (
                "weights = softmax(scores)  # (T,)\n    context",
                "weights = scores  # (T,)\n    context",
            )
        ],
        "test_additive_attention",
        "softmax",
    ),
}


def test_reference_gets_full_marks():
    """Check that the reference itself fails no graded test."""
    assert failures("16_attention", vars(reference)) == {}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_planted_mistake_loses_points_with_a_hint(mistake):
    """Check that the mistake fails its test and the feedback says what to look at."""
    replacements, test_name, hint = MISTAKES[mistake]
    assert_caught("16_attention", reference, mistake, replacements, {test_name: hint})
