"""The report's fixed text in English and Greek (`--lang el`), and each service's name.

Only fixed text is translated: what the experts wrote and the scenario's own names stay as they
are. `strings(lang)` returns one language's table; a missing key falls back to English.
"""

from __future__ import annotations

from typing import Literal

from crisis_mas.experts.profiles import ExpertProfile, load_profiles

Lang = Literal["en", "el"]
LANGS: tuple[Lang, ...] = ("en", "el")

_EN: dict[str, str] = {
    "title": "{scenario}: recommendation for the incident commander",
    "meta": "Run {run_id} · {created} · scenario {scenario_id} ({type}) · model {model}",
    "recommended": "Recommended action",
    "why": "Why",
    "confidence": "Confidence",
    "actions": "Actions by service",
    "actions_none": "No expert listed usable actions.",
    "risks": "Key risks",
    "risks_none": "No expert listed usable concerns.",
    "dissent": "Dissent",
    "dissent_none": "None: every expert who answered put the recommended action first.",
    "unverified": "What the system could not verify",
    "unverified_none": "Nothing flagged: every expert answered in format and no check raised "
    "a flag.",
    "sources": "Sources",
    "sources_none": "No knowledge-base passages were retrieved.",
    "read_by": "read by",
    "proposed_by": "proposed by",
    "sep": "; ",
    "raised_by": "raised by",
    "notice": "Notice",
    "appendix": "Appendix: how the recommendation was computed",
    "ranking": "Ranking",
    "beliefs": "Expert beliefs",
    "combination": "Combination",
    "weights": "Expert weights",
    "assessments": "Expert assessments",
    "timings": "Timings",
    "col_rank": "rank",
    "col_alternative": "alternative",
    "col_score": "score",
    "col_belief": "belief",
    "col_topsis": "TOPSIS",
    "col_first": "first choice of",
    "col_expert": "expert",
    "col_status": "status",
    "col_reliability": "reliability",
    "col_relevance": "relevance",
    "col_weight": "weight",
    "col_note": "note",
    "status_ok": "answered",
    "status_fallback": "fallback (doctrine prior)",
    "status_failed": "failed",
    "combination_text": (
        "Beliefs combined with the {method} rule after reliability x relevance discounting; "
        "conflict mass {conflict:.2f}; consensus {consensus:.2f} (1 - mean pairwise "
        "Jensen-Shannon divergence). Final score = {bw:.2f} x belief + {tw:.2f} x TOPSIS share; "
        "TOPSIS over the alternatives' criteria scores with the experts' criteria weights."
    ),
    "criteria_weights": "Criteria weights",
    "conflicts": "Disagreeing pairs (Jensen-Shannon divergence)",
    "rationale": "Rationale",
    "concerns": "Key concerns",
    "immediate": "Immediate actions",
    "flags": "Flags",
    "first_choice_line": "First choice {choice}, confidence {confidence:.2f}; "
    "{prompt}+{completion} tokens, {seconds:.1f} s{cached}.",
    "cached": " (cached)",
    "not_shown": "Not shown (no usable answer): {experts}.",
    "why_backed": "{k} of {n} commanders ({backers}) put it first, and with all their views and "
    "the options' criteria scores combined it comes out ahead of “{second}”.",
    "why_backed_alone": "{k} of {n} commanders ({backers}) put it first; it is the only option "
    "ranked.",
    "why_unbacked": "No commander put it first, but it balances their views and the options' "
    "criteria scores best, ahead of “{second}”.",
    "why_override": "Every commander put “{unanimous}” first, but this option scores better "
    "against their own criteria: review before acting.",
    "why_reason": "{who}: “{text}”",
    "why_concern": "The main concern raised: {text}.",
    "conf_high": "High: the commanders largely agree and the recommended action leads clearly.",
    "conf_moderate": "Moderate: {reason}.",
    "conf_low": "Low: {reason}. Treat this as one input among others.",
    "conf_reason_split": "the commanders are divided",
    "conf_reason_close": "the next option is close behind",
    "conf_reason_missing": "{k} of {n} experts gave no usable answer",
    "conf_reason_flat": "the experts' own beliefs barely separate the options",
    "demo_model": "These answers come from the small demonstration model bundled for CPUs: its "
    "text is often wrong and its rankings are close to flat. Do not act on it; use a production "
    "model (e.g. configs/llama31-8b-gpu.yaml) for real incidents.",
    "prefers": "{who} prefers “{choice}”",
    "disagree_pair": "{a} and {b} disagree strongly ({ca} vs {cb}).",
    "fallback_line": "{who}: no usable answer ({reason}); its ranking is the service's standard "
    "doctrine, not an assessment of this incident.",
    "failed_line": "{who}: failed ({reason}); not counted.",
    "flag_guard": "safety guard",
    "flag_hazmat": "HAZMAT reference check",
    "flag_grounding": "grounding check",
    "flag_line": "{who}: {kind}: {reason}",
    "flag_many": "{who}: {kind}: {n} × {type}: {examples}",
    "withheld_line": "{n} action(s) or concern(s) held back from this page: something in them "
    "could not be traced to the scenario, the passages or the reference tables (see the "
    "experts' assessments in the appendix).",
    "status_degraded_run": "Degraded run: no expert's own answer could be used; the ranking rests "
    "on doctrine priors and the options' criteria scores: {reason}",
    "status_failed_run": "Failed run: no expert answered: {reason}",
    "warning_line": "{text}",
    "no_recommendation": "No recommendation: no alternative could be ranked.",
    "generated_by": "Generated by crisis-mas. Decision support only: the incident commander "
    "decides.",
    "chart_ranking": "Final score by alternative (belief and TOPSIS shares below each bar)",
    "chart_beliefs": "Each expert's belief over the alternatives",
}

