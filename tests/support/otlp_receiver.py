"""A loopback stand-in for a Langfuse server: decodes the SDK's real OTLP/HTTP export.

The Langfuse SDK posts gzipped protobuf `ExportTraceServiceRequest`s to
`/api/public/otel/v1/traces` and JSON score batches to `/api/public/scores`. This server decodes
both with `opentelemetry-proto` so tests can assert the trace tree the SDK actually sent.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    attributes: dict[str, Any]
    start_ns: int
    end_ns: int
    scope: str

    @property
    def type(self) -> str | None:
        return self.attributes.get("langfuse.observation.type")

    def json_attr(self, key: str) -> Any:
        """Langfuse stores dicts (usage, metadata values, input) as JSON strings."""
        raw = self.attributes.get(key)
        return json.loads(raw) if isinstance(raw, str) else raw


@dataclass
class Receiver:
    host: str
    port: int
    spans: list[Span] = field(default_factory=list)
    scores: list[dict] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False

    def by_name(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _body(self) -> bytes:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            return raw

        def _reply(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            with rx.lock:
                rx.requests.append(("GET", self.path))
            self._reply(200, b'{"status":"OK","version":"loopback"}', "application/json")

        do_HEAD = do_GET  # noqa: N815

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self._body()
            with rx.lock:
                rx.requests.append(("POST", self.path))
                rx.headers.append(dict(self.headers))
            if self.path.endswith("/otel/v1/traces"):
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                spans = []
                for rs in req.resource_spans:
                    for ss in rs.scope_spans:
                        for sp in ss.spans:
                            spans.append(
                                Span(
                                    trace_id=sp.trace_id.hex(),
                                    span_id=sp.span_id.hex(),
                                    parent_id=sp.parent_span_id.hex() or None,
                                    name=sp.name,
                                    attributes={a.key: _value(a.value) for a in sp.attributes},
                                    start_ns=sp.start_time_unix_nano,
                                    end_ns=sp.end_time_unix_nano,
                                    scope=ss.scope.name,
                                )
                            )
                with rx.lock:
                    rx.spans.extend(spans)
                self._reply(
                    200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
                )
            elif self.path.endswith("/api/public/scores"):
                data = json.loads(body or b"[]")
                with rx.lock:
                    rx.scores.extend(data if isinstance(data, list) else [data])
                self._reply(202, b'{"message":"Accepted"}', "application/json")
            else:
                self._reply(200, b"{}", "application/json")

    return Handler


class OTLPReceiver:
    """Context manager: `with OTLPReceiver() as rx: ... rx.url ... rx.spans`."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
        host, port = self._server.server_address[:2]
        self.rx = Receiver(str(host), int(port))
        self._server.RequestHandlerClass = _handler(self.rx)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self.rx

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
