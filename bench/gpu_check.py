"""GPU check: batched mixed-adapter generation vs one expert after another, on an NVIDIA GPU.

    python bench/gpu_check.py OUT_DIR                      # on the GPU box, unattended, < 8 min
    python bench/gpu_check.py OUT_DIR --shapes tiny --device cpu --prompt-tokens 32 \
        --new-tokens 4                                     # the CPU smoke test (CI)

Needs only PyTorch, transformers and peft: no vLLM, Ray, FAISS, network, model weights, or
the crisis_mas package (this file is self-contained; copy it alone). For each shape (SmolLM2-135M,
then Llama 3.1 8B) it builds the model from the config values written below with random bf16
weights on the GPU, adds random rank-8 LoRA adapters on q_proj/v_proj (peft), one per expert,
and generates a fixed budget of new tokens for 3, 8 and 13 experts (random prompts of about
`--prompt-tokens` tokens, lengths differing per expert, left-padded), two ways:
  * batched: ONE `generate` over all experts' prompts, each row with its own adapter (peft's
    mixed-adapter batch, `adapter_names=[...]`): the transformers backend's batched path;
  * one after another: `set_adapter(expert)` then `generate` on that expert's prompt alone, for
    each expert in turn (what `crisis_mas/pool/backends/hf.py` does today when every expert has
    its own adapter: it groups a batch by adapter and runs the groups in turn).
Generation settings are hf.py's: greedy, repetition penalty 1.2, left padding, and every row
forced to the full budget (`min_new_tokens`, as `ignore_eos` does there). hf.py has no
mixed-adapter batch yet, so the batched path is written here (same settings), not imported.
Speed does not depend on the weights' values, so random weights measure the real shapes.

Each shape runs in a child process with a time box (`--budget-s`), so a slow or stuck shape
cannot run past it; measurements finished before the box closes are kept. The Llama 3.1 8B
shape is skipped (and says so) when the GPU has less free memory than it needs. Results go to
OUT_DIR/gpu_check.json and OUT_DIR/gpu_check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Config values copied from the models' published config.json (no download needed).
SHAPES: dict[str, dict[str, Any]] = {
    "smollm2-135m": dict(  # HuggingFaceTB/SmolLM2-135M(-Instruct)
        hidden_size=576,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        head_dim=64,
        intermediate_size=1536,
        vocab_size=49152,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
    ),
    "llama-3.1-8b": dict(  # meta-llama/Llama-3.1-8B(-Instruct)
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_size=14336,
        vocab_size=128256,
        max_position_embeddings=131072,
        rope_theta=500000.0,
        rope_scaling=dict(
            rope_type="llama3",
            factor=8.0,
            low_freq_factor=1.0,
            high_freq_factor=4.0,
            original_max_position_embeddings=8192,
        ),
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    ),
    "tiny": dict(  # for the CPU smoke test only
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        intermediate_size=128,
        vocab_size=512,
        max_position_embeddings=2048,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
    ),
}
# GPU memory the shape needs free (weights in bf16 + adapters + KV cache of 13 x ~1.6k tokens +
# activations, with margin); below this it is skipped rather than failing half-way.
NEEDS_GIB = {"smollm2-135m": 2, "llama-3.1-8b": 24, "tiny": 0}
DEFAULT_BUDGET_S = {"smollm2-135m": 150, "llama-3.1-8b": 270, "tiny": 60}
EXPERT_COUNTS = (3, 8, 13)
LORA = dict(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0)
FORBIDDEN = ("vllm", "ray", "faiss", "crisis_mas")


# -- child: one shape ----------------------------------------------------------------------------
def _build(shape: str, device: str, dtype: Any, experts: int) -> tuple[Any, list[str]]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    attn = "sdpa" if device.startswith("cuda") else "eager"  # eager: 5-9x faster on CPU
    config = LlamaConfig(**SHAPES[shape], attn_implementation=attn)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # weights created (randomly initialised) on the device
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(prev)
    model.eval()
    names = [f"expert{i:02d}" for i in range(experts)]
    # init_lora_weights=False: random A and B (a real delta on every token, like a trained one)
    lora = LoraConfig(init_lora_weights=False, **LORA)
    model = get_peft_model(model, lora, adapter_name=names[0])
    for name in names[1:]:
        model.add_adapter(name, lora)
    model.to(device=device, dtype=dtype)
    model.eval()
    return model, names


def _prompts(n: int, length: int, vocab: int, device: str) -> tuple[Any, Any]:
    """`n` random prompts of about `length` tokens (lengths differ by up to 10%), left-padded."""
    import torch

    g = torch.Generator().manual_seed(n)
    lens = [max(4, int(length * (0.9 + 0.1 * ((i * 7) % 11) / 10))) for i in range(n)]
    width = max(lens)
    ids = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, m in enumerate(lens):
        ids[row, width - m :] = torch.randint(3, vocab, (m,), generator=g)
        mask[row, width - m :] = 1
    return ids.to(device), mask.to(device)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _generate(model: Any, ids: Any, mask: Any, new_tokens: int, adapters: list[str] | None) -> Any:
    """hf.py's generation settings; returns the new tokens, one row per prompt."""
    import torch

    kw: dict[str, Any] = dict(
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,  # every row runs the full budget (hf.py's ignore_eos)
        do_sample=False,
        repetition_penalty=1.2,
        pad_token_id=0,
    )
    if adapters is not None:
        kw["adapter_names"] = adapters  # peft mixed-adapter batch: one adapter per row
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, **kw)
    return out[:, ids.shape[1] :]


