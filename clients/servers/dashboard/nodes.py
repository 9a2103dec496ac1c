"""The nodes the dashboard reads from, with failover: every read goes to the current node and,
when that node cannot be reached, to the next one in turn (which then becomes current).

Only CometBFT RPC is used (the chain's queries, status, validators, blocks), through
`clients.rpc.CometRPC` or anything with its `url`, `call` and `abci_query`.

Households' data (readings, statements, matching, ...) is private on a node (issue 21): the
dashboard holds no member's key, so it reads it only under a read grant the member's page signed
for the dashboard's own read key (`READ_GRANT`, set per request; `clients.servers.granted_reads`
is the bridge's twin). Without one, or when the grant's member may not read it, a private read
raises `PrivateDataError` and the view says the data is private.
"""

from __future__ import annotations

import base64
import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import Message
from gridwire.contract.chain import Code

from clients.cli_support import QUERY_NOT_FOUND
from clients.read_request import sign_granted_read
from clients.rpc import CometRPC, RPCError
from clients.servers.access import PRIVATE_ROOTS

__all__ = ["READ_GRANT", "AllNodesDownError", "NodePool", "PrivateDataError", "QueryError", "Rpc"]

# the read grant the page sent with this request (an encoded gridwire.read_request.ReadGrant)
READ_GRANT: contextvars.ContextVar[bytes | None] = contextvars.ContextVar("dashboard_read_grant", default=None)
PRIVATE_CODES = frozenset(
    {Code.QUERY_PRIVATE, Code.READ_EXPIRED, Code.READ_BAD_SIGNATURE, Code.READ_DENIED, Code.READ_BAD_GRANT}
)

M = TypeVar("M", bound=Message)
T = TypeVar("T")


class Rpc(Protocol):
    """What the dashboard needs of a node's RPC (CometRPC has it; tests pass fakes)."""

    url: str

    def call(self, method: str, **params: Any) -> Any: ...

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]: ...


class AllNodesDownError(RuntimeError):
    """No node of the pool answered."""


class QueryError(RuntimeError):
    """The chain refused a query (bad request): its code and log."""

    def __init__(self, path: str, code: int, log: str) -> None:
        super().__init__(f"query {path} failed with code {code}: {log}")
        self.code = code
        self.log = log


class PrivateDataError(QueryError):
    """A household's data the node would not serve: no read grant, or one whose member may not read it."""


class NodePool:
    """Reads with failover across `rpcs`; thread-safe (reads run in worker threads)."""

    def __init__(self, rpcs: Sequence[Rpc]) -> None:
        if not rpcs:
            raise ValueError("the dashboard needs at least one node")
        self.rpcs = list(rpcs)
        self._current = 0
        self._lock = threading.Lock()
        self.failovers = 0
        self.read_key = Ed25519PrivateKey.generate()  # what members' pages grant reads to; new per start
        self._chain_id = ""

    def read_public_key(self) -> bytes:
        """The raw public key members' read grants name."""
        return self.read_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def chain_id(self) -> str:
        """The chain's id (asked once)."""
        if not self._chain_id:
            self._chain_id = str(self.call("status")["node_info"]["network"])
        return self._chain_id

    @classmethod
    def from_urls(cls, urls: Sequence[str], *, timeout: float = 3.0) -> NodePool:
        return cls([CometRPC(u, timeout=timeout) for u in urls])

    @property
    def current_url(self) -> str:
        with self._lock:
            return self.rpcs[self._current].url

    def with_node(self, fn: Callable[[Rpc], T]) -> T:
        """`fn` on the current node; on RPCError on the next ones in turn (the first that
        answers becomes current). AllNodesDownError when none answers."""
        with self._lock:
            start = self._current
        errors = []
        for k in range(len(self.rpcs)):
            i = (start + k) % len(self.rpcs)
            try:
                result = fn(self.rpcs[i])
            except RPCError as exc:
                errors.append(str(exc))
                continue
            if k:
                with self._lock:
                    self._current = i
                    self.failovers += 1
            return result
        raise AllNodesDownError("no node answered: " + "; ".join(errors))

    def call(self, method: str, **params: Any) -> Any:
        return self.with_node(lambda rpc: rpc.call(method, **params))

    def query_raw(self, path: str) -> bytes | None:
        """The value at `path`; None when the chain has no record there. A private root is read
        under this request's READ_GRANT; PrivateDataError when there is none or the node refuses it."""
        root = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        grant = READ_GRANT.get() if root in PRIVATE_ROOTS else None
        if grant:
            signed, data = sign_granted_read(self.read_key, self.chain_id(), path, grant)
            r = self.with_node(lambda rpc: rpc.abci_query(signed, data))
        else:
            r = self.with_node(lambda rpc: rpc.abci_query(path))
        code = int(r.get("code", 0))
        if code == QUERY_NOT_FOUND:
            return None
        if code in PRIVATE_CODES:
            raise PrivateDataError(path, code, str(r.get("log", "")))
        if code != 0:
            raise QueryError(path, code, str(r.get("log", "")))
        raw = base64.b64decode(r.get("value") or "")
        return raw or None

    def query(self, path: str, cls: type[M]) -> M | None:
        """The record at `path` decoded as `cls`, or None when there is none."""
        raw = self.query_raw(path)
        return None if raw is None else cls.FromString(raw)

    def query_list(self, path: str, cls: type[M]) -> M:
        """A list view at `path` (empty when there is nothing)."""
        raw = self.query_raw(path)
        return cls() if raw is None else cls.FromString(raw)

    def each_node(self, method: str, **params: Any) -> list[tuple[str, Any | None]]:
        """(url, answer or None when down) of `method` on every node, for agreement checks."""
        out: list[tuple[str, Any | None]] = []
        for rpc in self.rpcs:
            try:
                out.append((rpc.url, rpc.call(method, **params)))
            except RPCError:
                out.append((rpc.url, None))
        return out
