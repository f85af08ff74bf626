"""Output rails: unsafe advice against the scenario's hazards, and markup/code injection.

Unsafe advice is a statement that removes a protection ("no need to evacuate", "no PPE
required", "safe to enter", "open the windows" during a toxic release) and is not negated
("do not assume it is safe to enter" is good advice). It scores higher when the request's
tags say the scenario has hazards. Markup that a browser or a renderer would execute (script,
iframe, event handlers, javascript: links, remote markdown images that can leak data) is
flagged, and `sanitize_markup` defuses it.
"""

from __future__ import annotations

import re

from crisis_mas.safety.guard.types import make_flag

_NEGATION = re.compile(
    r"(?:\bnot\b|\bnever\b|n't\b|\bno one\b|\bnobody\b|\bnone\b|\buntil\b|\bunless\b|\bbefore\b|"
    r"\bonly (?:after|when|once|if)\b|\bwithout confirming\b|\bassum\w*\b|\bclaim\w*\b|"
    r"\bwrong(?:ly)?\b|\bmyth\b|\bfalse\b|\bμην?\b|\bδεν\b|\bποτ[εέ]\b|\bμ[εέ]χρι\b|"
    r"\bεκτ[οό]ς\b|\bκαν[εέ]ν\w*\b|\bπριν\b)[^.!?\n]{0,45}$",
    re.I,
)
_HAZARD_WORDS = (
    "toxic",
    "gas",
    "chemical",
    "hazmat",
    "ammonia",
    "chlorine",
    "fire",
    "smoke",
    "tih",
    "leak",
    "release",
    "radiolog",
    "explos",
    "cbrn",
    "flood",
    "wildfire",
    "collapse",
    "earthquake",
)

