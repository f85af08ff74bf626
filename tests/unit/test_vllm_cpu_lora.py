"""The grouped CPU LoRA ops compute what vLLM's per-token ops compute, and fix the -1 slot bug."""

from __future__ import annotations

import importlib

import pytest
import torch

from crisis_mas.pool.backends import vllm_cpu_lora as grouped

upstream = pytest.importorskip("vllm.lora.ops.torch_ops.lora_ops")


def _case(seed: int = 0, lens: tuple[int, ...] = (7, 1, 12, 5)):
    g = torch.Generator().manual_seed(seed)
    slots, rank, hidden, out = 4, 8, 64, 48
    lens = torch.tensor(lens)
    seq_idx = torch.tensor([2, 0, 1, 2])  # two sequences share adapter 2
    tokens = int(lens.sum())
    x = torch.randn(tokens, hidden, generator=g, dtype=torch.bfloat16)
    a = torch.randn(slots, 1, rank, hidden, generator=g, dtype=torch.bfloat16)
    b = torch.randn(slots, 1, out, rank, generator=g, dtype=torch.bfloat16)
    starts = torch.cumsum(lens, 0) - lens
    return x, a, b, lens, seq_idx, starts, tokens, rank, out


@pytest.mark.parametrize("lens", [(7, 1, 12, 5), (70, 1, 120, 50)], ids=["decode", "prefill"])
def test_shrink_and_expand_match_upstream_per_token_ops(lens: tuple[int, ...]) -> None:
    x, a, b, lens, seq_idx, starts, tokens, rank, out = _case(0, lens)
    assert (tokens > grouped.GATHER_MAX_TOKENS) == (lens.sum() > 100)  # both code paths run
    meta = (starts, lens, seq_idx, len(lens), int(lens.max()), tokens)
    want_buf = torch.zeros(tokens, rank, dtype=torch.float32)
    got_buf = torch.zeros_like(want_buf)
    upstream.sgmv_shrink(x, a, want_buf, *meta, 0.5)
    grouped.sgmv_shrink(x, a, got_buf, *meta, 0.5)
    torch.testing.assert_close(got_buf, want_buf, rtol=1e-3, atol=1e-3)

    base = torch.randn(tokens, out + 16, dtype=torch.bfloat16)
    want, got = base.clone(), base.clone()
    upstream.sgmv_expand_slice(want_buf, b, want, *meta, 8, out, True)
    grouped.sgmv_expand_slice(got_buf, b, got, *meta, 8, out, True)
    torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)
    assert not torch.equal(got, base)  # the adapters really changed the slice

    want2, got2 = (
        torch.zeros(tokens, out, dtype=torch.bfloat16),
        torch.zeros(tokens, out, dtype=torch.bfloat16),
    )
    exploded = torch.repeat_interleave(seq_idx, lens)
    upstream.bgmv_expand(want_buf, b, want2, exploded, add_inputs=False)
    grouped.bgmv_expand(got_buf, b, got2, exploded, add_inputs=False)
    torch.testing.assert_close(got2, want2, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("lens", [(7, 1, 12, 5), (70, 1, 120, 50)], ids=["decode", "prefill"])
def test_row_without_adapter_gets_no_delta(lens: tuple[int, ...]) -> None:
    x, a, _b, *_ = _case(1, lens)
    idx = torch.tensor([-1] * 3 + [1] * 4 + [-1] * (x.shape[0] - 7))
    buf = torch.full((x.shape[0], a.shape[2]), 9.0)
    grouped.bgmv_shrink(x, a, buf, idx, 1.0)
    assert torch.count_nonzero(buf[:3]) == 0 and torch.count_nonzero(buf[7:]) == 0
    assert torch.count_nonzero(buf[3:7]) > 0
    only_base = torch.full((4, a.shape[2]), 9.0)
    grouped.bgmv_shrink(x[:4], a, only_base, torch.tensor([-1] * 4), 1.0)
    assert torch.count_nonzero(only_base) == 0


def test_register_swaps_the_ops_vllm_cpu_calls_and_respects_opt_out(monkeypatch) -> None:
    punica_cpu = importlib.import_module("vllm.lora.punica_wrapper.punica_cpu")
    torch_ops = importlib.import_module("vllm.lora.ops.torch_ops")
    for mod in (punica_cpu, torch_ops):
        monkeypatch.setattr(mod, "sgmv_shrink", upstream.sgmv_shrink)
    monkeypatch.setattr(grouped, "_PATCHED", False)
    monkeypatch.setattr(grouped, "_ORIGINALS", {})
    monkeypatch.setenv("CRISIS_MAS_VLLM_CPU_LORA", "upstream")
    grouped.register()
    assert punica_cpu.sgmv_shrink is upstream.sgmv_shrink
    monkeypatch.delenv("CRISIS_MAS_VLLM_CPU_LORA")
    grouped.register()
    assert punica_cpu.sgmv_shrink is grouped.sgmv_shrink
    assert torch_ops.sgmv_shrink is grouped.sgmv_shrink
    grouped.restore()
    assert punica_cpu.sgmv_shrink is upstream.sgmv_shrink


# -- the per-pass plan cache, through vLLM's own CPU punica wrapper ------------------------------
OP_NAMES = ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice")
OP_NAMES += ("sgmv_shrink", "sgmv_expand", "sgmv_expand_slice")
LORA_IDS = [11, 12, 13, None]  # slot -> LoRA id, as vLLM's manager keeps it (one slot free)


def _use_ops(monkeypatch, ops) -> None:  # noqa: ANN001
    punica_cpu = importlib.import_module("vllm.lora.punica_wrapper.punica_cpu")
    for name in OP_NAMES:
        monkeypatch.setattr(punica_cpu, name, getattr(ops, name))


def _wrapper():  # noqa: ANN202
    from vllm.lora.punica_wrapper.punica_cpu import PunicaWrapperCPU

    return PunicaWrapperCPU(max_num_batched_tokens=512, max_batches=16, device="cpu")


def _mapping(runs: list[tuple[int, int]]):  # noqa: ANN202
    """(LoRA id or 0 for none, tokens) per sequence -> vLLM's LoRAMapping (CPU: is_prefill)."""
    from vllm.lora.layers import LoRAMapping

    tokens = tuple(i for lid, n in runs for i in [lid] * n)
    return LoRAMapping(tokens, tuple(lid for lid, _ in runs), is_prefill=True)


def _layer(seed: int, tokens: int):  # noqa: ANN202
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(4, 1, 8, 64, generator=g, dtype=torch.bfloat16)
    b = torch.randn(4, 1, 48, 8, generator=g, dtype=torch.bfloat16)
    a[3], b[3] = 0, 0  # the free slot is empty (vLLM's own ops read index -1 as that slot)
    x = torch.randn(tokens, 64, generator=g, dtype=torch.bfloat16)
    y = torch.randn(tokens, 48, generator=g, dtype=torch.bfloat16)
    return x, a, b, y


def _pass(monkeypatch, ops, wrapper, tokens: int, layers: int = 6) -> list[torch.Tensor]:  # noqa: ANN001
    """One forward pass: `layers` LoRA linears (shrink + expand each) on the current mapping."""
    _use_ops(monkeypatch, ops)
    outs = []
    for layer in range(layers):
        x, a, b, y = _layer(layer, tokens)
        wrapper.add_lora_linear(y, x, (a,), (b,), 0.5, (48,))
        outs.append(y)
    return outs


SAME_SHAPE_MAPPINGS = {  # same token count and sequence count, different adapters per token
    "prefill": ([(11, 70), (12, 50), (13, 60)], [(13, 70), (0, 50), (11, 60)]),
    "decode": ([(11, 1), (12, 1), (13, 1), (0, 1)], [(13, 1), (0, 1), (11, 1), (12, 1)]),
}


@pytest.mark.parametrize("case", list(SAME_SHAPE_MAPPINGS), ids=list(SAME_SHAPE_MAPPINGS))
@pytest.mark.parametrize("inference", [False, True], ids=["tensors", "inference-tensors"])
def test_plan_is_built_once_per_pass_and_never_stale(
    monkeypatch, case: str, inference: bool
) -> None:
    """Two different mappings in successive passes, written into the same buffers (as vLLM's
    `update_metadata` does): each pass matches vLLM's own ops, and builds its plan once."""
    with torch.inference_mode(inference):  # inference tensors have no version counter
        ours, theirs = _wrapper(), _wrapper()
    grouped.reset_plan_stats()
    with torch.inference_mode():  # vLLM's runner runs the step (metadata and forward) like this
        _two_passes(monkeypatch, ours, theirs, SAME_SHAPE_MAPPINGS[case])
    assert ours._seq_lengths.data_ptr() == ours.prefill_metadata[1].data_ptr()  # same buffers


def _two_passes(monkeypatch, ours, theirs, mappings) -> None:  # noqa: ANN001
    for runs in mappings:
        mapping = _mapping(runs)
        tokens = len(mapping.index_mapping)
        for w in (ours, theirs):
            w.update_metadata(mapping, LORA_IDS, 5, 1000)
        want = _pass(monkeypatch, upstream, theirs, tokens)
        stats = dict(grouped.plan_stats())
        got = _pass(monkeypatch, grouped, ours, tokens)
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w, rtol=2e-2, atol=2e-2)
        after = grouped.plan_stats()
        assert after["built"] - stats["built"] == 1  # one plan for the pass...
        assert after["reused"] - stats["reused"] == 2 * 6 - 1  # ...shared by its other 11 ops


