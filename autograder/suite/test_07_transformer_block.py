"""Graded tests of sprint 07: the Transformer block, in PyTorch.

The oracle is PyTorch itself: `torch.nn.functional.scaled_dot_product_attention`,
`nn.MultiheadAttention`, `nn.TransformerEncoderLayer` and `nn.TransformerDecoderLayer`
(dropout 0, batch-first, post-norm) with their weights copied into the learner's modules.
Wrong answers are matched against the classic mistakes to name them in the hint.
"""

import numpy as np
import torch

from autograder.compare import assert_close, assert_equal, fail, matching_variant
from autograder.registry import graded
from autograder.suite import transformer_oracle as oracle
from autograder.suite.transformer_oracle import TOLERANCE

SOLUTIONS = "solutions.transformer_block"
USES_PARTS = (
    " (this uses your MultiHeadAttention and PositionwiseFeedForward: "
    "if their checks fail, fix those first)"
)


def tensor(array):
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def sizes(**named):
    return ", ".join(f"{key}={value}" for key, value in named.items())


def without_nan(value):
    """NaN as 0: a fully masked softmax gives NaN, and the mistake's output NaN alike."""
    try:
        return np.nan_to_num(np.asarray(value, dtype=np.float64), nan=0.0)
    except (TypeError, ValueError):
        return value


def named_mistake(actual, mistakes, default):
    """The hint of the classic mistake that `actual` matches, else `default`."""
    variants = {hint: without_nan(value.detach().numpy()) for hint, value in mistakes.items()}
    return matching_variant(without_nan(actual), variants, **TOLERANCE) or default


def check_attention(sub, shape_q, T_k, mask=None, seed=0, case=""):
    rng = np.random.default_rng(seed)
    *batch, T_q, d_k = shape_q
    q = rng.normal(0, 1, shape_q)
    k, v = rng.normal(0, 1, (*batch, T_k, d_k)), rng.normal(0, 1, (*batch, T_k, d_k + 1))
    arguments = (q, k, v) if mask is None else (q, k, v, mask)
    result = sub.call_torch("scaled_dot_product_attention", *arguments)
    if not isinstance(result, tuple) or len(result) != 2:
        fail("scaled_dot_product_attention", case, "should return a pair (output, weights)")
    output, weights = result
    torch_mask = None if mask is None else torch.from_numpy(mask)
    expected = torch.nn.functional.scaled_dot_product_attention(
        tensor(q), tensor(k), tensor(v), attn_mask=torch_mask
    )
    _, expected_weights = oracle.functional_attention(tensor(q), tensor(k), tensor(v), torch_mask)
    mistakes = {
        "scale the scores by 1/sqrt(d_k) before the softmax": oracle.functional_attention(
            tensor(q), tensor(k), tensor(v), torch_mask, scale=False
        )[1],
        "take the softmax over the keys (the last axis), not the queries": (
            oracle.functional_attention(tensor(q), tensor(k), tensor(v), torch_mask, softmax_dim=-2)
        )[1],
    }
    if mask is not None:
        hint = "mask the scores before the softmax, so that the weights still sum to 1"
        mistakes[hint] = oracle.functional_attention(
            tensor(q), tensor(k), tensor(v), torch_mask, mask_after=True
        )[1]
    hint = named_mistake(weights, mistakes, "weights = softmax(q kᵀ / √d_k) over the last axis")
    assert_close(weights, expected_weights, "attention weights", case, hint=hint, **TOLERANCE)
    assert_close(
        output, expected, "attention output", case, hint="output = weights @ v", **TOLERANCE
    )


@graded(points=2, visible=True)
def test_attention_matches_torch(sub):
    """Check that scaled_dot_product_attention matches torch's, without a mask."""
    check_attention(sub, (2, 3, 4), T_k=5, seed=0, case=sizes(B=2, T_q=3, T_k=5, d_k=4))


@graded(points=2, visible=True)
def test_attention_with_mask(sub):
    """Check that masked positions get zero weight and the rest still sum to 1."""
    mask = np.tril(np.ones((4, 4), dtype=bool))[None]  # (1, 4, 4)
    check_attention(sub, (2, 4, 3), T_k=4, mask=mask, seed=1, case="causal mask, T=4")


