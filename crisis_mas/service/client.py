"""Python client for the crisis-mas HTTP API (`crisis-mas serve`, or the Serve app on a cluster).

    from crisis_mas.service.client import CrisisMasClient
    report = CrisisMasClient("http://127.0.0.1:8000").assess(scenario, ["fire", "police"])

Server errors become `CrisisMasError` subclasses carrying the server's one-line message, so
`crisis-mas run --server URL` fails like a local run does (one line, exit code 2).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from crisis_mas.errors import CrisisMasError, InputError
from crisis_mas.report.model import Report
from crisis_mas.scenario import Scenario
from crisis_mas.store.runs import RunSummary

TOKEN_ENV = "CRISIS_MAS_API_TOKEN"


class ServerError(CrisisMasError):
    """The server answered with an error; `status` is the HTTP status code."""

    def __init__(self, message: str, status: int, type_: str | None = None):
        super().__init__(message)
        self.status = status
        self.type = type_


class RequestRejected(ServerError, InputError):
    """400/413/422: the request (scenario, experts, arguments) is invalid or was blocked."""


class AuthenticationError(ServerError):
    """401: a bearer token is required, or the one given is wrong."""


class NotFound(ServerError):
    """404: no such run, job or route."""


class RateLimited(ServerError):
    """429: too many requests; `retry_after` seconds until the next one is accepted."""

    def __init__(self, message: str, status: int, type_: str | None, retry_after: float):
        super().__init__(message, status, type_)
        self.retry_after = retry_after


class ServiceUnavailable(ServerError):
    """503: the model pool failed or timed out; retrying later may succeed."""


class ServerUnreachable(CrisisMasError):
    """No HTTP answer at all (connection refused, DNS, client-side timeout)."""


class JobFailed(ServerError):
    """An async job ended in failure."""


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each server-sent event in a stream of lines."""
    name, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            text = "\n".join(data)
            if text != "[DONE]":
                yield name, json.loads(text)
            name, data = "message", []


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        err = resp.json().get("error") or {}
        message, type_ = str(err.get("message") or resp.text), err.get("type")
    except (ValueError, AttributeError):
        message, type_ = resp.text.strip()[:300] or resp.reason_phrase, None
    status = resp.status_code
    text = f"server: {message} (HTTP {status})"
    if status == 401:
        raise AuthenticationError(text, status, type_)
    if status == 404:
        raise NotFound(text, status, type_)
    if status == 429:
        retry = float(resp.headers.get("retry-after", "1") or 1)
        raise RateLimited(text, status, type_, retry)
    if status in (400, 413, 422):
        raise RequestRejected(text, status, type_)
    if status == 503:
        raise ServiceUnavailable(text, status, type_)
    raise ServerError(text, status, type_)


