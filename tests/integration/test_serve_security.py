"""The HTTP app's web-facing defences on a real socket (uvicorn on 127.0.0.1, the real FastAPI
app and middleware, a stand-in model-pool handle): Host allow-list, cross-site and non-JSON
state-changing requests, rate limits keyed on the address without a token and shared across
two ingress replicas through a real redis-server (and still enforced when it dies), and the one
error object for unknown routes, wrong methods, bad bodies and out-of-range values."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standin_app import LiveServer, serve

from crisis_mas.service.security import host_name, served_hosts


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    srv = serve(tmp_path)
    yield srv
    srv.stop()


def _error(r: httpx.Response, status: int, needle: str = "") -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and needle in err["message"], err
    return err


def test_host_allow_list_refuses_a_rebound_name(live: LiveServer) -> None:
    port = live.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert httpx.get(f"{live.url}/v1/runs", headers={"host": host}).status_code == 200, host
    # a DNS-rebinding page: attacker.example resolves to 127.0.0.1, its script reads reports
    for host in (f"attacker.example:{port}", "127.0.0.1.nip.io", "localhost.evil.org"):
        err = _error(httpx.get(f"{live.url}/v1/runs", headers={"host": host}), 421, "Host")
        assert err["param"] == "host"
    # public paths are refused too: nothing answers a foreign name
    assert httpx.get(f"{live.url}/healthz", headers={"host": "a.example"}).status_code == 421


def test_configured_hosts(tmp_path: Path) -> None:
    srv = serve(tmp_path, allowed_hosts=[".example.org", "crisis.local"])
    try:
        for host, status in [
            ("api.example.org", 200),
            ("crisis.local:8000", 200),
            ("example.org.evil.com", 421),
            ("localhost", 421),  # an explicit list replaces the loopback default
        ]:
            r = httpx.get(f"{srv.url}/v1/runs", headers={"host": host})
            assert r.status_code == status, (host, r.text)
    finally:
        srv.stop()
    assert served_hosts(["*"], None) is None
    assert served_hosts(None, "0.0.0.0") is None  # all interfaces (a token is mandatory there)
    assert served_hosts(None, "10.1.2.3") == {"localhost", "127.0.0.1", "::1", "10.1.2.3"}
    assert [host_name(h) for h in ("[::1]:80", "A.Org.:8", "x")] == ["::1", "a.org", "x"]


def test_cross_site_and_non_json_state_changes_are_refused(live: LiveServer) -> None:
    url = f"{live.url}/v1/adapters/fire/rollback"
    # a form on another site, a text/plain fetch, a null origin (sandboxed iframe)
    for headers in (
        {"origin": "http://attacker.example", "content-type": "application/x-www-form-urlencoded"},
        {"origin": "http://attacker.example", "content-type": "text/plain"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "http://127.0.0.1:1"},  # same host, another port: another origin
    ):
        err = _error(httpx.post(url, headers=headers, content=b"x=1"), 403, "cross-site")
        assert err["param"] == "origin"
    promote = f"{live.url}/v1/adapters/fire/promote?force=true"
    _error(httpx.post(promote, headers={"sec-fetch-site": "cross-site"}), 403)
    # no Origin (curl, scripts) but a non-JSON body: refused as well
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = httpx.post(url, headers={"content-type": ctype}, content=b"reason=x")
        assert _error(r, 415, "application/json")["param"] == "content-type"
    # the server's own pages (same origin), JSON, or no body at all pass the middleware
    same = {"origin": live.url, "sec-fetch-site": "same-origin"}
    for kw in ({"headers": same, "json": {}}, {"json": {}}, {}):
        assert httpx.post(url, **kw).status_code not in (403, 415)
    assert (
        httpx.get(f"{live.url}/v1/runs", headers={"origin": "http://x.example"}).status_code == 200
    )


def test_state_changes_need_the_token(tmp_path: Path) -> None:
    srv = serve(tmp_path, token="s3cret", allowed_origins=["https://console.example.org"])
    try:
        url = f"{srv.url}/v1/adapters/fire/rollback"
        _error(httpx.post(url, json={}), 401, "bearer token")
        auth = {"authorization": "Bearer s3cret"}
        assert httpx.post(url, headers=auth, json={}).status_code not in (401, 403, 415)
        # a configured origin may call; others may not, even with the token
        ok = {**auth, "origin": "https://console.example.org"}
        assert httpx.post(url, headers=ok, json={}).status_code not in (401, 403, 415)
        _error(httpx.post(url, headers={**auth, "origin": "https://x.example"}, json={}), 403)
    finally:
        srv.stop()


def test_rate_limit_keys_on_the_address_without_a_token(tmp_path: Path) -> None:
    srv = serve(tmp_path, rate_limit={"requests_per_minute": 6, "burst": 3, "backend": "memory"})
    try:
        codes = [
            httpx.get(f"{srv.url}/v1/runs", headers={"authorization": f"Bearer x{i}"}).status_code
            for i in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]  # a new Authorization header is no new client
    finally:
        srv.stop()


def test_token_guessing_is_rate_limited(tmp_path: Path) -> None:
    srv = serve(tmp_path, token="right", rate_limit={"requests_per_minute": 6, "burst": 3})
    try:
        guesses = [
            httpx.get(f"{srv.url}/v1/runs", headers={"authorization": f"Bearer g{i}"}).status_code
            for i in range(5)
        ]
        assert guesses == [401, 401, 401, 429, 429]
        r = httpx.get(f"{srv.url}/v1/runs", headers={"authorization": "Bearer right"})
        assert r.status_code == 200  # the token holder has its own bucket
    finally:
        srv.stop()


def test_rate_limit_is_shared_by_ingress_replicas_through_redis(
    tmp_path: Path, redis_server: object
) -> None:
    limit = {"requests_per_minute": 6, "burst": 4, "redis_url": redis_server.url}  # type: ignore[attr-defined]
    a = serve(tmp_path / "a", rate_limit=limit)
    b = serve(tmp_path / "b", rate_limit=limit)
    try:
        codes = [httpx.get(f"{s.url}/v1/runs").status_code for s in (a, b, a, b, a, b)]
        assert codes == [200, 200, 200, 200, 429, 429]  # 4 in all, not 4 per replica
        r = httpx.get(f"{a.url}/v1/runs")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # Redis dies: each replica limits on its own, requests neither fail nor hang
        redis_server.kill()  # type: ignore[attr-defined]
        t = time.perf_counter()
        codes = [httpx.get(f"{s.url}/v1/runs").status_code for s in (a, a, a, a, a, b)]
        assert time.perf_counter() - t < 3
        assert codes == [200, 200, 200, 200, 429, 200]
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("GET", "/v1/nope", None, 404, "no route /v1/nope"),
        ("DELETE", "/v1/assessments", None, 405, "DELETE is not allowed"),
        (
            "POST",
            "/v1/assessments",
            b'{"scenario": ' + b"[" * 950 + b"]" * 950 + b"}",
            400,
            "levels",
        ),
        ("POST", "/v1/assessments", b"\xff\xfe{", 400, "malformed JSON"),
        ("POST", "/v1/assessments", b'{"scenario": {"id": "   "}}', 422, "scenario.id"),
        ("POST", "/v1/assessments", b'{"scenario": {}, "experts": ["  "]}', 422, ""),
        (
            "POST",
            "/v1/chat/completions",
            b'{"model": "fire", "messages": [{"role": "user", "content": "hi"}], "seed": '
            + str(2**70).encode()
            + b"}",
            422,
            "seed",
        ),
    ],
)
def test_every_error_is_the_error_object(
    live: LiveServer, method: str, path: str, body: bytes | None, status: int, needle: str
) -> None:
    t = time.perf_counter()
    r = httpx.request(
        method, f"{live.url}{path}", content=body, headers={"content-type": "application/json"}
    )
    assert time.perf_counter() - t < 1.0
    err = _error(r, status, needle)
    assert set(err) == {"message", "type", "param", "code"}
    if status == 405:
        assert "POST" in r.headers["allow"]
