"""START triage of the casualties a scenario names, for alternatives that say who goes first.

An alternative such as "Transport the van driver first" names a casualty; the scenario's own
sentences and real-time factors about that casualty (walking? breathing after the airway was
opened? respirations, radial pulse, capillary refill, following commands) give the START colour.
Red goes before yellow before green; black (not breathing after airway opening) never first.
The same criteria are read in Greek («αναπνέει 36 φορές το λεπτό», «δεν έχει κερκιδικό σφυγμό»).
"""

from __future__ import annotations

import re

from crisis_mas.experts.textmatch import find, fold
from crisis_mas.scenario import Scenario

SOURCE = (
    "START triage (knowledge: start-triage): RPM, '30 - 2 - can do'; JumpSTART for children 1-8"
    " (Romig 2002: respirations under 15 or over 45 are immediate)"
)
PRIORITY = {"red": 3, "yellow": 2, "green": 1, "black": 0}
# "Transport the van driver first", "Fly the climber out first": the named casualty.
_WHO = re.compile(r"\b(?:the|a|an)\s+([\w -]+?)\s+(?:out\s+|away\s+|off\s+)?first\b")
# «Μεταφέρετε πρώτα τον οδηγό», «ο οδηγός πρώτος»: the Greek article before or after.
_WHO_EL = re.compile(
    r"\bπρωτ\w*\s+(?:τον|την|το|τη|τουσ|τισ|τα|ο|η)\s+([\w -]+?)\s*(?:[.,;]|$)"
    r"|\b(?:ο|η|το|τον|την|τη)\s+([\w -]+?)\s+πρωτ\w*"
)
# "First ambulance takes the front passenger", "the helicopter takes the climber first".
_WHO_TAKES = re.compile(
    r"\b(?:first|only|next)\s+(?:ambulance|helicopter|boat|vehicle|stretcher)\s+"
    r"(?:takes|carries|is for|goes to|for)\s+(?:the\s+|a\s+)?([\w -]+?)\s*(?:[.,;(]|$)"
)
_STOP = {"the", "a", "an", "casualty", "patient", "injured", "of", "to", "from", "τραυματια"}
_VERBS = {"goes", "go", "is", "leaves", "transported", "taken", "evacuated", "flown", "moved"}
_RR = re.compile(
    r"(?:breath\w*|respirat\w*(?: rate)?|αναπνε\w*|αναπνο\w*)\D{0,12}(\d{1,2})\s*"
    r"(?:times\s+(?:a|per)\s+minute|(?:breaths\s+)?(?:per|/|a)\s*min\w*|"
    r"(?:φορεσ|αναπνοεσ)\s+(?:το|ανα)\s+λεπτο|/\s*λεπτο|ανα λεπτο)"
)
_REFILL = re.compile(r"(?:refill|επαναπληρωσ\w*)\D{0,15}(\d+(?:[.,]\d)?)\s*(?:s\b|sec\w*|δευτ\w*)")


def casualty_label(alternative_name: str) -> str | None:
    """The casualty an alternative's name says goes first ("van driver"), if it names one."""
    text = fold(alternative_name)
    m = _WHO.search(text) or _WHO_TAKES.search(text)
    found = m.group(1) if m else None
    if found is None and (g := _WHO_EL.search(text)):
        found = g.group(1) or g.group(2)
    if not found:
        return None
    words = [w for w in re.findall(r"[\w-]+", found) if w not in _STOP]
    while words and words[-1] in _VERBS:  # "the van driver goes first"
        words.pop()
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


# JumpSTART applies to children of about 1 to 8 years: "a 4-year-old boy", «παιδί 6 ετών».
_CHILD = re.compile(
    r"\b[1-8][- ]?(?:year|yr)s?[- ]old\b|\b(?:toddler|preschool\w*|νηπι\w*)"
    r"|\b(?:παιδι|αγορι|κοριτσι)\w* [1-8] (?:ετων|χρονων)"
)


def _is_young_child(text: str) -> bool:
    return bool(_CHILD.search(text))


def _rr_red(rate: int, child: bool) -> bool:
    """START: over 30 a minute is immediate; JumpSTART (child 1-8): under 15 or over 45."""
    return rate < 15 or rate > 45 if child else rate > 30


def start_colour(text: str) -> str | None:
    """START category from what is said about one casualty (None if nothing is said)."""
    t = fold(text)
    if not t.strip():
        return None
    # Cues that state a negative themselves ("not breathing") are matched as written.
    apnoeic = find(
        t,
        [
            r"not breathing[^.;]{0,40}after the airway",
            r"no breathing after",
            "apnoe",
            r"δεν αναπνεει[^.;]{0,30}(μετα|και μετα) (τη|την) διανοιξη",
            r"απνοι\w*",
        ],
        False,
    )
    if apnoeic and not find(
        t, [r"start\w* breathing", r"breathing (resumed|returned)", r"αρχιζει να αναπνεει"]
    ):
        return "black"
    if find(
        t,
        [
            r"start\w* breathing[^.;]{0,40}airway",
            r"breathing only after the airway",
            r"αναπνεει μονο μετα (τη|την) διανοιξη",
        ],
    ):
        return "red"
    walking = find(t, [r"walk\w*", "ambulatory", r"περπατ\w*"])
    if find(
        t,
        [
            r"no radial pulse",
            r"radial pulse (absent|not palpable)",
            "pulseless",
            r"(δεν εχει|χωρισ|απουσια) κερκιδικ\w* σφυγμ\w*",
        ],
        False,
    ):
        return "red"
    m = _RR.search(t)
    if m and _rr_red(int(m.group(1)), _is_young_child(t)):
        return "red"
    refill = _REFILL.search(t)
    if refill and float(refill.group(1).replace(",", ".")) > 2:
        return "red"
    if find(
        t,
        [
            r"(does not|cannot|unable to) (follow|obey|respond to)",
            "unresponsive",
            "unconscious",
            r"δεν (εκτελει|ακολουθει|ανταποκρινεται)",
            r"αναισθητ\w*",
        ],
        False,
    ):
        return "red"
    if walking:
        return "green"
    said = ["follows commands", "radial pulse present", r"(εκτελει|ακολουθει) εντολ\w*"]
    return "yellow" if (m or find(t, [*said, r"εχει κερκιδικ\w* σφυγμ\w*"])) else None


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
