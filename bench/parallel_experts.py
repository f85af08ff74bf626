"""Three experts, three ways, in one run: the batched multi-LoRA engine call (ours), the same
engine one expert after another, and the seed system's transformers+peft `set_adapter` loop.

    .venv/bin/python bench/parallel_experts.py [--scenario evia_wildfire] [--max-tokens 128]

Every request is the real assessment prompt for that expert, with its own LoRA adapter. Decoding
is greedy with a fixed token budget (`ignore_eos`, no stop strings) so all three modes
produce the same number of tokens and only the serving strategy differs. Each timed call gets a
fresh scenario text (a run marker opens the user message), so vLLM's prefix cache cannot skip
the scenario prefill, as in real use: only the expert's system prompt is shared between runs.

A fourth row runs the batched call on a second engine with vLLM's own CPU LoRA ops
(`CRISIS_MAS_VLLM_CPU_LORA=upstream`), to show what `pool/backends/vllm_cpu_lora.py` buys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="evia_wildfire")
    ap.add_argument("--experts", default="fire,police,medical")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-hf", action="store_true", help="skip the transformers+peft baseline")
    ap.add_argument(
        "--skip-upstream-ops", action="store_true", help="skip the vLLM-own-LoRA-ops engine"
    )
    ap.add_argument(
        "--warm-prefix", action="store_true", help="reuse one prompt (prefix cache skips prefill)"
    )
    args = ap.parse_args()

    from crisis_mas.config import AppConfig
    from crisis_mas.experts.profiles import get_profiles
    from crisis_mas.experts.prompting import assessment_messages
    from crisis_mas.pool.backends.hf import HFPool
    from crisis_mas.pool.backends.vllm import VLLMPool
    from crisis_mas.pool.factory import expert_adapters
    from crisis_mas.pool.types import GenerationRequest, SamplingConfig
    from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

    experts = args.experts.split(",")
    cfg = AppConfig()
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

    def timed(fn, n: int) -> tuple[float, int]:  # noqa: ANN001
        times, toks = [], 0
        for _ in range(n):
            reqs = requests()
            t0 = time.perf_counter()
            res = fn(reqs)
            times.append(time.perf_counter() - t0)
            toks = sum(r.completion_tokens for r in res)
        return statistics.median(times), toks

    def vllm_runs(with_sequential: bool) -> tuple[float, float, int, float | None, int]:
        pool = VLLMPool(cfg.model, list(adapters.values()))
        t0 = time.perf_counter()
        pool.start()
        startup = time.perf_counter() - t0
        pool.generate(requests())  # warm-up: loads every adapter once, first-call kernels
        batched, tok_b = timed(pool.generate, args.repeats)
        sequential, tok_s = None, 0
        if with_sequential:
            sequential, tok_s = timed(
                lambda reqs: [pool.generate([r])[0] for r in reqs], args.repeats
            )
        pool.close()
        return startup, batched, tok_b, sequential, tok_s

    prompt_chars = sum(len(m.content) for m in requests()[0].messages)
    startup, batched, tok_b, sequential, tok_s = vllm_runs(with_sequential=True)
    upstream = tok_u = None
    if not args.skip_upstream_ops:
        from crisis_mas.pool.backends import vllm_cpu_lora

        os.environ["CRISIS_MAS_VLLM_CPU_LORA"] = "upstream"  # for engine processes started now
        vllm_cpu_lora.restore()  # for an inline engine (this process)
        _, upstream, tok_u, _, _ = vllm_runs(with_sequential=False)
        del os.environ["CRISIS_MAS_VLLM_CPU_LORA"]

    hf = tok_h = None
    if not args.skip_hf:
        hfp = HFPool(cfg.model, list(adapters.values()))
        hfp.start()
        hfp.generate_one_by_one(requests()[:1])  # warm-up
        hf, tok_h = timed(hfp.generate_one_by_one, max(1, args.repeats - 1))

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
    if upstream is not None:
        rows.append(("vLLM, one batched call, vLLM's own CPU LoRA ops", upstream, tok_u))
    if hf is not None:
        rows.append(("transformers+peft set_adapter loop (seed)", hf, tok_h))
    for name, sec, tok in rows:
        print(f"{name:50} {sec:8.2f} {tok:7d} {tok / sec:7.1f}")
    print(f"ratio sequential / batched: {sequential / batched:.2f}x (target >= 2.5x, limit 3x)")
    if upstream is not None:
        print(f"ratio vLLM-own-ops batched / ours batched: {upstream / batched:.2f}x")
    if hf is not None:
        print(f"ratio seed loop / batched:  {hf / batched:.2f}x")


if __name__ == "__main__":
    main()
