"""Notebook 16: a recurrent encoder-decoder with attention, in NumPy.

Legend for shapes: T (T_in) encoder steps, T_out decoder steps, D input size, H hidden
size, V vocabulary size, A attention size, G gates per cell (1 for 'rnn', 4 for 'lstm',
3 for 'gru'); Hq, Hk, Hv the sizes of a query, a key and a value.

The cells are notebook 15's, imported rather than copied.
"""

import numpy as np

from solutions.seq2seq import cell_step, hidden_of


def softmax(scores):
    """Softmax over the last axis, stable for large scores: the weights sum to 1."""
    exp = np.exp(scores - np.max(scores, axis=-1, keepdims=True))  # largest entry e^0
    return exp / np.sum(exp, axis=-1, keepdims=True)


def encoder_states(X_seq, h0, encoder_params, cell_type="rnn"):
    """Run the encoder over a sequence and keep the hidden vector of every step.

    Args:
        X_seq: input sequence, (T, D).
        h0: initial state: (H,), or a tuple (h, c) of two (H,) arrays for 'lstm'.
        encoder_params: the cell's parameters, W_ih (G*H, D), W_hh (G*H, H),
            b_ih (G*H,), b_hh (G*H,) (see `cell_step`).
        cell_type: 'rnn', 'lstm' or 'gru'.

    Returns:
        (H_all, final_state): H_all (T, H), row t the h after step t (for 'lstm', h and
        not c); final_state the state after the last step, in the form of `h0`.
    """
    state = h0
    H_all = []
    for x_t in X_seq:  # x_t: (D,)
        state = cell_step(x_t, state, encoder_params, cell_type)
        H_all.append(hidden_of(state, cell_type))  # (H,)
    H = len(hidden_of(h0, cell_type))
    return np.array(H_all).reshape(len(X_seq), H), state  # (T, H), final state


def dot_product_attention(query, keys, values):
    """Scaled dot-product attention of one query over T keys.

    Args:
        query: (d,), what the decoder is looking for.
        keys: (T, d), one per encoder step, compared with the query.
        values: (T, Hv), one per encoder step, what is averaged.

    Returns:
        (context, weights): context (Hv,) = weights @ values; weights (T,) =
        softmax(keys @ query / sqrt(d)), non-negative and summing to 1.
    """
    scores = keys @ query / np.sqrt(len(query))  # (T,): one score per encoder step, d = len(query)
    weights = softmax(scores)  # (T,): over the encoder steps
    context = weights @ values  # (Hv,)
    return context, weights


def additive_attention(query, keys, values, attn_params):
    """Additive (Bahdanau) attention of one query over T keys.

    Args:
        query: (Hq,).
        keys: (T, Hk).
        values: (T, Hv).
        attn_params: dict with W_q (A, Hq), W_k (A, Hk), v (A,).

    Returns:
        (context, weights): score_j = v . tanh(W_q @ query + W_k @ keys[j]);
        weights (T,) = softmax(scores); context (Hv,) = weights @ values.
    """
    W_q, W_k, v = attn_params["W_q"], attn_params["W_k"], attn_params["v"]
    projected_query = W_q @ query  # (A,)
    projected_keys = keys @ W_k.T  # (T, A): row j is W_k @ keys[j]
    scores = np.tanh(projected_keys + projected_query) @ v  # (T, A) @ (A,) -> (T,)
    weights = softmax(scores)  # (T,)
    context = weights @ values  # (Hv,)
    return context, weights


def attention_decoder_forward(
    encoder_hidden, init_state, Y_seq, decoder_params, cell_type="rnn", attention="additive"
):
    """Run the attention decoder with teacher forcing (Bahdanau order).

    At step t: the previous hidden vector is the query; attention over the encoder's
    states gives a context; the cell reads [Y_seq[t], context]; the new h gives logits.

    Args:
        encoder_hidden: (T_in, H), the encoder's h at every step: the keys and values.
        init_state: the decoder's initial state: (H,), or (h, c) for 'lstm'.
        Y_seq: decoder inputs, (T_out, D): the embedded target shifted right.
        decoder_params: the cell's parameters with W_ih (G*H, D + H), W_hh (G*H, H),
            b_ih, b_hh (G*H,); W_out (V, H), b_out (V,); for 'additive' also
            attn = {W_q (A, H), W_k (A, H), v (A,)}.
        cell_type: 'rnn', 'lstm' or 'gru'.
        attention: 'additive' or 'dot'; anything else raises ValueError.

    Returns:
        (logits, weights): logits (T_out, V), row t = W_out @ h_t + b_out;
        weights (T_out, T_in), row t the attention weights of step t.
    """
    if attention == "additive":
        attend = lambda q, K, V: additive_attention(q, K, V, decoder_params["attn"])  # noqa: E731
    elif attention == "dot":
        attend = dot_product_attention
    else:
        raise ValueError(f"unknown attention {attention!r}; expected 'additive' or 'dot'")
    W_out, b_out = decoder_params["W_out"], decoder_params["b_out"]
    T_out, T_in = len(Y_seq), len(encoder_hidden)
    logits = np.zeros((T_out, len(b_out)))  # (T_out, V)
    weights = np.zeros((T_out, T_in))  # (T_out, T_in)
    state = init_state
    for t, y_t in enumerate(Y_seq):  # y_t: (D,)
        # 1. the previous hidden vector asks which encoder steps matter now
        query = hidden_of(state, cell_type)  # (H,)
        context, weights[t] = attend(query, encoder_hidden, encoder_hidden)  # (H,), (T_in,)
        # 2. the cell reads the input and the context side by side
        state = cell_step(np.concatenate([y_t, context]), state, decoder_params, cell_type)
        # 3. the new hidden vector scores the vocabulary
        logits[t] = W_out @ hidden_of(state, cell_type) + b_out  # (V,)
    return logits, weights
