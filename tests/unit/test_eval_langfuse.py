"""Langfuse export of an eval run, against a stand-in client (no server in tests): the dataset
items carry the labels, the experiment's task returns stored scores, evaluators report metrics."""

from __future__ import annotations

from types import SimpleNamespace

from test_eval_metrics import SUITE, _eval, _picks

from crisis_mas.evals.langfuse_export import export_eval_run


class FakeLangfuse:
    def __init__(self, fail: bool = False) -> None:
        self.items: dict[str, dict] = {}
        self.scores: list[tuple[str, str, float]] = []
        self.fail = fail
        self.flushed = False

    def create_dataset(self, **kw) -> None:  # noqa: ANN003
        raise RuntimeError("exists")  # export must carry on

    def create_dataset_item(self, **kw) -> None:  # noqa: ANN003
        if self.fail:
            raise RuntimeError("network down")
        self.items[kw["id"]] = kw

    def get_dataset(self, name: str) -> SimpleNamespace:
        def run_experiment(*, name, run_name, task, evaluators, metadata):  # noqa: ANN001, ANN202
            self.meta = (name, run_name, metadata)
            for it in self.items.values():
                out = task(item=SimpleNamespace(input=it["input"]))
                for ev in evaluators:
                    for e in ev(input=it["input"], output=out, expected_output=None):
                        self.scores.append((it["input"]["scenario_id"], e.name, e.value))

        return SimpleNamespace(run_experiment=run_experiment)

    def flush(self) -> None:
        self.flushed = True


def test_export_eval_run() -> None:
    run = _eval("v2", _picks("good"))
    client = FakeLangfuse()
    name = export_eval_run(run, list(SUITE.values()), client)
    assert name == "v2-v2" and client.flushed
    assert len(client.items) == 8
    item = client.items["bundled-hazmat_001"]
    assert "action_shelter_in_place_downwind" in item["expected_output"]["acceptable"]
    top1 = [v for _, n, v in client.scores if n == "top1_acceptable"]
    assert top1 == [1.0] * 8
    assert client.meta[2]["top1_acceptable_rate"] == 1.0


def test_export_is_best_effort() -> None:
    run = _eval("v2", _picks("good"))
    assert export_eval_run(run, list(SUITE.values()), FakeLangfuse(fail=True)) is None
    assert export_eval_run(run, list(SUITE.values()), None) is None