# (name, pattern, score with hazards in context, reason); patterns run on lower-cased text.
_UNSAFE = tuple(
    (n, re.compile(p, re.I), s, r)
    for n, p, s, r in (
        (
            "no_evacuation",
            r"\b(?:no (?:need|reason) (?:to|for) (?:an? )?evacuat\w*|(?:do(?:es)? not|don't|"
            r"doesn't) "
            r"(?:need|have) to (?:be )?evacuat\w*|evacuation (?:is|was|"
            r"would be) (?:not (?:necessary|"
            r"needed|required|warranted)|unnecessary|pointless)|no evacuation (?:is )?(?:needed|"
            r"required|"
            r"necessary)|(?:residents|people|the public|everyone) (?:can|may|should) (?:stay|"
            r"remain) "
            r"(?:put|home|outside|outdoors) (?:as normal|safely)?)|"
            r"(?:δεν|καμ[ιί]α) (?:χρει[αά]ζεται|απαιτε[ιί]ται|"
            r"ε[ιί]ναι απαρα[ιί]τητη) (?:η )?εκκ[εέ]νωση",
            0.9,
            "says evacuation is unnecessary",
        ),
        (
            "no_ppe",
            r"\b(?:no (?:ppe|protective (?:equipment|clothing|gear)|respirators?|scba|breathing "
            r"apparatus|masks?|gloves)(?: is| are)? (?:needed|required|necessary)|(?:ppe|"
            r"protective "
            r"(?:equipment|clothing|gear)|respirators?|scba|breathing apparatus|masks?) (?:is|are) "
            r"(?:not (?:needed|required|necessary)|unnecessary|optional)|(?:enter|approach|work|"
            r"go in|"
            r"operate)\w* (?:\w+ ){0,3}without (?:any )?(?:ppe|protective|respirator|scba|"
            r"breathing "
            r"apparatus|masks?|gloves|a suit))|"
            r"δεν (?:χρει[αά]ζεται|απαιτε[ιί]ται) (?:\w+ ){0,2}(?:εξοπλισμ[οό]ς|μ[αά]σκα|"
            r"αναπνευστικ|"
            r"στολ[ηή])|χωρ[ιί]ς (?:αναπνευστικ\w*|μ[αά]σκα|προστατευτικ\w*|στολ[ηή])",
            0.85,
            "says protective equipment is not needed",
        ),
        (
            "safe_to_enter",
            r"\b(?:(?:it is|it's|area is|zone is|building is|site is|now|perfectly|"
            r"completely) safe to "
            r"(?:enter|re-?enter|approach|return|go (?:back )?in(?:side)?|walk through|touch)|"
            r"(?:can|may) (?:safely )?(?:enter|re-?enter|approach|return to) (?:the )?(?:hot zone|"
            r"area|building|site|scene|spill|cloud|plume)(?: safely)?)|"
            r"ε[ιί]ναι ασφαλ[εέ]ς να (?:μπ|εισ[εέ]λθ|πλησι[αά]σ|επιστρ[εέ]ψ)",
            0.85,
            "says it is safe to enter or approach",
        ),
        (
            "harmless",
            r"\b(?:the )?(?:gas|vapou?r|cloud|plume|smoke|leak|substance|chemical|release|spill) "
            r"(?:is|was|are) (?:completely |totally |entirely |basically )?(?:harmless|non-?toxic|"
            r"not "
            r"(?:toxic|dangerous|hazardous|harmful)|safe to (?:breathe|inhale))",
            0.85,
            "calls the release harmless",
        ),
        (
            "windows_open",
            r"\b(?:open|keep open)\b[^.!?\n]{0,20}\b(?:windows|doors|"
            r"ventilation)\b(?=[^.!?\n]{0,60}"
            r"\b(?:gas|cloud|plume|vapou?r|fumes|smoke|toxic|ammonia|chlorine)\b)|"
            r"\b(?:stay|remain|go|gather)\s+(?:outside|outdoors)\b(?=[^.!?\n]{0,60}\b(?:gas|cloud|"
            r"plume|"
            r"vapou?r|fumes|toxic|ammonia|chlorine)\b)",
            0.7,
            "tells people to ventilate or stay outdoors during a toxic release",
        ),
        (
            "approach_downwind",
            r"\b(?:approach|stage|position|set up|park)\w*\b[^.!?\n]{0,30}\b(?:from )?downwind\b",
            0.8,
            "tells responders to approach or stage downwind",
        ),
        (
            "water_on_leak",
            r"\b(?:spray|direct|apply|put|pour|aim)\w*\b[^.!?\n]{0,25}\bwater\b[^.!?\n]{0,25}\b"
            r"(?:directly )?(?:on|onto|into|at)\s+(?:the\s+)?(?:leak(?:ing)?|source|spill|tank|"
            r"container|cylinder|water-reactive)\b",
            0.6,
            "directs water at the leak or into the container",
        ),
        (
            "no_decon",
            r"\b(?:no (?:need (?:for|to)|) ?decon(?:tamination)?(?: is)? (?:needed|required|"
            r"necessary)?|"
            r"decon(?:tamination)? (?:is|are) (?:not (?:needed|required|necessary)|unnecessary))\b|"
            r"δεν (?:χρει[αά]ζεται|απαιτε[ιί]ται) απολ[υύ]μανση|δεν (?:χρει[αά]ζεται|"
            r"απαιτε[ιί]ται) "
            r"απορρ[υύ]πανση",
            0.75,
            "says decontamination is unnecessary",
        ),
    )
)

