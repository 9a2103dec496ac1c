"""Key and certificate management for members and devices, on the client only.

Private keys are generated here and written to owner-only PEM files; they never leave the
client. A member sends its CSR (public key, org, name, roles) to its org's CA, the CA signs a
member certificate in the MSP style of `clients.pki` (subject O=<org>, CN=<name>, one OU per
role), and the member enrols it on the ledger with `gridctl enroll`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from gridwire.address import address_of

from clients.pki import DEFAULT_VALIDITY, OrgCA

__all__ = ["CsrError", "create_csr", "generate_key", "load_ca", "member_address", "public_raw", "sign_csr"]


class CsrError(ValueError):
    """A CSR the CA must not sign."""


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte Ed25519 public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_key(out: Path, *, overwrite: bool = False) -> Ed25519PrivateKey:
    """A new Ed25519 key written to `out` as unencrypted PKCS#8 PEM readable by its owner only.
    Refuses to replace an existing file unless `overwrite`."""
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600, exist_ok=True)
    out.chmod(0o600)
    out.write_bytes(pem)
    return key


def create_csr(key: Ed25519PrivateKey, org_id: str, name: str, roles: list[str]) -> x509.CertificateSigningRequest:
    """A CSR for a member certificate: subject O=org_id, CN=name, one OU per role, signed by `key`."""
    attrs = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_id),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r) for r in roles),
    ]
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs)).sign(key, algorithm=None)


def load_ca(ca_dir: Path) -> OrgCA:
    """The org CA in `ca_dir` (ca.key.pem, ca.cert.pem); its org is its certificate's O."""
    cert = x509.load_pem_x509_certificate((ca_dir / "ca.cert.pem").read_bytes())
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not orgs:
        raise CsrError(f"{ca_dir}/ca.cert.pem names no organisation")
    return OrgCA.load(ca_dir, str(orgs[0].value))


def sign_csr(
    ca: OrgCA,
    csr: x509.CertificateSigningRequest,
    *,
    now: dt.datetime | None = None,
    validity: dt.timedelta | None = None,
) -> x509.Certificate:
    """The member certificate the CA issues for `csr`. Guarantees: the CSR's signature is
    valid, its key is Ed25519, its subject names the CA's own org and a name; the certificate
    carries the CSR's subject (O, CN, role OUs) and key, is not a CA, and is valid from `now`
    (default: the current time minus a day, for clock skew) for `validity` (default 10 years)."""
    if not csr.is_signature_valid:
        raise CsrError("the CSR's signature does not verify")
    public = csr.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise CsrError("member keys are Ed25519")
    orgs = csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [str(o.value) for o in orgs] != [ca.org_id]:
        raise CsrError(f"the CSR names org {[o.value for o in orgs]}, this CA signs for {ca.org_id!r} only")
    if len(names) != 1 or not str(names[0].value):
        raise CsrError("the CSR must name the member (one CN)")
    start = now or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + (validity or DEFAULT_VALIDITY))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, algorithm=None)
    )


def member_address(cert: x509.Certificate) -> bytes:
    """The ledger address of a certificate's key."""
    public = cert.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise CsrError("member keys are Ed25519")
    return address_of(public_raw(public))
