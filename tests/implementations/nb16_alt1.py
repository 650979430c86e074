"""Notebook 16 in another style: softmax without the max subtracted, einsum, additive
attention looping over keys, a while loop, an LSTM state kept as a list.
Built on notebook 15's given cell_step and hidden_of."""

import numpy as np

from solutions.seq2seq import cell_step


def encoder_states(X_seq, h0, encoder_params, cell_type="rnn"):
    T = X_seq.shape[0]
    if cell_type == "lstm":
        state = [np.array(h0[0]), np.array(h0[1])]  # state kept as a list
    else:
        state = h0
    H_all = np.zeros((T, len(h0[0]) if cell_type == "lstm" else len(h0)))
    t = 0
    while t < T:
        state = cell_step(
            X_seq[t], tuple(state) if cell_type == "lstm" else state, encoder_params, cell_type
        )
        if cell_type == "lstm":
            state = list(state)
        H_all[t] = state[0] if cell_type == "lstm" else state
        t += 1
    return H_all, (tuple(state) if cell_type == "lstm" else state)


def _softmax_nomax(s):
    e = np.exp(s)
    return e / e.sum()


def dot_product_attention(query, keys, values):
    scores = np.einsum("td,d->t", keys, query) / np.sqrt(query.shape[0])
    w = _softmax_nomax(scores)
    return np.einsum("t,th->h", w, values), w


def additive_attention(query, keys, values, attn_params):
    W_q, W_k, v = attn_params["W_q"], attn_params["W_k"], attn_params["v"]
    scores = np.array([v @ np.tanh(W_q @ query + W_k @ k_j) for k_j in keys])  # loop over keys
    w = _softmax_nomax(scores)
    ctx = sum(w_j * v_j for w_j, v_j in zip(w, values))
    return ctx, w


def attention_decoder_forward(
    encoder_hidden, init_state, Y_seq, decoder_params, cell_type="rnn", attention="additive"
):
    if attention not in ("additive", "dot"):
        raise ValueError(attention)
    logits, weights = [], []
    state = list(init_state) if cell_type == "lstm" else init_state
    for y in Y_seq:
        h_prev = state[0] if cell_type == "lstm" else state
        if attention == "dot":
            ctx, a = dot_product_attention(h_prev, encoder_hidden, encoder_hidden)
        else:
            ctx, a = additive_attention(
                h_prev, encoder_hidden, encoder_hidden, decoder_params["attn"]
            )
        x = np.hstack((y, ctx))
        state = cell_step(
            x, tuple(state) if cell_type == "lstm" else state, decoder_params, cell_type
        )
        if cell_type == "lstm":
            state = [state[0], state[1]]
        h = state[0] if cell_type == "lstm" else state
        logits.append(decoder_params["W_out"].dot(h) + decoder_params["b_out"])
        weights.append(a)
    return np.stack(logits), np.vstack(weights)