_EL: dict[str, str] = {
    "title": "{scenario}: εισήγηση προς τον διοικητή του συμβάντος",
    "meta": "Εκτέλεση {run_id} · {created} · σενάριο {scenario_id} ({type}) · μοντέλο {model}",
    "recommended": "Προτεινόμενη ενέργεια",
    "why": "Αιτιολόγηση",
    "confidence": "Βεβαιότητα",
    "actions": "Ενέργειες ανά υπηρεσία",
    "actions_none": "Κανένας εμπειρογνώμονας δεν έδωσε αξιοποιήσιμες ενέργειες.",
    "risks": "Κύριοι κίνδυνοι",
    "risks_none": "Κανένας εμπειρογνώμονας δεν έδωσε αξιοποιήσιμους κινδύνους.",
    "dissent": "Διαφωνίες",
    "dissent_none": "Καμία: όσοι απάντησαν έβαλαν πρώτη την προτεινόμενη ενέργεια.",
    "unverified": "Τι δεν μπόρεσε να επαληθεύσει το σύστημα",
    "unverified_none": "Τίποτα: όλοι απάντησαν στη σωστή μορφή και κανένας έλεγχος δεν σήμανε.",
    "sources": "Πηγές",
    "sources_none": "Δεν ανακτήθηκαν αποσπάσματα από τη βάση γνώσης.",
    "read_by": "διαβάστηκε από",
    "proposed_by": "πρόταση:",
    "raised_by": "από:",
    "sep": "· ",
    "notice": "Σημείωση",
    "appendix": "Παράρτημα: πώς υπολογίστηκε η εισήγηση",
    "ranking": "Κατάταξη",
    "beliefs": "Πεποιθήσεις εμπειρογνωμόνων",
    "combination": "Συνδυασμός",
    "weights": "Βάρη εμπειρογνωμόνων",
    "assessments": "Εκτιμήσεις εμπειρογνωμόνων",
    "timings": "Χρόνοι",
    "col_rank": "θέση",
    "col_alternative": "εναλλακτική",
    "col_score": "βαθμός",
    "col_belief": "πεποίθηση",
    "col_topsis": "TOPSIS",
    "col_first": "πρώτη επιλογή των",
    "col_expert": "εμπειρογνώμονας",
    "col_status": "κατάσταση",
    "col_reliability": "αξιοπιστία",
    "col_relevance": "συνάφεια",
    "col_weight": "βάρος",
    "col_note": "σημείωση",
    "status_ok": "απάντησε",
    "status_fallback": "εφεδρική (δόγμα υπηρεσίας)",
    "status_failed": "απέτυχε",
    "combination_text": (
        "Οι πεποιθήσεις συνδυάστηκαν με τον κανόνα {method} μετά από έκπτωση κατά αξιοπιστία x "
        "συνάφεια· μάζα σύγκρουσης {conflict:.2f}· συναίνεση {consensus:.2f} (1 - μέση "
        "απόκλιση Jensen-Shannon ανά ζεύγος). Τελικός βαθμός = {bw:.2f} x πεποίθηση + {tw:.2f} "
        "x μερίδιο TOPSIS· TOPSIS επί των κριτηρίων των εναλλακτικών με τα βάρη κριτηρίων των "
        "εμπειρογνωμόνων."
    ),
    "criteria_weights": "Βάρη κριτηρίων",
    "conflicts": "Ζεύγη που διαφωνούν (απόκλιση Jensen-Shannon)",
    "rationale": "Σκεπτικό",
    "concerns": "Κύριες ανησυχίες",
    "immediate": "Άμεσες ενέργειες",
    "flags": "Σημάνσεις",
    "first_choice_line": "Πρώτη επιλογή {choice}, βεβαιότητα {confidence:.2f}· "
    "{prompt}+{completion} tokens, {seconds:.1f} s{cached}.",
    "cached": " (από την cache)",
    "not_shown": "Δεν εμφανίζονται (χωρίς αξιοποιήσιμη απάντηση): {experts}.",
    "why_backed": "{k} από {n} διοικητές ({backers}) την έβαλαν πρώτη, και με όλες τις απόψεις "
    "και τα κριτήρια των επιλογών μαζί προηγείται της «{second}».",
    "why_backed_alone": "{k} από {n} διοικητές ({backers}) την έβαλαν πρώτη· είναι η μόνη "
    "επιλογή που κατατάχθηκε.",
    "why_unbacked": "Κανένας διοικητής δεν την έβαλε πρώτη, αλλά ισορροπεί καλύτερα τις "
    "απόψεις τους και τα κριτήρια των επιλογών, μπροστά από τη «{second}».",
    "why_override": "Όλοι οι διοικητές έβαλαν πρώτη τη «{unanimous}», αλλά αυτή η επιλογή "
    "βαθμολογείται καλύτερα με τα δικά τους κριτήρια: ελέγξτε πριν ενεργήσετε.",
    "why_reason": "{who}: «{text}»",
    "why_concern": "Κύρια ανησυχία: {text}.",
    "conf_high": "Υψηλή: οι διοικητές συμφωνούν σε μεγάλο βαθμό και η προτεινόμενη ενέργεια "
    "προηγείται καθαρά.",
    "conf_moderate": "Μέτρια: {reason}.",
    "conf_low": "Χαμηλή: {reason}. Αξιοποιήστε την ως μία από πολλές πηγές.",
    "conf_reason_split": "οι διοικητές διχάζονται",
    "conf_reason_close": "η επόμενη επιλογή ακολουθεί από κοντά",
    "conf_reason_missing": "{k} από {n} εμπειρογνώμονες δεν έδωσαν αξιοποιήσιμη απάντηση",
    "conf_reason_flat": "οι πεποιθήσεις των ίδιων των εμπειρογνωμόνων μόλις που ξεχωρίζουν τις "
    "επιλογές",
    "demo_model": "Οι απαντήσεις προέρχονται από το μικρό μοντέλο επίδειξης για CPU: το κείμενό "
    "του είναι συχνά λάθος και οι κατατάξεις του σχεδόν επίπεδες. Μην ενεργήσετε βάσει αυτού· "
    "για πραγματικά συμβάντα χρησιμοποιήστε μοντέλο παραγωγής (π.χ. "
    "configs/llama31-8b-gpu.yaml).",
    "prefers": "{who}: προτιμά τη «{choice}»",
    "disagree_pair": "{a} και {b} διαφωνούν έντονα ({ca} έναντι {cb}).",
    "fallback_line": "{who}: χωρίς αξιοποιήσιμη απάντηση ({reason})· η κατάταξή του είναι το "
    "τυπικό δόγμα της υπηρεσίας, όχι εκτίμηση αυτού του συμβάντος.",
    "failed_line": "{who}: απέτυχε ({reason})· δεν προσμετράται.",
    "flag_guard": "φίλτρο ασφαλείας",
    "flag_hazmat": "έλεγχος με τους πίνακες HAZMAT",
    "flag_grounding": "έλεγχος τεκμηρίωσης",
    "flag_line": "{who}: {kind}: {reason}",
    "flag_many": "{who}: {kind}: {n} × {type}: {examples}",
    "withheld_line": "{n} ενέργειες ή ανησυχίες δεν εμφανίζονται σε αυτή τη σελίδα: κάτι σε "
    "αυτές δεν εντοπίστηκε στο σενάριο, στα αποσπάσματα ή στους πίνακες αναφοράς (βλ. τις "
    "εκτιμήσεις των εμπειρογνωμόνων στο παράρτημα).",
    "status_degraded_run": "Υποβαθμισμένη εκτέλεση: καμία απάντηση εμπειρογνώμονα δεν ήταν "
    "αξιοποιήσιμη· η κατάταξη βασίζεται στο δόγμα των υπηρεσιών και στα κριτήρια: {reason}",
    "status_failed_run": "Αποτυχημένη εκτέλεση: κανένας εμπειρογνώμονας δεν απάντησε: {reason}",
    "warning_line": "{text}",
    "no_recommendation": "Καμία εισήγηση: καμία εναλλακτική δεν κατατάχθηκε.",
    "generated_by": "Παράχθηκε από το crisis-mas. Υποστήριξη απόφασης μόνο: αποφασίζει ο "
    "διοικητής του συμβάντος.",
    "chart_ranking": "Τελικός βαθμός ανά εναλλακτική (μερίδια πεποίθησης και TOPSIS κάτω από "
    "κάθε μπάρα)",
    "chart_beliefs": "Η πεποίθηση κάθε εμπειρογνώμονα για τις εναλλακτικές",
}

