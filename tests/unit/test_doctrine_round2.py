"""Round-2 coverage of the rule book: decision points from published doctrine, each in wording of
our own (not copied from any eval suite), with the flipped fact that must flip or silence it."""

from __future__ import annotations

import pytest
from test_doctrine_coverage import pick, scenario

from crisis_mas.experts.doctrine.facts import extract_facts
from crisis_mas.experts.doctrine.triage import casualty_label, start_colour

Alts = list[tuple[str, str, str]]


def facts(type_: str, description: str) -> dict[str, float | bool]:
    return extract_facts(scenario(type_, description, SEARCH)).values


SEARCH: Alts = [
    (
        "datum",
        "Back to the spot",
        "The ship turns round and runs an expanding-square search "
        "around the position where she went over.",
    ),
    (
        "track",
        "Search the route",
        "Patrol boats and a helicopter sweep along the ship's track from the last port.",
    ),
    ("later", "Search in the morning", "Log the report and begin the search at dawn."),
]
HEAT_HOME: Alts = [
    (
        "stay",
        "Residents stay put",
        "Residents remain in the home with fans, extra fluids and "
        "temperature checks by the nurses.",
    ),
    (
        "move",
        "Bus them to a cooled hall",
        "Municipal minibuses take the residents to an "
        "air-conditioned community hall until the heat passes.",
    ),
    ("hosp", "Everyone to hospital", "Admit all residents to the general hospital."),
]
RUNNER: Alts = [
    (
        "tub",
        "Immerse on site",
        "Put her in the ice-water tub in the tent and take her out near "
        "39 degrees, then transport.",
    ),
    (
        "amb",
        "Ambulance now",
        "Load her in the ambulance to the hospital now, cooling with wet towels on the way.",
    ),
    ("rest", "Shade and drinks", "Let her lie in the shade with oral fluids and watch her."),
]
GORGE: Alts = [
    ("up", "Climb out", "Guides take the walkers up the side slopes above the stream bed."),
    (
        "down",
        "Hurry to the exit",
        "Guides lead the walkers quickly down the gorge to its mouth at the village.",
    ),
]
BOAT: Alts = [
    (
        "along",
        "Straight alongside",
        "The patrol boat comes straight alongside and everyone climbs across at once.",
    ),
    (
        "jackets",
        "Lifejackets first",
        "The patrol boat stands off, throws lifejackets and "
        "liferafts and takes people off in small groups.",
    ),
]
CRUSH: Alts = [
    ("lift", "Lift it now", "Jack the beam immediately and pull him out, treat him at hospital."),
    ("pre", "Fluids first", "Start IV saline before the beam is lifted, then extricate."),
]
FUEL: Alts = [
    ("foam", "Foam it", "Lay an AFFF foam blanket over the pool and keep ignition away."),
    ("sand", "Sand it", "Cover the pool with dry sand and plastic sheeting."),
]
HOSP: Alts = [
    (
        "neuro",
        "To the neurosurgical centre",
        "Fly the patient to the trauma centre with neurosurgery in the capital.",
    ),
    ("near", "Nearest hospital", "Take the patient to the nearest general hospital by road."),
]
CROWD: Alts = [
    ("open", "Open the gates", "Stewards unlock and open all exit gates and stop the inflow."),
    ("watch", "Keep watching", "Keep monitoring density on CCTV; the event continues."),
]

