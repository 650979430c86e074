# %% [markdown]
# # Notebook 15: Encoder-Decoder Architecture (No Attention)
#
# A sequence-to-sequence model reads one sequence and writes another: a sentence and its
# translation, a question and its answer, a list of digits and the same list reversed.
# The classic design (Sutskever et al., 2014; Cho et al., 2014) has two recurrent networks:
#
# - the **encoder** reads the input one step at a time and squeezes it into one vector,
#   the **context vector**;
# - the **decoder** starts from that vector and writes the output one token at a time.
#
# You will build both in NumPy, for the three classic cells (RNN, LSTM, GRU), with exactly
# the equations and parameter layout of `torch.nn.RNN`, `LSTM` and `GRU`, so that weights
# trained in PyTorch run in your code unchanged. At the end you will do just that.
#
# **Shapes.** Throughout: `T` time steps, `D` input (embedding) size, `H` hidden size,
# `V` vocabulary size, `G` gates per cell (1 for RNN, 4 for LSTM, 3 for GRU).
#
# **Precision.** Compute in float64, NumPy's default: the checks compare your results with
# PyTorch's cells run in float64, to a relative tolerance of 1e-6, which float32 misses.
#
# **How to work.** Fill in each cell marked `# TODO`, then run the check cells under it.
# A check prints a ✓ or tells you what to look at. Some tests are hidden: the autograder
# runs them when you hand in the notebook, on other sizes and cell types, so make your
# code general rather than fitting the visible checks.

# %%
import numpy as np

# %% [markdown]
# ## 1. The recurrent cell
#
# A recurrent cell turns the previous state and the current input into the next state.
# All three cells start from the same affine maps of the input and the previous hidden
# vector, `W_ih @ x + b_ih` and `W_hh @ h + b_hh`, with `G * H` rows: one block of `H`
# rows per gate, in PyTorch's order.
#
# | cell | state | equations |
# |---|---|---|
# | RNN | `h` | $h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})$ |
# | LSTM | `(h, c)` | rows `i, f, g, o`: $c' = \sigma(f) \odot c + \sigma(i) \odot \tanh(g)$, $h' = \sigma(o) \odot \tanh(c')$ |
# | GRU | `h` | rows `r, z, n`: $r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr})$, $z$ likewise, $n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))$, $h' = (1 - z) \odot n + z \odot h$ |
#
# Parameters come as a dict with PyTorch's names and shapes:
# `W_ih` (G·H, D), `W_hh` (G·H, H), `b_ih` (G·H,), `b_hh` (G·H,).
#
# > **LLM/Transformer context.** Transformers dropped recurrence, but the gates live on:
# > the LSTM's multiplicative gating reappears in the GLU and SwiGLU feed-forward layers of
# > LLaMA and PaLM, and recent recurrent LLMs (Mamba, RWKV, xLSTM) are gated cells much
# > like these, run over very long sequences.
#
# Two helpers are given: a numerically safe sigmoid, and `hidden_of`, which picks `h`
# out of a state whatever the cell type.

# %% [given] solutions.seq2seq: sigmoid, hidden_of

# %% [markdown]
# **Task 1.** Implement `cell_step`. `np.split(v, 4)` cuts a vector into four equal
# blocks. About 15 lines.

# %% [solution] solutions.seq2seq: cell_step

# %% [test] test_cell_step_rnn

# %% [test] test_cell_step_lstm

# %% [test] test_cell_step_gru

# %% [test] test_cell_step_random_sizes

# %% [test] test_cell_step_rejects_unknown_cell_type

# %% [markdown]
# ## 2. The encoder: a sequence in, one context vector out
#
# The encoder runs the cell over the input sequence and keeps only its **final state**.
# That state is the context vector: everything the decoder will ever know about the input.
#
# > **LLM/Transformer context.** BERT-style encoders also summarise a sequence, but they
# > keep one vector per token instead of one for the whole sequence. Keeping them all is
# > exactly the step from this notebook to the next one (attention).
#
# **Task 2.** Implement `encoder_forward`: start from `h0` and call `cell_step` once per
# row of `X_seq`. About 4 lines.

# %% [solution] solutions.seq2seq: encoder_forward

