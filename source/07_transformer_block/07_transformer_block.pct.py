# %% [markdown]
# # Sprint 07: The Transformer Block
#
# "Attention Is All You Need" (Vaswani et al., 2017) replaced recurrence with attention:
# every position looks at every other position directly, in one matrix product. This
# notebook builds the Transformer's two blocks from their parts, in PyTorch:
#
# 1. scaled dot-product attention;
# 2. masks: padding, look-ahead, and both;
# 3. multi-head attention;
# 4. the position-wise feed-forward network;
# 5. LayerNorm and residual connections, and with them the `EncoderBlock`;
# 6. the `DecoderBlock`, with cross-attention to the encoder.
#
# The layers and blocks are checked against PyTorch's own `torch.nn` layers with the same
# weights (the masks and the feed-forward network against their formulas), so when your
# checks pass, your block computes exactly what `nn.TransformerEncoderLayer` does. For the
# weights to load, name the submodules as each docstring says. Sprint 15 stacks these
# blocks into a full encoder-decoder.
#
# **Shapes.** `B` batch, `T` time steps (`T_q` queries, `T_k` keys), `d_model` model size,
# `h` heads, `d_k = d_model / h` size per head, `d_ff` feed-forward size.
# **Masks** are boolean and `True` where attention is **allowed**, as in
# `torch.nn.functional.scaled_dot_product_attention` (`nn.Transformer`'s own masks use the
# opposite convention; the checks convert).
#
# **How to work.** Fill in each cell marked `# TODO`, then run the check cells under it.
# Hidden tests run when you hand in: other sizes, padding, more heads.

# %%
import math

import torch
from torch import nn

# %% [markdown]
# ## 1. Scaled dot-product attention
#
# A query asks, every key answers with how well it matches (a dot product), and the
# answer is the average of the values weighted by the softmax of those matches:
#
# $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V$$
#
# Why $\sqrt{d_k}$? For random vectors with unit-variance entries, $q \cdot k$ has
# variance $d_k$; without the scaling, large `d_k` pushes the softmax into saturation,
# where one key takes all the weight and the gradients vanish.
#
# A mask sets the scores of forbidden positions to $-\infty$ **before** the softmax, so
# they get weight exactly 0 and the allowed weights still sum to 1.
#
# > **LLM/Transformer context.** This one function is the heart of every LLM. Fast kernels
# > such as FlashAttention compute exactly this, tiled so that the (T_q, T_k) score matrix
# > never sits in memory whole; `torch.nn.functional.scaled_dot_product_attention` picks
# > such a kernel for you, and it is the oracle your function is checked against.
#
# **Task 1.** Implement `scaled_dot_product_attention`. Work on the last two axes only, so
# that any leading axes (batch, heads) come for free. About 7 lines.

# %% [solution] solutions.transformer_block: scaled_dot_product_attention

# %% [test] test_attention_matches_torch

# %% [test] test_attention_with_mask

# %% [test] test_attention_shapes_and_broadcast_masks

# %% [markdown]
# ## 2. Masks
#
# Two things must stay hidden from attention:
#
# - **padding**: batches hold sequences of different lengths, filled up with a pad token;
#   no position may attend to a pad. Mask shape (B, 1, 1, T): one row per sequence,
#   broadcast over heads and queries.
# - **the future**: in the decoder, position t predicts token t+1, so it may only look at
#   positions up to t. The **look-ahead** (causal) mask is lower-triangular, diagonal
#   included, shape (1, 1, T, T).
#
# The decoder's target mask is both at once: `padding & causal`, shape (B, 1, T, T).
#
# > **LLM/Transformer context.** GPT-style LLMs are decoder-only: the causal mask is what
# > lets them train on every position of a text in parallel and still generate left to
# > right. The KV cache used in inference works only because of it: past positions never
# > change when new tokens arrive.
#
# **Task 2.** Implement the three mask helpers. One or two lines each.

# %% [solution] solutions.transformer_block: make_padding_mask, make_causal_mask, make_target_mask

# %% [test] test_masks

# %% [test] test_causal_mask_sizes

# %% [markdown]
# Here are the three masks for a batch of two sequences, the second padded (allowed
# positions are light):

# %% [demo]
import matplotlib.pyplot as plt

tokens = torch.tensor([[5, 6, 7, 8, 9], [5, 6, 7, 0, 0]])
masks = {
    "padding (row 2)": make_padding_mask(tokens, 0)[1, 0].expand(5, 5),
    "look-ahead": make_causal_mask(5)[0, 0],
    "target = padding & look-ahead (row 2)": make_target_mask(tokens, 0)[1, 0],
}
figure, axes = plt.subplots(1, 3, figsize=(11, 3.5))
for axis, (title, mask) in zip(axes, masks.items()):
    axis.imshow(mask, cmap="gray", vmin=0, vmax=1)
    axis.set(title=title, xlabel="key position", ylabel="query position")
plt.show()

# %% [markdown]
# ## 3. Multi-head attention
#
# One attention compares queries and keys in one way. **Multi-head** attention runs `h`
# attentions side by side, each on its own `d_k = d_model / h` slice of learned
# projections, then concatenates them and mixes them with one more projection:
#
# 1. project: `q = w_q(query)`, `k = w_k(key)`, `v = w_v(value)`, each (B, T, d_model);
# 2. split: (B, T, d_model) → view (B, T, h, d_k) → transpose → (B, h, T, d_k);
# 3. attend in every head at once with your function (the mask broadcasts over heads);
# 4. merge: transpose back to (B, T, h, d_k), reshape to (B, T, d_model), apply `w_o`.
#
# The transpose in step 2 matters: a plain `reshape(B, h, T, d_k)` gives tensors of the
# right shape that mix different positions into one head.
#
# > **LLM/Transformer context.** LLaMA-2 70B has 64 query heads of size 128. Grouped-query
# > attention (GQA) lets several query heads share one key/value head to shrink the KV
# > cache; the splitting and merging is the same as here.
#
# **Task 3.** Implement `MultiHeadAttention`. Keep the last attention weights in
# `self.attn` (B, h, T_q, T_k): the plots below use them. About 20 lines.

