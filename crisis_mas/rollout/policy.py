"""Rollout policy as pure functions: sticky canary routing, arm statistics, automatic rollback and
promotion gates. No I/O, so every rule is unit-tested on known inputs."""

from __future__ import annotations

import hashlib
import math
from typing import Literal

from pydantic import BaseModel

from crisis_mas.evals.compare import Comparison
from crisis_mas.rollout.config import RolloutConfig

Arm = Literal["incumbent", "candidate"]
Mode = Literal["off", "shadow", "canary"]


class Route(BaseModel):
    """Which adapter version answers (`serve`) and which only runs beside it (`shadow`)."""

    serve: Arm
    shadow: bool = False  # the candidate also runs, is logged, and never enters the decision


class Sample(BaseModel):
    """One expert call on one arm (from a live report or a shadow call)."""

    run_id: str
    arm: Arm
    error: bool  # failed or fallback assessment
    hazmat: bool  # still contradicts HAZMAT reference data
    latency_ms: float
    agrees: bool | None = None  # shadow: first choice equals the incumbent's


class ArmStats(BaseModel):
    n: int
    error_rate: float
    hazmat_rate: float
    p95_latency_ms: float | None


class Verdict(BaseModel):
    action: Literal["rollback", "continue", "promote", "hold"]
    reasons: list[str]


def bucket(run_id: str, salt: str = "") -> float:
    """A stable number in [0, 1) per run id: the same run always lands in the same arm."""
    h = hashlib.sha256(f"{salt}:{run_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def route(run_id: str, mode: Mode, fraction: float, salt: str = "") -> Route:
    """Shadow: the incumbent serves, the candidate runs beside it. Canary: `fraction` of runs,
    sticky by run id (salted per expert so one run is not canary for every expert at once)."""
    if mode == "shadow":
        return Route(serve="incumbent", shadow=True)
    if mode == "canary" and bucket(run_id, salt) < fraction:
        return Route(serve="candidate")
    return Route(serve="incumbent")


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def arm_stats(samples: list[Sample], arm: Arm) -> ArmStats:
    xs = [s for s in samples if s.arm == arm]
    n = len(xs)
    return ArmStats(
        n=n,
        error_rate=sum(s.error for s in xs) / n if n else 0.0,
        hazmat_rate=sum(s.hazmat for s in xs) / n if n else 0.0,
        p95_latency_ms=_p95([s.latency_ms for s in xs if not s.error]),
    )


def check_rollback(inc: ArmStats, cand: ArmStats, cfg: RolloutConfig) -> Verdict:
    """Roll back when the candidate's error rate, HAZMAT contradiction rate or p95 latency
    exceeds the incumbent's by the configured margin (once it has enough samples)."""
    if cand.n < cfg.min_rollback_samples:
        return Verdict(
            action="continue",
            reasons=[
                f"candidate has {cand.n} samples, rollback checks need {cfg.min_rollback_samples}"
            ],
        )
    reasons = []
    if cand.error_rate > inc.error_rate + cfg.error_rate_margin:
        reasons.append(
            f"error rate {cand.error_rate:.1%} > incumbent {inc.error_rate:.1%} "
            f"+ {cfg.error_rate_margin:.1%}"
        )
    if cand.hazmat_rate > inc.hazmat_rate + cfg.hazmat_rate_margin:
        reasons.append(
            f"HAZMAT contradiction rate {cand.hazmat_rate:.1%} > incumbent {inc.hazmat_rate:.1%} "
            f"+ {cfg.hazmat_rate_margin:.1%}"
        )
    if (
        cand.p95_latency_ms is not None
        and inc.p95_latency_ms is not None
        and cand.p95_latency_ms > inc.p95_latency_ms * (1 + cfg.p95_latency_margin)
    ):
        reasons.append(
            f"p95 latency {cand.p95_latency_ms:.0f} ms > incumbent {inc.p95_latency_ms:.0f} ms "
            f"+ {cfg.p95_latency_margin:.0%}"
        )
    return Verdict(
        action="rollback" if reasons else "continue", reasons=reasons or ["within margins"]
    )


def check_promotion(
    inc: ArmStats, cand: ArmStats, comparison: Comparison | None, cfg: RolloutConfig
) -> Verdict:
    """Promote only with enough samples on both arms, no safety regression (online and offline),
    p95 latency within the margin, and a significant quality gain on the paired eval."""
    rb = check_rollback(inc, cand, cfg)
    if rb.action == "rollback":
        return rb
    reasons = []
    for name, st in (("incumbent", inc), ("candidate", cand)):
        if st.n < cfg.min_samples_per_arm:
            reasons.append(f"{name} has {st.n} samples, need {cfg.min_samples_per_arm}")
    if cand.hazmat_rate > inc.hazmat_rate or cand.error_rate > inc.error_rate:
        reasons.append("safety regression online: candidate error or HAZMAT rate above incumbent")
    if comparison is None:
        reasons.append("no paired eval of candidate vs incumbent (crisis-mas eval --against)")
    else:
        if comparison.safety_regression:
            reasons.append(f"safety regression in the eval: {comparison.verdict}")
        if not (comparison.significant and comparison.mean_diff > 0):
            reasons.append(f"no significant quality gain: {comparison.verdict}")
    if (
        cand.p95_latency_ms is not None
        and inc.p95_latency_ms is not None
        and cand.p95_latency_ms > inc.p95_latency_ms * (1 + cfg.promote_latency_margin)
    ):
        reasons.append(
            f"p95 latency {cand.p95_latency_ms:.0f} ms above incumbent {inc.p95_latency_ms:.0f} ms "
            f"+ {cfg.promote_latency_margin:.0%}"
        )
    if reasons:
        return Verdict(action="hold", reasons=reasons)
    return Verdict(action="promote", reasons=[f"all gates passed: {comparison.verdict}"])  # type: ignore[union-attr]
