"""Grounding audit of a stored eval: per-expert grounded-claim rates, the fallback rate,
duplicate citations, and every item of the commander's summaries and every ungrounded claim,
listed for a person to read (the checker's misses - invented things it did not see as claims -
are found only by reading the summary items).

    .venv/bin/python bench/grounding_audit.py EVAL_ID [--items]

EVAL_ID is the id `crisis-mas eval --json` prints; its reports are in the run store.
"""

from __future__ import annotations

import argparse
from collections import Counter

from crisis_mas.config import load_config
from crisis_mas.report.records import report_from
from crisis_mas.store import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_id")
    ap.add_argument("--items", action="store_true", help="print every summary item")
    ap.add_argument("--config", default=None)
    args = ap.parse_args()
    store = open_store(load_config(args.config).store)
    prefix = f"eval-{args.eval_id}-"
    ids = [r.run_id for r in store.runs.list(limit=10_000) if r.run_id.startswith(prefix)]
    claims: Counter[str] = Counter()
    grounded: Counter[str] = Counter()
    status: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    ungrounded: Counter[str] = Counter()
    dup = shown = withheld = n_assess = 0
    for run_id in sorted(ids):
        r = report_from(store.runs.get(run_id))
        assert r is not None
        runs[r.status] += 1
        for a in r.assessments:
            n_assess += 1
            status[a.status] += 1
            dup += len(a.citations) - len({c.doc_id for c in a.citations})
        for e, g in r.grounding.items():
            claims[e] += g.claims
            grounded[e] += g.grounded
            ungrounded.update(g.ungrounded)
        items = r.summary.concerns + r.summary.actions
        shown += len(items)
        withheld += r.summary.withheld
        if args.items:
            print(f"\n## {r.scenario_id} ({r.status})")
            for i in items:
                print(f"  [{i.expert_id}] {i.text}")
    total_c, total_g = sum(claims.values()), sum(grounded.values())
    print(f"runs: {len(ids)} {dict(runs)}; assessments {n_assess} {dict(status)}")
    print(f"fallback rate: {status['fallback'] / max(n_assess, 1):.1%}")
    print(f"duplicate citations (per expert): {dup}")
    print(f"summary items shown: {shown}, withheld as ungrounded: {withheld}")
    print(f"grounded-claim rate (final answers): {total_g}/{total_c} = {total_g / total_c:.1%}")
    for e in sorted(claims):
        print(f"  {e:18s} {grounded[e]:4d}/{claims[e]:4d} = {grounded[e] / claims[e]:.1%}")
    print(
        "most frequent ungrounded claims:",
        ", ".join(f"{k} ({v})" for k, v in ungrounded.most_common(40)),
    )


if __name__ == "__main__":
    main()
