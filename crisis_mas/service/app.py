"""The Ray Serve application: builder functions from a typed config to a Serve `Application`.

Like `ray.serve.llm.build_openai_app(args)`, `build_app(args)` takes the `args:` mapping of a Serve
deploy file, validates it (`ServeAppConfig`) and binds two deployments:

    HTTP -> ApiIngress (FastAPI, Assessor.run)  --handle-->  ModelPool (AsyncLLM + all adapters)

so `serve run deploy/serve-embedded-cpu.yaml`, `serve deploy ...` and `crisis-mas serve --config`
all start the same app from the same YAML (`import_path: crisis_mas.service.app:build_app`).
"""

from __future__ import annotations

import logging
from typing import Any

from ray import serve
from ray.serve.deployment import Application

from crisis_mas.service.config import ServeAppConfig, parse_serve_config

log = logging.getLogger("crisis_mas.service.app")

MODEL_POOL_DEPLOYMENT = "ModelPool"
INGRESS_DEPLOYMENT = "ApiIngress"


@serve.ingress()
class ApiIngress:
    """Ingress deployment: the FastAPI app around one `Assessor` whose pool is the model pool."""

    def __init__(self, model_pool: Any, settings: dict[str, Any]):
        from crisis_mas.pool.factory import expert_adapters
        from crisis_mas.pool.types import ModelInfo
        from crisis_mas.service.api import ApiState
        from crisis_mas.service.deployments import RemotePool, replica_id
        from crisis_mas.service.network import pin_replica_grpc
        from crisis_mas.service.security import api_token, check_bind, serve_bind_host

        pin_replica_grpc()  # Serve's replica gRPC server on the node IP, not [::]
        cfg = ServeAppConfig.model_validate(settings)
        token = api_token(cfg.api.token_env)
        host = serve_bind_host()
        if host is not None:  # also enforced by `crisis-mas serve` before Ray starts
            check_bind(host, token, cfg.api.token_env)
        from crisis_mas.experts.profiles import load_profiles

        adapters = expert_adapters(
            cfg.crisis_mas.model, list(load_profiles()), cfg.crisis_mas.store
        )
        info = ModelInfo(
            base=cfg.crisis_mas.model.base,
            backend="vllm",
            adapters=list(adapters),
            loads_candidates=True,  # the model pool's AsyncEngine loads candidates on first use
        )
        pool = RemotePool(model_pool, info, cfg.api.model_timeout_s)
        self.state = ApiState(cfg, pool, replica_id(), token)
        self.state.warmup()

    def __serve_build_asgi_app__(self) -> Any:
        from crisis_mas.service.api import create_api

        return create_api(self.state)

    def __del__(self) -> None:
        state = getattr(self, "state", None)
        if state is not None:
            state.close()


def build_app_from_config(cfg: ServeAppConfig) -> Application:
    """Bind the model pool and the ingress with the resources and replicas of `cfg`."""
    from crisis_mas.service.deployments import ModelPoolServer

    pool = serve.deployment(ModelPoolServer, name=MODEL_POOL_DEPLOYMENT).options(
        **cfg.model_pool_options()
    )
    ingress = serve.deployment(ApiIngress, name=INGRESS_DEPLOYMENT).options(**cfg.ingress_options())
    model = cfg.crisis_mas.model
    engine_args: dict[str, Any] = model.model_dump(mode="json")
    store = cfg.crisis_mas.store.model_dump(mode="json")  # the same LoRA ids as the ingress
    pool_app = pool.bind(engine_args, _executor_backend(cfg), store)
    return ingress.bind(pool_app, cfg.model_dump(mode="json"))


def _executor_backend(cfg: ServeAppConfig) -> str | None:
    """Tensor parallelism inside a Serve replica uses vLLM's Ray executor (its GPU bundles)."""
    m = cfg.crisis_mas.model
    return "ray" if m.device == "cuda" and m.tensor_parallel_size > 1 else None


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Serve builder (`import_path: crisis_mas.service.app:build_app`): args -> Application."""
    return build_app_from_config(parse_serve_config(args or {}))
