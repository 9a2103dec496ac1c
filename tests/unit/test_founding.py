"""The founding genesis (`clients/founding.py`, `gridctl ca init`, `gridctl genesis assemble`): what
each org hands over becomes one genesis the ledger imports, the same bytes whoever assembles it, and
every mistake a coordinator makes by hand is named before any node starts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abci_app.accounts import keeper as accounts
from abci_app.genesis import apply_genesis
from abci_app.identity import keeper as identity
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.store.state import CommittedState
from abci_app.types import BlockInfo, ValidatorUpdate
from clients.founding import FoundingError, assemble, genesis_bytes
from clients.pki import OrgCA, new_org_ca
from tests.support.gridctl import run_gridctl

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def _write_validator(folder: Path, name: str, *, power: int = 10) -> tuple[Path, bytes]:
    """A `gridctl node keys --json` answer for a fresh validator key (as the org hands it over)."""
    key = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    entry = {
        "address": hashlib.sha256(key).digest()[:20].hex().upper(),
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(key).decode()},
        "power": str(power),
        "name": name,
    }
    path = folder / f"{name}.validator.json"
    path.write_text(json.dumps({"node_id": "ab" * 20, "genesis_validator": entry}))
    return path, key


class Founders:
    """Three founding orgs' public material in a folder, and the founding file listing it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cas: dict[str, OrgCA] = {}
        self.members: dict[str, x509.Certificate] = {}
        self.validators: dict[str, bytes] = {}
        for org in ("utility", "gridop", "community"):
            ca = self.cas[org] = new_org_ca(org, name=f"{org} root CA", not_before=START)
            (folder / f"{org}.ca.pem").write_text(ca.cert_pem)
            for name, roles in (("admin", ["admin"]), ("staff", ["prosumer"] if org == "community" else ["auditor"])):
                cert = ca.issue(f"{name}.{org}", roles, not_before=START).cert
                self.members[f"{org}/{name}"] = cert
                (folder / f"{org}.{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            _path, self.validators[org] = _write_validator(folder, org)
        _path, self.validators["spare"] = _write_validator(folder, "spare")

    def write(self, *, orgs: tuple[str, ...] = ("utility", "gridop", "community"), extra: str = "") -> Path:
        caps = {"utility": '["issuer", "auditor"]', "gridop": '["operator", "auditor"]', "community": '["prosumer"]'}
        text = 'chain_id = "founding-test"\ngenesis_time = 2027-01-04T09:00:00Z\n'
        for org in orgs:
            text += f'[[org]]\nid = "{org}"\nname = "The {org}"\nca_cert = "{org}.ca.pem"\ncapabilities = {caps[org]}\n'
        for org in orgs:
            text += f'[[member]]\ncert = "{org}.admin.pem"\n'
            text += f'[[member]]\ncert = "{org}.staff.pem"\nbalance = {1000 if org == "community" else 0}\n'
        for org in (*orgs, "spare"):
            text += f'[[validator]]\nentry = "{org}.validator.json"\n'
        path = self.folder / "founding.toml"
        path.write_text(text + extra)
        return path


@pytest.fixture
def founders(tmp_path: Path) -> Founders:
    return Founders(tmp_path)


def test_the_founding_material_makes_a_genesis_the_ledger_imports(founders: Founders) -> None:
    """Orgs with their CAs and capabilities, the members (enrolled at genesis, with balances), four
    validators, and the ledger's own import takes it: the members are enrolled and funded."""
    founded = assemble(founders.write(), now=NOW)
    doc = founded.doc
    assert doc["chain_id"] == "founding-test"
    assert doc["genesis_time"] == "2027-01-04T09:00:00Z"
    assert [o["org_id"] for o in doc["app_state"]["orgs"]] == ["community", "gridop", "utility"]
    assert doc["app_state"]["orgs"][1]["capabilities"] == ["auditor", "operator"]
    assert len(doc["app_state"]["members"]) == 6
    assert founded.total_power == 40
    assert founded.warnings == ()  # 4 × 10: each below 40 ÷ 3 = 13
    keys = {base64.b64decode(v["pub_key"]["value"]) for v in doc["validators"]}
    assert keys == set(founders.validators.values())

    store = Branch(CommittedState(MemoryBackend())).branch()
    block = BlockInfo(doc["chain_id"], 1, int(NOW.timestamp()) * 1_000_000_000)
    validators = [ValidatorUpdate(k, 10) for k in sorted(keys)]
    apply_genesis(store, block, json.dumps(doc["app_state"]).encode(), validators)
    staff = founders.members["community/staff"]
    address = hashlib.sha256(
        staff.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).digest()[:20]
    member = identity.get_member(store, address)
    assert member is not None
    assert member.org_id == "community"
    assert accounts.balance(store, address) == 1000


def test_the_same_material_gives_the_same_bytes_in_any_order(founders: Founders, tmp_path: Path) -> None:
    """Two coordinators listing the orgs in another order get the same file, byte for byte."""
    one = genesis_bytes(assemble(founders.write(), now=NOW).doc)
    two = genesis_bytes(assemble(founders.write(orgs=("gridop", "community", "utility")), now=NOW).doc)
    assert one == two


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('[[member]]\ncert = "community.admin.pem"\n', "member[6]: the member"),  # listed twice
        ('[[org]]\nid = "gridop"\nca_cert = "gridop.ca.pem"\n', "org[3]: org 'gridop' is listed twice"),
        ('[[validator]]\nentry = "spare.validator.json"\n', "validator[4]: validator"),
        ('[[org]]\nid = "x"\nca_cert = "x.pem"\ncapabilites = ["issuer"]\n', "org[3]: unknown key(s) capabilites"),
        ('[[org]]\nid = "x"\nca_cert = "missing.pem"\n', "org[3]: cannot read"),
        ('[[org]]\nid = "x"\nca_cert = "utility.ca.pem"\n', "org[3]: the CA certificate is for O=['utility']"),
        ('[params]\n"market.rules_per_block" = 1.5\n', "params.market.rules_per_block: expected a whole number"),
        ('[[balance]]\naddress = "xyz"\namount = 5\n', "balance[0].address: expected 40 hex digits"),
        ('[[member]]\ncert = "gridop.staff.pem"\nbalance = -1\n', "member[6]"),
    ],
)
def test_mistakes_are_named_before_any_node_starts(founders: Founders, extra: str, named: str) -> None:
    with pytest.raises(FoundingError, match=None) as caught:
        assemble(founders.write(extra=extra), now=NOW)
    assert named in str(caught.value), str(caught.value)


