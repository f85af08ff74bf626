"""Untrusted text is refused before any work: YAML alias bombs and self-references, deep nesting
(YAML and JSON), oversized and non-UTF-8 files, each with a message naming the problem; and the
config models are strict everywhere (unknown nested keys, numeric bounds, blank ids)."""

from __future__ import annotations

import json
import re
import resource
import time
import typing
from pathlib import Path
from types import UnionType

import pytest
from pydantic import BaseModel, ValidationError

from crisis_mas.config import load_config
from crisis_mas.errors import InputError
from crisis_mas.scenario import bundled_scenarios_dir, load_scenario, parse_scenario
from crisis_mas.scenario_validation import check_text
from crisis_mas.service.config import ServeAppConfig, load_serve_file
from crisis_mas.textio import json_depth, parse_json, parse_yaml, read_text_file

# The classic "billion laughs", nine levels of nine: ~9^9 copies of "lol" once expanded.
BOMB = (
    "lol: &a ["
    + ", ".join(['"lolololol"'] * 9)
    + "]\n"
    + "".join(
        f"l{i}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
    )
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_yaml_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("id: bomb\n" + BOMB)
    before = _rss_mb()
    t = time.perf_counter()
    with pytest.raises(InputError, match="alias bomb"):
        load_scenario(path)
    assert time.perf_counter() - t < 1.0
    assert _rss_mb() - before < 100  # peak RSS grew by less than 100 MB (it stays flat)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: &a [*a]\n", "cycle"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels"),
        ("{a: " * 5000 + "1" + "}" * 5000, "nested more than 64 levels"),
        ("".join(" " * i + "k:\n" for i in range(100)), "nested more than 64 levels"),
        ("a: [1, 2\n", "malformed YAML"),
    ],
)
def test_yaml_limits(text: str, needle: str) -> None:
    t = time.perf_counter()
    with pytest.raises(InputError, match=needle):
        parse_yaml(text, "x.yaml")
    assert time.perf_counter() - t < 1.0


def test_small_aliases_still_work() -> None:
    # the deploy files point args.crisis_mas at a top-level config with one alias
    assert parse_yaml("base: &b {x: 1}\ncopy: *b\n") == {"base": {"x": 1}, "copy": {"x": 1}}
    assert load_serve_file(Path("deploy/serve-embedded-cpu.yaml")).app.name


def test_json_depth_scan() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert json_depth(b'"\\"[[[" []') == 1
    assert json_depth("[" * 1000, stop_above=64) == 65
    assert json_depth('"unterminated [[[') == 0
    with pytest.raises(InputError, match="nested more than 64"):
        parse_json("[" * 950 + "]" * 950, "body")
    with pytest.raises(InputError, match="malformed JSON at line 1"):
        parse_json('{"a": ', "body")
    big = '{"a": "' + "x" * 2_000_000 + '", "b": [' + ",".join(['{"c": [1]}'] * 50_000) + "]}"
    t = time.perf_counter()
    assert json_depth(big) == 4
    assert time.perf_counter() - t < 1.0


def test_files_non_utf8_oversized_missing(tmp_path: Path) -> None:
    latin = tmp_path / "s.json"
    latin.write_bytes(b'{"id": "caf\xe9"}')
    with pytest.raises(InputError, match=r"not UTF-8 text \(invalid byte 0xe9 at offset 11\)"):
        load_scenario(latin)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (5 * 1024 * 1024))
    with pytest.raises(InputError, match="over the 4 MiB input limit"):
        load_config(big)
    with pytest.raises(InputError, match="not found"):
        read_text_file(tmp_path / "nope.yaml", "config file")
    with pytest.raises(InputError, match="not a regular file"):
        read_text_file(tmp_path, "config file")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested more than 64"):
        load_scenario(deep)


def test_scenario_validation_text_is_bounded() -> None:
    check = check_text(BOMB, "yaml")
    assert not check.valid and "alias bomb" in check.errors[0].message
    check = check_text("[" * 5000, "json")
    assert not check.valid and "nested more than 64" in check.errors[0].message


def _scenario() -> dict:
    return json.loads((bundled_scenarios_dir() / "evia_wildfire.json").read_text())


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"id": "   "}, "id"),
        ({"type": "\t"}, "type"),
        ({"id": "x" * 201}, "id"),
        ("alt", "available_actions.0.id"),
    ],
)
def test_blank_or_huge_ids_are_refused(patch: object, field: str) -> None:
    data = _scenario()
    if patch == "alt":
        data["available_actions"][0]["id"] = "   "
    else:
        data.update(patch)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=re.escape(field) + ": .*(blank|at most)"):
        parse_scenario(data)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"model": {"sampling": {"temprature": 0.5}}}, "model.sampling.temprature"),
        ({"model": {"sampling": {"seed": 2**70}}}, "model.sampling.seed"),
        ({"model": {"kv_cache_memory_bytes": -1}}, "model.kv_cache_memory_bytes"),
        ({"model": {"max_loras": -3}}, "model.max_loras"),
        ({"model": {"openai": {"timeout_s": 0}}}, "model.openai.timeout_s"),
    ],
)
def test_config_is_strict(tmp_path: Path, args: dict, field: str) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(args))
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        load_config(path)


# Numbers that may take any value on purpose.
FREE_NUMBERS = {"AlertRule.threshold"}


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models(a)]


def _numeric(annotation: object) -> bool:
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        return any(_numeric(a) for a in typing.get_args(annotation))
    return False


def test_every_config_model_forbids_unknown_keys_and_bounds_numbers() -> None:
    seen: set[type[BaseModel]] = set()
    loose, unbounded = [], []
    todo: list[type[BaseModel]] = [ServeAppConfig]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        if model.model_config.get("extra") != "forbid":
            loose.append(model.__name__)
        for name, f in model.model_fields.items():
            bounded = any(
                type(m).__name__ in ("Ge", "Gt", "Le", "Lt", "Interval") for m in f.metadata
            )
            label = f"{model.__name__}.{name}"
            if _numeric(f.annotation) and not bounded and label not in FREE_NUMBERS:
                unbounded.append(label)
            todo += _models(f.annotation)
    assert len(seen) > 20
    assert loose == [] and unbounded == []


def test_sampling_validation_error_names_the_field() -> None:
    from crisis_mas.pool.types import SamplingConfig

    with pytest.raises(ValidationError, match="top_k"):
        SamplingConfig.model_validate({"top_k": 3})
