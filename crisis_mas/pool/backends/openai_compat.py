"""OpenAI-compatible backend: a vLLM server, our own Serve app, LM Studio or Ollama.

Generation uses `/chat/completions` (one HTTP request per expert, sent concurrently so the server
batches them). An adapter is addressed by model name, as vLLM's `--lora-modules name=path` does.
Scoring needs vLLM's `prompt_logprobs` extension; servers without it raise ModelPoolError and the
pipeline marks those assessments as fallbacks instead of inventing beliefs.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.types import (
    AdapterRef,
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)


class OpenAIPool(ModelPool):
    backend = "openai"

    def __init__(self, config: ModelConfig, adapters: list[AdapterRef]):
        self.config = config
        self.adapters = adapters
        o = config.openai
        key = os.environ.get(o.api_key_env, "")
        self._http = httpx.Client(
            base_url=o.base_url.rstrip("/"),
            timeout=o.timeout_s,
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )
        self._workers = ThreadPoolExecutor(max_workers=o.max_concurrency)

    def _model_name(self, adapter: AdapterRef | None) -> str:
        if adapter is None:
            return self.config.base
        return self.config.openai.expert_models.get(adapter.name, adapter.name)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = self._http.post(path, json=body)
        except httpx.HTTPError as err:
            raise ModelPoolError(
                f"{self._http.base_url}{path}: {type(err).__name__}: {err}"
            ) from err
        if r.status_code >= 400:
            raise ModelPoolError(
                f"{self._http.base_url}{path}: HTTP {r.status_code}: {r.text[:300]}"
            )
        return r.json()

    def _one(self, req: GenerationRequest) -> GenerationResult:
        if req.raw_prompt:
            return self._completion(req)
        s = req.sampling
        body: dict[str, Any] = {
            "model": self._model_name(req.adapter),
            "messages": [m.model_dump() for m in req.messages]
            + (
                [{"role": "assistant", "content": req.assistant_prefix}]
                if req.assistant_prefix
                else []
            ),
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
            # vLLM extensions; other servers ignore unknown fields
            "repetition_penalty": s.repetition_penalty,
            "ignore_eos": s.ignore_eos,
        }
        if s.stop and not s.choices:
            body["stop"] = s.stop
        if s.choices:  # vLLM servers: structured outputs (newer) / guided_choice (older)
            body["structured_outputs"] = {"choice": list(s.choices)}
            body["guided_choice"] = list(s.choices)
        if req.assistant_prefix:  # vLLM: continue the prefilled assistant turn
            body.update(add_generation_prompt=False, continue_final_message=True)
        t0 = time.perf_counter()
        data = self._post("/chat/completions", body)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return GenerationResult(
            request_id=req.request_id,
            text=req.assistant_prefix + (choice["message"].get("content") or ""),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_ms=(time.perf_counter() - t0) * 1000,
            finish_reason=choice.get("finish_reason"),
        )

    def _completion(self, req: GenerationRequest) -> GenerationResult:
        """A plain-text completion (`raw_prompt`) through the server's `/completions`."""
        s = req.sampling
        body: dict[str, Any] = {
            "model": self._model_name(req.adapter),
            "prompt": "".join(m.content for m in req.messages),
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
            "repetition_penalty": s.repetition_penalty,
        }
        if s.stop:
            body["stop"] = s.stop
        t0 = time.perf_counter()
        data = self._post("/completions", body)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return GenerationResult(
            request_id=req.request_id,
            text=choice.get("text") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_ms=(time.perf_counter() - t0) * 1000,
            finish_reason=choice.get("finish_reason"),
        )

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return list(self._workers.map(self._one, requests))

    def _prompt_logprobs(
        self, model: str, messages: list[ChatMessage], assistant: str
    ) -> list[float]:
        body = {
            "model": model,
            "messages": [m.model_dump() for m in messages]
            + [{"role": "assistant", "content": assistant}],
            "add_generation_prompt": False,
            "continue_final_message": True,
            "max_tokens": 1,
            "temperature": 0.0,
            "prompt_logprobs": 0,
        }
        data = self._post("/chat/completions", body)
        plp = data.get("prompt_logprobs")
        if not plp:
            raise ModelPoolError(
                f"{self._http.base_url} does not return prompt_logprobs: alternatives cannot be "
                "scored on this server (vLLM's OpenAI server supports it)"
            )
        # each entry maps token id -> {logprob, rank, decoded_token}; the prompt token is rank-free
        out = []
        for entry in plp[1:]:
            best = max(entry.values(), key=lambda v: v.get("rank") is None or -v["rank"])
            out.append(float(best["logprob"]))
        return out

    def _score_one(self, req: ScoreRequest) -> ScoreResult:
        t0 = time.perf_counter()
        model = self._model_name(req.adapter)
        base = self._prompt_logprobs(model, req.messages, req.prefix)
        sums, counts = [], []
        for cont in req.continuations:
            full = self._prompt_logprobs(model, req.messages, req.prefix + cont)
            n = max(1, len(full) - len(base))
            sums.append(sum(full[-n:]))
            counts.append(n)
        return ScoreResult(
            request_id=req.request_id,
            logprobs=sums,
            token_counts=counts,
            prompt_tokens=len(base) + 1,
            latency_ms=(time.perf_counter() - t0) * 1000,
        )

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        return list(self._workers.map(self._score_one, requests))

    def info(self) -> ModelInfo:
        return ModelInfo(
            base=self.config.base, backend=self.backend, adapters=[a.name for a in self.adapters]
        )

    def health(self) -> dict:
        try:
            r = self._http.get("/models", timeout=2.0)
            return {"ok": r.status_code == 200, "status": r.status_code, **self.info().model_dump()}
        except httpx.HTTPError as err:
            return {"ok": False, "error": str(err), **self.info().model_dump()}

    def close(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._http.close()
