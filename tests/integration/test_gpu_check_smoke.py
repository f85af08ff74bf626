"""`bench/gpu_check.py` end to end on the CPU at a tiny shape: the same script the GPU box runs.

It must finish, write its JSON and markdown, time every expert count, apply each row's own
adapter in the batched call, and never load vLLM, Ray, FAISS or the crisis_mas package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"
TINY = ["--shapes", "tiny", "--device", "cpu", "--prompt-tokens", "24", "--new-tokens", "3"]


def test_gpu_check_runs_at_a_tiny_shape_on_cpu(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), *TINY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    tiny = report["shapes"]["tiny"]
    assert tiny["status"] == "ok", tiny
    assert [r["experts"] for r in tiny["rows"]] == [3, 8, 13]
    for r in tiny["rows"]:
        assert r["batched_s"] > 0 and r["sequential_s"] > 0
        assert r["ratio"] == pytest.approx(r["sequential_s"] / r["batched_s"], rel=0.02)
        assert r["batched_tok_s"] > 0 and r["new_tokens_each"] == 3
        # fp32, random weights: each batched row equals that expert's own run alone, which
        # only holds if the mixed batch really applied every row's own adapter
        assert r["first_token_agreement"] == 1.0
    assert tiny["forbidden_modules_loaded"] == []
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| tiny | 13 |" in md and "ratio" in md
    assert not list(tmp_path.glob(".*.jsonl"))  # the per-shape scratch files are cleaned up


def test_gpu_check_rejects_unknown_shapes_and_reports_a_missing_gpu(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), "--shapes", "llama-70b"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown ['llama-70b']" in bad.stderr
    no_gpu = subprocess.run(  # this CI machine has no CUDA device: say so, exit 2, still report
        [sys.executable, str(SCRIPT), str(tmp_path), "--shapes", "tiny"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    if report["shapes"]["tiny"]["status"] == "ok":  # a CUDA machine: the GPU path itself ran
        assert no_gpu.returncode == 0
        return
    assert no_gpu.returncode == 2, no_gpu.stdout + no_gpu.stderr
    assert report["shapes"]["tiny"]["status"] == "skipped"
    assert "no CUDA device" in report["shapes"]["tiny"]["reason"]
