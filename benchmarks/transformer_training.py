"""Training speed of the reference Transformer against torch.nn.Transformer, in one run.

1. Time a training step (forward, backward, Adam) of the reference `EncoderDecoder` and of
   `torch.nn.Transformer` with the same sizes, embeddings and output layer, on the same
   batches; print both and their ratio (goal: the reference within 1.3x).
2. Train the reference on the reversal task to 99% exact-sequence accuracy on 1,000
   held-out sequences; print the steps and seconds it took.

    python benchmarks/transformer_training.py [--steps 200] [--skip-training]
"""

import argparse
import math
import time

import torch
from torch import nn

from solutions import reversal
from solutions.transformer_block import make_padding_mask, make_target_mask


class TorchTransformer(nn.Module):
    """The baseline: nn.Transformer with the reference's embeddings and generator."""

    def __init__(self, config):
        super().__init__()
        d_model = config.d_model
        self.d_model = d_model
        self.src_embed = nn.Embedding(reversal.VOCAB_SIZE, d_model)
        self.tgt_embed = nn.Embedding(reversal.VOCAB_SIZE, d_model)
        self.pos_encoding = reversal.make_model(config).pos_encoding
        self.transformer = nn.Transformer(
            d_model,
            config.n_heads,
            config.num_layers,
            config.num_layers,
            config.d_ff,
            config.dropout,
            batch_first=True,
        )
        self.generator = nn.Linear(d_model, reversal.VOCAB_SIZE)

    def forward(self, src, tgt):
        """Logits (B, T, V); torch's masks are True where attention is not allowed."""
        scale = math.sqrt(self.d_model)
        source = self.pos_encoding(self.src_embed(src) * scale)
        target = self.pos_encoding(self.tgt_embed(tgt) * scale)
        future = torch.triu(torch.ones(tgt.size(1), tgt.size(1), dtype=torch.bool), diagonal=1)
        padding = src == reversal.PAD
        hidden = self.transformer(
            source,
            target,
            tgt_mask=future,
            src_key_padding_mask=padding,
            tgt_key_padding_mask=tgt == reversal.PAD,
            memory_key_padding_mask=padding,
        )
        return self.generator(hidden)


def reference_forward(model, src, tgt):
    """The reference model with the contract's masks, True where attention is allowed."""
    return model(
        src, tgt, make_padding_mask(src, reversal.PAD), make_target_mask(tgt, reversal.PAD)
    )


def step_seconds(model, forward, batches):
    """Median seconds of a training step over `batches`, after two warm-up steps."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for index, (src, tgt) in enumerate(batches):
        started = time.perf_counter()
        logits = forward(model, src, tgt[:, :-1])
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, reversal.VOCAB_SIZE),
            tgt[:, 1:].reshape(-1),
            ignore_index=reversal.PAD,
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= 2:
            times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per model")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = reversal.Config()
    generator = torch.Generator().manual_seed(0)
    batches = [reversal.make_batch(config.batch_size, generator) for _ in range(args.steps)]
    reference = step_seconds(reversal.make_model(config), reference_forward, batches)
    baseline = step_seconds(TorchTransformer(config), TorchTransformer.__call__, batches)
    print(f"training step, reference EncoderDecoder: {reference * 1e3:.1f} ms (median)")
    print(f"training step, torch.nn.Transformer:     {baseline * 1e3:.1f} ms (median)")
    print(f"ratio reference / torch.nn.Transformer:  {reference / baseline:.2f}x (goal: <= 1.3x)")
    if not args.skip_training:
        _, history = reversal.train(config, 4000, evaluate_every=250, target=0.99)
        step, accuracy = history["accuracy"][-1]
        print(
            f"reversal: {accuracy:.1%} held-out exact-sequence accuracy after {step} steps, "
            f"{history['seconds']:.1f} s (evaluation included)"
        )


if __name__ == "__main__":
    main()
