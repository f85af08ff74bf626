"""Three experts, three ways, in one run: the batched multi-LoRA engine call (ours), the same
engine one expert after another, and the seed system's transformers+peft `set_adapter` loop.

    flock /tmp/crisis-mas-cpu.lock .venv/bin/python bench/parallel_experts.py \
        [--scenario evia_wildfire] [--max-tokens N (default: the configured 192)] [--kernel-ab]

Every request is the real assessment prompt for that expert, with its own LoRA adapter. Decoding
is greedy with a fixed token budget (`ignore_eos`, no stop strings) so all three modes
produce the same number of tokens and only the serving strategy differs. Each timed call gets a
fresh scenario text (a run marker opens the user message), so vLLM's prefix cache cannot skip
the scenario prefill, as in real use: only the expert's system prompt is shared between runs.

The timed modes on the main engine alternate within each repeat (batched, sequential, ...), so
drift from other jobs on the machine hits them alike. A further row runs the batched call on a
second engine with vLLM's own CPU LoRA ops (`CRISIS_MAS_VLLM_CPU_LORA=upstream`), to show what
`pool/backends/vllm_cpu_lora.py` buys. `--kernel-ab` adds, on the main (inline) engine, the
batched call with the plugin's per-pass mapping plan turned off (rebuilt in every LoRA op), and
prints how often a plan was built vs reused per batched call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
import types
from pathlib import Path

os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
PLUGIN = "crisis_mas/pool/backends/vllm_cpu_lora.py"
KERNEL_BEFORE = "0a14d62"  # the plugin built the token-to-adapter mapping in every LoRA op


def plugin_at(rev: str) -> types.ModuleType | None:
    """The LoRA plugin's source at git revision `rev`, loaded as a separate module."""
    got = subprocess.run(
        ["git", "show", f"{rev}:{PLUGIN}"], cwd=REPO, capture_output=True, text=True
    )
    if got.returncode != 0:
        print(f"--kernel-ab: cannot read {PLUGIN} at {rev}: {got.stderr.strip()}")
        return None
    mod = types.ModuleType(f"vllm_cpu_lora_{rev}")
    exec(compile(got.stdout, f"{rev}:{PLUGIN}", "exec"), mod.__dict__)  # noqa: S102
    return mod


def swap_ops(source: types.ModuleType) -> None:
    """Point vLLM's CPU punica wrapper at `source`'s six LoRA ops (this process only)."""
    from vllm.lora.punica_wrapper import punica_cpu

    for name in ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice"):
        setattr(punica_cpu, name, getattr(source, name))
    for name in ("sgmv_shrink", "sgmv_expand", "sgmv_expand_slice"):
        setattr(punica_cpu, name, getattr(source, name))


