"""Shared test helpers: torch twins in float64, relative errors that print ours vs theirs."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ["BACKPROPLAB_PROGRESS"] = "0"  # no progress bars in test output

# Derandomised: the same examples on every run, so CI never flakes on a lucky draw.
settings.register_profile(
    "default", derandomize=True, deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")


def rel_err(ours: np.ndarray, theirs: np.ndarray) -> float:
    """‖ours − theirs‖ / ‖theirs‖ (0 when both are 0)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shape: ours {ours.shape} vs theirs {theirs.shape}"
    diff, ref = np.linalg.norm(ours - theirs), np.linalg.norm(theirs)
    if ref == 0:
        return float(diff)
    return float(diff / ref)


def assert_close(ours, theirs, tol: float = 1e-10, what: str = "") -> None:
    err = rel_err(ours, theirs)
    assert err <= tol, (
        f"{what}: relative error {err:.3e} > {tol:g}\nours:\n{np.asarray(ours)}\ntheirs:\n{np.asarray(theirs)}"
    )


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