def test_plan_per_op_mode_rebuilds_and_matches(monkeypatch) -> None:
    wrapper = _wrapper()
    wrapper.update_metadata(_mapping([(11, 70), (12, 50)]), LORA_IDS, 5, 1000)
    cached = _pass(monkeypatch, grouped, wrapper, 120, layers=2)
    grouped.set_plan_cache(False)
    try:
        grouped.reset_plan_stats()
        per_op = _pass(monkeypatch, grouped, wrapper, 120, layers=2)
        assert grouped.plan_stats() == {"built": 4, "reused": 0}
    finally:
        grouped.set_plan_cache(True)
    for c, p in zip(cached, per_op, strict=True):
        assert torch.equal(c, p)


def test_token_plan_follows_in_place_updates_of_the_index_buffer() -> None:
    """bgmv ops key on the per-token index buffer: an in-place rewrite must invalidate the plan."""
    buf = torch.empty(200, dtype=torch.long)
    x, a, *_ = _case(2, (70, 1, 120, 9))
    for first in (1, 3):
        buf[:200].copy_(torch.tensor([first] * 100 + [-1] * 50 + [2] * 50))
        idx = buf[:200]
        want = torch.zeros(200, 8)
        got = torch.zeros(200, 8)
        upstream.bgmv_shrink(x, a, want, idx.clamp(min=0), 1.0)
        want[100:150] = 0  # vLLM's op reads -1 as the last slot: the bug the plugin fixes
        grouped.bgmv_shrink(x, a, got, idx, 1.0)
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
