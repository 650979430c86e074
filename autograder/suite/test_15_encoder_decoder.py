"""Graded tests of notebook 15: the encoder-decoder without attention (NumPy).

The oracle is torch.nn.RNN / LSTM / GRU in float64 with the same parameters. Every
test draws its cases from a fixed seed, so a learner sees the same case every run.
"""

import itertools

import numpy as np
import torch

from autograder.compare import (
    assert_close,
    assert_equal,
    assert_state_close,
    describe,
    fail,
    matches,
    matching_variant,
)
from autograder.errors import RaisedException
from autograder.registry import graded
from autograder.suite import recurrent_oracle as oracle

SOLUTIONS = "solutions.seq2seq"
CELL_TYPES = ("rnn", "lstm", "gru")
USES_CELL_STEP = " (this uses your cell_step: if a cell_step check fails, fix that first)"

HINTS = {
    "rnn": "h' = tanh(W_ih @ x + b_ih + W_hh @ h + b_hh): both biases count.",
    "lstm": "gate rows are i, f, g, o; c' = f * c + i * g and h' = o * tanh(c'); "
    "sigmoid for i, f, o and tanh for g.",
    "gru": "gate rows are r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and "
    "h' = (1 - z) * n + z * h.",
}


def case(cell_type, **sizes):
    return ", ".join([f"cell_type={cell_type!r}"] + [f"{k}={v}" for k, v in sizes.items()])


def flat(state):
    """A state as one vector, so that (h, c) pairs compare like arrays."""
    if isinstance(state, (tuple, list)) and len(state) == 2:
        return np.concatenate([np.ravel(part) for part in state])
    return state


def mistaken_states(x, state, params, cell_type):
    """hint -> the next state that a classic mistake computes, flattened."""
    mistakes = {}
    for bias in ("b_ih", "b_hh"):
        without = dict(params, **{bias: np.zeros_like(params[bias])})
        hint = f"your result matches a cell without {bias}: add it"
        mistakes[hint] = oracle.cell_step(x, state, without, cell_type)
    gate_names = {"lstm": "ifgo", "gru": "rzn"}.get(cell_type, "")
    for order in itertools.permutations(range(len(gate_names))):
        misread = "".join(gate_names[i] for i in order)
        if misread != gate_names:
            hint = (
                f"your cell reads the gate rows as {misread!r}; PyTorch's order is {gate_names!r}"
            )
            permuted = oracle.permuted_gates(params, order, cell_type)
            mistakes[hint] = oracle.cell_step(x, state, permuted, cell_type)
    return {hint: flat(mistaken) for hint, mistaken in mistakes.items()}


def check_cell_step(sub, cell_type, D, H, seed):
    rng = np.random.default_rng(seed)
    params = oracle.random_params(rng, cell_type, D, H)
    x, state = rng.normal(0, 1, D), oracle.random_state(rng, cell_type, H)
    actual = sub.call("cell_step", x, state, params, cell_type)
    expected = oracle.cell_step(x, state, params, cell_type)
    mistakes = mistaken_states(x, state, params, cell_type)
    hint = matching_variant(flat(actual), mistakes) or HINTS[cell_type]
    where = case(cell_type, D=D, H=H)
    assert_state_close(actual, expected, "cell_step", where, cell_type, hint=hint)


@graded(points=2, visible=True)
def test_cell_step_rnn(sub):
    """Check that cell_step('rnn') matches torch.nn.RNN for one step."""
    check_cell_step(sub, "rnn", D=3, H=4, seed=0)


@graded(points=2, visible=True)
def test_cell_step_lstm(sub):
    """Check that cell_step('lstm') matches torch.nn.LSTM for one step."""
    check_cell_step(sub, "lstm", D=3, H=4, seed=1)


@graded(points=2, visible=True)
def test_cell_step_gru(sub):
    """Check that cell_step('gru') matches torch.nn.GRU for one step."""
    check_cell_step(sub, "gru", D=3, H=4, seed=2)


@graded(points=3)
def test_cell_step_random_sizes(sub):
    """Check cell_step for every cell type on random sizes, H = 1 and D = 1 included."""
    rng = np.random.default_rng(10)
    sizes = [(1, 1), (1, 5), (6, 1)] + [tuple(rng.integers(1, 9, 2)) for _ in range(3)]
    for cell_type, (D, H) in itertools.product(CELL_TYPES, sizes):
        check_cell_step(sub, cell_type, D=int(D), H=int(H), seed=int(rng.integers(1 << 30)))


