"""The client side of the device trust chain: the test device CA travels with a saved
consortium and into genesis, and gridctl issues a device certificate the ledger accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from abci_app.devices.devcert import parse_device_cert
from clients import devices as dc
from clients.cli_support import Context
from clients.commands.devices import _device_cert
from clients.gridctl import build_parser
from clients.ops.consortium import TEST_DEVICE_CA, Consortium


def test_a_saved_consortium_keeps_its_device_ca_and_genesis_admits_it(consortium: Consortium, tmp_path: Path) -> None:
    """Saving and loading a consortium keeps the test device CA (key and certificate), and its
    genesis app_state carries it as a device_cas entry."""
    consortium.save(tmp_path)
    loaded = Consortium.load(tmp_path)
    assert loaded.device_ca().cert_der == consortium.device_ca().cert_der
    assert loaded.device_ca().key.private_bytes_raw() == consortium.device_ca().key.private_bytes_raw()
    (entry,) = consortium.app_state()["device_cas"]
    assert (entry["ca_id"], entry["org_id"]) == (TEST_DEVICE_CA, "")
    assert entry["ca_pem"] == consortium.device_ca().cert_pem


def _args(home: Path, *extra: str) -> tuple[Context, object]:
    argv = ["--home", str(home), "--as", "community-a/alice", "device", "register", "pv-9", "--site", "s", "--kind"]
    args = build_parser().parse_args([*argv, "pv", "--public-key", "00" * 32, "--nameplate-w", "4000", *extra])
    return Context(args), args


def test_gridctl_issues_a_certificate_from_the_localnets_device_ca(consortium: Consortium, tmp_path: Path) -> None:
    """Without --device-cert, gridctl issues the certificate from the localnet's test device CA,
    binding the device's key, id, kind and nameplate; --uncertified sends none."""
    consortium.save(tmp_path / "consortium")
    key = Ed25519PrivateKey.generate()
    public = dc.device_public_key(key)
    ctx, args = _args(tmp_path)
    der = _device_cert(ctx, args, "pv-9", "pv", public, 4_000)  # type: ignore[arg-type]
    cert = parse_device_cert(der)
    assert (cert.public_key, cert.device_serial, cert.kind, cert.nameplate_w) == (public, "pv-9", 2, 4_000)
    ctx, args = _args(tmp_path, "--uncertified")
    assert _device_cert(ctx, args, "pv-9", "pv", public, 4_000) == b""  # type: ignore[arg-type]


def test_gridctl_reads_a_given_certificate_and_refuses_a_home_without_a_ca(
    consortium: Consortium, tmp_path: Path
) -> None:
    """--device-cert FILE is sent as DER whether the file is PEM or DER; with neither a file nor a
    device CA in the home, gridctl stops and says what to give."""
    public = dc.device_public_key(Ed25519PrivateKey.generate())
    der = consortium.device_ca().issue_device_cert("pv-9", "pv", public, 4_000)
    (tmp_path / "c.der").write_bytes(der)
    ctx, args = _args(tmp_path, "--device-cert", str(tmp_path / "c.der"))
    assert _device_cert(ctx, args, "pv-9", "pv", public, 4_000) == der  # type: ignore[arg-type]
    ctx, args = _args(tmp_path / "empty")
    with pytest.raises(SystemExit, match="--device-cert FILE, or --uncertified"):
        _device_cert(ctx, args, "pv-9", "pv", public, 4_000)  # type: ignore[arg-type]