@graded(points=2)
def test_attention_shapes_and_broadcast_masks(sub):
    """Check attention with heads, T_q != T_k, and a (B, 1, 1, T_k) padding mask."""
    rng = np.random.default_rng(2)
    for B, h, T_q, T_k, d_k in [(1, 1, 1, 1, 1), (2, 3, 2, 6, 4), (3, 2, 5, 3, 8)]:
        keep = np.ones((B, 1, 1, T_k), dtype=bool)
        keep[1:, ..., T_k - 1 :] = T_k == 1  # pad the last key of every row but the first
        case = sizes(B=B, h=h, T_q=T_q, T_k=T_k, d_k=d_k) + ", padding mask (B, 1, 1, T_k)"
        check_attention(sub, (B, h, T_q, d_k), T_k, keep, int(rng.integers(1 << 30)), case)


def causal_hint(actual, size):
    """The hint for a wrong look-ahead mask: name an off-by-one diagonal if it is one."""
    square = np.ones((size, size), dtype=bool)
    off_by_one = {
        "the diagonal must be allowed: a position may attend to itself": np.tril(square, -1),
        "only the diagonal and below; above it is the future": np.tril(square, 1),
    }
    for hint, wrong in off_by_one.items():
        if np.array_equal(actual, wrong[None, None]):
            return hint
    return "True on and below the diagonal (torch.tril), shape (1, 1, size, size)"


@graded(points=2, visible=True)
def test_masks(sub):
    """Check make_padding_mask, make_causal_mask and make_target_mask on a small batch."""
    tokens = np.array([[5, 6, 7, 0], [8, 0, 0, 0]])
    padding = tokens[:, None, None, :] != 0
    causal = np.tril(np.ones((4, 4), dtype=bool))[None, None]
    hint = "True where attention is allowed: at real tokens, on and below the diagonal"
    actual = sub.call_torch("make_padding_mask", tokens, 0)
    assert_equal(actual, padding, "make_padding_mask", "pad_idx=0, shape (B, 1, 1, T)", hint)
    actual = sub.call_torch("make_causal_mask", 4)
    assert_equal(
        actual, causal, "make_causal_mask", "size=4, shape (1, 1, 4, 4)", causal_hint(actual, 4)
    )
    actual = sub.call_torch("make_target_mask", tokens, 0)
    assert_equal(actual, padding & causal, "make_target_mask", "pad_idx=0, (B, 1, T, T)", hint)


@graded(points=1)
def test_causal_mask_sizes(sub):
    """Check make_causal_mask for sizes 1 to 7: shape (1, 1, T, T), the diagonal allowed."""
    for size in range(1, 8):
        expected = np.tril(np.ones((size, size), dtype=bool))[None, None]
        actual = sub.call_torch("make_causal_mask", size)
        assert_equal(
            actual, expected, "make_causal_mask", f"size={size}", causal_hint(actual, size)
        )