@graded(points=1)
def test_cell_step_rejects_unknown_cell_type(sub):
    """Check that cell_step raises ValueError for an unknown cell_type."""
    rng = np.random.default_rng(11)
    params = oracle.random_params(rng, "rnn", 2, 3)
    try:
        result = sub.call("cell_step", rng.normal(size=2), np.zeros(3), params, "transformer")
    except RaisedException as error:
        if error.exception_type == "ValueError":
            return
        fail(
            "cell_step",
            "cell_type='transformer'",
            f"raised {error.exception_type}, expected ValueError",
            "end with `raise ValueError(...)` for unknown cell types",
        )
    fail(
        "cell_step",
        "cell_type='transformer'",
        f"returned {type(result).__name__} instead of raising ValueError",
        "end with `raise ValueError(...)` for unknown types",
    )


def check_encoder(sub, cell_type, T, D, H, seed):
    rng = np.random.default_rng(seed)
    params = oracle.random_params(rng, cell_type, D, H)
    X_seq, h0 = rng.normal(0, 1, (T, D)), oracle.random_state(rng, cell_type, H)
    actual = sub.call("encoder_forward", X_seq, h0, params, cell_type)
    _, expected = oracle.run_layer(cell_type, params, X_seq, h0)
    hint = "start from h0, call cell_step once per row of X_seq, return the last state"
    hint += USES_CELL_STEP
    assert_state_close(
        actual, expected, "encoder_forward", case(cell_type, T=T, D=D, H=H), cell_type, hint=hint
    )


@graded(points=2, visible=True)
def test_encoder_forward(sub):
    """Check that encoder_forward('rnn') returns torch.nn.RNN's final state."""
    check_encoder(sub, "rnn", T=5, D=3, H=4, seed=20)


@graded(points=3)
def test_encoder_forward_all_cells(sub):
    """Check encoder_forward for every cell type on random sizes, T = 1 included."""
    rng = np.random.default_rng(21)
    for cell_type in CELL_TYPES:
        for T in (1, 2, int(rng.integers(3, 12))):
            D, H = (int(n) for n in rng.integers(1, 8, 2))
            check_encoder(sub, cell_type, T, D, H, seed=int(rng.integers(1 << 30)))


def check_decoder(sub, cell_type, T, D, H, V, seed):
    rng = np.random.default_rng(seed)
    params = oracle.random_params(rng, cell_type, D, H, V)
    Y_seq, context = rng.normal(0, 1, (T, D)), oracle.random_state(rng, cell_type, H)
    actual = sub.call("decoder_forward", context, Y_seq, params, cell_type)
    outputs, _ = oracle.run_layer(cell_type, params, Y_seq, context)  # (T, H)
    expected = outputs @ params["W_out"].T + params["b_out"]  # (T, V)
    h_context = context[0] if cell_type == "lstm" else context
    lagging = np.vstack([h_context, outputs[:-1]]) @ params["W_out"].T + params["b_out"]
    hint = "start from the context vector, step over the rows of Y_seq, and emit "
    hint += "W_out @ h_t + b_out after each step" + USES_CELL_STEP
    if matches(actual, lagging):
        hint = "your logits lag one step: emit them after the cell step, not before"
    where = case(cell_type, T=T, D=D, H=H, V=V)
    assert_close(actual, expected, "decoder_forward logits", where, hint=hint)


@graded(points=2, visible=True)
def test_decoder_forward(sub):
    """Check that decoder_forward('rnn') gives torch.nn.RNN's outputs through W_out."""
    check_decoder(sub, "rnn", T=4, D=3, H=5, V=6, seed=30)


@graded(points=3)
def test_decoder_forward_all_cells(sub):
    """Check decoder_forward for every cell type on random sizes, T = 1 included."""
    rng = np.random.default_rng(31)
    for cell_type in CELL_TYPES:
        for T in (1, int(rng.integers(2, 10))):
            D, H, V = (int(n) for n in rng.integers(1, 8, 3))
            check_decoder(sub, cell_type, T, D, H, V, seed=int(rng.integers(1 << 30)))


def expected_cross_entropy(logits, target):
    logits = torch.from_numpy(np.asarray(logits, dtype=np.float64))[None]
    return float(torch.nn.functional.cross_entropy(logits, torch.tensor([target])))


