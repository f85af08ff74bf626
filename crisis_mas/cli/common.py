"""Shared CLI plumbing: one-line errors with exit code 2, consoles, scenario path resolution."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from crisis_mas.errors import CrisisMasError

err_console = Console(stderr=True)
out_console = Console()

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handles_errors(fn: F) -> F:
    """Turn user errors into one line on stderr and exit 2; engine errors exit 1. No tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from crisis_mas.pool.base import ModelPoolError

        try:
            return fn(*args, **kwargs)
        except CrisisMasError as err:  # a server's 5xx is no user error: exit 1
            fail(str(err), 1 if (getattr(err, "status", None) or 0) >= 500 else 2)
        except ModelPoolError as err:
            fail(f"model pool: {str(err).splitlines()[0]}", 1)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except typer.Exit:
            raise
        except UnicodeDecodeError as err:  # a file that is not text, read outside textio
            fail(f"input is not UTF-8 text (invalid byte at offset {err.start}): {err.reason}")
        except RecursionError:  # nesting that slipped past the depth limits
            fail("input is nested too deeply")
        except MemoryError:
            fail("input too large: out of memory while reading it")
        except Exception as err:  # a bug, not a user error: keep the traceback in a log file
            import traceback

            from crisis_mas.paths import home

            log = home() / "logs" / "last-error.txt"
            write_private(log, traceback.format_exc())
            fail(f"internal error: {type(err).__name__}: {err} (traceback in {log})", 1)

    return wrapper  # type: ignore[return-value]


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600, folder 0700): logs and tracebacks may hold
    scenario text and prompts."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def resolve_scenario_path(name: str) -> Path:
    """A path, or a bundled scenario name (`evia_wildfire` -> scenarios/evia_wildfire.json)."""
    from crisis_mas.scenario import bundled_scenarios_dir

    p = Path(name)
    if p.exists() or p.suffix:
        return p
    for ext in (".json", ".yaml", ".yml"):
        cand = bundled_scenarios_dir() / f"{name}{ext}"
        if cand.is_file():
            return cand
    return p


def stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks shut engine subprocesses down.

    Without this a terminated `crisis-mas run` leaves vLLM's engine-core process behind.
    """
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def quiet_engines(verbose: bool) -> None:
    """Keep vLLM/transformers chatter off the terminal unless asked for. Hub access is left to
    the model config (`pool.embedded.offline_by_default`): a hub id downloads like vLLM would."""
    if not verbose:
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class EngineLog:
    """While engines run, everything written to fd 1 and 2 (vLLM, Ray, transformers, torch and
    C libraries, subprocesses started meanwhile) goes to a log file instead of the terminal;
    `console` still writes to the real terminal (progress, warnings).

    `path=None` (`--verbose`) redirects nothing: engine logs stay on the terminal.
    """

    def __init__(self, path: Path | None, stdout_to_stderr: bool = False):
        self.path = path
        self.stdout_to_stderr = stdout_to_stderr
        self.console: Console = err_console

    def __enter__(self) -> EngineLog:
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Engine logs may echo prompts (scenario text): readable by the user only.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.fchmod(fd, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            self._term = os.fdopen(os.dup(self._saved[1]), "w", buffering=1, encoding="utf-8")
            self.console = Console(file=self._term)
        elif self.stdout_to_stderr:  # --json --verbose: stdout carries only the report
            os.dup2(2, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        if self.path is not None:
            self._term.close()

    def tail(self, n: int = 15) -> str:
        """The last lines of the log (shown when a run fails)."""
        if self.path is None or not self.path.is_file():
            return ""
        return "\n".join(self.path.read_text(errors="replace").splitlines()[-n:])


class StdoutToStderr:
    """Route fd 1 to stderr while engines run (their subprocesses print), then restore it.

    `--json` promises nothing but the report on stdout.
    """

    def __enter__(self) -> StdoutToStderr:
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)
