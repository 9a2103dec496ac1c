"""The import structure of the source tree: no circles between modules, and the layers point one way.

Read with the stdlib `ast` over the source (nothing is imported): every `import` and `from ... import`
in a module counts, also those inside functions or under `TYPE_CHECKING`, since a circle through a
lazy import is still a circle to a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# package folder -> the directory its import name is rooted in (proto/ is on the path for gridwire)
PACKAGES = {"abci_app": ROOT, "clients": ROOT, "devices": ROOT, "gridwire": ROOT / "proto"}


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, base in PACKAGES.items():
        for path in sorted((base / package).rglob("*.py")):
            found[_module_name(path, base)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path, tree: ast.Module) -> Iterator[str]:
    """The tree's modules that `name` (at `path`) imports, resolved to the longest known module."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            parts = target.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in MODULES and candidate != name:
                    yield candidate
                    break


def _graph() -> dict[str, set[str]]:
    return {name: set(_imported(name, path, ast.parse(path.read_text(), str(path)))) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


GRAPH = _graph()


def test_the_walk_sees_the_tree() -> None:
    """The walk finds the known modules and the imports between them (a broken walk would pass the rest)."""
    assert "clients.servers.server" in GRAPH
    assert "clients.servers.bridge" in GRAPH["clients.servers.server"]
    assert "gridwire.proof" in GRAPH["abci_app.store.commitment"]


def test_no_import_circles() -> None:
    """No two modules of abci_app, clients, devices or gridwire import each other, directly or round a circle."""
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    """The circle finder reports a three-module circle and leaves the module outside it out."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def _crossings(source: str, targets: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted(
        (name, imported)
        for name, imports in GRAPH.items()
        if name.split(".")[0] == source
        for imported in imports
        if imported.split(".")[0] in targets
    )


def test_the_ledger_imports_no_client() -> None:
    """abci_app (the validator) imports nothing from clients or devices."""
    assert _crossings("abci_app", ("clients", "devices")) == []


def test_the_wire_package_stands_alone() -> None:
    """gridwire, shared by the ledger and its clients, imports none of them (clients/ and devices/
    importing nothing of abci_app is tests/unit/test_layering.py)."""
    assert _crossings("gridwire", ("abci_app", "clients", "devices")) == []


def test_only_ops_imports_the_servers() -> None:
    """Of the client side, only the servers package itself and ops tooling import clients.servers."""
    importers = sorted(
        name
        for name, imports in GRAPH.items()
        if any(i.startswith("clients.servers") for i in imports)
        and not name.startswith(("clients.servers", "clients.ops"))
    )
    assert importers == []


def test_only_ops_drives_the_devices() -> None:
    """Of clients/, only ops tooling (the demo runs gateways and simulators) imports devices/."""
    assert sorted({name for name, _ in _crossings("clients", ("devices",)) if not name.startswith("clients.ops")}) == []


def test_nothing_but_ops_imports_ops() -> None:
    """Ops tooling sits on top: the CLI, the client library and the servers import nothing of clients.ops."""
    importers = sorted(
        name
        for name, imports in GRAPH.items()
        if any(i.startswith("clients.ops") for i in imports) and not name.startswith("clients.ops")
    )
    assert importers == []
