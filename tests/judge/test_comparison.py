"""Tolerances and the accepted forms of Σ."""

from __future__ import annotations

import numpy as np
import pytest

from assignments.a10.observables import CLOSED_FORM_TOLERANCE, variance_from_sigma
from graders.judge.comparison import Unusable, WrongType, agree, as_scalar
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
