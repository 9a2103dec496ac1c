"""Properties of the device certificate profile: the extension's encoding is canonical and
round-trips, and no bytes (random, or a good certificate with one byte changed) make the
ledger's check do anything but accept or refuse with a devices code."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridwire.devicecert import decode_device_profile, encode_device_profile
from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.devices.devcert import verify_device_cert
from abci_app.devices.errors import DevicesCode
from abci_app.errors import TxError
from abci_app.identity import keeper
from abci_app.identity.records import DeviceCa
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from clients import devices as dc
from clients.pki import DeviceCA, new_device_ca

NOW = 1_767_225_600
U63 = st.integers(0, (1 << 63) - 1)


@given(kind=U63, nameplate=U63)
def test_the_profile_round_trips(kind: int, nameplate: int) -> None:
    """Every (kind, nameplate) decodes back from its encoding."""
    assert decode_device_profile(encode_device_profile(kind, nameplate)) == (kind, nameplate)


@given(raw=st.binary(max_size=24))
def test_only_canonical_profiles_decode(raw: bytes) -> None:
    """Bytes decode only if they are exactly the canonical encoding of what they decode to."""
    decoded = decode_device_profile(raw)
    if decoded is not None:
        assert encode_device_profile(*decoded) == raw


@functools.cache
def _setup() -> tuple[Branch, DeviceCA, bytes, bytes]:
    store = Branch(MemoryBackend())
    ca = new_device_ca("t")
    keeper.put_device_ca(store, DeviceCa("t", "t", "", ca.cert_der, NOW, 0))
    public = dc.device_public_key(Ed25519PrivateKey.generate())
    return store, ca, public, ca.issue_device_cert("pv-1", "pv", public, 5_000)


CERT_CODES = {c for c in DevicesCode if 129 <= c <= 136}


@settings(max_examples=300)
@given(data=st.data())
def test_a_changed_byte_is_refused_or_harmless(data: st.DataObject) -> None:
    """A good certificate with one byte changed is either refused with a certificate code or
    (a change the profile does not read) still certifies exactly the same device."""
    store, _ca, public, good = _setup()
    at = data.draw(st.integers(0, len(good) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != good[at]))
    bad = good[:at] + bytes([value]) + good[at + 1 :]
    code = 0
    try:
        verify_device_cert(store, bad, "pv-1", 2, public, 5_000, NOW)
    except TxError as exc:
        code = exc.code
    assert code == 0 or code in CERT_CODES
    # and the original still verifies
    assert verify_device_cert(store, good, "pv-1", 2, public, 5_000, NOW).ca_id == "t"


@given(raw=st.binary(max_size=600))
def test_random_bytes_are_refused_as_invalid(raw: bytes) -> None:
    """Random bytes are never a device certificate: DEVICE_CERT_INVALID, never a crash."""
    store, _ca, public, _good = _setup()
    with pytest.raises(TxError) as refused:
        verify_device_cert(store, raw, "pv-1", 2, public, 5_000, NOW)
    assert refused.value.code in CERT_CODES