def check_mha(sub, B, T_q, T_k, d_model, n_heads, padded, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    reference = torch.nn.MultiheadAttention(d_model, n_heads, batch_first=True).double().eval()
    state = oracle.attention_state(reference, "")
    query, memory = rng.normal(0, 1, (B, T_q, d_model)), rng.normal(0, 1, (B, T_k, d_model))
    tokens = oracle.padded_tokens(rng, B, T_k) if padded else np.ones((B, T_k), dtype=int)
    mask = (tokens != 0)[:, None, None, :]  # (B, 1, 1, T_k)
    report = sub.probe(
        "module_forward",
        "MultiHeadAttention",
        (d_model, n_heads),
        oracle.numpy_state(state),
        (query, memory, memory, mask),
        attributes=["attn"],
    )
    with torch.no_grad():
        expected, weights = reference(
            tensor(query),
            tensor(memory),
            tensor(memory),
            key_padding_mask=oracle.key_padding(tokens),
            average_attn_weights=False,
        )
        no_transpose = oracle.functional_mha(
            state,
            "",
            tensor(query),
            tensor(memory),
            tensor(memory),
            torch.from_numpy(mask),
            n_heads,
            transpose=False,
        )
    case = sizes(B=B, T_q=T_q, T_k=T_k, d_model=d_model, heads=n_heads)
    hint = named_mistake(
        report["output"],
        {"split heads with view(B, T, h, d_k).transpose(1, 2), not a plain reshape": no_transpose},
        "project with w_q, w_k, w_v, attend per head, concatenate, project with w_o "
        "(this uses your scaled_dot_product_attention: if its checks fail, fix it first)",
    )
    assert_close(
        report["output"], expected, "MultiHeadAttention output", case, hint=hint, **TOLERANCE
    )
    assert_close(
        report["attributes"]["attn"],
        weights,
        "MultiHeadAttention.attn",
        case,
        hint="keep the weights of the last call in self.attn, shape (B, heads, T_q, T_k)",
        **TOLERANCE,
    )


@graded(points=3, visible=True)
def test_multi_head_attention(sub):
    """Check that MultiHeadAttention matches torch.nn.MultiheadAttention, weights in self.attn."""
    check_mha(sub, B=2, T_q=3, T_k=3, d_model=8, n_heads=2, padded=False, seed=10)


@graded(points=2)
def test_multi_head_attention_cross_and_padding(sub):
    """Check MultiHeadAttention as cross-attention with padding, for 1 to d_model heads."""
    rng = np.random.default_rng(11)
    for n_heads, d_model in [(1, 4), (4, 8), (6, 6)]:
        T_q, T_k = (int(n) for n in rng.integers(1, 7, 2))
        check_mha(sub, 3, T_q, T_k, d_model, n_heads, padded=True, seed=int(rng.integers(1 << 30)))


@graded(points=1, visible=True)
def test_feed_forward(sub):
    """Check that PositionwiseFeedForward is linear2(relu(linear1(x)))."""
    rng = np.random.default_rng(20)
    state = {
        "linear1.weight": rng.normal(0, 0.5, (7, 4)),
        "linear1.bias": rng.normal(0, 0.5, 7),
        "linear2.weight": rng.normal(0, 0.5, (4, 7)),
        "linear2.bias": rng.normal(0, 0.5, 4),
    }
    x = rng.normal(0, 1, (2, 3, 4))
    report = sub.probe("module_forward", "PositionwiseFeedForward", (4, 7), state, (x,))
    hidden = np.maximum(x @ state["linear1.weight"].T + state["linear1.bias"], 0)
    expected = hidden @ state["linear2.weight"].T + state["linear2.bias"]
    assert_close(
        report["output"],
        expected,
        "PositionwiseFeedForward",
        "d_model=4, d_ff=7",
        hint="linear2(dropout(relu(linear1(x))))",
        **TOLERANCE,
    )


def block_mistakes(functional, state, *inputs):
    """The outputs of a post-norm block's classic mistakes, by hint."""
    with torch.no_grad():
        return {
            "this is pre-norm, x + sublayer(norm(x)); the contract is post-norm, "
            "norm(x + sublayer(x))": functional(state, *inputs, norm_first=True),
            "a residual connection is missing: norm(x + sublayer(x))": functional(
                state, *inputs, residual=False
            ),
        }


def check_encoder_block(sub, B, T, d_model, n_heads, d_ff, seed):
    rng = np.random.default_rng(seed)
    layer = oracle.encoder_layer(d_model, n_heads, d_ff, seed)
    state = oracle.layer_state(layer)
    x, tokens = rng.normal(0, 1, (B, T, d_model)), oracle.padded_tokens(rng, B, T)
    mask = (tokens != 0)[:, None, None, :]
    report = sub.probe(
        "module_forward",
        "EncoderBlock",
        (d_model, n_heads, d_ff, 0.0),
        oracle.numpy_state(state),
        (x, mask),
    )
    with torch.no_grad():
        expected = layer(tensor(x), src_key_padding_mask=oracle.key_padding(tokens))
    mistakes = block_mistakes(
        oracle.functional_encoder, state, tensor(x), torch.from_numpy(mask), n_heads
    )
    hint = named_mistake(
        report["output"],
        mistakes,
        "x = norm1(x + self_attn(x, x, x, mask)); x = norm2(x + ffn(x))" + USES_PARTS,
    )
    case = sizes(B=B, T=T, d_model=d_model, heads=n_heads, d_ff=d_ff) + ", padding mask"
    real = tokens != 0  # torch leaves padded query rows as they are; compare the real ones
    assert_close(
        np.asarray(report["output"])[real],
        expected.numpy()[real],
        "EncoderBlock",
        case,
        hint=hint,
        **TOLERANCE,
    )


@graded(points=3, visible=True)
def test_encoder_block(sub):
    """Check that EncoderBlock matches nn.TransformerEncoderLayer (post-norm, dropout 0)."""
    check_encoder_block(sub, B=2, T=5, d_model=8, n_heads=2, d_ff=16, seed=30)


@graded(points=3)
def test_encoder_block_random_sizes(sub):
    """Check EncoderBlock on random sizes with padding, T = 1 included."""
    rng = np.random.default_rng(31)
    for T, n_heads in [(1, 1), (4, 4), (7, 2)]:
        check_encoder_block(
            sub, 3, T, 8, n_heads, int(rng.integers(4, 20)), int(rng.integers(1 << 30))
        )


def check_decoder_block(sub, B, T_tgt, T_src, d_model, n_heads, d_ff, seed):
    rng = np.random.default_rng(seed)
    layer = oracle.decoder_layer(d_model, n_heads, d_ff, seed)
    state = oracle.layer_state(layer)
    x, memory = rng.normal(0, 1, (B, T_tgt, d_model)), rng.normal(0, 1, (B, T_src, d_model))
    src_tokens = oracle.padded_tokens(rng, B, T_src)
    src_mask = (src_tokens != 0)[:, None, None, :]
    tgt_mask = np.tril(np.ones((T_tgt, T_tgt), dtype=bool))[None, None]
    report = sub.probe(
        "module_forward",
        "DecoderBlock",
        (d_model, n_heads, d_ff, 0.0),
        oracle.numpy_state(state),
        (x, memory, src_mask, tgt_mask),
    )
    with torch.no_grad():
        expected = layer(
            tensor(x),
            tensor(memory),
            tgt_mask=oracle.causal(T_tgt),
            memory_key_padding_mask=oracle.key_padding(src_tokens),
        )
    inputs = (tensor(x), tensor(memory), torch.from_numpy(src_mask), torch.from_numpy(tgt_mask))
    mistakes = block_mistakes(oracle.functional_decoder, state, *inputs, n_heads)
    with torch.no_grad():
        mistakes["cross-attention takes its keys and values from memory, the encoder output"] = (
            oracle.functional_decoder(state, *inputs, n_heads, cross_on=lambda y: y)
        )
    hint = named_mistake(
        report["output"],
        mistakes,
        "self-attention with tgt_mask, then "
        "cross-attention to memory with src_mask, then ffn; each post-norm" + USES_PARTS,
    )
    case = sizes(B=B, T_tgt=T_tgt, T_src=T_src, d_model=d_model, heads=n_heads) + ", masks"
    assert_close(report["output"], expected, "DecoderBlock", case, hint=hint, **TOLERANCE)


@graded(points=3, visible=True)
def test_decoder_block(sub):
    """Check that DecoderBlock matches nn.TransformerDecoderLayer with causal and padding masks."""
    check_decoder_block(sub, B=2, T_tgt=4, T_src=5, d_model=8, n_heads=2, d_ff=16, seed=40)


@graded(points=3)
def test_decoder_block_random_sizes(sub):
    """Check DecoderBlock on random sizes, T_tgt = 1 and T_tgt != T_src included."""
    rng = np.random.default_rng(41)
    for T_tgt, T_src, n_heads in [(1, 3, 1), (5, 2, 4), (6, 6, 2)]:
        check_decoder_block(sub, 2, T_tgt, T_src, 8, n_heads, 12, int(rng.integers(1 << 30)))


@graded(points=2)
def test_gradients_reach_every_parameter(sub):
    """Check that a backward pass gives every parameter of both blocks a gradient."""
    rng = np.random.default_rng(50)
    x, memory = rng.normal(0, 1, (2, 3, 8)), rng.normal(0, 1, (2, 4, 8))
    for name, inputs in [("EncoderBlock", (x,)), ("DecoderBlock", (x, memory))]:
        report = sub.probe("module_forward", name, (8, 2, 16, 0.0), inputs=inputs, gradients=True)
        for parameter, gradient in report["gradients"].items():
            # The keys' bias shifts all of a query's scores alike, which the softmax
            # ignores: its gradient is zero, but it must be there.
            zero_by_design = parameter.endswith("w_k.bias")
            if gradient is None or not (zero_by_design or np.abs(gradient).max() > 1e-9):
                fail(
                    name,
                    f"parameter {parameter}",
                    "got no gradient",
                    "every submodule must take part in forward (no .detach(), no unused layer)",
                )
        if not report["gradients"]:
            fail(name, "", "has no parameters", "create the submodules in __init__")


@graded(points=1)
def test_dropout_in_training_mode(sub):
    """Check that EncoderBlock uses its dropout in training mode and not in eval mode."""
    rng = np.random.default_rng(60)
    x = rng.normal(0, 1, (2, 6, 8))
    outputs = {
        train: sub.probe(
            "module_forward", "EncoderBlock", (8, 2, 16, 0.5), inputs=(x,), train=train, seed=seed
        )["output"]
        for train, seed in [(True, 1), (False, 1)]
    }
    hint = "apply self.dropout to each sublayer's output before adding the residual"
    if np.allclose(outputs[True], outputs[False]):
        fail("EncoderBlock", "dropout=0.5, training mode", "no dropout was applied", hint)