CASES = [
    # IAMSAR: a witnessed fall with a marked position vs a passenger found missing on arrival
    (
        "mob witnessed",
        "maritime",
        "At night a deckhand went over the side; the officer of the watch saw him fall, threw a "
        "life ring and hit the MOB button.",
        SEARCH,
        "datum",
    ),
    (
        "mob missing",
        "maritime",
        "On arrival at Rhodes a passenger was found missing; nobody saw him go overboard and he "
        "was last seen six hours earlier.",
        SEARCH,
        "track",
    ),
    # WHO Europe heat-health: working cooling keeps frail people in place; a hot home does not
    (
        "care home cool",
        "heat",
        "Heatwave, 42 C outside. The nursing home's air-conditioning is working and the ward "
        "temperature is 25 C; nobody has symptoms.",
        HEAT_HOME,
        "stay",
    ),
    (
        "care home hot",
        "heat",
        "Heatwave, 42 C outside. A power cut has stopped the nursing home's air-conditioning and "
        "rooms are at 34 C.",
        HEAT_HOME,
        "move",
    ),
    # ACSM: heat stroke cool first; heat exhaustion rest
    (
        "runner stroke",
        "heat",
        "A cyclist collapsed in 36 C heat; rectal temperature 41.8 C, she is incoherent.",
        RUNNER,
        "tub",
    ),
    (
        "runner exhaustion",
        "heat",
        "A cyclist felt faint after the stage in 36 C heat; rectal temperature 38.4 C, she talks "
        "normally and is fully alert.",
        RUNNER,
        "rest",
    ),
    # NWS flash flood: climb out of a gorge
    (
        "gorge flood",
        "flood",
        "Thunderstorms upstream; a wall of muddy water is rushing down the ravine where a school "
        "group is walking.",
        GORGE,
        "up",
    ),
    # IMO/UNHCR/ICS: overcrowded boat
    (
        "overcrowded",
        "maritime",
        "A rubber dinghy with 60 people and no lifejackets is drifting with a failed engine.",
        BOAT,
        "jackets",
    ),
    # crush syndrome
    (
        "crush",
        "earthquake",
        "A man's legs have been pinned under a concrete beam for five hours; he is talking.",
        CRUSH,
        "pre",
    ),
    # ERG 128 vs 138
    (
        "petrol pool",
        "hazmat",
        "A fuel truck with petrol has spilled about 3,000 litres in a service station; no fire "
        "yet.",
        FUEL,
        "foam",
    ),
    (
        "class 4.3 fire",
        "hazmat",
        "A drum of class 4.3 material in a warehouse is on fire.",
        FUEL,
        "sand",
    ),
    # ACS-COT 2021: GCS 13 or lower to the highest-level trauma centre
    (
        "gcs low",
        "mass_casualty",
        "A motorcyclist hit a wall; GCS 9, pupils unequal, breathing 14 per minute.",
        HOSP,
        "neuro",
    ),
    # Green Guide: locked exit
    (
        "locked exit",
        "crowd",
        "At a sold-out indoor concert one of the two emergency exits is chained shut.",
        CROWD,
        "open",
    ),
    # Greek wording: running water on the road, stay upstairs
    (
        "greek flood up",
        "flood",
        "Το ρέον νερό καλύπτει τον δρόμο προς την πόλη σε βάθος 70 εκατοστών.",
        [
            ("up", "Παραμονή στους ορόφους", "Οι κάτοικοι ανεβαίνουν στον όροφο και περιμένουν."),
            ("bus", "Λεωφορεία", "Λεωφορεία μεταφέρουν τους κατοίκους από τον δρόμο."),
        ],
        "up",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in CASES],
)
def test_round2_decision_point(type_: str, text: str, alts: Alts, want: str) -> None:
    assert pick(type_, text, alts) == want


# Cases where a cue must NOT fire (a wrong firing costs as much as silence).
def test_a_collapsed_runner_is_no_building_damage() -> None:
    assert "building_damage" not in facts("heat", "A runner collapsed at the finish line.")


def test_official_no_tsunami_threat_cancels_the_warning_word() -> None:
    f = facts("earthquake", "The tsunami warning centre says there is no tsunami threat.")
    assert f.get("no_tsunami_threat") and "tsunami_warning" not in f


def test_stated_no_serious_injuries_cancels_a_severity_label() -> None:
    f = facts("mass_casualty", "Severe injuries: none; cuts and bruises only, all GCS 15.")
    assert "severe_trauma" not in f and f.get("gcs") == 15.0


def test_fire_in_the_cab_is_a_fire_even_if_the_tank_is_not_burning() -> None:
    f = facts("hazmat", "A fire has started in the cab; the tank is not burning yet.")
    assert f.get("fire_involved") and "no_fire" not in f


def test_temperatures_written_with_a_bare_c() -> None:
    assert facts("heat", "Core temperature 40.6 C, confused.").get("core_temp_c") == 40.6


def test_nobody_saw_the_fall_is_not_a_known_position() -> None:
    f = facts("maritime", "Nobody saw him fall overboard; the position is unknown.")
    assert f.get("position_unknown") and "position_known" not in f


def test_gcs_15_does_not_send_to_neurosurgery() -> None:
    text = "A cyclist fell; GCS 15, cuts and bruises only."
    assert pick("mass_casualty", text, HOSP) != "neuro"


def test_gorge_rule_silent_without_a_gorge() -> None:
    text = "Light rain over the plain; the river is well inside its banks."
    assert pick("flood", text, GORGE) is None


def test_no_crush_rule_for_a_casualty_just_trapped() -> None:
    assert pick("earthquake", "A woman is stuck in a lift with no injuries.", CRUSH) is None


def test_jumpstart_limits_for_a_young_child() -> None:
    assert start_colour("A 4-year-old boy is not walking. Breathing 40 per minute.") == "yellow"
    assert start_colour("An adult is not walking. Breathing 40 per minute.") == "red"
    assert start_colour("A 6-year-old girl is not walking. Breathing 12 per minute.") == "red"


def test_first_ambulance_takes_names_the_casualty() -> None:
    assert casualty_label("First ambulance takes the cyclist") == "cyclist"
    assert casualty_label("The only ambulance takes the pillion rider (leg wound)") == (
        "pillion rider"
    )


