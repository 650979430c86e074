"""The plain-data boundary and the comparisons that scores rest on."""

import json

import numpy as np
import pytest
import torch

from autograder.compare import (
    CheckFailed,
    assert_close,
    assert_equal,
    assert_state_close,
    describe,
    matching_variant,
)
from autograder.plain import NotPlain, decode, encode, to_plain


def test_round_trip_keeps_values_and_kinds():
    """Check that arrays, tuples, dicts and non-finite floats survive encode/decode."""
    value = {"a": (np.arange(6.0).reshape(2, 3), [1, 2.5, None]), "b": float("inf"), "c": True}
    back = decode(encode(value))
    assert isinstance(back["a"], tuple) and np.array_equal(back["a"][0], value["a"][0])
    assert back["a"][1] == [1, 2.5, None] and back["b"] == float("inf") and back["c"] is True


def test_tensors_become_float64_arrays():
    """Check that a float32 tensor with grad becomes a float64 array."""
    plain = to_plain(torch.ones(2, 3, requires_grad=True) * 2)
    assert isinstance(plain, np.ndarray) and plain.dtype == np.float64
    assert np.array_equal(plain, np.full((2, 3), 2.0))


def test_learner_objects_are_refused():
    """Check that an object with a lying __eq__ or __array__ has no plain form."""

    class AlwaysEqual:
        def __eq__(self, other):
            return True

        def __array__(self, dtype=None, copy=None):
            return np.zeros(3)

    with pytest.raises(NotPlain):
        to_plain(AlwaysEqual())
    with pytest.raises(NotPlain):
        to_plain([1.0, AlwaysEqual()])
    with pytest.raises(NotPlain):
        to_plain(np.array(["a", "b"]))


def test_decode_refuses_object_arrays():
    """Check that a message claiming an object array is rejected, never unpickled."""
    forged = json.dumps({"__ndarray__": "", "dtype": "|O", "shape": [0]}).encode()
    with pytest.raises(ValueError):
        decode(forged)


def test_float32_rounding_is_named_only_in_float64_checks():
    """Check that a float64 check failed by float32 rounding says so, and nothing else does."""
    expected = np.random.default_rng(0).normal(0, 1, 50)
    rounded = expected * (1 + 3e-6)  # float32 arithmetic errs by about this much
    with pytest.raises(CheckFailed, match="rounding: compute in float64"):
        assert_close(rounded, expected, "f")
    with pytest.raises(CheckFailed) as wrong:  # a real mistake, however small the values
        assert_close(expected * 1.01, expected, "f")
    assert "rounding" not in str(wrong.value)
    with pytest.raises(CheckFailed) as torch_check:  # float32 checks have their own tolerance
        assert_close(expected + 1e-3, expected, "f", atol=1e-5, rtol=1e-4)
    assert "rounding" not in str(torch_check.value)


def test_assert_close_messages_show_shapes_errors_and_hints():
    """Check the failure messages: shape mismatch, largest error, NaN, None."""
    with pytest.raises(CheckFailed, match=r"expected shape \(3,\), got \(1, 3\)"):
        assert_close(np.zeros((1, 3)), np.zeros(3), "f", "case")
    with pytest.raises(CheckFailed, match=r"largest error 0\.5 at index \(1,\).*\n  Hint: h"):
        assert_close([0.0, 0.5, 0.1], [0.0, 0.0, 0.0], "f", "case", hint="h")
    with pytest.raises(CheckFailed, match="NaN or inf"):
        assert_close([np.nan], [0.0], "f")
    with pytest.raises(CheckFailed, match="forget a return"):
        assert_close(None, [0.0], "f")
    assert_close([1.0 + 1e-12], [1.0], "f")


def test_lstm_state_must_be_a_pair():
    """Check that an LSTM state given as one array is reported as such."""
    with pytest.raises(CheckFailed, match=r"tuple \(h, c\)"):
        assert_state_close(np.zeros(3), (np.zeros(3), np.zeros(3)), "f", cell_type="lstm")


def test_matching_variant_names_the_mistake():
    """Check that a wrong answer equal to a known mistake's output is named."""
    variants = {"mean instead of sum": np.array(2.0), "other": np.array(9.0)}
    assert matching_variant(np.array(2.0), variants) == "mean instead of sum"
    assert matching_variant(np.array(3.0), variants) is None


def test_values_that_are_not_numbers_are_described():
    """Check that an int beyond float64, or an array for a list, is named as such."""
    with pytest.raises(CheckFailed, match=r"got an int too large for a float \(1329 bits\)"):
        assert_close(10**400, 1.0, "f")
    with pytest.raises(CheckFailed, match=r"got an array of shape \(2,\) and dtype <U1"):
        assert_close(np.array(["a", "b"]), [1.0, 2.0], "f")
    assert describe(np.zeros((1, 2), dtype=np.int64)) == "an array of shape (1, 2) and dtype int64"


def test_long_values_are_cut_in_messages():
    """Check that a million-token answer costs a few kilobytes of message."""
    with pytest.raises(CheckFailed) as wrong:
        assert_equal(list(range(1_000_000)), [1, 2], "tokens")
    assert len(str(wrong.value)) < 5000 and "more characters not kept]" in str(wrong.value)
