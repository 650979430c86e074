"""Each classic mistake of the Transformer encoder-decoder, planted in the reference, loses
points with a hint.

MISTAKES: name -> (text replacements in the reference, {graded test: text its hint must
hold}); every mistake names one visible test and one hidden test.
"""

import pytest

import solutions.transformer as reference
from autograder.registry import suite
from tests.planting import assert_caught, failures, planted

CAUSAL = "causal = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool))"
DECODE = "hidden = model.decode(memory, src_mask, ys, causal.to(src.device))"

MISTAKES = {
    "no sqrt(d_model) scaling": (
        [
            ("x = self.src_embed(src) * math.sqrt(self.d_model)", "x = self.src_embed(src)"),
            ("y = self.tgt_embed(tgt) * math.sqrt(self.d_model)", "y = self.tgt_embed(tgt)"),
        ],
        {
            "test_model_matches_torch_transformer": "sqrt(d_model)",
            "test_model_random_sizes": "sqrt(d_model)",
        },
    ),
    "sin and cos swapped": (
        [
            ("pe[0, :, 0::2] = torch.sin(", "pe[0, :, 0::2] = torch.cos("),
            ("pe[0, :, 1::2] = torch.cos(", "pe[0, :, 1::2] = torch.sin("),
        ],
        {"test_positional_encoding": "swapped", "test_positional_encoding_sizes": "swapped"},
    ),
    "no final norm": (
        [
            (
                "            x = layer(x, src_mask)\n        return self.norm(x)",
                "            x = layer(x, src_mask)\n        return x",
            )
        ],
        {"test_encoder_stack": "final LayerNorm", "test_stacks_random_sizes": "final LayerNorm"},
    ),
    "cross-attention on the wrong input": (
        [
            (
                "hidden = self.decode(memory, src_mask, tgt, tgt_mask)",
                "source = self.pos_encoding(self.src_embed(src) * math.sqrt(self.d_model))\n"
                "        hidden = self.decode(source, src_mask, tgt, tgt_mask)",
            )
        ],
        {
            "test_model_matches_torch_transformer": "memory = encode(src)",
            "test_model_random_sizes": "memory = encode(src)",
        },
    ),
    "target mask not causal": (
        [(CAUSAL, "causal = torch.ones(ys.size(1), ys.size(1), dtype=torch.bool)")],
        {
            "test_greedy_decode_transformer": "causal target mask",
            "test_greedy_decode_other_sizes": "causal target mask",
        },
    ),
    "greedy_decode without src_mask": (
        [
            ("memory = model.encode(src, src_mask)", "memory = model.encode(src, None)"),
            (DECODE, "hidden = model.decode(memory, None, ys, causal)"),
        ],
        {
            "test_greedy_decode_transformer": "pass src_mask",
            "test_greedy_decode_other_sizes": "pass src_mask",
        },
    ),
    "next token read at the first position": (
        [("model.generator(hidden[:, -1])", "model.generator(hidden[:, 0])")],
        {
            "test_greedy_decode_transformer": "last position",
            "test_greedy_decode_other_sizes": "last position",
        },
    ),
}


def test_reference_gets_full_marks():
    """Check that the reference itself fails no graded test."""
    assert failures("17_transformer_encoder_decoder", vars(reference)) == {}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_planted_mistake_loses_points_with_a_hint(mistake):
    """Check that the mistake fails its visible and its hidden test, each hint naming it."""
    assert_caught("17_transformer_encoder_decoder", reference, mistake, *MISTAKES[mistake])


def test_every_mistake_is_caught_by_a_visible_and_a_hidden_test():
    """Check that each mistake names a visible test, which a learner runs in the notebook,
    and a hidden test, so that hand-in grading catches it too."""
    tests = suite("17_transformer_encoder_decoder")
    visible = {test.name for test in tests if test.visible}
    hidden = {test.name for test in tests if not test.visible}
    for mistake, (_, expected_hints) in MISTAKES.items():
        assert visible & set(expected_hints), f"{mistake} is checked by no visible test"
        assert hidden & set(expected_hints), f"{mistake} is checked by no hidden test"


def test_a_mistake_in_the_model_costs_no_greedy_decode_points():
    """Check that greedy_decode is graded on the grader's own model: a learner whose
    EncoderDecoder skips the sqrt(d_model) scaling loses the EncoderDecoder tests only."""
    replacements, expected_hints = MISTAKES["no sqrt(d_model) scaling"]
    failed = failures("17_transformer_encoder_decoder", planted(reference, replacements))
    assert set(failed) == set(expected_hints)
