"""gridctl's trust anchor for --prove reads: a genesis file the user holds, a trusted height and
header hash, or (warned about) the genesis the node serves. Against the synthetic signed chain
of tests/unit/test_lightclient.py."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from clients import gridctl
from clients.cli_types import UsageError
from clients.client import GridClient
from clients.lightclient import LightClient, UntrustedHeaderError, header_hash
from clients.trust_anchor import NODE_GENESIS_WARNING, trust_anchor
from tests.unit.test_lightclient import CHAIN, GENESIS_TIME, A, B, FakeNode, _genesis


class GenesisServingNode(FakeNode):
    """The fake node, also answering `genesis` (with `served`) and `status`."""

    def __init__(self, height: int, sets: Any, served: dict[str, Any]) -> None:
        super().__init__(height, sets)
        self.served = served

    def call(self, method: str, **params: Any) -> Any:
        if method == "genesis":
            return {"genesis": self.served}
        return super().call(method, **params)

    def status(self) -> dict[str, Any]:
        return {"node_info": {"network": CHAIN}}


def _args(**kwargs: Any) -> argparse.Namespace:
    base: dict[str, Any] = {"genesis": None, "trusted_height": None, "trusted_hash": None, "chain_id": None}
    return argparse.Namespace(**{**base, **kwargs})


class ClockedLightClient(LightClient):
    """The synthetic chain's headers are a few seconds after GENESIS_TIME: that is 'now'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("clock", lambda: GENESIS_TIME + 100)
        super().__init__(*args, **kwargs)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clients.trust_anchor.LightClient", ClockedLightClient)


def test_genesis_file_anchor(tmp_path: Path) -> None:
    node = GenesisServingNode(10, lambda h: A, served=_genesis(B))  # the node serves a forged genesis
    held = tmp_path / "genesis.json"
    held.write_text(json.dumps(_genesis(A)))
    anchor = trust_anchor(node, _args(genesis=held))  # type: ignore[arg-type]
    assert anchor.kind == "genesis_file"
    assert "trust_warning" not in anchor.fields()
    assert anchor.light.verified_header(9).height == 9
    with pytest.raises(UsageError, match="not 'other-chain'"):
        trust_anchor(node, _args(genesis=held, chain_id="other-chain"))  # type: ignore[arg-type]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_genesis(B)))
    with pytest.raises(UntrustedHeaderError):
        trust_anchor(node, _args(genesis=forged)).light.verified_header(9)  # type: ignore[arg-type]


def test_trusted_hash_anchor() -> None:
    node = GenesisServingNode(20, lambda h: A, served=_genesis(A))
    good = header_hash(node.headers[10]).hex()
    anchor = trust_anchor(node, _args(trusted_height=10, trusted_hash=good))  # type: ignore[arg-type]
    assert (anchor.kind, anchor.detail) == ("trusted_hash", f"header 10 {good}")
    assert anchor.light.verified_header(18).height == 18
    assert anchor.light.verified_header(4).height == 4  # below the anchor: by last_block_id hashes
    with pytest.raises(UntrustedHeaderError, match="not the trusted one"):
        trust_anchor(node, _args(trusted_height=11, trusted_hash=good))  # type: ignore[arg-type]
    for bad in (_args(trusted_height=10), _args(trusted_hash=good), _args(trusted_height=10, trusted_hash="ab")):
        with pytest.raises(UsageError):
            trust_anchor(node, bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not both"):
        trust_anchor(node, _args(genesis=Path("g.json"), trusted_height=10, trusted_hash=good))  # type: ignore[arg-type]


def test_without_an_anchor_the_node_genesis_is_used_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    node = GenesisServingNode(10, lambda h: A, served=_genesis(A))
    anchor = trust_anchor(node, _args())  # type: ignore[arg-type]
    assert anchor.kind == "node_genesis"
    assert anchor.fields()["trust_warning"] == NODE_GENESIS_WARNING
    assert "warning:" in capsys.readouterr().err


@pytest.mark.parametrize("anchored", [True, False])
def test_gridctl_account_prove_uses_the_anchor(
    anchored: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gridctl --json [--genesis FILE] account ADDR --prove`: the proof is checked with the
    anchor's light client, and the answer says which anchor it was."""
    node = GenesisServingNode(10, lambda h: A, served=_genesis(A))
    monkeypatch.setattr("clients.cli_support.CometRPC", lambda url: node)
    used: list[Any] = []

    def proven_balance(self: GridClient, address: bytes, *, light: Any = None) -> int:
        used.append(light)
        return 42

    monkeypatch.setattr(GridClient, "proven_balance", proven_balance)
    held = tmp_path / "genesis.json"
    held.write_text(json.dumps(_genesis(A)))
    anchor_args = ["--genesis", str(held)] if anchored else []
    assert gridctl.main(["--json", "--chain-id", CHAIN, *anchor_args, "account", "ab" * 20, "--prove"]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["balance"] == 42
    assert used
    assert used[0] is not None
    if anchored:
        assert answer["trust_anchor"] == "genesis_file"
        assert "trust_warning" not in answer
        assert err == ""
    else:
        assert answer["trust_anchor"] == "node_genesis"
        assert answer["trust_warning"] == NODE_GENESIS_WARNING
        assert "warning:" in err
