"""Probes: the small pieces of grader code that run beside learner code.

A probe looks up learner functions or classes by name, calls them on the inputs a test
chose, and returns what came out as plain data. It never judges: expected values,
tolerances and scores live in the grader's process (`autograder.suite`). The same probe
runs in a notebook, on the reference solutions under pytest, and in the sandboxed
learner process, so every check behaves the same in all three places.
"""

import os
import sysconfig
import traceback
from pathlib import Path

import autograder
from autograder.errors import BadReturn, MissingName, NotAttempted, RaisedException, capped
from autograder.plain import NotPlain, decode, encode, to_plain

MAX_TRACEBACK_FRAMES = 6
# Where the grader's and the libraries' files are; frames from them are not the learner's.
# In the sandbox the grader's modules have no folder (their files are "<grader:...>").
GRADER_FOLDERS = tuple(os.path.join(folder, "") for folder in autograder.__path__)
LIBRARY_FOLDERS = tuple(
    os.path.join(sysconfig.get_paths()[name], "")
    for name in ("stdlib", "platstdlib", "purelib", "platlib")
)


def learner(namespace, name):
    """The learner's object called `name`, or MissingName."""
    if name not in namespace:
        raise MissingName(
            f"`{name}` is not defined. Keep the name and signature of the stub, "
            "and run the cell that defines it."
        )
    return namespace[name]


def to_torch(value):
    """Arrays become tensors: floats as float32, integers as int64, booleans as bool."""
    import numpy as np
    import torch

    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return torch.tensor(value, dtype=torch.float32)
        if value.dtype.kind == "b":
            return torch.tensor(value, dtype=torch.bool)
        return torch.tensor(value, dtype=torch.int64)
    if isinstance(value, (tuple, list)):
        return type(value)(to_torch(item) for item in value)
    if isinstance(value, dict):
        return {key: to_torch(item) for key, item in value.items()}
    return value


def call(namespace, name, *args, **kwargs):
    """Call the learner's function `name` on NumPy inputs."""
    return learner(namespace, name)(*args, **kwargs)


def call_torch(namespace, name, *args, **kwargs):
    """Call the learner's function `name` with every array turned into a tensor."""
    return learner(namespace, name)(*to_torch(args), **to_torch(kwargs))


def build_module(namespace, class_name, init_args=(), state_dict=None, seed=0):
    """Construct the learner's nn.Module and load `state_dict` (name -> array) into it.

    Parameters must match the contract's names exactly. Buffers are loaded where the
    module has them, persistent or not (a sinusoid table may be either), and a module may
    hold buffers of its own that the contract does not name (a stored mask, a constant).
    """
    import torch

    torch.manual_seed(seed)
    module = learner(namespace, class_name)(*init_args)
    if state_dict is None:
        return module
    parameters, buffers = dict(module.named_parameters()), dict(module.named_buffers())
    missing = sorted(set(parameters) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(parameters) - set(buffers))
    if missing or unexpected:
        raise BadReturn(
            f"{class_name}'s parameter names differ from the contract's: "
            f"missing {missing}, unexpected {unexpected}. "
            "Name the submodules exactly as the stub's docstring says."
        )
    with torch.no_grad():
        for name, value in state_dict.items():
            target = parameters.get(name, buffers.get(name))
            if tuple(target.shape) != value.shape:
                raise BadReturn(
                    f"{class_name}.{name} has shape {tuple(target.shape)}; "
                    f"the contract's is {value.shape}."
                )
            target.copy_(to_torch(value))
    return module


def parameter_shapes(namespace, class_name, init_args=()):
    """Name -> shape of every parameter and buffer of a freshly built learner module."""
    module = build_module(namespace, class_name, init_args)
    return {key: list(value.shape) for key, value in module.state_dict().items()}


