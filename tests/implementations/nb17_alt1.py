"""Notebook 17 in another style: loops by index, the sinusoids in float64 then cast,
forward builds its masks when given none, greedy decoding into a preallocated tensor.
Built on sprint 07's given blocks."""

import torch
from torch import nn

from solutions.transformer_block import DecoderBlock, EncoderBlock, make_causal_mask


class Encoder(nn.Module):
    def __init__(self, num_layers, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        blocks = []
        for _ in range(num_layers):
            blocks.append(EncoderBlock(d_model, n_heads, d_ff, dropout=dropout))
        self.layers = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(d_model, eps=1e-5)

    def forward(self, x, src_mask=None):
        h = x
        for i in range(len(self.layers)):
            h = self.layers[i](h, src_mask=src_mask)
        return self.norm(h)


class Decoder(nn.Module):
    def __init__(self, num_layers, d_model, n_heads, d_ff, dropout=0.1):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            self.layers.append(DecoderBlock(d_model, n_heads, d_ff, dropout))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        out = x
        for block in self.layers:
            out = block(out, memory, src_mask=src_mask, tgt_mask=tgt_mask)
        return self.norm(out)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=5000, dropout=0.0):
        super().__init__()
        self.drop_layer = nn.Dropout(p=dropout)
        positions = torch.arange(max_len, dtype=torch.float64).unsqueeze(-1)  # (L, 1)
        two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(d/2),)
        angles = positions / torch.pow(torch.tensor(10000.0, dtype=torch.float64), two_i / d_model)
        table = torch.empty(max_len, d_model, dtype=torch.float64)
        table[:, 0::2] = torch.sin(angles)
        table[:, 1::2] = torch.cos(angles[:, : d_model // 2])
        self.register_buffer("pe", table.unsqueeze(0).to(torch.float32))

    def forward(self, x):
        T = x.shape[1]
        return self.drop_layer(x + self.pe[:, :T, :])


class EncoderDecoder(nn.Module):
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
        super().__init__()
        self.scale = d_model**0.5
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model)
        self.pos_encoding = PositionalEncoding(d_model, max_len=max_len, dropout=dropout)
        self.encoder = Encoder(num_layers, d_model, n_heads, d_ff, dropout=dropout)
        self.decoder = Decoder(num_layers, d_model, n_heads, d_ff, dropout=dropout)
        self.generator = nn.Linear(d_model, tgt_vocab_size, bias=True)

    def encode(self, src, src_mask):
        emb = self.pos_encoding(self.scale * self.src_embed(src))
        return self.encoder(emb, src_mask)

    def decode(self, memory, src_mask, tgt, tgt_mask):
        emb = self.pos_encoding(self.scale * self.tgt_embed(tgt))
        return self.decoder(emb, memory, src_mask, tgt_mask)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None):
        if tgt_mask is None:
            n = tgt.size(1)
            tgt_mask = torch.ones(n, n, dtype=torch.bool, device=tgt.device).tril().view(1, 1, n, n)
        memory = self.encode(src, src_mask)
        out = self.decode(memory, src_mask, tgt, tgt_mask)
        return self.generator(out)


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    B = src.shape[0]
    memory = model.encode(src, src_mask)
    out = torch.zeros(B, max_len, dtype=torch.long, device=src.device)
    out[:, 0] = start_symbol
    full_causal = make_causal_mask(max_len).to(src.device)
    for i in range(1, max_len):
        h = model.decode(memory, src_mask, out[:, :i], full_causal[..., :i, :i])
        logits = model.generator(h[:, i - 1, :])
        out[:, i] = torch.argmax(logits, dim=1)
    return out
