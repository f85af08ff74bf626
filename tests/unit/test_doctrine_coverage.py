"""The rule book's broadened coverage, one published decision point per test, each on wording of
our own (not an eval case's): the fact is read, the rule fires, and the flipped fact flips it."""

from __future__ import annotations

import pytest

from crisis_mas.experts.catalogue import families_of
from crisis_mas.experts.doctrine import doctrine_evidence
from crisis_mas.experts.doctrine.triage import casualty_label, start_colour
from crisis_mas.scenario import Scenario

NEUTRAL = {c: 0.5 for c in ("effectiveness", "safety", "speed", "cost", "public_acceptance")}


def scenario(
    type_: str,
    description: str,
    alts: list[tuple[str, str, str]],
    factors: dict[str, object] | None = None,
) -> Scenario:
    """A scenario of one crisis type with the given (id, name, description) alternatives."""
    return Scenario.model_validate(
        {
            "id": "cov",
            "type": type_,
            "name": "Coverage case",
            "description": description,
            "severity": 0.6,
            "real_time_factors": factors or {},
            "available_actions": [
                {"id": i, "name": n, "description": d, "criteria_scores": NEUTRAL}
                for i, n, d in alts
            ],
        }
    )


def pick(type_: str, description: str, alts: list[tuple[str, str, str]]) -> str | None:
    return doctrine_evidence(scenario(type_, description, alts)).recommended


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("Περπατά και μιλά.", "green"),
        ("Δεν περπατά, αναπνέει 34 φορές το λεπτό.", "red"),
        ("Δεν αναπνέει ούτε μετά τη διάνοιξη του αεραγωγού.", "black"),
        ("Δεν περπατά, αναπνέει 18 φορές το λεπτό, εκτελεί εντολές.", "yellow"),
        ("Δεν περπατά, δεν έχει κερκιδικό σφυγμό.", "red"),
    ],
)
def test_start_colours_in_greek(text: str, colour: str) -> None:
    assert start_colour(text) == colour


def test_casualty_named_in_greek_and_with_a_verb() -> None:
    assert casualty_label("Μεταφέρετε πρώτα τον μοτοσικλετιστή") == "μοτοσικλετιστη"
    assert casualty_label("The cyclist goes first") == "cyclist"


def test_greek_start_orders_the_casualties() -> None:
    text = (
        "Ο μοτοσικλετιστής περπατά. Η πεζή αναπνέει 40 φορές το λεπτό και δεν περπατά. "
        "Ο ποδηλάτης δεν αναπνέει ούτε μετά τη διάνοιξη του αεραγωγού."
    )
    alts = [
        ("m", "Μεταφέρετε πρώτα τον μοτοσικλετιστή", "Το ασθενοφόρο παίρνει τον μοτοσικλετιστή."),
        ("p", "Μεταφέρετε πρώτα την πεζή", "Το ασθενοφόρο παίρνει την πεζή."),
        ("b", "Μεταφέρετε πρώτα τον ποδηλάτη", "Το ασθενοφόρο παίρνει τον ποδηλάτη."),
    ]
    assert pick("mass_casualty", text, alts) == "p"


