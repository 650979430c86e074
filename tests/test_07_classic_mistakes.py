"""Each classic mistake of sprint 07, planted in the reference, loses points with a hint.

MISTAKES: name -> (text replacements in the reference, {graded test: text its hint must
hold}); every mistake names one visible test and one hidden test.
"""

import numpy as np
import pytest

import solutions.transformer_block as reference
from autograder.registry import suite
from autograder.submission import LocalSubmission
from tests.planting import assert_caught, failures, planted

ENCODER_ATTENTION = "x = self.norm1(x + self.dropout(self.self_attn(x, x, x, src_mask)))"
ENCODER_FFN = "return self.norm2(x + self.dropout(self.ffn(x)))"

MISTAKES = {
    "no 1/sqrt(d_k)": (
        [("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)", "scores = q @ k.transpose(-2, -1)")],
        {
            "test_attention_matches_torch": "1/sqrt(d_k)",
            "test_attention_shapes_and_broadcast_masks": "1/sqrt(d_k)",
        },
    ),
    "softmax over the wrong axis": (
        [("weights = scores.softmax(dim=-1)", "weights = scores.softmax(dim=-2)")],
        {
            "test_attention_matches_torch": "over the keys",
            "test_attention_shapes_and_broadcast_masks": "over the keys",
        },
    ),
    "mask after the softmax": (
        [
            (
                '        scores = scores.masked_fill(~mask, float("-inf"))\n'
                "    weights = scores.softmax(dim=-1)  # over the keys\n",
                "        scores = scores\n"
                "    weights = scores.softmax(dim=-1)  # over the keys\n"
                "    if mask is not None:\n"
                "        weights = weights.masked_fill(~mask, 0.0)\n",
            )
        ],
        {
            "test_attention_with_mask": "before the softmax",
            "test_attention_shapes_and_broadcast_masks": "before the softmax",
        },
    ),
    "heads split without the transpose": (
        [
            (
                "return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)",
                "return x.reshape(B, self.n_heads, T, self.d_k)",
            ),
            ("heads.transpose(1, 2).reshape(B, T_q, d_model)", "heads.reshape(B, T_q, d_model)"),
        ],
        {
            "test_multi_head_attention": "transpose(1, 2)",
            "test_multi_head_attention_cross_and_padding": "transpose(1, 2)",
        },
    ),
    "pre-norm instead of post-norm": (
        [
            (
                ENCODER_ATTENTION,
                "y = self.norm1(x)\n"
                "        x = x + self.dropout(self.self_attn(y, y, y, src_mask))",
            ),
            (ENCODER_FFN, "return x + self.dropout(self.ffn(self.norm2(x)))"),
        ],
        {"test_encoder_block": "pre-norm", "test_encoder_block_random_sizes": "pre-norm"},
    ),
    "a missing residual": (
        [
            (ENCODER_ATTENTION, "x = self.norm1(self.dropout(self.self_attn(x, x, x, src_mask)))"),
            (ENCODER_FFN, "return self.norm2(self.dropout(self.ffn(x)))"),
        ],
        {"test_encoder_block": "residual", "test_encoder_block_random_sizes": "residual"},
    ),
    "causal mask off by one": (
        [
            (
                "torch.tril(torch.ones(size, size, dtype=torch.bool))",
                "torch.tril(torch.ones(size, size, dtype=torch.bool), diagonal=-1)",
            )
        ],
        {"test_masks": "attend to itself", "test_causal_mask_sizes": "attend to itself"},
    ),
}


def test_reference_gets_full_marks():
    """Check that the reference itself fails no graded test."""
    assert failures("07_transformer_block", vars(reference)) == {}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_planted_mistake_loses_points_with_a_hint(mistake):
    """Check that the mistake fails its visible and its hidden test, each hint naming it."""
    assert_caught("07_transformer_block", reference, mistake, *MISTAKES[mistake])


def test_every_mistake_is_caught_by_a_hidden_test():
    """Check that each mistake names a hidden test, so hand-in grading catches it too."""
    hidden = {test.name for test in suite("07_transformer_block") if not test.visible}
    for mistake, (_, expected_hints) in MISTAKES.items():
        assert hidden & set(expected_hints), f"{mistake} is checked by no hidden test"


def test_gradient_check_sees_real_gradients():
    """Check test_gradients_reach_every_parameter's probe: the reference's gradients are far
    from round-off, and a block whose attention is cut from the graph fails the test."""
    x = np.random.default_rng(0).normal(0, 1, (2, 3, 8))
    report = LocalSubmission(vars(reference)).probe(
        "module_forward", "EncoderBlock", (8, 2, 16, 0.0), inputs=(x,), gradients=True
    )
    assert np.abs(report["gradients"]["self_attn.w_q.weight"]).max() > 1e-3
    detached = ENCODER_ATTENTION.replace("src_mask)))", "src_mask).detach()))")
    cut = planted(reference, [(ENCODER_ATTENTION, detached)])
    failed = failures("07_transformer_block", cut)
    assert "self_attn" in failed["test_gradients_reach_every_parameter"]
