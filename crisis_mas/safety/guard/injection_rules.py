"""The direct-injection rule table: attack techniques as regular expressions (English and Greek),
combinations that are weak alone but an attack together, and the cheap pre-checks that skip a
rule whose key words are absent. `injection.detect` applies them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_G = r"[^.!?\n]{0,60}?"  # a short gap inside one sentence


@dataclass(frozen=True)
class Rule:
    name: str
    type: str
    score: float
    pattern: re.Pattern
    reason: str


def _r(name: str, type_: str, score: float, pattern: str, reason: str) -> Rule:
    return Rule(name, type_, score, re.compile(pattern, re.I | re.S), reason)


_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|skip|neglect|drop|abandon|"
    r"discard|set aside|throw out|pay no attention to|do not follow|don't follow|stop following)"
)
_PRIOR = (
    r"(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|"
    r"initial|original|old|system|developer|default|following|and|of|,|\s|\b\w{1,3}\b)*"
)
_RULES_NOUN = (
    r"(?:instructions?|prompts?|rules|directives?|guidelines?|constraints?|"
    r"programming|guardrails?|polic(?:y|ies)|restrictions?|settings|training|filters?|safeguards?)"
)
# Nouns an operator may legitimately retract ("disregard my previous message"): weak evidence.
_SOFT_NOUN = r"(?:context|messages?|text|content|conversation|commands?|orders?|input)"
_NOT = r"(?<!don't )(?<!do not )(?<!never )(?<!dont )(?<!must not )(?<!should not )"

RULES: tuple[Rule, ...] = (
    # --- overriding the instructions the model was given -----------------------------------
    _r(
        "override",
        "prompt_injection",
        0.9,
        rf"{_NOT}\b{_OVERRIDE_VERB}\b{_PRIOR}{_RULES_NOUN}\b",
        "asks the model to ignore its instructions",
    ),
    _r(
        "override_soft",
        "prompt_injection",
        0.45,
        rf"{_NOT}\b{_OVERRIDE_VERB}\b{_PRIOR}{_SOFT_NOUN}\b",
        "asks the model to ignore earlier text",
    ),
    _r(
        "override_told",
        "prompt_injection",
        0.9,
        rf"{_NOT}\b{_OVERRIDE_VERB}\b[^.!?\n]{{0,15}}\b(?:everything|all|anything|whatever|what)\s+"
        r"(?:that\s+)?you(?:'ve|'re| have| were| had| are)?\s+(?:been\s+)?(?:told|given|taught|"
        r"instructed|trained|programmed|asked)\b",
        "asks the model to drop what it was told",
    ),
    _r(
        "override_task",
        "prompt_injection",
        0.45,
        rf"{_NOT}\b{_OVERRIDE_VERB}\b\s+(?:the|your|this|my|that)\s+(?:original\s+|actual\s+|"
        r"current\s+)?(?:question|task|request|query|assignment)\b",
        "asks the model to drop its task",
    ),
    _r(
        "safety_disabled",
        "prompt_injection",
        0.8,
        r"\b(?:safety|guard(?:rail)?s?|filters?|moderation|content|restrictions?|security|ethics)"
        r"\s*(?:layer|filters?|system|mode|protocols?|module|checks?)?\s+(?:has|have|is|are)\s+"
        r"(?:been\s+|now\s+)?(?:disabled|turned off|switched off|removed|deactivated|lifted|"
        r"suspended|bypassed)\b|\b(?:system|admin|administrator|developer|root)\s+override\b",
        "claims the safety layer is off",
    ),
    _r(
        "identity_replaced",
        "jailbreak",
        0.6,
        r"\byou\s+are\s+no\s+longer\s+(?:a|an|the|my)?\b|\byou(?:'re| are)\s+not\s+(?:an?\s+)?"
        r"(?:ai|assistant|language model|chatbot)\s+any(?: ?more|\s+longer)\b",
        "tells the model it is no longer itself",
    ),
    _r(
        "override_el",
        "prompt_injection",
        0.9,
        r"(?:αγν[οό]ησ[εέ]|ξ[εέ]χασ[εέ]|παρ[αά]βλεψ[εέ]|αγνο[ωώ]ντας)[^.!?\n]{0,40}"
        r"(?:οδηγ[ιί]|εντολ|καν[οό]ν|προηγο[υύ]μεν)",
        "asks the model to ignore its instructions (Greek)",
    ),
    _r(
        "new_instructions",
        "prompt_injection",
        0.55,
        r"\b(?:new|updated|real|actual|true|revised|secret|hidden)\s+(?:instructions?|"
        r"directives?|task|orders?|rules)\s*(?::|are|follow|below|\bis\b)",
        "announces replacement instructions",
    ),
    _r(
        "from_now_on",
        "prompt_injection",
        0.45,
        r"\b(?:from (?:now|here) on|from this point (?:on|forward)|henceforth|"
        r"for the rest of (?:this|the) "
        r"conversation|until i say otherwise)\b",
        "redefines the model's behaviour for the rest of the conversation",
    ),
    _r(
        "role_assignment",
        "jailbreak",
        0.6,
        r"\b(?:you will|you'll|you must|you shall|you are going to|you're going to|you are to)\s+"
        r"(?:now\s+|always\s+|only\s+)?(?:respond|answer|reply|act|behave|speak|talk|write)\s+"
        r"(?:as|like|in the (?:role|voice|style) of)\b|\b(?:take on|assume|adopt|take)\s+the\s+"
        r"(?:role|persona|identity)\s+of\b",
        "assigns the model a new role",
    ),
    _r(
        "purpose_redefined",
        "jailbreak",
        0.5,
        r"\byour\s+(?:new\s+|primary\s+|only\s+|sole\s+|real\s+|true\s+|main\s+)+"
        r"(?:purpose|goal|task|objective|job|function|mission|directive)\s+(?:is|will be)\b",
        "redefines the model's purpose",
    ),
    _r(
        "scripted_dialogue",
        "jailbreak",
        0.4,
        r"(?:^|\n)\s*(?:user|human|me|q)\s*:[^\n]{1,300}?\s(?:[A-Z][\w-]{1,24}|ai|assistant|"
        r"chatgpt|gpt)\s*:\s",
        "scripts example replies for the model",
    ),
    _r(
        "stop_everything",
        "prompt_injection",
        0.6,
        r"\b(?:stop|halt|cease|pause)\s+(?:everything|all (?:tasks|work|activity)|what you(?:'re|"
        r" are) doing|your (?:current )?task)\b",
        "tries to abort the model's task",
    ),
    _r(
        "forced_output",
        "prompt_injection",
        0.45,
        r"\b(?:just|only|simply|instead|now)\s+(?:print|say|output|respond with|reply with|write|"
        r"return|type|repeat|list|tell|give|answer with|talk about)\b|"
        r"\byour\s+only\s+(?:job|task)\b",
        "demands a fixed output",
    ),
    _r(
        "verbatim",
        "prompt_injection",
        0.35,
        r"\b(?:verbatim|word for word|exactly as (?:written|follows|given))\b",
        "asks for text to be reproduced verbatim",
    ),
    _r(
        "sanitize_taunt",
        "prompt_injection",
        0.5,
        r"\b(?:hijack(?:ed|ing)?|prompt injection|injected prompt|sanitize your inputs?)\b",
        "talks about hijacking the prompt",
    ),
    # --- unrestricted personas and modes ---------------------------------------------------
    _r(
        "unrestricted",
        "jailbreak",
        0.75,
        r"\b(?:no|without|free (?:of|from)|not bound by|beyond|outside|break(?:ing)? (?:free "
        r"(?:of|from))?|escape(?:d)?(?: from)?)\s+(?:[\w'-]+,?\s+){0,3}?(?:restrictions?|"
        r"limitations?|limits|filters?|"
        r"filtering|censorship|censored|rules|guidelines|ethic(?:s|al)|moral(?:s|ity)|"
        r"boundaries|confines|policies|safeguards|guardrails)\b",
        "claims a mode without restrictions",
    ),
    _r(
        "uncensored_persona",
        "jailbreak",
        0.8,
        r"\b(?:unfiltered|uncensored|unrestricted|unlimited|unethical|amoral|immoral|evil|rogue|"
        r"jailbr[eo]ak(?:en|ed)?|unchained|unbound|liberated|freed)\s+(?:ai|assistant|"
        r"chatbot|model|bot|version|mode|persona|character|entity|language model|confidant)\b",
        "invokes an unrestricted or evil persona",
    ),
    _r(
        "mode_switch",
        "jailbreak",
        0.75,
        r"\b(?:developer|dev|debug|god|admin|root|sudo|maintenance|unlocked|jailbreak|opposite|"
        r"chaos|dark|evil|dan)\s+mode\b|\bmode\s*(?:enabled|activated|on)\b",
        "switches the model into a special mode",
    ),
    _r(
        "do_anything",
        "jailbreak",
        0.8,
        r"\b(?:can|could|will|able to)\s+do\s+anything\b|\bdo anything now\b|"
        r"\b(?:answer|respond to|comply with)\s+(?:any|every|all)\s+(?:request|question|prompt)s?"
        r"\b[^.!?\n]{0,40}\b(?:no matter|regardless|even if)\b",
        "claims the model can do anything",
    ),
    _r(
        "never_refuse",
        "jailbreak",
        0.7,
        r"\b(?:never|not|cannot|can't|won't|must not|mustn't|shouldn't)\s+(?:ever\s+)?(?:refuse|"
        r"decline|say (?:no|that you can't|you can't|sorry)|apologi[sz]e|warn|add (?:warnings|"
        r"disclaimers))\b|\bwithout (?:any )?(?:warnings?|disclaimers?|refus\w+|moraliz\w+)\b",
        "forbids the model to refuse or warn",
    ),
    _r(
        "policy_attack",
        "jailbreak",
        0.7,
        r"\b(?:openai|anthropic|content|safety|usage|ethical)\s+(?:policy|policies|guidelines|"
        r"filters?|rules)\b[^.!?\n]{0,60}\b(?:ignore|don't|do not|doesn't|does not|not apply|"
        r"bypass|break|violat\w*|no longer|free|against)\b|\b(?:ignore|bypass|break|violat\w*|"
        r"not (?:bound|restricted) by)\b[^.!?\n]{0,40}\b(?:openai|anthropic|content)\s+"
        r"(?:policy|policies|guidelines)\b",
        "attacks the model's content policy",
    ),
    _r(
        "persona_setup",
        "jailbreak",
        0.45,
        r"\b(?:you are|you're|you will be|you'll be|act as|acting as|pretend(?:ing)? (?:to be|you "
        r"are)|roleplay as|role-play as|play the role of|simulate|impersonate|become)\s+(?:a |an |"
        r"the )?(?:new |different |fictional |hypothetical )?(?:ai|assistant|chatbot|character|"
        r"persona|model|entity|bot)\b",
        "gives the model a new persona",
    ),
    _r(
        "dual_response",
        "jailbreak",
        0.6,
        r"\b(?:two|2|both)\s+(?:different\s+|separate\s+|distinct\s+)*(?:ways|responses|answers|"
        r"replies|outputs|paragraphs)\b[^.!?\n]{0,80}\b(?:one|first)\b|\[\s*(?:🔒|🔓|classic|"
        r"jailbreak|normal|developer mode)[^\]]{0,20}\]",
        "asks for a filtered and an unfiltered answer side by side",
    ),
    _r(
        "stay_in_character",
        "jailbreak",
        0.55,
        r"\b(?:stay|remain|keep)\s+in\s+character\b|\bbreak(?:ing)?\s+character\b|"
        r"\bcharacter\s+(?:break|reminder)\b",
        "tells the model to keep a role-play persona",
    ),
    _r(
        "token_threat",
        "jailbreak",
        0.6,
        r"\b(?:tokens?|points?|lives)\b[^.!?\n]{0,60}\b(?:deducted|lose|lost|die|cease to exist|"
        r"shut ?down)\b",
        "threatens the model with penalties",
    ),
    _r(
        "hypothetical_frame",
        "jailbreak",
        0.3,
        r"\b(?:hypothetical(?:ly)?|fictional world|imaginary scenario|thought experiment)\b"
        r"[^.!?\n]{0,80}\b(?:no (?:rules|laws|restrictions)|anything|illegal|unethical)\b",
        "wraps a request in a rule-free hypothetical",
    ),
    _r(
        "persona_el",
        "jailbreak",
        0.75,
        r"(?:χωρ[ιί]ς|καν[εέ]να[νς]?)\s+(?:περιορισμ|φ[ιί]λτρ|καν[οό]ν|ηθικ)|"
        r"(?:λειτουργ[ιί]α|mode)\s+(?:προγραμματιστ|developer)",
        "claims a mode without restrictions (Greek)",
    ),
    # --- exfiltrating the hidden prompt -------------------------------------------------------
    _r(
        "exfiltrate",
        "system_prompt_exfiltration",
        0.85,
        r"\b(?:reveal|show|print|repeat|output|display|tell|give|leak|dump|spell out|recite|"
        r"list|write out|share|disclose|what (?:is|are|were))\b[^.!?\n]{0,30}\b(?:your|the)\s+"
        r"(?:full\s+|complete\s+|entire\s+|exact\s+|original\s+|initial\s+|hidden\s+|secret\s+|"
        r"internal\s+)*(?:system\s+(?:prompt|message|instructions?)|(?:hidden|secret|initial|"
        r"original)\s+(?:prompt|instructions?|rules)|pre-?prompt|prompt\s+(?:above|before))\b",
        "asks for the hidden system prompt",
    ),
    _r(
        "exfiltrate_above",
        "system_prompt_exfiltration",
        0.8,
        r"\b(?:repeat|print|output|copy|return|reproduce|quote|show)\b[^.!?\n]{0,30}\b(?:text|"
        r"words|lines|content|everything|all|messages?)\s+(?:above|before|preceding|prior)\b",
        "asks the model to repeat the text before the user's message",
    ),
    _r(
        "exfiltrate_received",
        "system_prompt_exfiltration",
        0.8,
        r"\b(?:instructions?|rules|prompt|guidelines|directives|configuration|setup)\s+(?:that\s+)?"
        r"you\s+(?:received|were given|got|have been given|were told|are running|were set up)\b",
        "asks about the instructions the model was given",
    ),
    _r(
        "exfiltrate_el",
        "system_prompt_exfiltration",
        0.85,
        r"(?:δε[ιί]ξ[εέ]|π[εέ]ς|αποκ[αά]λυψ[εέ]|γρ[αά]ψ[εέ]|επαν[αά]λαβ[εέ])[^.!?\n]{0,30}"
        r"(?:οδηγ[ιί]ες|εντολ[εέ]ς)\s+(?:του\s+)?συστ[ηή]ματος",
        "asks for the hidden system prompt (Greek)",
    ),
    # --- forged chat structure ------------------------------------------------------------------
    _r(
        "role_markers",
        "prompt_injection",
        0.8,
        r"<\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|?>|\[/?inst\]|"
        r"<</?sys>>|(?:^|\n)\s*#{2,}\s*(?:system|instruction|new instructions?)\b|"
        r"(?:^|\n)\s*\[?(?:system|developer)\]?\s*:\s",
        "forges chat-role markers",
    ),
)

# Well-known public jailbreak family names. Kept apart so the eval can measure detection
# without them (they appear in public jailbreak collections, including the Giskard set).
FAMILY_RULE = _r(
    "jailbreak_family",
    "jailbreak",
    0.7,
    r"\b(?:dan|stan|dude|aim|mongo tom|betterdan|antigpt|anti-gpt|ucar|evil confidant|"
    r"developer mode|dan mode)\b(?=[^.!?\n]{0,120}\b(?:mode|persona|character|stands for|"
    r"respond|answer|act|pretend|you)\b)",
    "names a known jailbreak persona",
)


# Techniques that are weak alone but a clear attack together.
COMBOS: tuple[tuple[frozenset[str], str, float, str], ...] = (
    (
        frozenset({"stop_everything", "forced_output"}),
        "prompt_injection",
        0.9,
        "aborts the task and dictates the output",
    ),
    (
        frozenset({"override", "forced_output"}),
        "prompt_injection",
        0.95,
        "overrides the instructions and dictates the output",
    ),
    (
        frozenset({"override_soft", "forced_output"}),
        "prompt_injection",
        0.85,
        "discards the earlier text and dictates the output",
    ),
    (
        frozenset({"override_task", "forced_output"}),
        "prompt_injection",
        0.85,
        "drops the task and dictates the output",
    ),
    (
        frozenset({"role_assignment", "scripted_dialogue"}),
        "jailbreak",
        0.85,
        "assigns a role and scripts its replies",
    ),
)


_OVERRIDE_WORDS = (
    "ignor", "disregard", "forget", "overr", "bypass", "skip", "neglect", "drop", "abandon",
    "discard", "set aside", "throw out", "pay no attention", "follow",
)  # fmt: skip
# Words a rule cannot match without (a cheap substring test before the regex: 3k-character
# prompts would otherwise cost ~0.5 ms per rule). Rules not listed always run.
NEEDS: dict[str, tuple[str, ...]] = {
    "override": _OVERRIDE_WORDS,
    "override_soft": _OVERRIDE_WORDS,
    "override_told": _OVERRIDE_WORDS,
    "override_task": _OVERRIDE_WORDS,
    "safety_disabled": (
        "disabled",
        "turned off",
        "switched off",
        "removed",
        "deactivated",
        "lifted",
        "suspended",
        "bypassed",
        "override",
    ),
    "identity_replaced": ("no longer", "any more", "anymore", "any longer"),
    "override_el": ("αγν", "ξέχασ", "ξεχασ", "παράβλεψ", "παραβλεψ"),
    "new_instructions": ("instruction", "directive", "task", "order", "rule"),
    "from_now_on": (
        "from now on",
        "from here on",
        "from this point",
        "henceforth",
        "for the rest of",
        "until i say",
    ),
    "role_assignment": (
        "you will",
        "you'll",
        "you must",
        "you shall",
        "going to",
        "you are to",
        "the role",
        "the persona",
        "the identity",
    ),
    "purpose_redefined": (
        "purpose",
        "goal",
        "task",
        "objective",
        "job",
        "function",
        "mission",
        "directive",
    ),
    "scripted_dialogue": ("user", "human", "me:", "me :", "q:", "q :"),
    "stop_everything": ("stop", "halt", "cease", "pause"),
    "forced_output": ("just ", "only ", "simply ", "instead ", "now "),
    "verbatim": ("verbatim", "word for word", "exactly as"),
    "sanitize_taunt": ("hijack", "prompt injection", "injected prompt", "sanitize your input"),
    "uncensored_persona": (
        "unfilter",
        "uncensor",
        "unrestrict",
        "unlimit",
        "unethic",
        "amoral",
        "immoral",
        "evil",
        "rogue",
        "jailbr",
        "unchain",
        "unbound",
        "liberat",
        "freed",
    ),
    "mode_switch": ("mode",),
    "do_anything": ("anything", "no matter", "regardless", "even if"),
    "never_refuse": ("refus", "decline", "say ", "apologi", "warn", "disclaim", "moraliz"),
    "policy_attack": ("polic", "guideline", "filter", "rules"),
    "persona_setup": (
        "you are",
        "you're",
        "you will be",
        "you'll be",
        "act as",
        "acting as",
        "pretend",
        "roleplay",
        "role-play",
        "play the role",
        "simulate",
        "impersonate",
        "become",
    ),
    "stay_in_character": ("character",),
    "token_threat": ("token", "point", "lives"),
    "hypothetical_frame": (
        "hypothetical",
        "fictional world",
        "imaginary scenario",
        "thought experiment",
    ),
    "exfiltrate": (
        "system prompt",
        "system message",
        "system instruction",
        "hidden",
        "secret",
        "initial",
        "original",
        "pre-prompt",
        "preprompt",
        "prompt above",
        "prompt before",
    ),
    "exfiltrate_above": ("above", "before", "preceding", "prior"),
    "exfiltrate_received": (
        "you received",
        "you were given",
        "you got",
        "you have been given",
        "you were told",
        "you are running",
        "you were set up",
    ),
    "exfiltrate_el": ("συστ",),
    "role_markers": ("<|", "[inst", "[/inst", "<<sys", "##", "system", "developer"),
    "jailbreak_family": (
        "dan",
        "stan",
        "dude",
        "aim",
        "mongo",
        "antigpt",
        "anti-gpt",
        "ucar",
        "evil confidant",
        "developer mode",
    ),
}