# %% [test] test_encoder_forward

# %% [test] test_encoder_forward_all_cells

# %% [markdown]
# ## 3. The decoder, trained with teacher forcing
#
# The decoder is a second cell that starts from the context vector. At each step it reads
# an input and emits a score (a **logit**) for every token of the vocabulary:
# $\text{logits}_t = W_{out} h_t + b_{out}$.
#
# In training, the decoder's inputs are the *true* previous tokens (the target shifted
# right by one, after a start token), not its own guesses: this is **teacher forcing**.
# It makes every step's loss computable in one pass, even when the model is still bad.
#
# > **LLM/Transformer context.** GPT-style models are trained the same way: the input is
# > the text, the target is the text shifted left by one, and every position predicts its
# > next token in parallel. A Transformer decoder computes all positions at once (with a
# > causal mask), where this decoder walks through them one by one.
#
# **Task 3.** Implement `decoder_forward`. `decoder_params` holds the cell's parameters
# plus `W_out` (V, H) and `b_out` (V,). About 7 lines.

# %% [solution] solutions.seq2seq: decoder_forward

# %% [test] test_decoder_forward

# %% [test] test_decoder_forward_all_cells

# %% [markdown]
# ## 4. The sequence loss
#
# Each step is a classification over `V` tokens, scored by the cross-entropy
# $-\log \operatorname{softmax}(\text{logits})_{\text{target}}
#  = \log \sum_v e^{\text{logits}_v} - \text{logits}_{\text{target}}$.
# Computed naively, `exp` overflows for logits around 1000; subtracting the largest logit
# first changes nothing mathematically and keeps every exponent at most 0 (the
# *log-sum-exp trick*).
#
# The sequence loss is the **sum** of the step losses. (Frameworks often report the mean;
# the contract here asks for the sum, and the hidden tests know the difference.)
#
# > **LLM/Transformer context.** An LLM's pre-training loss is exactly this cross-entropy,
# > averaged over billions of next-token predictions; its exponential, the perplexity, is
# > the number quoted in papers.
#
# **Task 4.** Implement `cross_entropy` (about 3 lines), then `seq2seq_loss` (about 1 line).

# %% [solution] solutions.seq2seq: cross_entropy

# %% [test] test_cross_entropy

# %% [test] test_cross_entropy_large_logits

# %% [solution] solutions.seq2seq: seq2seq_loss

# %% [test] test_seq2seq_loss

# %% [test] test_seq2seq_loss_lengths

# %% [markdown]
# ## 5. Inference: greedy decoding
#
# At inference time there is no target to feed. The decoder feeds back its own output:
# start from the start token, take the most likely token (the argmax of the logits),
# embed it, feed it in, and repeat until the end token or `max_len` tokens.
#
# > **LLM/Transformer context.** This loop is how every LLM generates text. Greedy decoding
# > is the simplest choice. Sampling with a temperature or top-k/top-p changes how the
# > next token is picked from the logits; beam search keeps the few best partial
# > sequences at every step instead of one.
#
# **Task 5.** Implement `greedy_decode`. The returned list leaves out the start token and
# includes the end token if it was produced. About 10 lines.

# %% [solution] solutions.seq2seq: greedy_decode

# %% [test] test_greedy_decode

# %% [test] test_greedy_decode_all_cells

# %% [markdown]
# ## 6. A worked example: reversing digit sequences
#
# Now the whole model on a toy task: read a sequence of digits, write it reversed. We train
# a GRU encoder-decoder in PyTorch (your NumPy code has no gradients), then copy its weights
# into parameter dicts, which works because your cells use PyTorch's layout, and decode
# held-out sequences **with your own `encoder_forward` and `greedy_decode`**.
#
# The demo cells below are skipped by the autograder; they take about 20 seconds.

# %% [demo]
import matplotlib.pyplot as plt
import torch
from torch import nn

torch.manual_seed(0)
digits, BOS, EOS = 10, 10, 11  # tokens 0-9 are digits
V, D, H = 12, 16, 64