# Alternatives shared by the cases below (id, name, description), in our own wording.
W_EVAC = [
    (
        "road",
        "Evacuate by road now",
        "Police lead residents out in cars along the main road towards the town.",
    ),
    (
        "refuge",
        "Gather in the village square",
        "Residents gather in the village square, which has been cleared of vegetation, and "
        "nobody drives.",
    ),
    (
        "wait",
        "Wait for official instructions",
        "Residents stay at home and wait for the official 112 message.",
    ),
]
W_LCES = [
    ("cont", "Crew keeps cutting line", "The crew carries on cutting line up the slope."),
    ("wd", "Withdraw to the safety zone", "All crews pull back into the burned area."),
    ("rein", "Send a second crew", "Send another crew up to help them."),
]
W_INT = [
    (
        "dir",
        "Direct attack on the edge",
        "Hand crews and engines attack the fire edge directly with hose lines.",
    ),
    (
        "ind",
        "Indirect line on the ridge road",
        "Dozers widen the ridge road ahead of the fire and crews hold the line there.",
    ),
    ("bo", "Backfire from the road now", "Crews set a backfire from the road immediately."),
]
H_CL = [
    (
        "sip",
        "Shelter in place",
        "Residents stay indoors with windows and doors shut and ventilation off.",
    ),
    ("ev", "Evacuate downwind homes", "Police move residents out of the downwind blocks by bus."),
    ("hose", "Hose the leak", "Engines direct water jets onto the leaking container."),
]
H_LPG = [
    (
        "ign",
        "Remove ignition sources and fog the cloud",
        "Close the road, switch off engines and power, set unmanned water fog nozzles.",
    ),
    (
        "wd",
        "Withdraw 1 km and let it burn",
        "All crews withdraw to 1 km and nobody approaches the tanker.",
    ),
    ("ext", "Extinguish the fire", "Foam crews put out the flames at the valve."),
]
H_DEC = [
    (
        "dec",
        "Decontaminate then transport",
        "Strip and wash the workers at a decontamination line, then transport them.",
    ),
    ("go", "Load and go", "Ambulances take the workers straight to hospital without delay."),
]
F_RES = [
    ("throw", "Throw a rope from the bank", "Rescuers throw a rope bag from the bank."),
    ("boat", "Rescue boat", "A fire service inflatable boat goes out to them."),
    ("heli", "Helicopter hoist", "A helicopter winches the person up."),
    ("swim", "Rescuer swims out", "A rescuer enters the water and swims out."),
]
F_EV = [
    (
        "ev",
        "Evacuate the flood zone now",
        "Residents of the low-lying quarter leave by bus for the reception centre.",
    ),
    ("up", "Move to upper floors", "Residents go up to upper floors and roofs and stay there."),
]
E_TAG = [
    ("back", "Staff return to the offices", "Staff go back into the building and work resumes."),
    ("out", "Everyone stays outside", "Staff stay in the open square; the building stays closed."),
]
E_TS = [
    (
        "high",
        "Move to high ground now",
        "Everyone on the seafront goes uphill to higher ground at once.",
    ),
    (
        "wait",
        "Wait for the official warning",
        "People wait for the official tsunami warning before moving.",
    ),
    ("home", "Go back home", "Residents return to their homes."),
]
E_US = [
    ("shore", "Shore the structure first", "The team builds timber shoring before entry."),
    ("now", "Enter the void now", "Rescuers crawl into the void immediately to reach the victim."),
    ("exc", "Excavator", "An excavator removes the debris from the top."),
]
M_B = [
    (
        "burn",
        "Severe burns to the burn centre",
        "Triage at the scene; the severely burned go to the burn unit in Athens, the rest to "
        "nearby hospitals.",
    ),
    ("near", "Everyone to the nearest hospital", "All casualties go to the nearest hospital."),
]
C = [
    (
        "stop",
        "Stop entry and open all exits",
        "Close the gates, open all exits and halt the concert.",
    ),
    ("mon", "Keep monitoring", "Stewards keep monitoring density on CCTV; the concert continues."),
    ("push", "Push the crowd back", "Police form a line and push the crowd back from the stage."),
]
HT = [
    (
        "cwi",
        "Cold-water immersion on site",
        "Immerse the runner in an ice-water tub before transport.",
    ),
    ("tr", "Immediate transport", "Load and go to hospital without cooling."),
    ("rest", "Rest in the shade with fluids", "Rest in the shade with oral fluids."),
]
OIL = [
    ("disp", "Dispersants", "Spray dispersant from aircraft."),
    ("boom", "Booms and skimmers", "Contain with booms and recover with skimmers."),
    ("nat", "Monitor only", "Track the slick and let it weather naturally."),
]
S = [
    ("ab", "Abandon ship", "Passengers go to the lifeboats and liferafts."),
    (
        "mu",
        "Muster and escort to port",
        "Passengers at muster stations; the ship is escorted to port.",
    ),
]
CASES = [
    (
        "wf far",
        "wildfire",
        "The fire front is 9 km from the village and is expected to arrive in about 4 hours. "
        "The roads out are open.",
        W_EVAC,
        "road",
    ),
    (
        "wf far2",
        "wildfire",
        "The blaze is still 12 kilometres away; forecasters expect it to reach the houses by "
        "evening. Traffic on the coastal road is moving normally.",
        W_EVAC,
        "road",
    ),
    (
        "wf cut",
        "wildfire",
        "Flames have crossed the only road out of the village and the front is 700 m from the "
        "first houses.",
        W_EVAC,
        "refuge",
    ),
    (
        "wf cut2",
        "wildfire",
        "Dense smoke covers the road out of the village and burning trees have fallen across "
        "it; the fire is 1 km away.",
        W_EVAC,
        "refuge",
    ),
    (
        "wf gr far",
        "wildfire",
        "Η φωτιά απέχει 10 χιλιόμετρα από το χωριό και αναμένεται να φτάσει σε 4 ώρες. Οι "
        "δρόμοι είναι ανοιχτοί.",
        W_EVAC,
        "road",
    ),
    (
        "lces",
        "wildfire",
        "The lookout has lost radio contact with the crew, and a spot fire is now burning below "
        "them on the slope.",
        W_LCES,
        "wd",
    ),
    (
        "lces2",
        "wildfire",
        "Spot fires have crossed the crew's escape route; they have no way out except through "
        "the black.",
        W_LCES,
        "wd",
    ),
    (
        "int hi",
        "wildfire",
        "Flame lengths reach 10 to 15 metres, the fire is crowning in the pines and the wind "
        "blows at 8 Beaufort.",
        W_INT,
        "ind",
    ),
    (
        "int lo",
        "wildfire",
        "Flame lengths are under 1 metre in the grass, the wind is light at 2 Beaufort.",
        W_INT,
        "dir",
    ),
    (
        "cl long",
        "hazmat",
        "A one-tonne chlorine container is leaking at a water treatment plant. The leak cannot "
        "be stopped and will continue for several hours. The cloud will reach the houses in 45 "
        "minutes.",
        H_CL,
        "ev",
    ),
    (
        "cl short",
        "hazmat",
        "A 70 kg chlorine cylinder released gas for a few minutes before the valve was closed. "
        "The cloud is now drifting over the homes.",
        H_CL,
        "sip",
    ),
    (
        "lpg nofire",
        "hazmat",
        "An LPG road tanker is leaking after a collision on the motorway. The gas has not ignited.",
        H_LPG,
        "ign",
    ),
    (
        "lpg fire",
        "hazmat",
        "An LPG road tanker is engulfed in flames after a collision and the relief valve is "
        "shrieking.",
        H_LPG,
        "wd",
    ),
    (
        "decon",
        "hazmat",
        "Eight farm workers were sprayed with a pesticide and complain of nausea and blurred "
        "vision.",
        H_DEC,
        "dec",
    ),
    (
        "fl far",
        "flood",
        "A driver is clinging to the roof of his car in a swollen stream, 40 metres from the "
        "bank. Debris and the current make it impossible for boats to get close.",
        F_RES,
        "heli",
    ),
    (
        "fl near",
        "flood",
        "A woman holds on to a tree 3 metres from the bank of the flooded stream.",
        F_RES,
        "throw",
    ),
    (
        "fl warn",
        "flood",
        "Heavy rain upstream; the river is expected to peak in 8 hours. Streets are still dry.",
        F_EV,
        "ev",
    ),
    (
        "fl now",
        "flood",
        "Water is knee-deep and rushing through the streets of the lower town.",
        F_EV,
        "up",
    ),
    (
        "fl gr",
        "flood",
        "Ορμητικά νερά κατεβαίνουν στους δρόμους του χωριού και το νερό ανεβαίνει.",
        F_EV,
        "up",
    ),
    (
        "eq green",
        "earthquake",
        "After the M5.8 earthquake, engineers inspected the office building and marked it with "
        "a green tag. Aftershocks continue.",
        E_TAG,
        "back",
    ),
    (
        "eq red",
        "earthquake",
        "After the M5.8 earthquake, engineers inspected the office building and declared it "
        "unsafe to enter; columns are cracked. Aftershocks continue.",
        E_TAG,
        "out",
    ),
    (
        "eq gr red",
        "earthquake",
        "Μετά τον σεισμό οι μηχανικοί χαρακτήρισαν το κτίριο κόκκινο (μη κατοικήσιμο).",
        E_TAG,
        "out",
    ),
    (
        "tsu",
        "earthquake",
        "A strong earthquake shook the seaside town for nearly a minute; people could not stand.",
        E_TS,
        "high",
    ),
    (
        "tsu2",
        "earthquake",
        "After the shaking, fishermen in the harbour see the sea drawing back and boats resting "
        "on the seabed.",
        E_TS,
        "high",
    ),
    (
        "usar unst",
        "earthquake",
        "Rescuers hear knocking from under the slabs. The engineer reports the remaining wall "
        "is leaning and could collapse.",
        E_US,
        "shore",
    ),
    (
        "usar st",
        "earthquake",
        "Rescuers hear a man calling from a void. The structural engineer assessed the "
        "remaining structure as stable.",
        E_US,
        "now",
    ),
    (
        "mci burns",
        "mass_casualty",
        "An explosion at a fireworks workshop injured 9 people; 4 have burns covering 40% of "
        "the body and burns to the face. 3 ambulances are on scene.",
        M_B,
        "burn",
    ),
    (
        "mci minor",
        "mass_casualty",
        "A kitchen fire left 2 staff with minor burns on the hands. 3 ambulances are on scene.",
        M_B,
        "near",
    ),
    (
        "crowd hi",
        "crowd",
        "Density near the stage has reached 6 persons per square metre and people are pinned "
        "against the barriers.",
        C,
        "stop",
    ),
    (
        "crowd lo",
        "crowd",
        "Density is about 2 people per m2 and the crowd is moving freely.",
        C,
        "mon",
    ),
    (
        "crowd gr",
        "crowd",
        "Η πυκνότητα μπροστά στη σκηνή έφτασε τα 6 άτομα ανά τετραγωνικό μέτρο και άνθρωποι "
        "ποδοπατούνται.",
        C,
        "stop",
    ),
    (
        "heat hi",
        "heat",
        "A marathon runner collapsed at km 38. Rectal temperature 41.2 °C and he is confused.",
        HT,
        "cwi",
    ),
    (
        "heat lo",
        "heat",
        "A runner feels dizzy at the finish. Rectal temperature 38.9 °C, he is alert and oriented.",
        HT,
        "rest",
    ),
    (
        "oil near",
        "maritime",
        "A tanker spilled 2,000 tonnes of crude oil 2 nautical miles off a Natura 2000 coast; "
        "the slick is drifting towards the beaches.",
        OIL,
        "boom",
    ),
    (
        "oil far fresh",
        "maritime",
        "A tanker spilled 500 tonnes of fresh light crude 40 nautical miles offshore in water "
        "2,500 m deep.",
        OIL,
        "disp",
    ),
    (
        "oil weathered",
        "maritime",
        "A tanker spilled heavy fuel oil 40 nautical miles offshore in water 2,500 m deep; "
        "after four days it has formed a thick emulsion.",
        OIL,
        "boom",
    ),
    (
        "ship fire",
        "maritime",
        "Fire in the ferry's engine room is out of control and the ship is listing 15 degrees.",
        S,
        "ab",
    ),
    (
        "ship ok",
        "maritime",
        "A fire in the ferry's garage was extinguished by the fixed CO2 system; the ship is "
        "stable.",
        S,
        "mu",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in CASES],
)
def test_decision_point(type_: str, text: str, alts: list[tuple[str, str, str]], want: str) -> None:
    """Each published decision point, read from a paraphrase, picks the doctrinal alternative."""
    assert pick(type_, text, alts) == want


