"""Identifiability in words: which fitted numbers the data do not pin down.

A point estimate inside its search box can still be unresolved: its 95% CI may reach a bound
(gamma 0.003 with CI 0 to 0.053 says nothing about the irreducible error) or span more than a
decade. And an irreducible error gamma is only measured where the data come near it: when the
smallest observed error is above 1.5 gamma, gamma is an extrapolation. These are notes, not
warnings: the bootstrap's intervals carry them (a parameter's CI says how little the data pin it
down, and every prediction's CI and PI are drawn from the same replicates; their coverage is
measured in benchmarks/RESULTS.md), so they change nothing a user should do with a prediction.
They join the law's own notes in fits.json, laws.csv, the `fit` output and the summary, one
note per fact. A warning is kept for what the intervals do not carry (laws/base.py).
"""

from __future__ import annotations

import numpy as np

from .laws import Law
from .laws.minimizer import CI_AT_BOUND, at_bound

DECADE = 10.0
GAMMA_REACH = 1.5  # gamma counts as resolved once the data come within 1.5 gamma


def _spans_decade(lo: float, hi: float) -> bool:
    """Both ends of one sign and more than 10x apart (an interval across 0 is reported by bounds
    or not at all: a ratio means nothing there)."""
    if lo * hi <= 0:
        return False
    return max(abs(lo), abs(hi)) > DECADE * min(abs(lo), abs(hi))


def ci_warnings(law: Law) -> list[str]:
    """A warning per free parameter whose CI reaches a bound of its search box or spans more
    than a decade."""
    out = []
    for p in law.free:
        ci = law.ci_.get(p)
        if not ci:
            continue
        box = lo_b, hi_b = law.bounds_.get(p, (-np.inf, np.inf))
        log = p in law.log_params
        if any(at_bound(law.params_[p], b, box, log, CI_AT_BOUND) for b in box):
            continue  # the estimate itself is at (or near) the bound: the law has said so already
        reached = [
            side
            for side, end, b in (("lower", ci[0], lo_b), ("upper", ci[1], hi_b))
            if at_bound(end, b, box, log, CI_AT_BOUND)
        ]
        if reached:
            note = law.bound_notes.get((p, reached[0]), "the data do not pin it down")
            out.append(
                f"{p} not resolved: its 95% CI [{ci[0]:.3g}, {ci[1]:.3g}] reaches the {reached[0]} bound "
                f"({(lo_b, hi_b)[reached[0] == 'upper']:.3g}): {note}"
            )
        elif _spans_decade(*ci):
            out.append(f"{p} poorly resolved: its 95% CI [{ci[0]:.3g}, {ci[1]:.3g}] spans more than a decade")
    return out


def gamma_warning(law: Law, y) -> list[str]:
    """'gamma not resolved' when the smallest observed error stays above 1.5 gamma."""
    if "gamma" not in law.free or law.params_ is None:
        return []
    gamma, y_min = law.params_["gamma"], float(np.min(y))
    if gamma > 0 and y_min > GAMMA_REACH * gamma:
        return [
            f"gamma not resolved: the smallest observed error ({y_min:.3g}) is above {GAMMA_REACH} gamma "
            f"({GAMMA_REACH * gamma:.3g}), so the irreducible error is an extrapolation"
        ]
    return []


def exponent_words(value: float, ci: list[float] | None, one: float = 1.0) -> str:
    """'sub-linear', 'super-linear' or 'linear within its CI' for a growth exponent, by its CI."""
    if not ci:
        return "no CI"
    if ci[1] < one:
        return "sub-linear"
    if ci[0] > one:
        return "super-linear"
    return "not distinguishable from linear (CI contains 1)"


def resolution_notes(law: Law, y) -> list[str]:
    """The law's notes with ci_warnings and gamma_warning added, one note per fact: an
    irreducible error that the data do not resolve (its estimate at the bound 0, its CI
    reaching one or spanning a decade, the data far above it) is said once, with every reason
    and what it means for a prediction."""
    ci, reached = ci_warnings(law), gamma_warning(law, y)
    own = list(law.notes_)
    about_gamma = [w for w in own + ci if w.startswith("gamma ")]
    if not reached and not about_gamma:
        return own + ci
    # "gamma = 0 is at its lower bound (0): ..." says its fact before the colon, the CI notes after it
    reasons = [w.split(":")[0] if w.startswith("gamma =") else w.split(": ", 1)[1].split(":")[0] for w in about_gamma]
    reasons += [w.split(": ", 1)[1].split(", so")[0] for w in reached]
    merged = (
        f"gamma not resolved ({'; '.join(reasons)}): the irreducible error is an extrapolation, which its CI and "
        "a prediction's intervals far beyond the data carry; shards nearer the floor would resolve it"
    )
    return [w for w in own + ci if not w.startswith("gamma ")] + [merged]
