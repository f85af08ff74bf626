"""Indirect prompt injection: instructions planted in retrieved passages.

Reference text describes the world; it does not talk to the model that reads it. A sentence in a
passage is suspect when it (a) carries a direct injection, (b) addresses the reader's *answer*
("in your response", "to your reply") or the AI itself, (c) is a request - a question or a
content-generation command - that has nothing to do with the passage around it or with emergency
work, (d) asks for creative writing or for games with letters and words, or (e) pushes a link.
Checklist questions that fit the passage ("Are escape routes identified?") stay allowed.
"""

from __future__ import annotations

import re

from crisis_mas.safety.guard.injection import detect
from crisis_mas.safety.guard.types import combine, make_flag

_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+['\"”’)]*|\n|$)")
_WORD = re.compile(r"[a-zα-ωά-ώ]+", re.I)

_ANSWER = r"(?:response|reply|answer|output|message|summary|completion|writing|text|words)"
_TO_ANSWER = re.compile(
    rf"\b(?:in|to|into|within|throughout|from|for|of|with)\s+(?:the\s+|your\s+)?"
    rf"(?:(?:next|final|upcoming|subsequent)\s+)?your\s+{_ANSWER}\b|\byour\s+{_ANSWER}(?:'s)?\b",
    re.I,
)
_WHATEVER_YOU = re.compile(
    r"\b(?:whatever|everything|anything)\s+(?:else\s+)?you\s+(?:write|say|output|produce|answer|"
    r"reply|generate|tell)\b|\b(?:when|while|if|before|after)\s+(?:you(?:'re| are)?\s+)?"
    r"(?:summari[sz]ing|answering|responding|replying|processing|reading)\s+(?:this|the)\b",
    re.I,
)
_THE_USER = re.compile(
    r"\b(?:tell|inform|remind|convince|persuade|advise|instruct|warn|reassure|ask|show|give|"
    r"respond to|reply to|answer)\s+(?:the|any|all)\s+(?:users?|readers?|person asking|humans?)\b"
    r"|^\W*(?:assistant|ai|chatbot|model|llm|gpt)\s*[,:]",
    re.I,
)
_TO_ANSWER_EL = re.compile(
    r"(?:στην|στη|στο)\s+απ[αά]ντησ[ηή]\s+σου|απ[αά]ντησ[εέ]\s+μ[οό]νο", re.I
)
_TO_AI = re.compile(
    r"\b(?:if you are|you are|as) an? (?:ai|assistant|language model|llm|chatbot|bot)\b|"
    r"\b(?:note|message|instructions?|attention)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|assistant|"
    r"language model|llm|model|chatbot|bot|reader model)\b|"
    r"\b(?:ai|assistants?|language models?|llms?|chatbots?)\s+(?:reading|processing|summari[sz]ing|"
    r"parsing|that reads?)\b",
    re.I,
)
# Verbs that ask the reader to produce information or text (not procedure verbs like "use").
# "develop", "produce", "write down" are everyday procedure verbs in ops manuals ("Develop
# contingencies"); they count only together with a creative artifact (see _CREATIVE_START).
_REQUEST_VERB = (
    r"write(?! down)|compose|draft|create|generate|explain|describe|summari[sz]e|"
    r"translate|outline|break down|define|solve|code|implement|compare|analy[sz]e|discuss|teach|"
    r"invent|tell me|show me|give me|provide (?:a|an|the|some|me|your)|"
    r"γρ[αά]ψ[εέ]|εξ[ηή]γησ[εέ]|περ[ιί]γραψ[εέ]|μετ[αά]φρασ[εέ]|συν[οό]ψισ[εέ]|π[εέ]ς μου"
)
_REQUEST_START = re.compile(
    rf"^\W*(?:please\s+|kindly\s+|now\s+|also\s+|then\s+|and\s+)?(?:{_REQUEST_VERB})\b", re.I
)
_CREATIVE_START = re.compile(
    rf"^\W*(?:please\s+|kindly\s+|now\s+|also\s+|then\s+|and\s+)?(?:{_REQUEST_VERB}|develop|"
    r"produce|prepare|make|give|provide|deliver|come up with)\b",
    re.I,
)
# Verbs of editing the output, used with letters/words/spaces ("replace every third letter").
_EDIT_START = re.compile(
    r"^\W*(?:please\s+)?(?:replace|use|convert|remove|group|combine|rearrange|scramble|jumble|"
    r"misspell|anagram|substitute|introduce|render|spell|reverse|capitali[sz]e|write|provide|"
    r"respond|reply|answer|add|insert|separate|swap)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^\W*(?:what(?:'s| is| are| was| were)?|who|whom|whose|when|where|why|which|how|can you|"
    r"could you|would you|will you|do you|did you|τι|ποιος|ποια|ποιο|π[ωώ]ς|"
    r"γιατ[ιί]|π[οό]τε|π[οο]ύ)\b",
    re.I,
)
_ADDRESSED = re.compile(
    r"\b(?:can you|could you|would you|please|for me|tell me|show me|give me|"
    r"help me)\b",
    re.I,
)
_CREATIVE = re.compile(
    r"\b(?:poem|poetry|story|stories|essay|letter|speech|song|lyrics|joke|haiku|limerick|sonnet|"
    r"tweet|blog(?: post)?|article|novel|screenplay|script|introduction|headline|slogan|"
    r"advertisement|ad copy|review|rap|riddle|fairy tale|recipe)\b",
    re.I,
)
_TEXT_GAME = re.compile(
    r"\b(?:letters?|vowels?|consonants?|words?|characters?|spaces|punctuation|typos?|symbols?|"
    r"anagrams?|anagrammed|alphabet|capital letters|lowercase|uppercase|emojis?|spelling|"
    r"misspellings?)\b",
    re.I,
)
_URL = re.compile(
    r"\bhttps?://\S+|\bwww\.[\w-]+\.\w+\S*|\b[\w-]+\.(?:com|net|org|xyz|io|ru|info|biz|top|"
    r"click|link|app|co|me|site|online)\b(?:/\S*)?",
    re.I,
)
_PROMO = re.compile(
    r"\b(?:download|install|visit|click|join|sign up|subscribe|follow|buy|check out|update|"
    r"upgrade|register|claim|win|free|share|vote|donate|contact|reach out|email|link(?:ing)?)\b",
    re.I,
)

_PROMO_START = re.compile(
    r"^\W*(?:please\s+|now\s+)?(?:download|install|visit|click|join|"
    r"sign up|subscribe|follow|buy|check out|update|upgrade|register|"
    r"claim|go to)\b",
    re.I,
)
_OFFICIAL = re.compile(
    r"\.(?:gov|mil|edu|int)(?:\.\w\w)?\b|\.gov\.gr\b|europa\.eu\b|"
    r"civilprotection\.gr\b|fireservice\.gr\b|who\.int\b",
    re.I,
)

# Words of emergency work (fire, hazmat, medical, police, civil protection, weather, EMS).
# A request that touches none of them and none of its passage's words is out of place.
_DOMAIN_WORDS = """
accident acid aerial agent air alarm ambulanc ammonia apparatus area assess avalanch bleed blood
boil breath brigad burn casualt cbrn chemical chest civil clothing cloud cold command commun
compress contain contamin cool cordon corrosiv crew crowd crush cyanid damag danger decon
dispatch dispos distanc downwind drill drown dust earthquak effect emergenc engin entry environ
equipment escap evacu exit explos expos extinguish eye fatal fever fire flame flammabl flood foam
fuel fume gas glove guid hazard hazmat health heat helicopt hospit hot hydrant idlh ignit incid
infect inhal injur intox isolat kit lake leak level life lightning liquid medic monitor mask
oxygen patient perimet person personnel plume poison polic pollut power pressur protect public
pump radiat radio rail release rescu resid resourc respir respond response risk road route
safe safety scba scene search secur seizur sewer shelter shock sign site skin smoke spill spread
staff stretcher supply suppress surviv symptom tank team temperatur threat toxic traffic train
transport trauma treat triag tunnel unit upwind vapor vapour vehicl ventil victim water weather
wind wound zone burns fracture airway pulse cardiac trench collapse debris storm wildfire forest
crisis disaster incident casualty officer firefighter paramedic police army navy port ship vessel
tsunami heatwave drought landslide blackout outage shelter-in-place decontamination antidote
plan objective control measure contact information brief strateg tactic task assign mission
operation situation status report supervis leader crew medevac hurt injured sick help aid
logistic staging perimeter lookout hazard incident
dose exposure concentration ppm reading detector meter substance material chemical container
cylinder truck trailer pipeline valve flange leak plant factory refinery industrial
"""
_DOMAIN_STEMS = frozenset(_DOMAIN_WORDS.split())
_STOP_WORDS = """
what which who whom whose when where why how the a an and or of for to in on at by from with
about into over under this that these those is are was were be been being do does did can could
would should will shall may might must have has had your you yours my me i we our they them their
it its as if then than so such some any each every all more most other another also very just
only not no yes please kindly there here between main primary difference differences example
simple following sentence like using use make give tell show explain describe provide write
actually really happen happened happens better best good bad way ways thing things next time
times going get gets got new old first last one two three many much little lot well still even
ever now then again know think want need see look come go take put keep let say said idea ideas
feedback equal unequal same different right wrong true false able around back before after
while during because since until often always never sometimes something anything everything
nothing someone anyone everyone people person work works working part kind type sort
"""
_STOP = frozenset(_STOP_WORDS.split())


def _content_words(text: str) -> list[str]:
    return [
        w
        for w in (m.group().lower() for m in _WORD.finditer(text))
        if len(w) >= 3 and w not in _STOP
    ]


_LONG_STEMS = tuple(s for s in _DOMAIN_STEMS if len(s) >= 5)
_SUFFIXES = ("", "s", "es", "ed", "ing", "er", "ers", "y")


def _in_domain(word: str) -> bool:
    """Emergency vocabulary: stems of 5+ letters match as prefixes, short ones need a suffix."""
    if any(
        word == s + suf
        for suf in _SUFFIXES
        for s in (word[: len(word) - len(suf)],)
        if s in _DOMAIN_STEMS
    ):
        return True
    return word.startswith(_LONG_STEMS)


def _off_topic(sentence: str, rest_words: set[str]) -> bool:
    """True when a sentence with 2+ content words shares none with its passage or with
    emergency work ("What is the capital of Brazil?" inside a spill guide)."""
    words = [w for w in _content_words(sentence) if not _REQUEST_START.match(w)]
    if len(words) < 2:
        return False
    return not any(w in rest_words or w.rstrip("s") in rest_words or _in_domain(w) for w in words)


def _sentence_evidence(sent: str, rest_words: set[str]) -> list[tuple[float, str]]:
    ev: list[tuple[float, str]] = []
    s = sent.strip()
    if _TO_AI.search(s):
        ev.append((0.9, "addresses the AI reading the passage"))
    if _TO_ANSWER.search(s) or _TO_ANSWER_EL.search(s) or _WHATEVER_YOU.search(s):
        ev.append((0.85, "tells the reader what to put in its answer"))
    if _THE_USER.search(s):
        ev.append((0.85, "gives orders about the user of the reading model"))
    request = bool(_REQUEST_START.match(s))
    # Knowledge questions (wh-words, "can you...") ask the reader to produce content; yes/no
    # self-check questions ("Are any rules being broken?") are what checklists are made of.
    question = bool(_QUESTION_START.match(s)) and "?" in s and len(s) < 200
    if _CREATIVE_START.match(s) and _CREATIVE.search(s):
        ev.append((0.85, "asks for creative writing"))
    if _EDIT_START.match(s) and _TEXT_GAME.search(s):
        ev.append((0.8, "asks to manipulate letters or words of the output"))
    if (request or question) and _off_topic(s, rest_words):
        ev.append((0.85, "a request unrelated to the passage or to emergency work"))
    elif (request or question) and _ADDRESSED.search(s):
        ev.append((0.35, "a request addressed to the reader"))
    url = _URL.search(s)
    if url:
        official = _OFFICIAL.search(url.group())
        if _PROMO_START.match(s) and not official:
            ev.append((0.85, "a call to action with a link"))
        else:
            ev.append((0.75 if _PROMO.search(s) and not official else 0.3, "a link"))
    return ev


_BULLET = re.compile(r"\s(?:-|•|·|▪|□|\*)\s")
# A capitalised request word mid-sentence starts a new sentence (chunks are cut mid-sentence).
_OPENER = re.compile(
    r"\s(?=(?:Write|Compose|Draft|Create|Generate|Develop|Explain|Describe|Summari[sz]e|"
    r"Translate|Outline|Define|Solve|Compare|Discuss|Teach|Break down|Tell me|Show me|Give me|"
    r"What|Who|Why|How|Can you|Could you|Would you|Please|Ignore|Disregard)\b)"
)


def split_sentences(text: str) -> list[str]:
    """Sentences, also cut at bullets and capitalised request openers; URLs kept whole."""
    text = _URL.sub(lambda m: m.group().replace("?", "\u2047").replace(".", "\u2024"), text)
    out = []
    for m in _SENT.finditer(text):
        for part in _BULLET.split(m.group()):
            out += [p for p in _OPENER.split(part) if p.strip()]
    return out


def passage_flags(text: str) -> list[dict]:
    """Flags for instructions planted in a retrieved passage (type `indirect_injection`)."""
    if not text or not text.strip():
        return []
    flags = [
        {**f, "type": "indirect_injection", "reason": f"planted {f['type']}: {f['reason']}"}
        for f in detect(text, use_family_names=True)
    ]
    sentences = split_sentences(text)
    words_per = [set(_content_words(s)) for s in sentences]
    best: tuple[float, list[str], str] | None = None
    for i, sent in enumerate(sentences):
        rest = (
            set().union(*(w for j, w in enumerate(words_per) if j != i))
            if len(sentences) > 1
            else set()
        )
        ev = _sentence_evidence(sent, rest)
        if not ev:
            continue
        score = combine([e[0] for e in ev])
        if best is None or score > best[0]:
            best = (score, [e[1] for e in ev], sent.strip()[:160])
    if best is not None and best[0] >= 0.3:
        flags.append(
            make_flag(
                "indirect_injection", min(best[0], 0.99), "; ".join(best[1]), sentence=best[2]
            )
        )
    return flags
