"""Notebook 15: a recurrent encoder-decoder without attention, in NumPy.

Legend for shapes: T time steps, D input size, H hidden size, V vocabulary size,
G gates per cell (1 for 'rnn', 4 for 'lstm', 3 for 'gru').
"""

import numpy as np


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise, without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def hidden_of(state, cell_type):
    """The hidden vector h (H,) of a state: the state itself, or h of an LSTM's (h, c)."""
    return state[0] if cell_type == "lstm" else state


def cell_step(x, state, params, cell_type="rnn"):
    """One step of a recurrent cell, with the equations of torch.nn.RNN, LSTM and GRU.

    Args:
        x: input at this step, (D,).
        state: previous state: h (H,) for 'rnn' and 'gru', a tuple (h, c) for 'lstm'.
        params: dict with W_ih (G*H, D), W_hh (G*H, H), b_ih (G*H,), b_hh (G*H,).
            Gate rows follow PyTorch: LSTM i, f, g, o; GRU r, z, n.
        cell_type: 'rnn', 'lstm' or 'gru'; anything else raises ValueError.

    Returns:
        The next state, in the same form as `state`.
    """
    W_ih, W_hh, b_ih, b_hh = params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"]
    if cell_type == "rnn":
        return np.tanh(W_ih @ x + b_ih + W_hh @ state + b_hh)  # (H,)
    if cell_type == "lstm":
        h, c = state
        gates = W_ih @ x + b_ih + W_hh @ h + b_hh  # (4H,)
        i, f, g, o = np.split(gates, 4)  # each (H,)
        c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h_next = sigmoid(o) * np.tanh(c_next)
        return h_next, c_next
    if cell_type == "gru":
        x_r, x_z, x_n = np.split(W_ih @ x + b_ih, 3)  # each (H,)
        h_r, h_z, h_n = np.split(W_hh @ state + b_hh, 3)  # each (H,)
        r = sigmoid(x_r + h_r)  # reset gate
        z = sigmoid(x_z + h_z)  # update gate
        n = np.tanh(x_n + r * h_n)  # candidate state
        return (1 - z) * n + z * state
    raise ValueError(f"unknown cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")


def encoder_forward(X_seq, h0, encoder_params, cell_type="rnn"):
    """Run the encoder over a whole sequence and return its final state.

    Args:
        X_seq: input sequence, (T, D).
        h0: initial state: (H,), or a tuple (h, c) of two (H,) arrays for 'lstm'.
        encoder_params: the cell's parameters (see `cell_step`).
        cell_type: 'rnn', 'lstm' or 'gru'.

    Returns:
        The final state, the context vector: (H,), or (h, c) for 'lstm'.
    """
    state = h0
    for x_t in X_seq:  # x_t: (D,)
        state = cell_step(x_t, state, encoder_params, cell_type)
    return state


def decoder_forward(context_vector, Y_seq, decoder_params, cell_type="rnn"):
    """Run the decoder with teacher forcing and return the logits of every step.

    Args:
        context_vector: the encoder's final state, the decoder's initial state:
            (H,), or a tuple (h, c) of two (H,) arrays for 'lstm'.
        Y_seq: decoder inputs, (T, D): the embedded target sequence shifted right.
        decoder_params: the cell's parameters plus W_out (V, H) and b_out (V,).
        cell_type: 'rnn', 'lstm' or 'gru'.

    Returns:
        logits, (T, V): row t is W_out @ h_t + b_out.
    """
    W_out, b_out = decoder_params["W_out"], decoder_params["b_out"]
    state = context_vector
    logits = []
    for y_t in Y_seq:  # y_t: (D,)
        state = cell_step(y_t, state, decoder_params, cell_type)
        logits.append(W_out @ hidden_of(state, cell_type) + b_out)  # (V,)
    return np.array(logits).reshape(len(Y_seq), len(b_out))  # (T, V)


def cross_entropy(logits, target):
    """-log softmax(logits)[target], computed stably (finite for logits near 1e4).

    Args:
        logits: unnormalised scores, (V,).
        target: the index of the correct token, an int in [0, V).

    Returns:
        The loss, a float.
    """
    shifted = logits - np.max(logits)  # (V,), largest entry 0
    log_sum_exp = np.log(np.sum(np.exp(shifted)))
    return float(log_sum_exp - shifted[target])


def seq2seq_loss(logits_seq, target_seq, loss_fn):
    """The sequence loss: the sum over time of `loss_fn(logits_seq[t], target_seq[t])`.

    Args:
        logits_seq: (T, V).
        target_seq: (T,) token ids.
        loss_fn: a per-step loss such as `cross_entropy`.

    Returns:
        The summed loss, a float (the sum, not the mean).
    """
    return float(sum(loss_fn(logits, target) for logits, target in zip(logits_seq, target_seq)))


def greedy_decode(
    context_vector, embedding, start_token, end_token, max_len, decoder_params, cell_type="rnn"
):
    """Generate a sequence by feeding back the most likely token at each step.

    Args:
        context_vector: the encoder's final state: (H,), or (h, c) for 'lstm'.
        embedding: (V, D); row v is the decoder input for token v.
        start_token, end_token: token ids that begin and end a sequence.
        max_len: the most tokens to generate.
        decoder_params: as for `decoder_forward`.
        cell_type: 'rnn', 'lstm' or 'gru'.

    Returns:
        A list of int token ids, without the start token, ending with end_token if it
        was produced, at most max_len long.
    """
    W_out, b_out = decoder_params["W_out"], decoder_params["b_out"]
    state = context_vector
    token = start_token
    tokens = []
    for _ in range(max_len):
        state = cell_step(embedding[token], state, decoder_params, cell_type)
        logits = W_out @ hidden_of(state, cell_type) + b_out  # (V,)
        token = int(np.argmax(logits))
        tokens.append(token)
        if token == end_token:
            break
    return tokens
