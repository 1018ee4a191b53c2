"""How sure an agent's quality score is: the t-interval of a mean review score, and the reviews it needs.

The model, and the assumptions a reader of the coverage page must know:

- An agent's score for a period is the mean of n review scores (0–100). We treat those n reviewed
  conversations as a simple random sample, drawn without replacement, of the N conversations the
  agent handled in the period. That holds for uniform random sampling rules; for targeted ones
  (spotlight, low CSAT first, weighted) the reviewed conversations are not typical and the interval
  is optimistic: it measures the noise of the sample, not the bias of how it was chosen.
- The half-width ("margin of error") is the usual t-interval of a mean,
  t(1 − α/2, n − 1) · s / √n, where s is the sample standard deviation (n − 1 in the denominator).
  The t quantile, not the normal one, because n is small (often 5–20) and s is itself estimated.
- With N known, the margin is multiplied by the finite population correction √((N − n)/(N − 1)):
  reviewing a large share of a small population leaves little unknown, and reviewing every
  conversation leaves none (margin 0). Without N the population is taken as unlimited.
- With fewer than two reviews s cannot be estimated, so there is no margin (None), and no estimate of
  the reviews needed either: "too few reviews to tell".
- `reviews_needed` assumes s stays what it is now. It is a planning figure, not a promise: the
  next reviews will move s a little either way.

Quantiles come from `scipy.special.stdtrit` (the inverse of Student's t CDF): the same numbers as
`scipy.stats.t.ppf`, without its per-call overhead, which matters when a page plans for thousands of
agent-periods.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from scipy import special

DEFAULT_CONFIDENCE = 0.95
DEFAULT_TARGET = 5.0  # points on the 0–100 score scale


def t_quantile(df: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The two-sided critical value t(1 − α/2, df) for a `confidence` interval (α = 1 − confidence)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    _check_confidence(confidence)
    return _t_quantile(int(df), float(confidence))


@functools.lru_cache(maxsize=4096)
def _t_quantile(df: int, confidence: float) -> float:
    return float(special.stdtrit(df, 1 - (1 - confidence) / 2))


def sample_sd(n: int, total: float, total_squares: float) -> float | None:
    """The sample standard deviation (n − 1 denominator) from a count, a sum and a sum of squares.

    This is what a SQL GROUP BY can hand back cheaply. Rounding can leave the variance a hair below
    zero when every value is equal; that is clamped to 0. None when n < 2 (it cannot be estimated).
    """
    if n < 2:
        return None
    variance = (total_squares - total * total / n) / (n - 1)
    return math.sqrt(variance) if variance > 0 else 0.0


def margin_of_error(
    n: int, sd: float | None, *, population: int | None = None, confidence: float = DEFAULT_CONFIDENCE
) -> float | None:
    """Half-width of the t-interval of the mean of `n` scores with sample sd `sd`.

    `population` is N, the conversations the sample was drawn from (the agent's handled
    conversations in the period); when given, the finite population correction applies and the
    margin is 0 once every conversation is reviewed. None when n < 2 or sd is unknown.
    """
    _check_sample(n, sd, population)
    _check_confidence(confidence)
    if n < 2 or sd is None:
        return None
    return _margin(n, sd, population, confidence)


def _margin(n: int, sd: float, population: int | None, confidence: float) -> float:
    margin = _t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    if population is not None:
        margin *= math.sqrt((population - n) / (population - 1))
    return margin


def reviews_needed(
    n: int,
    sd: float | None,
    *,
    population: int | None = None,
    target: float = DEFAULT_TARGET,
    confidence: float = DEFAULT_CONFIDENCE,
) -> int | None:
    """How many more reviews bring the margin of error to `target` or below, if the sd stays `sd`.

    The answer is n' − n for the smallest n' ≥ n whose margin (t at n' − 1 degrees of freedom,
    finite population correction included) is ≤ target. With a population N it is at most N − n,
    since reviewing everything leaves no uncertainty. 0 when already there; None when n < 2.
    """
    _check_sample(n, sd, population)
    _check_confidence(confidence)
    if not (math.isfinite(target) and target > 0):
        raise ValueError(f"the target margin must be a positive number, not {target!r}")
    if n < 2 or sd is None:
        return None

    def within(size: int) -> bool:
        return _margin(size, sd, population, confidence) <= target

    if within(n):
        return 0
    # Bisect on n' between `low` (not within) and `high` (within): the margin falls as n' grows.
    low = max(n, _normal_estimate(sd, population, target, confidence) - 1)
    if within(low):  # the estimate is a lower bound in exact arithmetic; floats could nudge it over
        low = n
    high = population if population is not None else _upper_bound(low, within)
    while high - low > 1:
        middle = (low + high) // 2
        if within(middle):
            high = middle
        else:
            low = middle
    return high - n


def _normal_estimate(sd: float, population: int | None, target: float, confidence: float) -> int:
    """The sample size the normal approximation asks for: a lower bound, since t > z at every df.

    Solving z·s/√n'·√((N − n')/(N − 1)) ≤ T for n' gives n' ≥ z²s²N / (T²(N − 1) + z²s²).
    """
    z = float(special.ndtri(1 - (1 - confidence) / 2))
    spread = (z * sd) ** 2
    if population is None:
        estimate = spread / target**2
    else:
        estimate = spread * population / (target**2 * (population - 1) + spread)
    return math.ceil(estimate) if math.isfinite(estimate) else 2**62


def _upper_bound(low: int, within: Callable[[int], bool]) -> int:
    """A sample size whose margin is within the target, found by doubling past `low`."""
    step = 1
    while not within(low + step):
        step *= 2
    return low + step


def _check_sample(n: int, sd: float | None, population: int | None) -> None:
    if n < 0:
        raise ValueError(f"the number of reviews cannot be negative ({n})")
    if sd is not None and not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"the standard deviation must be a finite number ≥ 0, not {sd!r}")
    if population is not None and population < max(n, 1):
        raise ValueError(f"the population ({population}) cannot be smaller than the sample ({n})")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"the confidence level must be between 0 and 1, not {confidence!r}")
