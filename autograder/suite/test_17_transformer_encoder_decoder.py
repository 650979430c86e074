"""Graded tests of sprint 15's Transformer encoder-decoder (PyTorch).

The oracle is `torch.nn.Transformer` (batch-first, post-norm, dropout 0) with its weights
copied into the learner's model, and the sinusoid formula for the positional encoding.
greedy_decode runs on a model of the grader's own (`probes.stand_in_transformer`), so a
mistake in the learner's EncoderDecoder costs the EncoderDecoder tests only. Wrong answers
are matched against the classic mistakes to name them in the hint.
"""

import math

import numpy as np
import torch

from autograder.compare import assert_close, assert_equal, describe, fail, matches, matching_variant
from autograder.probes import plain_transformer, stand_in_transformer
from autograder.registry import graded
from autograder.suite import transformer_oracle as oracle
from autograder.suite.transformer_oracle import TOLERANCE

SOLUTIONS = "solutions.transformer"


def sinusoids(max_len, d_model, swapped=False):
    """PE (max_len, d_model): sin on even dimensions, cos on odd (or the other way)."""
    position = np.arange(max_len)[:, None]  # (max_len, 1)
    angle = position / 10000 ** (np.arange(0, d_model, 2) / d_model)  # (max_len, d/2)
    first, second = (np.cos, np.sin) if swapped else (np.sin, np.cos)
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2], pe[:, 1::2] = first(angle), second(angle[:, : d_model // 2])
    return pe


def check_positional_encoding(sub, d_model, max_len, seed):
    x = np.random.default_rng(seed).normal(0, 1, (2, min(7, max_len), d_model))
    report = sub.probe(
        "module_forward", "PositionalEncoding", (d_model, max_len), None, (x,), attributes=["pe"]
    )
    case = f"d_model={d_model}, max_len={max_len}"
    expected = sinusoids(max_len, d_model)
    hint = "PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(same)"
    swapped = sinusoids(max_len, d_model, swapped=True)[None]
    if matches(report["attributes"]["pe"], swapped, **TOLERANCE):
        hint = "sin and cos are swapped: sin goes on the even dimensions, cos on the odd"
    assert_close(
        report["attributes"]["pe"],
        expected[None],
        "PositionalEncoding.pe",
        case,
        hint=hint,
        **TOLERANCE,
    )
    assert_close(
        report["output"],
        x + expected[None, : x.shape[1]],
        "PositionalEncoding(x)",
        case,
        hint="forward returns x + pe[:, :T]",
        **TOLERANCE,
    )


@graded(points=2, visible=True)
def test_positional_encoding(sub):
    """Check that PositionalEncoding's buffer pe is the sinusoid table and forward adds it."""
    check_positional_encoding(sub, d_model=8, max_len=20, seed=0)


@graded(points=1)
def test_positional_encoding_sizes(sub):
    """Check PositionalEncoding for other sizes (d_model 2 to 32, max_len 1 to 100)."""
    for d_model, max_len in [(2, 1), (6, 100), (32, 9)]:
        check_positional_encoding(sub, d_model, max_len, seed=d_model)


def torch_transformer(d_model, n_heads, num_layers, d_ff, seed):
    torch.manual_seed(seed)
    model = plain_transformer(d_model, n_heads, num_layers, d_ff)
    return oracle.randomise_norms(model.double().eval(), torch.Generator().manual_seed(seed))


def stack_state(stack, prefix=""):
    """A torch TransformerEncoder/Decoder's weights under the contract's names."""
    state = {}
    for index, layer in enumerate(stack.layers):
        for key, value in oracle.layer_state(layer).items():
            state[f"{prefix}layers.{index}.{key}"] = value
    state[f"{prefix}norm.weight"], state[f"{prefix}norm.bias"] = stack.norm.weight, stack.norm.bias
    return state


def t(array):
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def check_encoder(sub, B, S, d_model, n_heads, num_layers, seed):
    rng = np.random.default_rng(seed)
    reference = torch_transformer(d_model, n_heads, num_layers, 2 * d_model, seed).encoder
    tokens, x = oracle.padded_tokens(rng, B, S), rng.normal(0, 1, (B, S, d_model))
    mask = (tokens != 0)[:, None, None, :]
    init = (num_layers, d_model, n_heads, 2 * d_model, 0.0)
    state = oracle.numpy_state(stack_state(reference))
    report = sub.probe("module_forward", "Encoder", init, state, (x, mask))
    with torch.no_grad():
        padding = oracle.key_padding(tokens)
        expected = reference(t(x), src_key_padding_mask=padding).numpy()
        unnormed = t(x)
        for layer in reference.layers:
            unnormed = layer(unnormed, src_key_padding_mask=padding)
    real = tokens != 0
    hint = "run every layer in turn, then the final LayerNorm self.norm"
    if matches(np.asarray(report["output"])[real], unnormed.numpy()[real], **TOLERANCE):
        hint = "apply the final LayerNorm (self.norm) after the last layer"
    case = f"B={B}, S={S}, d_model={d_model}, heads={n_heads}, layers={num_layers}, padding"
    assert_close(
        np.asarray(report["output"])[real], expected[real], "Encoder", case, hint=hint, **TOLERANCE
    )


def check_decoder(sub, B, S, T, d_model, n_heads, num_layers, seed):
    rng = np.random.default_rng(seed)
    reference = torch_transformer(d_model, n_heads, num_layers, 2 * d_model, seed).decoder
    src_tokens = oracle.padded_tokens(rng, B, S)
    x, memory = rng.normal(0, 1, (B, T, d_model)), rng.normal(0, 1, (B, S, d_model))
    src_mask = (src_tokens != 0)[:, None, None, :]
    tgt_mask = np.tril(np.ones((T, T), dtype=bool))[None, None]
    init = (num_layers, d_model, n_heads, 2 * d_model, 0.0)
    state = oracle.numpy_state(stack_state(reference))
    report = sub.probe("module_forward", "Decoder", init, state, (x, memory, src_mask, tgt_mask))
    with torch.no_grad():
        expected = reference(
            t(x),
            t(memory),
            tgt_mask=oracle.causal(T),
            memory_key_padding_mask=oracle.key_padding(src_tokens),
        )
    case = f"B={B}, S={S}, T={T}, d_model={d_model}, heads={n_heads}, layers={num_layers}"
    hint = (
        "every layer gets the same memory (the encoder output) and both masks; "
        "then the final LayerNorm self.norm"
    )
    assert_close(report["output"], expected, "Decoder", case, hint=hint, **TOLERANCE)


@graded(points=3, visible=True)
def test_encoder_stack(sub):
    """Check that Encoder matches nn.TransformerEncoder (final norm included) with padding."""
    check_encoder(sub, B=2, S=5, d_model=8, n_heads=2, num_layers=2, seed=10)


@graded(points=3, visible=True)
def test_decoder_stack(sub):
    """Check that Decoder matches nn.TransformerDecoder with causal and padding masks."""
    check_decoder(sub, B=2, S=5, T=4, d_model=8, n_heads=2, num_layers=2, seed=20)


@graded(points=3)
def test_stacks_random_sizes(sub):
    """Check Encoder and Decoder for 1 to 3 layers and other sizes, T = 1 included."""
    rng = np.random.default_rng(30)
    for num_layers, S, T in [(1, 1, 1), (3, 6, 2), (2, 3, 7)]:
        check_encoder(sub, 3, S, 12, 3, num_layers, int(rng.integers(1 << 30)))
        check_decoder(sub, 3, S, T, 12, 3, num_layers, int(rng.integers(1 << 30)))


def model_case(seed, vocab=11, d_model=8, n_heads=2, num_layers=2, B=3, S=6, T=5):
    """A random model, its weights under the contract's names, and a padded batch."""
    rng = np.random.default_rng(seed)
    reference = torch_transformer(d_model, n_heads, num_layers, 2 * d_model, seed)
    state = stack_state(reference.encoder, "encoder.") | stack_state(reference.decoder, "decoder.")
    state = oracle.numpy_state(state)
    state["src_embed.weight"] = rng.normal(0, 0.3, (vocab, d_model))
    state["tgt_embed.weight"] = rng.normal(0, 0.3, (vocab + 2, d_model))
    state["generator.weight"] = rng.normal(0, 0.3, (vocab + 2, d_model))
    state["generator.bias"] = rng.normal(0, 0.3, vocab + 2)
    state["pos_encoding.pe"] = sinusoids(50, d_model)[None]
    src, tgt = oracle.padded_tokens(rng, B, S), oracle.padded_tokens(rng, B, T)
    tgt[:, 0] = 1  # every target starts with a start token
    init = (vocab, vocab + 2, d_model, n_heads, num_layers, 2 * d_model, 0.0, 50)
    return reference, state, init, src, tgt


def oracle_forward(reference, state, src, tgt, scale=True, memory_from_embeddings=False):
    """Logits of nn.Transformer on the contract's embeddings, and of classic mistakes."""
    d_model = state["pos_encoding.pe"].shape[-1]
    factor = math.sqrt(d_model) if scale else 1.0

    def embed(table, tokens):
        return t(state[table][tokens] * factor + state["pos_encoding.pe"][0, : tokens.shape[1]])

    source, target = embed("src_embed.weight", src), embed("tgt_embed.weight", tgt)
    with torch.no_grad():
        padding = oracle.key_padding(src)
        memory = reference.encoder(source, src_key_padding_mask=padding)
        if memory_from_embeddings:
            memory = source
        hidden = reference.decoder(
            target,
            memory,
            tgt_mask=oracle.causal(tgt.shape[1]),
            tgt_key_padding_mask=oracle.key_padding(tgt),
            memory_key_padding_mask=padding,
        )
    return hidden.numpy() @ state["generator.weight"].T + state["generator.bias"]


def check_model(sub, seed, **sizes):
    reference, state, init, src, tgt = model_case(seed, **sizes)
    src_mask = (src != 0)[:, None, None, :]
    tgt_mask = (tgt != 0)[:, None, None, :] & np.tril(np.ones((tgt.shape[1],) * 2, dtype=bool))
    report = sub.probe(
        "module_forward", "EncoderDecoder", init, state, (src, tgt, src_mask, tgt_mask)
    )
    expected = oracle_forward(reference, state, src, tgt)
    unscaled = oracle_forward(reference, state, src, tgt, scale=False)
    wrong_memory = oracle_forward(reference, state, src, tgt, memory_from_embeddings=True)
    mistakes = {
        "scale the embeddings by sqrt(d_model) before adding the positional encoding": unscaled,
        "the decoder's cross-attention must read memory = encode(src), the encoder's output, "
        "not the source embeddings": wrong_memory,
    }
    real = tgt != 0
    variants = {hint: value[real] for hint, value in mistakes.items()}
    hint = matching_variant(np.asarray(report["output"])[real], variants, **TOLERANCE) or (
        "forward = generator(decode(encode(src, src_mask), src_mask, tgt, tgt_mask))"
    )
    case = f"seed={seed}, B={src.shape[0]}, S={src.shape[1]}, T={tgt.shape[1]}, padding"
    assert_close(
        np.asarray(report["output"])[real],
        expected[real],
        "EncoderDecoder logits",
        case,
        hint=hint,
        **TOLERANCE,
    )


@graded(points=3, visible=True)
def test_model_matches_torch_transformer(sub):
    """Check EncoderDecoder's logits against nn.Transformer with the same weights."""
    check_model(sub, seed=40)


@graded(points=3)
def test_model_random_sizes(sub):
    """Check EncoderDecoder on other sizes: 1 and 3 layers, short and long sequences."""
    check_model(sub, seed=41, num_layers=1, S=1, T=2)
    check_model(sub, seed=42, num_layers=3, d_model=12, n_heads=3, S=9, T=7)


GREEDY_MISTAKES = [  # (the switches of stand_in_greedy that recompute a mistake, its hint)
    (
        {"causal": False},
        "decode with a causal target mask (make_causal_mask of the current length): without "
        "it the earlier positions see the later ones, which they never did in training",
    ),
    (
        {"src_padding": False},
        "pass src_mask to encode and to decode: without it, attention reads the source's padding",
    ),
    (
        {"position": 0},
        "take the argmax of the generator's output at the last position, hidden[:, -1]: "
        "that position predicts the next token",
    ),
]


def stand_in_greedy(model, src, max_len, start, causal=True, src_padding=True, position=-1):
    """Greedy decoding through the stand-in's nn.Transformer with torch's own masks
    (True where attention is not allowed); the switches recompute the classic mistakes.

    Returns the tokens (B, max_len) and the smallest gap, over every step and sequence,
    between the best logit and the second best.
    """
    padding = oracle.key_padding(src) if src_padding else None
    ys = torch.full((src.shape[0], 1), start)  # (B, 1)
    gaps = [math.inf]
    with torch.no_grad():
        source = model.embed(model.src_embed, torch.from_numpy(src))  # (B, S, d_model)
        memory = model.transformer.encoder(source, src_key_padding_mask=padding)
        for _ in range(max_len - 1):
            hidden = model.transformer.decoder(
                model.embed(model.tgt_embed, ys),
                memory,
                tgt_mask=oracle.causal(ys.shape[1]) if causal else None,
                memory_key_padding_mask=padding,
            )  # (B, t, d_model)
            logits = model.generator(hidden[:, position])  # (B, V)
            best, second = logits.topk(2, dim=-1).values.T
            gaps.append(float((best - second).min()))
            ys = torch.cat([ys, logits.argmax(dim=-1)[:, None]], dim=1)  # (B, t + 1)
    return ys.numpy(), min(gaps)


def check_greedy(sub, seed, sizes, B, S, max_len, start):
    """greedy_decode on the stand-in of `sizes` (vocab_size, d_model, n_heads, num_layers)
    against stand_in_greedy, for B padded sources of length S."""
    model = stand_in_transformer(**sizes, seed=seed)
    src = oracle.padded_tokens(np.random.default_rng(seed), B, S)
    expected, gap = stand_in_greedy(model, src, max_len, start)
    # A case worth grading: every source its own output, and no near-tie in any argmax.
    assert max_len == 1 or len({tuple(row) for row in expected}) == B, "rows repeat"
    assert gap > 1e-4, f"a near-tie ({gap:.1e}) could go either way"
    variants = {
        hint: stand_in_greedy(model, src, max_len, start, **switches)[0]
        for switches, hint in GREEDY_MISTAKES
    }
    src_mask = (src != 0)[:, None, None, :]
    report = sub.probe(
        "call_on_stand_in", "greedy_decode", sizes, seed, (src, src_mask, max_len, start)
    )
    case = f"seed={seed}, B={B}, S={S} with padding, max_len={max_len}, start_symbol={start}"
    weights = oracle.numpy_state(model.state_dict())
    built = report["weights"]
    if built.keys() != weights.keys() or not all(
        np.array_equal(built[name], value) for name, value in weights.items()
    ):
        fail(
            "greedy_decode",
            case,
            "the grader's model came out with other weights in your notebook's process",
            hint="leave torch's random numbers and nn.init as they are while grading",
        )
    actual = report["output"]
    if not isinstance(actual, np.ndarray) or actual.dtype != np.int64:
        problem = f"expected a LongTensor, got {describe(actual)}"
        fail("greedy_decode", case, problem, hint="keep the tokens in a torch.long tensor")
    hint = matching_variant(actual, variants) or (
        "start from [[start_symbol]]; each step decode with a causal target mask, "
        "take the argmax of the generator's last position and append it"
    )
    if actual.shape != expected.shape:
        hint = "return every token, the start symbol first: (B, max_len)"
    assert_equal(actual, expected, "greedy_decode tokens", case, hint=hint)


@graded(points=3, visible=True)
def test_greedy_decode_transformer(sub):
    """Check that greedy_decode appends the argmax token step by step, from start_symbol."""
    sizes = dict(vocab_size=13, d_model=16, n_heads=2, num_layers=2)
    check_greedy(sub, seed=52, sizes=sizes, B=6, S=7, max_len=7, start=1)


@graded(points=2)
def test_greedy_decode_other_sizes(sub):
    """Check greedy_decode on other sizes and start symbols, max_len = 1 included."""
    for seed, sizes, B, S, max_len, start in [
        (62, dict(vocab_size=17, d_model=12, n_heads=3, num_layers=3), 5, 8, 9, 2),
        (70, dict(vocab_size=11, d_model=8, n_heads=4, num_layers=2), 2, 5, 4, 3),
        (80, dict(vocab_size=13, d_model=8, n_heads=2, num_layers=1), 3, 4, 1, 1),
    ]:
        check_greedy(sub, seed, sizes, B, S, max_len, start)
