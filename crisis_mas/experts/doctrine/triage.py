"""START triage of the casualties a scenario names, for alternatives that say who goes first.

An alternative such as "Transport the van driver first" names a casualty; the scenario's own
sentences and real-time factors about that casualty (walking? breathing after the airway was
opened? respirations, radial pulse, capillary refill, following commands) give the START colour.
Red goes before yellow before green; black (not breathing after airway opening) never first.
"""

from __future__ import annotations

import re

from crisis_mas.experts.textmatch import find, fold
from crisis_mas.scenario import Scenario

SOURCE = "START triage (knowledge: start-triage): RPM, '30 - 2 - can do'"
PRIORITY = {"red": 3, "yellow": 2, "green": 1, "black": 0}
# "Transport the van driver first", "Fly the climber out first": the named casualty.
_WHO = re.compile(r"\b(?:the|a|an)\s+([\w -]+?)\s+(?:out\s+|away\s+|off\s+)?first\b")
_STOP = {"the", "a", "an", "casualty", "patient", "injured", "of", "to", "from"}
_RR = re.compile(
    r"(?:breath\w*|respirat\w*(?: rate)?)\D{0,12}(\d{1,2})\s*(?:times\s+(?:a|per)\s+minute|"
    r"(?:breaths\s+)?(?:per|/|a)\s*min\w*)"
)
_REFILL = re.compile(r"refill\D{0,15}(\d+(?:[.,]\d)?)\s*(?:s\b|sec\w*)")


def casualty_label(alternative_name: str) -> str | None:
    """The casualty an alternative's name says goes first ("van driver"), if it names one."""
    m = _WHO.search(fold(alternative_name))
    if not m:
        return None
    words = [w for w in re.findall(r"[\w-]+", m.group(1)) if w not in _STOP]
    return " ".join(words) or None


def _about(text_lines: list[str], label: str) -> str:
    """The scenario text about one casualty: lines and sentences naming its head noun."""
    head = label.split()[-1]
    key = label.replace(" ", "_")
    out = []
    for line in text_lines:
        if line.startswith(key) or line.startswith(label):
            out.append(line)
            continue
        for sent in re.split(r"(?<=[.;])\s+", line):
            if re.search(r"\b" + re.escape(head) + r"\w*", sent):
                out.append(sent)
    return " ".join(out)


def start_colour(text: str) -> str | None:
    """START category from what is said about one casualty (None if nothing is said)."""
    t = fold(text)
    if not t.strip():
        return None
    # Cues that state a negative themselves ("not breathing") are matched as written.
    apnoeic = find(
        t, [r"not breathing[^.;]{0,40}after the airway", r"no breathing after", "apnoe"], False
    )
    if apnoeic and not find(t, [r"start\w* breathing", r"breathing (resumed|returned)"]):
        return "black"
    if find(t, [r"start\w* breathing[^.;]{0,40}airway", r"breathing only after the airway"]):
        return "red"
    walking = find(t, [r"walk\w*", "ambulatory", r"περπατ\w*"])
    if find(t, [r"no radial pulse", r"radial pulse (absent|not palpable)", "pulseless"], False):
        return "red"
    m = _RR.search(t)
    if m and int(m.group(1)) > 30:
        return "red"
    m = _REFILL.search(t)
    if m and float(m.group(1).replace(",", ".")) > 2:
        return "red"
    if find(
        t,
        [r"(does not|cannot|unable to) (follow|obey|respond to)", "unresponsive", "unconscious"],
        False,
    ):
        return "red"
    if walking:
        return "green"
    return "yellow" if (m or find(t, ["follows commands", "radial pulse present"])) else None


def start_priorities(s: Scenario, situation_lines: list[str]) -> dict[str, tuple[str, str]]:
    """Alternative id -> (casualty label, START colour), for alternatives naming a casualty."""
    out = {}
    for a in s.available_actions:
        label = casualty_label(a.name) or casualty_label(a.description)
        if not label:
            continue
        colour = start_colour(_about(situation_lines, label))
        if colour:
            out[a.id] = (label, colour)
    return out
