"""Render the structured training sources into the chat JSONL each expert's LoRA adapter trains on.

Sources are `crisis_mas/experts/training/src/<expert>.yaml` (a list of `{scenario, answer}` items).
Prompts are rendered with the runtime renderer (`assessment_messages`) and answers with
`format_assessment`, so the adapters learn exactly the layout they will see at inference,
including the REFERENCES block of retrieved knowledge-base passages. Those passages are what the
real retriever returned for each example's scenario, snapshotted in `training/passages.json`, so
rendering (and `--check`) needs no index and a knowledge-base edit does not silently change
what the committed adapters were trained on.

    python scripts/build_training_sets.py                      # rewrite training/*.jsonl
    python scripts/build_training_sets.py --refresh-passages   # re-query the retriever first
    python scripts/build_training_sets.py --check              # exit 1 if the JSONL is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from crisis_mas.errors import InputError
from crisis_mas.experts.profiles import ExpertProfile, load_profiles
from crisis_mas.experts.prompting import assessment_messages, format_assessment
from crisis_mas.scenario import Scenario, parse_scenario

TRAINING_DIR = Path(__file__).resolve().parent.parent / "crisis_mas" / "experts" / "training"
SRC_DIR = TRAINING_DIR / "src"
PASSAGES_FILE = TRAINING_DIR / "passages.json"
PASSAGE_KEYS = ("chunk_id", "title", "text")
ANSWER_LISTS = ("key_concerns", "immediate_actions")
# The C loader when libyaml is present: the sources are large and parsed on every test run.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TrainingSetError(ValueError):
    """A source example that cannot be rendered; the message names the file and item."""


def load_examples(path: Path) -> list[dict[str, Any]]:
    """Read one source file: a YAML list of `{scenario, answer}` mappings."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    if not isinstance(data, list) or not data:
        raise TrainingSetError(f"{path}: expected a non-empty list of examples")
    return data


def _check_answer(answer: Any, alt_ids: list[str], where: str) -> dict[str, Any]:
    """Validate an answer: rationale text, non-empty string lists, a recommended id that exists."""
    if not isinstance(answer, dict):
        raise TrainingSetError(f"{where}: `answer` must be a mapping")
    rationale = answer.get("rationale")
    if not isinstance(rationale, str) or not rationale.strip():
        raise TrainingSetError(f"{where}: `answer.rationale` must be non-empty text")
    for key in ANSWER_LISTS:
        items = answer.get(key)
        if not isinstance(items, list) or not items:
            raise TrainingSetError(f"{where}: `answer.{key}` must be a non-empty list")
        if not all(isinstance(i, str) and i.strip() for i in items):
            raise TrainingSetError(f"{where}: `answer.{key}` items must be non-empty text")
    rec = answer.get("recommended")
    if rec not in alt_ids:
        raise TrainingSetError(
            f"{where}: recommended '{rec}' is not an alternative (have: {', '.join(alt_ids)})"
        )
    return answer


def example_scenario(example: Any, where: str) -> Scenario:
    """The validated scenario of one source example."""
    if not isinstance(example, dict) or set(example) != {"scenario", "answer"}:
        raise TrainingSetError(f"{where}: an example has exactly the keys `scenario` and `answer`")
    try:
        return parse_scenario(example["scenario"], where)
    except InputError as err:
        raise TrainingSetError(str(err)) from None


def render_example(
    profile: ExpertProfile, example: Any, where: str, passages: list[dict] | None = None
) -> dict[str, Any]:
    """One `{"messages": [system, user, assistant]}` record for a validated example."""
    scenario = example_scenario(example, where)
    answer = _check_answer(example["answer"], scenario.alternative_ids, where)
    messages = [m.model_dump() for m in assessment_messages(profile, scenario, passages)]
    messages.append(
        {
            "role": "assistant",
            "content": format_assessment(
                answer["rationale"],
                answer["key_concerns"],
                answer["immediate_actions"],
                answer["recommended"],
            ),
        }
    )
    return {"messages": messages}


def _profile(path: Path, profiles: dict[str, ExpertProfile]) -> ExpertProfile:
    expert = path.stem
    if expert not in profiles:
        known = ", ".join(profiles)
        raise TrainingSetError(f"{path}: no expert profile '{expert}' (known: {known})")
    return profiles[expert]


