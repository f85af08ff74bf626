"""Ops configuration: which middleware links run, in which order, and their settings.

The default chain, outermost first (see `DEFAULT_CHAIN`):

    trace -> metrics -> input_guard -> grounding -> cache -> output_guard -> hazmat -> (model)

Trace and metrics wrap everything so they see what the caller sees: cache hits (`cached=True`)
and input-guard blocks (`blocked=True`, answered without reaching the cache or the model), plus
the end-to-end latency. The input guard runs before the cache, so a blocked prompt never reads
or fills it. Grounding sits inside the input guard (a blocked request has no answer to check)
and outside the cache, so answers served from the cache are checked against this request's
scenario and passages too (the check is pure: ~10-15 ms per answer on 2 CPUs). The cache sits
outside the output guard and HAZMAT check: it stores answers that already passed them, and
never stores blocked or flagged answers (see `ops/cache`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crisis_mas.safety.config import GroundingConfig, GuardConfig, HazmatConfig
from crisis_mas.store.config import StoreConfig

# Outermost first. The logical order is input guard -> cache -> model -> output guard and
# HAZMAT -> trace and metrics; trace and metrics are wrappers, so they sit outermost to observe it.
DEFAULT_CHAIN: list[str] = [
    "trace",
    "metrics",
    "input_guard",
    "grounding",
    "cache",
    "output_guard",
    "hazmat",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SemanticCacheConfig(_Strict):
    """Near-duplicate lookup: cosine >= threshold AND identical numbers/chemicals/places."""

    enabled: bool = True
    # all-MiniLM-L6-v2 cosine; paraphrases score ~0.85-0.97 (docs/bench/ops.md).
    threshold: float = Field(default=0.85, ge=0.5, le=1.0)
    # Request kinds eligible for semantic hits. Live assessments are long, scenario-specific
    # prompts: they get exact hits only, so a changed sentence can never reuse an answer.
    kinds: list[str] = Field(default_factory=lambda: ["reference", "chat"])
    # Only the last user message is embedded; longer ones get exact caching only (MiniLM reads
    # 256 word pieces, so differences past that would be invisible to it).
    max_chars: int = Field(default=1000, ge=50)
    # Entries kept per scope (same base, adapter, sampling, versions and earlier messages).
    max_entries: int = Field(default=2000, ge=10)


class CacheConfig(_Strict):
    """Response cache: exact key + semantic lookup over Redis or an embedded SQLite file."""

    enabled: bool = True
    # auto: Redis when `redis_url` or $REDIS_URL is set, else the embedded SQLite file.
    backend: Literal["auto", "redis", "sqlite"] = "auto"
    redis_url: str | None = None
    # Default: $CRISIS_MAS_HOME/cache/responses.db
    sqlite_path: str | None = None
    # Bump to invalidate every entry (old ones become unreachable and expire; `cache clear`
    # drops them).
    namespace: str = Field(default="v1", pattern=r"^[A-Za-z0-9_.-]+$")
    # Seconds to live per request kind (tag `kind`); 0 = never cache that kind.
    ttl_s: dict[str, int] = Field(
        default_factory=lambda: {
            "reference": 30 * 24 * 3600,
            "chat": 3600,
            "assessment": 600,
            "score": 600,
        }
    )
    default_ttl_s: int = Field(default=600, ge=0)
    # Never cache prompts with e-mails, phone numbers, ID numbers or dated timestamps, in addition
    # to requests tagged `no_cache="1"`.
    detect_pii: bool = True
    semantic: SemanticCacheConfig = Field(default_factory=SemanticCacheConfig)
    # Redis: per-command socket timeout, pool size, and how long to bypass after a failure.
    redis_timeout_s: float = Field(default=0.5, gt=0)
    redis_max_connections: int = Field(default=32, ge=1)
    retry_after_s: float = Field(default=30.0, ge=0)

    def ttl_for(self, kind: str | None) -> int:
        return self.ttl_s.get(kind or "", self.default_ttl_s)


class TracingConfig(_Strict):
    """Langfuse tracing; active only when LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set."""

    enabled: bool = True
    # Export timeout (seconds) unless $LANGFUSE_TIMEOUT is set; the SDK takes whole seconds.
    timeout_s: int = Field(default=2, ge=1)
    # Upper bound on `flush()` at run end; the export continues in the background after it.
    flush_timeout_s: float = Field(default=2.0, ge=0)
    # Send prompts and answers as generation input/output (truncated per message).
    capture_io: bool = True
    max_io_chars: int = Field(default=4000, ge=0)


class MetricsConfig(_Strict):
    """Prometheus metrics and the persistent event log the alert rules read."""

    enabled: bool = True
    # The event log lives in the store; AppConfig sets this to its `store` section (None: the
    # default store). Not part of the YAML: `store.url` moves the event log too.
    store: StoreConfig | None = Field(default=None, exclude=True)
    # Deprecated: keep the event log in a SQLite file of its own instead.
    events_path: str | None = None
    retention_days: float = Field(default=7.0, gt=0)
    # Cost estimate per 1000 tokens (USD) for self-hosted inference; also used by tracing.
    cost_per_1k_prompt_tokens: float = Field(default=0.0002, ge=0)
    cost_per_1k_completion_tokens: float = Field(default=0.0006, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.cost_per_1k_prompt_tokens
            + completion_tokens * self.cost_per_1k_completion_tokens
        ) / 1000.0


AlertMetric = Literal[
    "error_rate", "p95_latency_ms", "daily_cost_usd", "safety_failure_rate", "cache_hit_ratio"
]


class AlertRule(_Strict):
    """Fires when `metric op threshold` over the window (per expert, grouped into one alert)."""

    name: str
    metric: AlertMetric
    op: Literal[">", "<"] = ">"
    threshold: float
    severity: Literal["info", "warning", "critical"] = "warning"
    # Ignore experts with fewer requests in the window (a single error is not a 100% error rate).
    min_requests: int = Field(default=5, ge=0)


def _default_rules() -> list[AlertRule]:
    return [
        AlertRule(name="high_error_rate", metric="error_rate", threshold=0.05, severity="critical"),
        AlertRule(name="slow_model_calls", metric="p95_latency_ms", threshold=15000.0),
        AlertRule(name="daily_cost", metric="daily_cost_usd", threshold=5.0, min_requests=0),
        AlertRule(
            name="safety_failures", metric="safety_failure_rate", threshold=0.2, severity="critical"
        ),
        AlertRule(
            name="low_cache_hit_ratio",
            metric="cache_hit_ratio",
            op="<",
            threshold=0.05,
            severity="info",
            min_requests=50,
        ),
    ]


class AlertsConfig(_Strict):
    """Alert rules evaluated by `crisis-mas health --alerts` over the recorded events."""

    window_s: int = Field(default=3600, ge=60)
    # A rule that keeps firing notifies once per throttle period; repeats only raise its count.
    throttle_s: int = Field(default=900, ge=0)
    rules: list[AlertRule] = Field(default_factory=_default_rules)
    # Optional: POST each new (unthrottled) alert group as JSON here (2 s timeout, best effort).
    webhook_url: str | None = None


class OpsConfig(_Strict):
    # Outermost first. Names resolve through crisis_mas.middleware.chain.LINKS.
    chain: list[str] = Field(default_factory=lambda: list(DEFAULT_CHAIN))
    guard: GuardConfig = Field(default_factory=GuardConfig)
    hazmat: HazmatConfig = Field(default_factory=HazmatConfig)
    grounding: GroundingConfig = Field(default_factory=GroundingConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