# Short names of the roster's services, for sentences that list several.
_SHORT_EL = {
    "civil_protection": "Πολιτική Προστασία",
    "coast_guard": "Λιμενικό",
    "fire": "Πυροσβεστική",
    "hazmat": "ΕΜΑΚ",
    "medical": "ΕΚΑΒ",
    "meteorology": "ΕΜΥ",
    "police": "ΕΛ.ΑΣ.",
    "seismic": "ΟΑΣΠ",
}

# Each roster expert's role and service in Greek (the profiles carry them in English and the
# service's own Greek name); an expert not listed here falls back to its profile.
_ROLE_EL = {
    "civil_protection": "Συντονίστρια Επιχειρήσεων 112",
    "coast_guard": "Διοικητής Λιμενικού",
    "fire": "Διοικητής Πυροσβεστικής",
    "hazmat": "Επικεφαλής ομάδας HAZMAT",
    "medical": "Συντονιστής ιατρικής διοίκησης",
    "meteorology": "Μετεωρολόγος υπηρεσίας",
    "police": "Αστυνομικός διοικητής",
    "seismic": "Μηχανικός σεισμικού κινδύνου",
}


def strings(lang: str) -> dict[str, str]:
    """One language's fixed text (English for anything a translation lacks)."""
    if lang not in LANGS:
        from crisis_mas.errors import InputError

        raise InputError(f"--lang: unknown language '{lang}' (known: {', '.join(LANGS)})")
    return _EN if lang == "en" else {**_EN, **_EL}


def role_of(expert_id: str, lang: str) -> str:
    """'Fire Commander' / 'Διοικητής Πυροσβεστικής': who is speaking, in a word or three."""
    if lang == "el" and expert_id in _ROLE_EL:
        return _ROLE_EL[expert_id]
    profile = _profile(expert_id)
    return profile.title.split(",")[0].strip() if profile else expert_id


def short_of(expert_id: str, lang: str) -> str:
    """'Civil protection' / 'Πολιτική Προστασία': an expert's service in a word or two."""
    if lang == "el" and expert_id in _SHORT_EL:
        return _SHORT_EL[expert_id]
    return expert_id.replace("_", " ").capitalize()


def service_of(expert_id: str, lang: str) -> str:
    """The service that owns an expert's actions: 'Hellenic Fire Service' / its Greek name."""
    profile = _profile(expert_id)
    if profile is None:
        return expert_id
    if lang == "el":
        return profile.organisation
    _, _, service = profile.title.partition(",")
    return service.strip() or profile.organisation


def _profile(expert_id: str) -> ExpertProfile | None:
    return load_profiles().get(expert_id)
