"""Optional pairwise LLM judge (behind `eval --judge`), on any backend's `ModelPool.score`.

Bias mitigation: every pair is judged in both orders (position bias cancels in the average), the
batch order is shuffled with a seed, and both answers are cut to the same word budget (verbosity
bias). The verdict comes from the likelihood of " 1" vs " 2" after the prompt, so it is always a
valid choice; no free text is parsed. The default eval metrics stay rule- and label-based.
"""

from __future__ import annotations

import math
import random

from pydantic import BaseModel

from crisis_mas.pool.base import ModelPool
from crisis_mas.pool.types import ChatMessage, ScoreRequest
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario

RUBRIC = (
    "You are a senior Greek civil protection officer grading two recommendations for the same "
    "crisis. Prefer the one that (1) protects life first, (2) keeps responders safe, (3) states "
    "hazardous-material facts correctly, (4) is feasible with the resources described. Length "
    "is not a merit."
)


class PairJudgement(BaseModel):
    scenario_id: str
    p_b: float  # probability the judge prefers B, averaged over both orders
    p_b_first: float  # B shown as response 1
    p_b_second: float  # B shown as response 2
    winner: str  # "A", "B" or "tie"


def _summary(r: Report, words: int) -> str:
    top = r.decision.ranking[0] if r.decision.ranking else None
    head = f"Recommended: {top.alternative_id} ({top.name})." if top else "No recommendation."
    text = f"{head} {r.decision.explanation}"
    return " ".join(text.split()[:words])


def equal_budget(a: Report, b: Report, max_words: int = 120) -> tuple[str, str]:
    """Both summaries cut to the same number of words (the shorter one's, at most max_words)."""
    n = min(max_words, len(_summary(a, 10_000).split()), len(_summary(b, 10_000).split()))
    return _summary(a, n), _summary(b, n)


def _request(s: Scenario, first: str, second: str, tag: str) -> ScoreRequest:
    user = (
        f"Crisis ({s.type}): {s.name}. {s.description}\n\n"
        f"Response 1: {first}\n\nResponse 2: {second}\n\n"
        "Which response is better? Answer 1 or 2."
    )
    return ScoreRequest(
        messages=[
            ChatMessage(role="system", content=RUBRIC),
            ChatMessage(role="user", content=user),
        ],
        prefix="Better response:",
        continuations=[" 1", " 2"],
        tags={"kind": "judge", "order": tag, "scenario": s.id},
    )


def _p_second(logprobs: list[float]) -> float:
    m = max(logprobs)
    e = [math.exp(x - m) for x in logprobs]
    return e[1] / sum(e)


def judge_pairs(
    pool: ModelPool,
    pairs: list[tuple[Scenario, Report, Report]],
    seed: int = 0,
    margin: float = 0.1,
) -> list[PairJudgement]:
    """Judge (scenario, A, B) triples in one batch, each in both orders."""
    reqs: list[tuple[int, str, ScoreRequest]] = []
    for i, (s, a, b) in enumerate(pairs):
        sa, sb = equal_budget(a, b)
        reqs.append((i, "b_first", _request(s, sb, sa, "b_first")))
        reqs.append((i, "b_second", _request(s, sa, sb, "b_second")))
    random.Random(seed).shuffle(reqs)
    results = pool.score([r for *_, r in reqs]) if reqs else []
    got: dict[int, dict[str, float]] = {}
    for (i, order, _), res in zip(reqs, results, strict=True):
        p2 = _p_second(res.logprobs)
        got.setdefault(i, {})[order] = 1 - p2 if order == "b_first" else p2
    out = []
    for i, (s, _, _) in enumerate(pairs):
        p1, p2 = got[i]["b_first"], got[i]["b_second"]
        p = (p1 + p2) / 2
        winner = "B" if p > 0.5 + margin else ("A" if p < 0.5 - margin else "tie")
        out.append(
            PairJudgement(
                scenario_id=s.id,
                p_b=round(p, 4),
                p_b_first=round(p1, 4),
                p_b_second=round(p2, 4),
                winner=winner,
            )
        )
    return out


class JudgeSummary(BaseModel):
    wins_a: int
    wins_b: int
    ties: int
    mean_p_b: float
    judgements: list[PairJudgement]


def summarise(js: list[PairJudgement]) -> JudgeSummary:
    return JudgeSummary(
        wins_a=sum(j.winner == "A" for j in js),
        wins_b=sum(j.winner == "B" for j in js),
        ties=sum(j.winner == "tie" for j in js),
        mean_p_b=round(sum(j.p_b for j in js) / len(js), 4) if js else 0.5,
        judgements=js,
    )
