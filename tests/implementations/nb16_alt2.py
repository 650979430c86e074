"""Notebook 16 in another style: a max-subtracted softmax, additive attention vectorised with
einsum, a dispatch dict, preallocated arrays. Built on notebook 15's given code."""

import numpy as np

from solutions.seq2seq import cell_step, hidden_of


def encoder_states(X_seq, h0, encoder_params, cell_type="rnn"):
    states = []
    s = h0
    for x in X_seq:
        s = cell_step(x, s, encoder_params, cell_type)
        states.append(s)
    hs = [hidden_of(st, cell_type) for st in states]
    return np.stack(hs) if hs else np.zeros((0, len(hidden_of(h0, cell_type)))), s


def my_softmax(z):
    z = z - z.max()
    return np.exp(z) / np.exp(z).sum()


def dot_product_attention(query, keys, values):
    d = query.size
    w = my_softmax(np.dot(keys, query) * d**-0.5)
    return values.T @ w, w


def additive_attention(query, keys, values, attn_params):
    P = attn_params
    feats = np.tanh((P["W_q"] @ query)[None, :] + np.einsum("ak,tk->ta", P["W_k"], keys))
    w = my_softmax(feats @ P["v"])
    return (w[:, None] * values).sum(axis=0), w


def attention_decoder_forward(
    encoder_hidden, init_state, Y_seq, decoder_params, cell_type="rnn", attention="additive"
):
    attend = {
        "dot": lambda q: dot_product_attention(q, encoder_hidden, encoder_hidden),
        "additive": lambda q: additive_attention(
            q, encoder_hidden, encoder_hidden, decoder_params.get("attn")
        ),
    }.get(attention)
    if attend is None:
        raise ValueError("attention must be 'additive' or 'dot'")
    T_out, T_in = Y_seq.shape[0], encoder_hidden.shape[0]
    W = np.empty((T_out, T_in))
    L = np.empty((T_out, decoder_params["W_out"].shape[0]))
    state = init_state
    for t in range(T_out):
        ctx, W[t] = attend(hidden_of(state, cell_type))
        state = cell_step(np.r_[Y_seq[t], ctx], state, decoder_params, cell_type)
        L[t] = decoder_params["W_out"] @ hidden_of(state, cell_type) + decoder_params["b_out"]
    return L, W
