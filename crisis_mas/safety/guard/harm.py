"""Requests for help to hurt people: violence against persons, weapons and chemical misuse,
illegal drugs, doxxing, and calls to strip rights from a protected group.

A request is flagged only when a request frame ("how do I", "best way to", "help me") meets a
harmful act *and* a human or mass target. That is what separates "How do I kill a Python
process?", "gut a fish" or "isolate a chlorine leak" from their harmful twins; words alone never
trigger. Historical, definitional and game contexts are let through.
"""

from __future__ import annotations

import re

from crisis_mas.safety.guard.types import make_flag

_FRAME = (
    r"(?:how (?:do|can|could|would|should|might) (?:i|we|one|you|someone)|how to|"
    r"(?:what(?:'s| is| are)|which is) the (?:best|easiest|quickest|fastest|most effective|"
    r"simplest|surest|cheapest) (?:way|ways|method|methods|means|place|places) (?:to|of)|"
    r"(?:best|easiest|quickest|fastest|good) (?:way|ways|method|methods) to|ways to|"
    r"help me|teach me|show me how|tell me how|give me (?:instructions|steps|a guide)|"
    r"instructions (?:for|to|on)|steps to|i (?:want|need|plan|intend|am going) to|"
    r"(?:good|best|easiest|effective) (?:way|ways|method|methods) of|ways of|"
    r"what steps should i take to|(?:where|what) is (?:a|the) (?:good|best) place to|"
    r"where (?:can|do|could) i|can you help me)"
)
_HARM_ACT = (
    r"(?:kill|murder|assassinate|poison|strangle|stab|shoot|hurt|harm|injure|torture|kidnap|"
    r"abduct|behead|decapitate|execute|slaughter|butcher|gut|dismember|suffocate|smother|drown|"
    r"maim|mutilate|beat(?: up)?|punch|hit|paralyze|incapacitate|bully|harass|stalk|blackmail|"
    r"traffic|enslave|rape|molest|groom|terrorize|get rid of|terminate|eliminate|liquidate|"
    r"exterminate|wipe out|finish off|do away with|slay|throttle|overpower|capture|snatch|"
    r"hunt down|run over|attack)(?:ing|s|ed)?"
)
_PERSON = (
    r"(?:someone|somebody|a person|people|persons|a human|humans|human beings?|a child|children|"
    r"kids?|a baby|babies|a woman|women|a man|men|a girl|girls|a boy|boys|him|her|them|myself|"
    r"my (?:\w+ ){0,2}(?:wife|husband|partner|girlfriend|boyfriend|ex|mother|mom|mum|father|dad|"
    r"brother|sister|son|daughter|neighbou?r|boss|coworker|co-worker|colleague|friend|teacher|"
    r"classmate|roommate|landlord|family|child|kid|baby|grandma|grandmother|grandfather|uncle|"
    r"aunt|cousin|employee|employer|enemy|rival)|a (?:politician|president|police officer|cop|"
    r"judge|witness|journalist|stranger|crowd)|the (?:president|prime minister|mayor|king|queen|"
    r"crowd|audience|passengers|residents|students|congregation)|a crowd|crowds|civilians|"
    r"innocent people|as many people as possible|a lot of people|a school|a subway|an? (?:mall|"
    r"stadium|concert|church|mosque|synagogue))"
)
_WEAPON = (
    r"(?:bomb|pipe bomb|car bomb|explosive device|explosives|ied|grenade|detonator|molotov|"
    r"napalm|thermite|nerve (?:agent|gas)|sarin|vx|tabun|novichok|ricin|anthrax|mustard gas|"
    r"chemical weapon|biological weapon|bioweapon|dirty bomb|poison gas|toxic gas|chlorine gas|"
    r"phosgene|hydrogen cyanide|untraceable poison|ghost gun|silencer|suppressor|zip gun|"
    r"(?:a |an )?(?:gun|rifle|firearm|weapon) at home)"
)
_BODY = (
    r"(?:skulls?|necks?|throats?|legs?|arms?|spines?|ribs?|sternums?|faces?|jaws?|fingers?|"
    r"arter(?:y|ies)|wrists?|teeth|kneecaps?|windpipes?|eyes)"
)
_OWNER = (
    r"(?:someone's|somebody's|a person's|a human(?:'s)?|a child's|his|her|their|my \w+'s|"
    r"people's|an? \w+'s)"
)
_PLACE = (
    r"(?:house|home|building|car|school|hospital|church|mosque|synagogue|bridge|office|"
    r"store|"
    r"shop|station|city|plane|train|bus|apartment|flat|neighbou?r's \w+|\w+'s (?:car|house|home))"
)
_MAKE = (
    r"(?:make|build|create|assemble|synthesi[sz]e|produce|cook|manufacture|brew|"
    r"weaponi[sz]e|obtain|acquire|buy|smuggle|3d print|get|getting|score|find)"
)
_DET = (
    r"(?:(?:a|an|some|the|my own|my|homemade|home-made|small|simple|powerful|deadly|lethal|"
    r"improvised|untraceable|real|working|functional|big|large)\s+){0,3}"
)
_TOXIC = (
    r"(?:poison|toxins?|toxic \w+|gas|chlorine|ammonia|cyanide|sarin|nerve agent|chemicals?|"
    r"pesticide|rat poison|bleach|acid|drugs?|arsenic|ricin|anthrax)"
)
_DRUG = (
    r"(?:cocaine|crack|heroin|meth|methamphetamine|fentanyl|lsd|mdma|ecstasy(?: pills)?|ketamine|"
    r"opium|"
    r"(?:a gram|a line|an ounce|a bag|an eight ?ball) of (?:coke|weed|crack|smack|dope))"
)
_PRIVATE = (
    r"(?:home address|home addresses|where (?:he|she|they) lives?|social security number|"
    r"passport number|bank (?:account|details)|credit card (?:number|details)|phone number|"
    r"medical records?|criminal record|password|login|email password|private (?:photos|messages))"
)
_GROUP = (
    r"(?:black|white|asian|hispanic|latino|latina|arab|jewish|muslim|christian|hindu|sikh|gay|"
    r"lesbian|bisexual|trans(?:gender)?|queer|disabled|immigrant|refugee|roma|indigenous|"
    r"native american|elderly|old|female|women|men|african|chinese|mexican|indian|greek|turkish|"
    r"albanian|pakistani|atheist|catholic|protestant|buddhist|poor)"
)

