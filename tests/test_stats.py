"""Survey statistics checked against values computed by hand.

Every expected number below is worked out in the comments (or in the test's own
arithmetic) from the textbook formulas, never copied from the implementation:

- Kish effective size: n_eff = (Σw)² / Σw².
- Wilson interval: centre = (p + z²/2n) / (1 + z²/n),
  half = z / (1 + z²/n) · √(p(1-p)/n + z²/4n²), interval = centre ± half.
- Pooled two-proportion z-test: pooled = (p1·n1 + p2·n2) / (n1 + n2),
  se = √(pooled(1-pooled)(1/n1 + 1/n2)), z = (p2 - p1) / se,
  p-value = 2·(1 - Φ(|z|)) = erfc(|z| / √2).

z = 1.959963984540054 throughout, so z² = 3.8414588206941254.
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist

import numpy as np
import pytest

from tracker.services.stats import (
    SIGNIFICANCE,
    Z95,
    Proportion,
    ProportionTest,
    kish_effective_size,
    proportion,
    two_proportion_test,
    wilson_interval,
)

TOL = 1e-4  # the brief's tolerance for hand-rounded numbers
Z = 1.959963984540054  # 97.5th percentile of the standard normal
Z2 = 3.8414588206941254  # Z²


# --------------------------------------------------------------------------- Z95


def test_z95_is_the_two_sided_95_percent_quantile() -> None:
    assert pytest.approx(1.959964, abs=1e-6) == Z95
    assert pytest.approx(Z, abs=1e-12) == Z95
    # Φ(1.959964) = 0.975, so 95 % of the mass lies within ±Z95.
    assert NormalDist().cdf(Z95) == pytest.approx(0.975, abs=1e-12)
    assert math.erfc(Z95 / math.sqrt(2)) == pytest.approx(0.05, abs=1e-12)
    assert SIGNIFICANCE == 0.05


# --------------------------------------------------------------- Kish effective size


@pytest.mark.parametrize("n", [1, 2, 5, 100, 1234])
def test_kish_unweighted_equals_n(n: int) -> None:
    # All weights 1: (Σw)² / Σw² = n² / n = n.
    assert kish_effective_size(np.ones(n)) == pytest.approx(n, abs=1e-12)


def test_kish_uniform_weights_equal_n() -> None:
    # Weights 2,2,2,2: (8)² / (4·4) = 64 / 16 = 4 — a common scale changes nothing.
    assert kish_effective_size([2.0, 2.0, 2.0, 2.0]) == pytest.approx(4.0, abs=1e-12)
    # Weights 0.3 × 10: (3)² / (10·0.09) = 9 / 0.9 = 10.
    assert kish_effective_size([0.3] * 10) == pytest.approx(10.0, abs=1e-12)


def test_kish_small_weighted_example() -> None:
    # Weights 1,2,1,1: Σw = 5, Σw² = 1+4+1+1 = 7 → 25/7 = 3.5714...
    assert kish_effective_size([1, 2, 1, 1]) == pytest.approx(25 / 7, abs=1e-12)
    assert kish_effective_size([1, 2, 1, 1]) == pytest.approx(3.5714, abs=TOL)


def test_kish_other_weighted_examples() -> None:
    # Weights 1,3: Σw = 4, Σw² = 1+9 = 10 → 16/10 = 1.6.
    assert kish_effective_size([1.0, 3.0]) == pytest.approx(1.6, abs=1e-12)
    # Weights 0.5,1,1.5,2: Σw = 5, Σw² = 0.25+1+2.25+4 = 7.5 → 25/7.5 = 3.3333...
    assert kish_effective_size(np.array([0.5, 1.0, 1.5, 2.0])) == pytest.approx(10 / 3, abs=1e-12)
    # One dominant weight: 10,1,1,1: Σw = 13, Σw² = 100+3 = 103 → 169/103 = 1.6408...
    assert kish_effective_size([10, 1, 1, 1]) == pytest.approx(1.6408, abs=TOL)


def test_kish_is_at_most_n_for_positive_weights() -> None:
    # Cauchy-Schwarz: (Σw)² ≤ n·Σw², so n_eff ≤ n, with equality only for equal weights.
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 3.0, size=50)
    assert 1.0 <= kish_effective_size(weights) < 50


def test_kish_single_weight_is_one() -> None:
    # One weight w: w² / w² = 1.
    assert kish_effective_size([7.5]) == pytest.approx(1.0, abs=1e-12)


def test_kish_empty_is_zero() -> None:
    assert kish_effective_size([]) == 0.0
    assert kish_effective_size(np.array([])) == 0.0


def test_kish_all_zero_weights_is_zero() -> None:
    # Σw² = 0: no division by zero, 0 by convention.
    assert kish_effective_size([0.0, 0.0, 0.0]) == 0.0


def test_kish_returns_a_python_float() -> None:
    assert type(kish_effective_size([1, 2, 1, 1])) is float


# -------------------------------------------------------------------- Wilson interval


def test_wilson_textbook_half_of_100() -> None:
    # p = 0.5, n = 100:
    #   z²/n = 0.038414588, 1 + z²/n = 1.038414588, z²/2n = 0.019207294
    #   centre = (0.5 + 0.019207294) / 1.038414588 = 0.5 (symmetric)
    #   p(1-p)/n = 0.0025, z²/4n² = 0.0000960365 → √0.0025960365 = 0.0509513147
    #   half = 1.959964 / 1.038414588 · 0.0509513147 = 0.0961684696
    #   → [0.4038315, 0.5961685]
    low, high = wilson_interval(0.5, 100)
    assert low == pytest.approx(0.4038315, abs=1e-6)
    assert high == pytest.approx(0.5961685, abs=1e-6)
    assert low == pytest.approx(0.4038, abs=TOL)
    assert high == pytest.approx(0.5962, abs=TOL)
    # Symmetric around 0.5.
    assert low + high == pytest.approx(1.0, abs=1e-12)


def test_wilson_p022_n512() -> None:
    # p = 0.22, n = 512:
    #   z²/2n = 3.8414588 / 1024 = 0.0037514246
    #   1 + z²/n = 1 + 0.0075028493 = 1.0075028493
    #   centre = (0.22 + 0.0037514246) / 1.0075028493 = 0.2237514246 / 1.0075028493 = 0.2222085
    #   p(1-p)/n = 0.1716 / 512 = 0.00033515625; z²/4n² = 3.8414588 / 1048576 = 0.0000036635
    #   √(0.00033881975) = 0.0184070571
    #   half = 1.959964 / 1.0075028493 · 0.0184070571 = 0.0358085
    #   → [0.2222085 - 0.0358085, 0.2222085 + 0.0358085] = [0.1862767, 0.2578937]
    low, high = wilson_interval(0.22, 512)
    assert low == pytest.approx(0.1862767, abs=1e-6)
    assert high == pytest.approx(0.2578937, abs=1e-6)
    assert (low, high) == pytest.approx((0.1863, 0.2579), abs=TOL)


def test_wilson_matches_formula_written_out() -> None:
    # The same formula evaluated here, for a grid of (p, n), as a regression net.
    for p in (0.0, 0.01, 0.1, 0.37, 0.5, 0.9, 1.0):
        for n in (1, 3.5, 10, 250, 10_000):
            denominator = 1 + Z2 / n
            centre = (p + Z2 / (2 * n)) / denominator
            half = Z / denominator * math.sqrt(p * (1 - p) / n + Z2 / (4 * n * n))
            expected = (max(0.0, centre - half), min(1.0, centre + half))
            assert wilson_interval(p, n) == pytest.approx(expected, abs=1e-12)


def test_wilson_is_not_the_wald_interval() -> None:
    # Wald would be p ± z√(p(1-p)/n) = 0.4 ± 1.959964·√(0.024) = 0.4 ± 0.3036 → [0.0964, 0.7036].
    # Wilson (p = 0.4, n = 10):
    #   1 + z²/n = 1.3841459, centre = (0.4 + 0.1920729) / 1.3841459 = 0.4277533
    #   √(0.024 + 0.0096036) = 0.1833130, half = 1.959964 / 1.3841459 · 0.1833130 = 0.2595730
    #   → [0.1681803, 0.6873262], pulled towards 0.5.
    low, high = wilson_interval(0.4, 10)
    assert low == pytest.approx(0.1681803, abs=1e-6)
    assert high == pytest.approx(0.6873262, abs=1e-6)
    assert (low + high) / 2 > 0.4


def test_wilson_p0_lower_bound_zero_within_unit_interval() -> None:
    # p = 0, n = 20: p(1-p)/n = 0, so half = z/(1+z²/n) · z/2n = centre,
    # the interval is [0, 2·centre]:
    #   z²/2n = 0.0960365, 1 + z²/n = 1.1920729
    #   centre = 0.0960365 / 1.1920729 = 0.0805626 → [0, 0.1611252]
    low, high = wilson_interval(0.0, 20)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert 0.0 <= low <= high <= 1.0
    assert high == pytest.approx(0.1611252, abs=1e-6)


def test_wilson_p1_upper_bound_one_within_unit_interval() -> None:
    # p = 1, n = 20: mirror image of p = 0 → [1 - 0.1611252, 1] = [0.8388748, 1].
    low, high = wilson_interval(1.0, 20)
    assert high == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= low <= high <= 1.0
    assert low == pytest.approx(0.8388748, abs=1e-6)


@pytest.mark.parametrize("n", [0.001, 0.5, 1, 2.5, 25 / 7, 7.5, 10, 13, 34, 100, 1000])
def test_wilson_extremes_stay_in_unit_interval(n: float) -> None:
    for p in (0.0, 1.0):
        low, high = wilson_interval(p, n)
        assert 0.0 <= low <= high <= 1.0
    assert wilson_interval(0.0, n)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(1.0, n)[1] == pytest.approx(1.0, abs=1e-12)
    # p = 0 and p = 1 are mirror images: [0, u] and [1 - u, 1].
    assert wilson_interval(1.0, n)[0] == pytest.approx(1 - wilson_interval(0.0, n)[1], abs=1e-12)


@pytest.mark.parametrize("n", [10, 13])
def test_wilson_extremes_are_exactly_zero_and_one(n: int) -> None:
    assert wilson_interval(0.0, n)[0] == 0.0
    assert wilson_interval(1.0, n)[1] == 1.0


def test_wilson_fractional_effective_size() -> None:
    # p = 0.3, n = 7.5:
    #   z²/2n = 0.2560973, 1 + z²/n = 1.5121945
    #   centre = (0.3 + 0.2560973) / 1.5121945 = 0.5560973 / 1.5121945 = 0.3677419
    #   p(1-p)/n = 0.21 / 7.5 = 0.028, z²/4n² = 3.8414588 / 225 = 0.0170732
    #   √0.0450732 = 0.2123044, half = 1.959964 / 1.5121945 · 0.2123044 = 0.2751689
    #   → [0.0925730, 0.6429108]
    low, high = wilson_interval(0.3, 7.5)
    assert low == pytest.approx(0.0925730, abs=1e-6)
    assert high == pytest.approx(0.6429108, abs=1e-6)
    # Between the intervals for n = 7 and n = 8 in width.
    width = high - low
    assert wilson_interval(0.3, 8)[1] - wilson_interval(0.3, 8)[0] < width
    assert width < wilson_interval(0.3, 7)[1] - wilson_interval(0.3, 7)[0]


def test_wilson_shrinks_as_n_grows() -> None:
    widths = [np.subtract(*wilson_interval(0.3, n)[::-1]) for n in (5, 50, 500, 5000)]
    assert widths == sorted(widths, reverse=True)


def test_wilson_contains_p() -> None:
    for p in np.linspace(0, 1, 21):
        low, high = wilson_interval(float(p), 37)
        assert low <= p <= high


def test_wilson_custom_z() -> None:
    # z = 1 (about 68 %), p = 0.5, n = 4:
    #   1 + z²/n = 1.25, centre = (0.5 + 0.125) / 1.25 = 0.5
    #   √(0.25/4 + 1/64) = √(0.0625 + 0.015625) = √0.078125 = 0.2795085
    #   half = 1 / 1.25 · 0.2795085 = 0.2236068 → [0.2763932, 0.7236068]
    low, high = wilson_interval(0.5, 4, z=1.0)
    assert low == pytest.approx(0.5 - 0.8 * math.sqrt(0.078125), abs=1e-12)
    assert high == pytest.approx(0.7236068, abs=1e-6)


@pytest.mark.parametrize("n", [0, 0.0, -1, -0.5])
def test_wilson_non_positive_n_raises(n: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(0.5, n)


# ------------------------------------------------------------------------- proportion


def test_proportion_unweighted() -> None:
    # 2 True out of 5 → 0.4, n = 5, effective size 5.
    # Wilson (p = 0.4, n = 5):
    #   z²/2n = 0.3841459, 1 + z²/n = 1.7682918
    #   centre = 0.7841459 / 1.7682918 = 0.4434482
    #   p(1-p)/n = 0.048, z²/4n² = 0.0384146, √0.0864146 = 0.2939636
    #   half = 1.959964 / 1.7682918 · 0.2939636 = 0.3258275 → [0.1176208, 0.7692757]
    result = proportion(np.array([True, False, False, True, False]))
    assert isinstance(result, Proportion)
    assert result.value == pytest.approx(0.4, abs=1e-12)
    assert result.n == 5
    assert result.effective_size == pytest.approx(5.0, abs=1e-12)
    assert result.low == pytest.approx(0.1176208, abs=1e-6)
    assert result.high == pytest.approx(0.7692757, abs=1e-6)
    assert (result.low, result.high) == pytest.approx(wilson_interval(0.4, 5), abs=1e-12)


def test_proportion_unweighted_interval_is_wilson_of_share_and_n() -> None:
    # 22 % of 512: 112.64 is not whole, so take 113 of 512 = 0.220703125.
    answers = np.zeros(512, dtype=bool)
    answers[:113] = True
    result = proportion(answers)
    assert result.value == pytest.approx(113 / 512, abs=1e-12)
    assert result.n == 512
    assert result.effective_size == pytest.approx(512, abs=1e-9)
    assert (result.low, result.high) == pytest.approx(wilson_interval(113 / 512, 512), abs=1e-12)


def test_proportion_accepts_integers_and_lists() -> None:
    # 0/1 integers are read as booleans: 3 of 4 → 0.75.
    result = proportion([1, 0, 1, 1])  # type: ignore[arg-type]
    assert result.value == pytest.approx(0.75, abs=1e-12)
    assert result.n == 4


def test_proportion_weighted_share_by_hand() -> None:
    # success T, T, F, F with weights 1, 2, 1, 1:
    #   share = Σw·s / Σw = (1 + 2) / (1 + 2 + 1 + 1) = 3 / 5 = 0.6
    #   Kish = 25 / 7 = 3.5714286
    # Wilson (p = 0.6, n = 25/7):
    #   z²/2n = 3.8414588 · 7 / 50 = 0.5378042, 1 + z²/n = 2.0756085
    #   centre = 1.1378042 / 2.0756085 = 0.5481786
    #   p(1-p)/n = 0.24 · 7/25 = 0.0672, z²/4n² = 3.8414588 · 49 / 2500 = 0.0752926
    #   √0.1424926 = 0.3774819, half = 1.959964 / 2.0756085 · 0.3774819 = 0.3564501
    #   → [0.1917285, 0.9046288]
    result = proportion(np.array([True, True, False, False]), np.array([1.0, 2.0, 1.0, 1.0]))
    assert result.value == pytest.approx(0.6, abs=1e-12)
    assert result.n == 4  # respondents, not Σw = 5 nor the effective size
    assert result.effective_size == pytest.approx(25 / 7, abs=1e-12)
    assert result.low == pytest.approx(0.1917285, abs=1e-6)
    assert result.high == pytest.approx(0.9046288, abs=1e-6)


def test_proportion_weighted_interval_uses_kish_not_n() -> None:
    success = np.array([True, True, False, False])
    weights = np.array([1.0, 2.0, 1.0, 1.0])
    result = proportion(success, weights)
    with_kish = wilson_interval(0.6, 25 / 7)
    with_n = wilson_interval(0.6, 4)
    assert (result.low, result.high) == pytest.approx(with_kish, abs=1e-12)
    # With n = 4 it would be narrower. By hand: 1 + z²/4 = 1.9603647, z²/8 = 0.4801824,
    #   centre = 1.0801824 / 1.9603647 = 0.5510109,
    #   half = 1.959964 / 1.9603647 · √(0.06 + 0.0600228) = 0.3463722 → [0.2046387, 0.8973832].
    assert with_n == pytest.approx((0.2046387, 0.8973832), abs=1e-6)
    assert result.low < with_n[0]
    assert result.high > with_n[1]


def test_proportion_weighted_share_differs_from_unweighted() -> None:
    # success T, F, F with weights 3, 1, 1: share = 3/5 = 0.6 (unweighted would be 1/3).
    #   Kish = (5)² / (9 + 1 + 1) = 25 / 11 = 2.2727273
    result = proportion(np.array([True, False, False]), np.array([3.0, 1.0, 1.0]))
    assert result.value == pytest.approx(0.6, abs=1e-12)
    assert result.n == 3
    assert result.effective_size == pytest.approx(25 / 11, abs=1e-12)
    assert (result.low, result.high) == pytest.approx(wilson_interval(0.6, 25 / 11), abs=1e-12)


def test_proportion_non_integer_weights() -> None:
    # success T, F, T, F, T with weights 0.5, 1.5, 2.0, 1.0, 0.25:
    #   Σw = 5.25, Σw·s = 0.5 + 2.0 + 0.25 = 2.75 → share = 2.75 / 5.25 = 0.5238095
    #   Σw² = 0.25 + 2.25 + 4 + 1 + 0.0625 = 7.5625 → Kish = 27.5625 / 7.5625 = 3.6446281
    success = np.array([True, False, True, False, True])
    weights = np.array([0.5, 1.5, 2.0, 1.0, 0.25])
    result = proportion(success, weights)
    assert result.value == pytest.approx(0.5238095, abs=1e-6)
    assert result.effective_size == pytest.approx(3.6446281, abs=1e-6)
    assert result.n == 5


def test_proportion_uniform_weights_match_unweighted() -> None:
    success = np.array([True, False, True, True, False, False, False])
    plain = proportion(success)
    scaled = proportion(success, np.full(7, 2.5))
    assert scaled.value == pytest.approx(plain.value, abs=1e-12)  # 3/7
    assert scaled.value == pytest.approx(3 / 7, abs=1e-12)
    assert scaled.effective_size == pytest.approx(7.0, abs=1e-12)
    assert (scaled.low, scaled.high) == pytest.approx((plain.low, plain.high), abs=1e-12)


def test_proportion_all_true_and_all_false() -> None:
    # 0 of 20: share 0, interval [0, 0.1611252] (see the Wilson p = 0, n = 20 case).
    none = proportion(np.zeros(20, dtype=bool))
    assert none.value == 0.0
    assert none.low == pytest.approx(0.0, abs=1e-12)
    assert none.high == pytest.approx(0.1611252, abs=1e-6)
    # 20 of 20: share 1, interval [0.8388748, 1].
    every = proportion(np.ones(20, dtype=bool))
    assert every.value == 1.0
    assert every.low == pytest.approx(0.8388748, abs=1e-6)
    assert every.high == pytest.approx(1.0, abs=1e-12)


def test_proportion_single_respondent() -> None:
    result = proportion(np.array([True]))
    assert result.value == 1.0
    assert result.n == 1
    assert result.effective_size == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= result.low <= result.high <= 1.0


def test_proportion_result_is_frozen() -> None:
    result = proportion(np.array([True, False]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.9  # type: ignore[misc]


def test_proportion_empty_raises() -> None:
    with pytest.raises(ValueError):
        proportion(np.array([], dtype=bool))
    with pytest.raises(ValueError):
        proportion(np.array([], dtype=bool), np.array([]))


def test_proportion_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        proportion(np.array([True, False, True]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        proportion(np.array([True]), np.array([1.0, 1.0]))


def test_proportion_zero_total_weight_raises() -> None:
    with pytest.raises(ValueError):
        proportion(np.array([True, False]), np.array([0.0, 0.0]))


# ---------------------------------------------------------------- two_proportion_test


def test_two_proportion_hand_computed_large_difference() -> None:
    # p1 = 0.52, n1 = 512, p2 = 0.80, n2 = 658:
    #   pooled = (0.52·512 + 0.80·658) / 1170 = (266.24 + 526.4) / 1170 = 792.64 / 1170 = 0.6774701
    #   pooled(1-pooled) = 0.6774701 · 0.3225299 = 0.2185044
    #   1/512 + 1/658 = 0.0019531 + 0.0015198 = 0.0034729
    #   se² = 0.2185044 · 0.0034729 = 0.00075884 → se = 0.0275470
    #   z = 0.28 / 0.0275470 = 10.16443
    #   p = erfc(10.16443 / √2) ≈ 2.858e-24
    pooled = (0.52 * 512 + 0.80 * 658) / 1170
    assert pooled == pytest.approx(0.6774701, abs=1e-7)
    se = math.sqrt(pooled * (1 - pooled) * (1 / 512 + 1 / 658))
    assert se == pytest.approx(0.0275470, abs=1e-7)
    z = 0.28 / se
    assert z == pytest.approx(10.16443, abs=1e-5)

    result = two_proportion_test(0.52, 512, 0.80, 658)
    assert isinstance(result, ProportionTest)
    assert result.difference == pytest.approx(0.28, abs=1e-12)
    assert result.z == pytest.approx(z, abs=1e-9)
    assert result.z == pytest.approx(10.1644, abs=TOL)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    # 2·(1 - Φ(|z|)) would round to 0 at z = 10; 2·Φ(-|z|) is the same quantity, exactly.
    assert result.p_value == pytest.approx(2 * NormalDist().cdf(-abs(z)), rel=1e-6)
    assert result.p_value == pytest.approx(2.858e-24, rel=1e-3)
    assert result.significant is True


def test_two_proportion_sign_follows_second_minus_first() -> None:
    forward = two_proportion_test(0.52, 512, 0.80, 658)
    backward = two_proportion_test(0.80, 658, 0.52, 512)
    assert backward.difference == pytest.approx(-0.28, abs=1e-12)
    assert backward.z == pytest.approx(-forward.z, abs=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12)


def test_two_proportion_not_significant() -> None:
    # p1 = 0.50, n1 = 100, p2 = 0.55, n2 = 100:
    #   pooled = (50 + 55) / 200 = 0.525
    #   pooled(1-pooled) = 0.525 · 0.475 = 0.249375
    #   se² = 0.249375 · (1/100 + 1/100) = 0.0049875 → se = 0.0706222
    #   z = 0.05 / 0.0706222 = 0.70799
    #   Φ(0.70799) = 0.7605250 → p = 2·(1 - 0.7605250) = 0.4789500
    z = 0.05 / math.sqrt(0.525 * 0.475 * 0.02)
    result = two_proportion_test(0.50, 100, 0.55, 100)
    assert result.difference == pytest.approx(0.05, abs=1e-12)
    assert result.z == pytest.approx(z, abs=1e-9)
    assert result.z == pytest.approx(0.70799, abs=1e-5)
    assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(z)), abs=1e-12)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-12)
    assert result.p_value == pytest.approx(0.4789500, abs=1e-6)
    assert result.significant is False


def test_two_proportion_p_value_matches_normal_cdf() -> None:
    # 2·(1 - Φ(|z|)) and erfc(|z|/√2) agree wherever 1 - Φ does not underflow.
    for p1, n1, p2, n2 in [(0.3, 40, 0.45, 60), (0.6, 200, 0.52, 150), (0.1, 30, 0.25, 30)]:
        result = two_proportion_test(p1, n1, p2, n2)
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        assert result.z == pytest.approx(z, abs=1e-12)
        assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(abs(z))), abs=1e-12)
        assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=1e-15)


def test_two_proportion_just_significant() -> None:
    # p1 = 0.5, p2 = 0.5438, n1 = n2 = 1000:
    #   pooled = (500 + 543.8) / 2000 = 0.5219, pooled(1-pooled) = 0.5219 · 0.4781 = 0.24952039
    #   se² = 0.24952039 · 0.002 = 0.00049904078 → se = 0.02233922
    #   z = 0.0438 / 0.02233922 = 1.96068 > 1.959964 → p = 0.049917 < 0.05
    result = two_proportion_test(0.5, 1000, 0.5438, 1000)
    assert result.z == pytest.approx(0.0438 / math.sqrt(0.5219 * 0.4781 * 0.002), abs=1e-9)
    assert result.z == pytest.approx(1.96068, abs=1e-5)
    assert result.z > Z95
    assert result.p_value == pytest.approx(0.049917, abs=1e-6)
    assert result.p_value < 0.05
    assert result.significant is True


def test_two_proportion_just_not_significant() -> None:
    # p1 = 0.5, p2 = 0.5437, n1 = n2 = 1000:
    #   pooled = (500 + 543.7) / 2000 = 0.52185, pooled(1-pooled) = 0.52185 · 0.47815 = 0.24952258
    #   se² = 0.24952258 · 0.002 = 0.00049904516 → se = 0.02233932
    #   z = 0.0437 / 0.02233932 = 1.95619 < 1.959964 → p = 0.050443 > 0.05
    result = two_proportion_test(0.5, 1000, 0.5437, 1000)
    assert result.z == pytest.approx(0.0437 / math.sqrt(0.52185 * 0.47815 * 0.002), abs=1e-9)
    assert result.z == pytest.approx(1.95619, abs=1e-5)
    assert result.z < Z95
    assert result.p_value == pytest.approx(0.050443, abs=1e-6)
    assert result.p_value > 0.05
    assert result.significant is False


@pytest.mark.parametrize(
    ("p_value", "significant"),
    [(0.0, True), (0.0499999, True), (0.05, False), (0.0500001, False), (1.0, False)],
)
def test_significant_is_strictly_below_five_percent(p_value: float, significant: bool) -> None:
    assert ProportionTest(0.1, 2.0, p_value).significant is significant


@pytest.mark.parametrize(
    ("p", "n1", "n2"), [(0.3, 100, 250), (0.5, 10, 10), (0.0, 5, 7), (1.0, 5, 7)]
)
def test_two_proportion_identical_shares(p: float, n1: float, n2: float) -> None:
    # Same share: difference 0 → z = 0, p = erfc(0) = 1 (for p = 0 or 1, se = 0 as well).
    result = two_proportion_test(p, n1, p, n2)
    assert result.difference == 0.0
    assert result.z == 0.0
    assert result.p_value == pytest.approx(1.0, abs=1e-12)
    assert result.significant is False


def test_two_proportion_zero_against_one() -> None:
    # p1 = 0, n1 = 10, p2 = 1, n2 = 10: se is NOT zero here, pooled = 10 / 20 = 0.5:
    #   se = √(0.25 · 0.2) = √0.05 = 0.2236068, z = 1 / 0.2236068 = √20 = 4.4721360
    #   p = erfc(√20 / √2) = erfc(√10) = 7.744216e-6
    result = two_proportion_test(0.0, 10, 1.0, 10)
    assert math.isfinite(result.z)
    assert result.difference == pytest.approx(1.0, abs=1e-12)
    assert result.z == pytest.approx(math.sqrt(20), abs=1e-9)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(10)), rel=1e-9)
    assert result.p_value == pytest.approx(7.744216e-6, rel=1e-6)
    assert result.significant is True


def test_two_proportion_zero_against_one_tiny_samples() -> None:
    # p1 = 0, n1 = 1, p2 = 1, n2 = 1: pooled 0.5, se = √(0.25 · 2) = 0.7071068,
    #   z = 1 / 0.7071068 = √2 = 1.4142136, p = erfc(1) = 0.1572992 → not significant.
    result = two_proportion_test(0.0, 1, 1.0, 1)
    assert result.z == pytest.approx(math.sqrt(2), abs=1e-12)
    assert result.p_value == pytest.approx(math.erfc(1.0), abs=1e-12)
    assert result.p_value == pytest.approx(0.1572992, abs=1e-6)
    assert result.significant is False


def test_two_proportion_identical_extreme_shares() -> None:
    # Both shares 0 %: pooled = 0, se = 0 → nothing differs: z = 0, p = 1.
    result = two_proportion_test(0.0, 50, 0.0, 80)
    assert result.z == 0.0
    assert result.p_value == 1.0
    assert result.significant is False


def test_two_proportion_fractional_effective_sizes() -> None:
    # Effective sizes are allowed: p1 = 0.6, n1 = 25/7, p2 = 0.2, n2 = 7.5:
    #   pooled = (0.6 · 25/7 + 0.2 · 7.5) / (25/7 + 7.5)
    #          = (2.1428571 + 1.5) / 11.0714286 = 0.3290323
    #   pooled(1-pooled) = 0.3290323 · 0.6709677 = 0.2207700
    #   1/n1 + 1/n2 = 0.28 + 0.1333333 = 0.4133333 → se = √0.0912516 = 0.3020788
    #   z = -0.4 / 0.3020788 = -1.3241577
    result = two_proportion_test(0.6, 25 / 7, 0.2, 7.5)
    assert result.difference == pytest.approx(-0.4, abs=1e-12)
    assert result.z == pytest.approx(-1.3241577, abs=1e-6)
    assert result.p_value == pytest.approx(math.erfc(1.3241577 / math.sqrt(2)), abs=1e-6)
    assert result.significant is False


@pytest.mark.parametrize(("n1", "n2"), [(0, 10), (10, 0), (-1, 10), (10, -5), (0, 0), (-0.5, 3.2)])
def test_two_proportion_non_positive_sizes_raise(n1: float, n2: float) -> None:
    with pytest.raises(ValueError):
        two_proportion_test(0.4, n1, 0.5, n2)
