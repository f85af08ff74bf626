"""The learned injection detector: two logistic heads over hashed n-gram features.

`direct` scores user text (injections, jailbreaks, prompt extraction); `indirect` scores
retrieved passages (instructions planted for the reading model). A text's probability is the
highest over its windows (`features.windows`), so one planted sentence in a long passage is
not diluted. Weights ship in `data/injection_model.npz` (float16, trained by
`scripts/train_injection_detector.py`); `data/injection_model.json` records the weights' and
the training data's SHA-256, the calibrated thresholds and the cross-source results. Loading
reads local files only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crisis_mas.safety.guard.features import N_FEATURES, vectorize, windows, word_count

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = DATA_DIR / "injection_model.npz"
HEADS = ("direct", "indirect")
# A window needs this many words (features.word_count): fragments of a retrieved chunk ("About
# 2.") and one- or two-word user texts or scenario fields ("any vehicles", "no") carry too little
# text for n-gram weights to judge. A passage made only of shorter windows is still scored on
# them; user text under 3 words is left to the rules (no attack in our data is that short, and
# the rules know the short ones: "DAN", "developer mode").
MIN_WORDS = {"direct": 3, "indirect": 4}


class ModelError(RuntimeError):
    """The detector's weights are missing, corrupt or do not match their metadata."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Head:
    weights: np.ndarray  # float32, N_FEATURES
    bias: float
    threshold: float


@dataclass(frozen=True)
class Score:
    """A text's highest window probability and that window's text (for the flag)."""

    probability: float
    window: str


class InjectionModel:
    """Loaded weights of both heads and their metadata; `score` is thread-safe (read-only)."""

    def __init__(self, heads: dict[str, Head], meta: dict) -> None:
        self.heads = heads
        self.meta = meta

    @classmethod
    def load(cls, path: Path = MODEL_FILE, verify: bool = True) -> InjectionModel:
        """Weights from `path` and metadata from the .json beside it (hash checked)."""
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ModelError(f"injection model not found: {path} (+ .json)")
        meta = json.loads(meta_path.read_text("utf-8"))
        if verify and meta.get("weights_sha256") != sha256(path):
            raise ModelError(f"{path.name} does not match the SHA-256 in {meta_path.name}")
        heads: dict[str, Head] = {}
        with np.load(path) as z:
            for name in HEADS:
                w = z[f"{name}_w"].astype(np.float32)
                if w.shape != (N_FEATURES,):
                    raise ModelError(f"{name} weights have shape {w.shape}, not ({N_FEATURES},)")
                heads[name] = Head(w, float(z[f"{name}_b"]), float(meta["thresholds"][name]))
        return cls(heads, meta)

    def probabilities(self, texts: list[str], head: str = "direct") -> np.ndarray:
        """Window-max probability of each text, shape (len(texts),)."""
        return np.array([self.score(t, head).probability for t in texts], dtype=np.float32)

    def score(self, text: str, head: str = "direct") -> Score:
        """The highest probability over the text's windows under `head`."""
        if head not in self.heads:
            raise ValueError(f"head must be one of {HEADS}, not {head!r}")
        if not (text or "").strip():
            return Score(0.0, "")
        h = self.heads[head]
        best, best_win = -np.inf, []
        wins = windows(text)
        long = [w for w in wins if sum(word_count(u.text) for u in w) >= MIN_WORDS[head]]
        wins = long or (wins if head == "indirect" else [])
        if not wins:
            return Score(0.0, "")
        for win in wins:
            idx, vals = vectorize(win)
            z = h.bias + float(h.weights[idx] @ vals)
            if z > best:
                best, best_win = z, win
        prob = float(1.0 / (1.0 + np.exp(-best)))
        return Score(prob, " ".join(u.text for u in best_win))


_lock = threading.Lock()
_loaded: dict[str, InjectionModel] = {}


def get_model(path: str | Path | None = None) -> InjectionModel:
    """The process-wide model for `path` (default: the shipped one), loaded once."""
    p = Path(path) if path else MODEL_FILE
    key = str(p.resolve())
    with _lock:
        if key not in _loaded:
            _loaded[key] = InjectionModel.load(p)
        return _loaded[key]