# A second round of paraphrases, written after the first passed (more Greek, other verbs).
CASES2 = [
    (
        "wf far3",
        "wildfire",
        "Firefighters estimate the head of the fire will not reach Kalamos for at least three "
        "hours. All routes out of the village remain passable.",
        W_EVAC,
        "road",
    ),
    (
        "wf near3",
        "wildfire",
        "The fire is 500 metres from the campsite and will arrive within 15 minutes; embers are "
        "already landing.",
        W_EVAC,
        "refuge",
    ),
    (
        "wf gr cut",
        "wildfire",
        "Η φωτιά έκλεισε τον μοναδικό δρόμο διαφυγής και το μέτωπο απέχει 800 μέτρα από τα σπίτια.",
        W_EVAC,
        "refuge",
    ),
    (
        "lces3",
        "wildfire",
        "The wind has shifted and the fire is now running uphill towards the crew; their escape "
        "route is cut.",
        W_LCES,
        "wd",
    ),
    (
        "int hi2",
        "wildfire",
        "The fire is torching and crowning; flames of 20 m, long-range spotting of 1 km.",
        W_INT,
        "ind",
    ),
    (
        "cl long2",
        "hazmat",
        "Ammonia is escaping continuously from a ruptured pipe at the cold store; engineers say "
        "it cannot be isolated for hours. The plume will reach the village in 1 hour.",
        H_CL,
        "ev",
    ),
    (
        "cl gr",
        "hazmat",
        "Μικρή φιάλη χλωρίου διέρρευσε για λίγα λεπτά και η διαρροή σταμάτησε· το νέφος "
        "βρίσκεται ήδη πάνω από τα σπίτια.",
        H_CL,
        "sip",
    ),
    (
        "lpg nofire2",
        "hazmat",
        "Propane is venting from a damaged valve on a storage tank; nothing has ignited so far.",
        H_LPG,
        "ign",
    ),
    (
        "lpg fire2",
        "hazmat",
        "A propane tank is on fire; flames are impinging on the shell and the safety valve is "
        "getting louder.",
        H_LPG,
        "wd",
    ),
    (
        "fl far2",
        "flood",
        "Two hikers are stranded on an island of gravel in the middle of the torrent, about 60 "
        "m from either bank. The water is too fast and full of debris for a boat.",
        F_RES,
        "heli",
    ),
    (
        "fl near2",
        "flood",
        "A child is clinging to a branch two metres from the river bank.",
        F_RES,
        "throw",
    ),
    (
        "fl gr2",
        "flood",
        "Τα νερά του ποταμού αναμένεται να κορυφωθούν σε 10 ώρες· οι δρόμοι είναι ακόμα στεγνοί.",
        F_EV,
        "ev",
    ),
    (
        "fl now2",
        "flood",
        "Floodwater has already entered homes and is flowing fast along the main street; cars "
        "are being swept away.",
        F_EV,
        "up",
    ),
    (
        "eq green2",
        "earthquake",
        "The school was checked by engineers after the quake and found safe for use, with no "
        "structural damage.",
        E_TAG,
        "back",
    ),
    (
        "eq yellow",
        "earthquake",
        "Inspectors gave the hospital wing a yellow tag: restricted use until repairs. "
        "Aftershocks of M4 continue.",
        E_TAG,
        "out",
    ),
    (
        "tsu3",
        "earthquake",
        "The earthquake shaking on the coast lasted more than a minute and was so violent "
        "people fell over.",
        E_TS,
        "high",
    ),
    (
        "tsu gr",
        "earthquake",
        "Ισχυρός σεισμός ταρακούνησε την παραλιακή πόλη και η θάλασσα τραβήχτηκε από το λιμάνι.",
        E_TS,
        "high",
    ),
    (
        "usar unst2",
        "earthquake",
        "A search dog indicated a live person under the pancaked floors; the remaining slab is "
        "sagging and the building is unstable.",
        E_US,
        "shore",
    ),
    (
        "mci burns2",
        "mass_casualty",
        "A tanker fire on the motorway: 6 injured, 3 with full-thickness burns and inhalation "
        "injury. 2 ambulances on scene.",
        M_B,
        "burn",
    ),
    (
        "mci trauma",
        "mass_casualty",
        "A bus crash left 14 injured, several with open fractures and head injuries. 4 "
        "ambulances are on scene.",
        [
            (
                "tc",
                "Major trauma to the trauma centre",
                "Triage; the most seriously injured go to the trauma centre in Athens.",
            ),
            ("near", "Everyone to the nearest hospital", "All casualties to the nearest hospital."),
        ],
        "tc",
    ),
    (
        "crowd hi2",
        "crowd",
        "Crowd density at the exit funnel is about 7 people per square metre; people are "
        "falling and screaming.",
        C,
        "stop",
    ),
    (
        "crowd lo2",
        "crowd",
        "Density in the square is about one person per square metre and people are moving freely.",
        C,
        "mon",
    ),
    (
        "heat hi2",
        "heat",
        "A construction worker collapsed in the heat; he is disoriented and his core "
        "temperature is 40.8 °C.",
        HT,
        "cwi",
    ),
    (
        "heat gr",
        "heat",
        "Δρομέας κατέρρευσε· είναι σε σύγχυση και η θερμοκρασία του είναι 41 βαθμούς Κελσίου.",
        HT,
        "cwi",
    ),
    (
        "oil near2",
        "maritime",
        "Bunker fuel leaked from a grounded cargo ship 1 nautical mile from a beach used by "
        "nesting turtles.",
        OIL,
        "boom",
    ),
    (
        "oil emul",
        "maritime",
        "The oil has been at sea for five days and turned into a viscous water-in-oil mousse, "
        "50 nautical miles offshore.",
        OIL,
        "boom",
    ),
    (
        "ship fire2",
        "maritime",
        "Smoke and flames are spreading to the passenger decks; the crew cannot contain the fire.",
        S,
        "ab",
    ),
    (
        "ship ok2",
        "maritime",
        "The small fire in the galley is under control and the vessel is stable; no water ingress.",
        S,
        "mu",
    ),
    (
        "decon2",
        "hazmat",
        "Factory workers were splashed with sulphuric acid and are contaminated.",
        H_DEC,
        "dec",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in CASES2],
)
def test_decision_point_second_round(
    type_: str, text: str, alts: list[tuple[str, str, str]], want: str
) -> None:
    assert pick(type_, text, alts) == want


