"""The client side sits outside the server's house: clients/ and devices/ import nothing from abci_app/.

What both sides must agree on byte for byte lives in `gridwire` (proto/gridwire/), which both import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SIDE = ("clients", "devices")
FORBIDDEN = "abci_app"


def forbidden_imports(source: str, origin: str) -> list[str]:
    """Every `import abci_app…` / `from abci_app… import` in `source` (also inside functions and
    `if TYPE_CHECKING:` blocks), as "origin:line: module"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [f"{origin}:{node.lineno}: {n}" for n in names if n.split(".")[0] == FORBIDDEN]
    return found


@pytest.mark.parametrize("package", CLIENT_SIDE)
def test_client_side_never_imports_abci_app(package: str) -> None:
    """Every module under clients/ and devices/ is free of `abci_app` imports."""
    files = sorted((ROOT / package).rglob("*.py"))
    assert len(files) > 10
    offenders = [hit for path in files for hit in forbidden_imports(path.read_text(), str(path.relative_to(ROOT)))]
    assert offenders == []


def test_the_scan_catches_every_form() -> None:
    """The scan finds top-level, nested, aliased and dotted imports, and ignores look-alikes."""
    source = (
        "import abci_app\n"
        "import os, abci_app.crypto as c\n"
        "from abci_app.params import Params\n"
        "def f():\n"
        "    from abci_app import errors\n"
        "import abci_application\n"
        "from .abci_app import x\n"
        "x = 'abci_app'\n"
    )
    hits = forbidden_imports(source, "m.py")
    assert hits == ["m.py:1: abci_app", "m.py:2: abci_app.crypto", "m.py:3: abci_app.params", "m.py:5: abci_app"]


def test_gridwire_is_shared_not_server_side() -> None:
    """gridwire itself imports nothing from abci_app either (it is the shared floor)."""
    files = sorted((ROOT / "proto" / "gridwire").rglob("*.py"))
    assert files
    assert [hit for p in files for hit in forbidden_imports(p.read_text(), p.name)] == []
