"""Tolerances, the accepted forms of Σ, and how a difference is said."""

from __future__ import annotations

import numpy as np
import pytest

from assignments.a10.observables import CLOSED_FORM_TOLERANCE, variance_from_sigma
from graders.judge.comparison import Unusable, WrongType, agree, as_scalar, explain_difference
from graders.runtime.probe_runtime import Opaque


@pytest.mark.parametrize(
    "sigma",
    [0.496, np.array(0.496), np.array([0.496]), 0.496 * np.eye(4), np.full((2, 2), 0.496), 0.496 * np.eye(2)],
    ids=["float", "0-dim", "1-element", "matrix-all", "like-x0", "matrix-last-axis"],
)
def test_sigma_is_accepted_as_number_tensor_or_identity_multiple(sigma):
    assert float(variance_from_sigma(sigma, (2, 2))) == pytest.approx(0.496)


@pytest.mark.parametrize("sigma", [np.array([[0.496, 0.1], [0.1, 0.496]]), np.array([0.496, 0.3]), np.eye(3) * 0.496])
def test_sigma_that_is_not_a_multiple_of_identity_is_a_fail(sigma):
    with pytest.raises(Unusable) as raised:
        variance_from_sigma(sigma, (2, 2))
    assert not isinstance(raised.value, WrongType)


def test_non_numeric_values_are_wrong_type():
    with pytest.raises(WrongType):
        variance_from_sigma(Opaque("str", "'x'"), (2,))


def test_float32_roundoff_passes_and_real_errors_do_not():
    expected = np.array([0.7099295739719539, -1.4198591479439079])
    float32 = expected.astype(np.float32).astype(np.float64)
    assert agree(float32, expected, CLOSED_FORM_TOLERANCE)
    assert not agree(expected * 0.504 / np.sqrt(0.504), expected, CLOSED_FORM_TOLERANCE)


def test_shape_matters_except_for_single_numbers():
    assert agree(np.array([1.0]), np.array(1.0), CLOSED_FORM_TOLERANCE)
    assert not agree(np.ones((2, 1)), np.ones(2), CLOSED_FORM_TOLERANCE)


def test_nan_never_agrees():
    assert not agree(np.array([np.nan]), np.array([np.nan]), CLOSED_FORM_TOLERANCE)


def test_a_vector_loss_is_not_a_scalar():
    with pytest.raises(Unusable):
        as_scalar(np.ones(3), "loss")


@pytest.mark.parametrize(
    ("actual", "expected", "said"),
    [
        (0.8, 1902.65, "it is 0.8 where 1902.65 was expected (0.00042 times that)"),  # a mean where a sum is expected
        (57079.6, 139.925, "(408 times that)"),
        (1.5, 2.0, "(25% too small)"),
        (2.2, 2.0, "(10% too large)"),
        (-4.66, 4.66, "(the opposite sign)"),
        (3.0, 0.0, "it is 3 where 0 was expected"),
    ],
)
def test_a_single_wrong_number_says_how_far_off_in_words_a_student_reads(actual, expected, said):
    message = explain_difference(np.asarray(actual), np.asarray(expected), (1e-4, 1e-5))
    assert said in message, message
    assert "%" not in message or "too" in message


def test_an_array_says_how_many_values_differ_the_worst_and_a_common_factor():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    message = explain_difference(expected * 0.5, expected, (1e-4, 1e-5))
    assert "4 of its 4 values differ, the most at index (1, 1): 2 where 4 was expected (50% too small)" in message, message
    assert "every value is 0.5 times the expected one" in message
    one_off = expected.copy()
    one_off[0, 1] = 2.5
    assert explain_difference(one_off, expected, (1e-4, 1e-5)).startswith("1 of its 4 values differ, the most at index (0, 1)")
    assert explain_difference(expected[0], expected, (1e-4, 1e-5)) == "it has shape (2,) where (2, 2) was expected"
    assert explain_difference(np.array([np.nan, 1.0]), expected[0], (1e-4, 1e-5)) == "it contains NaN"