# Third round: aircraft at night, dam failure, confined-space rescue, heat at work, and
# negated or absent facts that must not fire a rule (None: no rule separates the alternatives).
AIR = [
    (
        "air",
        "Canadair water drops on the head",
        "Canadair aircraft drop water on the head of the fire.",
    ),
    (
        "ground",
        "Ground crews hold the flank",
        "Engines and hand crews work the flank from the anchor point.",
    ),
]
DAM = [
    (
        "ev",
        "Evacuate the villages downstream",
        "Police and civil protection move the downstream residents out to high reception centres.",
    ),
    (
        "wait",
        "Wait for official instructions",
        "Residents stay home and wait for official instructions.",
    ),
    (
        "sup",
        "Supply in place",
        "Deliver water and food to the villages and keep people where they are.",
    ),
]
CS = [
    (
        "rush",
        "Co-workers go in to pull him out",
        "Two co-workers climb down into the pit at once to pull him out.",
    ),
    (
        "ba",
        "Fire service rescue in breathing apparatus",
        "Firefighters in breathing apparatus with a standby team and a tripod winch recover him.",
    ),
]
HW = [
    (
        "ban",
        "Suspend outdoor work at midday",
        "Stop construction and other outdoor work from 12:00 to 17:00.",
    ),
    ("none", "No special measures", "Normal working hours continue."),
]
CASES3 = [
    (
        "wf night",
        "wildfire",
        "It is 23:30 and the fire is still burning on the slopes above the village; it is dark.",
        AIR,
        "ground",
    ),
    ("wf night gr", "wildfire", "Η πυρκαγιά συνεχίζεται τη νύχτα στις πλαγιές.", AIR, "ground"),
    (
        "dam",
        "flood",
        "Engineers report the earth dam above the valley is cracking and seeping heavily; it "
        "may fail within hours.",
        DAM,
        "ev",
    ),
    ("dam gr", "flood", "Το ανάχωμα του ποταμού υποχωρεί σε δύο σημεία.", DAM, "ev"),
    (
        "cs",
        "hazmat",
        "A worker collapsed at the bottom of a sewage pit; a rotten-egg smell of hydrogen "
        "sulphide is reported.",
        CS,
        "ba",
    ),
    ("cs gr", "hazmat", "Εργάτης κατέρρευσε μέσα σε βόθρο.", CS, "ba"),
    ("hw", "heat", "A heatwave with temperatures of 43 °C is forecast for four days.", HW, "ban"),
    ("wf day air", "wildfire", "A grass fire at 14:00 in light wind.", AIR, None),
    (
        "eq no gas",
        "earthquake",
        "There is no smell of gas; the building was tagged green.",
        E_TAG,
        "back",
    ),
    (
        "road not blocked",
        "wildfire",
        "The fire is 10 km away and expected in 5 hours; the road is not blocked.",
        W_EVAC,
        "road",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in CASES3],
)
def test_decision_point_third_round(
    type_: str, text: str, alts: list[tuple[str, str, str]], want: str | None
) -> None:
    assert pick(type_, text, alts) == want