def module_forward(
    namespace,
    class_name,
    init_args=(),
    state_dict=None,
    inputs=(),
    method="forward",
    train=False,
    attributes=(),
    gradients=False,
    seed=0,
):
    """Build a learner module, call `method` on `inputs` and report what came out.

    Returns {"output": ..., "attributes": {name: value after the call},
    "gradients": {parameter name: its gradient, or None}}. The gradients are those of a
    fixed random projection of the output, not of its sum: a LayerNorm's outputs sum to a
    constant, so every gradient upstream of one would vanish.
    """
    import torch

    module = build_module(namespace, class_name, init_args, state_dict, seed)
    module.train(train)
    torch.manual_seed(seed)
    with torch.set_grad_enabled(gradients):
        output = getattr(module, method)(*to_torch(inputs))
        report = {"output": output, "attributes": {}, "gradients": {}}
        for name in attributes:
            report["attributes"][name] = getattr(module, name, None)
        if gradients:
            generator = torch.Generator().manual_seed(seed)
            projection = torch.randn(output.shape, generator=generator, dtype=output.dtype)
            (output * projection).sum().backward()
            for name, parameter in module.named_parameters():
                report["gradients"][name] = parameter.grad
    return report


def call_with_loss(namespace, name, *args, loss="negative_logit"):
    """Call the learner's `name` with a per-step loss function as its last argument.

    'negative_logit' is -logits[target], simple enough to check a sum by hand;
    'cross_entropy' is the learner's own `cross_entropy`.
    """
    if loss == "cross_entropy":
        loss_fn = learner(namespace, "cross_entropy")
    else:
        loss_fn = lambda logits, target: -float(logits[target])  # noqa: E731
    return learner(namespace, name)(*args, loss_fn)


def plain_transformer(d_model, n_heads, num_layers, d_ff, **factory):
    """torch.nn.Transformer, batch-first, dropout 0, that computes every position: in eval
    mode with padding, its encoder's nested-tensor fast path would leave pads at zero
    (and announce itself in warnings)."""
    import warnings

    from torch import nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = nn.Transformer(
            d_model, n_heads, num_layers, num_layers, d_ff, 0.0, batch_first=True, **factory
        )
    model.encoder.use_nested_tensor = False
    return model


def stand_in_transformer(vocab_size, d_model, n_heads, num_layers, seed, max_len=64):
    """The grader's own encoder-decoder, on which a learner's greedy_decode is graded.

    torch.nn.Transformer (batch-first, post-norm, d_ff = 2 d_model, dropout 0) between
    embeddings scaled by sqrt(d_model) plus sinusoidal positions, and a generator. It
    offers what the contract lets a greedy_decode use: `encode(src, src_mask)`,
    `decode(memory, src_mask, tgt, tgt_mask)`, `forward(src, tgt, src_mask, tgt_mask)`
    and `generator`, with the contract's masks (True where attention is allowed,
    broadcastable to (B, heads, T_q, T_k)). A mistake in the learner's EncoderDecoder
    thus costs the EncoderDecoder tests only.

    Built in float64 on the CPU right after torch.manual_seed(seed), it has the same
    weights in the grader's process and in the learner's. Its generator never picks
    token 0 (PAD), as a trained model would not, so a greedy_decode that masks the
    padding of its own output gets the same tokens as one that does not.
    """
    import math

    import torch
    from torch import nn

    factory = {"dtype": torch.float64, "device": "cpu"}

    class StandInTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_heads = n_heads
            self.transformer = plain_transformer(
                d_model, n_heads, num_layers, 2 * d_model, **factory
            )
            self.src_embed = nn.Embedding(vocab_size, d_model, **factory)
            self.tgt_embed = nn.Embedding(vocab_size, d_model, **factory)
            self.generator = nn.Linear(d_model, vocab_size, **factory)
            with torch.no_grad():
                self.generator.bias[0] = -1e4  # PAD is never the argmax
            position = torch.arange(max_len, **factory)[:, None]  # (max_len, 1)
            angle = position / 10000 ** (torch.arange(0, d_model, 2, **factory) / d_model)
            pe = torch.zeros(max_len, d_model, **factory)
            pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
            self.register_buffer("pe", pe)  # (max_len, d_model)

        def embed(self, table, tokens):
            """Token ids (B, T) -> table(tokens) * sqrt(d_model) + PE, (B, T, d_model)."""
            return table(tokens) * math.sqrt(d_model) + self.pe[: tokens.size(1)]

        def blocked(self, mask, B, T_q, T_k):
            """The contract's mask as nn.Transformer's attn_mask, True where attention is
            NOT allowed: one (T_q, T_k) matrix per sequence and head, (B * heads, T_q,
            T_k), so that every shape the contract allows is taken alike, per batch
            (B, 1, 1, S), (B, 1, T, T) or shared (1, 1, T, T), (T, T)."""
            if mask is None:
                return None
            allowed = mask.bool().expand(B, self.n_heads, T_q, T_k)  # 0/1 masks work too
            return ~allowed.reshape(B * self.n_heads, T_q, T_k)

        def encode(self, src, src_mask=None):
            """src (B, S) -> memory (B, S, d_model)."""
            B, S = src.shape
            x = self.embed(self.src_embed, src)
            return self.transformer.encoder(x, mask=self.blocked(src_mask, B, S, S))

        def decode(self, memory, src_mask, tgt, tgt_mask=None):
            """tgt (B, T), memory (B, S, d_model) -> (B, T, d_model)."""
            (B, T), S = tgt.shape, memory.size(1)
            return self.transformer.decoder(
                self.embed(self.tgt_embed, tgt),
                memory,
                tgt_mask=self.blocked(tgt_mask, B, T, T),
                memory_mask=self.blocked(src_mask, B, T, S),
            )

        def forward(self, src, tgt, src_mask=None, tgt_mask=None):
            """src (B, S), tgt (B, T) -> logits (B, T, V)."""
            memory = self.encode(src, src_mask)
            return self.generator(self.decode(memory, src_mask, tgt, tgt_mask))

    torch.manual_seed(seed)
    return StandInTransformer().eval()


