# %% [markdown]
# # Notebook 17: The Transformer Encoder-Decoder, Trained End to End
#
# Sprint 07 built the Transformer's blocks. This notebook assembles them into the full
# model of "Attention Is All You Need", the architecture behind T5, BART and Whisper, and
# trains it on a toy task: reversing digit sequences of different lengths, with padding.
#
# 1. `Encoder` and `Decoder`: stacks of blocks with a final LayerNorm;
# 2. `PositionalEncoding`: telling attention where each token sits;
# 3. `EncoderDecoder`: embeddings, the two stacks, the output layer;
# 4. `greedy_decode`: generating one token at a time;
# 5. the toy task: data, masks, training with teacher forcing, decoding.
#
# Every check compares your model with `torch.nn.Transformer` carrying the same weights.
#
# **Shapes.** `B` batch, `S` source length, `T` target length, `d_model` model size,
# `V` vocabulary size. **Masks** are boolean, `True` where attention is allowed:
# `src_mask` (B, 1, 1, S), `tgt_mask` (B, 1, T, T).
#
# **How to work.** Fill in each cell marked `# TODO`, then run the check cells under it.
# Hidden tests run when you hand in: other sizes, one to three layers.

# %%
import math
from dataclasses import dataclass, replace

import torch
from torch import nn

# %% [markdown]
# Sprint 07's blocks, as its reference solution, so that this notebook stands on its own:

# %% [given] solutions.transformer_block: scaled_dot_product_attention, MultiHeadAttention, PositionwiseFeedForward, EncoderBlock, DecoderBlock, make_padding_mask, make_causal_mask, make_target_mask

# %% [markdown]
# ## 1. The encoder and decoder stacks
#
# The encoder is `num_layers` encoder blocks applied in turn, then one more LayerNorm; the
# decoder likewise, every decoder block reading the same `memory` (the encoder's output)
# and the same masks. The final LayerNorm is `nn.Transformer`'s convention: it keeps the
# output of a deep stack in range.
#
# > **LLM/Transformer context.** Depth is where capacity comes from: the original base
# > model has 6 + 6 layers, T5-11B 24 + 24, GPT-3 96 decoder layers. The code is the same
# > loop; only `num_layers` changes.
#
# **Task 1.** Implement `Encoder` and `Decoder`. Keep the blocks in an `nn.ModuleList`
# called `layers` and the final LayerNorm in `norm`. About 10 lines each.

# %% [solution] solutions.transformer: Encoder

# %% [test] test_encoder_stack

# %% [solution] solutions.transformer: Decoder

# %% [test] test_decoder_stack

# %% [test] test_stacks_random_sizes

# %% [markdown]
# ## 2. Positional encoding
#
# Attention is blind to order: permute the tokens and every output is permuted the same
# way. The paper adds a fixed pattern to each position's embedding:
#
# $$PE_{p, 2i} = \sin\!\left(\frac{p}{10000^{2i/d}}\right), \qquad
#   PE_{p, 2i+1} = \cos\!\left(\frac{p}{10000^{2i/d}}\right)$$
#
# Each pair of dimensions is a clock ticking at its own speed, from one turn every $2\pi$
# positions to one every $10000 \cdot 2\pi$; together they give every position a unique
# signature, and a fixed offset is a rotation, which attention can learn to read.
#
# Store the table as a **buffer** `pe` of shape (1, max_len, d_model)
# (`self.register_buffer("pe", pe)`): saved with the model and moved with `.to(device)`,
# but not trained.
#
# > **LLM/Transformer context.** Most LLMs now use rotary embeddings (RoPE), which rotate
# > the queries and keys by these same sinusoids instead of adding them to the input;
# > extending an LLM's context window is largely a matter of adjusting those frequencies.
#
# **Task 2.** Implement `PositionalEncoding`. About 10 lines.

# %% [solution] solutions.transformer: PositionalEncoding

# %% [test] test_positional_encoding

# %% [test] test_positional_encoding_sizes

# %% [demo]
import matplotlib.pyplot as plt

