"""The knowledge-base tool: `GET /v1/tools` (OpenAI function format) and
`POST /v1/tools/search_corpus`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body

from crisis_mas.service.errors import ApiError
from crisis_mas.service.state import ApiState, guard_input, open_retriever


def tools_router(state: ApiState) -> APIRouter:
    """Routes bound to the shared `ApiState`."""
    router = APIRouter()
    cfg = state.config

    @router.get("/v1/tools", summary="Tool definitions (OpenAI function format)")
    async def list_tools() -> dict[str, Any]:
        from crisis_mas.rag import openai_tool

        return {"object": "list", "data": [openai_tool(cfg.rag.domains)]}

    @router.post(
        "/v1/tools/search_corpus",
        summary="Search the knowledge base: {query, top_k?, domain?} -> hits with citations",
    )
    async def search_corpus(args: dict[str, Any] = Body(...)) -> dict[str, Any]:
        from crisis_mas.rag import ToolArgumentError, call_search_corpus

        if isinstance(args.get("query"), str):
            guard_input(state, [args["query"]], "query")
        retriever = await asyncio.to_thread(open_retriever, state)
        try:
            return await asyncio.to_thread(call_search_corpus, args, retriever)
        except ToolArgumentError as err:
            raise ApiError(422, str(err), "invalid_request_error", err.field) from None

    return router