def call_on_stand_in(namespace, name, sizes, seed, args=()):
    """Call the learner's function `name` with the grader's stand-in model (see
    `stand_in_transformer(**sizes, seed=seed)`) and `args`, as in greedy_decode(model,
    src, src_mask, max_len, start_symbol).

    Returns {"output": what it returned, "weights": the stand-in's state before the
    call}, so that the test can check it ran on the same weights as the grader's copy.
    """
    import torch

    model = stand_in_transformer(**sizes, seed=seed)
    weights = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        output = learner(namespace, name)(model, *to_torch(args))
    return {"output": output, "weights": weights}


PROBES = {
    probe.__name__: probe
    for probe in (
        call,
        call_torch,
        call_with_loss,
        call_on_stand_in,
        parameter_shapes,
        module_forward,
    )
}


def is_learner_file(filename):
    """Whether a traceback frame's file is the learner's: not the grader's (its package,
    or its modules as the sandbox loads them) and not a library's (the standard library,
    installed packages)."""
    if filename.startswith(("<grader", "<frozen")):
        return False
    parts = Path(filename).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not filename.startswith(GRADER_FOLDERS + LIBRARY_FOLDERS)


def trimmed_traceback(error):
    """The traceback of `error` with only the learner's frames, as text.

    Each frame and each line of the exception's own text is capped in length, so that the
    line naming the exception always ends it, however long a message learner code wrote.
    """
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if is_learner_file(frame.filename)
    ]
    parts = traceback.format_list(frames[-MAX_TRACEBACK_FRAMES:])
    parts += traceback.format_exception_only(type(error), error)
    return "\n".join(capped(part.rstrip("\n")) for part in parts)


def run_probe(namespace, probe_name, args=(), kwargs=None):
    """Run a probe on copies of its inputs and return its result as plain data.

    Inputs and outputs make the same round trip through `encode` and `decode` as they do
    between processes, so a learner function that writes into its inputs cannot change
    what the test compares against.
    """
    args, kwargs = decode(encode((tuple(args), dict(kwargs or {}))))
    name = args[0] if args else probe_name  # the learner function or class called
    try:
        result = PROBES[probe_name](namespace, *args, **kwargs)
    except (MissingName, BadReturn):
        raise
    except NotImplementedError as error:
        raise NotAttempted(
            f"`{name}` raises NotImplementedError: the stub is not filled in yet."
        ) from error
    except Exception as error:
        raise RaisedException(
            f"`{name}` raised {type(error).__name__}:\n{trimmed_traceback(error)}",
            exception_type=type(error).__name__,
        ) from error
    try:
        return decode(encode(to_plain(result)))
    except NotPlain as error:
        raise BadReturn(
            f"`{name}` returned {error}; the contract asks for arrays and numbers."
        ) from None
