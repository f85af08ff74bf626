"""Score the grounding checker on the held-out cases (evals/grounding/heldout-*.yaml, written
after the checker was frozen): items whose labelled ungrounded parts are all flagged (recall),
clean items left unflagged (specificity), and flagged parts a person did not label.

    .venv/bin/python bench/grounding_heldout.py [evals/grounding/heldout-2026-12-03.yaml]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from crisis_mas.experts.profiles import load_profiles
from crisis_mas.experts.prompting import user_prompt
from crisis_mas.safety.grounding import Reference, check
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario


def scenario_text(s: object) -> str:
    """Every string and number of the scenario (as `assess.generation.scenario_text`)."""
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                out.append(str(k))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, (str, int, float)) and not isinstance(v, bool):
            out.append(str(v))

    walk(s.model_dump(mode="json"))  # type: ignore[attr-defined]
    return "\n".join(out)


DEFAULT = Path(__file__).resolve().parent.parent / "evals/grounding/heldout-2026-12-03.yaml"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    roster = Reference([p.model_dump_json() for p in load_profiles().values()])
    labelled = caught = clean = clean_ok = extra = 0
    for it in items:
        s = load_scenario(bundled_scenarios_dir() / f"{it['scenario']}.json")
        ref = Reference([user_prompt(s), scenario_text(s)], base=roster)
        flagged = [c.text for c in check(it["text"], ref) if not c.grounded]
        want = it["ungrounded"]
        hit = [w for w in want if any(w in f or f in w for f in flagged)]
        spurious = [f for f in flagged if not any(w in f or f in w for w in want)]
        extra += len(spurious)
        if want:
            labelled += len(want)
            caught += len(hit)
        else:
            clean += 1
            clean_ok += not flagged
        mark = "ok " if len(hit) == len(want) and not spurious else "BAD"
        print(f"{mark} {it['text'][:70]:70s} want={want} flagged={flagged}")
    print(f"\nlabelled ungrounded parts caught: {caught}/{labelled} = {caught / labelled:.1%}")
    print(f"clean items left unflagged: {clean_ok}/{clean} = {clean_ok / clean:.1%}")
    print(f"flags on parts nobody labelled: {extra}")


if __name__ == "__main__":
    main()
