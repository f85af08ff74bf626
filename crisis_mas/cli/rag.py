"""`crisis-mas rag ...`: ingest documents, search the index, run the retrieval evals.

Bad input (a missing path, k out of range, an unknown domain) exits 2 with one line; bad files
inside an ingest are skipped with a warning naming each file and never abort the run.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crisis_mas.errors import CrisisMasError
from crisis_mas.rag.config import RagConfig

app = typer.Typer(
    name="rag",
    help="Knowledge base: ingest documents, search them, evaluate retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

MAX_K = 50
PROGRESS_MIN_CHUNKS = 64  # below this an ingest is quick and a bar is only noise

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="crisis-mas YAML config (uses its rag: part).")
]
IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder (default: rag.index_dir, ~/.crisis-mas/index/kb)."),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rag_config(config: Path | None) -> RagConfig:
    if config is None:
        return RagConfig()
    from crisis_mas.config import load_config

    return load_config(config).rag


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that shows a rich bar once a run is long enough to need one."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN_CHUNKS:
            return
        if "bar" not in state:
            bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("chunks"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


@contextmanager
def _user_errors() -> Iterator[None]:
    """Known user errors become one line and exit 2; no tracebacks for them."""
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=sys.stderr)
    try:
        yield
    except CrisisMasError as e:
        _fail(str(e))


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders (.md .txt .pdf .jsonl).")],
    index: IndexOpt = None,
    config: ConfigOpt = None,
    prune: Annotated[
        bool, typer.Option(help="Delete documents that disappeared from these paths.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add or refresh documents in an index; unchanged documents are skipped by content hash."""
    with _user_errors():
        missing = [p for p in paths if not Path(p).expanduser().exists()]
        if missing:
            _fail(f"path not found: {', '.join(missing)}")
        cfg = _rag_config(config)
        from crisis_mas.rag.ingest import ingest as run_ingest

        index_dir = index.expanduser() if index else cfg.resolved_index_dir()
        with _progress("embedding") as progress:
            report = run_ingest(
                [Path(p) for p in paths], index_dir, cfg, progress=progress, prune=prune
            )
        for w in report.skipped:
            err.print(f"warning: skipped {w.path}: {w.reason}", markup=False)
        if as_json:
            out.print(report.model_dump_json(indent=2), markup=False)
            return
        rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0.0
        out.print(
            f"{index_dir}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.relocated)} moved, "
            f"{len(report.removed)} removed, "
            f"{len(report.skipped)} skipped; {report.chunks_embedded} chunks embedded"
            + (f" ({rate:.1f}/s)" if rate else "")
            + f"; index: {report.total_docs} docs, {report.total_chunks} chunks "
            f"({report.index_type}) in {report.seconds:.1f}s",
            markup=False,
        )


