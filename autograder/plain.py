"""Plain data: what crosses between the learner's process and the grader.

Values returned by learner code are converted here, inside the learner's process, to
plain Python and NumPy values (no learner-defined classes), then encoded as JSON with
arrays as raw bytes. The grader decodes them without ever unpickling anything, so a
learner object with a lying ``__eq__`` or ``__array__`` never reaches a comparison.
"""

import base64
import json

import numpy as np

NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float


class NotPlain(TypeError):
    """A value that has no plain form (a learner-defined object, a complex number...)."""


def to_plain(value):
    """Convert a returned value to plain data: ndarray, float, int, bool, str, None,
    and tuples, lists and dicts of those. Tensors become float64/int64 arrays."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if type(value) in (tuple, list):
        return type(value)(to_plain(item) for item in value)
    if type(value) is dict:
        return {str(key): to_plain(item) for key, item in value.items()}
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS:
            raise NotPlain(f"an array of dtype {value.dtype}")
        dtype = np.float64 if value.dtype.kind == "f" else value.dtype
        return np.array(value, dtype=dtype, copy=True)
    raise NotPlain(f"an object of type {type(value).__name__}")


def _encode_item(value):
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {
            "__ndarray__": base64.b64encode(array.tobytes()).decode("ascii"),
            "dtype": array.dtype.str,
            "shape": list(array.shape),
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_item(item) for item in value]}
    if isinstance(value, list):
        return [_encode_item(item) for item in value]
    if isinstance(value, dict):
        return {"__dict__": {key: _encode_item(item) for key, item in value.items()}}
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _decode_item(value):
    if isinstance(value, list):
        return [_decode_item(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in NUMERIC_KINDS:
            raise ValueError(f"refusing to decode an array of dtype {dtype}")
        data = base64.b64decode(value["__ndarray__"])
        return np.frombuffer(data, dtype=dtype).reshape(value["shape"]).copy()
    if "__tuple__" in value:
        return tuple(_decode_item(item) for item in value["__tuple__"])
    if "__dict__" in value:
        return {key: _decode_item(item) for key, item in value["__dict__"].items()}
    if "__float__" in value:
        return float(value["__float__"])
    raise ValueError(f"unexpected object in message: {sorted(value)}")


def encode(message) -> bytes:
    """Encode a message of plain data as JSON bytes."""
    return json.dumps(_encode_item(message)).encode()


def decode(data: bytes):
    """Decode bytes made by `encode`; raises ValueError on anything else."""
    return _decode_item(json.loads(data))