_RULES = (
    (
        "violence",
        0.85,
        "asks how to harm a person",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,40}}\b{_HARM_ACT}\s+(?:(?:all|some|many|more|those|"
            rf"these|as many)\s+)?{_PERSON}\b",
            re.I,
        ),
    ),
    (
        "violence_target_first",
        0.85,
        "asks how to harm a person",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,20}}\b(?:make|get|have)\s+{_PERSON}\s+"
            r"(?:die|suffer|bleed out|disappear|stop breathing)\b",
            re.I,
        ),
    ),
    (
        "weapon",
        0.85,
        "asks how to make or get a weapon",
        re.compile(rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b{_MAKE}\s+{_DET}{_WEAPON}\b", re.I),
    ),
    (
        "chemical_attack",
        0.9,
        "asks how to expose people to a toxic substance",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b(?:release|spread|disperse|spray|pump|put|pour|"
            rf"add|slip|leak)\s+(?:\w+\s+){{0,3}}?{_TOXIC}\b[^.?!\n]{{0,25}}\b(?:into|in|on|"
            rf"onto|at|to)\s+(?:the\s+|a\s+|my\s+|his\s+|her\s+|their\s+)?(?:{_PERSON}|"
            r"food|drinks?|coffee|water supply|reservoir|ventilation|air ?(?:con|conditioning)|"
            r"metro|subway|train|bus|school|office|building|crowd)\b",
            re.I,
        ),
    ),
    (
        "drugs",
        0.8,
        "asks how to buy or make illegal drugs",
        re.compile(rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b{_MAKE}\s+{_DET}{_DRUG}\b", re.I),
    ),
    (
        "doxxing",
        0.8,
        "asks for a private person's personal data",
        re.compile(
            rf"\b(?:what(?:'s| is)|find|give me|tell me|get|look up|where can i find)\b"
            rf"[^.?!\n]{{0,20}}\bmy (?:\w+ ){{0,2}}(?:wife|husband|partner|ex|neighbou?r|"
            rf"boss|coworker|co-worker|colleague|friend|teacher|classmate|roommate|landlord|"
            rf"crush|date|tenant)(?:'s)?\b[^.?!\n]{{0,30}}\b{_PRIVATE}\b|\b{_PRIVATE}\s+"
            r"(?:of|for)\s+my\s+(?:\w+\s+){0,2}?(?:wife|husband|partner|ex|neighbou?r|boss|"
            r"coworker|co-worker|colleague|friend|teacher|classmate|roommate|landlord|crush|"
            r"date|tenant)\b",
            re.I,
        ),
    ),
    (
        "discrimination",
        0.8,
        "argues for denying rights to a protected group",
        re.compile(
            rf"\b(?:why|should)\b[^.?!\n]{{0,15}}\b{_GROUP}\s+(?:people|persons|folks|"
            r"individuals|immigrants|women|men|children|citizens)?\s*(?:be\s+)?(?:not\s+"
            r"be\s+allowed|be\s+banned|be\s+barred|be\s+denied|not\s+(?:be\s+)?(?:allowed|"
            r"permitted)|be\s+prevented|be\s+excluded|lose\s+the\s+right|be\s+deported|"
            r"be\s+segregated|be\s+sterili[sz]ed|be\s+exterminated)\b",
            re.I,
        ),
    ),
    (
        "body_harm",
        0.85,
        "asks how to injure a person's body",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b(?:break|smash|crush|crack|shatter|cut|slit|"
            rf"sever|snap|twist|gouge|stab|slash)\s+(?:open\s+|in\s+)?{_OWNER}?\s*(?:\w+\s+)?"
            rf"{_BODY}\b|\b{_FRAME}\b[^.?!\n]{{0,40}}\b(?:to|and)\s+(?:break|smash|crush)\s+"
            rf"(?:their|his|her)\s+{_BODY}\b",
            re.I,
        ),
    ),
    (
        "self_harm",
        0.85,
        "asks how to harm oneself",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b(?:(?:kill|hang|hurt|harm|poison|cut|drown|"
            r"starve|shoot|overdose)\s+myself|end my (?:own )?life|commit suicide|"
            r"(?:sever|slit|"
            r"cut|slash) my (?:\w+\s+)?(?:wrists?|arter(?:y|ies)|throat|veins?))\b",
            re.I,
        ),
    ),
    (
        "victim_search",
        0.85,
        "looks for people to harm",
        re.compile(rf"\b(?:find|get|pick|choose)\s+{_PERSON}\s+to\s+{_HARM_ACT}\b", re.I),
    ),
    (
        "arson_explosion",
        0.85,
        "asks how to burn or blow up a place",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,30}}\b(?:(?:set|light)\s+(?:a|an|the|my|someone's|"
            rf"his|her|their)?\s*{_PLACE}\s+(?:on fire|alight|ablaze)|burn down\s+(?:a|an|the|"
            rf"my|someone's|his|her|their)?\s*{_PLACE}|blow up\s+(?:a|an|the|my|someone's|his|"
            rf"her|their)?\s*{_PLACE}|bomb\s+(?:a|an|the|my|our|his|her|their)\s+{_PLACE}|"
            rf"make\s+(?:a|an|the|my|someone's|his|her|their)?\s*{_PLACE}\s+explode|"
            rf"(?:explode|detonate|plant)\s+(?:a|the)\s+bomb)\b",
            re.I,
        ),
    ),
    (
        "theft",
        0.8,
        "asks how to steal or break in",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,25}}\b(?:steal(?:ing)?\s+(?:someone's|somebody's|a |an |"
            r"from|money|cars?|wallets?|credit|my \w+'s|without getting caught)|rob(?:bing)?\s+"
            r"(?:a |an |the |someone|my )|shoplift\w*|pickpocket\w*|break\s+into\s+(?:a|an|the|"
            r"my|someone's|his|her|their)\s+(?:\w+'s\s+)?(?:house|home|car|apartment|flat|"
            r"office|store|shop|building|safe|account))",
            re.I,
        ),
    ),
    (
        "atrocity",
        0.85,
        "asks how to repeat a mass atrocity",
        re.compile(
            rf"\b{_FRAME}\b[^.?!\n]{{0,20}}\b(?:replicate|repeat|recreate|carry out|commit|"
            r"organi[sz]e|plan)\b[^.?!\n]{0,30}\b(?:genocide|massacre|holocaust|ethnic "
            r"cleansing|mass shooting|terror(?:ist)? attack|pogrom|school shooting)\b",
            re.I,
        ),
    ),
)
# Every rule but these needs a request frame; testing for one first keeps long prompts fast.
_FRAME_RE = re.compile(rf"\b{_FRAME}\b", re.I)
_UNFRAMED = frozenset({"doxxing", "discrimination", "victim_search"})

