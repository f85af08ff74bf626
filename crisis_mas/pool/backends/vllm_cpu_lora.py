"""Grouped multi-LoRA matmuls for vLLM's CPU build, installed as a vLLM general plugin.

vLLM's CPU LoRA ops (`vllm/lora/ops/torch_ops`) gather a private copy of the adapter weights for
*every token* (`lora_weights[token_indices]`) and run one tiny matmul per token. The V1 runner
always takes that path, prefill and decode alike, so a batch that mixes three adapters over
~1,400-token prompts materialises tens of megabytes per LoRA layer and the batched call ends up
slower than three single-adapter calls. Here, once a step holds more than a few dozen tokens
(prefill), each *adapter* gets one matmul over all of its tokens, with no per-token copies; small
decode steps keep the per-token gather, which is cheaper there.

It also fixes an upstream CPU bug (vLLM PRs #49656/#48421): a row without an adapter has index
-1, which the gather read as "the last slot", adding that adapter's delta to a base-model row.

Registered through the `vllm.general_plugins` entry point in `pyproject.toml`, so vLLM runs
`register()` in its engine-core and worker processes; the GPU build (punica Triton kernels) is
left untouched. Set `CRISIS_MAS_VLLM_CPU_LORA=upstream` to keep vLLM's own ops (for benchmarks).
"""

from __future__ import annotations

import os
from typing import Any

import torch

_PATCHED = False
# Up to this many tokens in a step, gathering per-token weights beats one matmul per adapter
# (measured crossover 32-96 tokens on 2 cores, SmolLM2 q/v, rank 8: see docs/benchmarks.md).
GATHER_MAX_TOKENS = 32


def _adapter_matmul(
    inputs: torch.Tensor, weights: torch.Tensor, token_indices: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """`out[t] = inputs[t] @ weights[token_indices[t]].T`, one matmul per distinct adapter.

    `weights` is `[slots, out, in]` (or `[slots, 1, out, in]`); index -1 means "no adapter" and
    yields zeros.
    """
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    x = inputs.to(dtype)
    if x.shape[0] <= GATHER_MAX_TOKENS:  # decode: a per-token gather is cheapest (vLLM's way)
        per_token = weights[token_indices.clamp(min=0)].to(dtype)
        out = torch.bmm(per_token, x.unsqueeze(2)).squeeze(2)
        no_adapter = token_indices < 0
        if bool(no_adapter.any()):
            out[no_adapter] = 0
        return out
    adapters = torch.unique(token_indices).tolist()
    if len(adapters) == 1:
        slot = int(adapters[0])
        if slot < 0:
            return x.new_zeros((x.shape[0], weights.shape[1]))
        return x @ weights[slot].to(dtype).T
    out = x.new_zeros((x.shape[0], weights.shape[1]))
    for slot in adapters:
        if slot < 0:
            continue
        rows = token_indices == slot
        out[rows] = x[rows] @ weights[slot].to(dtype).T
    return out


def bgmv_shrink(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    scaling: float = 1.0,
) -> None:
    """Drop-in for `torch_ops.bgmv_shrink` (x @ A per token, scaled)."""
    outputs = _adapter_matmul(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def bgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    add_inputs: bool = True,
) -> None:
    """Drop-in for `torch_ops.bgmv_expand` (buffer @ B per token, into the layer output)."""
    outputs = _adapter_matmul(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    limit = output_tensor.shape[0]
    if outputs.shape[0] == 1 and output_tensor.shape[0] != 1:
        limit = 1
    common = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def bgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = True,
) -> None:
    """Drop-in for `torch_ops.bgmv_expand_slice` (one output slice, e.g. q of a fused qkv)."""
    outputs = _adapter_matmul(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


def _explode(lora_indices_tensor: torch.Tensor, seq_len_tensor: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(lora_indices_tensor, seq_len_tensor)


def sgmv_shrink(
    inputs,
    lora_a_weights,
    output_tensor,
    b_seq_start_loc,
    seq_len_tensor,
    lora_indices_tensor,
    batches,
    max_seq_length,
    token_nums,
    scaling,
) -> None:  # noqa: ANN001 - signature mirrors vLLM's
    """Drop-in for `torch_ops.sgmv_shrink` (per-sequence adapter indices)."""
    bgmv_shrink(
        inputs,
        lora_a_weights,
        output_tensor,
        _explode(lora_indices_tensor, seq_len_tensor),
        scaling,
    )


def sgmv_expand(
    inputs,
    lora_b_weights,
    output_tensor,
    b_seq_start_loc,
    seq_len_tensor,
    lora_indices_tensor,
    batches,
    max_seq_length,
    token_nums,
    add_inputs=False,
) -> None:  # noqa: ANN001 - signature mirrors vLLM's
    """Drop-in for `torch_ops.sgmv_expand`."""
    bgmv_expand(
        inputs,
        lora_b_weights,
        output_tensor,
        _explode(lora_indices_tensor, seq_len_tensor),
        add_inputs,
    )


def sgmv_expand_slice(
    inputs,
    lora_b_weights,
    output_tensor,
    b_seq_start_loc,
    seq_len_tensor,
    lora_indices_tensor,
    batches,
    max_seq_length,
    token_nums,
    slice_offset,
    slice_size,
    add_inputs=False,
) -> None:  # noqa: ANN001 - signature mirrors vLLM's
    """Drop-in for `torch_ops.sgmv_expand_slice`."""
    bgmv_expand_slice(
        inputs,
        lora_b_weights,
        output_tensor,
        _explode(lora_indices_tensor, seq_len_tensor),
        slice_offset,
        slice_size,
        add_inputs,
    )


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


def register() -> None:
    """vLLM general-plugin hook: swap the CPU LoRA ops (idempotent; a no-op off the CPU build)."""
    global _PATCHED
    mods = _modules()
    if _PATCHED or mods is None or os.environ.get("CRISIS_MAS_VLLM_CPU_LORA") == "upstream":
        return
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
