"""Notebook 17 as nb17_alt1, but greedy decoding that re-runs forward on the whole prefix
each step with a 2-D causal mask, growing the output with torch.cat."""

import torch

from tests.implementations.nb17_alt1 import Decoder, Encoder, EncoderDecoder, PositionalEncoding

__all__ = ["Decoder", "Encoder", "EncoderDecoder", "PositionalEncoding", "greedy_decode"]


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    ys = torch.ones(src.size(0), 1).fill_(start_symbol).long()
    while ys.size(1) < max_len:
        t = ys.size(1)
        mask = torch.triu(torch.ones(t, t), diagonal=1) == 0  # (t, t), broadcastable
        logits = model(src, ys, src_mask, mask)
        nxt = logits[:, -1].max(dim=-1).indices.unsqueeze(1)
        ys = torch.cat((ys, nxt), dim=1)
    return ys
