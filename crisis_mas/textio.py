"""Reading untrusted text with its limits checked before any work: file size, UTF-8, nesting
depth, and YAML aliases bounded by what they expand to (a 763-byte "billion laughs" file
otherwise becomes gigabytes once its fields are copied or rendered).

Every refusal is an `InputError` naming the source and the limit (the CLI exits 2 on it, the
HTTP API answers 4xx). The checks are linear in the input: a YAML document's expanded size is
counted on the composed node graph (each anchored node once), JSON depth by one scan.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from crisis_mas.errors import InputError

MAX_FILE_BYTES = 4 * 1024 * 1024  # a scenario or config file; HTTP bodies have their own limit
MAX_DEPTH = 64  # nested lists/objects; real scenarios and configs use under 8
# Characters plus nodes a YAML document may expand to through aliases: the larger of this floor
# and EXPANSION_FACTOR times the text (a deploy file's one alias to its config doubles it).
MIN_EXPANSION = 1_000_000
EXPANSION_FACTOR = 4


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MiB"


def read_text_file(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 text file, refused (InputError) when missing, not a file, over `max_bytes` (checked
    before reading) or not valid UTF-8 (naming the byte offset)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{p}: {what} is {_mib(size)}, over the {_mib(max_bytes)} input limit for {what}s"
        )
    with p.open("rb") as f:
        raw = f.read(max_bytes + 1)  # a file growing meanwhile is still bounded
    if len(raw) > max_bytes:
        raise InputError(f"{p}: {what} is over the {_mib(max_bytes)} input limit for {what}s")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{p}: not UTF-8 text (invalid byte 0x{raw[err.start]:02x} at offset {err.start}); "
            "save the file as UTF-8"
        ) from None


# ---- YAML ----------------------------------------------------------------------------------
class _LimitExceeded(yaml.YAMLError):
    """Raised by the bounded loader; carries a message for the user."""


class BoundedSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses documents nested deeper than `max_depth` while composing
    (before anything is built) and documents whose aliases expand past `max_expansion`, or that
    refer to themselves, before constructing Python objects."""

    max_depth = MAX_DEPTH
    max_expansion = MIN_EXPANSION

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise _LimitExceeded(
                    f"nested more than {self.max_depth} levels deep (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Node) -> Any:
        expanded_size(node, self.max_expansion)
        return super().construct_document(node)


def expanded_size(root: Node, limit: int) -> int:
    """Nodes plus scalar characters of `root` with every alias expanded; raises when over
    `limit` or when a node contains itself. Linear in the composed graph (memoised per node)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            if isinstance(node, ScalarNode):
                size = 1 + len(node.value)
            elif isinstance(node, SequenceNode):
                size = 1 + sum(sizes[id(c)] for c in node.value)
            else:
                size = 1 + sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            if size > limit:
                raise _LimitExceeded(
                    f"aliases expand the document past {limit:,} characters "
                    "(a YAML alias bomb?); write the values out or drop the anchors"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in active:
            raise _LimitExceeded("an alias refers to a node that contains it (a cycle)")
        active.add(key)
        stack.append((node, True))
        if isinstance(node, SequenceNode):
            stack += [(c, False) for c in node.value if id(c) not in sizes]
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack += [(x, False) for x in (k, v) if id(x) not in sizes]
    return sizes[id(root)]


def parse_yaml(text: str, source: str = "YAML", max_depth: int = MAX_DEPTH) -> Any:
    """One YAML document with the depth and alias-expansion limits; InputError names the line."""
    limit = max(MIN_EXPANSION, EXPANSION_FACTOR * len(text))
    loader_cls = type(
        "_Loader", (BoundedSafeLoader,), {"max_depth": max_depth, "max_expansion": limit}
    )
    loader = loader_cls(text)
    try:
        return loader.get_single_data()
    except _LimitExceeded as err:
        raise InputError(f"{source}: refused: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or err
        raise InputError(f"{source}: malformed YAML{where}: {problem}") from None
    except RecursionError:  # belt and braces: composing is depth-limited above
        raise InputError(f"{source}: refused: nested too deeply") from None
    finally:
        loader.dispose()


# ---- JSON ----------------------------------------------------------------------------------
_JSON_TOKENS = re.compile(rb'[\[\]{}"]')
_JSON_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*+"', re.S)


def json_depth(data: bytes | str, stop_above: int | None = None) -> int:
    """How deeply a JSON text nests lists and objects (strings skipped), in one linear scan;
    stops counting once past `stop_above`. Unbalanced or unterminated input is left for the
    parser to report."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = deepest = pos = 0
    while True:
        m = _JSON_TOKENS.search(raw, pos)
        if m is None:
            return deepest
        c = m.group()
        if c == b'"':
            end = _JSON_STRING_REST.match(raw, m.end())
            if end is None:
                return deepest
            pos = end.end()
            continue
        pos = m.end()
        if c in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        else:
            depth -= 1


def check_json_depth(data: bytes | str, source: str, max_depth: int = MAX_DEPTH) -> None:
    if json_depth(data, stop_above=max_depth) > max_depth:
        raise InputError(f"{source}: refused: nested more than {max_depth} levels deep")


def parse_json(text: str, source: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """A JSON document with the depth limit checked before parsing; InputError names the line."""
    check_json_depth(text, source, max_depth)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{source}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise InputError(f"{source}: refused: nested too deeply") from None


def load_structured_file(
    path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES
) -> Any:
    """A .json file as JSON, anything else as YAML, with every limit above."""
    p = Path(path)
    text = read_text_file(p, what, max_bytes)
    if p.suffix.lower() == ".json":
        return parse_json(text, str(p))
    return parse_yaml(text, str(p))
