"""Sprint 07 in another style: F.scaled_dot_product_attention for the output, tril masks,
view + transpose, F.relu and F.dropout, one shared dropout, a sublayer helper."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    # output via torch's fused function (same mask convention), weights computed alongside
    scores = torch.einsum("...qd,...kd->...qk", q, k) * (1.0 / math.sqrt(q.size(-1)))
    if mask is not None:
        scores = torch.where(mask.bool(), scores, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if dropout is None or not dropout.training or dropout.p == 0:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return out, weights
    weights = dropout(weights)
    return weights @ v, weights


def make_padding_mask(tokens, pad_idx):
    return (tokens != pad_idx)[:, None, None]


def make_causal_mask(size):
    return torch.tril(torch.ones(size, size)).bool().unsqueeze(0).unsqueeze(0)


def make_target_mask(tgt, pad_idx):
    return make_padding_mask(tgt, pad_idx) * make_causal_mask(tgt.size(1))


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        self.n_heads = n_heads
        self.w_q, self.w_k, self.w_v, self.w_o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, query, key, value, mask=None):
        B, T_q, d_model = query.shape

        def split(x):
            return x.view(B, x.size(1), self.n_heads, -1).transpose(1, 2)

        out, self.attn = scaled_dot_product_attention(
            split(self.w_q(query)), split(self.w_k(key)), split(self.w_v(value)), mask, self.dropout
        )
        return self.w_o(out.transpose(1, 2).contiguous().view(B, T_q, d_model))


class PositionwiseFeedForward(nn.Module):
    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.p = dropout

    def forward(self, x):
        return self.linear2(F.dropout(F.relu(self.linear1(x)), self.p, self.training))


class EncoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def _sub(self, x, norm, fn):
        return norm(x + self.dropout(fn(x)))

    def forward(self, x, src_mask=None):
        x = self._sub(x, self.norm1, lambda y: self.self_attn(y, y, y, mask=src_mask))
        return self._sub(x, self.norm2, self.ffn)


class DecoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        for norm, fn in (
            (self.norm1, lambda y: self.self_attn(y, y, y, tgt_mask)),
            (self.norm2, lambda y: self.cross_attn(y, memory, memory, src_mask)),
            (self.norm3, self.ffn),
        ):
            x = norm(x + self.dropout(fn(x)))
        return x