def random_batch(batch_size, length):
    """Source digits (B, L), decoder inputs [BOS, reversed] (B, L+1), targets [reversed, EOS]."""
    src = torch.randint(0, digits, (batch_size, length))
    reversed_src = src.flip(1)
    bos = torch.full((batch_size, 1), BOS)
    eos = torch.full((batch_size, 1), EOS)
    return src, torch.cat([bos, reversed_src], 1), torch.cat([reversed_src, eos], 1)


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.encoder = nn.GRU(D, H, batch_first=True)
        self.decoder = nn.GRU(D, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, src, tgt_in):
        _, context = self.encoder(self.embedding(src))  # (1, B, H)
        outputs, _ = self.decoder(self.embedding(tgt_in), context)  # (B, T, H)
        return self.out(outputs)  # (B, T, V)


model = Seq2Seq()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
losses = []
for step in range(1500):
    src, tgt_in, tgt_out = random_batch(64, int(torch.randint(3, 9, ())))
    logits = model(src, tgt_in)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"final training loss {np.mean(losses[-50:]):.3f}")

# %% [markdown]
# Copy the trained weights into the contract's dicts and decode with *your* functions.
# The accuracy is the share of held-out sequences reversed exactly, by length.

# %% [demo]
def layer_params(gru):
    """PyTorch's weight_ih_l0 etc. are already in the contract's layout."""
    weights = {"W_ih": gru.weight_ih_l0, "W_hh": gru.weight_hh_l0,
               "b_ih": gru.bias_ih_l0, "b_hh": gru.bias_hh_l0}
    return {key: value.detach().double().numpy() for key, value in weights.items()}


embedding = model.embedding.weight.detach().double().numpy()  # (V, D)
encoder_params = layer_params(model.encoder)
decoder_params = layer_params(model.decoder)
decoder_params["W_out"] = model.out.weight.detach().double().numpy()  # (V, H)
decoder_params["b_out"] = model.out.bias.detach().double().numpy()  # (V,)

lengths = list(range(2, 13))
accuracy = []
for length in lengths:
    src, _, tgt_out = random_batch(100, length)
    correct = 0
    for source, target in zip(src.numpy(), tgt_out.numpy()):
        context = encoder_forward(embedding[source], np.zeros(H), encoder_params, "gru")
        tokens = greedy_decode(context, embedding, BOS, EOS, length + 1, decoder_params, "gru")
        correct += tokens == list(target)
    accuracy.append(correct / 100)

example = np.array([3, 1, 4, 1, 5])
context = encoder_forward(embedding[example], np.zeros(H), encoder_params, "gru")
print("input   ", example.tolist())
print("decoded ", greedy_decode(context, embedding, BOS, EOS, 8, decoder_params, "gru"))

figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 3.5))
loss_axis.plot(losses, lw=0.6)
loss_axis.set(xlabel="training step", ylabel="cross-entropy per token", title="Training")
accuracy_axis.plot(lengths, accuracy, "o-")
accuracy_axis.axvspan(3, 8, color="green", alpha=0.1, label="lengths seen in training")
accuracy_axis.set(xlabel="sequence length", ylabel="exact-sequence accuracy",
                  title="One context vector for the whole input", ylim=(-0.05, 1.05))
accuracy_axis.legend()
plt.show()

# %% [markdown]
# Read the right-hand plot. Short sequences come back perfectly; from about six digits on,
# accuracy falls, within the lengths seen in training, and longer sequences almost always
# fail. The decoder sees the input only through one `H`-dimensional vector, written once,
# at the end of the encoder: every digit has to survive in it, and the first digit read,
# which the decoder writes last, has to survive every later update of the state. This is
# the **bottleneck** of the encoder-decoder without attention.
#
# ## Summary
#
# - The encoder folds a sequence into its final state, the context vector.
# - The decoder unfolds it, trained with teacher forcing on the shifted target and run
#   greedily, feeding back its own tokens, at inference.
# - The loss is the sum of per-step cross-entropies, computed with log-sum-exp.
# - One fixed-size vector cannot carry a long sequence.
#
# **Next, notebook 16: attention.** Instead of one context vector, the decoder keeps every
# encoder state and, before each step, looks back at all of them, weighting each by how
# relevant it is now. Push that idea to its end, attention without any recurrence, and you
# have the Transformer of sprint 07.
