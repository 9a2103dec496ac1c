"""Public functions and classes of the devices and grid domains say in a docstring what they guarantee."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = ("devices", "grid")  # the other domains follow as their docstrings are written


def undocumented(path: Path) -> list[str]:
    """Module-level public functions and classes of `path` without a docstring."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.name}:{node.lineno} {node.name}"
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not node.name.startswith("_")
        and ast.get_docstring(node) is None
    ]


@pytest.mark.parametrize("domain", DOCUMENTED)
def test_public_definitions_are_documented(domain: str) -> None:
    """Every public module-level function and class of the domain's folder has a docstring."""
    files = sorted((ROOT / "abci_app" / domain).glob("*.py"))
    assert files
    assert [hit for p in files for hit in undocumented(p)] == []


def test_the_check_finds_a_missing_docstring(tmp_path: Path) -> None:
    """The check reports a public function without a docstring and passes private and documented ones."""
    src = tmp_path / "m.py"
    src.write_text(
        'def a() -> None:\n    pass\n\n\ndef _b() -> None:\n    pass\n\n\ndef c() -> None:\n    """Doc."""\n'
    )
    assert undocumented(src) == ["m.py:1 a"]
