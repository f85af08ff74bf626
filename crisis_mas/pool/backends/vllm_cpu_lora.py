"""Grouped multi-LoRA matmuls for vLLM's CPU build, installed as a vLLM general plugin.

vLLM's CPU LoRA ops (`vllm/lora/ops/torch_ops`) gather a private copy of the adapter weights for
*every token* (`lora_weights[token_indices]`) and run one tiny matmul per token. The V1 runner
always takes that path, prefill and decode alike, so a batch that mixes three adapters over
~1,400-token prompts materialises tens of megabytes per LoRA layer and the batched call ends up
slower than three single-adapter calls. Here, once a step holds more than a few dozen tokens
(prefill), each run of tokens that shares an adapter gets one matmul on a slice of the input, with
no per-token copies; small decode steps keep the per-token gather, which is cheaper there.

The token-to-adapter mapping is turned into that plan once per forward pass, not in each of the
~120 LoRA ops of a pass (30 layers x q/v x shrink/expand on SmolLM2): vLLM writes the mapping
into persistent buffers with `copy_` in `PunicaWrapperBase.update_metadata` (only when the batch
or the slot layout changes), so a plan is cached by the buffers' address, length and autograd
version counter, which every in-place write bumps. Tensors without a version counter (created
under `torch.inference_mode`) are keyed by their values instead.

It also fixes an upstream CPU bug (vLLM PRs #49656/#48421): a row without an adapter has index
-1, which the gather read as "the last slot", adding that adapter's delta to a base-model row.

Registered through the `vllm.general_plugins` entry point in `pyproject.toml`, so vLLM runs
`register()` in its engine-core and worker processes; the GPU build (punica Triton kernels) is
left untouched. `CRISIS_MAS_VLLM_CPU_LORA=upstream` keeps vLLM's own ops and `=per-op` rebuilds
the plan in every op (both for benchmarks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from crisis_mas.pool.backends import vllm_cpu_seed

_PATCHED = False
# Up to this many tokens in a step, gathering per-token weights beats one matmul per adapter
# (measured crossover 32-96 tokens on 2 cores, SmolLM2 q/v, rank 8: see docs/benchmarks.md).
GATHER_MAX_TOKENS = 32
MODE_ENV = "CRISIS_MAS_VLLM_CPU_LORA"


@dataclass(frozen=True)
class Plan:
    """How one pass's tokens map to adapter slots, computed once and shared by every LoRA op.

    `segments` are (slot, start, end) runs of consecutive tokens with the same adapter
    (slot >= 0 only: rows without an adapter get no delta). For a small step (`gather`),
    `slots` holds each token's slot clamped to >= 0 and `no_adapter` masks the -1 rows.
    """

    tokens: int
    gather: bool
    segments: tuple[tuple[int, int, int], ...]
    slots: torch.Tensor | None = None
    no_adapter: torch.Tensor | None = None


class _PlanCache:
    """The last plan per op family (sgmv: per-sequence metadata; bgmv: per-token indices).

    A hit needs the same tensors (address, offset, length) at the same version, or, for tensors
    without a version counter, the same values. The entry holds the tensors it was keyed on, so
    their memory cannot be freed and reused by a different mapping while the entry lives.
    """

    def __init__(self) -> None:
        self.enabled = True
        self.entries: dict[str, tuple[tuple, tuple[torch.Tensor, ...], Plan]] = {}
        self.built = 0
        self.reused = 0

    @staticmethod
    def key(tensors: tuple[torch.Tensor, ...]) -> tuple:
        parts: list[Any] = []
        for t in tensors:
            try:
                version: Any = t._version
            except RuntimeError:  # an inference tensor: no version counter, key by its values
                version = tuple(t.tolist())
            parts.append((t.data_ptr(), t.storage_offset(), tuple(t.shape), version))
        return tuple(parts)

    def get(self, family: str, tensors: tuple[torch.Tensor, ...], build: Any) -> Plan:
        if not self.enabled:
            self.built += 1
            return build()
        key = self.key(tensors)
        hit = self.entries.get(family)
        if hit is not None and hit[0] == key:
            self.reused += 1
            return hit[2]
        plan = build()
        self.built += 1
        self.entries[family] = (key, tensors, plan)
        return plan

    def clear(self) -> None:
        self.entries.clear()
        self.built = self.reused = 0


CACHE = _PlanCache()


def _finish(tokens: int, segments: list[tuple[int, int, int]], per_token: torch.Tensor) -> Plan:
    if tokens <= GATHER_MAX_TOKENS:  # decode: a per-token gather is cheapest (vLLM's way)
        no_adapter = per_token < 0
        return Plan(
            tokens=tokens,
            gather=True,
            segments=tuple(segments),
            slots=per_token.clamp(min=0),
            no_adapter=no_adapter if bool(no_adapter.any()) else None,
        )
    return Plan(tokens=tokens, gather=False, segments=tuple(segments))


def plan_from_sequences(
    starts: torch.Tensor, seq_lens: torch.Tensor, lora_indices: torch.Tensor
) -> Plan:
    """Plan from vLLM's sgmv metadata (runs of tokens per adapter, already merged by vLLM)."""
    segments = []
    rows = zip(starts.tolist(), seq_lens.tolist(), lora_indices.tolist(), strict=True)
    for start, n, slot in rows:
        if slot >= 0 and n > 0:
            segments.append((int(slot), int(start), int(start + n)))
    tokens = int(seq_lens.sum()) if seq_lens.numel() else 0
    if tokens <= GATHER_MAX_TOKENS:
        return _finish(tokens, segments, torch.repeat_interleave(lora_indices, seq_lens))
    return _finish(tokens, segments, lora_indices)


