"""Graded tests of notebook 16: the encoder-decoder with attention (NumPy).

Oracles: torch.nn.RNN / LSTM / GRU for the encoder's states and the decoder's cell,
`torch.nn.functional.scaled_dot_product_attention` for dot-product attention, and a
direct torch computation of additive attention, all in float64.
"""

import numpy as np
import torch

from autograder.compare import assert_close, fail, matches
from autograder.errors import RaisedException
from autograder.registry import graded
from autograder.suite import recurrent_oracle as recurrent

SOLUTIONS = "solutions.attention"
CELL_TYPES = ("rnn", "lstm", "gru")


def t(array):
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def dot_attention(query, keys, values, scale=True):
    """torch's scaled dot-product attention of one query: (context, weights)."""
    q, k, v = t(query)[None, None], t(keys)[None], t(values)[None]  # (1, 1, d), (1, T, d)
    context = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, scale=None if scale else 1.0
    )
    scores = t(keys) @ t(query) / (np.sqrt(len(query)) if scale else 1.0)
    return context[0, 0].numpy(), torch.softmax(scores, dim=0).numpy()


def additive(query, keys, values, attn):
    features = torch.tanh(t(attn["W_q"]) @ t(query) + t(keys) @ t(attn["W_k"]).T)  # (T, A)
    weights = torch.softmax(features @ t(attn["v"]), dim=0)  # (T,)
    return (weights @ t(values)).numpy(), weights.numpy()


def pair(result, what, case):
    if not isinstance(result, tuple) or len(result) != 2:
        fail(what, case, "should return a pair (context, weights)")
    return result


@graded(points=2, visible=True)
def test_encoder_states(sub):
    """Check that encoder_states returns torch.nn.RNN's outputs and final state."""
    check_encoder_states(sub, "rnn", T=5, D=3, H=4, seed=0)


def check_encoder_states(sub, cell_type, T, D, H, seed):
    rng = np.random.default_rng(seed)
    params = recurrent.random_params(rng, cell_type, D, H)
    X_seq, h0 = rng.normal(0, 1, (T, D)), recurrent.random_state(rng, cell_type, H)
    result = sub.call("encoder_states", X_seq, h0, params, cell_type)
    case = f"cell_type={cell_type!r}, T={T}, D={D}, H={H}"
    if not isinstance(result, tuple) or len(result) != 2:
        fail("encoder_states", case, "should return a pair (H_all, final_state)")
    outputs, final = recurrent.run_layer(cell_type, params, X_seq, h0)
    hint = "append h (not the whole LSTM state) after every cell_step; H_all is (T, H)"
    assert_close(result[0], outputs, "encoder_states H_all", case, hint=hint)
    final_actual = result[1]
    if cell_type == "lstm":
        if not isinstance(final_actual, (tuple, list)) or len(final_actual) != 2:
            fail("encoder_states final_state", case, "an LSTM state is a tuple (h, c)")
        assert_close(final_actual[1], final[1], "encoder_states final c", case)
        final_actual, final = final_actual[0], final[0]
    assert_close(final_actual, final, "encoder_states final h", case)


@graded(points=2)
def test_encoder_states_all_cells(sub):
    """Check encoder_states for every cell type on random sizes, T = 1 included."""
    rng = np.random.default_rng(1)
    for cell_type in CELL_TYPES:
        for T in (1, int(rng.integers(2, 9))):
            D, H = (int(n) for n in rng.integers(1, 7, 2))
            check_encoder_states(sub, cell_type, T, D, H, int(rng.integers(1 << 30)))


def check_dot(sub, T, d, seed):
    rng = np.random.default_rng(seed)
    query, keys, values = rng.normal(0, 1, d), rng.normal(0, 1, (T, d)), rng.normal(0, 1, (T, d))
    case = f"T={T}, d={d}"
    context, weights = pair(sub.call("dot_product_attention", query, keys, values), "dot", case)
    expected_context, expected_weights = dot_attention(query, keys, values)
    unscaled = dot_attention(query, keys, values, scale=False)[1]
    hint = "weights = softmax(keys @ query / sqrt(d)), d the size of the query"
    if matches(weights, unscaled) and d > 1:
        hint = "divide the scores by sqrt(d) before the softmax"
    assert_close(weights, expected_weights, "dot_product_attention weights", case, hint=hint)
    assert_close(np.sum(weights), 1.0, "dot_product_attention weights' sum", case)
    hint = "context = weights @ values"
    assert_close(context, expected_context, "dot_product_attention context", case, hint=hint)


@graded(points=2, visible=True)
def test_dot_product_attention(sub):
    """Check that dot_product_attention equals torch's scaled_dot_product_attention."""
    check_dot(sub, T=5, d=4, seed=10)


@graded(points=2)
def test_dot_product_attention_sizes(sub):
    """Check dot_product_attention on random sizes; with one step it returns that step."""
    rng = np.random.default_rng(11)
    for T, d in [(1, 3), (2, 1), (9, 6)]:
        check_dot(sub, T, d, int(rng.integers(1 << 30)))
    values = rng.normal(0, 1, (1, 3))
    context, weights = sub.call("dot_product_attention", rng.normal(0, 1, 3), values, values)
    assert_close(context, values[0], "dot_product_attention context", "T=1: the one value")
    assert_close(weights, [1.0], "dot_product_attention weights", "T=1: all weight on it")


def random_attn(rng, A, Hq, Hk):
    return {
        "W_q": rng.normal(0, 0.7, (A, Hq)),
        "W_k": rng.normal(0, 0.7, (A, Hk)),
        "v": rng.normal(0, 0.7, A),
    }


