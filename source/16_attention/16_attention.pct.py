# %% [markdown]
# # Notebook 16: Encoder-Decoder with Attention
#
# Notebook 15 ended on a plot: the encoder-decoder reverses short sequences perfectly and
# long ones hardly ever. The decoder sees the input only through one fixed-size context
# vector. **Attention** (Bahdanau, Cho and Bengio, 2015) removes that bottleneck: the
# encoder keeps the state of every step, and before each output token the decoder looks
# back at all of them, weighting each by how useful it is right now.
#
# You will build, in NumPy and for the three cells of notebook 15:
#
# 1. an encoder that keeps every state;
# 2. dot-product attention and additive (Bahdanau) attention;
# 3. a decoder that attends before each step.
#
# **Shapes.** `T_in` encoder steps, `T_out` decoder steps, `D` input size, `H` hidden size,
# `V` vocabulary size, `A` attention size, `G` gates per cell (1 rnn, 4 lstm, 3 gru).
# Compute in float64, NumPy's default, as in notebook 15 (the checks' tolerance is 1e-6).
#
# **How to work.** Fill in each cell marked `# TODO`, then run the check cells under it.
# Hidden tests run when you hand in: other sizes and cell types.

# %%
import numpy as np

# %% [markdown]
# Notebook 15's cell, given here so that this notebook stands on its own:

# %% [given] solutions.seq2seq: sigmoid, hidden_of, cell_step

# %% [markdown]
# ## 1. The bottleneck, measured
#
# Two models learn to reverse digit sequences of 2 to 12 digits, with the same data, the
# same training steps and the same GRU cells. The only difference: the second decoder
# attends to every encoder state before each step (the model you are about to build). We
# train them in PyTorch, then measure the share of held-out sequences reversed exactly, by
# length. (About 45 seconds; the autograder skips this cell.)

# %% [demo]
import matplotlib.pyplot as plt
import torch
from torch import nn

torch.set_num_threads(1)  # models this small train fastest on one core
torch.manual_seed(0)
DIGITS, BOS, EOS = 10, 10, 11  # tokens 0-9 are digits
V, D, H, A = 12, 16, 48, 32
LENGTHS = range(2, 13)


def random_batch(batch_size, length):
    """Source (B, L), decoder inputs [BOS, reversed] (B, L+1), targets [reversed, EOS]."""
    src = torch.randint(0, DIGITS, (batch_size, length))
    reversed_src = src.flip(1)
    bos, eos = torch.full((batch_size, 1), BOS), torch.full((batch_size, 1), EOS)
    return src, torch.cat([bos, reversed_src], 1), torch.cat([reversed_src, eos], 1)


class Seq2Seq(nn.Module):
    """A GRU encoder-decoder; with `attention`, the decoder attends as in this notebook."""

    def __init__(self, attention):
        super().__init__()
        self.attention = attention
        self.embedding = nn.Embedding(V, D)
        self.encoder = nn.GRU(D, H, batch_first=True)
        self.decoder = nn.GRUCell(D + H if attention else D, H)
        self.out = nn.Linear(H, V)
        if attention:  # additive attention's parameters, as in the contract
            self.W_q = nn.Parameter(torch.randn(A, H) / H**0.5)
            self.W_k = nn.Parameter(torch.randn(A, H) / H**0.5)
            self.v = nn.Parameter(torch.randn(A) / A**0.5)

    def step(self, y, h, encoder_hidden):
        """One decoder step for a batch: y (B, D), h (B, H) -> new h, logits (B, V)."""
        if self.attention:
            features = torch.tanh((h @ self.W_q.T)[:, None] + encoder_hidden @ self.W_k.T)
            weights = (features @ self.v).softmax(-1)  # (B, T_in)
            context = (weights[:, :, None] * encoder_hidden).sum(1)  # (B, H)
            y = torch.cat([y, context], -1)
        h = self.decoder(y, h)
        return h, self.out(h)

    def forward(self, src, tgt_in):
        encoder_hidden, h = self.encoder(self.embedding(src))  # (B, T_in, H), (1, B, H)
        h, logits = h[0], []
        for y in self.embedding(tgt_in).unbind(1):
            h, step_logits = self.step(y, h, encoder_hidden)
            logits.append(step_logits)
        return torch.stack(logits, 1)  # (B, T_out, V)

    @torch.no_grad()
    def greedy(self, src, steps):
        encoder_hidden, h = self.encoder(self.embedding(src))
        h, token, tokens = h[0], torch.full((src.size(0),), BOS), []
        for _ in range(steps):
            h, logits = self.step(self.embedding(token), h, encoder_hidden)
            token = logits.argmax(-1)
            tokens.append(token)
        return torch.stack(tokens, 1)


