"""User-facing errors: each carries one line that names the problem (the CLI exits 2 on them)."""

from __future__ import annotations

from pydantic import ValidationError


class CrisisMasError(Exception):
    """Base class for errors a user can fix by changing their input or config."""


class InputError(CrisisMasError):
    """Bad user input: a missing file, malformed YAML/JSON, a wrong type, an unknown id."""


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line naming the first offending field, e.g. `severity: Input should be <= 1`."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{prefix}{loc}: {first.get('msg', 'invalid')}{more}"
