"""gridctl against a real one-validator chain: transfers, proofs, governance, clear failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from clients.gridctl import main as gridctl
from clients.ops.localnet import Localnet, free_base_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    home = tmp_path_factory.mktemp("gridctl") / "net"
    localnet = Localnet(home, n=1, base_port=free_base_port(1), timeout_commit="200ms")
    localnet.init(params={"voting_period_seconds": 600})
    try:
        localnet.start()
        localnet.wait_height(2, timeout=60)
        yield localnet
    finally:
        localnet.stop()


def run(net: Localnet, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = gridctl(["--json", "--node", f"http://127.0.0.1:{net.ports(0).rpc}", "--home", str(net.home), *args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def test_transfer_then_proven_balance(net: Localnet, capsys: pytest.CaptureFixture[str]) -> None:
    """A transfer commits and the recipient's balance, verified by Merkle proof, reflects it."""
    _, before, _ = run(net, capsys, "account", "community-b/dave")
    code, result, err = run(net, capsys, "--as", "community-a/bob", "transfer", "community-b/dave", "321")
    assert code == 0, err
    assert result["code"] == 0
    assert result["height"] > 0
    genesis = net.node_home(0) / "config" / "genesis.json"
    code, proven, _ = run(net, capsys, "--genesis", str(genesis), "account", "community-b/dave", "--prove")
    assert code == 0
    assert proven["trust_anchor"] == "genesis_file"
    assert "trust_warning" not in proven
    expected = {"address": before["address"], "balance": before["balance"] + 321, "proof": "verified"}
    assert {k: proven[k] for k in expected} == expected
    # without an anchor of one's own the answer says that it trusted the node's genesis
    code, unanchored, _ = run(net, capsys, "account", "community-b/dave", "--prove")
    assert code == 0
    assert (unanchored["trust_anchor"], unanchored["balance"]) == ("node_genesis", expected["balance"])
    assert "trust_warning" in unanchored
    _, sender, _ = run(net, capsys, "account", "community-a/bob")
    assert sender["nonce"] >= 1


def test_unauthorised_mint_fails_with_code_and_exit_status(net: Localnet, capsys: pytest.CaptureFixture[str]) -> None:
    """A prosumer cannot mint: gridctl exits 2 and names the error code and reason."""
    code, _, err = run(net, capsys, "--as", "community-a/alice", "mint", "community-a/alice", "5")
    assert code == 2
    assert "code 14 (UNAUTHORIZED)" in err
    assert "issuer role" in err


def test_param_proposal_passes_with_votes_of_four_orgs(net: Localnet, capsys: pytest.CaptureFixture[str]) -> None:
    """A parameter change proposed and voted by 4 of 5 org admins passes and takes effect."""
    code, _, err = run(
        net, capsys, "--as", "utility/admin", "propose", "param", "--name", "max_memo_bytes", "--value", "99"
    )
    assert code == 0, err
    _, proposals, _ = run(net, capsys, "proposals")
    pid = max(p["id"] for p in proposals)
    for org in ["utility", "gridop", "certissuer"]:
        assert run(net, capsys, "--as", f"{org}/admin", "vote", str(pid), "yes")[0] == 0
    _, still_open, _ = run(net, capsys, "proposals", "--id", str(pid))
    assert still_open[0]["status"] == "PROPOSAL_STATUS_VOTING"  # 3 of 5 is not more than 2/3
    assert run(net, capsys, "--as", "community-a/admin", "vote", str(pid), "yes")[0] == 0
    _, passed, _ = run(net, capsys, "proposals", "--id", str(pid))
    assert passed[0]["status"] == "PROPOSAL_STATUS_PASSED"
    _, params, _ = run(net, capsys, "params")
    assert params["max_memo_bytes"] == 99


def test_bad_address_is_a_clear_error(net: Localnet, capsys: pytest.CaptureFixture[str]) -> None:
    """An address that is neither hex nor ORG/NAME is refused before anything is sent: one
    line, exit 2, no traceback."""
    code, _, err = run(net, capsys, "account", "not-an-address")
    assert code == 2
    assert "neither a hex address" in err
    assert "Traceback" not in err
