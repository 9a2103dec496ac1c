"""devices/ imports nothing from abci_app."""

import ast
from pathlib import Path

DEVICES = Path(__file__).resolve().parents[2] / "devices"


def test_devices_never_import_abci_app():
    """Every module under devices/ is free of `abci_app` imports."""
    offenders = []
    files = sorted(DEVICES.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "abci_app"]
    assert offenders == []
