"""Each classic mistake of sprint 07, planted in the reference, loses points with a hint."""

import pytest

import solutions.transformer_block as reference
from tests.planting import failures, planted

ENCODER_ATTENTION = "x = self.norm1(x + self.dropout(self.self_attn(x, x, x, src_mask)))"
ENCODER_FFN = "return self.norm2(x + self.dropout(self.ffn(x)))"

MISTAKES = {
    "no 1/sqrt(d_k)": (
        [("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)", "scores = q @ k.transpose(-2, -1)")],
        "test_attention_matches_torch",
        "1/sqrt(d_k)",
    ),
    "softmax over the wrong axis": (
        [("weights = scores.softmax(dim=-1)", "weights = scores.softmax(dim=-2)")],
        "test_attention_matches_torch",
        "over the keys",
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
        "test_attention_with_mask",
        "before the softmax",
    ),
    "heads split without the transpose": (
        [
            (
                "return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)",
                "return x.reshape(B, self.n_heads, T, self.d_k)",
            ),
            ("heads.transpose(1, 2).reshape(B, T_q, d_model)", "heads.reshape(B, T_q, d_model)"),
        ],
        "test_multi_head_attention",
        "transpose(1, 2)",
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
        "test_encoder_block",
        "pre-norm",
    ),
    "a missing residual": (
        [
            (ENCODER_ATTENTION, "x = self.norm1(self.dropout(self.self_attn(x, x, x, src_mask)))"),
            (ENCODER_FFN, "return self.norm2(self.dropout(self.ffn(x)))"),
        ],
        "test_encoder_block",
        "residual",
    ),
    "causal mask off by one": (
        [
            (
                "torch.tril(torch.ones(size, size, dtype=torch.bool))",
                "torch.tril(torch.ones(size, size, dtype=torch.bool), diagonal=-1)",
            )
        ],
        "test_masks",
        "attend to itself",
    ),
}


def test_reference_gets_full_marks():
    """Check that the reference itself fails no graded test."""
    assert failures("07_transformer_block", vars(reference)) == {}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_planted_mistake_loses_points_with_a_hint(mistake):
    """Check that the mistake fails its test and the hint names it."""
    replacements, test_name, hint = MISTAKES[mistake]
    failed = failures("07_transformer_block", planted(reference, replacements))
    assert test_name in failed, f"{mistake} passed {test_name}"
    assert hint in failed[test_name], failed[test_name]
