"""LoRA adapter training with peft on chat JSONL (one {"messages": [...]} per line).

Only the assistant answer is learned; the result is saved atomically with its metadata
(`crisis_mas_adapter.json`: base, data hash, training config, prompt version, final loss).
What an expert is trained on is the experts layer's business (`crisis_mas.experts.adapters`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from crisis_mas.errors import InputError
from crisis_mas.paths import REPO_ROOT
from crisis_mas.pool.embedded import offline_by_default, resolve_base

if TYPE_CHECKING:
    from crisis_mas.pool.config import ModelConfig


class TrainingConfig(BaseModel):
    """LoRA hyper-parameters. The defaults teach the embedded model the assessment format on
    runtime-length prompts (~1.3k tokens with retrieved passages): 32 steps of 2 examples."""

    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    steps: int = Field(default=32, ge=1)
    batch_size: int = Field(default=2, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    seed: int = 0
    # Longer than every training prompt + answer (max 1.5k tokens): truncation would cut the
    # persona off the front of the prompt.
    max_length: int = Field(default=2048, ge=64)
    bf16: bool = True


META_FILE = "crisis_mas_adapter.json"


class AdapterInfo(BaseModel):
    expert: str
    base: str
    path: str
    data_file: str
    data_sha256: str
    prompt_version: int
    training: TrainingConfig
    final_loss: float
    trained_at: str
    train_seconds: float
    stale: bool = False  # the training data changed since this adapter was trained


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_chat_jsonl(path: Path) -> list[list[dict[str, str]]]:
    """Read a chat JSONL training set: one {"messages": [...]} per line, ending with the answer."""
    if not path.is_file():
        raise InputError(f"training set not found: {path}")
    conversations = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            msgs = json.loads(line)["messages"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(f"{path}:{n}: expected a JSON object with 'messages'") from None
        if not msgs or msgs[-1].get("role") != "assistant":
            raise InputError(f"{path}:{n}: the last message must be the assistant's answer")
        conversations.append(msgs)
    if not conversations:
        raise InputError(f"{path}: no training examples")
    return conversations


def _encode(tok: Any, msgs: list[dict[str, str]], max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels; only the assistant answer (and its end token) is learned."""
    prompt = tok.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(msgs, tokenize=False)
    p_ids = tok.encode(prompt, add_special_tokens=False)
    answer = full[len(prompt) :] if full.startswith(prompt) else msgs[-1]["content"]
    a_ids = tok.encode(answer, add_special_tokens=False)
    ids = (p_ids + a_ids)[-max_length:]
    labels = ([-100] * len(p_ids) + a_ids)[-max_length:]
    return ids, labels


def train_adapter(
    config: ModelConfig,
    expert: str,
    data: Path,
    prompt_version: int,
    out: Path,
    training: TrainingConfig | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> AdapterInfo:
    """Train a real peft LoRA adapter for one expert on a chat JSONL and save it atomically.

    `prompt_version` is recorded so a prompt change can be told apart from a data change.
    """
    offline_by_default(config.base)
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    training = training or TrainingConfig()
    conversations = load_chat_jsonl(data)
    base_path = resolve_base(config.base)

    torch.manual_seed(training.seed)
    rng = random.Random(training.seed)
    tok = AutoTokenizer.from_pretrained(base_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # SDPA for training: eager attention keeps every (seq x seq) matrix for backward (12 GiB RSS
    # at batch 4 x 1k tokens here); eager only wins for one-token decoding steps.
    model = AutoModelForCausalLM.from_pretrained(
        base_path, dtype=torch.float32, attn_implementation="sdpa"
    )
    model = get_peft_model(
        model,
        LoraConfig(
            r=training.r,
            lora_alpha=training.alpha,
            lora_dropout=training.dropout,
            target_modules=training.target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    encoded = [_encode(tok, c, training.max_length) for c in conversations]
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=training.learning_rate
    )
    model.train()
    t0 = time.perf_counter()
    loss_val = float("nan")
    order: list[int] = []
    for step in range(training.steps):
        if len(order) < training.batch_size:
            order += rng.sample(range(len(encoded)), len(encoded))
        batch = [encoded[order.pop()] for _ in range(min(training.batch_size, len(encoded)))]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (i, lab) in enumerate(batch):
            ids[row, : len(i)] = torch.tensor(i)
            labels[row, : len(lab)] = torch.tensor(lab)
            mask[row, : len(i)] = 1
        # bf16 autocast: the CPU's AVX-512 bf16 units roughly halve the step time; LoRA weights
        # and optimizer state stay fp32.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=training.bf16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss_val = float(loss.detach())
        if progress:
            progress(step + 1, training.steps, loss_val)
    elapsed = time.perf_counter() - t0

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    info = AdapterInfo(
        expert=expert,
        base=config.base,
        path=str(out),
        data_file=str(data.relative_to(REPO_ROOT) if data.is_relative_to(REPO_ROOT) else data),
        data_sha256=sha256_file(data),
        prompt_version=prompt_version,
        training=training,
        final_loss=round(loss_val, 4),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        train_seconds=round(elapsed, 1),
    )
    (tmp / META_FILE).write_text(info.model_dump_json(indent=2))
    # peft writes a README card naming the base path on this machine; it says nothing useful.
    (tmp / "README.md").unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return info
