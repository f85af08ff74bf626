"""The adapter registry and rollout state, kept in the store (`crisis_mas.store.registry`).

Every adapter version is registered with its base, training-data hash, training config and the
eval results attached to it. Per expert, a rollout names the incumbent (serving) version and an
optional candidate in shadow or canary mode; samples of both arms are recorded from live runs,
and `auto_check` / `promote` / `rollback` apply the pure rules of `crisis_mas.rollout.policy`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from crisis_mas.errors import InputError
from crisis_mas.evals.compare import Comparison
from crisis_mas.report.model import Report
from crisis_mas.rollout.config import RolloutConfig
from crisis_mas.rollout.policy import (
    Arm,
    ArmStats,
    Mode,
    Route,
    Sample,
    Verdict,
    arm_stats,
    check_promotion,
    check_rollback,
    route,
)
from crisis_mas.store import StoreRef, open_store
from crisis_mas.store.records import AdapterVersionRecord, RolloutRecord, SampleRecord

Status = Literal["registered", "active", "candidate", "retired", "rolled_back"]


class AdapterVersion(BaseModel):
    expert: str
    version: int
    status: Status
    registered_at: str
    path: str
    base: str
    data_sha256: str
    training: dict[str, Any]
    prompt_version: int | None = None
    final_loss: float | None = None
    evals: dict[str, Any] = {}  # "comparison" -> Comparison, "<eval_id>" -> metrics


class Rollout(BaseModel):
    expert: str
    incumbent: int | None
    candidate: int | None
    mode: Mode
    fraction: float
    started_at: str
    note: str | None = None


class RolloutStatus(BaseModel):
    rollout: Rollout
    incumbent: ArmStats
    candidate: ArmStats
    check: Verdict


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def samples_from_report(report: Report, arms: dict[str, Arm]) -> dict[str, Sample]:
    """Expert -> one sample of the arm that served it (shadow calls are recorded separately)."""
    return {
        a.expert_id: Sample(
            run_id=report.run_id,
            arm=arms.get(a.expert_id, "incumbent"),
            error=a.status != "ok",
            hazmat=a.hazmat_contradicts,
            latency_ms=a.latency_ms,
        )
        for a in report.assessments
    }


class Registry:
    def __init__(self, store: StoreRef = None, cfg: RolloutConfig | None = None):
        self.repo = open_store(store).registry
        self.cfg = cfg or RolloutConfig()

    # -- versions -------------------------------------------------------------------------------
    def register(self, info: dict[str, Any], status: Status = "registered") -> AdapterVersion:
        """Register an adapter from its `crisis_mas_adapter.json` metadata (a new version unless
        the same path, data hash and training time are already registered)."""
        expert = info["expert"]
        for v in self.versions(expert):
            if (v.path, v.data_sha256, v.training) == (
                info["path"],
                info["data_sha256"],
                info.get("training", {}),
            ):
                return v
        return self.version(expert, self.repo.add_version(expert, status, _now(), info))

    def register_dir(self, path: str | Path) -> AdapterVersion:
        from crisis_mas.pool.adapters import read_info

        info = read_info(Path(path))
        if info is None:
            raise InputError(f"{path}: not an adapter directory (no crisis_mas_adapter.json)")
        return self.register(info.model_dump(mode="json", exclude={"stale"}))

    @staticmethod
    def _version(r: AdapterVersionRecord) -> AdapterVersion:
        info = r.info
        return AdapterVersion(
            expert=r.expert,
            version=r.version,
            status=r.status,  # type: ignore[arg-type]
            registered_at=r.registered_at,
            path=info.get("path", ""),
            base=info.get("base", ""),
            data_sha256=info.get("data_sha256", ""),
            training=info.get("training", {}),
            prompt_version=info.get("prompt_version"),
            final_loss=info.get("final_loss"),
            evals=r.evals,
        )

    def versions(self, expert: str | None = None) -> list[AdapterVersion]:
        return [self._version(r) for r in self.repo.versions(expert)]

    def version(self, expert: str, version: int) -> AdapterVersion:
        r = self.repo.version(expert, version)
        if r is None:
            raise InputError(f"no adapter version {expert} v{version} in the registry")
        return self._version(r)

    def attach_eval(self, expert: str, version: int, key: str, result: dict[str, Any]) -> None:
        """Keep eval results with the version (`comparison` is what promotion reads)."""
        v = self.version(expert, version)
        self.repo.set_evals(expert, version, {**v.evals, key: result})

    # -- rollouts -------------------------------------------------------------------------------
    def rollout(self, expert: str) -> Rollout | None:
        r = self.repo.rollout(expert)
        return None if r is None else Rollout(**r.model_dump())

    def rollouts(self) -> list[Rollout]:
        return [Rollout(**r.model_dump()) for r in self.repo.rollouts()]

    def _save(self, r: Rollout, statuses: dict[int, Status]) -> None:
        self.repo.save_rollout(RolloutRecord(**r.model_dump()), dict(statuses))

    def activate(self, expert: str, version: int) -> Rollout:
        """Make a version the incumbent directly (first deployment of an expert)."""
        self.version(expert, version)
        cur = self.rollout(expert)
        statuses: dict[int, Status] = {}
        if cur and cur.incumbent and cur.incumbent != version:
            statuses[cur.incumbent] = "retired"
        statuses[version] = "active"
        r = Rollout(
            expert=expert,
            incumbent=version,
            candidate=None,
            mode="off",
            fraction=0.0,
            started_at=_now(),
            note="activated",
        )
        self._save(r, statuses)
        return r

    def start(
        self, expert: str, candidate: int, mode: Mode, fraction: float | None = None
    ) -> Rollout:
        """Put a candidate beside the incumbent in shadow or canary mode."""
        self.version(expert, candidate)
        cur = self.rollout(expert)
        if cur is None or cur.incumbent is None:
            raise InputError(f"{expert} has no active version: activate one first")
        if candidate == cur.incumbent:
            raise InputError(f"{expert} v{candidate} is already the active version")
        r = Rollout(
            expert=expert,
            incumbent=cur.incumbent,
            candidate=candidate,
            mode=mode,
            fraction=self.cfg.canary_fraction if fraction is None else fraction,
            started_at=_now(),
            note=f"{mode} started",
        )
        self._save(r, {candidate: "candidate"})
        return r

    def route(self, expert: str, run_id: str) -> tuple[Route, int | None, int | None]:
        """The route for one expert on one run, with (serving version, shadow version)."""
        r = self.rollout(expert)
        if r is None:
            return Route(serve="incumbent"), None, None
        if r.candidate is None or r.mode == "off":
            return Route(serve="incumbent"), r.incumbent, None
        rt = route(run_id, r.mode, r.fraction, salt=expert)
        serving = r.candidate if rt.serve == "candidate" else r.incumbent
        return rt, serving, r.candidate if rt.shadow else None

    def routes(self, run_id: str, experts: list[str]) -> dict[str, Route]:
        """Routes for every expert of one run with one read (the request-path call)."""
        active = {r.expert: r for r in self.rollouts()}
        out = {}
        for e in experts:
            r = active.get(e)
            if r is None or r.candidate is None or r.mode == "off":
                out[e] = Route(serve="incumbent")
            else:
                out[e] = route(run_id, r.mode, r.fraction, salt=e)
        return out

    def record(self, expert: str, sample: Sample) -> None:
        self.record_many({expert: [sample]})

    def record_many(self, samples: dict[str, list[Sample]]) -> None:
        """Record samples of experts under rollout in one transaction (others are ignored)."""
        active = {r.expert: r for r in self.rollouts() if r.candidate is not None}
        rows = []
        for expert, xs in samples.items():
            r = active.get(expert)
            if r is None:
                continue
            for smp in xs:
                version = r.candidate if smp.arm == "candidate" else r.incumbent
                if version is None:
                    continue
                rows.append(
                    SampleRecord(expert=expert, version=version, ts=_now(), **smp.model_dump())
                )
        self.repo.add_samples(rows)

    def samples(self, expert: str) -> list[Sample]:
        r = self.rollout(expert)
        if r is None or r.candidate is None:
            return []
        rows = self.repo.samples(expert, r.candidate, r.incumbent, r.started_at)
        return [Sample(**x.model_dump(include=set(Sample.model_fields))) for x in rows]

    def status(self, expert: str) -> RolloutStatus | None:
        r = self.rollout(expert)
        if r is None:
            return None
        xs = self.samples(expert)
        inc, cand = arm_stats(xs, "incumbent"), arm_stats(xs, "candidate")
        check = (
            check_rollback(inc, cand, self.cfg)
            if r.candidate is not None
            else Verdict(action="continue", reasons=["no candidate"])
        )
        return RolloutStatus(rollout=r, incumbent=inc, candidate=cand, check=check)

    def active_paths(self) -> dict[str, str]:
        """Expert -> adapter directory of its active version (merge into `model.adapters`)."""
        return {
            r.expert: self.version(r.expert, r.incumbent).path
            for r in self.rollouts()
            if r.incumbent is not None
        }

    def rollback(self, expert: str, reason: str = "manual rollback") -> Rollout:
        """Stop the candidate: the incumbent serves everything again."""
        r = self.rollout(expert)
        if r is None or r.candidate is None:
            raise InputError(f"{expert} has no candidate to roll back")
        out = r.model_copy(update={"candidate": None, "mode": "off", "note": reason[:500]})
        self._save(out, {r.candidate: "rolled_back"})
        return out

    def auto_check(self, expert: str) -> Verdict:
        """Apply the rollback rule; rolls back on breach. Call after recording samples."""
        st = self.status(expert)
        if st is None or st.rollout.candidate is None:
            return Verdict(action="continue", reasons=["no candidate"])
        if st.check.action == "rollback":
            self.rollback(expert, "automatic rollback: " + "; ".join(st.check.reasons))
        return st.check

    def promote(self, expert: str, force: bool = False) -> Verdict:
        """Candidate becomes the incumbent if every promotion gate passes (or `force`)."""
        st = self.status(expert)
        if st is None or st.rollout.candidate is None:
            raise InputError(f"{expert} has no candidate to promote")
        cand = self.version(expert, st.rollout.candidate)
        raw = cand.evals.get("comparison")
        comparison = Comparison.model_validate(raw) if raw else None
        verdict = check_promotion(st.incumbent, st.candidate, comparison, self.cfg)
        if verdict.action == "rollback":
            self.rollback(expert, "automatic rollback at promotion: " + "; ".join(verdict.reasons))
            return verdict
        if verdict.action != "promote" and not force:
            return verdict
        self.activate(expert, cand.version)
        if force and verdict.action != "promote":
            return Verdict(action="promote", reasons=["forced", *verdict.reasons])
        return verdict