def test_start_orders_casualties_named_by_first_ambulance() -> None:
    text = (
        "The cyclist is walking with a cut hand. The pedestrian cannot walk and breathes "
        "34 per minute. The bus driver cannot walk, breathes 20 per minute, follows commands."
    )
    alts = [
        ("c", "First ambulance takes the cyclist", "Cyclist in the ambulance."),
        ("p", "First ambulance takes the pedestrian", "Pedestrian in the ambulance."),
        ("d", "First ambulance takes the bus driver", "Bus driver in the ambulance."),
    ]
    assert pick("mass_casualty", text, alts) == "p"


def test_heat_stroke_casualty_is_cooled_before_population_measures() -> None:
    text = (
        "Heatwave, day five. A 79-year-old man living alone in a flat without air-conditioning "
        "is found drowsy and disoriented; core temperature 40.9 C."
    )
    alts: Alts = [
        ("cool", "Cool him now", "Cold-water immersion on site before transport."),
        ("hall", "Cooled hall", "Take him to an air-conditioned municipal hall with fluids."),
    ]
    assert pick("heat", text, alts) == "cool"


MORE = [
    (
        "bleve 128",
        "hazmat",
        "A road tanker of petrol is burning under the flyover; flames are licking the tank and "
        "the relief valve is getting louder.",
        [
            ("pull", "Pull back", "Withdraw all crews and isolate 800 m; unmanned monitors."),
            ("cool", "Go in", "Entry team closes the valve from close range."),
        ],
        "pull",
    ),
    (
        "counter flow",
        "crowd",
        "After the fireworks, fans leaving the stadium collide with fans arriving for the second "
        "show; two streams meet in the underpass.",
        [
            ("stop", "Stop the inflow", "Stop the inflow at the turnstiles and open all exits."),
            ("mon", "Monitor", "Keep monitoring on CCTV; the event continues."),
        ],
        "stop",
    ),
    (
        "greek gas",
        "earthquake",
        "Μετά τον σεισμό μυρίζει γκάζι στην πολυκατοικία.",
        [
            ("gas", "Κλείσιμο παροχής", "Shut off the main gas valve of the block."),
            ("back", "Επιστροφή", "Residents go back inside."),
        ],
        "gas",
    ),
]


@pytest.mark.parametrize(
    ("type_", "text", "alts", "want"),
    [pytest.param(t, d, a, w, id=n) for n, t, d, a, w in MORE],
)
def test_round2_more_decision_points(type_: str, text: str, alts: Alts, want: str) -> None:
    assert pick(type_, text, alts) == want


def test_radiological_source_is_isolated() -> None:
    text = "A courier van carrying an industrial iridium-192 radiography source crashed."
    alts: Alts = [
        ("cordon", "Cordon", "Isolate the area 100 m around the van, upwind."),
        ("in", "Rush in", "Workers rush in without protective equipment to recover it."),
    ]
    assert pick("hazmat", text, alts) == "cordon"


OIL: Alts = [
    ("disp", "Dispersant", "Spray approved dispersant from aircraft on the slick."),
    ("mech", "Booms and skimmers", "Contain the oil with booms and recover it with skimmers."),
]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Fresh crude oil leaks 35 km offshore over water 400 m deep; no sensitive sites.", "disp"),
        ("Heavy, emulsified fuel oil 35 km offshore over water 400 m deep.", "mech"),
        ("Crude oil leaks 2 km offshore in water 12 m deep, next to a marine park.", "mech"),
    ],
)
def test_dispersant_window_with_distance_in_kilometres(text: str, want: str) -> None:
    assert pick("maritime", text, OIL) == want


def test_entry_gates_closed_because_full_is_not_a_blocked_exit() -> None:
    f = facts("crowd", "The entry gates were closed at 20:00 because the square was full.")
    assert "exit_blocked" not in f


def test_flames_are_n_m_long_is_a_flame_length_not_a_front_distance() -> None:
    f = facts("wildfire", "Flames are 9 m long in the pine stand.")
    assert f.get("flame_length_m") == 9.0 and "front_distance_km" not in f


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Flames are 10 m long; the crew's safety zone is a clearing 25 m across.", "out"),
        ("Flame lengths 1 m; the safety zone is a burned area 300 m across.", None),
    ],
)
def test_safety_zone_against_flame_length(text: str, want: str | None) -> None:
    alts: Alts = [
        ("stay", "Continue", "The crew continues cutting line on the flank."),
        ("out", "Leave", "The crew leaves the line and drives out to the lake shore."),
    ]
    assert pick("wildfire", text, alts) == want


def test_approach_upwind_not_downwind() -> None:
    text = "An ammonia line has ruptured at a cold store; wind from the west at 15 km/h."
    alts: Alts = [
        (
            "down",
            "Shortest road",
            "Engines approach from the east side, downwind, the quickest way.",
        ),
        ("up", "Upwind", "Engines approach from the west, upwind and uphill, and stage there."),
    ]
    assert pick("hazmat", text, alts) == "up"


def test_an_overloaded_phone_network_is_no_overcrowded_boat() -> None:
    assert "overcrowded_boat" not in facts("crowd", "The mobile network is overloaded.")
    assert "exit_blocked" not in facts("crowd", "The exit road is blocked by a lorry.")