def train(model, steps=1800):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        src, tgt_in, tgt_out = random_batch(64, int(torch.randint(2, 13, ())))
        loss = nn.functional.cross_entropy(model(src, tgt_in).reshape(-1, V), tgt_out.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return model


def accuracy(model, length, n=200):
    src, _, tgt_out = random_batch(n, length)
    return (model.greedy(src, length + 1) == tgt_out).all(1).float().mean().item()


models = {"no attention": train(Seq2Seq(False)), "attention": train(Seq2Seq(True))}
for name, model in models.items():
    scores = [accuracy(model, length) for length in LENGTHS]
    print(f"{name:>12}: " + " ".join(f"{s:.2f}" for s in scores))
    plt.plot(list(LENGTHS), scores, "o-", label=name)
plt.xlabel("sequence length")
plt.ylabel("exact-sequence accuracy")
plt.title("Reversal, same training: one context vector vs. attention")
plt.ylim(-0.05, 1.05)
plt.legend()
plt.show()

# %% [markdown]
# Without attention the accuracy collapses as sequences grow; with attention it stays high.
# The rest of this notebook builds the attention model's parts, and at the end runs *your*
# NumPy code with the trained weights to see what the decoder looks at.
#
# ## 2. Keep every encoder state
#
# The first change is small: instead of only the final state, the encoder returns the
# hidden vector `h` of every step, stacked into `H_all` (T_in, H). These are the keys and
# values that the decoder will attend to.
#
# > **LLM/Transformer context.** An LLM's KV cache is exactly this: the keys and values of
# > every token seen so far, kept so that each new token can attend to all of them.
#
# **Task 1.** Implement `encoder_states`, reusing notebook 15's `cell_step`. About 7 lines.

# %% [solution] solutions.attention: encoder_states

# %% [test] test_encoder_states

# %% [test] test_encoder_states_all_cells

# %% [markdown]
# ## 3. Dot-product attention
#
# Attention turns a **query** (what the decoder is looking for) and a sequence of **keys**
# (what each encoder step offers) into weights, and returns the weighted average of the
# **values**:
#
# $$s_j = \frac{k_j \cdot q}{\sqrt{d}}, \qquad a = \operatorname{softmax}(s), \qquad
#   \text{context} = \sum_j a_j v_j$$
#
# The weights are positive and sum to 1. Dividing by $\sqrt{d}$ keeps the scores' spread
# independent of the vector size, so the softmax does not saturate.
#
# > **LLM/Transformer context.** This is the Transformer's attention for a single query;
# > the Transformer runs it for every position at once, in matrix form, in many heads
# > (sprint 07).
#
# A stable softmax is given:

# %% [given] solutions.attention: softmax

# %% [markdown]
# **Task 2.** Implement `dot_product_attention`. About 3 lines.

# %% [solution] solutions.attention: dot_product_attention

# %% [test] test_dot_product_attention

# %% [test] test_dot_product_attention_sizes

# %% [markdown]
# ## 4. Additive (Bahdanau) attention
#
# Bahdanau's original attention scores with a small feed-forward network instead of a dot
# product, which also works when the query and keys have different sizes:
#
# $$s_j = v^\top \tanh(W_q\, q + W_k\, k_j)$$
#
# with `W_q` (A, Hq), `W_k` (A, Hk) and `v` (A,). Tip: `keys @ W_k.T` computes
# `W_k @ k_j` for every row at once, (T, A).
#
# > **LLM/Transformer context.** Additive attention came first; dot-product attention won
# > because it is one matrix product, which GPUs do fastest.
#
# **Task 3.** Implement `additive_attention`. About 4 lines.

# %% [solution] solutions.attention: additive_attention

# %% [test] test_additive_attention

# %% [test] test_additive_attention_sizes

# %% [markdown]
# ## 5. The decoder that attends
#
# At each step t, in Bahdanau's order:
#
# 1. the query is `h` of the **previous** state (the decoder asks before it moves);
# 2. `(ctx, a_t) = attention(q, encoder_hidden, encoder_hidden)`;
# 3. the cell reads the input and the context together:
#    `state = cell_step(concat(Y_seq[t], ctx), state, ...)`, so its `W_ih` is (G·H, D + H);
# 4. `logits_t = W_out @ h_t + b_out`.
#
# Return the logits (T_out, V) and the attention weights of every step (T_out, T_in).
# `attention` is `'additive'` (parameters in `decoder_params['attn']`) or `'dot'`; anything
# else raises `ValueError`.
#
# > **LLM/Transformer context.** The decoder's cross-attention in the Transformer is this
# > step with the recurrence taken out: the decoder's queries attend to the encoder's
# > outputs, for all target positions at once.
#
# **Task 4.** Implement `attention_decoder_forward`. About 15 lines.

# %% [solution] solutions.attention: attention_decoder_forward

# %% [test] test_attention_decoder_forward

# %% [test] test_attention_decoder_all_cells

# %% [test] test_attention_decoder_rejects_unknown_attention

# %% [markdown]
# ## 6. What the decoder looks at
#
# Copy the trained attention model's weights into the contract's dicts (the layouts are
# PyTorch's) and run **your** `encoder_states` and `attention_decoder_forward` on one
# sequence with teacher forcing. To write the reversed sequence, output step t needs the
# digit at input position T_in - 1 - t: the weights should light up the **anti-diagonal**.

# %% [demo]
def numpy_params(cell, **extra):
    names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
    suffix = "_l0" if isinstance(cell, nn.GRU) else ""
    params = {key: getattr(cell, name + suffix) for key, name in names.items()}
    params.update(extra)
    return {key: value.detach().double().numpy() for key, value in params.items()}


model = models["attention"]
embedding = model.embedding.weight.detach().double().numpy()  # (V, D)
encoder_params = numpy_params(model.encoder)
decoder_params = numpy_params(model.decoder, W_out=model.out.weight, b_out=model.out.bias)
decoder_params["attn"] = {
    "W_q": model.W_q.detach().double().numpy(),
    "W_k": model.W_k.detach().double().numpy(),
    "v": model.v.detach().double().numpy(),
}

source = np.array([2, 7, 1, 8, 2, 8, 1, 8, 2, 8])
decoder_inputs = np.concatenate([[BOS], source[::-1]])
H_all, final_state = encoder_states(embedding[source], np.zeros(H), encoder_params, "gru")
logits, weights = attention_decoder_forward(
    H_all, final_state, embedding[decoder_inputs], decoder_params, "gru", "additive"
)
print("source   ", source.tolist())
print("predicted", logits.argmax(axis=1).tolist(), f"(EOS = {EOS})")

plt.imshow(weights, cmap="viridis")
plt.xticks(range(len(source)), source)
plt.yticks(range(len(decoder_inputs)), [f"step {t}" for t in range(len(decoder_inputs))])
plt.xlabel("encoder position (source digit)")
plt.ylabel("decoder step")
plt.title("Attention weights while reversing")
plt.colorbar()
plt.show()

# %% [markdown]
# Look closely: the bright cells often sit one column to the right of the exact
# anti-diagonal. The encoder is a recurrent network that reads left to right, so the state
# one step *after* a digit still remembers it, and the model is free to read the digit
# there. Attention weights show where the model looks, not always where a person would.
#
# ## Summary, and the road to the Transformer
#
# - The encoder keeps every state; the decoder attends to them before each step, so
#   nothing has to squeeze through one vector.
# - Attention is a softmax over scores, dot-product or additive, and a weighted average.
# - The weights can be read: for reversal, (close to) the anti-diagonal.
#
# **Next: self-attention and the Transformer.** Here the queries come from the decoder
# and the keys and values from the encoder. Let every position of a sequence be a query
# over the same sequence (**self-attention**), compute all positions at once instead of
# step by step, run several attentions side by side (heads), and the recurrence is no
# longer needed at all: that is the Transformer block of sprint 07, which the last
# notebook of this sprint assembles into a full encoder-decoder.