@graded(points=1, visible=True)
def test_cross_entropy(sub):
    """Check that cross_entropy matches torch.nn.functional.cross_entropy."""
    rng = np.random.default_rng(40)
    for V in (2, 5, 10):
        logits, target = rng.normal(0, 2, V), int(rng.integers(V))
        actual = sub.call("cross_entropy", logits, target)
        hint = "-log softmax(logits)[target] = log(sum(exp(logits))) - logits[target]"
        assert_close(
            actual,
            expected_cross_entropy(logits, target),
            "cross_entropy",
            f"V={V}, target={target}",
            hint=hint,
        )


@graded(points=1)
def test_cross_entropy_large_logits(sub):
    """Check that cross_entropy stays finite and exact for logits of magnitude 1e4."""
    rng = np.random.default_rng(41)
    logits = rng.normal(0, 1e4, 7)
    for target in (int(np.argmax(logits)), int(np.argmin(logits))):
        actual = sub.call("cross_entropy", logits, target)
        hint = "subtract max(logits) before exp (the log-sum-exp trick)"
        assert_close(
            actual,
            expected_cross_entropy(logits, target),
            "cross_entropy",
            f"logits of magnitude 1e4, target={target}",
            rtol=1e-9,
            hint=hint,
        )


def check_sequence_loss(sub, T, V, seed):
    rng = np.random.default_rng(seed)
    logits_seq, target_seq = rng.normal(0, 1, (T, V)), rng.integers(0, V, T)
    actual = sub.probe("call_with_loss", "seq2seq_loss", logits_seq, target_seq)
    expected = -logits_seq[np.arange(T), target_seq].sum()
    hint = "add loss_fn(logits_seq[t], target_seq[t]) over every step t"
    if T > 1 and matches(actual, expected / T):
        hint = "you returned the mean over steps; the contract asks for the sum"
    assert_close(
        actual, expected, "seq2seq_loss", f"T={T}, V={V}, loss_fn=-logits[target]", hint=hint
    )


@graded(points=1, visible=True)
def test_seq2seq_loss(sub):
    """Check that seq2seq_loss sums the per-step losses."""
    check_sequence_loss(sub, T=4, V=5, seed=50)


@graded(points=1)
def test_seq2seq_loss_lengths(sub):
    """Check seq2seq_loss on sequences of length 1 to 9."""
    for T in (1, 2, 9):
        check_sequence_loss(sub, T=T, V=3, seed=51 + T)


def check_greedy(sub, cell_type, D, H, V, max_len, seed):
    rng = np.random.default_rng(seed)
    params = oracle.random_params(rng, cell_type, D, H, V)
    embedding, context = rng.normal(0, 1, (V, D)), oracle.random_state(rng, cell_type, H)
    start, end = 0, 1
    actual = sub.call("greedy_decode", context, embedding, start, end, max_len, params, cell_type)
    expected = oracle.greedy_tokens(context, embedding, start, end, max_len, params, cell_type)
    hint = (
        "feed embedding[previous token] to cell_step, take the argmax of the logits, "
        "stop after end_token or max_len tokens; leave out the start token" + USES_CELL_STEP
    )
    where = case(cell_type, V=V, max_len=max_len, H=H)
    tokens = token_ids(actual, "greedy_decode tokens", where, hint)
    assert_equal(tokens, expected, "greedy_decode tokens", where, hint=hint)
    return expected


def token_ids(value, what, where, hint):
    """`value` as a list of ints: a list or tuple of ints, or a 1-D integer array."""
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu":
        return [int(token) for token in value]
    if isinstance(value, (list, tuple)) and all(type(token) is int for token in value):
        return list(value)
    fail(what, where, f"expected a list of int token ids, got {describe(value)}", hint)


@graded(points=2, visible=True)
def test_greedy_decode(sub):
    """Check that greedy_decode('rnn') picks the argmax token at each step."""
    check_greedy(sub, "rnn", D=3, H=4, V=5, max_len=6, seed=60)


@graded(points=3)
def test_greedy_decode_all_cells(sub):
    """Check greedy_decode for every cell type, stopping at end_token and at max_len."""
    rng = np.random.default_rng(61)
    stopped_early = 0
    for cell_type in CELL_TYPES:
        for max_len in (1, 3, 12):
            tokens = check_greedy(sub, cell_type, 2, 3, 3, max_len, int(rng.integers(1 << 30)))
            stopped_early += len(tokens) < max_len
    assert stopped_early, "the cases should include one that stops at end_token"
