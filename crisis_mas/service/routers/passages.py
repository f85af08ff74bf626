"""`GET /v1/passages/{chunk_id}`: the knowledge-base passage an assessment cites (its text,
title, heading and source), so a reader can check a citation."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from crisis_mas.service.errors import ApiError
from crisis_mas.service.state import ApiState, open_retriever


def passages_router(state: ApiState) -> APIRouter:
    router = APIRouter()
    index: dict[str, dict[str, Any]] = {}
    version: list[str] = [""]

    def lookup(chunk_id: str) -> dict[str, Any] | None:
        retriever = open_retriever(state)
        current = str(getattr(retriever, "version", ""))
        if not index or version[0] != current:  # (re)built when the index changes
            index.clear()
            for rec in retriever.store.chunks.values():
                index[rec.chunk_id] = {
                    "chunk_id": rec.chunk_id,
                    "doc_id": rec.doc_id,
                    "title": rec.title,
                    "heading": rec.heading,
                    "text": rec.text,
                    "source": rec.source,
                    "domains": rec.domains,
                }
            version[0] = current
        return index.get(chunk_id)

    @router.get("/v1/passages/{chunk_id:path}", summary="A cited knowledge-base passage")
    async def get_passage(chunk_id: str) -> dict[str, Any]:
        found = await asyncio.to_thread(lookup, chunk_id)
        if found is None:
            raise ApiError(404, f"passage '{chunk_id}' not found", "not_found", "chunk_id")
        return found

    return router
