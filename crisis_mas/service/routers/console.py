"""The operator console (`/console`): static ES modules served by the same app, no build step,
plus what it reads that no other route serves: a run's brief and rendered report, and the
firing alerts.

The console's files hold no data, so they are reachable without the token (the page asks for
it and sends it as a bearer header on every API call, like any other client); every `/v1/`
route stays behind it. The server listens on loopback unless a token is set.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse

from crisis_mas.report.model import Report
from crisis_mas.service.errors import ApiError
from crisis_mas.service.state import ApiState

STATIC = Path(__file__).resolve().parent.parent / "console"
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def console_files() -> list[str]:
    """URL paths of the console's static files (public: they carry no data)."""
    files = [p for p in STATIC.rglob("*") if p.is_file() and p.suffix in _TYPES]
    return ["/console", "/console/", *(f"/console/{p.relative_to(STATIC)}" for p in files)]


def console_router(state: ApiState) -> APIRouter:
    router = APIRouter()

    def _report(run_id: str) -> Report:
        report = state.report(run_id)
        if report is None:
            raise ApiError(404, f"run '{run_id}' not found", "not_found", "run_id")
        return report

    def _lang(lang: str) -> str:
        from crisis_mas.errors import InputError
        from crisis_mas.report.i18n import strings

        try:
            strings(lang)
        except InputError as err:
            raise ApiError(422, f"lang: {err}", "invalid_request_error", "lang") from None
        return lang

    @router.get("/console", include_in_schema=False)
    async def console_root() -> Any:
        return RedirectResponse("/console/")

    @router.get("/console/", include_in_schema=False)
    async def console_index() -> Any:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @router.get("/console/{path:path}", include_in_schema=False)
    async def console_file(path: str) -> Any:
        target = (STATIC / path).resolve()
        if STATIC not in target.parents or not target.is_file() or target.suffix not in _TYPES:
            raise ApiError(404, f"no console file '{path}'", "not_found", "path")
        return FileResponse(
            target, media_type=_TYPES[target.suffix], headers={"cache-control": "no-cache"}
        )

    @router.get(
        "/v1/runs/{run_id}/brief",
        summary="A run's plain-language brief (the report's first page, as JSON)",
    )
    async def run_brief(run_id: str, lang: str = Query("en")) -> dict[str, Any]:
        from crisis_mas.report.brief import build_brief

        report = await asyncio.to_thread(_report, run_id)
        brief = build_brief(report, _lang(lang))
        out = dataclasses.asdict(brief)
        out.pop("shown")
        return out

    @router.get(
        "/v1/runs/{run_id}/report",
        summary="A run's report rendered as HTML (report.html) or Markdown (report.md)",
        response_class=HTMLResponse,
    )
    async def run_report(
        run_id: str,
        format: Literal["html", "md"] = Query("html"),  # noqa: A002 - the query parameter
        lang: str = Query("en"),
    ) -> Any:
        from crisis_mas.report.html import to_html
        from crisis_mas.report.markdown import to_markdown

        report = await asyncio.to_thread(_report, run_id)
        if format == "md":
            return PlainTextResponse(
                to_markdown(report, _lang(lang)), media_type="text/markdown; charset=utf-8"
            )
        return HTMLResponse(to_html(report, _lang(lang)))

    @router.get("/v1/alerts", summary="Alerts firing now (ops alert rules over recent calls)")
    async def alerts() -> dict[str, Any]:
        from crisis_mas.monitor.alerts import evaluate_alerts

        try:
            found = await asyncio.to_thread(evaluate_alerts, state.config, None, None, False)
        except Exception as err:  # the event log unreadable: say so, do not 500
            return {"alerts": [], "error": f"{type(err).__name__}: {err}"[:300]}
        return {"alerts": [a.to_dict() for a in found]}

    return router
