"""Typed client library: sign and submit gridledger transactions, read typed state.

client = GridClient(CometRPC("http://127.0.0.1:26657"), chain_id, key)
client.submit([accounts.transfer(bob_address, 250)])  # waits for the commit, raises TxFailedError on error
client.account(bob_address).balance

Messages are built by the domain's module of builders (`clients.accounts`, `identity`,
`governance`, `devices`, `grid`, `market`, `certificates`, `forecasts`), all with one shape: a
function per message, returning the protobuf message to pass to `submit`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.state.v1 import state_pb2
from gridwire.address import address_of
from gridwire.contract.accounts import Paths as AccountsPaths
from gridwire.contract.accounts import balance_key
from gridwire.contract.chain import Code
from gridwire.contract.governance import Paths as GovernancePaths
from gridwire.contract.identity import Paths as IdentityPaths

from clients.proof import HeaderVerifier, ProvenValue, fetch_proven
from clients.read_request import sign_read_request
from clients.rpc import BroadcastResult, CometRPC
from clients.tx import sign_tx

__all__ = ["GridClient", "QueryFailedError", "TxFailedError"]

NONCE_TOO_LOW = Code.NONCE_TOO_LOW  # the chain's envelope code for a used nonce


class TxFailedError(RuntimeError):
    def __init__(self, result: BroadcastResult) -> None:
        # The app's logs start with the code's name: "INSUFFICIENT_FUNDS: balance ...".
        name, sep, reason = result.log.partition(": ")
        if not (sep and name.isupper()):
            name, reason = "?", result.log
        super().__init__(f"tx {result.hash} failed with code {result.code} ({name}): {reason}")
        self.result = result


class QueryFailedError(RuntimeError):
    def __init__(self, path: str, code: int, log: str) -> None:
        super().__init__(f"query {path} failed with code {code}: {log}")
        self.code = code
        self.path = path


@dataclass(frozen=True)
class Account:
    address: bytes
    balance: int
    nonce: int


class GridClient:
    def __init__(self, rpc: CometRPC, chain_id: str, key: Ed25519PrivateKey | None = None) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self.key = key
        self._next_nonce: int | None = None

    @property
    def public_key(self) -> bytes:
        if self.key is None:
            raise RuntimeError("this client has no signing key")
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)

    # -- queries ----------------------------------------------------------------------------

    def query_raw(self, path: str) -> bytes:
        """The value at `path`; a household's data refused on the plain path (a node run with
        `--private-queries`) is asked again with a read request signed by this client's key."""
        r = self.rpc.abci_query(path)
        if int(r.get("code", 0)) == Code.QUERY_PRIVATE and self.key is not None:
            signed, data = sign_read_request(self.key, self.chain_id, path)
            r = self.rpc.abci_query(signed, data)
        if int(r.get("code", 0)) != 0:
            raise QueryFailedError(path, int(r["code"]), r.get("log", ""))
        return base64.b64decode(r.get("value") or "")

    def account(self, address: bytes) -> Account:
        v = accounts_pb2.AccountView.FromString(self.query_raw(AccountsPaths.ACCOUNT(address.hex())))
        return Account(address, v.balance, v.nonce)

    def proven_balance(self, address: bytes, *, light: HeaderVerifier | None = None) -> int:
        """The balance, proven for exactly this address's balance key by a Merkle proof against
        the app hash of a header whose commit `light` verified (an auditor passes a
        `LightClient` built from its own genesis file or a trusted hash). Without `light`, trust
        starts from the genesis the node serves: that catches a lying node only if the genesis
        it served was honest."""
        if light is None:
            from clients.lightclient import LightClient  # noqa: PLC0415 - optional, heavier import

            light = LightClient.from_genesis(self.rpc, self.rpc.call("genesis")["genesis"])
        key = balance_key(address)
        proven: ProvenValue = fetch_proven(self.rpc, AccountsPaths.BALANCE(address.hex()), key, light)
        return 0 if proven.value is None else int.from_bytes(proven.value, "big")

    def member(self, address: bytes) -> identity_pb2.Member:
        return identity_pb2.Member.FromString(self.query_raw(IdentityPaths.MEMBER(address.hex())))

    def orgs(self) -> list[identity_pb2.Org]:
        return list(identity_pb2.OrgList.FromString(self.query_raw(IdentityPaths.ORGS())).orgs)

    def members(self, org_id: str) -> list[identity_pb2.Member]:
        return list(identity_pb2.MemberList.FromString(self.query_raw(IdentityPaths.MEMBERS(org_id))).members)

    def proposal(self, proposal_id: int) -> governance_pb2.Proposal:
        return governance_pb2.Proposal.FromString(self.query_raw(GovernancePaths.PROPOSAL(proposal_id)))

    def proposals(self) -> list[governance_pb2.Proposal]:
        return list(governance_pb2.ProposalList.FromString(self.query_raw(GovernancePaths.PROPOSALS())).proposals)

    def supply(self) -> accounts_pb2.SupplyView:
        return accounts_pb2.SupplyView.FromString(self.query_raw(AccountsPaths.SUPPLY()))

    def params(self) -> state_pb2.Params:
        return state_pb2.Params.FromString(self.query_raw(GovernancePaths.PARAMS()))

    # -- transactions -----------------------------------------------------------------------

    def nonce(self) -> int:
        """The next nonce: the chain's last used nonce + 1 (tracked locally afterwards)."""
        if self._next_nonce is None:
            self._next_nonce = self.account(self.address).nonce + 1
        return self._next_nonce

    def submit(self, messages: list[Message], *, memo: str = "", wait: bool = True) -> BroadcastResult:
        if self.key is None:
            raise RuntimeError("this client has no signing key")
        nonce = self.nonce()
        raw = sign_tx(self.key, self.chain_id, nonce, messages, memo=memo)
        result = self.rpc.broadcast_commit(raw) if wait else self.rpc.broadcast_sync(raw)
        if result.code == NONCE_TOO_LOW:
            self._next_nonce = None  # someone else used the key; re-read next time
        elif result.code == 0 or result.height:
            self._next_nonce = nonce + 1  # committed (even a failed message consumes the nonce)
        if result.code != 0:
            raise TxFailedError(result)
        return result
