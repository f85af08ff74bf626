"""`crisis-mas cache stats|clear`: the response cache (Redis via REDIS_URL, else SQLite)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from crisis_mas.cli.common import fail, handles_errors, out_console

app = typer.Typer(help="Response cache: statistics and clearing.", no_args_is_help=True)


def _open_or_fail(action, config):  # noqa: ANN001, ANN202 - small CLI helper
    try:
        return action(config)
    except Exception as err:
        if type(err).__module__.startswith("redis"):
            fail(f"cache backend unreachable: {type(err).__name__}: {err}", 1)
        raise


@app.command("stats")
@handles_errors
def stats(
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    config: str | None = typer.Option(None, "--config", "-c", help="crisis-mas config file"),
) -> None:
    """Hits (exact and semantic), misses, tokens saved and size of the cache."""
    from crisis_mas.config import load_config
    from crisis_mas.middleware.cache.middleware import cache_stats

    data = _open_or_fail(cache_stats, load_config(config).ops.cache)
    if as_json:
        print(json.dumps(data))
        return
    t = Table(title=f"cache ({data['backend']}, namespace {data['namespace']})")
    t.add_column("metric")
    t.add_column("value", justify="right")
    ratio = data["hit_ratio"]
    rows = [
        ("hits (exact)", data["hits_exact"]),
        ("hits (semantic)", data["hits_semantic"]),
        ("misses", data["misses"]),
        ("hit ratio", "—" if ratio is None else f"{ratio:.1%}"),
        ("tokens saved", data["tokens_saved"]),
        ("stored answers", data["stores"]),
        ("bypassed (backend down)", data["bypassed"]),
        ("not cacheable (no_cache, PII, TTL 0)", data["uncacheable"]),
        ("entries", data["entries"]),
        ("semantic entries", data["semantic_entries"]),
        ("size", f"{data['bytes'] / 1024:.1f} KiB"),
    ]
    for name, value in rows:
        t.add_row(name, str(value))
    out_console.print(t)


@app.command("clear")
@handles_errors
def clear(
    pattern: str | None = typer.Option(
        None,
        "--pattern",
        "-p",
        help="Glob over entry labels 'namespace:op:kind:adapter:expert', e.g. 'v1:*', "
        "'*:reference:*', '*:fire'. Without it, everything (and the counters) is cleared.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    config: str | None = typer.Option(None, "--config", "-c", help="crisis-mas config file"),
) -> None:
    """Delete cached answers (all, or those whose label matches --pattern)."""
    from crisis_mas.config import load_config
    from crisis_mas.middleware.cache.middleware import clear_cache

    cfg = load_config(config)
    n = _open_or_fail(lambda c: clear_cache(c, pattern), cfg.ops.cache)
    if as_json:
        print(json.dumps({"cleared": n, "pattern": pattern}))
        return
    what = f"matching '{pattern}'" if pattern else "(all)"
    out_console.print(f"cleared {n} cached answers {what}")


if __name__ == "__main__":
    app()
