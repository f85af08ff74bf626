"""The CPU seeded-sampling fix around vLLM's `_bookkeeping_sync` rewind (real torch generators,
a stand-in runner: the engine-level check is tests/e2e/test_backends.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from crisis_mas.pool.backends.vllm_cpu_seed import _without_cpu_generators


class Runner:
    """What vLLM's runner does with a discarded row's generator (gpu_model_runner.py)."""

    def __init__(self, generators: dict[int, torch.Generator]) -> None:
        self.input_batch = SimpleNamespace(generators=generators)
        self.seen: list[int] = []

    def _bookkeeping_sync(self, discarded: list[int]) -> str:
        self.seen = sorted(self.input_batch.generators)
        for i in discarded:
            gen = self.input_batch.generators.get(i)
            if gen is not None:
                gen.set_offset(gen.get_offset() - 4)
        return "ok"


def test_a_cpu_generator_cannot_rewind_without_the_fix() -> None:
    runner = Runner({0: torch.Generator(device="cpu").manual_seed(7)})
    with pytest.raises(RuntimeError, match="offset"):
        runner._bookkeeping_sync([0])


def test_the_fix_skips_cpu_generators_and_puts_them_back() -> None:
    gen = torch.Generator(device="cpu").manual_seed(7)
    runner = Runner({0: gen, 3: torch.Generator(device="cpu").manual_seed(9)})
    patched = _without_cpu_generators(Runner._bookkeeping_sync)
    assert patched(runner, [0, 3]) == "ok"
    assert runner.seen == []  # the rewind saw no CPU generator
    assert runner.input_batch.generators[0] is gen and set(runner.input_batch.generators) == {0, 3}