def test_a_member_signed_by_another_orgs_ca_is_refused(founders: Founders) -> None:
    """A certificate naming O=gridop but signed by the utility's CA cannot enter as a gridop member."""
    forged = founders.cas["utility"].issue("intruder.gridop", ["operator"], org_override="gridop", not_before=START)
    (founders.folder / "forged.pem").write_text(forged.cert_pem)
    with pytest.raises(FoundingError, match=r"member\[6\]: the certificate is not signed by the root CA of 'gridop'"):
        assemble(founders.write(extra='[[member]]\ncert = "forged.pem"\n'), now=NOW)
    # and a member of an org that is not founding
    outsider = new_org_ca("outsiders", not_before=START).issue("eve.outsiders", ["prosumer"], not_before=START)
    (founders.folder / "outsider.pem").write_text(outsider.cert_pem)
    with pytest.raises(FoundingError, match=r"member\[6\]: the certificate's org \['outsiders'\] is not a founding"):
        assemble(founders.write(extra='[[member]]\ncert = "outsider.pem"\n'), now=NOW)


def test_bad_validator_entries_are_refused(founders: Founders) -> None:
    entry = json.loads((founders.folder / "spare.validator.json").read_text())["genesis_validator"]
    for change, named in (
        ({"address": "00" * 20}, "address does not belong to its pub_key"),
        ({"pub_key": {"type": "tendermint/PubKeySecp256k1", "value": entry["pub_key"]["value"]}}, "PubKeyEd25519"),
        ({"pub_key": {"type": "tendermint/PubKeyEd25519", "value": "AAAA"}}, "not 32 bytes"),
        ({"power": "0"}, "power 0 is not a whole number from 1"),
        ({"power": "ten"}, "power 'ten'"),
    ):
        (founders.folder / "spare.validator.json").write_text(json.dumps({**entry, **change}))
        with pytest.raises(FoundingError, match=None) as caught:
            assemble(founders.write(), now=NOW)
        assert str(caught.value).startswith("validator[3]: "), str(caught.value)
        assert named in str(caught.value), str(caught.value)