pe = PositionalEncoding(d_model=64, max_len=100).pe[0]  # (100, 64)
plt.figure(figsize=(9, 3.5))
plt.imshow(pe.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
plt.xlabel("position p")
plt.ylabel("dimension")
plt.title("Positional encoding: fast clocks in the first dimensions, slow ones after")
plt.colorbar()
plt.show()

# %% [markdown]
# ## 3. The encoder-decoder
#
# The whole model, in the paper's names:
#
# - `src_embed`, `tgt_embed`: token embeddings, **multiplied by √d_model** (the embeddings
#   start small; the scaling keeps them from being drowned by the positional encoding);
# - `pos_encoding`: one `PositionalEncoding`, shared by both sides;
# - `encoder`, `decoder`: your stacks;
# - `generator`: a Linear layer from `d_model` to the target vocabulary: the logits.
#
# `encode(src, src_mask)` gives the memory; `decode(memory, src_mask, tgt, tgt_mask)`
# gives the decoder's output; `forward` chains them and applies the generator, without a
# softmax (the loss takes logits).
#
# > **LLM/Transformer context.** The decoder's output layer of an LLM is exactly this
# > `generator`, usually sharing its weights with the token embedding (weight tying).
#
# **Task 3.** Implement `EncoderDecoder`. About 20 lines.

# %% [solution] solutions.transformer: EncoderDecoder

# %% [test] test_model_matches_torch_transformer

# %% [test] test_model_random_sizes

# %% [markdown]
# ## 4. Greedy decoding
#
# In training, the decoder sees the whole target at once (teacher forcing, with the causal
# mask). At inference there is no target: encode the source **once**, start the output
# with the start symbol, and repeat: decode what you have with a causal mask, take the
# argmax of the generator at the **last** position, append it.
#
# > **LLM/Transformer context.** This is the loop of every chat model's `generate()`. Real
# > implementations keep a KV cache so that each step computes only the new position
# > instead of re-decoding the whole prefix, as this simple version does.
#
# **Task 4.** Implement `greedy_decode`. It returns a LongTensor (B, max_len) whose first
# column is the start symbol. About 8 lines.
#
# The checks run your `greedy_decode` on a model of the grader's own, `torch.nn.Transformer`
# behind the same `encode`, `decode`, `forward` and `generator`, so that it is graded apart
# from your `EncoderDecoder`: use only those four.

# %% [solution] solutions.transformer: greedy_decode

# %% [test] test_greedy_decode_transformer

# %% [test] test_greedy_decode_other_sizes

# %% [markdown]
# ## 5. The toy task: reversing sequences, with padding
#
# Sources are 1 to 10 digits; targets are the digits reversed, between BOS and EOS.
# Sequences in a batch have different lengths, so both sides are padded with PAD, and the
# masks keep attention off the padding. Token ids:

# %%
PAD, BOS, EOS = 0, 1, 2
FIRST_DIGIT, VOCAB_SIZE = 3, 13  # digits 0-9 are tokens 3-12
MAX_DIGITS = 10

# %% [given] solutions.reversal: Config, make_batch, make_model, loss_on, exact_accuracy, held_out, learning_rate_factor

# %% [markdown]
# Look at one small batch and its masks. In training, the decoder reads `tgt[:, :-1]`
# (BOS and the digits) and must predict `tgt[:, 1:]` (the digits and EOS): the target
# **shifted by one**. The loss ignores PAD positions.

# %% [demo]
src, tgt = make_batch(3, torch.Generator().manual_seed(1), max_digits=5)
print("src\n", src)
print("decoder input tgt[:, :-1]\n", tgt[:, :-1])
print("decoder target tgt[:, 1:]\n", tgt[:, 1:])
figure, axes = plt.subplots(1, 2, figsize=(8, 3))
axes[0].imshow(make_padding_mask(src, PAD)[:, 0, 0], cmap="gray")
axes[0].set(title="src_mask (B, S)", xlabel="source position", ylabel="sequence")
axes[1].imshow(make_target_mask(tgt[:, :-1], PAD)[2, 0], cmap="gray")
axes[1].set(title="tgt_mask of sequence 3 (T, T)", xlabel="key", ylabel="query")
plt.show()

# %% [markdown]
# Train it. Adam with a short linear warm-up, then a linear decay; about 40 seconds on two
# CPU cores. (The sprint's results train the same model to 99.2% exact-sequence accuracy
# on 1,000 held-out sequences in 2,250 steps.)

# %% [demo]
from tqdm.auto import tqdm

torch.set_num_threads(2)
config = replace(Config(), decay_steps=1500)
model = make_model(config)
optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.98))
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: learning_rate_factor(config, step)
)
generator = torch.Generator().manual_seed(config.seed)
losses = []
for step in tqdm(range(1500), desc="training"):
    loss = loss_on(model, *make_batch(config.batch_size, generator))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()
    losses.append(loss.item())

test_src, test_tgt = held_out()
print(f"exact-sequence accuracy on 1,000 held-out sequences: {exact_accuracy(model, test_src, test_tgt):.1%}")
plt.figure(figsize=(6, 3.5))
plt.semilogy(losses, lw=0.6)
plt.xlabel("step")
plt.ylabel("cross-entropy per token")
plt.title("Training loss")
plt.show()

# %% [markdown]
# Decode a few held-out examples with your `greedy_decode`:

# %% [demo]
def digits(tokens):
    return [t - FIRST_DIGIT for t in tokens.tolist() if t >= FIRST_DIGIT]


model.eval()
examples = test_src[:5]
decoded = greedy_decode(model, examples, make_padding_mask(examples, PAD), MAX_DIGITS + 2, BOS)
for source, output in zip(examples, decoded):
    print(f"{str(digits(source)):>32} -> {digits(output)}")

# %% [markdown]
# ## Summary
#
# - The encoder-decoder is embeddings (× √d_model) plus positional encodings, an encoder
#   stack, a decoder stack that cross-attends to the encoder's memory, and a generator.
# - In training, the decoder sees the target shifted right (teacher forcing) under a causal
#   mask, and all positions are predicted at once.
# - In inference, the source is encoded once and the output grows one argmax at a time.
# - Padding masks keep attention off PAD on both sides; the loss ignores PAD targets.
#
# The step-by-step data flow through the model, in training and in inference, is written
# up in the sprint's notes (`sprints/15_encoder_decoder/notes/01_encoder_decoder_flow.md`).
