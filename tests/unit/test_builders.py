"""Message builders follow one convention: clients/<domain>.py builds every message its domain registers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from abci_app.domain import Domain
from abci_app.registry import DOMAINS

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_NAMES = {spec.proto.DESCRIPTOR.name for d in DOMAINS for spec in d.messages}


def _constructed(path: Path) -> set[str]:
    """Names of registered messages constructed in `path` (`x_pb2.Name(...)` or `Name(...)`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in MESSAGE_NAMES:
                found.add(name)
    return found


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_each_domain_has_its_builder_module(domain: Domain) -> None:
    """clients/<domain>.py exists and builds every message type the domain registers."""
    module = ROOT / "clients" / f"{domain.name}.py"
    assert module.exists()
    assert {spec.proto.DESCRIPTOR.name for spec in domain.messages} <= _constructed(module)


def test_commands_and_the_client_build_no_message_themselves() -> None:
    """gridctl's commands and the client library call the builders instead of constructing messages."""
    files = [*sorted((ROOT / "clients" / "commands").glob("*.py")), ROOT / "clients" / "client.py"]
    assert {str(p.relative_to(ROOT)): sorted(_constructed(p)) for p in files if _constructed(p)} == {}
