"""Sprint 15: the Transformer encoder-decoder, assembled from sprint 07's blocks.

Legend for shapes: B batch, S source length, T target length, d_model model size,
V_src / V_tgt vocabulary sizes. Masks are boolean and True where attention is allowed:
src_mask (B, 1, 1, S), tgt_mask (B, 1, T, T).
"""

import math

import torch
from torch import nn

from solutions.transformer_block import DecoderBlock, EncoderBlock


class Encoder(nn.Module):
    """num_layers encoder blocks, then a final LayerNorm."""

    def __init__(self, num_layers, d_model, n_heads, d_ff, dropout=0.1):
        """layers, an nn.ModuleList of num_layers EncoderBlocks; norm, nn.LayerNorm(d_model)."""
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, src_mask=None):
        """x (B, S, d_model) -> memory (B, S, d_model)."""
        for layer in self.layers:
            x = layer(x, src_mask)
        return self.norm(x)


class Decoder(nn.Module):
    """num_layers decoder blocks, each attending to the encoder's memory, then a LayerNorm."""

    def __init__(self, num_layers, d_model, n_heads, d_ff, dropout=0.1):
        """layers, an nn.ModuleList of num_layers DecoderBlocks; norm, nn.LayerNorm(d_model)."""
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        """x (B, T, d_model), memory (B, S, d_model) -> (B, T, d_model)."""
        for layer in self.layers:
            x = layer(x, memory, src_mask, tgt_mask)
        return self.norm(x)


class PositionalEncoding(nn.Module):
    """Adds PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(same) to x."""

    def __init__(self, d_model, max_len=5000, dropout=0.0):
        """The table as a buffer pe, (1, max_len, d_model): saved with the model, not trained."""
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len).unsqueeze(1)  # (max_len, 1)
        frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * frequency)  # even dimensions
        pe[0, :, 1::2] = torch.cos(position * frequency[: d_model // 2])  # odd dimensions
        self.register_buffer("pe", pe)  # (1, max_len, d_model), saved but not trained

    def forward(self, x):
        """x (B, T, d_model) -> dropout(x + pe[:, :T])."""
        return self.dropout(x + self.pe[:, : x.size(1)])


class EncoderDecoder(nn.Module):
    """The Transformer of "Attention Is All You Need": embed, encode, decode, generate."""

    def __init__(
        self,
        src_vocab_size,
        tgt_vocab_size,
        d_model=512,
        n_heads=8,
        num_layers=6,
        d_ff=2048,
        dropout=0.1,
        max_len=5000,
    ):
        """Submodules: src_embed and tgt_embed (nn.Embedding, d_model wide), pos_encoding
        (one PositionalEncoding for both), encoder (Encoder), decoder (Decoder) and
        generator (nn.Linear(d_model, tgt_vocab_size)). Embeddings are scaled by
        sqrt(d_model) before the positional encoding."""
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model)
        self.pos_encoding = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = Encoder(num_layers, d_model, n_heads, d_ff, dropout)
        self.decoder = Decoder(num_layers, d_model, n_heads, d_ff, dropout)
        self.generator = nn.Linear(d_model, tgt_vocab_size)

    def encode(self, src, src_mask):
        """src (B, S) token ids -> memory (B, S, d_model)."""
        x = self.src_embed(src) * math.sqrt(self.d_model)  # (B, S, d_model)
        return self.encoder(self.pos_encoding(x), src_mask)

    def decode(self, memory, src_mask, tgt, tgt_mask):
        """tgt (B, T) token ids, memory (B, S, d_model) -> (B, T, d_model)."""
        y = self.tgt_embed(tgt) * math.sqrt(self.d_model)  # (B, T, d_model)
        return self.decoder(self.pos_encoding(y), memory, src_mask, tgt_mask)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None):
        """src (B, S), tgt (B, T) -> logits (B, T, V_tgt), no softmax."""
        # 1. Encode the whole source once.
        memory = self.encode(src, src_mask)
        # 2. Decode every target position in parallel (teacher forcing, causal tgt_mask).
        hidden = self.decode(memory, src_mask, tgt, tgt_mask)
        # 3. Score the target vocabulary at every position.
        return self.generator(hidden)


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    """Generate with the argmax token at each step.

    Args:
        model: an EncoderDecoder.
        src: (B, S) token ids; src_mask: (B, 1, 1, S).
        max_len: the length of the result, start symbol included.
        start_symbol: the token that begins every output.

    Returns:
        LongTensor (B, max_len) that begins with start_symbol.
    """
    memory = model.encode(src, src_mask)  # (B, S, d_model), computed once
    ys = torch.full((src.size(0), 1), start_symbol, dtype=torch.long, device=src.device)
    for _ in range(max_len - 1):
        causal = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool))[None, None]
        hidden = model.decode(memory, src_mask, ys, causal.to(src.device))  # (B, t, d_model)
        next_token = model.generator(hidden[:, -1]).argmax(dim=-1)  # (B,)
        ys = torch.cat([ys, next_token[:, None]], dim=1)  # (B, t + 1)
    return ys
