"""The client side of a bridge connection: plaintext, TLS, or TLS with member authentication.

A bridge started with `--tls-cert/--tls-key` speaks TLS only; the client verifies its
certificate against `ca_pem` (the CA that issued it, or the bridge's self-signed certificate).
With `--member-auth` every call must also carry the member's certificate and a signature bound
to the bridge's certificate (`clients.member_auth`): `bridge_credentials` adds those per-call
credentials when given the member's key and certificate. The bridge's certificate (what the
signature binds to) is fetched by a TLS handshake verified against the same `ca_pem` when the
first call needs it (or given as `server_cert_der`), so a client starts while the bridge is
down and its calls fail UNAVAILABLE until it is up.

    creds = bridge_credentials("bridge.example:26659", ca_pem=ca, member_key=key, member_cert_der=cert)
    channel = grpc.secure_channel("bridge.example:26659", creds)
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc

from clients.member_auth import ReadGrants, member_call_credentials

__all__ = ["bridge_credentials", "bridge_server_certificate", "load_certificate_der", "split_target"]


def split_target(target: str) -> tuple[str, int]:
    """HOST and PORT of a gRPC target `HOST:PORT` (`[v6]:PORT` too)."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"bridge target {target!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def load_certificate_der(path: str | Path) -> bytes:
    """The (first) certificate in a PEM or DER file, as DER."""
    raw = Path(path).read_bytes()
    cert = x509.load_pem_x509_certificate(raw) if b"-----BEGIN" in raw else x509.load_der_x509_certificate(raw)
    return cert.public_bytes(Encoding.DER)


def bridge_server_certificate(target: str, ca_pem: bytes, *, timeout: float = 10.0) -> bytes:
    """The bridge's TLS certificate (DER), from a handshake that verifies it against `ca_pem`
    and the target's host name or IP address, as gRPC does; raises OSError (ssl.SSLError) otherwise."""
    host, port = split_target(target)
    context = ssl.create_default_context(cadata=ca_pem.decode())
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the bridge presented no certificate")
    return der


def bridge_credentials(
    target: str,
    *,
    ca_pem: bytes,
    member_key: Ed25519PrivateKey | None = None,
    member_cert_der: bytes | None = None,
    server_cert_der: bytes | None = None,
) -> grpc.ChannelCredentials:
    """Channel credentials for a TLS bridge at `target` whose certificate `ca_pem` vouches for,
    with member authentication on every call when `member_key` and `member_cert_der` are given
    (the signature is bound to `server_cert_der`, or to the certificate the bridge presents). Calls
    then also carry the member's read grant for the bridge's read key (asked by Bridge.Status when
    first needed, renewed before it expires), so the bridge's typed reads of the member's own data
    work against a node that keeps households' data private."""
    tls = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    if member_key is None and member_cert_der is None:
        return tls
    if member_key is None or member_cert_der is None:
        raise ValueError("member authentication needs both the member's key and its certificate")
    server: bytes | Callable[[], bytes] = (
        server_cert_der if server_cert_der is not None else (lambda: bridge_server_certificate(target, ca_pem))
    )
    signer = member_call_credentials(member_key, member_cert_der, server)
    cert_der, key = member_cert_der, member_key

    def bridge_info() -> tuple[str, bytes]:
        """The bridge's chain id and read key, from Bridge.Status (authenticated, without a grant)."""
        with grpc.secure_channel(target, grpc.composite_channel_credentials(tls, signer)) as channel:
            status = bridge_pb2_grpc.BridgeStub(channel).Status(bridge_pb2.StatusRequest(), timeout=10)  # type: ignore[no-untyped-call]
        return str(status.chain_id), bytes(status.read_key)

    grants = ReadGrants(key, bridge_info)
    return grpc.composite_channel_credentials(tls, member_call_credentials(key, cert_der, server, grants))
