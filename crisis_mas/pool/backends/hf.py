"""transformers + peft backend: the fallback engine and the seed system's way of serving experts.

All adapters live in one `PeftModel`; a batch is grouped by adapter and each group runs after
`set_adapter` (what the seed system did in a loop). Greedy output matches vLLM token for token.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from crisis_mas.pool.base import ModelPool, ModelPoolError
from crisis_mas.pool.chat_template import continuation_token_ids, prompt_text, render_chat
from crisis_mas.pool.config import ModelConfig
from crisis_mas.pool.embedded import offline_by_default, resolve_base
from crisis_mas.pool.types import (
    AdapterRef,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ScoreRequest,
    ScoreResult,
)


class HFPool(ModelPool):
    backend = "transformers"

    def __init__(self, config: ModelConfig, adapters: list[AdapterRef]):
        self.config = config
        self.adapters = adapters
        self._model: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            offline_by_default(self.config.base)
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            path = resolve_base(self.config.base)
            self._tok = AutoTokenizer.from_pretrained(path)
            self._tok.padding_side = "left"
            if self._tok.pad_token is None:
                self._tok.pad_token = self._tok.eos_token
            # fp32 + eager attention: measured 5-9x faster decoding than SDPA/bf16 on this CPU.
            dtype = torch.float32 if self.config.device == "cpu" else torch.bfloat16
            model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, attn_implementation="eager"
            ).to(self.config.device)
            if self.adapters:
                from peft import PeftModel

                first, *rest = self.adapters
                model = PeftModel.from_pretrained(model, first.path, adapter_name=first.name)
                for a in rest:
                    model.load_adapter(a.path, adapter_name=a.name)
            model.eval()
            self._model = model
        return self._model, self._tok

    def start(self) -> None:
        with self._lock:
            self._load()

    def _adapter_ctx(self, adapter: AdapterRef | None) -> Any:
        """Select the adapter (or the bare base model) for the next forward passes."""
        import contextlib

        model = self._model
        if not self.adapters:
            return contextlib.nullcontext()
        if adapter is None:
            return model.disable_adapter()
        if adapter.name not in model.peft_config:
            model.load_adapter(adapter.path, adapter_name=adapter.name)
        model.set_adapter(adapter.name)
        return contextlib.nullcontext()

    def _groups(self, requests: list[Any]) -> dict[str | None, list[int]]:
        groups: dict[str | None, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.adapter.name if r.adapter else None, []).append(i)
        return groups

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        with self._lock:
            model, tok = self._load()
            out: list[GenerationResult | None] = [None] * len(requests)
            free = [i for i, r in enumerate(requests) if not r.sampling.choices]
            for _, idxs in self._groups([requests[i] for i in free]).items():
                reqs = [requests[free[k]] for k in idxs]
                for k, res in zip(idxs, self._generate_group(reqs), strict=True):
                    out[free[k]] = res
            for i, r in enumerate(requests):
                if r.sampling.choices:
                    out[i] = self._choose(r)
        return [r for r in out if r is not None]

    def generate_one_by_one(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """The seed system's loop: `set_adapter`, then one request at a time (bench baseline)."""
        with self._lock:
            self._load()
            return [self._generate_group([r])[0] for r in requests]

    def _generate_group(self, reqs: list[GenerationRequest]) -> list[GenerationResult]:
        import torch

        model, tok = self._model, self._tok
        s = reqs[0].sampling  # a group shares sampling settings in practice; use the first
        prompts = [prompt_text(tok, r) for r in reqs]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.config.device) for k, v in enc.items()}
        gen_kw: dict[str, Any] = dict(
            max_new_tokens=s.max_tokens,
            repetition_penalty=s.repetition_penalty,
            pad_token_id=tok.pad_token_id,
            stop_strings=s.stop or None,
            tokenizer=tok,
        )
        if s.ignore_eos:
            gen_kw["min_new_tokens"] = s.max_tokens
        if s.temperature > 0:
            gen_kw.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
            if s.seed is not None:
                torch.manual_seed(s.seed)
        else:
            gen_kw.update(do_sample=False)
        t0 = time.perf_counter()
        try:
            with torch.inference_mode(), self._adapter_ctx(reqs[0].adapter):
                seqs = model.generate(**enc, **gen_kw)
        except Exception as err:
            raise ModelPoolError(f"transformers generation failed: {err}") from err
        wall_ms = (time.perf_counter() - t0) * 1000
        n_in = enc["input_ids"].shape[1]
        results = []
        for row, r in enumerate(reqs):
            new = seqs[row, n_in:]
            new = new[new != tok.pad_token_id]
            text = tok.decode(new, skip_special_tokens=True)
            for stop in s.stop:
                if stop in text:
                    text = text[: text.index(stop)]
            results.append(
                GenerationResult(
                    request_id=r.request_id,
                    text=r.assistant_prefix + text,
                    prompt_tokens=int(enc["attention_mask"][row].sum()),
                    completion_tokens=int(new.numel()),
                    latency_ms=wall_ms,
                    finish_reason="length" if new.numel() >= s.max_tokens else "stop",
                )
            )
        return results

    def _choose(self, r: GenerationRequest) -> GenerationResult:
        """Guided choice: greedy decoding restricted, token by token, to the options' tokens
        (what vLLM's structured outputs do with greedy sampling), one forward step per token
        on the KV cache; end of sequence is allowed only where an option is complete."""
        import torch

        model, tok = self._model, self._tok
        options = [tok.encode(c, add_special_tokens=False) for c in r.sampling.choices or []]
        ids = tok(prompt_text(tok, r), return_tensors="pt", add_special_tokens=False).input_ids
        ids = ids.to(self.config.device)
        t0 = time.perf_counter()
        chosen: list[int] = []
        alive = list(range(len(options)))
        try:
            with torch.inference_mode(), self._adapter_ctx(r.adapter):
                out = model(input_ids=ids, use_cache=True)
                while True:
                    logits = out.logits[0, -1].float()
                    n = len(chosen)
                    nxt = sorted({options[i][n] for i in alive if len(options[i]) > n})
                    complete = [i for i in alive if len(options[i]) == n]
                    if not nxt:
                        break
                    best = max(nxt, key=lambda t: float(logits[t]))
                    eos = tok.eos_token_id
                    if complete and eos is not None and float(logits[eos]) > float(logits[best]):
                        break
                    chosen.append(best)
                    alive = [i for i in alive if len(options[i]) > n and options[i][n] == best]
                    step = torch.tensor([[best]], device=self.config.device)
                    out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)
        except Exception as err:
            raise ModelPoolError(f"transformers guided choice failed: {err}") from err
        done = [i for i in alive if len(options[i]) == len(chosen)]
        text = (r.sampling.choices or [""])[done[0]] if done else tok.decode(chosen)
        return GenerationResult(
            request_id=r.request_id,
            text=r.assistant_prefix + text,
            prompt_tokens=int(ids.shape[1]),
            completion_tokens=len(chosen),
            latency_ms=(time.perf_counter() - t0) * 1000,
            finish_reason="stop",
        )

    def score(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        import torch

        with self._lock:
            model, tok = self._load()
            results = []
            for r in requests:
                t0 = time.perf_counter()
                context = render_chat(tok, r.messages) + r.prefix
                sums, counts, n_ctx = [], [], 0
                with torch.inference_mode(), self._adapter_ctx(r.adapter):
                    for cont in r.continuations:
                        ctx_ids, cont_ids = continuation_token_ids(tok, context, cont)
                        n_ctx = len(ctx_ids)
                        ids = torch.tensor([ctx_ids + cont_ids], device=self.config.device)
                        logits = model(input_ids=ids).logits[0].float()
                        lp = torch.log_softmax(logits[:-1], dim=-1)
                        targets = ids[0, 1:]
                        tok_lp = lp.gather(1, targets[:, None])[:, 0]
                        sums.append(float(tok_lp[n_ctx - 1 :].sum()))
                        counts.append(len(cont_ids))
                results.append(
                    ScoreResult(
                        request_id=r.request_id,
                        logprobs=sums,
                        token_counts=counts,
                        prompt_tokens=n_ctx,
                        latency_ms=(time.perf_counter() - t0) * 1000,
                    )
                )
            return results

    def info(self) -> ModelInfo:
        return ModelInfo(
            base=self.config.base, backend=self.backend, adapters=[a.name for a in self.adapters]
        )

    def close(self) -> None:
        self._model = None
