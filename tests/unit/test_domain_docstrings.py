"""Public functions, classes and methods of every domain say in a docstring what they guarantee."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = sorted(p.parent.name for p in (ROOT / "abci_app").glob("*/domain.py"))


def undocumented(path: Path) -> list[str]:
    """Public module-level functions and classes of `path`, and public methods of its public
    classes, without a docstring."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_"):
                continue
            if ast.get_docstring(node) is None:
                found.append(f"{path.name}:{node.lineno} {prefix}{node.name}")
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def test_every_domain_is_checked() -> None:
    """The check finds the domains by their domain.py (so a new domain is checked too)."""
    assert {"accounts", "certificates", "devices", "grid", "market"} <= set(DOMAINS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_public_definitions_are_documented(domain: str) -> None:
    """Every public function, class and method in the domain's folder has a docstring."""
    files = sorted((ROOT / "abci_app" / domain).glob("*.py"))
    assert files
    assert [hit for p in files for hit in undocumented(p)] == []


def test_the_check_finds_a_missing_docstring(tmp_path: Path) -> None:
    """The check reports a public function or method without a docstring and passes private and documented ones."""
    src = tmp_path / "m.py"
    src.write_text(
        'def a() -> None:\n    pass\n\n\ndef _b() -> None:\n    pass\n\n\ndef c() -> None:\n    """Doc."""\n\n\n'
        'class D:\n    """Doc."""\n\n    def e(self) -> None:\n        pass\n\n'
        "    def _f(self) -> None:\n        pass\n"
    )
    assert undocumented(src) == ["m.py:1 a", "m.py:16 D.e"]
