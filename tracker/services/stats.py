"""Survey statistics: weighted shares, effective sample size, intervals and tests.

Pure functions, no database. Shares are fractions (0-1) here; callers show
them in percent.

- Kish effective sample size: (Σw)² / Σw² (equal to n without weights).
- Wilson score interval at 95 %, computed with the effective sample size.
- Two-proportion z-test with a pooled proportion, two-sided p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Proportion:
    """A share of respondents, with how many were counted and its 95 % interval."""

    value: float  # 0-1, weighted when weights are given
    n: int  # respondents counted (the denominator)
    effective_size: float  # Kish effective sample size
    low: float
    high: float


@dataclass(frozen=True)
class ProportionTest:
    """Two-proportion z-test between a first and a second share."""

    difference: float  # second - first, as a fraction
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def kish_effective_size(weights: np.ndarray | list[float]) -> float:
    """(Σw)² / Σw²; 0 for no weights."""
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        return 0.0
    squares = float(np.dot(w, w))
    if squares == 0.0:
        return 0.0
    return float(w.sum()) ** 2 / squares


def wilson_interval(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a share ``p`` observed on ``n`` (possibly effective) cases."""
    if n <= 0:
        raise ValueError("n must be positive")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At 0 % and 100 % the bound is exactly 0 or 1 (not a rounding error away).
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def proportion(success: np.ndarray, weights: np.ndarray | None = None) -> Proportion:
    """The (weighted) share of True in ``success`` with its Wilson interval.

    With weights, the share is Σw·success / Σw and the interval uses the Kish
    effective sample size.
    """
    s = np.asarray(success, dtype=bool)
    if s.size == 0:
        raise ValueError("no respondent")
    if weights is None:
        w = np.ones(s.size)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != s.shape:
            raise ValueError("weights and answers differ in length")
    total = float(w.sum())
    if total <= 0:
        raise ValueError("weights sum to zero")
    value = float(w[s].sum()) / total
    effective = kish_effective_size(w)
    low, high = wilson_interval(value, effective)
    return Proportion(value, int(s.size), effective, low, high)


def two_proportion_test(p1: float, n1: float, p2: float, n2: float) -> ProportionTest:
    """Pooled two-proportion z-test of p2 - p1 (sizes may be effective sizes)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("sizes must be positive")
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    difference = p2 - p1
    if se == 0:  # both shares 0 % or both 100 %: nothing differs
        return ProportionTest(difference, 0.0, 1.0)
    z = difference / se
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return ProportionTest(difference, z, p_value)