# %% [solution] solutions.transformer_block: MultiHeadAttention

# %% [test] test_multi_head_attention

# %% [test] test_multi_head_attention_cross_and_padding

# %% [markdown]
# The attention weights of a small example: five tokens attending to each other, without
# and with the look-ahead mask. With the mask, every row only spreads its weight over the
# positions up to its own: the upper triangle is exactly zero.

# %% [demo]
torch.manual_seed(7)
attention = MultiHeadAttention(d_model=16, n_heads=2)
x = torch.randn(1, 5, 16)
with torch.no_grad():
    attention(x, x, x)
    unmasked = attention.attn[0, 0]
    attention(x, x, x, make_causal_mask(5))
    masked = attention.attn[0, 0]
figure, axes = plt.subplots(1, 2, figsize=(8, 3.5))
for axis, weights, title in [(axes[0], unmasked, "no mask"), (axes[1], masked, "look-ahead")]:
    image = axis.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    axis.set(title=f"head 0, {title}", xlabel="key position", ylabel="query position")
figure.colorbar(image, ax=axes)
plt.show()

# %% [markdown]
# ## 4. The position-wise feed-forward network
#
# After attention has mixed information *across* positions, a two-layer network
# transforms each position *on its own*, with the same weights everywhere:
# $\operatorname{FFN}(x) = W_2\,\operatorname{ReLU}(W_1 x + b_1) + b_2$, usually with
# `d_ff = 4 * d_model`.
#
# > **LLM/Transformer context.** About two thirds of an LLM's parameters sit in these
# > layers. Modern models swap ReLU for gated units (SwiGLU in LLaMA), and mixture-of-experts
# > models keep many FFNs and route each token to a few of them.
#
# **Task 4.** Implement `PositionwiseFeedForward`: `linear2(dropout(relu(linear1(x))))`.
# About 5 lines.

# %% [solution] solutions.transformer_block: PositionwiseFeedForward

# %% [test] test_feed_forward

# %% [markdown]
# ## 5. LayerNorm, residuals and the encoder block
#
# Each sublayer (attention, feed-forward) is wrapped the same way:
#
# $$x \leftarrow \operatorname{LayerNorm}\big(x + \operatorname{Dropout}(\operatorname{Sublayer}(x))\big)$$
#
# - the **residual** `x + ...` gives gradients a direct path through a deep stack, and
#   lets a sublayer learn a correction rather than a whole new representation;
# - **LayerNorm** rescales each position's vector to zero mean and unit variance, then
#   applies a learned scale and shift, keeping activations in range layer after layer.
#
# This is **post-norm**, the paper's order and `nn.TransformerEncoderLayer`'s default
# (`norm_first=False`). Use `nn.LayerNorm(d_model)` as it is (eps 1e-5).
#
# > **LLM/Transformer context.** GPT-2 onwards moved to **pre-norm**,
# > `x + Sublayer(LayerNorm(x))`, which trains deep stacks more stably without warm-up;
# > LLaMA also swaps LayerNorm for RMSNorm. The checks here expect post-norm: the hidden
# > tests tell the two apart.
#
# **Task 5.** Implement `EncoderBlock`: self-attention, then feed-forward, each wrapped as
# above, in the submodules `self_attn`, `ffn`, `norm1` and `norm2`. About 12 lines.

# %% [solution] solutions.transformer_block: EncoderBlock

# %% [test] test_encoder_block

# %% [test] test_encoder_block_random_sizes

# %% [markdown]
# ## 6. The decoder block and cross-attention
#
# The decoder block has three sublayers, each wrapped the same way:
#
# 1. **masked self-attention** over the target, with the target mask (no peeking ahead);
# 2. **cross-attention**: queries from the decoder, keys and values from the encoder's
#    output (`memory`), with the source's padding mask: this is where the output sentence
#    looks at the input sentence;
# 3. the position-wise feed-forward network.
#
# > **LLM/Transformer context.** Decoder-only LLMs drop cross-attention entirely; it lives on
# > in encoder-decoder models (T5, Whisper's speech-to-text, translation systems), and in
# > multimodal models where text attends to image features.
#
# **Task 6.** Implement `DecoderBlock`, in the submodules `self_attn`, `cross_attn`, `ffn`,
# `norm1`, `norm2` and `norm3`. About 15 lines.

# %% [solution] solutions.transformer_block: DecoderBlock

# %% [test] test_decoder_block

# %% [test] test_decoder_block_random_sizes

# %% [test] test_gradients_reach_every_parameter

# %% [test] test_dropout_in_training_mode

# %% [markdown]
# ## Summary
#
# - Attention is `softmax(Q Kᵀ / √d_k) V`, masked before the softmax.
# - Masks keep attention off padding and off the future; the target mask is both.
# - Multi-head attention splits `d_model` into `h` heads (view, **transpose**), attends in
#   each, and merges them back.
# - Each sublayer is wrapped as `norm(x + dropout(sublayer(x)))` (post-norm).
# - The encoder block is self-attention + FFN; the decoder block adds masked
#   self-attention and cross-attention to the encoder's memory.
#
# **Next, sprint 15**: stack these blocks into an `Encoder` and a `Decoder`, add token
# embeddings and positional encodings, and train the whole encoder-decoder on a toy task.