class CrisisMasClient:
    """Typed calls to every endpoint; `token` defaults to $CRISIS_MAS_API_TOKEN."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 900.0,
        http: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        for suffix in ("/v1",):  # accept the OpenAI-style base URL too
            if self.base_url.endswith(suffix):
                self.base_url = self.base_url[: -len(suffix)]
        token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._http.headers.update(headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CrisisMasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.TimeoutException as err:
            raise ServerUnreachable(f"no answer from {self.base_url}{path}: {err}") from None
        except httpx.HTTPError as err:
            raise ServerUnreachable(f"cannot reach {self.base_url}: {err}") from None
        _raise_for(resp)
        return resp

    @staticmethod
    def _body(scenario: Scenario | dict[str, Any], experts: list[str] | None) -> dict[str, Any]:
        data = scenario.model_dump(mode="json") if isinstance(scenario, Scenario) else scenario
        body: dict[str, Any] = {"scenario": data}
        if experts:
            body["experts"] = list(experts)
        return body

    # -- assessments ------------------------------------------------------------------------
    def assess(
        self, scenario: Scenario | dict[str, Any], experts: list[str] | None = None
    ) -> Report:
        """Run an assessment and wait for the report (also saved in the server's run store)."""
        resp = self._request("POST", "/v1/assessments", json=self._body(scenario, experts))
        return Report.model_validate(resp.json())

    def assess_stream(
        self,
        scenario: Scenario | dict[str, Any],
        experts: list[str] | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> Report:
        """Run an assessment with live progress (`mode=stream`): every server-sent event goes
        to `on_event(name, data)` as it arrives (`status`, `progress`); returns the report, or
        raises the error the sync call would have."""
        body = self._body(scenario, experts)
        try:
            with self._http.stream(
                "POST", "/v1/assessments", params={"mode": "stream"}, json=body
            ) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _raise_for(resp)
                for name, data in sse_events(resp.iter_lines()):
                    if name == "report":
                        return Report.model_validate(data)
                    if name == "error":
                        err = data.get("error") or {}
                        status = int(err.get("code") or 500)
                        raise JobFailed(f"server: {err.get('message')} (HTTP {status})", status)
                    if name == "cancelled":
                        raise JobFailed("server: the assessment was cancelled", 409)
                    if on_event is not None:
                        on_event(name, data)
        except httpx.TimeoutException as err:
            raise ServerUnreachable(f"no answer from {self.base_url}: {err}") from None
        except httpx.HTTPError as err:
            raise ServerUnreachable(f"cannot reach {self.base_url}: {err}") from None
        raise ServerUnreachable(f"{self.base_url} ended the event stream without a report")

    def submit_async(
        self, scenario: Scenario | dict[str, Any], experts: list[str] | None = None
    ) -> str:
        """Start an assessment in the background; returns its job id."""
        resp = self._request(
            "POST", "/v1/assessments", params={"mode": "async"}, json=self._body(scenario, experts)
        )
        return str(resp.json()["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """`{job_id, status, run_id, error, report?}`; status queued|running|succeeded|failed."""
        return self._request("GET", f"/v1/jobs/{job_id}").json()

    def wait(self, job_id: str, timeout: float = 900.0, poll_s: float = 1.0) -> Report:
        """Poll a job until it finishes; its report, or JobFailed with the server's reason."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] == "succeeded":
                return Report.model_validate(job["report"])
            if job["status"] == "failed":
                status = int(job.get("error_status") or 500)
                raise JobFailed(f"server: job {job_id} failed: {job.get('error')}", status)
            if time.monotonic() > deadline:
                raise ServerUnreachable(f"job {job_id} still {job['status']} after {timeout:g} s")
            time.sleep(poll_s)

    # -- run store --------------------------------------------------------------------------
    def runs(self, limit: int = 20, scenario_id: str | None = None) -> list[RunSummary]:
        params: dict[str, Any] = {"limit": limit}
        if scenario_id:
            params["scenario_id"] = scenario_id
        rows = self._request("GET", "/v1/runs", params=params).json()["runs"]
        return [RunSummary.model_validate(r) for r in rows]

    def run(self, run_id: str) -> Report:
        return Report.model_validate(self._request("GET", f"/v1/runs/{run_id}").json())

    # -- OpenAI-compatible ------------------------------------------------------------------
    def chat(self, messages: list[dict[str, str]], model: str, **params: Any) -> dict[str, Any]:
        """A chat completion (OpenAI response object); `model` is an expert id or the base."""
        body = {"model": model, "messages": messages, **params}
        return self._request("POST", "/v1/chat/completions", json=body).json()

    def models(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/models").json()["data"]

    # -- tools and operations ---------------------------------------------------------------
    def search_corpus(
        self, query: str, top_k: int = 5, domain: str | None = None
    ) -> dict[str, Any]:
        args: dict[str, Any] = {"query": query, "top_k": top_k}
        if domain:
            args["domain"] = domain
        return self._request("POST", "/v1/tools/search_corpus", json=args).json()

    def health(self) -> dict[str, Any]:
        """The `/healthz` body (returned even when the server reports itself down)."""
        try:
            resp = self._http.get("/healthz")
        except httpx.HTTPError as err:
            raise ServerUnreachable(f"cannot reach {self.base_url}: {err}") from None
        if resp.status_code == 503 and "components" in resp.text:
            return resp.json()
        _raise_for(resp)
        return resp.json()

    def metrics(self) -> str:
        return self._request("GET", "/metrics").text
