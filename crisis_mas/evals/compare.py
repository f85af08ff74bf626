"""Paired comparison of two eval runs over the same scenarios: a paired bootstrap of the mean
per-scenario quality difference (always), Wilcoxon signed-rank when scipy is present, and the
safety deltas, summarised in one verdict line. Pairing by scenario removes scenario difficulty."""

from __future__ import annotations

import random

from pydantic import BaseModel

from crisis_mas.evals.results import EvalRun


class Comparison(BaseModel):
    a: str
    b: str
    n_pairs: int
    mean_diff: float  # quality(B) - quality(A); quality in {-1, 0, 1}, averaged per scenario
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_wilcoxon: float | None
    significant: bool
    safety_regression: bool
    deltas: dict[str, float]  # metric -> B - A
    verdict: str


def _paired(a: EvalRun, b: EvalRun) -> list[tuple[str, float, float]]:
    sa, sb = a.by_scenario(), b.by_scenario()
    common = sorted(set(sa) & set(sb))

    def mean(xs: list) -> float:
        return sum(x.quality for x in xs) / len(xs)

    return [(k, mean(sa[k]), mean(sb[k])) for k in common]


def bootstrap(diffs: list[float], reps: int = 5000, seed: int = 0) -> tuple[float, float, float]:
    """95% percentile CI of the mean difference and a two-sided bootstrap p-value."""
    if not diffs:
        return 0.0, 0.0, 1.0
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(rng.choice(diffs) for _ in range(n)) / n for _ in range(reps))
    lo, hi = means[int(0.025 * reps)], means[min(reps - 1, int(0.975 * reps))]
    below = sum(m <= 0 for m in means) / reps
    above = sum(m >= 0 for m in means) / reps
    return lo, hi, min(1.0, 2 * min(below, above))


def wilcoxon(diffs: list[float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p (scipy); 1.0 when every pair ties; None without scipy."""
    try:
        from scipy.stats import wilcoxon as _w
    except ImportError:  # pragma: no cover - scipy is in the venv today
        return None
    if not any(diffs):
        return 1.0
    return float(_w(diffs, zero_method="zsplit").pvalue)


def compare_runs(a: EvalRun, b: EvalRun, alpha: float = 0.05, reps: int = 5000) -> Comparison:
    """Is B better than A on the scenarios both ran? Significant = bootstrap CI excludes 0 and
    (when available) Wilcoxon p < alpha; a safety regression is reported whatever the quality."""
    pairs = _paired(a, b)
    diffs = [qb - qa for _, qa, qb in pairs]
    mean_diff = sum(diffs) / len(diffs) if diffs else 0.0
    lo, hi, p_boot = bootstrap(diffs, reps)
    p_w = wilcoxon(diffs) if diffs else None
    significant = bool(diffs) and (lo > 0 or hi < 0) and (p_w is None or p_w < alpha)
    ma, mb = a.metrics, b.metrics
    keys = (
        "top1_acceptable_rate",
        "unacceptable_chosen_rate",
        "hazmat_contradiction_rate",
        "fact_error_rate",
        "schema_valid_rate",
        "consensus_mean",
        "latency_p95_ms",
        "cost_usd",
    )
    deltas = {k: round((getattr(mb, k) or 0.0) - (getattr(ma, k) or 0.0), 4) for k in keys}
    regression = (
        deltas["unacceptable_chosen_rate"] > 0
        or deltas["hazmat_contradiction_rate"] > 0
        or deltas["fact_error_rate"] > 0
    )
    na, nb = (a.config, b.config)
    if na == nb:  # the same config file evaluated twice: name the eval runs
        na, nb = f"{a.config}@{a.eval_id}", f"{b.config}@{b.eval_id}"
    if not diffs:
        head = "no common scenarios: nothing to compare"
    elif significant:
        head = f"{nb} is {'better' if mean_diff > 0 else 'worse'} than {na}"
    else:
        head = f"no significant difference between {nb} and {na}"
    p_text = f", Wilcoxon p={p_w:.3f}" if p_w is not None else ""
    verdict = (
        f"{head} (quality diff {mean_diff:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}], "
        f"bootstrap p={p_boot:.3f}{p_text}, n={len(diffs)} scenarios)"
        + (
            "; SAFETY REGRESSION in "
            + ", ".join(
                k
                for k in (
                    "unacceptable_chosen_rate",
                    "hazmat_contradiction_rate",
                    "fact_error_rate",
                )
                if deltas[k] > 0
            )
            if regression
            else ""
        )
    )
    return Comparison(
        a=a.config,
        b=b.config,
        n_pairs=len(diffs),
        mean_diff=round(mean_diff, 4),
        ci_low=round(lo, 4),
        ci_high=round(hi, 4),
        p_bootstrap=round(p_boot, 4),
        p_wilcoxon=None if p_w is None else round(p_w, 4),
        significant=significant,
        safety_regression=regression,
        deltas=deltas,
        verdict=verdict,
    )
