"""Sprint 07 in another style: multi-head attention through torch's own scaled dot-product
attention, an additive float mask, unflatten, dropouts in a ModuleList."""

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    scale = q.size(-1) ** -0.5
    scores = (q * scale) @ k.mT
    if mask is not None:
        bias = torch.zeros(mask.shape, dtype=scores.dtype).masked_fill(~mask, float("-inf"))
        scores = scores + bias
    weights = scores.softmax(-1)
    if dropout:
        weights = dropout(weights)
    return weights @ v, weights


def make_padding_mask(tokens, pad_idx):
    return tokens.ne(pad_idx).reshape(tokens.shape[0], 1, 1, tokens.shape[1])


def make_causal_mask(size):
    i = torch.arange(size)
    return (i[:, None] >= i[None, :])[None, None]


def make_target_mask(tgt, pad_idx):
    return make_padding_mask(tgt, pad_idx) & make_causal_mask(tgt.shape[1]).to(tgt.device)


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        self.h, self.d_k, self.p = n_heads, d_model // n_heads, dropout
        self.w_q = nn.Linear(d_model, d_model, bias=True)
        self.w_k = nn.Linear(d_model, d_model, bias=True)
        self.w_v = nn.Linear(d_model, d_model, bias=True)
        self.w_o = nn.Linear(d_model, d_model, bias=True)

    def forward(self, query, key, value, mask=None):
        B, Tq, _ = query.shape
        q = self.w_q(query).unflatten(-1, (self.h, self.d_k)).transpose(1, 2)
        k = self.w_k(key).unflatten(-1, (self.h, self.d_k)).transpose(1, 2)
        v = self.w_v(value).unflatten(-1, (self.h, self.d_k)).transpose(1, 2)
        p = self.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        with torch.no_grad():
            _, self.attn = scaled_dot_product_attention(q, k, v, mask)
        return self.w_o(out.transpose(1, 2).flatten(2))


class PositionwiseFeedForward(nn.Module):
    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.linear2(self.dropout(self.linear1(x).clamp(min=0)))


class EncoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)
        self.dropout_attn = nn.Dropout(dropout)
        self.dropout_ffn = nn.Dropout(dropout)

    def forward(self, x, src_mask=None):
        h = x + self.dropout_attn(self.self_attn(x, x, x, src_mask))
        h = self.norm1(h)
        return self.norm2(h + self.dropout_ffn(self.ffn(h)))


class DecoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.ModuleList([nn.Dropout(dropout) for _ in range(3)])

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        x = self.norm1(x + self.dropout[0](self.self_attn(x, x, x, tgt_mask)))
        x = self.norm2(x + self.dropout[1](self.cross_attn(x, memory, memory, src_mask)))
        return self.norm3(x + self.dropout[2](self.ffn(x)))
