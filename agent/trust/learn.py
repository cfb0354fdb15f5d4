"""Trust from the record: how much of an adjuster's proposal to apply, and how wide the result's interval is.

An adjuster's *record* is one row per past situation whose outcome is known at the as-of: the change it proposed
(`pct`), the baseline it proposed it on (`baseline`, and `sigma`, the baseline's log spread from its 80 %
interval) and what came in (`actual`). The caller picks the rows (eval: the run's earlier origins; ask: the
workspace's eval runs, agent.record) — nothing here looks at a date.

Trust is fitted separately for downward and upward proposals (planners' judgmental adjustments: downward ones are
reliable, upward ones overshoot): with p = log(1 + pct/100) and o = log(actual / baseline), the weight w minimising
sum (o - w p)^2 + STRENGTH (w - prior)^2, clipped to [0, 1] — an adjuster whose record says it hurts ends up near 0,
one whose proposals were right near 1, and with little record the prior holds. STRENGTH is in squared log units:
0.2 is the weight of five past proposals of 20 % (or twenty of 10 %): on MRTS a weight of 0.02 let the two
proposals of December 2018 halve the carry adjuster's trust just before March 2020. Priors: an LLM's proposals start at half (down) and a quarter
(up) — untested judgment; the statistical adjusters (carry, analog) start at 1, their size being already a
shrunk estimate from past cases.

The applied change is w * p; the interval then comes from forecasting.conformal on the same record with that trust
applied (its own past errors), spanning the adjusted forecast and its baseline: a bold move gets a wide interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.forecasting import conformal

STRENGTH = 0.2
PRIORS = {"llm": (0.5, 0.25)}  # adjuster → (down, up) prior trust
DEFAULT_PRIOR = (1.0, 1.0)


def record_key(source: str, model: str | None = None, prompt: str | None = None) -> str:
    """Whose record a proposal joins: an LLM's is its model × prompt, a statistical adjuster's its name."""
    return f"llm|{model or '?'}|{prompt or '?'}" if source == "llm" else source


def prior_of(key: str) -> tuple[float, float]:
    return PRIORS.get(key.split("|", 1)[0], DEFAULT_PRIOR)


@dataclass
class Learned:
    key: str
    down: float  # trust applied to downward proposals
    up: float
    n_down: int  # record rows behind each (proposals of that sign)
    n_up: int
    n: int  # record rows with a known outcome
    q80: float | None  # conformal quantiles of the trusted errors (None: under MIN_SCORES, the normal one is used)
    q95: float | None
    prior: tuple[float, float] = DEFAULT_PRIOR

    def weight(self, pct: float) -> float:
        return self.down if pct < 0 else self.up if pct > 0 else 1.0

    def applied(self, pct: float) -> float:
        """The change applied: the trust-weighted proposal (on the log scale)."""
        return 100.0 * math.expm1(self.weight(pct) * math.log1p(pct / 100.0))

    @property
    def q(self) -> dict[int, float | None]:
        return {80: self.q80, 95: self.q95}

    def describe(self) -> str:
        def side(w, n, prior):
            return f"{w:.2f} from {n} past proposals" if n else f"{w:.2f} (prior: no record)"
        return (f"trust down {side(self.down, self.n_down, self.prior[0])}, up {side(self.up, self.n_up, self.prior[1])}"
                f"; interval from {self.n} past errors" + ("" if self.q80 is not None else " (too few: normal quantile)"))


def _fit(p: np.ndarray, o: np.ndarray, prior: float) -> float:
    w = (float(p @ o) + STRENGTH * prior) / (float(p @ p) + STRENGTH)
    return min(max(w, 0.0), 1.0)


def learn(record: pd.DataFrame, key: str) -> Learned:
    """Trust and interval quantiles from a record (columns pct, baseline, actual, sigma and, where known, ext_down
    and ext_up: how far the situation's recent breaks extend its interval, forecasting.conformal), all rows
    known."""
    prior = prior_of(key)
    ok = record[(record["baseline"] > 0) & (record["actual"] > 0)] if len(record) else record
    if not len(ok):
        return Learned(key, prior[0], prior[1], 0, 0, 0, None, None, prior)
    p = np.log1p(ok["pct"].to_numpy("float64") / 100.0)
    o = np.log(ok["actual"].to_numpy("float64") / ok["baseline"].to_numpy("float64"))
    down, up = p < 0, p > 0
    w_down, w_up = _fit(p[down], o[down], prior[0]), _fit(p[up], o[up], prior[1])
    move = np.where(down, w_down * p, np.where(up, w_up * p, 0.0))
    forecast = ok["baseline"].to_numpy("float64") * np.exp(move)
    ext = [ok[c].to_numpy("float64") if c in ok.columns else 0.0 for c in ("ext_down", "ext_up")]
    q = conformal.quantiles(conformal.scores(ok["actual"], forecast, ok["sigma"], move, *ext))
    return Learned(key, w_down, w_up, int(down.sum()), int(up.sum()), len(ok), q[80], q[95], prior)


def prior_only(key: str) -> Learned:
    return learn(pd.DataFrame(columns=["pct", "baseline", "actual", "sigma"]), key)
