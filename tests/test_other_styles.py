"""Correct code written in another style than the reference's gets full marks.

Each style is planted in a copy of the reference (see `tests.planting`), and the copy
must pass every graded test of its assignment.
"""

import pytest

import solutions.transformer as transformer
from tests.planting import failures, planted

# The reference greedy_decode's lines, which the styles below rewrite.
BLOCKS_IMPORT = "from solutions.transformer_block import DecoderBlock, EncoderBlock"
GREEDY_CAUSAL = (
    "causal = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool))[None, None]"
)
GREEDY_DECODE = (
    "hidden = model.decode(memory, src_mask, ys, causal.to(src.device))  # (B, t, d_model)"
)
GREEDY_NEXT = "next_token = model.generator(hidden[:, -1]).argmax(dim=-1)"

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
    "greedy_decode that calls model(...) each step": (
        transformer,
        "17_transformer_encoder_decoder",
        [
            (GREEDY_DECODE, "logits = model(src, ys, src_mask, causal)  # (B, t, V)"),
            (GREEDY_NEXT, "next_token = logits[:, -1].argmax(dim=-1)"),
        ],
    ),
    "greedy_decode with make_causal_mask": (
        transformer,
        "17_transformer_encoder_decoder",
        [
            (BLOCKS_IMPORT, BLOCKS_IMPORT + ", make_causal_mask"),
            (GREEDY_CAUSAL, "causal = make_causal_mask(ys.size(1))"),
        ],
    ),
    "greedy_decode with make_target_mask(ys, PAD)": (
        transformer,
        "17_transformer_encoder_decoder",
        [
            (BLOCKS_IMPORT, BLOCKS_IMPORT + ", make_target_mask"),
            (GREEDY_CAUSAL, "causal = make_target_mask(ys, 0)"),
        ],
    ),
    "greedy_decode with a causal mask of shape (t, t)": (
        transformer,
        "17_transformer_encoder_decoder",
        [
            (
                GREEDY_CAUSAL,
                "causal = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool))",
            )
        ],
    ),
}


@pytest.mark.parametrize("style", STYLES)
def test_other_styles_get_full_marks(style):
    """Check that a correct implementation in another style passes every graded test."""
    module, assignment, replacements = STYLES[style]
    assert failures(assignment, planted(module, replacements)) == {}
