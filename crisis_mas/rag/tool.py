"""The `search_corpus` tool: an OpenAI function-calling definition and its validated call.

The lead exposes it over HTTP; a model (or client) sends `{"query", "top_k", "domain"?}` and gets
hits with citations back. Invalid arguments raise `ToolArgumentError` naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisis_mas.errors import InputError
from crisis_mas.rag.config import KNOWN_DOMAINS
from crisis_mas.rag.retriever import Retriever

TOOL_NAME = "search_corpus"
MAX_QUERY_CHARS = 500
MAX_TOP_K = 10


class ToolArgumentError(InputError):
    """Bad tool arguments; the message names the field (e.g. "top_k: must be <= 10")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{TOOL_NAME}: {field}: {message}")
        self.field = field


class SearchCorpusArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K)
    domain: str | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("top_k", mode="before")
    @classmethod
    def _int_not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError("must be an integer")
        return v


def tool_definition(domains: list[str] | tuple[str, ...] = KNOWN_DOMAINS) -> dict[str, Any]:
    """The function definition `{"name", "description", "parameters"}` (JSON schema)."""
    return {
        "name": TOOL_NAME,
        "description": (
            "Search the emergency-response knowledge base (doctrine, SOPs, HAZMAT guides, "
            "triage) and return the most relevant passages with their document ids to cite."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_QUERY_CHARS,
                    "description": "What to look up, in plain words.",
                },
                "top_k": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_TOP_K,
                    "default": 5,
                    "description": "How many passages to return.",
                },
                "domain": {
                    "type": "string",
                    "enum": list(domains),
                    "description": "Only passages from this domain (optional).",
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    }


def openai_tool(domains: list[str] | tuple[str, ...] = KNOWN_DOMAINS) -> dict[str, Any]:
    """The same, wrapped for a chat-completions `tools` list."""
    return {"type": "function", "function": tool_definition(domains)}


# The definition with the default domains, for callers that want a constant.
SEARCH_CORPUS_TOOL = tool_definition()


def validate_args(
    args: Any, domains: list[str] | tuple[str, ...] = KNOWN_DOMAINS
) -> SearchCorpusArgs:
    """Parse tool arguments (a dict); raises ToolArgumentError naming the first bad field."""
    if not isinstance(args, dict):
        raise ToolArgumentError("arguments", "must be a JSON object")
    try:
        parsed = SearchCorpusArgs.model_validate(args)
    except ValidationError as err:
        e = err.errors()[0]
        field = ".".join(str(p) for p in e["loc"]) or "arguments"
        msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        raise ToolArgumentError(field, msg.removeprefix("Value error, ")) from None
    if parsed.domain is not None:
        parsed.domain = parsed.domain.strip().lower()
        if parsed.domain not in domains:
            raise ToolArgumentError("domain", f"must be one of {', '.join(domains)}")
    return parsed


def call_search_corpus(args: dict[str, Any], retriever: Retriever) -> dict[str, Any]:
    """Validate `args`, search, and return `{query, top_k, domain, hits[], latency_ms}`."""
    parsed = validate_args(args, retriever.domains)
    result = retriever.retrieve(
        parsed.query, parsed.top_k, [parsed.domain] if parsed.domain else None
    )
    return {
        "query": parsed.query,
        "top_k": parsed.top_k,
        "domain": parsed.domain,
        "hits": [h.model_dump() for h in result.hits],
        "latency_ms": round(result.latency_ms, 2),
    }
