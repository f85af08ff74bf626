"""The bad-input corpus (tests/data/bad_inputs.json): materialise its files and request bodies,
run a case against the installed CLI or an HTTP server, and check the answer.

Each case's answer must be exit 2 with one line naming the problem (CLI), or its status with
the error object `{"error": {"message", "type", "param", "code"}}` naming the field (HTTP); no
traceback, no 5xx, no hang.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from clirun import CLI, REPO

CORPUS = REPO / "tests" / "data" / "bad_inputs.json"
SCENARIO = REPO / "scenarios" / "evia_wildfire.json"


def corpus() -> dict[str, list[dict[str, Any]]]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def _deep(n: int) -> Any:
    value: Any = []
    for _ in range(n - 1):
        value = [value]
    return value


def _set(data: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node: Any = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _get(data: dict, dotted: str) -> Any:
    node: Any = data
    for p in dotted.split("."):
        node = node[int(p)] if isinstance(node, list) else node[p]
    return node


def patched_scenario(patch: dict[str, Any] | None) -> dict[str, Any]:
    """The bundled evia_wildfire scenario with `patch` applied (see the corpus's `about`)."""
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    for path, value in (patch or {}).items():
        if isinstance(value, str) and value.startswith("@deep:"):
            value = _deep(int(value.split(":")[1]))
        elif value == "@first-only":
            value = data["available_actions"][:1]
        elif isinstance(value, str) and value.startswith("@"):
            value = _get(data, value[1:])
        _set(data, path, value)
    return data


def text_of(spec: dict[str, Any]) -> str:
    if "parts" in spec:
        return "".join(seg * n for seg, n in spec["parts"])
    if "indented_keys" in spec:
        return "".join(" " * i + "k:\n" for i in range(spec["indented_keys"]))
    if "scenario_patch" in spec:
        return json.dumps(patched_scenario(spec["scenario_patch"]))
    return spec.get("text", "")


def bytes_of(spec: dict[str, Any]) -> bytes:
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    errors = "replace" if spec.get("replace") else "strict"
    return text_of(spec).encode(spec.get("encoding", "utf-8"), errors)


@dataclass
class Outcome:
    case: str
    seconds: float
    code: int  # exit status (CLI) or HTTP status
    detail: str


def run_cli_case(case: dict[str, Any], tmp: Path, timeout_s: float = 60) -> Outcome:
    """Run one CLI case as a subprocess (the installed console script)."""
    args = []
    path = None
    if case.get("file"):
        path = tmp / case["file"]["name"]
        path.write_bytes(bytes_of(case["file"]))
    for a in case["args"]:
        args.append(a.replace("{file}", str(path)).replace("{dir}", str(tmp)))
    t = time.perf_counter()
    proc = subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=timeout_s, cwd=REPO, check=False
    )
    return Outcome(case["id"], time.perf_counter() - t, proc.returncode, proc.stderr + proc.stdout)


def check_cli(case: dict[str, Any], out: Outcome) -> list[str]:
    """What is wrong with a CLI answer (empty when it is right)."""
    problems = []
    if out.code != case.get("exit", 2):
        problems.append(f"exit {out.code}, expected {case.get('exit', 2)}")
    if "Traceback" in out.detail or "internal error" in out.detail:
        problems.append("traceback or internal error")
    problems += [f"no {s!r} in the message" for s in case["stderr"] if s not in out.detail]
    return [f"{case['id']}: {p}\n{out.detail[-600:]}" for p in problems]


def request_of(case: dict[str, Any], token: str | None) -> dict[str, Any]:
    """httpx.request keyword arguments for an HTTP case."""
    headers: dict[str, str] = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    for k, v in (case.get("headers") or {}).items():
        if v is None:
            headers.pop(k, None)
        else:
            headers[k] = v
    if "json" in case:
        body = copy.deepcopy(case["json"])
        if body.get("scenario") == "@scenario":
            body["scenario"] = patched_scenario(case.get("scenario_patch"))
        if isinstance(body.get("text"), str) and body["text"].startswith("@deep-text:"):
            body["text"] = "[" * int(body["text"].split(":")[1])
        content = json.dumps(body).encode()
    elif "body" in case or "parts" in case or "hex" in case:
        content = bytes_of({**case, "text": case.get("body", "")})
    else:
        content = None
    if content is None and case["method"] in ("GET", "DELETE", "HEAD"):
        headers.pop("content-type", None)
    return {"method": case["method"], "headers": headers, "content": content}


def run_http_case(client: httpx.Client, case: dict[str, Any], token: str | None) -> Outcome:
    kw = request_of(case, token)
    t = time.perf_counter()
    r = client.request(kw.pop("method"), case["path"], **kw)
    return Outcome(case["id"], time.perf_counter() - t, r.status_code, r.text)


def check_http(case: dict[str, Any], out: Outcome) -> list[str]:
    problems = []
    if out.code >= 500 or out.code != case["status"]:
        problems.append(f"HTTP {out.code}, expected {case['status']}")
    try:
        body = json.loads(out.detail)
    except ValueError:
        body = None
    if out.code == 200:  # a validation answer: {valid: false, errors: [...]}
        text = json.dumps(body)
        if not (isinstance(body, dict) and body.get("valid") is False):
            problems.append("expected valid: false")
    else:
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict) or set(err) != {"message", "type", "param", "code"}:
            problems.append("not the error object")
            err = {}
        if err.get("code") != out.code:
            problems.append("error.code differs from the status")
        if case.get("param") and err.get("param") != case["param"]:
            problems.append(f"param {err.get('param')!r}, expected {case['param']!r}")
        text = str(err.get("message", ""))
    problems += [f"no {s!r} in the message" for s in case.get("message") or [] if s not in text]
    return [f"{case['id']}: {p}\n{out.detail[:600]}" for p in problems]