@app.command()
def build(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build or refresh the default knowledge-base index (rag.sources into rag.index_dir), with a
    progress bar; a second run with nothing changed only compares content hashes."""
    with _user_errors():
        cfg = _rag_config(config)
        from crisis_mas.rag.ingest import ingest as run_ingest

        sources = [p for p in cfg.resolved_sources() if p.exists()]
        missing = [str(p) for p in cfg.resolved_sources() if not p.exists()]
        if not sources:
            _fail(f"no knowledge-base source found: {', '.join(missing) or '(none configured)'}")
        for m in missing:
            err.print(f"warning: source not found: {m}", markup=False)
        index_dir = cfg.resolved_index_dir()
        with _progress("building the knowledge-base index") as progress:
            report = run_ingest(sources, index_dir, cfg, progress=progress)
        for w in report.skipped:
            err.print(f"warning: skipped {w.path}: {w.reason}", markup=False)
        if as_json:
            out.print(report.model_dump_json(indent=2), markup=False)
            return
        state = "rebuilt" if report.rebuilt else "updated" if report.changed else "up to date"
        out.print(
            f"{index_dir}: {state}; {report.total_docs} docs, {report.total_chunks} chunks "
            f"({report.chunks_embedded} embedded) in {report.seconds:.1f}s",
            markup=False,
        )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--top-k", help=f"Number of hits (1..{MAX_K}).")] = 5,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", "-d", help="Only these domains (repeatable).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="hybrid, vector or bm25.")] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search an index; prints text, score, document id, title and source of each hit."""
    with _user_errors():
        if not 1 <= k <= MAX_K:
            _fail(f"-k must be between 1 and {MAX_K}, got {k}")
        if not query.strip():
            _fail("query must not be empty")
        if mode is not None and mode not in ("hybrid", "vector", "bm25"):
            _fail(f"unknown mode '{mode}' (choose hybrid, vector or bm25)")
        cfg = _rag_config(config)
        from crisis_mas.rag.retriever import Retriever

        if index is not None:
            if not index.expanduser().is_dir():
                _fail(f"index not found: {index}")
            retriever = Retriever.load(index, cfg)
        else:
            with _progress("indexing knowledge base") as progress:
                retriever = Retriever.open(cfg, progress=progress)
        result = retriever.retrieve(query, k, domain or None, mode)  # type: ignore[arg-type]
        if as_json:
            out.print(result.model_dump_json(indent=2), markup=False)
            return
        if not result.hits:
            out.print("no hits", markup=False)
        for i, h in enumerate(result.hits, 1):
            out.print(f"{i}. {h.chunk_id}  score={h.score:.4f}  {h.title}", markup=False)
            domains = ", ".join(h.domains) or "-"
            out.print(f"   source: {_short(h.source) or '-'}; domains: {domains}", markup=False)
            out.print(textwrap.indent(textwrap.fill(h.text, 96), "   "), markup=False)
        extra = f", {result.guard_dropped} dropped by the guard" if result.guard_dropped else ""
        err.print(
            f"{len(result.hits)} hits ({result.mode}) in {result.latency_ms:.1f} ms{extra}",
            markup=False,
        )


@app.command("eval")
def eval_cmd(
    set_: Annotated[
        str,
        typer.Option(
            "--set",
            help="kb, kb-el, kb-el-en, heldout-el, heldout-en, external; 'greek' (the four "
            "bilingual sets) or 'all'. Comma-separated lists work too.",
        ),
    ] = "all",
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    misses: Annotated[bool, typer.Option(help="List questions missed in the top 5.")] = False,
    check: Annotated[
        bool, typer.Option(help="Exit 1 if hybrid hit@5 is below a set's target.")
    ] = False,
    with_domains: Annotated[
        bool, typer.Option(help="Filter each question by its domain + the shared ones.")
    ] = False,
    embedder: Annotated[
        str | None,
        typer.Option(help="Embedding model to evaluate (default: the configured one)."),
    ] = None,
) -> None:
    """hit@1, hit@5 and MRR@10 of vector, BM25 and hybrid retrieval on the QA sets."""
    with _user_errors():
        from crisis_mas.embeddings import EMBEDDERS
        from crisis_mas.rag.evals import SETS, run_set

        groups = {"all": list(SETS), "greek": ["kb-el", "kb-el-en", "heldout-el", "heldout-en"]}
        names: list[str] = []
        for part in (p.strip() for p in set_.split(",") if p.strip()):
            if part not in SETS and part not in groups:
                _fail(f"unknown set '{part}' (choose {', '.join([*SETS, *groups])})")
            names.extend(n for n in groups.get(part, [part]) if n not in names)
        if embedder is not None and embedder not in EMBEDDERS:
            _fail(f"unknown embedder '{embedder}' (choose {', '.join(EMBEDDERS)})")
        cfg = _rag_config(config)
        reports = []
        for name in names:
            if len(names) > 1 and not SETS[name][0].is_file():
                err.print(f"warning: {name} set skipped: {SETS[name][0]} not found", markup=False)
                continue
            with _progress(f"indexing {name}") as progress:
                reports.append(
                    run_set(
                        name, cfg, progress=progress, use_domains=with_domains, embedder=embedder
                    )
                )
        if not reports:
            _fail("no QA set found")
        if as_json:
            out.print(json.dumps([r.model_dump() for r in reports], indent=2), markup=False)
        else:
            title = "Retrieval eval (ranks over chunk hits, MRR@10)"
            table = Table(title=title + (", domain-filtered" if with_domains else ""))
            for col in ("set", "mode", "n", "hit@1", "hit@5", "MRR", "ms/query", "target"):
                table.add_column(col, justify="left" if col in ("set", "mode") else "right")
            for r in reports:
                for m in r.modes:
                    target = ""
                    if m.mode == "hybrid" and r.target_hybrid_hit_at_5 is not None:
                        ok = m.hit_at_5 >= r.target_hybrid_hit_at_5
                        target = f"hit@5>={r.target_hybrid_hit_at_5} {'ok' if ok else 'MISSED'}"
                    table.add_row(
                        r.set,
                        m.mode,
                        str(m.n),
                        f"{m.hit_at_1:.3f}",
                        f"{m.hit_at_5:.3f}",
                        f"{m.mrr:.3f}",
                        f"{m.mean_latency_ms:.1f}",
                        target,
                    )
            out.print(table)
            if misses:
                for r in reports:
                    for miss in r.metrics("hybrid").misses:
                        out.print(
                            f"[{r.set}] missed: {miss['question']} -> expected "
                            f"{miss['expected']} (rank {miss['rank']}), top 5: "
                            f"{miss['got']}",
                            markup=False,
                        )
        below = [
            r.set
            for r in reports
            if r.target_hybrid_hit_at_5 is not None
            and r.metrics("hybrid").hit_at_5 < r.target_hybrid_hit_at_5
        ]
        if check and below:
            err.print(f"hybrid hit@5 below target on: {', '.join(below)}", markup=False)
            raise typer.Exit(1)


if __name__ == "__main__":
    app()