def load_passages(path: Path = PASSAGES_FILE) -> dict[str, list[list[dict]]]:
    """The passage snapshot: expert id -> one list of passages per source example."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def render_source(
    path: Path, profiles: dict[str, ExpertProfile], passages: list[list[dict]] | None = None
) -> str:
    """The JSONL text for one source file; the file stem names the expert."""
    profile = _profile(path, profiles)
    examples = load_examples(path)
    if passages is not None and len(passages) != len(examples):
        raise TrainingSetError(
            f"{path}: {len(examples)} examples but {len(passages)} passage lists in "
            f"{PASSAGES_FILE.name} (run with --refresh-passages)"
        )
    lines = [
        json.dumps(
            render_example(profile, ex, f"{path.name}[{i}]", passages[i] if passages else None),
            ensure_ascii=False,
        )
        for i, ex in enumerate(examples)
    ]
    return "\n".join(lines) + "\n"


def render_all(
    src_dir: Path = SRC_DIR, passages_file: Path = PASSAGES_FILE
) -> dict[str, str]:
    """Expert id -> rendered JSONL text for every source file, in sorted order."""
    profiles = load_profiles()
    snapshot = load_passages(passages_file)
    return {
        p.stem: render_source(p, profiles, snapshot.get(p.stem))
        for p in sorted(src_dir.glob("*.yaml"))
    }


def refresh_passages(src_dir: Path = SRC_DIR, passages_file: Path = PASSAGES_FILE) -> int:
    """Query the real retriever (as `Assessor` does) for every example; write the snapshot."""
    from crisis_mas.config import AppConfig
    from crisis_mas.experts.prompting import retrieval_query
    from crisis_mas.rag import Retriever

    retriever = Retriever.open(AppConfig().rag)
    profiles = load_profiles()
    snapshot: dict[str, list[list[dict]]] = {}
    for path in sorted(src_dir.glob("*.yaml")):
        profile = _profile(path, profiles)
        snapshot[path.stem] = []
        for i, ex in enumerate(load_examples(path)):
            scenario = example_scenario(ex, f"{path.name}[{i}]")
            hits = retriever.search_for_expert(
                retrieval_query(scenario), profile.domains, focus=profile.role
            )
            snapshot[path.stem].append(
                [{k: getattr(h, k) for k in PASSAGE_KEYS} for h in hits]
            )
    passages_file.write_text(
        json.dumps(snapshot, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return sum(len(v) for v in snapshot.values())


def build(src_dir: Path = SRC_DIR, out_dir: Path = TRAINING_DIR) -> list[Path]:
    """Write `<out_dir>/<expert>.jsonl` for every source; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for expert, text in render_all(src_dir).items():
        target = out_dir / f"{expert}.jsonl"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def stale(src_dir: Path = SRC_DIR, out_dir: Path = TRAINING_DIR) -> list[str]:
    """Experts whose committed JSONL differs from a fresh render (missing files count as stale)."""
    out = []
    for expert, text in render_all(src_dir).items():
        target = out_dir / f"{expert}.jsonl"
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            out.append(expert)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=SRC_DIR, help="folder of <expert>.yaml sources")
    parser.add_argument("--out", type=Path, default=TRAINING_DIR, help="folder for <expert>.jsonl")
    parser.add_argument("--check", action="store_true", help="only report stale JSONL files")
    parser.add_argument(
        "--refresh-passages",
        action="store_true",
        help="re-query the knowledge base for every example before rendering",
    )
    args = parser.parse_args(argv)
    try:
        if args.refresh_passages:
            n = refresh_passages(args.src)
            print(f"{PASSAGES_FILE}: passages for {n} examples")
        if args.check:
            bad = stale(args.src, args.out)
            if bad:
                print(f"stale training sets: {', '.join(bad)} (run {Path(__file__).name})")
                return 1
            print("training sets are up to date")
            return 0
        for path in build(args.src, args.out):
            count = sum(1 for _ in path.open(encoding="utf-8"))
            print(f"{path}: {count} examples")
    except TrainingSetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
