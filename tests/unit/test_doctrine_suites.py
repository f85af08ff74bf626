"""Rules-only regression check: the doctrine rule book (no model) on every labelled eval case.

For each label file of the counterfactual suites (all of them tuned on by now) and of the bundled
suite, the scenario goes through `doctrine_evidence` alone; its pick is right (in `acceptable`),
wrong, or silent (no rule separates the alternatives). The table is printed (`pytest -s`); the
floors are the counts measured when this check was written, so a rule change that loses a case
fails here in seconds. They say nothing about unseen wording: only a blind held-out suite does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crisis_mas.experts.catalogue.semantic import DEFAULT as SEMANTIC_DEFAULT
from crisis_mas.experts.catalogue.semantic import SemanticMatch
from crisis_mas.experts.doctrine import doctrine_evidence
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario

SUITES_DIR = Path(__file__).resolve().parents[2] / "evals" / "suites"
TUNED = (
    "counterfactual",
    "counterfactual_heldback_2026-12-03",
    "counterfactual_heldout2_2026-12-03",
    "counterfactual_heldout3_2026-12-03",
    "counterfactual_heldout4_2026-12-03",
    "counterfactual_heldout5_2026-12-03",
)
# suite -> (at least right, at most wrong). Measured 2026-12-03 before the rule book was broadened
# (right / silent / wrong: 26/0/0, 19/0/1, 16/0/0, 8/7/1, bundled 8/0/0) and raised to the figures
# of the freeze commit (26/0/0, 20/0/0, 16/0/0, 16/0/0, bundled 8/0/0). All four counterfactual
# suites were read while broadening it, so these are regression floors, not held-out figures.
# Round 2 (2026-12-03): the blind heldout4 suite measured 15/8/7 on the frozen cca5505 rule book
# (its honest held-out figure); after it was read and the causes fixed in general terms it is
# 30/0/0 here, now a tuned figure like the others. Only heldout5 (unseen) will say more.
FLOORS: dict[str, tuple[int, int]] = {
    "counterfactual": (26, 0),
    "counterfactual_heldback_2026-12-03": (20, 0),
    "counterfactual_heldout2_2026-12-03": (16, 0),
    "counterfactual_heldout3_2026-12-03": (16, 0),
    "counterfactual_heldout4_2026-12-03": (30, 0),
    # Held-out 5 was measured blind on the frozen round-2 rule book at 8/18/6; it was then read
    # to calibrate semantic catalogue matching (experts/catalogue/semantic.py), which takes it to
    # 11/11/10 (its new wrongs are rules whose facts fire in both variants of a pair). Tuned now.
    # Round 3 fixed those over-firings at their cause (tags and "key: none" lines are no facts,
    # NWCG structure triage by structure, same-action ties are no pick): 11/16/5.
    "counterfactual_heldout5_2026-12-03": (11, 5),
    "bundled": (8, 0),
}


OUTCOMES = ("right", "silent", "wrong")


def _case(suite: str, label: Path, semantic: SemanticMatch | None) -> tuple[str, list[str]]:
    """'right', 'wrong' or 'silent' for one label file, and its alternatives that carry out no
    catalogue action (`semantic`: how actions are matched by meaning; None: cues only)."""
    data = yaml.safe_load(label.read_text(encoding="utf-8"))
    base = bundled_scenarios_dir() if suite == "bundled" else label.parent
    ev = doctrine_evidence(load_scenario(base / data["scenario"]), semantic=semantic)
    unmatched = [f"{label.stem}:{a}" for a, acts in sorted(ev.actions.items()) if not acts]
    pick = ev.recommended
    if pick is None:
        return "silent", unmatched
    return ("right" if pick in data.get("acceptable", []) else "wrong"), unmatched


def rules_only_table(
    semantic: SemanticMatch | None = SEMANTIC_DEFAULT,
) -> dict[str, dict[str, list[str]]]:
    """suite -> outcome (and "unmatched") -> case names (alternatives), over every label file of
    the tuned and bundled suites."""
    out: dict[str, dict[str, list[str]]] = {}
    for suite in (*TUNED, "bundled"):
        rows: dict[str, list[str]] = {k: [] for k in (*OUTCOMES, "unmatched")}
        for label in sorted((SUITES_DIR / suite).glob("*.yaml")):
            outcome, unmatched = _case(suite, label, semantic)
            rows[outcome].append(label.stem)
            rows["unmatched"] += unmatched
        out[suite] = rows
    return out


def _print(title: str, t: dict[str, dict[str, list[str]]], cases: bool) -> None:
    print(f"\n{title}: right / silent / wrong (of n), alternatives matching no catalogue action")
    for suite, rows in t.items():
        n = sum(len(rows[k]) for k in OUTCOMES)
        line = (
            f"  {suite:40s} {len(rows['right']):3d} / {len(rows['silent']):3d} / "
            f"{len(rows['wrong']):3d}  (of {n})  unmatched {len(rows['unmatched']):3d}"
        )
        if cases:
            line += f"  wrong: {' '.join(rows['wrong']) or '-'}"
            line += f"  silent: {' '.join(rows['silent']) or '-'}"
        print(line)


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, list[str]]]:
    _print("cues only (semantic=None), for comparison", rules_only_table(None), cases=False)
    t = rules_only_table()
    _print("rules-only pick per suite (cues, else meaning)", t, cases=True)
    return t


@pytest.mark.parametrize("suite", [*TUNED, "bundled"])
def test_rules_only_pick_does_not_regress(
    table: dict[str, dict[str, list[str]]], suite: str
) -> None:
    rows = table[suite]
    assert sum(len(rows[k]) for k in OUTCOMES) > 0, f"no label files in {suite}"
    least_right, most_wrong = FLOORS[suite]
    assert len(rows["right"]) >= least_right, (suite, rows)
    assert len(rows["wrong"]) <= most_wrong, (suite, rows)
