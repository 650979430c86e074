"""Sprint 07 in another style: matmul and einsum, masked_fill with -1e9 and torch.where,
reshape + permute, self.attn detached, an nn.ReLU module, dropouts named drop1..3."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    d_k = q.shape[-1]
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    p = F.softmax(scores, dim=-1)
    if dropout is not None:
        p = dropout(p)
    return torch.matmul(p, v), p


def make_padding_mask(tokens, pad_idx):
    return (tokens != pad_idx).unsqueeze(1).unsqueeze(2)


def make_causal_mask(size):
    future = torch.triu(torch.ones(size, size, dtype=torch.bool), diagonal=1)
    return (~future).view(1, 1, size, size)


def make_target_mask(tgt, pad_idx):
    return torch.logical_and(make_padding_mask(tgt, pad_idx), make_causal_mask(tgt.shape[-1]))


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads, dropout=None):
        super().__init__()
        self.h = n_heads
        self.d_k = d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.attn_drop = nn.Dropout(dropout) if dropout else None
        self.attn = None

    def forward(self, query, key, value, mask=None):
        B = query.size(0)
        q = self.w_q(query).reshape(B, -1, self.h, self.d_k).permute(0, 2, 1, 3)
        k = self.w_k(key).reshape(B, -1, self.h, self.d_k).permute(0, 2, 1, 3)
        v = self.w_v(value).reshape(B, -1, self.h, self.d_k).permute(0, 2, 1, 3)
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(self.d_k)
        if mask is not None:
            scores = torch.where(mask, scores, torch.full_like(scores, -1e9))
        p = scores.softmax(-1)
        self.attn = p.detach()
        if self.attn_drop is not None:
            p = self.attn_drop(p)
        out = torch.einsum("bhqk,bhkd->bhqd", p, v)
        out = out.permute(0, 2, 1, 3).reshape(B, -1, self.h * self.d_k)
        return self.w_o(out)


class PositionwiseFeedForward(nn.Module):
    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.linear2(self.drop(self.act(self.linear1(x))))


class EncoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x, src_mask=None):
        a = self.self_attn(x, x, x, src_mask)
        x = self.norm1(x + self.drop1(a))
        f = self.ffn(x)
        return self.norm2(x + self.drop2(f))


class DecoderBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.drop3 = nn.Dropout(dropout)

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        x = self.norm1(x + self.drop1(self.self_attn(x, x, x, tgt_mask)))
        x = self.norm2(x + self.drop2(self.cross_attn(x, memory, memory, src_mask)))
        return self.norm3(x + self.drop3(self.ffn(x)))
