"""torch.nn's Transformer layers as the oracle for the course's blocks.

Weights of `nn.MultiheadAttention`, `nn.TransformerEncoderLayer` and
`nn.TransformerDecoderLayer` are renamed to the contract's submodule names (the q, k, v
rows of `in_proj_weight` go to w_q, w_k, w_v). torch's masks are True where attention is
*not* allowed; the contract's are True where it is.

`functional_*` recompute the same blocks from a state dict with switches for the classic
mistakes, so that a wrong answer can be matched to the mistake that produces it.
"""

import math

import numpy as np
import torch
from torch import nn

TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}  # float32 learner code against a float64 oracle


def numpy_state(state):
    return {key: value.detach().double().numpy() for key, value in state.items()}


def attention_state(attention, prefix):
    """nn.MultiheadAttention's weights under the contract's names, as tensors."""
    d_model = attention.embed_dim
    state = {}
    for index, name in enumerate("qkv"):
        rows = slice(index * d_model, (index + 1) * d_model)
        state[f"{prefix}w_{name}.weight"] = attention.in_proj_weight[rows]
        state[f"{prefix}w_{name}.bias"] = attention.in_proj_bias[rows]
    state[f"{prefix}w_o.weight"] = attention.out_proj.weight
    state[f"{prefix}w_o.bias"] = attention.out_proj.bias
    return state


def layer_state(layer):
    """A torch encoder or decoder layer's weights under the contract's names."""
    state = attention_state(layer.self_attn, "self_attn.")
    if hasattr(layer, "multihead_attn"):
        state |= attention_state(layer.multihead_attn, "cross_attn.")
    for name in ("linear1", "linear2"):
        state[f"ffn.{name}.weight"] = getattr(layer, name).weight
        state[f"ffn.{name}.bias"] = getattr(layer, name).bias
    for name in ("norm1", "norm2", "norm3"):
        if hasattr(layer, name):
            state[f"{name}.weight"] = getattr(layer, name).weight
            state[f"{name}.bias"] = getattr(layer, name).bias
    return state


def randomise_norms(module, generator):
    """LayerNorms start as the identity map; random weights make a test see them."""
    with torch.no_grad():
        for child in module.modules():
            if isinstance(child, nn.LayerNorm):
                child.weight.copy_(1 + 0.3 * torch.randn(child.weight.shape, generator=generator))
                child.bias.copy_(0.3 * torch.randn(child.bias.shape, generator=generator))
    return module


def encoder_layer(d_model, n_heads, d_ff, seed):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, 0.0, batch_first=True)
    return randomise_norms(layer.double().eval(), generator)


def decoder_layer(d_model, n_heads, d_ff, seed):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = nn.TransformerDecoderLayer(d_model, n_heads, d_ff, 0.0, batch_first=True)
    return randomise_norms(layer.double().eval(), generator)


def padded_tokens(rng, B, T, pad=0):
    """Token ids (B, T) in 1..9 whose rows end in 0 to T-1 pads (the first row unpadded)."""
    tokens = rng.integers(1, 10, (B, T))
    for row in range(1, B):
        tokens[row, T - rng.integers(0, T) :] = pad
    return tokens


def key_padding(tokens, pad=0):
    """torch's key_padding_mask: True at pads."""
    return torch.from_numpy(np.asarray(tokens) == pad)


def causal(T):
    """torch's attn_mask for look-ahead: True above the diagonal."""
    return torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)


# The classic mistakes, recomputed.


def functional_attention(q, k, v, mask=None, scale=True, softmax_dim=-1, mask_after=False):
    scores = q @ k.transpose(-2, -1)
    if scale:
        scores = scores / math.sqrt(q.size(-1))
    if mask is not None and not mask_after:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=softmax_dim)
    if mask is not None and mask_after:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v, weights


def functional_mha(state, prefix, query, key, value, mask, n_heads, transpose=True, **mistakes):
    def linear(name, x):
        return x @ state[f"{prefix}{name}.weight"].T + state[f"{prefix}{name}.bias"]

    B, T_q, d_model = query.shape
    d_k = d_model // n_heads

    def split(x):
        if transpose:
            return x.view(B, -1, n_heads, d_k).transpose(1, 2)
        return x.reshape(B, n_heads, -1, d_k)  # the mistake: heads cut across positions

    q, k, v = split(linear("w_q", query)), split(linear("w_k", key)), split(linear("w_v", value))
    heads, _ = functional_attention(q, k, v, mask, **mistakes)
    if transpose:
        concat = heads.transpose(1, 2).reshape(B, T_q, d_model)
    else:
        concat = heads.reshape(B, T_q, d_model)
    return linear("w_o", concat)


def _norm(state, name, x):
    return nn.functional.layer_norm(x, x.shape[-1:], state[f"{name}.weight"], state[f"{name}.bias"])


def _ffn(state, x):
    hidden = torch.relu(x @ state["ffn.linear1.weight"].T + state["ffn.linear1.bias"])
    return hidden @ state["ffn.linear2.weight"].T + state["ffn.linear2.bias"]


def _sublayer(state, norm, x, sublayer, norm_first, residual):
    if norm_first:
        return x + sublayer(_norm(state, norm, x))
    return _norm(state, norm, x + sublayer(x) if residual else sublayer(x))


def functional_encoder(state, x, mask, n_heads, norm_first=False, residual=True):
    def attend(y):
        return functional_mha(state, "self_attn.", y, y, y, mask, n_heads)

    x = _sublayer(state, "norm1", x, attend, norm_first, residual)
    return _sublayer(state, "norm2", x, lambda y: _ffn(state, y), norm_first, residual)


def functional_decoder(
    state, x, memory, src_mask, tgt_mask, n_heads, norm_first=False, residual=True, cross_on=None
):
    def attend_self(y):
        return functional_mha(state, "self_attn.", y, y, y, tgt_mask, n_heads)

    def attend_memory(y):
        source = memory if cross_on is None else cross_on(y)
        mask = src_mask if cross_on is None else tgt_mask
        return functional_mha(state, "cross_attn.", y, source, source, mask, n_heads)

    x = _sublayer(state, "norm1", x, attend_self, norm_first, residual)
    x = _sublayer(state, "norm2", x, attend_memory, norm_first, residual)
    return _sublayer(state, "norm3", x, lambda y: _ffn(state, y), norm_first, residual)