def check_additive(sub, T, Hq, Hk, A, seed):
    rng = np.random.default_rng(seed)
    attn = random_attn(rng, A, Hq, Hk)
    query, keys, values = rng.normal(0, 1, Hq), rng.normal(0, 1, (T, Hk)), rng.normal(0, 1, (T, Hk))
    case = f"T={T}, Hq={Hq}, Hk={Hk}, A={A}"
    result = sub.call("additive_attention", query, keys, values, attn)
    context, weights = pair(result, "additive_attention", case)
    expected_context, expected_weights = additive(query, keys, values, attn)
    hint = "score_j = v @ tanh(W_q @ query + W_k @ keys[j]); weights = softmax(scores)"
    assert_close(weights, expected_weights, "additive_attention weights", case, hint=hint)
    assert_close(
        context,
        expected_context,
        "additive_attention context",
        case,
        hint="context = weights @ values",
    )


@graded(points=2, visible=True)
def test_additive_attention(sub):
    """Check additive (Bahdanau) attention against a direct torch computation."""
    check_additive(sub, T=4, Hq=3, Hk=5, A=6, seed=20)


@graded(points=2)
def test_additive_attention_sizes(sub):
    """Check additive attention on random sizes, one encoder step included."""
    rng = np.random.default_rng(21)
    for T, Hq, Hk, A in [(1, 2, 2, 1), (7, 4, 3, 5), (3, 1, 6, 2)]:
        check_additive(sub, T, Hq, Hk, A, int(rng.integers(1 << 30)))


def oracle_decoder(encoder_hidden, state, Y_seq, params, cell_type, attention, query_after=False):
    """The decoder through torch: (logits (T_out, V), weights (T_out, T_in)).

    query_after=True is the classic mistake of attending with the state after the step:
    the cell reads the previous step's context, then attends with its new h.
    """

    def attend(query):
        if attention == "dot":
            return dot_attention(query, encoder_hidden, encoder_hidden)
        return additive(query, encoder_hidden, encoder_hidden, params["attn"])

    def h(current):
        return current[0] if cell_type == "lstm" else current

    logits, weights = [], []
    context = np.zeros(encoder_hidden.shape[1])
    for y_t in Y_seq:
        if not query_after:
            context, a_t = attend(h(state))
        _, state = recurrent.run_layer(
            cell_type, params, np.concatenate([y_t, context])[None], state
        )
        if query_after:
            context, a_t = attend(h(state))
        logits.append(params["W_out"] @ h(state) + params["b_out"])
        weights.append(a_t)
    return np.array(logits), np.array(weights)


def check_decoder(sub, cell_type, attention, T_in, T_out, D, H, V, seed):
    rng = np.random.default_rng(seed)
    params = recurrent.random_params(rng, cell_type, D + H, H, V)
    if attention == "additive":
        params["attn"] = random_attn(rng, int(rng.integers(1, 6)), H, H)
    encoder_hidden = np.tanh(rng.normal(0, 1, (T_in, H)))
    state, Y_seq = recurrent.random_state(rng, cell_type, H), rng.normal(0, 1, (T_out, D))
    case = f"cell_type={cell_type!r}, attention={attention!r}, T_in={T_in}, T_out={T_out}"
    result = sub.call(
        "attention_decoder_forward", encoder_hidden, state, Y_seq, params, cell_type, attention
    )
    if not isinstance(result, tuple) or len(result) != 2:
        fail("attention_decoder_forward", case, "should return a pair (logits, weights)")
    logits, weights = result
    expected_logits, expected_weights = oracle_decoder(
        encoder_hidden, state, Y_seq, params, cell_type, attention
    )
    late = oracle_decoder(encoder_hidden, state, Y_seq, params, cell_type, attention, True)
    hint = (
        "at each step: attend with h of the previous state, then cell_step on "
        "concat(Y_seq[t], context), then W_out @ h_t + b_out"
    )
    if matches(weights, late[1]):
        hint = "attend with the state from before the step (the previous h), not after it"
    assert_close(weights, expected_weights, "attention_decoder_forward weights", case, hint=hint)
    assert_close(logits, expected_logits, "attention_decoder_forward logits", case, hint=hint)


@graded(points=3, visible=True)
def test_attention_decoder_forward(sub):
    """Check the attention decoder ('rnn', additive) against a torch oracle, step by step."""
    check_decoder(sub, "rnn", "additive", T_in=4, T_out=3, D=2, H=3, V=5, seed=30)


@graded(points=3)
def test_attention_decoder_all_cells(sub):
    """Check the attention decoder for every cell type and both attentions, T = 1 included."""
    rng = np.random.default_rng(31)
    for cell_type in CELL_TYPES:
        for attention in ("additive", "dot"):
            T_in, T_out = (int(n) for n in rng.integers(1, 6, 2))
            check_decoder(
                sub, cell_type, attention, T_in, T_out, 2, 3, 4, int(rng.integers(1 << 30))
            )


@graded(points=1)
def test_attention_decoder_rejects_unknown_attention(sub):
    """Check that attention_decoder_forward raises ValueError for an unknown attention."""
    rng = np.random.default_rng(40)
    params = recurrent.random_params(rng, "rnn", 2 + 3, 3, 4)
    arguments = (np.ones((2, 3)), np.zeros(3), np.ones((2, 2)), params, "rnn", "multiplicative")
    try:
        sub.call("attention_decoder_forward", *arguments)
    except RaisedException as error:
        if error.exception_type == "ValueError":
            return
        fail(
            "attention_decoder_forward",
            "attention='multiplicative'",
            f"raised {error.exception_type}, expected ValueError",
        )
    fail(
        "attention_decoder_forward",
        "attention='multiplicative'",
        "did not raise ValueError",
        "check `attention` first and raise ValueError for anything but 'additive' or 'dot'",
    )