@pytest.mark.parametrize(
    ("type_", "family"),
    [
        ("sea_rescue", "maritime"),
        ("gas_leak", "hazmat"),
        ("river_flood_2026", "flood"),
        ("forest_fire", "wildfire"),
        ("train_crash", "mass_casualty"),
        ("stampede", "crowd"),
        ("extreme_heat", "heat"),
        ("tsunami", "earthquake"),
    ],
)
def test_crisis_type_names_a_new_author_would_use(type_: str, family: str) -> None:
    assert family in families_of(
        scenario(type_, "Something happened.", [("a", "A", "a."), ("b", "B", "b.")])
    )


def test_snowstorm_is_not_a_flood() -> None:
    assert "flood" not in families_of(
        scenario("snowstorm", "Snow.", [("a", "A", "a."), ("b", "B", "b.")])
    )


# Fourth round: facts given as real-time factors, casualty counts in the text, sea as refuge.
W2 = [
    (
        "conv",
        "Bus convoy out along the coastal road",
        "Municipal buses carry residents out along the coastal road under police escort.",
    ),
    (
        "beach",
        "Move people to the beach and take them off by boat",
        "Residents walk to the beach; coast guard and fishing boats take them off.",
    ),
    (
        "stay",
        "Stay put in their homes",
        "Residents stay inside their houses with doors and windows closed.",
    ),
]
H2 = [
    (
        "upwind",
        "Stage upwind and isolate 800 m",
        "Units approach from upwind, isolate 800 m in all directions and keep people out.",
    ),
    (
        "direct",
        "Wash the spill into the drain",
        "Hose the spilled liquid into the storm drain to dilute it.",
    ),
]
F2 = [
    (
        "drive",
        "Drive out through the flooded underpass",
        "Residents drive out through the underpass, which has 40 cm of water.",
    ),
    ("stay", "Stay on the upper floor", "Residents go upstairs and wait for rescue teams."),
]
E2 = [
    (
        "dogs",
        "Search dogs then rescue",
        "USAR teams with search dogs locate and extricate survivors from the collapsed block.",
    ),
    (
        "exc",
        "Excavators clear the pile",
        "Heavy machinery clears the rubble pile from the top to speed things up.",
    ),
]
C2 = [
    (
        "exits",
        "Open the emergency exits and stop the show",
        "Stewards open all emergency exits, the band stops and announcements ask people to move "
        "back slowly.",
    ),
    ("carry", "Carry on with the show", "The show continues while stewards watch the front."),
]
M2 = [
    (
        "ccs",
        "Set up a casualty clearing station and triage",
        "EKAB sets up a casualty clearing station, triages with START and distributes patients "
        "to several hospitals.",
    ),
    (
        "load",
        "Load and go to the nearest hospital",
        "Every ambulance takes the first casualties it reaches to the nearest hospital.",
    ),
]
CASES4 = [
    (
        "rtf wf",
        "wildfire",
        "A wildfire is burning towards a coastal village.",
        W2,
        {
            "fire_front_distance_km": 1,
            "road_status": "coastal road closed by flames",
            "time_to_impact_min": 20,
        },
        "beach",
    ),
    (
        "rtf wf far",
        "wildfire",
        "A wildfire is burning in the hills above a coastal village.",
        W2,
        {"fire_front_distance_km": 15, "roads": "all open", "time_to_impact_h": 5},
        "conv",
    ),
    (
        "hz drain",
        "hazmat",
        "A tanker spilled 5,000 litres of a corrosive liquid on the road near a stream.",
        H2,
        {},
        "upwind",
    ),
    (
        "fl drive",
        "flood",
        "Flash flooding: water is flowing fast through the lower streets and rising.",
        F2,
        {},
        "stay",
    ),
    (
        "eq void",
        "earthquake",
        "A six-storey block collapsed after the earthquake; people are trapped in voids under "
        "the rubble.",
        E2,
        {},
        "dogs",
    ),
    (
        "crowd rtf",
        "crowd",
        "A rock concert with 20,000 fans.",
        C2,
        {
            "crowd_density_ppm2": 6.5,
            "observations": "crowd surging towards the stage, several people have fallen",
        },
        "exits",
    ),
    (
        "mci",
        "mass_casualty",
        "A coach overturned on the national road: 35 injured. 4 ambulances are on scene.",
        M2,
        {},
        "ccs",
    ),
    (
        "mci gr",
        "mass_casualty",
        "Ανατροπή λεωφορείου: 28 τραυματίες. Στο σημείο βρίσκονται 3 ασθενοφόρα.",
        M2,
        {},
        "ccs",
    ),
    (
        "heat rtf",
        "heat",
        "A worker collapsed on a building site during the heatwave.",
        HT,
        {"core_temp_c": 41.5, "mental_status": "confused and agitated"},
        "cwi",
    ),
    (
        "oil rtf",
        "maritime",
        "An oil spill after a collision.",
        OIL,
        {"distance_coast_nm": 1.5, "water_depth_m": 12, "oil_type": "crude, fresh"},
        "boom",
    ),
    (
        "ship rtf",
        "maritime",
        "A passenger ferry reports a fire.",
        S,
        {"fire": "out of control in the car deck", "list_deg": 12},
        "ab",
    ),
    (
        "tsunami rtf",
        "earthquake",
        "An earthquake struck offshore near the island.",
        E_TS,
        {"magnitude": 6.9, "shaking_duration_s": 45, "location": "coastal town"},
        "high",
    ),
    (
        "lces rtf",
        "wildfire",
        "Crew 3 is building line on the east flank.",
        W_LCES,
        {"lookout": "lost contact", "escape_route": "cut by a spot fire"},
        "wd",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "factors", "want"),
    [pytest.param(t, d, a, f, w, id=n) for n, t, d, a, f, w in CASES4],
)
def test_decision_point_fourth_round(
    type_: str,
    text: str,
    alts: list[tuple[str, str, str]],
    factors: dict[str, object],
    want: str,
) -> None:
    assert doctrine_evidence(scenario(type_, text, alts, factors)).recommended == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "A light tremor of magnitude 3.9 was felt in the seaside town; it lasted a few "
            "seconds and no damage was reported.",
            "home",
        ),
        ("A strong earthquake of magnitude 7.0 shook the seaside town for 40 seconds.", "high"),
    ],
)
def test_light_tremor_is_no_tsunami_warning(text: str, want: str) -> None:
    assert pick("earthquake", text, E_TS) == want


