"""Sprint 07: the Transformer block, in PyTorch ("Attention Is All You Need", 2017).

Legend for shapes: B batch, T time steps (T_q queries, T_k keys), d_model model size,
h heads, d_k = d_model / h per head, d_ff feed-forward size. Masks are boolean and True
where attention is allowed, broadcastable to (B, h, T_q, T_k).
"""

import math

import torch
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.

    Args:
        q: queries, (..., T_q, d_k).
        k: keys, (..., T_k, d_k).
        v: values, (..., T_k, d_v).
        mask: bool, broadcastable to (..., T_q, T_k); True where attention is allowed.
        dropout: an nn.Dropout applied to the attention weights, or None.

    Returns:
        (output (..., T_q, d_v), weights (..., T_q, T_k)); each row of weights sums to 1.
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)  # over the keys
    if dropout is not None:
        weights = dropout(weights)
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


class MultiHeadAttention(nn.Module):
    """h attention heads side by side, each on its own d_k-sized slice of d_model."""

    def __init__(self, d_model, n_heads, dropout=0.0):
        """Linear maps w_q, w_k, w_v, w_o, each d_model -> d_model with a bias."""
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads, self.d_k = n_heads, d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.attn = None  # the last attention weights, (B, h, T_q, T_k)

    def split_heads(self, x):
        """(B, T, d_model) -> (B, h, T, d_k)."""
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)

    def forward(self, query, key, value, mask=None):
        """query (B, T_q, d_model), key and value (B, T_k, d_model) -> (B, T_q, d_model).

        Keeps the attention weights of this call in self.attn, (B, h, T_q, T_k).
        """
        B, T_q, d_model = query.shape
        # 1. Project, then split d_model into h heads of size d_k.
        q = self.split_heads(self.w_q(query))  # (B, h, T_q, d_k)
        k = self.split_heads(self.w_k(key))  # (B, h, T_k, d_k)
        v = self.split_heads(self.w_v(value))  # (B, h, T_k, d_k)
        # 2. Attend in every head at once; keep the weights for inspection.
        heads, self.attn = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        # 3. Put the heads back side by side and mix them.
        concat = heads.transpose(1, 2).reshape(B, T_q, d_model)  # (B, T_q, d_model)
        return self.w_o(concat)


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = linear2(dropout(relu(linear1(x)))), applied at every position alike."""

    def __init__(self, d_model, d_ff, dropout=0.0):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        """x (B, T, d_model) -> (B, T, d_model)."""
        return self.linear2(self.dropout(torch.relu(self.linear1(x))))  # (B, T, d_ff) inside


class EncoderBlock(nn.Module):
    """Self-attention then feed-forward, each wrapped as x = norm(x + dropout(sublayer(x)))."""

    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        """Submodules, named as in torch.nn.TransformerEncoderLayer so that its weights
        load: self_attn (MultiHeadAttention), ffn (PositionwiseFeedForward), norm1 and norm2
        (nn.LayerNorm(d_model)). Dropout holds no weights: name it as you like."""
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, src_mask=None):
        """x (B, T, d_model), src_mask bool broadcastable to (B, h, T, T) -> (B, T, d_model)."""
        # 1. Every position attends to every allowed position of the same sequence.
        x = self.norm1(x + self.dropout(self.self_attn(x, x, x, src_mask)))
        # 2. Every position is transformed on its own.
        return self.norm2(x + self.dropout(self.ffn(x)))


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the encoder's memory, then feed-forward."""

    def __init__(self, d_model, n_heads, d_ff, dropout=0.1):
        """Submodules, named as in torch.nn.TransformerDecoderLayer (its multihead_attn is
        cross_attn here): self_attn and cross_attn (MultiHeadAttention), ffn
        (PositionwiseFeedForward), norm1, norm2 and norm3 (nn.LayerNorm(d_model))."""
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ffn = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        """x (B, T_tgt, d_model), memory (B, T_src, d_model) -> (B, T_tgt, d_model).

        tgt_mask (B, 1, T_tgt, T_tgt) hides future and padded targets; src_mask
        (B, 1, 1, T_src) hides padded source positions.
        """
        # 1. Each target position attends to the targets before it (and itself).
        x = self.norm1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))
        # 2. Queries from the decoder, keys and values from the encoder's output.
        x = self.norm2(x + self.dropout(self.cross_attn(x, memory, memory, src_mask)))
        # 3. Position-wise feed-forward.
        return self.norm3(x + self.dropout(self.ffn(x)))


def make_padding_mask(tokens, pad_idx):
    """tokens (B, T) -> bool (B, 1, 1, T), True at real (non-pad) tokens."""
    return (tokens != pad_idx)[:, None, None, :]


def make_causal_mask(size):
    """bool (1, 1, size, size), True on and below the diagonal: no peeking ahead."""
    return torch.tril(torch.ones(size, size, dtype=torch.bool))[None, None]


def make_target_mask(tgt, pad_idx):
    """tgt (B, T) -> bool (B, 1, T, T): query i may attend to key j when token j is not
    padding and j <= i (the padding mask & the causal mask)."""
    return make_padding_mask(tgt, pad_idx) & make_causal_mask(tgt.size(1)).to(tgt.device)
