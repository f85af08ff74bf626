"""Evaluation against doctrine labels: suites, metrics, paired comparison, stored eval runs."""

from crisis_mas.evals.compare import Comparison, compare_runs
from crisis_mas.evals.labels import Fact, LabelledScenario, ScenarioLabels, load_suite
from crisis_mas.evals.metrics import ScenarioScore, SuiteMetrics, score_report, suite_metrics
from crisis_mas.evals.results import EvalRun

__all__ = [
    "Comparison",
    "EvalRun",
    "Fact",
    "LabelledScenario",
    "ScenarioLabels",
    "ScenarioScore",
    "SuiteMetrics",
    "compare_runs",
    "load_suite",
    "score_report",
    "suite_metrics",
]