def plan_from_tokens(token_indices: torch.Tensor) -> Plan:
    """Plan from one slot index per token (-1 = no adapter)."""
    tokens = int(token_indices.shape[0])
    if tokens <= GATHER_MAX_TOKENS:
        return _finish(tokens, [], token_indices)
    slots, counts = torch.unique_consecutive(token_indices, return_counts=True)
    segments, pos = [], 0
    for slot, n in zip(slots.tolist(), counts.tolist(), strict=True):
        if slot >= 0:
            segments.append((int(slot), pos, pos + int(n)))
        pos += int(n)
    return _finish(tokens, segments, token_indices)


def _sequence_plan(starts: torch.Tensor, lens: torch.Tensor, idx: torch.Tensor) -> Plan:
    return CACHE.get("sgmv", (starts, lens, idx), lambda: plan_from_sequences(starts, lens, idx))


def _token_plan(token_indices: torch.Tensor) -> Plan:
    return CACHE.get("bgmv", (token_indices,), lambda: plan_from_tokens(token_indices))


def _adapter_matmul(
    inputs: torch.Tensor, weights: torch.Tensor, plan: Plan, dtype: torch.dtype
) -> torch.Tensor:
    """`out[t] = inputs[t] @ weights[slot(t)].T` by the plan; rows without an adapter get zeros.

    `weights` is `[slots, out, in]` (or `[slots, 1, out, in]`).
    """
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    x = inputs.to(dtype)
    if plan.gather:
        per_token = weights[plan.slots].to(dtype)
        out = torch.bmm(per_token, x.unsqueeze(2)).squeeze(2)
        if plan.no_adapter is not None:
            out[plan.no_adapter] = 0
        return out
    segs = plan.segments
    if len(segs) == 1 and segs[0][1] == 0 and segs[0][2] == x.shape[0]:
        return x @ weights[segs[0][0]].to(dtype).T
    out = x.new_zeros((x.shape[0], weights.shape[1]))
    for slot, start, end in segs:
        torch.matmul(x[start:end], weights[slot].to(dtype).T, out=out[start:end])
    return out


T = torch.Tensor