def kernel_micro(old: types.ModuleType | None, ours: types.ModuleType) -> list[str]:
    """One forward pass's LoRA ops, no engine: SmolLM2's 30 fused-qkv LoRA layers (q/k/v
    slices, rank 8, 3 adapters) through vLLM's own `PunicaWrapperCPU`, the mapping updated
    before every pass (as on a step whose batch changed). Milliseconds per pass, median."""
    import torch
    from vllm.lora.layers import LoRAMapping
    from vllm.lora.punica_wrapper.punica_cpu import PunicaWrapperCPU

    g = torch.Generator().manual_seed(0)
    outs = (576, 192, 192)
    a = tuple(torch.randn(5, 1, 8, 576, generator=g, dtype=torch.bfloat16) for _ in outs)
    b = tuple(torch.randn(5, 1, o, 8, generator=g, dtype=torch.bfloat16) for o in outs)
    wrapper = PunicaWrapperCPU(max_num_batched_tokens=8192, max_batches=64, device="cpu")
    variants = {"ours (plan per pass)": (ours, True), "plan per op": (ours, False)}
    if old is not None:
        variants["plugin before"] = (old, True)
    head = "LoRA ops, one pass (180 ops), 1 thread"
    lines = [f"{head:40} {'decode 3 rows':>14} {'prefill 3x1400':>15}"]
    cases = {"decode": (1, 200), "prefill": (1400, 7)}
    res: dict[str, list[float]] = {v: [] for v in variants}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a second job on the other core cannot stall an OpenMP barrier
    try:
        for per_seq, reps in cases.values():
            mapping = LoRAMapping([i for i in (1, 2, 3) for _ in range(per_seq)], (1, 2, 3), True)
            x = torch.randn(3 * per_seq, 576, generator=g, dtype=torch.bfloat16)
            times: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(reps):  # variants alternate, so drift hits them alike
                for name, (mod, cache) in variants.items():
                    swap_ops(mod)
                    ours.set_plan_cache(cache)
                    y = torch.zeros(3 * per_seq, sum(outs), dtype=torch.bfloat16)
                    with torch.inference_mode():
                        t0 = time.perf_counter()
                        wrapper.update_metadata(mapping, [1, 2, 3, None], 5, 49152)
                        for _layer in range(30):
                            wrapper.add_lora_linear(y, x, a, b, 1.0, outs)
                        times[name].append(time.perf_counter() - t0)
            for name in variants:
                res[name].append(statistics.median(times[name]) * 1000)
    finally:
        torch.set_num_threads(threads)
        swap_ops(ours)
        ours.set_plan_cache(True)
    for name, (dec, pre) in res.items():
        lines.append(f"{name:40} {dec:11.2f} ms {pre:12.1f} ms")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="evia_wildfire")
    ap.add_argument("--experts", default="fire,police,medical")
    ap.add_argument(
        "--max-tokens", type=int, default=None, help="default: the configured sampling.max_tokens"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-hf", action="store_true", help="skip the transformers+peft baseline")
    ap.add_argument(
        "--skip-upstream-ops", action="store_true", help="skip the vLLM-own-LoRA-ops engine"
    )
    ap.add_argument(
        "--warm-prefix", action="store_true", help="reuse one prompt (prefix cache skips prefill)"
    )
    ap.add_argument(
        "--kernel-ab",
        action="store_true",
        help="also time the batched call with the LoRA plugin's mapping plan rebuilt per op, "
        "and with the plugin as it was at --kernel-before",
    )
    ap.add_argument(
        "--kernel-before",
        default=KERNEL_BEFORE,
        help="git revision of the plugin before the per-pass plan (for --kernel-ab)",
    )
    args = ap.parse_args()

    from crisis_mas.config import AppConfig
    from crisis_mas.experts.profiles import get_profiles
    from crisis_mas.experts.prompting import assessment_messages
    from crisis_mas.pool.backends import vllm_cpu_lora
    from crisis_mas.pool.backends.hf import HFPool
    from crisis_mas.pool.backends.vllm import VLLMPool
    from crisis_mas.pool.factory import expert_adapters
    from crisis_mas.pool.types import GenerationRequest, SamplingConfig
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    experts = args.experts.split(",")
    cfg = AppConfig()
    if args.max_tokens is None:
        args.max_tokens = cfg.model.sampling.max_tokens
    scen = load_scenario(bundled_scenarios_dir() / f"{args.scenario}.json")
    adapters = expert_adapters(cfg.model, experts)
    missing = [e for e in experts if e not in adapters]
    if missing:
        raise SystemExit(f"no adapter for {missing}: run `crisis-mas adapters train --expert ...`")
    sampling = SamplingConfig(
        max_tokens=args.max_tokens, temperature=0.0, repetition_penalty=1.2, ignore_eos=True
    )
    profiles = get_profiles(experts)
    calls = iter(range(10**6))

    def requests() -> list[GenerationRequest]:
        """The three experts' requests, with a fresh run marker unless --warm-prefix."""
        marker = "" if args.warm_prefix else f"[bench run {next(calls)}] "
        out = []
        for p in profiles:
            msgs = assessment_messages(p, scen)
            msgs[-1] = msgs[-1].model_copy(update={"content": marker + msgs[-1].content})
            out.append(GenerationRequest(messages=msgs, adapter=adapters[p.id], sampling=sampling))
        return out

    def timed(modes: dict, n: int) -> dict[str, tuple[float, int]]:  # noqa: ANN001
        """Median seconds and tokens per mode; the modes alternate within each repeat."""
        times: dict[str, list[float]] = {m: [] for m in modes}
        toks: dict[str, int] = {}
        for _ in range(n):
            for name, fn in modes.items():
                reqs = requests()
                t0 = time.perf_counter()
                res = fn(reqs)
                times[name].append(time.perf_counter() - t0)
                toks[name] = sum(r.completion_tokens for r in res)
        spread[f"{len(spread)}"] = times
        return {m: (statistics.median(times[m]), toks[m]) for m in modes}

    spread: dict[str, dict[str, list[float]]] = {}

    plan_counts: dict[str, dict[str, int]] = {}

    def with_plan(cache: bool, key: str):  # noqa: ANN202
        """The batched call with the plugin's per-pass plan cache on/off; counts plans built."""

        def run(reqs):  # noqa: ANN001, ANN202
            vllm_cpu_lora.set_plan_cache(cache)
            vllm_cpu_lora.reset_plan_stats()
            try:
                return pool_ref[0].generate(reqs)
            finally:
                plan_counts[key] = vllm_cpu_lora.plan_stats()
                vllm_cpu_lora.set_plan_cache(True)

        return run

    def with_old_plugin(old: types.ModuleType):  # noqa: ANN202
        def run(reqs):  # noqa: ANN001, ANN202
            swap_ops(old)
            try:
                return pool_ref[0].generate(reqs)
            finally:
                swap_ops(vllm_cpu_lora)

        return run

    pool_ref: list = []

    def vllm_runs(ours: bool) -> tuple[float, dict[str, tuple[float, int]]]:
        pool = VLLMPool(cfg.model, list(adapters.values()))
        pool_ref[:] = [pool]
        t0 = time.perf_counter()
        pool.start()
        startup = time.perf_counter() - t0
        pool.generate(requests())  # warm-up: loads every adapter once, first-call kernels
        if not ours:
            modes = {"batched": pool.generate}
        else:
            modes = {
                "batched": with_plan(True, "batched"),
                "sequential": lambda reqs: [pool.generate([r])[0] for r in reqs],
            }
            old = plugin_at(args.kernel_before) if args.kernel_ab else None
            if args.kernel_ab and not pool.inline():
                print("--kernel-ab needs the inline engine (model.inline_engine): skipped")
            elif args.kernel_ab:
                modes["batched_per_op_plan"] = with_plan(False, "batched_per_op_plan")
                if old is not None:
                    modes["batched_before"] = with_old_plugin(old)
        got = timed(modes, args.repeats)
        pool.close()
        return startup, got

    prompt_chars = sum(len(m.content) for m in requests()[0].messages)
    micro = []
    if args.kernel_ab:  # before any engine: vLLM's CPU LoRA ops are importable without one
        micro = kernel_micro(plugin_at(args.kernel_before), vllm_cpu_lora)
    startup, main_runs = vllm_runs(ours=True)
    batched, tok_b = main_runs["batched"]
    sequential, tok_s = main_runs["sequential"]
    per_op = main_runs.get("batched_per_op_plan")
    before = main_runs.get("batched_before")
    upstream = tok_u = None
    if not args.skip_upstream_ops:
        os.environ["CRISIS_MAS_VLLM_CPU_LORA"] = "upstream"  # for engine processes started now
        vllm_cpu_lora.restore()  # for an inline engine (this process)
        _, up_runs = vllm_runs(ours=False)
        upstream, tok_u = up_runs["batched"]
        del os.environ["CRISIS_MAS_VLLM_CPU_LORA"]

    hf = tok_h = None
    if not args.skip_hf:
        hfp = HFPool(cfg.model, list(adapters.values()))
        hfp.start()
        hfp.generate_one_by_one(requests()[:1])  # warm-up
        hf, tok_h = timed({"hf": hfp.generate_one_by_one}, max(1, args.repeats - 1))["hf"]

    print(
        f"scenario {scen.id}, experts {experts}, {args.max_tokens} new tokens each, "
        f"median of {args.repeats}; {'warm' if args.warm_prefix else 'fresh'} prompts "
        f"(~{prompt_chars} chars each); vLLM start-up {startup:.1f}s (not counted)"
    )
    print(f"{'mode':50} {'seconds':>8} {'tokens':>7} {'tok/s':>7}")
    rows = [
        ("vLLM, one batched multi-LoRA call (ours)", batched, tok_b),
        ("vLLM, one expert after another", sequential, tok_s),
    ]
    if per_op is not None:
        rows.append(("vLLM, one batched call, LoRA mapping plan per op", *per_op))
    if before is not None:
        rows.append((f"vLLM, one batched call, plugin at {args.kernel_before}", *before))
    if upstream is not None:
        rows.append(("vLLM, one batched call, vLLM's own CPU LoRA ops", upstream, tok_u))
    if hf is not None:
        rows.append(("transformers+peft set_adapter loop (seed)", hf, tok_h))
    for name, sec, tok in rows:
        print(f"{name:50} {sec:8.2f} {tok:7d} {tok / sec:7.1f}")
    print(f"ratio sequential / batched: {sequential / batched:.2f}x (target >= 2.5x, limit 3x)")
    if before is not None:
        print(f"ratio plugin-at-{args.kernel_before} batched / ours batched: "
              f"{before[0] / batched:.3f}x")  # fmt: skip
    if per_op is not None:
        print(f"ratio plan-per-op batched / ours batched: {per_op[0] / batched:.3f}x")
        for key, c in plan_counts.items():
            print(f"LoRA mapping plans in the last {key} call: built {c['built']}, "
                  f"reused {c['reused']}")  # fmt: skip
    if upstream is not None:
        print(f"ratio vLLM-own-ops batched / ours batched: {upstream / batched:.2f}x")
    for times in spread.values():  # every timed call, in order, to judge the noise
        for mode, ts in times.items():
            print(f"  {mode:22} " + " ".join(f"{t:6.2f}" for t in ts))
    for line in micro:
        print(line)
    if hf is not None:
        print(f"ratio seed loop / batched:  {hf / batched:.2f}x")


if __name__ == "__main__":
    main()