def _measure(model: Any, names: list[str], args: argparse.Namespace, n: int, vocab: int) -> dict:
    ids, mask = _prompts(n, args.prompt_tokens, vocab, args.device)
    rows = names[:n]
    _sync(args.device)
    t0 = time.perf_counter()
    new_b = _generate(model, ids, mask, args.new_tokens, rows)
    _sync(args.device)
    batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    new_s = []
    for row, name in enumerate(rows):
        model.set_adapter(name)
        keep = mask[row].bool()  # the prompt alone, without the batch's padding
        new_s.append(_generate(model, ids[row : row + 1, keep], mask[row : row + 1, keep],
                               args.new_tokens, None))  # fmt: skip
    _sync(args.device)
    sequential = time.perf_counter() - t0
    tok_b, tok_s = new_b.numel(), sum(t.numel() for t in new_s)
    # Each row's first new token, batched vs alone with its adapter: equal when every row got
    # its own adapter (bf16 near-ties can flip a few; later tokens diverge after one flip).
    first = [int(new_b[i, 0]) == int(new_s[i][0, 0]) for i in range(n)]
    return dict(
        experts=n,
        prompt_tokens=int(mask.sum()),
        new_tokens_each=args.new_tokens,
        # microseconds: at small shapes a call takes milliseconds, and rounding to ms moved the
        # ratio recomputed from these fields by up to 5 %
        batched_s=round(batched, 6),
        sequential_s=round(sequential, 6),
        ratio=round(sequential / batched, 3),
        batched_tok_s=round(tok_b / batched, 1),
        sequential_tok_s=round(tok_s / sequential, 1),
        first_token_agreement=round(sum(first) / n, 3),
    )


def child(args: argparse.Namespace) -> None:
    """Measure one shape; append one JSON line per finished step to `args.lines`."""
    import torch

    def emit(**row: Any) -> None:
        with open(args.lines, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    device = args.device
    env: dict[str, Any] = dict(name="cpu", torch=torch.__version__)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            emit(kind="skip", reason="no CUDA device visible to PyTorch")
            return
        free, total = torch.cuda.mem_get_info()
        env.update(
            name=torch.cuda.get_device_name(), free_gib=free / 2**30, total_gib=total / 2**30
        )
    emit(kind="env", **env)
    if env.get("free_gib", 1e9) < NEEDS_GIB[args.child]:
        need = NEEDS_GIB[args.child]
        emit(kind="skip", reason=f"needs ~{need} GiB free GPU memory, {env['free_gib']:.1f} free")
        return
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    t0 = time.perf_counter()
    model, names = _build(args.child, device, dtype, max(EXPERT_COUNTS))
    emit(kind="built", seconds=round(time.perf_counter() - t0, 1), dtype=str(dtype))
    vocab = SHAPES[args.child]["vocab_size"]
    # warm-up (kernels, cuBLAS handles, peft's mixed-batch hooks), not timed
    ids, mask = _prompts(2, min(args.prompt_tokens, 64), vocab, device)
    _generate(model, ids, mask, 2, names[:2])
    model.set_adapter(names[0])
    _generate(model, ids[:1], mask[:1], 2, None)
    for n in EXPERT_COUNTS:
        emit(kind="row", **_measure(model, names, args, n, vocab))
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(FORBIDDEN))
    emit(kind="done", forbidden_modules_loaded=loaded)


