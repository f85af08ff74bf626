"""The house rules that import-linter's layers contract (.importlinter) does not cover: no import
cycle between modules, no private name imported across packages, config sections are leaves,
and no module grows past ~400 lines without a stated reason. Read from the source, no imports."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "crisis_mas"

# Modules allowed past MAX_LINES, each with the reason it is long.
MAX_LINES = 400
LONG_MODULES: dict[str, str] = {
    "crisis_mas.safety.guard.injection_rules": "a data table: one regular expression per attack "
    "technique (English and Greek), kept together so the guard eval can report on all of them",
}

# What a config section (a module `crisis_mas/config.py` imports) may import besides pydantic.
SECTION_DEPS = {
    "crisis_mas.errors",
    "crisis_mas.paths",
    "crisis_mas.pool.types",
    "crisis_mas.textio",
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) for every import in the file, nested ones included."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.append((base, [a.name for a in node.names]))
    return found


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for mod, names in _imports(name, path):
            for target in [mod, *(f"{mod}.{n}" for n in names)]:
                if target in MODULES and target != name:
                    edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return out


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_cycles() -> None:
    # Function-level and TYPE_CHECKING imports count too: a lazy import is still a dependency.
    assert _cycles(_graph()) == []


def test_no_private_names_across_packages() -> None:
    bad = []
    for name, path in MODULES.items():
        for mod, names in _imports(name, path):
            if not mod.startswith("crisis_mas") or _layer(mod) == _layer(name):
                continue
            bad += [f"{name}: {mod}.{n}" for n in names if n.startswith("_") and n[:2] != "__"]
    assert bad == []


def test_config_sections_are_leaves() -> None:
    sections = {
        mod
        for mod, _ in _imports("crisis_mas.config", MODULES["crisis_mas.config"])
        if mod.startswith("crisis_mas.")
    } - SECTION_DEPS
    sections |= {m for m in MODULES if m.endswith(".config") and m != "crisis_mas.service.config"}
    assert sections, "crisis_mas/config.py assembles no section?"
    bad = []
    for sec in sorted(sections):
        for mod, _ in _imports(sec, MODULES[sec]):
            leaf = mod.endswith(".config") or mod in SECTION_DEPS  # a section of a section
            if mod.startswith("crisis_mas") and not leaf:
                bad.append(f"{sec} imports {mod}")
    assert bad == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    if lines > MAX_LINES:
        assert name in LONG_MODULES, f"{name} has {lines} lines: split it or state why"
