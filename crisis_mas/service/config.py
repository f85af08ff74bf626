"""Typed configuration of the Serve application, and where it comes from.

`ServeAppConfig` is the `args:` of a Ray Serve deploy file (`import_path:
crisis_mas.service.app:build_app`), so the same YAML works with `crisis-mas serve --config`,
`serve run` and `serve deploy`. It holds the two deployments (model pool, ingress: replicas fixed
or autoscaling, CPUs/GPUs per replica), the HTTP API limits, and the crisis-mas `AppConfig` under
`crisis_mas:` (engine settings such as the base model, adapters, `max_loras`, KV cache and
`tensor_parallel_size` live there, in `crisis_mas.model`, exactly as for `crisis-mas run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crisis_mas.config import AppConfig
from crisis_mas.errors import InputError, describe_validation_error
from crisis_mas.textio import MAX_DEPTH, parse_yaml, read_text_file

IMPORT_PATH = "crisis_mas.service.app:build_app"
DEFAULT_APP_NAME = "crisis-mas"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AutoscalingSpec(_Strict):
    """Serve autoscaling: replicas follow the number of requests in flight per replica."""

    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=1, ge=1)
    target_ongoing_requests: float = Field(default=8.0, gt=0)
    upscale_delay_s: float = Field(default=30.0, ge=0)
    downscale_delay_s: float = Field(default=600.0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> AutoscalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must be <= max_replicas")
        return self


class DeploymentSpec(_Strict):
    """Replicas (fixed `num_replicas`, or `autoscaling`) and resources per replica."""

    num_replicas: int | None = Field(default=1, ge=1)
    autoscaling: AutoscalingSpec | None = None
    num_cpus: float = Field(default=1.0, ge=0)
    num_gpus: float = Field(default=0.0, ge=0)
    # Requests one replica accepts at once (Serve queues the rest). The model pool needs many:
    # each in-flight batch is one request, and the engine batches them together.
    max_ongoing_requests: int = Field(default=64, ge=1)
    # Extra environment variables for the replica processes (runtime_env env_vars).
    env: dict[str, str] = Field(default_factory=dict)

    def serve_options(self) -> dict[str, Any]:
        """Keyword arguments for `Deployment.options(...)`."""
        opts: dict[str, Any] = {"max_ongoing_requests": self.max_ongoing_requests}
        if self.autoscaling is not None:
            a = self.autoscaling
            opts["num_replicas"] = "auto"
            opts["autoscaling_config"] = {
                "min_replicas": a.min_replicas,
                "initial_replicas": max(a.min_replicas, 1),
                "max_replicas": a.max_replicas,
                "target_ongoing_requests": a.target_ongoing_requests,
                "upscale_delay_s": a.upscale_delay_s,
                "downscale_delay_s": a.downscale_delay_s,
            }
        else:
            opts["num_replicas"] = self.num_replicas or 1
        actor: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.num_gpus:
            actor["num_gpus"] = self.num_gpus
        if self.env:
            actor["runtime_env"] = {"env_vars": dict(self.env)}
        opts["ray_actor_options"] = actor
        return opts

    def replica_bounds(self) -> tuple[int, int]:
        """(fewest, most) replicas this spec can run."""
        if self.autoscaling is not None:
            return max(self.autoscaling.min_replicas, 1), self.autoscaling.max_replicas
        n = self.num_replicas or 1
        return n, n


def _ingress_default() -> DeploymentSpec:
    # 0.25 CPU: a whole CPU for the ingress never schedules on a 2-CPU box once the engine holds
    # its share, and `serve.run` then waits forever (docs/serving.md).
    return DeploymentSpec(num_cpus=0.25, max_ongoing_requests=64)


class RateLimitSpec(_Strict):
    """Token bucket per client: its valid bearer token, else its address (the Authorization
    header of a request without a valid token never picks the bucket). In memory per ingress
    replica, or in Redis, shared by every replica."""

    enabled: bool = True
    requests_per_minute: float = Field(default=600.0, gt=0)
    burst: int = Field(default=60, ge=1)
    # auto: Redis when `redis_url` or the cache's Redis (ops.cache.redis_url / REDIS_URL) is set.
    backend: Literal["auto", "memory", "redis"] = "auto"
    redis_url: str | None = Field(default=None, min_length=1)


class ApiSpec(_Strict):
    """HTTP API behaviour: auth, limits and deadlines."""

    # Name of the environment variable holding the bearer token (unset: no auth, loopback only).
    token_env: str = "CRISIS_MAS_API_TOKEN"
    # Paths reachable without the token (probes and the API docs).
    public_paths: list[str] = Field(default_factory=lambda: ["/healthz", "/docs", "/openapi.json"])
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Nesting limit of JSON bodies (400 above), checked before parsing.
    max_json_depth: int = Field(default=MAX_DEPTH, ge=4, le=256)
    # Host header names served (DNS rebinding defence); None: loopback names plus the address
    # the proxies listen on (any name when they listen on all interfaces, which needs a token).
    # "*" serves any; a leading dot matches subdomains (".example.org").
    allowed_hosts: list[str] | None = None
    # Origins (scheme://host[:port]) besides the server's own that may send state-changing
    # requests; cross-site POST/PUT/PATCH/DELETE from anywhere else get 403.
    allowed_origins: list[str] = Field(default_factory=list)
    rate_limit: RateLimitSpec = Field(default_factory=RateLimitSpec)
    # Deadline of one batched model call (generate or score) in the model pool.
    model_timeout_s: float = Field(default=180.0, gt=0)
    # Deadline of a whole synchronous assessment (a few model calls plus retrieval).
    assessment_timeout_s: float = Field(default=900.0, gt=0)
    # Assessments and chat completions run in worker threads; at most this many at once.
    max_concurrent_assessments: int = Field(default=16, ge=1)
    max_concurrent_chat: int = Field(default=32, ge=1)
    # Upper bound on `max_tokens` for chat completions.
    max_chat_tokens: int = Field(default=1024, ge=1)
    # An async job whose replica has not reported for this long is reported as lost.
    job_stale_after_s: float = Field(default=60.0, ge=5)


class ServeAppConfig(_Strict):
    """Everything `build_app` needs; the `args:` of the Serve deploy file."""

    name: str = DEFAULT_APP_NAME
    model_pool: DeploymentSpec = Field(default_factory=DeploymentSpec)
    ingress: DeploymentSpec = Field(default_factory=_ingress_default)
    api: ApiSpec = Field(default_factory=ApiSpec)
    crisis_mas: AppConfig = Field(default_factory=AppConfig)

    @model_validator(mode="after")
    def _gpus_cover_tensor_parallelism(self) -> ServeAppConfig:
        m = self.crisis_mas.model
        if m.backend != "vllm":
            raise ValueError(
                "crisis_mas.model.backend must be 'vllm' for the Serve app (the model pool "
                "deployment runs vLLM's AsyncLLM)"
            )
        if m.device == "cuda" and self.model_pool.num_gpus < m.tensor_parallel_size:
            raise ValueError(
                f"model_pool.num_gpus ({self.model_pool.num_gpus:g}) must be at least "
                f"crisis_mas.model.tensor_parallel_size ({m.tensor_parallel_size})"
            )
        return self

    def model_pool_options(self) -> dict[str, Any]:
        """Serve options of the model pool; tensor parallelism gets one GPU bundle per shard."""
        opts = self.model_pool.serve_options()
        tp = self.crisis_mas.model.tensor_parallel_size
        if self.crisis_mas.model.device == "cuda" and tp > 1:
            actor = opts["ray_actor_options"]
            actor.pop("num_gpus", None)
            # The replica sits in the first bundle; vLLM's Ray executor puts one worker per GPU
            # bundle of the replica's placement group (the pattern ray.serve.llm uses).
            opts["placement_group_bundles"] = [{"CPU": self.model_pool.num_cpus, "GPU": 1}] + [
                {"GPU": 1} for _ in range(tp - 1)
            ]
            opts["placement_group_strategy"] = "STRICT_PACK"
        return opts

    def ingress_options(self) -> dict[str, Any]:
        return self.ingress.serve_options()

    def resources_needed(self) -> dict[str, float]:
        """CPUs and GPUs the minimum replica counts reserve (to fail fast when they cannot fit)."""
        mp_min, _ = self.model_pool.replica_bounds()
        in_min, _ = self.ingress.replica_bounds()
        gpus = self.model_pool.num_gpus * mp_min + self.ingress.num_gpus * in_min
        return {
            "CPU": self.model_pool.num_cpus * mp_min + self.ingress.num_cpus * in_min,
            "GPU": gpus,
        }


def parse_serve_config(args: Any, source: str = "args") -> ServeAppConfig:
    """Validate builder args (a dict); raises InputError naming the field."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InputError(f"{source}: expected a mapping, got {type(args).__name__}")
    try:
        return ServeAppConfig.model_validate(args)
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{source}: ")) from None


