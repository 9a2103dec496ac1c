"""Same blocks in, same app hash out: replays in fresh processes with different hash seeds, timezones and locales."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from google.protobuf import any_pb2
from google.protobuf.message import Message
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.accounts.errors import AccountsCode
from abci_app.errors import Code
from abci_app.governance.errors import GovernanceCode
from clients.ops.consortium import Consortium
from clients.pki import new_org_ca
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.replay import Recording, replay
from tests.unit.helpers import burn, mint, signed, submit, transfer, vote

REPO = Path(__file__).resolve().parents[2]
ORGS = ("utility", "gridop", "certissuer", "community-a", "community-b")
WEEK = 7 * 24 * 3600
ENVIRONMENTS = [
    {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C"},
    {"PYTHONHASHSEED": "1", "TZ": "America/New_York", "LC_ALL": "C.UTF-8"},
    {"PYTHONHASHSEED": "12345", "TZ": "Asia/Kathmandu", "LC_ALL": "POSIX"},
    {"PYTHONHASHSEED": "random", "TZ": "Pacific/Chatham", "LC_ALL": "en_US.UTF-8"},
]


def _record(consortium: Consortium) -> tuple[Recording, list[dict[str, object]]]:
    """Run a varied chain in-process (forcing every tx into its block) and record it."""
    d = AppDriver(consortium)
    m = consortium.member
    alice, bob, carol, dave = (
        m(r) for r in ("community-a/alice", "community-a/bob", "community-b/carol", "community-b/dave")
    )
    treasury = m("utility/treasury")
    blocks: list[tuple[int, tuple[bytes, ...]]] = []
    expected: list[dict[str, object]] = [{"height": 0, "app_hash": d.genesis_hash.hex(), "codes": []}]

    def block(*txs: bytes, seconds: int = 1) -> tuple[int, ...]:
        result = d.block(list(txs), check=False, seconds=seconds)
        blocks.append((d.time, tuple(txs)))
        expected.append({"height": d.height, "app_hash": result.app_hash.hex(), "codes": list(result.codes)})
        return result.codes

    def admin(org: str, *msgs: Message) -> bytes:
        return signed(d, m(f"{org}/admin"), *msgs)

    block()
    paid = signed(d, alice, transfer(bob, 1_000))
    forged = bytearray(signed(d, carol, transfer(dave, 5)))
    forged[-1] ^= 1
    codes = block(
        paid,
        signed(d, carol, transfer(dave, 250), memo="wind → sun"),
        signed(d, bob, transfer(alice, 10**9)),
        bytes(forged),
        b"\x00garbage\xff",
        signed(d, dave),
        signed(d, alice, any_pb2.Any()),
    )
    assert codes == (
        0,
        0,
        AccountsCode.INSUFFICIENT_FUNDS,
        Code.BAD_SIGNATURE,
        Code.TX_MALFORMED,
        Code.NO_MESSAGES,
        Code.UNKNOWN_MESSAGE,
    )
    assert block(paid, signed(d, treasury, mint(carol, 5_000), burn(300))) == (Code.NONCE_TOO_LOW, 0)
    assert block(signed(d, alice, mint(alice, 1))) == (Code.UNAUTHORIZED,)

    # Governance: admit an org (its admin then enrols), change a parameter, reject one, expire one.
    ca = new_org_ca("community-c")
    new_admin = ca.issue("admin.community-c", ["admin"])
    admit = governance_pb2.AdmitOrg(org_id="community-c", name="Community C", root_ca_der=ca.cert_der)
    assert block(admin("utility", submit("admit C", admit_org=admit))) == (0,)
    assert block(*(admin(org, vote(1)) for org in ORGS[:4])) == (0, 0, 0, 0)
    enrol = identity_pb2.EnrollMember(certificate_der=new_admin.cert_der)
    assert block(signed(d, new_admin, enrol), admin("utility", vote(1))) == (0, GovernanceCode.PROPOSAL_CLOSED)
    param = governance_pb2.ChangeParam(name="max_memo_bytes", value=8)
    validator = governance_pb2.UpdateValidator(pub_key_ed25519=b"\x07" * 32, power=3)
    assert block(
        admin("gridop", submit("memo", change_param=param)),
        admin("community-a", submit("validator", update_validator=validator)),
        admin("community-b", submit("doomed", remove_org=governance_pb2.RemoveOrg(org_id="gridop"))),
    ) == (0, 0, 0)
    yes = [*ORGS, "community-c"]
    assert block(*(signed(d, new_admin if org == "community-c" else m(f"{org}/admin"), vote(2)) for org in yes)) == (
        0,
        0,
        0,
        0,
        0,
        GovernanceCode.PROPOSAL_CLOSED,
    )
    assert block(admin("gridop", vote(4, False)), admin("utility", vote(4, False)), admin("certissuer", vote(4))) == (
        0,
        0,
        GovernanceCode.PROPOSAL_CLOSED,
    )
    assert block(signed(d, alice, transfer(bob, 1), memo="too long for 8")) == (Code.MEMO_TOO_LONG,)
    revoke = identity_pb2.RevokeMember(member=bob.address, reason="test")
    assert block(admin("community-a", revoke), signed(d, bob, transfer(alice, 1))) == (0, Code.MEMBER_REVOKED)
    assert block(admin("certissuer", vote(3))) == (0,)
    block(seconds=WEEK)  # proposal 3 (validator) expires
    assert block(admin("gridop", vote(3))) == (GovernanceCode.PROPOSAL_CLOSED,)
    for i in range(5):
        assert block(signed(d, carol, transfer(alice, 17 + i)), signed(d, dave, transfer(carol, 3 * i + 1))) == (0, 0)

    rec = Recording(
        chain_id=d.chain_id,
        genesis_time=GENESIS_TIME,
        app_state=consortium.app_state(),
        validators=((b"\x01" * 32, 10),),
        blocks=tuple(blocks),
    )
    return rec, expected


def test_replay_in_process_matches_the_recording(consortium: Consortium) -> None:
    """Replaying the recording through a fresh app gives the recorded app hash and tx codes at every height."""
    rec, expected = _record(consortium)
    assert replay(rec) == expected
    assert len({e["app_hash"] for e in expected}) == len(expected)  # every block changed the state


def test_app_hash_independent_of_hash_seed_timezone_and_locale(tmp_path: Path, consortium: Consortium) -> None:
    """Fresh processes with different PYTHONHASHSEED, TZ and LC_ALL reach identical app hashes at every height."""
    rec, expected = _record(consortium)
    path = tmp_path / "recording.json"
    rec.save(path)
    assert Recording.load(path) == rec
    procs = []
    for extra in ENVIRONMENTS:
        env = {**os.environ, **extra}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.replay", str(path)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)  # a guard against a hang, not a speed check
            assert proc.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for env, got in zip(ENVIRONMENTS, outputs, strict=True):
        assert got == expected, env