def _shrink(inputs: T, weights: T, output_tensor: T, plan: Plan, scaling: float) -> None:
    outputs = _adapter_matmul(inputs, weights, plan, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def _expand(inputs: T, weights: T, output_tensor: T, plan: Plan, add_inputs: bool) -> None:
    outputs = _adapter_matmul(inputs, weights, plan, output_tensor.dtype)
    limit = output_tensor.shape[0]
    if outputs.shape[0] == 1 and output_tensor.shape[0] != 1:
        limit = 1
    common = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def _expand_slice(
    inputs: T, weights: T, output_tensor: T, plan: Plan, offset: int, size: int, add_inputs: bool
) -> None:
    outputs = _adapter_matmul(inputs, weights, plan, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, offset : offset + size] += outputs
    else:
        output_tensor[:, offset : offset + size] = outputs


# -- drop-ins for vllm.lora.ops.torch_ops (same signatures and semantics) -----------------------
def bgmv_shrink(
    inputs: T, lora_b_weights: T, output_tensor: T, lora_indices_tensor: T, scaling: float = 1.0
) -> None:
    """Drop-in for `torch_ops.bgmv_shrink` (x @ A per token, scaled)."""
    _shrink(inputs, lora_b_weights, output_tensor, _token_plan(lora_indices_tensor), scaling)


def bgmv_expand(
    inputs: T, lora_b_weights: T, output_tensor: T, lora_indices_tensor: T, add_inputs: bool = True
) -> None:
    """Drop-in for `torch_ops.bgmv_expand` (buffer @ B per token, into the layer output)."""
    _expand(inputs, lora_b_weights, output_tensor, _token_plan(lora_indices_tensor), add_inputs)


def bgmv_expand_slice(
    inputs: T,
    lora_b_weights: T,
    output_tensor: T,
    lora_indices_tensor: T,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = True,
) -> None:
    """Drop-in for `torch_ops.bgmv_expand_slice` (one output slice, e.g. q of a fused qkv)."""
    plan = _token_plan(lora_indices_tensor)
    _expand_slice(inputs, lora_b_weights, output_tensor, plan, slice_offset, slice_size, add_inputs)


def sgmv_shrink(
    inputs: T,
    lora_a_weights: T,
    output_tensor: T,
    b_seq_start_loc: T,
    seq_len_tensor: T,
    lora_indices_tensor: T,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    scaling: float,
) -> None:
    """Drop-in for `torch_ops.sgmv_shrink` (per-sequence adapter indices)."""
    plan = _sequence_plan(b_seq_start_loc, seq_len_tensor, lora_indices_tensor)
    _shrink(inputs, lora_a_weights, output_tensor, plan, scaling)


def sgmv_expand(
    inputs: T,
    lora_b_weights: T,
    output_tensor: T,
    b_seq_start_loc: T,
    seq_len_tensor: T,
    lora_indices_tensor: T,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    add_inputs: bool = False,
) -> None:
    """Drop-in for `torch_ops.sgmv_expand`."""
    plan = _sequence_plan(b_seq_start_loc, seq_len_tensor, lora_indices_tensor)
    _expand(inputs, lora_b_weights, output_tensor, plan, add_inputs)


def sgmv_expand_slice(
    inputs: T,
    lora_b_weights: T,
    output_tensor: T,
    b_seq_start_loc: T,
    seq_len_tensor: T,
    lora_indices_tensor: T,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = False,
) -> None:
    """Drop-in for `torch_ops.sgmv_expand_slice`."""
    plan = _sequence_plan(b_seq_start_loc, seq_len_tensor, lora_indices_tensor)
    _expand_slice(inputs, lora_b_weights, output_tensor, plan, slice_offset, slice_size, add_inputs)


_OPS = {
    "bgmv_shrink": bgmv_shrink,
    "bgmv_expand": bgmv_expand,
    "bgmv_expand_slice": bgmv_expand_slice,
    "sgmv_shrink": sgmv_shrink,
    "sgmv_expand": sgmv_expand,
    "sgmv_expand_slice": sgmv_expand_slice,
}


_ORIGINALS: dict[tuple[str, str], Any] = {}


def _modules() -> tuple[Any, Any] | None:
    try:
        from vllm.lora.ops import torch_ops
        from vllm.lora.punica_wrapper import punica_cpu
    except ImportError:  # vLLM absent or laid out differently: keep its defaults
        return None
    return torch_ops, punica_cpu  # punica_cpu imported the op names at module load


def set_plan_cache(enabled: bool) -> None:
    """Reuse one plan per pass (default) or rebuild it in every op (benchmark baseline)."""
    CACHE.enabled = enabled
    CACHE.entries.clear()


def plan_stats() -> dict[str, int]:
    """Plans built and reused in this process since the last `reset_plan_stats()`."""
    return {"built": CACHE.built, "reused": CACHE.reused}


def reset_plan_stats() -> None:
    CACHE.clear()


def register() -> None:
    """vLLM general-plugin hook: swap the CPU LoRA ops (idempotent; a no-op off the CPU build),
    and let seeded requests sample on CPU (`vllm_cpu_seed`, whatever the LoRA mode)."""
    global _PATCHED
    vllm_cpu_seed.register()
    mods = _modules()
    mode = os.environ.get(MODE_ENV, "")
    if _PATCHED or mods is None or mode == "upstream":
        return
    set_plan_cache(mode != "per-op")
    for mod in mods:
        for name, fn in _OPS.items():
            if hasattr(mod, name):
                _ORIGINALS.setdefault((mod.__name__, name), getattr(mod, name))
                setattr(mod, name, fn)
    _PATCHED = True


def restore() -> None:
    """Put vLLM's own ops back in this process (benchmarks compare both in one run)."""
    global _PATCHED
    mods = _modules()
    for mod in mods or ():
        for name in _OPS:
            if (mod.__name__, name) in _ORIGINALS:
                setattr(mod, name, _ORIGINALS[(mod.__name__, name)])
    _PATCHED = False
