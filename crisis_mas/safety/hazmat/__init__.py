"""HAZMAT fact validation against ERG 2024 and NIOSH IDLH reference tables.

`validate_text` finds IDLH, guide and distance claims (English and Greek) and judges each one
`consistent`, `contradicts` or `unknown`; `lookup` returns all known facts about a substance;
`check_scenario_facts` checks a scenario's own `hazmat_specific` block.
"""

from crisis_mas.safety.hazmat.findings import Finding, format_corrections
from crisis_mas.safety.hazmat.identify import lookup
from crisis_mas.safety.hazmat.reference import SubstanceFacts, table_versions
from crisis_mas.safety.hazmat.validator import check_scenario_facts, validate_text

__all__ = [
    "Finding",
    "SubstanceFacts",
    "check_scenario_facts",
    "format_corrections",
    "lookup",
    "table_versions",
    "validate_text",
]
