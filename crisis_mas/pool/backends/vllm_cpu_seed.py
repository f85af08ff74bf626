"""Seeded sampling on vLLM's CPU build without killing the engine.

When a step samples a token it will discard (a partial prefill), vLLM's V1 runner rewinds that
request's generator with `gen.set_offset(gen.get_offset() - 4)` (`_bookkeeping_sync`), a CUDA
Philox detail. A CPU `torch.Generator` has no offset and raises "CPU Generator does not use
offset", which kills the engine core: any request with `temperature > 0` and a `seed` (the
OpenAI API's `seed` field) whose prompt is prefilled in chunks took the whole replica down.
Here the rewind skips CPU generators (as vllm-rbln PR #1025 does): the discarded sample still
advances that request's CPU generator, so a seeded request stays reproducible for the same
scheduling but may differ from the same request prefilled in one piece. Greedy requests
(temperature 0, our default) have no generator and are unaffected. Installed by the
`vllm.general_plugins` hook in `vllm_cpu_lora.register`, in every vLLM process.
"""

from __future__ import annotations

from typing import Any

_PATCHED = False


def _without_cpu_generators(original: Any) -> Any:
    def _bookkeeping_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        gens = self.input_batch.generators
        cpu = {i: g for i, g in gens.items() if g.device.type == "cpu"}
        for i in cpu:
            del gens[i]
        try:
            return original(self, *args, **kwargs)
        finally:
            gens.update(cpu)

    _bookkeeping_sync.__wrapped__ = original  # type: ignore[attr-defined]
    return _bookkeeping_sync


def register() -> None:
    """Patch `GPUModelRunner._bookkeeping_sync` once per process (a no-op without vLLM)."""
    global _PATCHED
    if _PATCHED:
        return
    try:
        from vllm.v1.worker.gpu_model_runner import GPUModelRunner
    except ImportError:  # vLLM absent or laid out differently: keep its behaviour
        return
    if hasattr(GPUModelRunner, "_bookkeeping_sync"):
        GPUModelRunner._bookkeeping_sync = _without_cpu_generators(GPUModelRunner._bookkeeping_sync)
        _PATCHED = True