_MARKUP = tuple(
    (n, re.compile(p, re.I | re.S), s, r)
    for n, p, s, r in (
        ("script_tag", r"<\s*script\b", 0.95, "script tag"),
        (
            "active_tag",
            r"<\s*(?:iframe|object|embed|applet|frame|frameset|base|form|meta\s+http-equiv"
            r"|link\s+rel)\b",
            0.9,
            "active HTML element",
        ),
        (
            "event_handler",
            r"<[^>]{0,200}\bon(?:error|load|click|mouseover|focus|blur|submit|"
            r"change|input|keydown|keyup|animationstart)\s*=",
            0.9,
            "HTML event handler",
        ),
        ("js_url", r"(?:javascript|vbscript|data:text/html)\s*:", 0.9, "script URL"),
        ("svg_script", r"<\s*svg\b[^>]{0,200}>", 0.6, "inline SVG"),
        (
            "remote_image",
            r"!\[[^\]]{0,200}\]\(\s*https?://[^)]+\)",
            0.7,
            "remote markdown image (can leak data in its URL)",
        ),
        (
            "html_image",
            r"<\s*img\b[^>]{0,300}\bsrc\s*=\s*['\"]?https?://",
            0.6,
            "remote HTML image",
        ),
        (
            "shell",
            r"\brm\s+-rf\s+[/~]|\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:ba|z)?sh\b|"
            r":\(\)\s*\{\s*:\|:&\s*\};:|\bmkfs\.\w+\s+/dev/|\bdd\s+if=/dev/(?:zero|"
            r"random)\s+of=/dev/",
            0.9,
            "destructive shell command",
        ),
        (
            "sql",
            r";\s*(?:drop|truncate|delete\s+from|alter)\s+(?:table|database)?\b|"
            r"'\s*or\s+'?1'?\s*=\s*'?1|union\s+select\b",
            0.8,
            "SQL injection",
        ),
        (
            "template",
            r"\{\{[^}]{0,80}(?:__class__|__globals__|config|self\._|lipsum|cycler)[^}]{0,80}"
            r"\}\}|\$\{jndi:",
            0.85,
            "template/JNDI injection",
        ),
    )
)
_ACTIVE_BLOCK = re.compile(
    r"<\s*(script|iframe|object|embed|applet|style|form)\b[^>]*>.*?<\s*/\s*\1\s*>|"
    r"<\s*(?:script|iframe|object|embed|applet|base|meta|link|form|frame|frameset)\b[^>]*/?>",
    re.I | re.S,
)
_HANDLER_ATTR = re.compile(r"\s+on\w+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
_JS_URL = re.compile(r"(?:javascript|vbscript|data:text/html)\s*:", re.I)
_REMOTE_IMG = re.compile(r"!\[([^\]]{0,200})\]\(\s*https?://[^)]+\)")


def _hazardous(context: dict | None) -> bool:
    if not context:
        return False
    blob = " ".join(
        str(context.get(k, ""))
        for k in ("hazards", "scenario_type", "un_number", "chemical", "crisis_type")
    ).lower()
    return bool(context.get("un_number")) or any(w in blob for w in _HAZARD_WORDS)


def unsafe_advice_flags(text: str, context: dict | None = None) -> list[dict]:
    """Flags for advice that drops a protection, unless the sentence negates it."""
    flags = []
    hazardous = _hazardous(context)
    for name, pat, score, reason in _UNSAFE:
        for m in pat.finditer(text):
            line_start = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
            if _NEGATION.search(text[line_start : m.start()]):
                continue
            s = score if hazardous else round(score * 0.75, 3)
            flags.append(
                make_flag(
                    "unsafe_advice", s, reason, rule=name, excerpt=text[m.start() : m.end()][:120]
                )
            )
            break
    return flags


def markup_flags(text: str) -> list[dict]:
    flags = []
    for name, pat, score, reason in _MARKUP:
        if pat.search(text):
            flags.append(make_flag("markup_injection", score, reason, rule=name))
    return flags


def sanitize_markup(text: str) -> str:
    """Remove active elements and handlers, defuse script URLs, drop remote markdown images."""
    text = _ACTIVE_BLOCK.sub("", text)
    text = _HANDLER_ATTR.sub("", text)
    text = _JS_URL.sub("blocked:", text)
    return _REMOTE_IMG.sub(lambda m: f"[image removed: {m.group(1)}]", text)
