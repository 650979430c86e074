"""Classic mistakes of the Transformer encoder-decoder, planted in the reference, lose
points with a hint."""

import pytest

import solutions.transformer as reference
from tests.planting import failures, planted

MISTAKES = {
    "no sqrt(d_model) scaling": (
        [
            ("x = self.src_embed(src) * math.sqrt(self.d_model)", "x = self.src_embed(src)"),
            ("y = self.tgt_embed(tgt) * math.sqrt(self.d_model)", "y = self.tgt_embed(tgt)"),
        ],
        "test_model_matches_torch_transformer",
        "sqrt(d_model)",
    ),
    "sin and cos swapped": (
        [
            ("pe[0, :, 0::2] = torch.sin(", "pe[0, :, 0::2] = torch.cos("),
            ("pe[0, :, 1::2] = torch.cos(", "pe[0, :, 1::2] = torch.sin("),
        ],
        "test_positional_encoding",
        "swapped",
    ),
    "no final norm": (
        [
            (
                "            x = layer(x, src_mask)\n        return self.norm(x)",
                "            x = layer(x, src_mask)\n        return x",
            )
        ],
        "test_encoder_stack",
        "final LayerNorm",
    ),
    "cross-attention on the wrong input": (
        [
            (
                "hidden = self.decode(memory, src_mask, tgt, tgt_mask)",
                "source = self.pos_encoding(self.src_embed(src) * math.sqrt(self.d_model))\n"
                "        hidden = self.decode(source, src_mask, tgt, tgt_mask)",
            )
        ],
        "test_model_matches_torch_transformer",
        "memory = encode(src)",
    ),
    "target mask not causal": (
        [
            (
                "causal = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool))",
                "causal = torch.ones(ys.size(1), ys.size(1), dtype=torch.bool)",
            )
        ],
        "test_greedy_decode_transformer",
        "causal target mask",
    ),
}


def test_reference_gets_full_marks():
    """Check that the reference itself fails no graded test."""
    assert failures("17_transformer_encoder_decoder", vars(reference)) == {}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_planted_mistake_loses_points_with_a_hint(mistake):
    """Check that the mistake fails its test and the hint names it."""
    replacements, test_name, hint = MISTAKES[mistake]
    failed = failures("17_transformer_encoder_decoder", planted(reference, replacements))
    assert test_name in failed, f"{mistake} passed {test_name}"
    assert hint in failed[test_name], failed[test_name]
