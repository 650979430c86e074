"""The toy task of sprint 15: reverse a digit sequence, with padding.

Tokens: PAD 0, BOS 1, EOS 2, digits 3..12. A source is 1 to MAX_DIGITS digits; the target
is BOS, the digits reversed, EOS. Sequences in a batch are padded to the longest.

    python -m solutions.reversal --results sprints/15_encoder_decoder/results
trains the reference to 99% exact-sequence accuracy and writes the curve and figures.
"""

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from solutions.transformer import EncoderDecoder, greedy_decode
from solutions.transformer_block import make_padding_mask, make_target_mask

PAD, BOS, EOS = 0, 1, 2
FIRST_DIGIT, VOCAB_SIZE = 3, 13
MAX_DIGITS = 10


@dataclass(frozen=True)
class Config:
    """Sizes of the model and of training; small enough for two CPU cores."""

    d_model: int = 64
    n_heads: int = 4
    num_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.0  # the task has no noise to overfit; dropout only slows it here
    batch_size: int = 64
    learning_rate: float = 2e-3  # the peak, after a linear warm-up
    warmup_steps: int = 200
    decay_steps: int = 2500  # linear decay to 5% of the peak by then
    seed: int = 0


def make_batch(batch_size, generator, max_digits=MAX_DIGITS):
    """A padded batch: src (B, S), tgt (B, T) = [BOS, reversed digits, EOS, PAD...]."""
    lengths = torch.randint(1, max_digits + 1, (batch_size,), generator=generator)
    src = torch.full((batch_size, max_digits), PAD)
    tgt = torch.full((batch_size, max_digits + 2), PAD)
    for row, length in enumerate(lengths.tolist()):
        digits = torch.randint(FIRST_DIGIT, VOCAB_SIZE, (length,), generator=generator)
        src[row, :length] = digits
        tgt[row, : length + 2] = torch.cat(
            [torch.tensor([BOS]), digits.flip(0), torch.tensor([EOS])]
        )
    longest = int(lengths.max())
    return src[:, :longest], tgt[:, : longest + 2]


def make_model(config):
    torch.manual_seed(config.seed)
    return EncoderDecoder(
        VOCAB_SIZE,
        VOCAB_SIZE,
        config.d_model,
        config.n_heads,
        config.num_layers,
        config.d_ff,
        config.dropout,
        max_len=64,
    )


def loss_on(model, src, tgt):
    """Teacher forcing: the decoder reads tgt[:, :-1] and predicts tgt[:, 1:]."""
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]  # shifted by one
    logits = model(src, tgt_in, make_padding_mask(src, PAD), make_target_mask(tgt_in, PAD))
    return nn.functional.cross_entropy(
        logits.reshape(-1, VOCAB_SIZE), tgt_out.reshape(-1), ignore_index=PAD
    )


@torch.no_grad()
def exact_accuracy(model, src, tgt):
    """The share of sequences whose greedy decoding equals the target up to its EOS."""
    model.eval()
    decoded = greedy_decode(model, src, make_padding_mask(src, PAD), tgt.size(1), BOS)
    real = tgt != PAD
    model.train()
    return ((decoded == tgt) | ~real).all(dim=1).float().mean().item()


def held_out(count=1000, seed=1234):
    return make_batch(count, torch.Generator().manual_seed(seed))


def learning_rate_factor(config, step):
    """Linear warm-up to the peak, then linear decay: Adam is unstable at the peak early."""
    warmup = (step + 1) / config.warmup_steps
    return min(warmup, max(0.05, 1 - step / config.decay_steps))


def train(config, steps, evaluate_every=None, target=None, progress=None):
    """Train for `steps` steps; optionally stop once held-out accuracy reaches `target`.

    Returns the model and a history dict: losses, (step, accuracy) pairs, seconds.
    """
    model = make_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(config, step)
    )
    generator = torch.Generator().manual_seed(config.seed)
    test_src, test_tgt = held_out()
    history = {"losses": [], "accuracy": [], "seconds": 0.0}
    started = time.perf_counter()
    for step in range(1, steps + 1):
        loss = loss_on(model, *make_batch(config.batch_size, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history["losses"].append(loss.item())
        if progress is not None:
            progress.update()
        if evaluate_every and step % evaluate_every == 0:
            accuracy = exact_accuracy(model, test_src, test_tgt)
            history["accuracy"].append((step, accuracy))
            if target is not None and accuracy >= target:
                break
    history["seconds"] = time.perf_counter() - started
    return model, history


def write_results(folder, config, model, history):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 3.5))
    loss_axis.plot(history["losses"], lw=0.6)
    loss_axis.set(
        xlabel="step", ylabel="cross-entropy per token", yscale="log", title="Training loss"
    )
    steps, accuracies = zip(*history["accuracy"])
    accuracy_axis.plot(steps, accuracies, "o-")
    accuracy_axis.axhline(0.99, color="gray", ls="--", lw=0.8)
    accuracy_axis.set(
        xlabel="step", ylabel="exact-sequence accuracy", title="1,000 held-out sequences"
    )
    figure.tight_layout()
    figure.savefig(folder / "training_curve.png", dpi=120)
    summary = {
        "config": config.__dict__,
        "steps": steps[-1],
        "seconds": round(history["seconds"], 1),
        "held_out_exact_accuracy": accuracies[-1],
        "torch_threads": torch.get_num_threads(),
    }
    (folder / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", help="folder for training_curve.png and training.json")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    config = Config()
    model, history = train(config, args.steps, evaluate_every=250, target=0.99)
    step, accuracy = history["accuracy"][-1]
    print(f"{accuracy:.1%} exact-sequence accuracy after {step} steps, {history['seconds']:.1f} s")
    if args.results:
        print(write_results(args.results, config, model, history))


if __name__ == "__main__":
    main()
