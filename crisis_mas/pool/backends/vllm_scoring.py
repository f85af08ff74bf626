"""Scoring on vLLM with prompt log-probabilities that read the prefix cache.

Each (request, continuation) pair is one job: the context (rendered chat + prefix) and the
continuation's tokens. A context shared by several continuations is prefilled once (warm), then
every job computes only its uncached tail; positions the engine served from the cache carry no
logprob and are filled from a sibling job that computed them, or the job is scored again without
the cache. Shared by the offline pool (`vllm.VLLMPool`) and the Serve engine (`vllm_async`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crisis_mas.pool.base import ModelPoolError
from crisis_mas.pool.chat_template import continuation_token_ids, render_chat
from crisis_mas.pool.types import ScoreRequest, ScoreResult


@dataclass
class ScoreJob:
    """One continuation to score: its token ids, where the continuation starts, its request."""

    request: int
    context: list[int]
    continuation: list[int]

    @property
    def ids(self) -> list[int]:
        return self.context + self.continuation

    @property
    def start(self) -> int:
        return len(self.context)


def score_jobs(tokenizer: Any, requests: list[ScoreRequest]) -> list[ScoreJob]:
    """Every (request, continuation) pair, tokenised with the exact context/continuation split."""
    jobs = []
    for i, r in enumerate(requests):
        context = render_chat(tokenizer, r.messages) + r.prefix
        for cont in r.continuations:
            ctx_ids, cont_ids = continuation_token_ids(tokenizer, context, cont)
            jobs.append(ScoreJob(i, ctx_ids, cont_ids))
    return jobs


def unique_contexts(jobs: list[ScoreJob]) -> list[int]:
    """One job index per distinct context shared by two or more continuations (to warm)."""
    seen: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for k, j in enumerate(jobs):
        seen.setdefault((j.request, tuple(j.context)), []).append(k)
    return [ks[0] for ks in seen.values() if len(ks) > 1]


def warm_params() -> Any:
    """A one-token pass that fills the prefix cache with a context's full blocks."""
    from vllm import SamplingParams

    return SamplingParams(max_tokens=1, temperature=0.0, detokenize=False)


def cached_score_params() -> Any:
    """Prompt logprobs, reading the prefix cache (only uncached positions are computed)."""
    from vllm import SamplingParams

    # detokenize=False: cached positions hold unset values that vLLM would try to decode.
    return SamplingParams(
        max_tokens=1,
        temperature=0.0,
        prompt_logprobs=0,
        detokenize=False,
        skip_reading_prefix_cache=False,
    )


def exact_score_params() -> Any:
    """Prompt logprobs for every position (the cache is not read)."""
    from vllm import SamplingParams

    return SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)


def token_logprobs(output: Any, job: ScoreJob) -> list[float | None]:
    """The log-probability of each continuation token; None where the engine read the token's
    position from the prefix cache (it returns no logprob there)."""
    ids, lps = output.prompt_token_ids, output.prompt_logprobs or []
    row: list[float | None] = []
    for i in range(job.start, len(ids)):
        entry = lps[i] if i < len(lps) else None
        row.append(entry[ids[i]].logprob if entry is not None and ids[i] in entry else None)
    return row


def fill_from_siblings(jobs: list[ScoreJob], rows: list[list[float | None]]) -> int:
    """Fill gaps in `rows` from sibling continuations of the same request; returns how many.

    Two continuations that begin with the same tokens (" v_road_convoy", " v_road_block")
    share those positions: when a KV block ends inside the shared part, the job scheduled
    second reads it from the prefix cache and gets no logprob there, while its sibling computed
    the very same position (same context, same tokens before it), so the value is exact. Only
    what no sibling computed has to be scored again without the cache.
    """
    known: dict[tuple[int, tuple[int, ...]], float] = {}
    for j, row in zip(jobs, rows, strict=True):
        for i, lp in enumerate(row):
            if lp is not None:
                known.setdefault((j.request, tuple(j.continuation[: i + 1])), lp)
    filled = 0
    for j, row in zip(jobs, rows, strict=True):
        for i, lp in enumerate(row):
            if lp is None:
                got = known.get((j.request, tuple(j.continuation[: i + 1])))
                if got is not None:
                    row[i], filled = got, filled + 1
    return filled


def row_sums(rows: list[list[float | None]]) -> list[float]:
    """Each continuation's log-likelihood (every position must be known by now)."""
    out = []
    for row in rows:
        if any(lp is None for lp in row):
            raise ModelPoolError("vLLM scoring returned no log-probability for a token")
        out.append(sum(lp for lp in row if lp is not None))
    return out


def collect_scores(
    requests: list[ScoreRequest], jobs: list[ScoreJob], sums: list[float], ms: list[float]
) -> list[ScoreResult]:
    """Per-request results from per-continuation sums (same order as the requests)."""
    out = []
    for i, r in enumerate(requests):
        ks = [k for k, j in enumerate(jobs) if j.request == i]
        out.append(
            ScoreResult(
                request_id=r.request_id,
                logprobs=[sums[k] for k in ks],
                token_counts=[len(jobs[k].continuation) for k in ks],
                prompt_tokens=len(jobs[ks[0]].context) if ks else 0,
                latency_ms=max((ms[k] for k in ks), default=0.0),
            )
        )
    return out