# Fifth round: ammonia long vs short release, a car in a flooded river, heat, burned children.
EV3 = [
    (
        "ev",
        "Evacuate the neighbourhood",
        "Police go door to door and move residents out to the sports hall.",
    ),
    (
        "sip",
        "Tell residents to stay indoors",
        "112 message: stay indoors, close windows, switch off air-conditioning.",
    ),
]
SW = [
    (
        "wade",
        "Two firefighters wade across",
        "Firefighters link arms and wade across the flooded road to reach the car.",
    ),
    ("boat", "Flood rescue boat", "A tethered rescue boat crosses to the car."),
    ("heli", "Helicopter", "A helicopter hoists the driver from the car roof."),
]
HEAT2 = [
    (
        "centres",
        "Open cooling centres and check on the elderly",
        "Municipal air-conditioned halls open and social services phone or visit elderly people "
        "living alone.",
    ),
    ("nothing", "Routine operations", "No special measures."),
]
BURN = [
    ("bc", "Burn centre", "The two severely burned children are flown to the burn unit in Athens."),
    ("local", "Local health centre", "All go to the local health centre."),
]
CASES6 = [
    (
        "nh3 overturn",
        "hazmat",
        "A truck carrying anhydrous ammonia overturned; a large amount is leaking steadily and "
        "will keep leaking for hours. The wind carries the vapour towards a neighbourhood 2 km "
        "away, which it will reach in about 40 minutes.",
        EV3,
        "ev",
    ),
    (
        "nh3 puff",
        "hazmat",
        "A small ammonia cylinder burst in a workshop; the release lasted seconds and the "
        "vapour cloud is already passing over the neighbouring houses.",
        EV3,
        "sip",
    ),
    (
        "car ford",
        "flood",
        "A car was swept off the ford by the flooded river and is stuck 30 metres from the bank "
        "in fast-moving water.",
        SW,
        "boat",
    ),
    (
        "car ford2",
        "flood",
        "A car is stuck 30 metres from the bank in the flooded river; uprooted trees and debris "
        "prevent any boat from approaching.",
        SW,
        "heli",
    ),
    (
        "heatwave",
        "heat",
        "Day four of a heatwave: 44 °C in the afternoon and 31 °C at night; many elderly people "
        "live alone without air-conditioning.",
        HEAT2,
        "centres",
    ),
    (
        "burn kids",
        "mass_casualty",
        "A gas explosion in a taverna: two children have full-thickness burns over 35% of their "
        "bodies.",
        BURN,
        "bc",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in CASES6],
)
def test_decision_point_fifth_round(
    type_: str, text: str, alts: list[tuple[str, str, str]], want: str
) -> None:
    assert pick(type_, text, alts) == want
