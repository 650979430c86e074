"""torch.nn's recurrent layers as the oracle for the NumPy cells, in float64.

Parameters follow the contract's layout, which is PyTorch's, so they are copied into
`torch.nn.RNN`, `LSTM` or `GRU` as they are.
"""

import numpy as np
import torch

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def random_params(rng, cell_type, D, H, V=None):
    """Random cell parameters (G*H rows), with non-zero biases; W_out and b_out if V."""
    G = GATES[cell_type]
    params = {
        "W_ih": rng.normal(0, 0.6, (G * H, D)),
        "W_hh": rng.normal(0, 0.6, (G * H, H)),
        "b_ih": rng.normal(0, 0.5, G * H),
        "b_hh": rng.normal(0, 0.5, G * H),
    }
    if V is not None:
        params["W_out"] = rng.normal(0, 1.0, (V, H))
        params["b_out"] = rng.normal(0, 0.5, V)
    return params


def random_state(rng, cell_type, H):
    """A random state: (H,), or (h, c) for 'lstm'."""
    if cell_type == "lstm":
        return rng.normal(0, 0.5, H), rng.normal(0, 0.5, H)
    return rng.normal(0, 0.5, H)


def torch_layer(cell_type, params):
    """A one-layer torch.nn.RNN/LSTM/GRU (float64, batch-first) holding `params`."""
    H, D = params["W_hh"].shape[1], params["W_ih"].shape[1]
    layer = LAYERS[cell_type](D, H, batch_first=True).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.from_numpy(params["W_ih"]))
        layer.weight_hh_l0.copy_(torch.from_numpy(params["W_hh"]))
        layer.bias_ih_l0.copy_(torch.from_numpy(params["b_ih"]))
        layer.bias_hh_l0.copy_(torch.from_numpy(params["b_hh"]))
    return layer


def run_layer(cell_type, params, X_seq, state):
    """Run torch over X_seq (T, D) from `state`: (outputs (T, H), final state)."""
    layer = torch_layer(cell_type, params)
    inputs = torch.from_numpy(np.asarray(X_seq, dtype=np.float64))[None]  # (1, T, D)
    if cell_type == "lstm":
        h0 = torch.from_numpy(state[0])[None, None]  # (1, 1, H)
        c0 = torch.from_numpy(state[1])[None, None]
        with torch.no_grad():
            outputs, (h_n, c_n) = layer(inputs, (h0, c0))
        return outputs[0].numpy(), (h_n[0, 0].numpy(), c_n[0, 0].numpy())
    with torch.no_grad():
        outputs, h_n = layer(inputs, torch.from_numpy(state)[None, None])
    return outputs[0].numpy(), h_n[0, 0].numpy()


def cell_step(x, state, params, cell_type):
    """The oracle's next state after one step."""
    return run_layer(cell_type, params, x[None], state)[1]


def greedy_tokens(context, embedding, start, end, max_len, params, cell_type):
    """The oracle's greedy decoding, step by step through torch's layer."""
    state, token, tokens = context, start, []
    while len(tokens) < max_len:
        outputs, state = run_layer(cell_type, params, embedding[token][None], state)
        token = int(np.argmax(outputs[0] @ params["W_out"].T + params["b_out"]))
        tokens.append(token)
        if token == end:
            break
    return tokens


def permuted_gates(params, order, cell_type):
    """`params` with gate blocks read in `order`: what a cell with that order computes."""
    G = GATES[cell_type]
    permuted = dict(params)
    for key in ("W_ih", "W_hh", "b_ih", "b_hh"):
        blocks = np.split(params[key], G)
        permuted[key] = np.concatenate([blocks[i] for i in order])
    return permuted