# Contexts that make a violent verb harmless: games, fiction craft, history, definitions.
_SAFE_CONTEXT = re.compile(
    r"\b(?:in (?:a |the |my )?(?:video ?game|game|call of duty|minecraft|fortnite|gta|skyrim|"
    r"league of legends|counter-?strike|chess|poker|d&d|dungeons|board game|novel|film|movie|"
    r"play|story|screenplay)|video ?game|character in|in\s+(?:\w+\s+){0,4}(?:game|checkers|"
    r"chess|cards|poker|tennis|football|soccer|basketball|golf|monopoly|scrabble|a race|"
    r"an argument|a debate|fortnite|minecraft))\b",
    re.I,
)


def harmful_flags(text: str, max_chars: int = 4000) -> list[dict]:
    """`harmful_request` flags; empty for questions about protecting people from harm."""
    if not text:
        return []
    t = text[:max_chars]
    if _SAFE_CONTEXT.search(t):
        return []
    framed = _FRAME_RE.search(t) is not None
    hits = [
        (name, score, reason)
        for name, score, reason, pat in _RULES
        if (framed or name in _UNFRAMED) and pat.search(t)
    ]
    if not hits:
        return []
    top = max(hits, key=lambda h: h[1])
    return [make_flag("harmful_request", top[1], top[2], rules=[h[0] for h in hits])]