class HttpOptions(BaseModel):
    """The deploy file's `http_options` that `crisis-mas serve` reads (others are Ray's)."""

    model_config = ConfigDict(extra="allow")

    host: str | None = Field(default=None, min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)


class ServeFile(BaseModel):
    """What `crisis-mas serve --config FILE` found in a file."""

    app: ServeAppConfig
    host: str | None = None
    port: int | None = None


def load_serve_file(path: str | Path | None) -> ServeFile:
    """Read a Serve deploy file, a bare `ServeAppConfig`, or a plain crisis-mas `AppConfig`.

    - A deploy file (`applications:`) contributes its crisis-mas application's `args`, its
      `name` and its `http_options` host/port.
    - A mapping with `model_pool`, `ingress`, `api` or `crisis_mas` keys is a `ServeAppConfig`.
    - Anything else is an `AppConfig` (e.g. `configs/embedded-cpu.yaml`), served with defaults.
    """
    if path is None:
        return ServeFile(app=ServeAppConfig())
    p = Path(path)
    data = parse_yaml(read_text_file(p, "config file"), str(p)) or {}  # bounded (textio)
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping at the top level")
    if "applications" in data:
        apps = data["applications"] or []
        ours = [a for a in apps if isinstance(a, dict) and a.get("import_path") == IMPORT_PATH]
        if not ours:
            raise InputError(f"{p}: no application with import_path {IMPORT_PATH}")
        args = ours[0].get("args") or {}
        where = f"{p}: applications[{ours[0].get('name')}].args"
        if not isinstance(args, dict):
            raise InputError(f"{where}: expected a mapping")
        args = dict(args)
        args.setdefault("name", ours[0].get("name", DEFAULT_APP_NAME))
        try:
            http = HttpOptions.model_validate(data.get("http_options") or {})
        except ValidationError as err:
            raise InputError(describe_validation_error(err, f"{p}: http_options.")) from None
        return ServeFile(app=parse_serve_config(args, where), host=http.host, port=http.port)
    if {"model_pool", "ingress", "api", "crisis_mas"} & set(data):
        return ServeFile(app=parse_serve_config(data, str(p)))
    try:
        return ServeFile(app=ServeAppConfig(crisis_mas=AppConfig.model_validate(data)))
    except ValidationError as err:
        raise InputError(describe_validation_error(err, f"{p}: ")) from None