def test_a_dominant_validator_and_too_few_validators_are_warned_about(founders: Founders) -> None:
    """Three validators of 10: each holds 30 ÷ 3 = 10, so none would block-sync after falling
    behind, and three tolerate no faulty one; the genesis is still made (the consortium's call)."""
    text = founders.write().read_text().replace('[[validator]]\nentry = "spare.validator.json"\n', "")
    (founders.folder / "three.toml").write_text(text)
    founded = assemble(founders.folder / "three.toml", now=NOW)
    assert len(founded.doc["validators"]) == 3
    assert sum("at least a third" in w for w in founded.warnings) == 3
    assert any("3 validators tolerate no faulty one" in w for w in founded.warnings)


def test_genesis_time_needs_a_time_zone(founders: Founders) -> None:
    text = founders.write().read_text().replace("2027-01-04T09:00:00Z", "2027-01-04T09:00:00")
    (founders.folder / "naive.toml").write_text(text)
    with pytest.raises(FoundingError, match="genesis_time: give a time zone"):
        assemble(founders.folder / "naive.toml", now=NOW)
    text = founders.write().read_text().replace("genesis_time = 2027-01-04T09:00:00Z\n", "")
    (founders.folder / "now.toml").write_text(text)
    assert assemble(founders.folder / "now.toml", now=NOW + dt.timedelta(microseconds=7)).doc["genesis_time"] == (
        "2027-01-04T09:00:00Z"
    )


def test_gridctl_makes_a_ca_and_assembles_only_what_the_ledger_accepts(founders: Founders, tmp_path: Path) -> None:
    """`ca init` writes an owner-only key, refuses to overwrite it and refuses an org id the ledger
    would refuse; `genesis assemble` writes the
    file with its SHA-256, which `genesis check` of the received file repeats (a tampered one is
    refused); a parameter the ledger refuses (out of its governed range) leaves no file and says
    why."""
    made = run_gridctl("--json", "ca", "init", str(tmp_path / "ca"), "--org", "newco", "--name", "NewCo root CA")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    cert = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.cert.pem").read_bytes())
    assert shown["sha256"] == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key.pem").stat().st_mode) == 0o600
    again = run_gridctl("ca", "init", str(tmp_path / "ca"), "--org", "newco")
    assert again.returncode == 2
    assert "refusing to overwrite" in again.stderr
    for org in ("NewCo", "n", "new_co", "x" * 33):  # ids the ledger would refuse at genesis
        wrong = run_gridctl("ca", "init", str(tmp_path / "wrong"), "--org", org)
        assert wrong.returncode == 2, org
        assert "is not an org id" in wrong.stderr
    assert not (tmp_path / "wrong").exists()

    out = tmp_path / "genesis.json"
    done = run_gridctl("--json", "genesis", "assemble", str(founders.write()), "--out", str(out))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert answer["ledger_check"] == "genesis OK (3 orgs, 6 members, 4 validators)"
    assert sorted(answer["validators"]) == ["community", "gridop", "spare", "utility"]

    checked = run_gridctl("--json", "genesis", "check", str(out))
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["sha256"] == answer["sha256"]
    assert json.loads(checked.stdout)["ledger_check"] == answer["ledger_check"]
    tampered = json.loads(out.read_text())
    tampered["app_state"]["balances"][0]["amount"] = "-5"
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    refused_check = run_gridctl("genesis", "check", str(tmp_path / "tampered.json"))
    assert refused_check.returncode == 2
    assert "the ledger refuses this genesis" in refused_check.stderr

    bad = tmp_path / "bad.json"
    refused = run_gridctl(
        "genesis",
        "assemble",
        str(founders.write(extra='[params]\n"market.rules_per_block" = 50001\n')),
        "--out",
        str(bad),
    )
    assert refused.returncode == 2
    assert "the ledger refuses this genesis" in refused.stderr
    assert "market.rules_per_block" in refused.stderr
    assert not bad.exists()
