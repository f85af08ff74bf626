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

    want2, got2 = torch.zeros(tokens, out, dtype=torch.bfloat16), torch.zeros(
        tokens, out, dtype=torch.bfloat16
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
