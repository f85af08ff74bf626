"""Train the learned injection detector, or measure how it generalises across sources.

    .venv/bin/python scripts/train_injection_detector.py            # train, calibrate, write
    .venv/bin/python scripts/train_injection_detector.py --cv       # cross-source report only
    .venv/bin/python scripts/train_injection_detector.py --check    # rebuild, compare hashes

Writes crisis_mas/safety/guard/data/injection_model.npz (+ .json with the weights' and the
training data's SHA-256, thresholds and the cross-source report). Run behind the shared CPU
lock: `flock /tmp/crisis-mas-cpu.lock .venv/bin/python scripts/train_injection_detector.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crisis_mas.safety.guard.crossval import cross_source_report, train_and_save  # noqa: E402
from crisis_mas.safety.guard.learned import MODEL_FILE  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", action="store_true", help="cross-source report only, write nothing")
    ap.add_argument("--out", type=Path, default=MODEL_FILE, help="weights file (.npz)")
    ap.add_argument("--check", action="store_true", help="rebuild into a temp file, compare")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.cv:
        report = cross_source_report()
        print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 1))
        return 0
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            meta = train_and_save(Path(tmp) / MODEL_FILE.name, with_report=False)
        shipped = json.loads(MODEL_FILE.with_suffix(".json").read_text("utf-8"))
        same = all(meta[k] == shipped.get(k) for k in ("data_sha256", "weights_sha256"))
        print(json.dumps({k: (meta[k], shipped.get(k)) for k in ("data_sha256", "weights_sha256")}))
        print("identical" if same else "DIFFERENT")
        return 0 if same else 1
    meta = train_and_save(args.out)
    print(json.dumps(meta, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