# -- parent: time boxes, skips, reports ---------------------------------------------------------
def _versions() -> dict:
    """Package versions without importing them (the parent stays light; children measure)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "peft"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            need = "this check needs torch, transformers and peft"
            raise SystemExit(f"{pkg} is not installed: {need}") from None
    return out


def _run_shape(shape: str, args: argparse.Namespace, out_dir: Path) -> dict:
    lines = out_dir / f".{shape}.jsonl"
    lines.unlink(missing_ok=True)
    budget = args.budget_s or DEFAULT_BUDGET_S[shape]
    cmd = [sys.executable, str(Path(__file__).resolve()), str(out_dir), "--child", shape]
    cmd += ["--lines", str(lines), "--device", args.device]
    cmd += ["--prompt-tokens", str(args.prompt_tokens), "--new-tokens", str(args.new_tokens)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget)
        status = "ok" if proc.returncode == 0 else "failed"
        err = proc.stderr.strip()[-1500:] if proc.returncode else ""
    except subprocess.TimeoutExpired:
        status, err = "timeout", f"time box of {budget}s reached"
    wall = time.perf_counter() - t0
    got = [json.loads(x) for x in lines.read_text().splitlines()] if lines.exists() else []
    lines.unlink(missing_ok=True)
    res: dict[str, Any] = dict(status=status, wall_s=round(wall, 1), budget_s=budget)
    res["rows"] = [{k: v for k, v in r.items() if k != "kind"} for r in got if r["kind"] == "row"]
    for r in got:
        if r["kind"] == "env":
            res["device"] = {k: v for k, v in r.items() if k != "kind"}
        if r["kind"] == "skip":
            res["status"], res["reason"] = "skipped", r["reason"]
        if r["kind"] == "built":
            res["build_s"], res["dtype"] = r["seconds"], r["dtype"]
        if r["kind"] == "done":
            res["forbidden_modules_loaded"] = r["forbidden_modules_loaded"]
    if err:
        res["reason"] = err
    return res


def _markdown(report: dict) -> str:
    info = report["environment"]
    dev = next((r["device"] for r in report["shapes"].values() if "device" in r), {})
    lines = [
        f"# GPU check ({report['date']})",
        "",
        f"Device: {dev.get('name', report['device'])} ({dev.get('total_gib', 0):.0f} GiB); torch "
        f"{info.get('torch')}, transformers {info.get('transformers')}, peft {info.get('peft')}.",
        f"Random weights, random rank-8 LoRA on q/v per expert; prompts ~{report['prompt_tokens']}"
        f" tokens, {report['new_tokens']} new tokens per expert, greedy, one timed run each.",
        "",
        "| shape | experts | batched s | one-after-another s | ratio | batched tok/s "
        "| one-after-another tok/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for shape, res in report["shapes"].items():
        for r in res["rows"]:
            lines.append(
                f"| {shape} | {r['experts']} | {r['batched_s']:.2f} | {r['sequential_s']:.2f} | "
                f"**{r['ratio']:.2f}x** | {r['batched_tok_s']:.1f} | {r['sequential_tok_s']:.1f} |"
            )
        if res["status"] != "ok" or len(res["rows"]) < len(EXPERT_COUNTS):
            lines.append(
                f"| {shape} | — | {res['status']}: {res.get('reason', '')[:200]} | | | | |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out_dir", type=Path, help="folder for gpu_check.json and gpu_check.md")
    ap.add_argument("--shapes", default="smollm2-135m,llama-3.1-8b")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (smoke test)")
    ap.add_argument("--prompt-tokens", type=int, default=1400, help="~ an assessment prompt")
    ap.add_argument("--new-tokens", type=int, default=192, help="the configured max_tokens")
    ap.add_argument("--budget-s", type=int, default=None, help="time box per shape (s)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--lines", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        ap.error(f"--shapes: unknown {unknown}; choose from {', '.join(SHAPES)}")
    if args.prompt_tokens < 4 or args.new_tokens < 1:
        ap.error("--prompt-tokens must be >= 4 and --new-tokens >= 1")
    if args.child:
        child(args)
        return

    info = _versions()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = dict(
        date=time.strftime("%Y-%m-%d %H:%M:%S"),
        environment=info,
        device=args.device,
        prompt_tokens=args.prompt_tokens,
        new_tokens=args.new_tokens,
        expert_counts=list(EXPERT_COUNTS),
        shapes={},
    )
    t0 = time.perf_counter()
    for shape in shapes:
        print(
            f"{shape}: running (time box {args.budget_s or DEFAULT_BUDGET_S[shape]}s)", flush=True
        )
        res = _run_shape(shape, args, args.out_dir)
        report["shapes"][shape] = res
        for r in res["rows"]:
            print(
                f"  {r['experts']:2d} experts: batched {r['batched_s']:.2f}s, one after another "
                f"{r['sequential_s']:.2f}s, ratio {r['ratio']:.2f}x, "
                f"{r['batched_tok_s']:.0f} vs {r['sequential_tok_s']:.0f} tok/s",
                flush=True,
            )
        if res["status"] != "ok":
            print(f"  {res['status']}: {res.get('reason', '')[-300:]}", flush=True)
    report["total_s"] = round(time.perf_counter() - t0, 1)
    (args.out_dir / "gpu_check.json").write_text(json.dumps(report, indent=2))
    (args.out_dir / "gpu_check.md").write_text(_markdown(report))
    print(f"total {report['total_s']}s; results in {args.out_dir}/gpu_check.json and .md")
    if not any(r["rows"] for r in report["shapes"].values()):
        raise SystemExit(2 if "no CUDA" in json.dumps(report) else 1)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
